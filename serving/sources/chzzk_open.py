"""CHZZK chat through the official Open API session socket (`chzzk-open:CHANNEL_ID`).

Checked against the Open API reference, https://chzzk.gitbook.io/chzzk/chzzk-api/session
(mirrored in 0junproject/chzzk-docs api/session.md), and the session test notes in gist
fi-xz/69ce1f35ca1b2318a2b410c0d5757e0f. Every connection gets a fresh session URL (the URLs
expire within about a minute):

- `GET {api}/open/v1/sessions/auth` with `Authorization: Bearer {streamer's access token}`
  (at most 3 sessions per user), or `GET {api}/open/v1/sessions/auth/client` with the
  `Client-Id` / `Client-Secret` headers when no token is configured. Answer (Open API
  envelope): `{"code": 200, "message": ..., "content": {"url": "https://ssioNN.nchat.naver.com:443?auth=..."}}`.
- The URL is a Socket.IO 2 server (the docs support socket.io-client 1.0 - 2.0.3, i.e.
  engine.io protocol 3): websocket `wss://host/socket.io/?auth=...&EIO=3&transport=websocket`.
  Engine.io packets: `0{sid, pingInterval, pingTimeout}` open, `1` close, `2` ping (sent by
  the client every pingInterval), `3` pong, `4` message; socket.io messages inside `4`: `0`
  connect, `1` disconnect, `2` event `["NAME", data]` (`data` an object or a JSON string).
  No frame within pingInterval + pingTimeout means the connection is dead (reconnect).
- Event `SYSTEM` `{"type": "connected", "data": {"sessionKey"}}` -> the client calls
  `POST {api}/open/v1/sessions/events/subscribe/chat?sessionKey=...` (same credentials);
  `subscribed` / `unsubscribed` / `revoked` (`data.eventType`, `data.channelId`) follow.
- Event `CHAT`: `channelId`, `senderChannelId`, `profile` {`nickname`, `badges`,
  `verifiedMark`}, `userRoleCode`, `content`, `emojis` (id -> URL, shown as `{:id:}` in the
  text), `messageTime` (ms). The docs name no message id: one is used if present (`messageId`
  or `id`), else a stable hash of channel, sender, time and text. `DONATION` and
  `SUBSCRIPTION` events are counted as skipped (this source subscribes to chat only).

A 401 on the session or subscription call refreshes the token once (OAuthToken) and retries.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import time
from typing import AsyncIterator
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from chatloop.errors import ChatloopError
from serving.message import ChatMessage
from serving.oauth import OAuthToken
from serving.sources.base import NetworkSource, SourceError, Unavailable, check_url
from serving.sources.chzzk import EMOJI

log = logging.getLogger(__name__)

API_URL = "https://openapi.chzzk.naver.com"
SESSION_USER, SESSION_CLIENT = "/open/v1/sessions/auth", "/open/v1/sessions/auth/client"
SUBSCRIBE_CHAT = "/open/v1/sessions/events/subscribe/chat"


class ChzzkOpenSource(NetworkSource):
    """`chzzk-open:CHANNEL_ID`: chat of the channel whose streamer's token is configured.

    `token`: an OAuthToken (default `OAuthToken.from_env("CHZZK")` when CHZZK_ACCESS_TOKEN or
    CHZZK_REFRESH_TOKEN is set). Without one, `client_id` / `client_secret` (default
    CHZZK_CLIENT_ID / CHZZK_CLIENT_SECRET) open a client session. `api_url`: the Open API
    (http only to loopback, for tests). `ping_interval` / `ping_timeout` (seconds) apply only
    if the server's open packet names none.
    """

    platform = "chzzk"

    def __init__(self, channel_id: str, *, token: OAuthToken | None = None,
                 client_id: str | None = None, client_secret: str | None = None,
                 api_url: str = API_URL, ping_interval: float = 25.0, ping_timeout: float = 20.0,
                 env: dict | None = None, **kwargs):
        super().__init__(channel_id, **kwargs)
        env = os.environ if env is None else env
        self.api_url = check_url(api_url).rstrip("/")
        if token is None and (env.get("CHZZK_ACCESS_TOKEN") or env.get("CHZZK_REFRESH_TOKEN")):
            token = OAuthToken.from_env("CHZZK", env=env)
        self.token = token
        self.client_id = client_id or env.get("CHZZK_CLIENT_ID")
        self.client_secret = client_secret or env.get("CHZZK_CLIENT_SECRET")
        if self.token is None and not (self.client_id and self.client_secret):
            raise SourceError("chzzk-open needs the streamer's token (CHZZK_ACCESS_TOKEN or "
                              "CHZZK_REFRESH_TOKEN) or CHZZK_CLIENT_ID and CHZZK_CLIENT_SECRET")
        self.ping_interval, self.ping_timeout = ping_interval, ping_timeout
        self.session_key = ""

    # ------------------------------------------------------------------ Open API calls
    async def _headers(self) -> dict:
        if self.token is not None:
            return {"Authorization": f"Bearer {await self.token.get()}"}
        return {"Client-Id": self.client_id, "Client-Secret": self.client_secret}

    async def _call(self, method: str, path: str, **kwargs) -> dict:
        """One Open API call; a 401 refreshes the token once and retries. Returns `content`."""
        for attempt in (0, 1):
            headers = await self._headers()
            async with httpx.AsyncClient(timeout=self.open_timeout) as client:
                response = await client.request(method, check_url(self.api_url + path),
                                                headers=headers, **kwargs)
            if response.status_code == 401 and self.token is not None and attempt == 0:
                self.stats["token_refreshes"] += 1
                used = headers["Authorization"].removeprefix("Bearer ")
                try:
                    await self.token.refresh(failed=used)
                except ChatloopError as exc:  # OAuthError: cannot go on without a token
                    raise SourceError(f"chzzk-open:{self.channel}: {exc}") from None
                continue
            if response.status_code == 401:
                raise SourceError(f"chzzk-open:{self.channel}: {path} refused the credentials "
                                  "(HTTP 401); check the CHZZK token / client credentials")
            response.raise_for_status()
            try:
                data = response.json()
            except ValueError:
                raise Unavailable(f"chzzk-open {path}: response is not JSON") from None
            content = data.get("content") if isinstance(data, dict) else None
            return content if isinstance(content, dict) else {}
        raise AssertionError("unreachable")

    async def session_url(self) -> str:
        """A fresh socket URL (user session with a token, else a client session)."""
        path = SESSION_USER if self.token is not None else SESSION_CLIENT
        url = (await self._call("GET", path)).get("url")
        if not isinstance(url, str) or not url:
            raise Unavailable(f"chzzk-open:{self.channel}: session lookup gave no url")
        return url

    async def subscribe(self, session_key: str) -> None:
        await self._call("POST", SUBSCRIBE_CHAT, params={"sessionKey": session_key})

    @staticmethod
    def socket_url(url: str) -> str:
        """The engine.io 3 websocket URL for a Socket.IO session URL."""
        parts = urlsplit(url)
        scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
        query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                 if k not in ("EIO", "transport")]
        query += [("EIO", "3"), ("transport", "websocket")]
        path = parts.path if parts.path not in ("", "/") else "/socket.io/"
        return urlunsplit((scheme, parts.netloc, path, urlencode(query), ""))

    # ------------------------------------------------------------------ the socket
    async def _ping(self, ws, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await ws.send("2")

    async def _session(self) -> AsyncIterator[ChatMessage]:
        url = self.socket_url(await self.session_url())  # a fresh URL per connection
        self.session_key = ""
        async with self.ws_connect(url) as ws:
            interval, timeout = self.ping_interval, self.ping_timeout
            pinger: asyncio.Task | None = None
            try:
                while True:
                    frame = await asyncio.wait_for(ws.recv(), interval + timeout)
                    kind, payload = self._packet(frame)
                    if kind == "open":
                        interval = payload.get("pingInterval", interval * 1000) / 1000
                        timeout = payload.get("pingTimeout", timeout * 1000) / 1000
                        if pinger is None:
                            pinger = asyncio.create_task(self._ping(ws, interval))
                    elif kind == "ping":
                        await ws.send("3")
                    elif kind == "close":
                        return
                    elif kind == "event":
                        item = await self._event(*payload, frame=frame)
                        if item is not None:
                            yield item
            finally:
                if pinger is not None:
                    pinger.cancel()
                    await asyncio.gather(pinger, return_exceptions=True)

    def _packet(self, frame: str | bytes) -> tuple[str, object]:
        """(kind, payload): open (dict), ping, pong, close, event ((name, data)), or other."""
        if not isinstance(frame, str) or not frame:
            self.count("malformed", frame)
            return "other", None
        head, rest = frame[0], frame[1:]
        if head == "0":
            try:
                info = json.loads(rest)
                float(info.get("pingInterval", 0)), float(info.get("pingTimeout", 0))
            except (ValueError, TypeError, AttributeError):
                self.count("malformed", frame)
                return "other", None
            return "open", info
        if head in ("1", "2", "3", "6"):
            return {"1": "close", "2": "ping", "3": "pong", "6": "other"}[head], None
        if head != "4" or not rest:
            self.count("unknown" if head == "5" else "malformed", frame)  # 5: upgrade
            return "other", None
        sio, body = rest[0], rest[1:]
        if sio == "0":
            return "other", None                 # socket.io connected
        if sio == "1":
            return "close", None                 # the server left the namespace
        if sio != "2":
            self.count("unknown", frame)
            return "other", None
        body = body.lstrip("0123456789")         # an ack id, never used by CHZZK
        try:
            name, *args = json.loads(body)
            data = args[0] if args else None
            if isinstance(data, str):
                data = json.loads(data)          # CHZZK sends the body as a JSON string
            if not isinstance(name, str) or not isinstance(data, dict):
                raise ValueError("event without a name or an object")
        except (ValueError, TypeError):
            self.count("malformed", frame)
            return "other", None
        return "event", (name, data)

    async def _event(self, name: str, data: dict, *, frame: object) -> ChatMessage | None:
        if name == "SYSTEM":
            kind, info = data.get("type"), data.get("data") or {}
            if kind == "connected":
                key = info.get("sessionKey") if isinstance(info, dict) else None
                if not key:
                    self.count("malformed", frame)
                    raise Unavailable(f"chzzk-open:{self.channel}: connected without sessionKey")
                self.session_key = key
                await self.subscribe(key)
                self.connected()
            elif kind == "revoked":
                raise SourceError(f"chzzk-open:{self.channel}: the streamer revoked the "
                                  f"{info.get('eventType')} permission; authorize the app again")
            else:
                self.count("skipped")
            return None
        if name == "CHAT":
            return self._chat(data, frame)
        if name in ("DONATION", "SUBSCRIPTION"):
            self.count("skipped")
        else:
            self.count("unknown", frame)
        return None

    def _chat(self, chat: dict, frame: object) -> ChatMessage | None:
        text, sender = chat.get("content"), chat.get("senderChannelId")
        profile = chat.get("profile")
        if not isinstance(text, str) or not isinstance(sender, str) or not sender:
            self.count("malformed", frame)
            return None
        try:
            msg_time = chat.get("messageTime")
            ts = float(msg_time) / 1000 if msg_time is not None else time.time()
        except (TypeError, ValueError):
            self.count("malformed", frame)
            return None
        nickname = profile.get("nickname") if isinstance(profile, dict) else None
        channel = str(chat.get("channelId") or self.channel)
        message_id = chat.get("messageId") or chat.get("id")
        if not message_id:
            digest = hashlib.sha1("\x1f".join((channel, sender, str(msg_time), text))
                                  .encode("utf-8")).hexdigest()[:20]
            message_id = f"{channel}-{sender}-{digest}"
        clean = EMOJI.sub("", text).strip()
        if not clean:
            self.count("skipped")                # only emoji
            return None
        return ChatMessage(self.platform, self.channel, str(message_id), sender,
                           str(nickname or sender), clean, ts)
