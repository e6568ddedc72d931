"""CHZZK (Naver) chat: chat channel id and access token over HTTP, then the chat websocket.

Checked against kimcore/chzzk (the reference TypeScript client: src/chat/chat.ts, types.ts).
Every session looks both up again: `GET {api}/polling/v2/channels/{id}/live-status` ->
`content.chatChannelId`, then `GET {comm}/nng_main/v1/chats/access-token?channelId=..&
chatType=STREAMING` -> `content.accessToken` (a fresh token per connection; a refused one,
`retCode` != 0 on 10100, ends the session so the next one looks up a new token). HTTP lookups
and the websocket send a browser User-Agent.

Socket `wss://kr-ss{N}.chat.naver.com/chat`, N = sum of the chat channel id's code points % 9 + 1.
Commands (JSON `cmd`): 100 connect (`bdy.accTkn`, auth READ) -> 10100 connected (`retCode`);
0 ping / 10000 pong both ways: the client sends `{"cmd":0,"ver":"2"}` every `ping_interval`
(20 s) and answers a server ping with 10000. 93101 chat and 93102 donation carry `bdy`, a list
of messages (or `{messageList: [...]}`) with `msg`/`content`, `uid`, `msgTime`/`messageTime`,
`msgTypeCode` (1 text, 10 donation, 11 subscription, 30 system), `msgStatusType` ("HIDDEN":
already moderated, not classified) and `profile`, a JSON string with `nickname`. Both are
classified as chat; system messages (30) are skipped. `{:name:}` emoji markers are removed
from the text; a message that is only emoji is counted as `skipped`. 94008 blind (a message
hidden on the platform: `channelId`, `userId`, `messageTime`, `blindType`, `blindUserId`)
goes to `on_platform_moderation` as a kind "delete" event of `serving.sources.moderation`
(default: logged). 93006 event, 94005 kick,
94006 block, 94010 notice, 94015 penalty, 94201, 10101 and 93103 are skipped; anything else
is unknown. A message id is `{chat channel id}-{uid}-{msgTime}`, the same triple a blind names.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from typing import AsyncIterator

from serving.message import ChatMessage
from serving.sources.base import NetworkSource, Unavailable
from serving.sources.moderation import Callback, moderation_event, report

log = logging.getLogger(__name__)

API_URL = "https://api.chzzk.naver.com"
COMM_URL = "https://comm-api.game.naver.com"
WS_URL = "wss://kr-ss{server}.chat.naver.com/chat"
USER_AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
              "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
PING, PONG, CONNECT, CONNECTED = 0, 10000, 100, 10100
CHAT, DONATION, BLIND = 93101, 93102, 94008
SYSTEM_MESSAGE = 30  # msgTypeCode of system lines inside chat frames
SKIPPED = {93006, 94005, 94006, 94010, 94015, 94201, 10101, 93103}
EMOJI = re.compile(r"\{:[^{}:\s]+:\}")


class ChzzkSource(NetworkSource):
    """`chzzk:CHANNEL_ID` (the streamer's channel id, a 32-hex string).

    `ping_interval`: seconds between the client's pings. `on_platform_moderation(event)`:
    called (or awaited) for each blind with a `serving.sources.moderation` event (kind
    "delete", message_id as the hidden ChatMessage's); None: logged.
    """

    platform = "chzzk"

    def __init__(self, channel_id: str, *, api_url: str = API_URL, comm_url: str = COMM_URL,
                 ws_url: str = WS_URL, ping_interval: float = 20.0,
                 on_platform_moderation: Callback | None = None, **kwargs):
        super().__init__(channel_id, **kwargs)
        self.api_url, self.comm_url, self.ws_url = api_url, comm_url, ws_url
        self.ping_interval = ping_interval
        self.chat_id = ""  # the chat channel of the current session
        self.on_platform_moderation = on_platform_moderation

    async def lookup(self) -> tuple[str, str]:
        """(chat channel id, access token) for the channel's current live chat."""
        headers = {"User-Agent": USER_AGENT}
        status = await self.get_json(
            f"{self.api_url}/polling/v2/channels/{self.channel}/live-status", headers=headers)
        chat_id = (status.get("content") or {}).get("chatChannelId")
        if not chat_id:
            raise Unavailable(f"chzzk:{self.channel} has no live chat channel")
        token = await self.get_json(f"{self.comm_url}/nng_main/v1/chats/access-token",
                                    params={"channelId": chat_id, "chatType": "STREAMING"},
                                    headers=headers)
        access = (token.get("content") or {}).get("accessToken")
        if not access:
            raise Unavailable(f"chzzk:{self.channel}: no chat access token")
        return chat_id, access

    async def _ping(self, ws) -> None:
        while True:
            await asyncio.sleep(self.ping_interval)
            await ws.send(json.dumps({"cmd": PING, "ver": "2"}))

    async def _session(self) -> AsyncIterator[ChatMessage]:
        chat_id, token = await self.lookup()  # a fresh token for every connection
        self.chat_id = chat_id
        server = sum(ord(ch) for ch in chat_id) % 9 + 1
        async with self.ws_connect(self.ws_url.format(server=server),
                                   user_agent_header=USER_AGENT) as ws:
            await ws.send(json.dumps({
                "ver": "2", "cmd": CONNECT, "svcid": "game", "cid": chat_id, "tid": 1,
                "bdy": {"uid": None, "devType": 2001, "accTkn": token, "auth": "READ"}}))
            pinger = asyncio.create_task(self._ping(ws))
            try:
                async for frame in ws:
                    for item in self._handle(frame):
                        if item == PONG:
                            await ws.send(json.dumps({"ver": "2", "cmd": PONG}))
                        elif isinstance(item, dict):
                            await self._moderation(item)
                        else:
                            yield item
            finally:
                pinger.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pinger

    def _handle(self, frame: bytes | str) -> list:
        """ChatMessages in one frame, [PONG] when the server pinged, or a blind event dict."""
        try:
            data = json.loads(frame)
            cmd = data["cmd"]
        except (ValueError, TypeError, KeyError):
            self.count("malformed", frame)
            return []
        if cmd == PING:
            return [PONG]
        if cmd == CONNECTED:
            if data.get("retCode", 0) != 0:
                raise Unavailable(f"chzzk:{self.channel}: chat connect refused "
                                  f"(retCode={data.get('retCode')}, {data.get('retMsg', '')})")
            self.connected()
        elif cmd in (CHAT, DONATION):
            return self._chats(data.get("bdy"), frame)
        elif cmd == BLIND:
            event = self._blind(data.get("bdy"))
            if event is None:
                self.count("malformed", frame)
                return []
            return [event]
        elif cmd in SKIPPED or cmd == PONG:
            self.count("skipped")
        else:
            self.count("unknown", frame)
        return []

    def _chats(self, body: object, frame: object) -> list[ChatMessage]:
        if isinstance(body, dict) and isinstance(body.get("messageList"), list):
            body = body["messageList"]
        out = []
        for chat in body if isinstance(body, list) else [body]:
            try:
                text = chat["msg"] if "msg" in chat else chat["content"]
                uid = chat["uid"]
                msg_time = chat.get("msgTime") or chat.get("messageTime")
                profile = json.loads(chat.get("profile") or "null") or {}
                nickname = str(profile.get("nickname") or uid)
                ts = float(msg_time or time.time() * 1000) / 1000
                if not isinstance(text, str) or not uid:
                    raise ValueError("no text or user")
            except (AttributeError, KeyError, TypeError, ValueError):
                self.count("malformed", frame)
                continue
            status = chat.get("msgStatusType") or chat.get("messageStatusType")
            kind = chat.get("msgTypeCode") or chat.get("messageTypeCode")
            text = EMOJI.sub("", text).strip()
            if status == "HIDDEN" or kind == SYSTEM_MESSAGE or not text:
                self.count("skipped")  # moderated already, a system line, or only emoji
                continue
            message_id = f"{chat.get('cid') or self.chat_id}-{uid}-{msg_time or ''}"
            out.append(ChatMessage(self.platform, self.channel, message_id, str(uid),
                                   nickname, text, ts))
        return out

    def _blind(self, body: object) -> dict | None:
        """A blind (a message hidden on CHZZK) as a platform-moderation event."""
        if not isinstance(body, dict) or not body.get("userId") or not body.get("messageTime"):
            return None
        chat_id = body.get("channelId") or self.chat_id
        try:
            ts = float(body["messageTime"]) / 1000
        except (TypeError, ValueError):
            return None
        log.debug("chzzk:%s blind %s by %s", self.channel, body.get("blindType"),
                  body.get("blindUserId"))
        return moderation_event(self.platform, self.channel, "delete", ts,
                                message_id=f"{chat_id}-{body['userId']}-{body['messageTime']}",
                                user=str(body["userId"]))

    async def _moderation(self, event: dict) -> None:
        self.stats["platform_moderation"] += 1
        await report(self.on_platform_moderation, event)
