"""SOOP (formerly AfreecaTV) chat: `player_live_api.php` lookup, then the chat websocket.

Packet: ESC TAB + 4-digit service code + 6-digit body length in UTF-8 bytes + "00" + body,
where the body is "\\x0c"-separated fields starting with a separator (so field 1 is the first
value). Routing is by service code only: 0001 login, 0002 join, 0000 ping (sent every 60 s),
0005 chat (field 1 message, 2 user id, 6 nickname); other known codes are skipped, the rest
counted as unknown. SOOP has no public delete or ban API: actions hold messages for review.
"""
from __future__ import annotations

import asyncio
import contextlib
import time
from typing import AsyncIterator

from serving.message import ChatMessage
from serving.sources.base import NetworkSource, Unavailable

API_URL = "https://live.sooplive.co.kr/afreeca/player_live_api.php"
WS_URL = "wss://{host}:{port}/Websocket/{bid}"
HEADER = "\x1b\t"
SEP = "\x0c"
PING, LOGIN, JOIN, CHAT = "0000", "0001", "0002", "0005"
# Recognised events the bot does not act on.
SKIPPED = {"0004": "user join/leave", "0007": "manager change", "0012": "notice",
           "0018": "star balloon", "0087": "ad balloon", "0093": "subscription",
           "0105": "sticker", "0127": "vod balloon"}


class PacketError(ValueError):
    """Bytes that are not a SOOP chat packet."""


def encode_packet(service: str, fields: list[str]) -> bytes:
    body = SEP + "".join(field + SEP for field in fields)
    return f"{HEADER}{service}{len(body.encode()):06d}00{body}".encode()


def decode_packet(data: bytes | str) -> tuple[str, list[str]]:
    """(service code, fields) where fields[1] is the first value; raises PacketError."""
    try:
        text = data.decode() if isinstance(data, (bytes, bytearray)) else data
    except UnicodeDecodeError as exc:
        raise PacketError(f"not UTF-8: {exc}") from None
    head, body = text[:14], text[14:]
    if (len(head) < 14 or not head.startswith(HEADER) or not head[2:12].isdigit()
            or head[12:14] != "00"):
        raise PacketError("bad header")
    if len(body.encode()) < int(head[6:12]):
        raise PacketError("truncated body")
    return head[2:6], body.split(SEP)


class SoopSource(NetworkSource):
    """`soop:BJID[/BNO]`."""

    platform = "soop"

    def __init__(self, spec: str, *, api_url: str = API_URL, ws_url: str = WS_URL,
                 ping_interval: float = 60.0, **kwargs):
        bid, _, bno = spec.partition("/")
        super().__init__(bid, **kwargs)
        self.bid, self.bno = bid, bno
        self.api_url, self.ws_url, self.ping_interval = api_url, ws_url, ping_interval

    async def lookup(self) -> dict:
        """The live broadcast's chat server (CHDOMAIN, CHPT, CHATNO, FTK, BNO)."""
        data = await self.get_json(self.api_url, method="POST", params={"bjid": self.bid},
                                   data={"bid": self.bid, "bno": self.bno, "type": "live",
                                         "player_type": "html5", "mode": "landing"})
        channel = data.get("CHANNEL") or {}
        if str(channel.get("RESULT")) != "1":
            raise Unavailable(f"soop:{self.bid} is not live (RESULT={channel.get('RESULT')})")
        missing = [k for k in ("CHDOMAIN", "CHPT", "CHATNO") if not channel.get(k)]
        if missing:
            raise Unavailable(f"soop:{self.bid}: lookup lacks {missing}")
        return channel

    async def _ping(self, ws) -> None:
        while True:
            await asyncio.sleep(self.ping_interval)
            await ws.send(encode_packet(PING, []))

    async def _session(self) -> AsyncIterator[ChatMessage]:
        info = await self.lookup()
        self.bno = str(info.get("BNO") or self.bno)
        url = self.ws_url.format(host=info["CHDOMAIN"], port=int(info["CHPT"]) + 1, bid=self.bid)
        async with self.ws_connect(url, subprotocols=["chat"]) as ws:
            await ws.send(encode_packet(LOGIN, ["", "", "16"]))
            pinger = asyncio.create_task(self._ping(ws))
            try:
                async for frame in ws:
                    message = self._handle(frame)
                    if message == LOGIN:
                        await ws.send(encode_packet(JOIN, [str(info["CHATNO"]),
                                                           str(info.get("FTK", "")), "0", ""]))
                    elif isinstance(message, ChatMessage):
                        yield message
            finally:
                pinger.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pinger

    def _handle(self, frame: bytes | str) -> ChatMessage | str | None:
        """Route one frame by service code: a ChatMessage, LOGIN (send join), or None."""
        try:
            service, fields = decode_packet(frame)
        except PacketError as exc:
            self.count("malformed", f"{exc}: {frame!r}")
            return None
        if service == CHAT:
            if len(fields) < 7 or not fields[1] or not fields[2]:
                self.count("malformed", frame)
                return None
            return ChatMessage(self.platform, self.bid, self.next_id(), fields[2],
                               fields[6] or fields[2], fields[1], time.time())
        if service == LOGIN:
            return LOGIN
        if service == JOIN:
            self.connected()
        elif service == PING or service in SKIPPED:
            self.count("skipped")
        else:
            self.count("unknown", frame)
        return None
