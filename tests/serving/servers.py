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
def soop_packet(service: str, *fields: str, ret: int = 0) -> bytes:
    """`ret`: the header's 2-digit return code (an ERR_* number; 0 is success)."""
    body = "".join("\x0c" + f for f in fields) + "\x0c"
    return ("\x1b\t" + service + "%06d" % len(body.encode("utf-8")) + "%02d" % ret
            + body).encode("utf-8")


def soop_chat(text: str, user: str, nick: str) -> bytes:
    # fields: 1 message, 2 user id, 3 flag, 4 flag, 5 flag, 6 nickname, 7 flags, 8 color
    return soop_packet("0005", text, user, "0", "1", "0", nick, "524288|163840", "-1")


def soop_manager_chat(text: str, user: str, nick: str) -> bytes:
    # SVC_MANAGERCHAT: message, user id, admin flag, language, nickname, flags, subscription month
    return soop_packet("0026", text, user, "0", "0", nick, "256|163840", "-1")


def soop_ogq_chat(text: str, user: str, nick: str, chat_no: str = "4242") -> bytes:
    # SVC_OGQ_EMOTICON: chat room, message (may be empty), sticker group, sticker id, version,
    # user id, nickname, flags, color, language, type, extension, subscription month
    return soop_packet("0109", chat_no, text, "grp01", "sub07", "1", user, nick,
                       "524288|163840", "0", "0", "0", "png", "-1")


def soop_tls(folder) -> tuple[str, "ssl.SSLContext"]:
    """A private CA (PEM file in `folder`) and a server context for 127.0.0.1 signed by it."""
    import datetime
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    span = (now - datetime.timedelta(days=1), now + datetime.timedelta(days=30))

    def cert(subject, issuer, key, signer, ca: bool, san=None):
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(span[0]).not_valid_after(span[1])
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chatloop test CA")])
    ca = cert(ca_name, ca_name, ca_key, ca_key, True)
    leaf = cert(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]), ca_name,
                leaf_key, ca_key, False, [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    pem = serialization.Encoding.PEM
    ca_file, chain, key_file = (f"{folder}/ca.pem", f"{folder}/chain.pem", f"{folder}/key.pem")
    with open(ca_file, "wb") as f:
        f.write(ca.public_bytes(pem))
    with open(chain, "wb") as f:
        f.write(leaf.public_bytes(pem) + ca.public_bytes(pem))
    with open(key_file, "wb") as f:
        f.write(leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain, key_file)
    return ca_file, context


def chzzk_chat(*chats: tuple[str, str, str], cmd: int = 93101, **fields) -> str:
    """A chat (93101) or donation (93102) frame; `fields` are added to every message."""
    bdy = [{"msg": text, "uid": uid, "cid": "N1chat", "msgTime": 1700000000000 + i,
            "msgTypeCode": 10 if cmd == 93102 else 1, "msgStatusType": "NORMAL",
            "profile": json.dumps({"nickname": nick, "userIdHash": uid}), **fields}
           for i, (text, uid, nick) in enumerate(chats)]
    return json.dumps({"svcid": "game", "ver": "1", "cmd": cmd, "tid": None, "bdy": bdy})


def chzzk_blind(user: str, msg_time: int, by: str = "mgr", kind: str = "CBOTBLIND") -> str:
    """94008: a message hidden on CHZZK (fields as kimcore/chzzk's BlindEvent)."""
    return json.dumps({"svcid": "game", "ver": "1", "cmd": 94008, "cid": "N1chat", "bdy": {
        "messageTime": msg_time, "blindType": kind, "blindUserId": by, "serviceId": "game",
        "message": None, "userId": user, "channelId": "N1chat"}})


def twitch_privmsg(text: str, login: str, msg_id: str, channel: str = "streamer") -> str:
    tags = (f"@badge-info=;color=#FF0000;display-name={login.title()};id={msg_id};"
            f"mod=0;room-id=1;tmi-sent-ts=1700000000000;user-id=u-{login}")
    return f"{tags} :{login}!{login}@{login}.tmi.twitch.tv PRIVMSG #{channel} :{text}"


def twitch_usernotice(text: str | None, login: str, msg_id: str, kind: str = "resub",
                      channel: str = "streamer") -> str:
    """A USERNOTICE (sent by tmi.twitch.tv, the user in tags); `text` None: no user text."""
    tags = (f"@badge-info=subscriber/8;badges=subscriber/6;color=#008000;"
            f"display-name={login.title()};emotes=;id={msg_id};login={login};mod=0;"
            f"msg-id={kind};msg-param-cumulative-months=8;room-id=1;subscriber=1;"
            rf"system-msg={login.title()}\ssubscribed\sfor\s8\smonths!;"
            f"tmi-sent-ts=1700000001000;user-id=u-{login};user-type=")
    line = f"{tags} :tmi.twitch.tv USERNOTICE #{channel}"
    return line if text is None else f"{line} :{text}"


def twitch_clearmsg(login: str, target_msg_id: str, text: str, channel: str = "streamer") -> str:
    return (f"@login={login};room-id=;target-msg-id={target_msg_id};tmi-sent-ts=1700000002000"
            f" :tmi.twitch.tv CLEARMSG #{channel} :{text}")


def twitch_clearchat(login: str | None = None, user_id: str | None = None,
                     duration: int | None = None, channel: str = "streamer") -> str:
    """CLEARCHAT: a timeout (`duration`), a ban (a user, no duration), or all chat (no user)."""
    tags = "room-id=1;tmi-sent-ts=1700000003000"
    if user_id:
        tags += f";target-user-id={user_id}"
    if duration is not None:
        tags = f"ban-duration={duration};" + tags
    line = f"@{tags} :tmi.twitch.tv CLEARCHAT #{channel}"
    return line if login is None else f"{line} :{login}"


def discord_dispatch(seq: int, event: str, data: dict) -> str:
    return json.dumps({"op": 0, "s": seq, "t": event, "d": data})


def discord_user_id(user: str) -> str:
    return str(zlib.crc32(user.encode()))


def discord_message(seq: int, msg_id: int, text: str, user: str, *, channel: str,
                    bot: bool = False, event: str = "MESSAGE_CREATE",
                    edited_timestamp: str | None = None, type: int = 0) -> str:
    """A MESSAGE_CREATE (or, with `event`, a MESSAGE_UPDATE: API v10 sends the full message)
    dispatch as the gateway sends it for a guild text channel or thread."""
    author = {"id": discord_user_id(user), "username": user.lower(),
              "global_name": user, "discriminator": "0", "avatar": None, "bot": bot}
    return discord_dispatch(seq, event, {
        "id": str(msg_id), "channel_id": channel, "guild_id": "900", "author": author,
        "content": text, "timestamp": "2026-11-22T06:00:00.000000+00:00",
        "edited_timestamp": edited_timestamp, "tts": False, "mention_everyone": False,
        "mentions": [], "mention_roles": [], "attachments": [], "embeds": [], "pinned": False,
        "type": type})


def discord_delete(seq: int, msg_id: int | list[int], *, channel: str) -> str:
    """MESSAGE_DELETE (one id) or MESSAGE_DELETE_BULK (a list): ids only, never who deleted."""
    if isinstance(msg_id, list):
        return discord_dispatch(seq, "MESSAGE_DELETE_BULK", {
            "ids": [str(i) for i in msg_id], "channel_id": channel, "guild_id": "900"})
    return discord_dispatch(seq, "MESSAGE_DELETE", {"id": str(msg_id), "channel_id": channel,
                                                    "guild_id": "900"})


def discord_thread(thread_id: str, parent_id: str, name: str = "thread") -> dict:
    """A public thread (channel type 11) as GUILD_CREATE, THREAD_CREATE, THREAD_LIST_SYNC carry it."""
    return {"id": thread_id, "guild_id": "900", "parent_id": parent_id, "owner_id": "1",
            "name": name, "type": 11, "last_message_id": None, "message_count": 0,
            "member_count": 1, "rate_limit_per_user": 0, "flags": 0, "total_message_sent": 0,
            "thread_metadata": {"archived": False, "auto_archive_duration": 1440,
                                "archive_timestamp": "2026-11-22T05:00:00.000000+00:00",
                                "locked": False}}


def discord_guild(channels: list[str], threads: list[dict]) -> dict:
    """GUILD_CREATE data of guild 900: text channels (type 0) and the active threads."""
    return {"id": "900", "name": "방송 서버", "icon": None, "owner_id": "1", "unavailable": False,
            "roles": [{"id": "900", "name": "@everyone", "permissions": "1024", "position": 0,
                       "color": 0, "hoist": False, "managed": False, "mentionable": False,
                       "flags": 0}],
            "emojis": [], "stickers": [], "features": [], "member_count": 2, "members": [],
            "channels": [{"id": c, "type": 0, "guild_id": "900", "name": f"chat-{c}",
                          "position": i, "permission_overwrites": [], "nsfw": False,
                          "parent_id": None, "topic": None, "last_message_id": None,
                          "rate_limit_per_user": 0} for i, c in enumerate(channels)],
            "threads": threads, "presences": [], "voice_states": [], "large": False,
            "joined_at": "2026-01-01T00:00:00.000000+00:00", "verification_level": 0,
            "default_message_notifications": 0, "explicit_content_filter": 0, "mfa_level": 0,
            "system_channel_id": None, "premium_tier": 0, "preferred_locale": "ko",
            "nsfw_level": 0, "stage_instances": [], "guild_scheduled_events": []}


# --------------------------------------------------------------------- servers
class HttpJson:
    """A minimal HTTP/1.1 server answering JSON from `route(method, path, query, body)`,
    which returns (status, object) or (status, object, extra headers); a 204 has no body.

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
            status, obj, *extra = self.route(method, url.path, query, body)
            payload = b"" if status == 204 else json.dumps(obj).encode()
            more = "".join(f"{k}: {v}\r\n" for k, v in (extra[0] if extra else {}).items())
            writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{more}"
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
    """player_live_api.php + the chat websocket (subprotocol `chat`, login then join).

    The broadcast restarts between chat connections: its number is 777 + connections so
    far, and a lookup naming another (ended) broadcast gets RESULT 0. A POST under `/moved/`
    is redirected (302) to `moved_to` (default: the same API on `localhost`). `ssl_context`
    serves the chat socket over TLS.
    """

    subprotocols = ["chat"]
    CHATNO = "4242"

    def __init__(self, scripts: list[list], *, ssl_context=None, moved_to: str | None = None):
        super().__init__(scripts)
        self.ssl_context, self.moved_to = ssl_context, moved_to

    @property
    def bno(self) -> str:
        return str(777 + len(self.received))

    def route(self, method, path, query, body):
        form = parse_qs(body, keep_blank_values=True)
        if method == "POST" and path.startswith("/moved/"):
            target = self.moved_to or (f"http://localhost:{self.http.port}/afreeca/"
                                       f"player_live_api.php?bjid={query['bjid'][0]}")
            return 302, {}, {"Location": target}
        if method == "POST" and path.endswith("/player_live_api.php") and form.get("bid"):
            if form.get("bno", [""])[0] not in ("", self.bno):
                return 200, {"CHANNEL": {"RESULT": 0}}
            return 200, {"CHANNEL": {"RESULT": 1, "CHDOMAIN": "127.0.0.1", "CHPT": str(self.port - 1),
                                     "CHATNO": self.CHATNO, "FTK": "ftk", "BNO": self.bno,
                                     "BJID": form["bid"][0]}}
        return 404, {"error": "not found"}

    async def __aenter__(self):
        await self.http.__aenter__()
        self.ws = await serve(self._handler, "127.0.0.1", 0, subprotocols=self.subprotocols,
                              ssl=self.ssl_context)
        self.port = list(self.ws.sockets)[0].getsockname()[1]
        return self

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
    """live-status + access-token lookups and the chat websocket (cmd 100 -> 10100).

    Each access-token lookup issues a new token (`tok-1`, `tok-2`, ...); a connect with a
    token in `refuse`, or not the latest issued, gets 10100 with a non-zero retCode and the
    socket stays open. Client pings (cmd 0) are answered with 10000. `user_agents` keeps
    each websocket request's User-Agent.
    """

    CHAT_ID = "N1chat"

    def __init__(self, scripts: list[list], *, refuse: set[str] = frozenset()):
        super().__init__(scripts)
        self.tokens: list[str] = []
        self.refuse, self.user_agents = set(refuse), []

    def route(self, method, path, query, body):
        if path.startswith("/polling/v2/channels/") and path.endswith("/live-status"):
            return 200, {"code": 200, "content": {"chatChannelId": self.CHAT_ID, "status": "OPEN"}}
        if path == "/nng_main/v1/chats/access-token" and query.get("channelId") == [self.CHAT_ID]:
            self.tokens.append(f"tok-{len(self.tokens) + 1}")
            return 200, {"code": 200, "content": {"accessToken": self.tokens[-1], "extraToken": "x"}}
        return 404, {"code": 404}

    async def handshake(self, ws, got: list) -> None:
        self.user_agents.append(ws.request.headers.get("User-Agent"))
        hello = json.loads(await ws.recv())
        got.append(hello)
        assert hello["cmd"] == 100 and hello["cid"] == self.CHAT_ID
        token = hello["bdy"]["accTkn"]
        if token in self.refuse or token != self.tokens[-1]:
            await ws.send(json.dumps({"cmd": 10100, "retCode": 10002, "retMsg": "INVALID_TOKEN",
                                      "bdy": None}))
            return
        await ws.send(json.dumps({"cmd": 10100, "retCode": 0, "bdy": {"sid": "sess"}}))

    async def on_frame(self, ws, frame) -> None:
        if json.loads(frame).get("cmd") == 0:
            await ws.send(json.dumps({"cmd": 10000, "ver": "2"}))


class TwitchServer(ChatServer):
    """IRC over websocket as Twitch speaks it (dev.twitch.tv/docs/irc/authenticate-bot).

    The client sends CAP REQ, PASS, NICK; a ping round trip then checks it sent nothing else
    before the welcome. A `justinfan` nick logs in anonymously; another nick needs PASS
    `oauth:TOKEN` with `tokens(TOKEN)` true (tokens None: any token), else the server sends
    NOTICE `Login authentication failed` (`Improperly formatted auth` without `oauth:`) and
    closes, as Twitch does. On success: CAP ACK, 001-004, MOTD (375/372/376); the client's
    JOIN is answered with the JOIN echo, NAMES (353/366) and ROOMSTATE. PING -> PONG.
    """

    def __init__(self, scripts: list[list], *, tokens=None):
        super().__init__(scripts)
        self.tokens = tokens

    async def handshake(self, ws, got: list) -> None:
        lines = [await ws.recv() for _ in range(3)]
        got.extend(lines)
        assert lines[0] == "CAP REQ :twitch.tv/tags twitch.tv/commands", lines[0]
        assert lines[1].startswith("PASS ") and lines[2].startswith("NICK "), lines
        # The client's frames arrive in order: after a ping round trip, anything it sent
        # before it could have seen a reply (a JOIN before 001) is already queued.
        await (await ws.ping())
        assert len(ws.recv_messages.frames) == 0, "client sent a command before 001"
        nick, password = lines[2].split()[1], lines[1][len("PASS "):]
        if not nick.startswith("justinfan"):
            refused = ("Improperly formatted auth" if not password.startswith("oauth:") else
                       None if self.tokens is None or self.tokens(password[len("oauth:"):])
                       else "Login authentication failed")
            if refused:
                await ws.send(f":tmi.twitch.tv NOTICE * :{refused}")
                await ws.close()
                return
        await ws.send(f":tmi.twitch.tv CAP * ACK :twitch.tv/tags twitch.tv/commands\r\n"
                      f":tmi.twitch.tv 001 {nick} :Welcome, GLHF!\r\n"
                      f":tmi.twitch.tv 002 {nick} :Your host is tmi.twitch.tv\r\n"
                      f":tmi.twitch.tv 003 {nick} :This server is rather new\r\n"
                      f":tmi.twitch.tv 004 {nick} :-\r\n"
                      f":tmi.twitch.tv 375 {nick} :-\r\n"
                      f":tmi.twitch.tv 372 {nick} :You are in a maze of twisty passages.\r\n"
                      f":tmi.twitch.tv 376 {nick} :>\r\n")
        join = await ws.recv()
        got.append(join)
        assert join.startswith("JOIN #"), join
        channel = join.split()[1]
        await ws.send(f":{nick}!{nick}@{nick}.tmi.twitch.tv JOIN {channel}\r\n"
                      f":{nick}.tmi.twitch.tv 353 {nick} = {channel} :{nick}\r\n"
                      f":{nick}.tmi.twitch.tv 366 {nick} {channel} :End of /NAMES list\r\n"
                      f"@emote-only=0;followers-only=-1;r9k=0;room-id=1;slow=0;subs-only=0"
                      f" :tmi.twitch.tv ROOMSTATE {channel}\r\n")


class DiscordServer(ChatServer):
    """REST (`/users/@me`, `/oauth2/applications/@me`, what discord.py's login reads) and the gateway: HELLO (op 10), heartbeats (op 1 -> 11),
    IDENTIFY (op 2) -> READY, or RESUME (op 6) of the session READY gave -> RESUMED.
    With `guild` (GUILD_CREATE data), READY lists it as unavailable and GUILD_CREATE (seq 2)
    follows, as Discord does for each guild of the bot."""

    def __init__(self, scripts: list[list], *, guild: dict | None = None):
        super().__init__(scripts)
        self.guild = guild

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
                "v": 10, "session_id": self.SESSION,
                "guilds": [{"id": self.guild["id"], "unavailable": True}] if self.guild else [],
                "resume_gateway_url": f"ws://127.0.0.1:{self.port}",
                "user": self.BOT,
                "application": {"id": "1000", "flags": 0}}))
            if self.guild:
                await ws.send(discord_dispatch(2, "GUILD_CREATE", self.guild))
        else:
            assert frame["op"] == 6 and frame["d"]["session_id"] == self.SESSION, frame
            await ws.send(discord_dispatch(frame["d"]["seq"] + 1, "RESUMED", {}))

    async def on_frame(self, ws, frame) -> None:
        if json.loads(frame).get("op") == 1:
            await ws.send('{"op": 11}')


class OAuthApi(HttpJson):
    """A platform API with its OAuth 2 token endpoint (RFC 6749 §6 refresh_token grant).

    `POST /oauth2/token` takes a form body (Twitch, Google); `POST /auth/v1/token` takes
    CHZZK's JSON body (grantType, refreshToken, clientId, clientSecret) and answers inside
    the Open API `{"code", "message", "content"}` envelope with `expiresIn` as a string.
    Each refresh issues `access-N` and a rotated `refresh-N`; the used refresh token stops
    working (single-use). Any other request carrying `Authorization: Bearer` that is not the
    current access token gets 401; otherwise `api(method, path, query, body, headers)`
    answers (status, object[, headers]). `refreshes` keeps each token request's fields.
    """

    def __init__(self, api=None, *, client_id="cid", client_secret="csecret",
                 access_token="access-0", refresh_token="refresh-0", expires_in=14400):
        super().__init__(self._route)
        self.api = api or (lambda *a: (200, {}))
        self.client_id, self.client_secret = client_id, client_secret
        self.access_token, self.refresh_token = access_token, refresh_token
        self.expires_in, self.refreshes = expires_in, []

    def _issue(self, fields: dict) -> tuple[int, dict] | None:
        self.refreshes.append(fields)
        if (fields.get("client_id") != self.client_id
                or fields.get("client_secret") != self.client_secret):
            return 401, {"error": "invalid_client"}
        if fields.get("grant_type") != "refresh_token":
            return 400, {"error": "unsupported_grant_type"}
        if fields.get("refresh_token") != self.refresh_token:
            return 400, {"error": "invalid_grant", "error_description": "Invalid refresh token"}
        n = len(self.refreshes)
        self.access_token, self.refresh_token = f"access-{n}", f"refresh-{n}"
        return None

    def _route(self, method, path, query, body):
        headers = self.requests[-1][3]
        if method == "POST" and path == "/oauth2/token":
            fields = {k: v[0] for k, v in parse_qs(body).items()}
            refused = self._issue(fields)
            return refused or (200, {"access_token": self.access_token, "expires_in": self.expires_in,
                                     "refresh_token": self.refresh_token, "token_type": "bearer"})
        if method == "POST" and path == "/auth/v1/token":
            data = json.loads(body)
            refused = self._issue({"grant_type": data.get("grantType"),
                                   "refresh_token": data.get("refreshToken"),
                                   "client_id": data.get("clientId"),
                                   "client_secret": data.get("clientSecret")})
            if refused:
                return refused[0], {"code": refused[0], "message": refused[1]["error"]}
            return 200, {"code": 200, "message": None, "content": {
                "accessToken": self.access_token, "refreshToken": self.refresh_token,
                "tokenType": "Bearer", "expiresIn": str(self.expires_in)}}
        auth = headers.get("authorization", "")
        if auth.startswith("Bearer ") and auth != f"Bearer {self.access_token}":
            return 401, {"error": "Unauthorized", "status": 401, "message": "Invalid OAuth token"}
        return self.api(method, path, query, body, headers)


# ---------------------------------------------------------------- client-side helpers
async def take(source, n: int) -> list:
    """The first `n` messages a source yields."""
    out = []
    async for message in source:
        out.append(message)
        if len(out) == n:
            break
    return out


async def read(server, source_for, n: int) -> tuple:
    """(server, source, its first `n` messages): start `server`, build the source with
    `source_for(server)` and read from it."""
    async with server:
        source = source_for(server)
        got = await take(source, n)
    return server, source, got


async def until(predicate) -> None:
    """Wait for something the client does on its own (bounded by the test's timeout)."""
    while not predicate():
        await asyncio.sleep(0.01)
