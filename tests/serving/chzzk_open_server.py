"""Loopback CHZZK Open API: session lookup, chat subscription, token refresh and the Socket.IO 2
(engine.io 3) session socket (tests only).

Written from the Open API reference (chzzk.gitbook.io/chzzk/chzzk-api/session) and the
engine.io v3 / socket.io v2 protocol descriptions, independently of serving.sources.

HTTP (an `OAuthApi`: `POST /auth/v1/token` refreshes, a stale Bearer token gets 401):
`GET /open/v1/sessions/auth` (Bearer) or `/open/v1/sessions/auth/client` (Client-Id and
Client-Secret headers) issue a new socket URL `http://127.0.0.1:{ws port}?auth=sess-N` each
time; `POST /open/v1/sessions/events/subscribe/chat?sessionKey=key-N` subscribes connection N.
Socket: `/socket.io/?auth=sess-N&EIO=3&transport=websocket` with the LATEST issued auth is
accepted (`0{...}` open, `40`, then SYSTEM connected with `key-N`); anything else gets an
engine.io close. The connection's script runs after its subscription (SYSTEM subscribed).
Client pings `2` are answered `3` (unless `answer_pings` is False). `revoke_after_session`: after each session lookup the
current access token stops working (the subscription call then needs a refresh).
"""
from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs, urlsplit

from servers import ChatServer, OAuthApi


def sio_event(name: str, data, *, as_string: bool = False) -> str:
    """A socket.io v2 event packet inside an engine.io v3 message: `42["NAME", data]`."""
    return "42" + json.dumps([name, json.dumps(data) if as_string else data], ensure_ascii=False)


def open_chat(text: str, sender: str, nickname: str, *, channel: str = "ch0123",
              time_ms: int = 1700000000000, as_string: bool = True, **extra) -> str:
    """A CHAT event as the Open API documents it (the body a JSON string by default)."""
    return sio_event("CHAT", {
        "channelId": channel, "senderChannelId": sender,
        "profile": {"nickname": nickname, "badges": [], "verifiedMark": False},
        "userRoleCode": "common_user", "content": text, "emojis": {},
        "messageTime": time_ms, **extra}, as_string=as_string)


class ChzzkOpenServer(ChatServer):
    CLIENT_ID, CLIENT_SECRET = "cid", "csecret"

    def __init__(self, scripts: list[list], *, ping_interval_ms: int = 25000,
                 ping_timeout_ms: int = 20000, access_token: str = "access-0",
                 revoke_after_session: bool = False, answer_pings: bool = True):
        super().__init__(scripts)
        self.http = OAuthApi(self._api, client_id=self.CLIENT_ID,
                             client_secret=self.CLIENT_SECRET, access_token=access_token)
        self.ping = (ping_interval_ms, ping_timeout_ms)
        self.revoke_after_session, self.answer_pings = revoke_after_session, answer_pings
        self.issued: list[str] = []          # socket auth values, one per session lookup
        self.subscribed: dict[str, asyncio.Event] = {}
        self.subscriptions: list[tuple[str, str]] = []   # (sessionKey, Authorization)
        self.sockets: list[str] = []          # each websocket request's path and query

    def _api(self, method, path, query, body, headers):
        if method == "GET" and path in ("/open/v1/sessions/auth", "/open/v1/sessions/auth/client"):
            if path.endswith("/client"):
                if (headers.get("client-id"), headers.get("client-secret")) != (
                        self.CLIENT_ID, self.CLIENT_SECRET):
                    return 401, {"code": 401, "message": "INVALID_CLIENT"}
            elif not headers.get("authorization", "").startswith("Bearer "):
                return 401, {"code": 401, "message": "INVALID_TOKEN"}
            self.issued.append(f"sess-{len(self.issued) + 1}")
            if self.revoke_after_session:
                self.http.access_token = f"revoked-{len(self.issued)}"
            return 200, {"code": 200, "message": None, "content": {
                "url": f"http://127.0.0.1:{self.port}?auth={self.issued[-1]}"}}
        if method == "POST" and path == "/open/v1/sessions/events/subscribe/chat":
            key = query.get("sessionKey", [""])[0]
            if key not in self.subscribed:
                return 400, {"code": 400, "message": "INVALID_SESSION_KEY"}
            self.subscriptions.append((key, headers.get("authorization", "")))
            self.subscribed[key].set()
            return 200, {"code": 200, "message": None}
        return 404, {"code": 404, "message": "NOT_FOUND"}

    async def handshake(self, ws, got: list) -> None:
        target = urlsplit(ws.request.path)
        self.sockets.append(ws.request.path)
        query = parse_qs(target.query)
        assert target.path == "/socket.io/", target.path
        assert query.get("EIO") == ["3"] and query.get("transport") == ["websocket"], query
        if query.get("auth") != [self.issued[-1]]:
            await ws.send("1")                # an expired session URL: engine.io close
            raise AssertionError(f"stale session auth {query.get('auth')}")
        key = f"key-{len(self.received)}"
        self.subscribed[key] = asyncio.Event()
        await ws.send("0" + json.dumps({"sid": f"sid-{len(self.received)}", "upgrades": [],
                                        "pingInterval": self.ping[0],
                                        "pingTimeout": self.ping[1]}))
        await ws.send("40")
        await ws.send(sio_event("SYSTEM", {"type": "connected", "data": {"sessionKey": key}},
                                as_string=True))
        # the script starts once the client has subscribed this session to chat
        reader = asyncio.create_task(self._read(ws, got))
        try:
            await self.subscribed[key].wait()
        finally:
            reader.cancel()
        await ws.send(sio_event("SYSTEM", {"type": "subscribed",
                                           "data": {"eventType": "CHAT", "channelId": "ch0123"}}))

    async def on_frame(self, ws, frame) -> None:
        if frame == "2" and self.answer_pings:
            await ws.send("3")
