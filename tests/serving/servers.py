"""Loopback servers speaking the SOOP, CHZZK, Twitch and Discord chat wire protocols (tests only).

Each server is an async context manager bound to 127.0.0.1 on a free port. `scripts[k]` is
what the k-th connection gets after the platform handshake: frames to send in order, with
DROP to cut the TCP connection without a close frame. After its script a connection stays
open until the client leaves. Everything the client sends is kept in `received[k]`.
The packet builders here are written from the protocol description, independently of
serving.sources, so a symmetric bug cannot pass unnoticed.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import zlib
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import serve

DROP = object()


# ------------------------------------------------------------------ wire builders
def soop_packet(service: str, *fields: str) -> bytes:
    body = "".join("\x0c" + f for f in fields) + "\x0c"
    return ("\x1b\t" + service + "%06d" % len(body.encode("utf-8")) + "00" + body).encode("utf-8")


def soop_chat(text: str, user: str, nick: str) -> bytes:
    # fields: 1 message, 2 user id, 3 flag, 4 flag, 5 flag, 6 nickname, 7 flags, 8 color
    return soop_packet("0005", text, user, "0", "1", "0", nick, "524288|163840", "-1")


def chzzk_chat(*chats: tuple[str, str, str]) -> str:
    bdy = [{"msg": text, "uid": uid, "cid": "N1chat", "msgTime": 1700000000000 + i,
            "msgTypeCode": 1, "profile": json.dumps({"nickname": nick, "userIdHash": uid})}
           for i, (text, uid, nick) in enumerate(chats)]
    return json.dumps({"svcid": "game", "ver": "1", "cmd": 93101, "tid": None, "bdy": bdy})


def twitch_privmsg(text: str, login: str, msg_id: str, channel: str = "streamer") -> str:
    tags = (f"@badge-info=;color=#FF0000;display-name={login.title()};id={msg_id};"
            f"mod=0;room-id=1;tmi-sent-ts=1700000000000;user-id=u-{login}")
    return f"{tags} :{login}!{login}@{login}.tmi.twitch.tv PRIVMSG #{channel} :{text}"


def discord_dispatch(seq: int, event: str, data: dict) -> str:
    return json.dumps({"op": 0, "s": seq, "t": event, "d": data})


def discord_message(seq: int, msg_id: int, text: str, user: str, *, channel: str,
                    bot: bool = False) -> str:
    """A MESSAGE_CREATE dispatch as the gateway sends it for a guild text channel."""
    author = {"id": str(zlib.crc32(user.encode())), "username": user.lower(),
              "global_name": user, "discriminator": "0", "avatar": None, "bot": bot}
    return discord_dispatch(seq, "MESSAGE_CREATE", {
        "id": str(msg_id), "channel_id": channel, "guild_id": "900", "author": author,
        "content": text, "timestamp": "2026-11-22T06:00:00.000000+00:00",
        "edited_timestamp": None, "tts": False, "mention_everyone": False, "mentions": [],
        "mention_roles": [], "attachments": [], "embeds": [], "pinned": False, "type": 0})


# --------------------------------------------------------------------- servers
class HttpJson:
    """A minimal HTTP/1.1 server answering JSON from `route(method, path, query, body)`.

    `requests` keeps (method, path, query, headers with lower-case names, body text).
    """

    def __init__(self, route):
        self.route, self.requests, self.port = route, [], 0

    async def _handle(self, reader, writer) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode()
            method, target, _ = head.split("\r\n", 1)[0].split(" ", 2)
            headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in
                                                  head.split("\r\n")[1:] if ": " in line)}
            length = int(headers.get("content-length", 0))
            body = (await reader.readexactly(length)).decode() if length else ""
            url = urlsplit(target)
            query = parse_qs(url.query)
            self.requests.append((method, url.path, query, headers, body))
            status, obj = self.route(method, url.path, query, body)
            payload = json.dumps(obj).encode()
            writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                         + payload)
            await writer.drain()
        finally:
            writer.close()

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        await self.server.wait_closed()


class ChatServer:
    """Base: websocket server running `handshake`, then the connection's script."""

    subprotocols: list[str] | None = None

    def __init__(self, scripts: list[list]):
        self.scripts, self.received, self.errors, self.port = scripts, [], [], 0
        self.http = HttpJson(self.route)

    def route(self, method, path, query, body):
        return 404, {"error": "not found"}

    async def handshake(self, ws, got: list) -> None:
        raise NotImplementedError

    async def on_frame(self, ws, frame) -> None:
        """Reply to a client frame after the handshake (pings)."""

    async def _read(self, ws, got: list) -> None:
        with contextlib.suppress(Exception):
            async for frame in ws:
                got.append(frame)
                await self.on_frame(ws, frame)

    async def _handler(self, ws) -> None:
        index = len(self.received)
        got: list = []
        self.received.append(got)
        try:
            await self.handshake(ws, got)
        except Exception as exc:  # a client that got the protocol wrong: the test checks
            self.errors.append(repr(exc))
            return
        reader = asyncio.create_task(self._read(ws, got))
        for frame in self.scripts[index] if index < len(self.scripts) else []:
            if frame is DROP:
                ws.transport.abort()
                break
            if isinstance(frame, (int, float)):
                await asyncio.sleep(frame)  # a pause inside the script
            else:
                await ws.send(frame)
        await reader

    async def __aenter__(self):
        await self.http.__aenter__()
        self.ws = await serve(self._handler, "127.0.0.1", 0, subprotocols=self.subprotocols)
        self.port = list(self.ws.sockets)[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self.ws.close()
        await self.ws.wait_closed()
        await self.http.__aexit__(*exc)


class SoopServer(ChatServer):
    """player_live_api.php + the chat websocket (subprotocol `chat`, login then join)."""

    subprotocols = ["chat"]
    CHATNO = "4242"

    def route(self, method, path, query, body):
        form = parse_qs(body)
        if method == "POST" and path.endswith("/player_live_api.php") and form.get("bid"):
            return 200, {"CHANNEL": {"RESULT": 1, "CHDOMAIN": "127.0.0.1", "CHPT": str(self.port - 1),
                                     "CHATNO": self.CHATNO, "FTK": "ftk", "BNO": "777",
                                     "BJID": form["bid"][0]}}
        return 404, {"error": "not found"}

    async def handshake(self, ws, got: list) -> None:
        assert ws.subprotocol == "chat"
        login = await ws.recv()
        got.append(login)
        assert login.startswith(b"\x1b\t0001"), login
        await ws.send(soop_packet("0001", "", "bot", "0"))
        join = await ws.recv()
        got.append(join)
        assert join.startswith(b"\x1b\t0002") and join.split(b"\x0c")[1] == self.CHATNO.encode()
        await ws.send(soop_packet("0002", self.CHATNO, "ok"))


class ChzzkServer(ChatServer):
    """live-status + access-token lookups and the chat websocket (cmd 100 -> 10100)."""

    CHAT_ID = "N1chat"

    def route(self, method, path, query, body):
        if path.startswith("/polling/v2/channels/") and path.endswith("/live-status"):
            return 200, {"code": 200, "content": {"chatChannelId": self.CHAT_ID, "status": "OPEN"}}
        if path == "/nng_main/v1/chats/access-token" and query.get("channelId") == [self.CHAT_ID]:
            return 200, {"code": 200, "content": {"accessToken": "tok-123", "extraToken": "x"}}
        return 404, {"code": 404}

    async def handshake(self, ws, got: list) -> None:
        hello = json.loads(await ws.recv())
        got.append(hello)
        assert hello["cmd"] == 100 and hello["cid"] == self.CHAT_ID
        assert hello["bdy"]["accTkn"] == "tok-123"
        await ws.send(json.dumps({"cmd": 10100, "retCode": 0, "bdy": {"sid": "sess"}}))


class TwitchServer(ChatServer):
    """IRC over websocket: CAP/PASS/NICK/JOIN, welcome, NAMES end (366), PING/PONG."""

    async def handshake(self, ws, got: list) -> None:
        lines = [await ws.recv() for _ in range(4)]
        got.extend(lines)
        assert lines[0].startswith("CAP REQ") and lines[3].startswith("JOIN #")
        nick, channel = lines[2].split()[1], lines[3].split()[1]
        await ws.send(f":tmi.twitch.tv CAP * ACK :twitch.tv/tags twitch.tv/commands\r\n"
                      f":tmi.twitch.tv 001 {nick} :Welcome, GLHF!\r\n"
                      f":{nick}!{nick}@{nick}.tmi.twitch.tv JOIN {channel}\r\n"
                      f":{nick}.tmi.twitch.tv 353 {nick} = {channel} :{nick}\r\n"
                      f":{nick}.tmi.twitch.tv 366 {nick} {channel} :End of /NAMES list\r\n")


class DiscordServer(ChatServer):
    """REST (`/users/@me`, `/oauth2/applications/@me`, what discord.py's login reads) and the gateway: HELLO (op 10), heartbeats (op 1 -> 11),
    IDENTIFY (op 2) -> READY, or RESUME (op 6) of the session READY gave -> RESUMED."""

    TOKEN = "test-bot-token"
    SESSION = "sess-1"
    MESSAGE_CONTENT = 1 << 15   # the privileged intent the bot needs to read text

    BOT = {"id": "1000", "username": "chatloop", "global_name": None, "discriminator": "0",
           "avatar": None, "bot": True}

    def route(self, method, path, query, body):
        if method == "GET" and path == "/api/v10/users/@me":
            return 200, self.BOT
        if method == "GET" and path == "/api/v10/oauth2/applications/@me":
            return 200, {"id": "1000", "name": "chatloop", "description": "", "icon": None,
                         "bot_public": False, "bot_require_code_grant": False,
                         "owner": self.BOT, "verify_key": "0" * 64, "flags": 0}
        return 404, {"message": "404: Not Found", "code": 0}

    async def handshake(self, ws, got: list) -> None:
        await ws.send(json.dumps({"op": 10, "d": {"heartbeat_interval": 45000}}))
        while True:
            frame = json.loads(await ws.recv())
            got.append(frame)
            if frame["op"] != 1:
                break
            await ws.send('{"op": 11}')
        if frame["op"] == 2:
            assert frame["d"]["token"] == self.TOKEN
            assert frame["d"]["intents"] & self.MESSAGE_CONTENT
            await ws.send(discord_dispatch(1, "READY", {
                "v": 10, "session_id": self.SESSION, "guilds": [],
                "resume_gateway_url": f"ws://127.0.0.1:{self.port}",
                "user": self.BOT,
                "application": {"id": "1000", "flags": 0}}))
        else:
            assert frame["op"] == 6 and frame["d"]["session_id"] == self.SESSION, frame
            await ws.send(discord_dispatch(frame["d"]["seq"] + 1, "RESUMED", {}))

    async def on_frame(self, ws, frame) -> None:
        if json.loads(frame).get("op") == 1:
            await ws.send('{"op": 11}')
