"""CHZZK (Naver) chat: chat channel id and access token over HTTP, then the chat websocket.

Commands (JSON `cmd`): 100 connect -> 10100 connected, 0 ping -> 10000 pong (both ways),
93101 chat, 93102 donation (skipped); anything else is counted as unknown.
"""
from __future__ import annotations

import json
import time
from typing import AsyncIterator

from serving.message import ChatMessage
from serving.sources.base import NetworkSource, Unavailable

API_URL = "https://api.chzzk.naver.com"
COMM_URL = "https://comm-api.game.naver.com"
WS_URL = "wss://kr-ss{server}.chat.naver.com/chat"
PING, PONG, CONNECT, CONNECTED, CHAT, DONATION = 0, 10000, 100, 10100, 93101, 93102
SKIPPED = {DONATION, 93006, 94008, 94201, 10101, 93103}  # donation, notice, blind, ...


class ChzzkSource(NetworkSource):
    """`chzzk:CHANNEL_ID` (the streamer's channel id, a 32-hex string)."""

    platform = "chzzk"

    def __init__(self, channel_id: str, *, api_url: str = API_URL, comm_url: str = COMM_URL,
                 ws_url: str = WS_URL, **kwargs):
        super().__init__(channel_id, **kwargs)
        self.api_url, self.comm_url, self.ws_url = api_url, comm_url, ws_url

    async def lookup(self) -> tuple[str, str]:
        """(chat channel id, access token) for the channel's current live chat."""
        status = await self.get_json(f"{self.api_url}/polling/v2/channels/{self.channel}/live-status")
        chat_id = (status.get("content") or {}).get("chatChannelId")
        if not chat_id:
            raise Unavailable(f"chzzk:{self.channel} has no live chat channel")
        token = await self.get_json(f"{self.comm_url}/nng_main/v1/chats/access-token",
                                    params={"channelId": chat_id, "chatType": "STREAMING"})
        access = (token.get("content") or {}).get("accessToken")
        if not access:
            raise Unavailable(f"chzzk:{self.channel}: no chat access token")
        return chat_id, access

    async def _session(self) -> AsyncIterator[ChatMessage]:
        chat_id, token = await self.lookup()
        server = sum(ord(ch) for ch in chat_id) % 9 + 1
        async with self.ws_connect(self.ws_url.format(server=server)) as ws:
            await ws.send(json.dumps({
                "ver": "2", "cmd": CONNECT, "svcid": "game", "cid": chat_id, "tid": 1,
                "bdy": {"uid": None, "devType": 2001, "accTkn": token, "auth": "READ"}}))
            async for frame in ws:
                for item in self._handle(frame):
                    if item == PONG:
                        await ws.send(json.dumps({"ver": "2", "cmd": PONG}))
                    else:
                        yield item

    def _handle(self, frame: bytes | str) -> list:
        """ChatMessages in one frame, or [PONG] when the server pinged."""
        try:
            data = json.loads(frame)
            cmd = data["cmd"]
        except (ValueError, TypeError, KeyError):
            self.count("malformed", frame)
            return []
        if cmd == PING:
            return [PONG]
        if cmd == CONNECTED:
            self.connected()
        elif cmd == CHAT:
            return self._chats(data.get("bdy"), frame)
        elif cmd in SKIPPED or cmd == PONG:
            self.count("skipped")
        else:
            self.count("unknown", frame)
        return []

    def _chats(self, body: object, frame: object) -> list[ChatMessage]:
        out = []
        for chat in body if isinstance(body, list) else [body]:
            try:
                profile = json.loads(chat.get("profile") or "null") or {}
                text, uid = chat["msg"], chat["uid"]
                nickname = str(profile.get("nickname") or uid)
                ts = float(chat.get("msgTime") or time.time() * 1000) / 1000
                if not isinstance(text, str) or not text:
                    raise ValueError("empty msg")
            except (AttributeError, KeyError, TypeError, ValueError):
                self.count("malformed", frame)
                continue
            message_id = f"{chat.get('cid', self.channel)}-{uid}-{chat.get('msgTime', '')}"
            out.append(ChatMessage(self.platform, self.channel, message_id, str(uid),
                                   nickname, text, ts))
        return out
