"""Twitch chat: IRC over websocket with IRCv3 tags (`id` tag = message id), PING/PONG.

Anonymous read-only login (justinfan) unless TWITCH_CHAT_TOKEN / TWITCH_BOT_NICK are set.
A RECONNECT command from the server ends the session; the base class reconnects.
"""
from __future__ import annotations

import os
import random
import time
from typing import AsyncIterator

from serving.message import ChatMessage
from serving.sources.base import NetworkSource

WS_URL = "wss://irc-ws.chat.twitch.tv:443"
TAG_ESCAPES = {"s": " ", ":": ";", "\\": "\\", "r": "\r", "n": "\n"}
SKIPPED = {"001", "002", "003", "004", "353", "366", "372", "375", "376", "CAP", "JOIN", "PART",
           "USERSTATE", "ROOMSTATE", "GLOBALUSERSTATE", "USERNOTICE", "CLEARCHAT",
           "CLEARMSG", "NOTICE", "HOSTTARGET", "WHISPER", "PONG"}


class IrcError(ValueError):
    """A line that is not IRC."""


def unescape_tag(value: str) -> str:
    out, chars = [], iter(value)
    for ch in chars:
        out.append(TAG_ESCAPES.get(next(chars, ""), "") if ch == "\\" else ch)
    return "".join(out)


def parse_line(line: str) -> tuple[dict, str, str, list[str]]:
    """(tags, prefix, command, params) of one IRC line; the trailing param may hold spaces."""
    tags: dict[str, str] = {}
    rest = line
    if rest.startswith("@"):
        raw, _, rest = rest[1:].partition(" ")
        for item in raw.split(";"):
            key, _, value = item.partition("=")
            tags[key] = unescape_tag(value)
    prefix = ""
    if rest.startswith(":"):
        prefix, _, rest = rest[1:].partition(" ")
    head, sep, trailing = rest.partition(" :")
    params = head.split()
    if not params:
        raise IrcError("no command")
    command = params.pop(0)
    if sep:
        params.append(trailing)
    return tags, prefix, command, params


class TwitchSource(NetworkSource):
    """`twitch:CHANNEL` (login name, without #)."""

    platform = "twitch"

    def __init__(self, channel: str, *, ws_url: str = WS_URL, **kwargs):
        super().__init__(channel.lstrip("#").lower(), **kwargs)
        self.ws_url = ws_url

    async def _session(self) -> AsyncIterator[ChatMessage]:
        token = os.environ.get("TWITCH_CHAT_TOKEN")
        nick = os.environ.get("TWITCH_BOT_NICK") if token else None
        async with self.ws_connect(self.ws_url) as ws:
            await ws.send("CAP REQ :twitch.tv/tags twitch.tv/commands")
            await ws.send(f"PASS oauth:{token.removeprefix('oauth:')}" if token else "PASS SCHMOOPIIE")
            await ws.send(f"NICK {nick or f'justinfan{random.randint(10000, 99999)}'}")
            await ws.send(f"JOIN #{self.channel}")
            async for frame in ws:
                text = frame.decode(errors="replace") if isinstance(frame, bytes) else frame
                for line in filter(None, text.split("\r\n")):
                    try:
                        tags, prefix, command, params = parse_line(line)
                    except IrcError:
                        self.count("malformed", line)
                        continue
                    if command == "PING":
                        await ws.send(f"PONG :{params[-1] if params else 'tmi.twitch.tv'}")
                    elif command == "RECONNECT":
                        return
                    elif command == "PRIVMSG":
                        message = self._chat(tags, prefix, params, line)
                        if message:
                            yield message
                    elif command in SKIPPED:
                        if command == "366":
                            self.connected()  # end of NAMES: the JOIN succeeded
                        self.count("skipped")
                    else:
                        self.count("unknown", line)

    def _chat(self, tags: dict, prefix: str, params: list[str], line: str) -> ChatMessage | None:
        if len(params) != 2 or not params[1]:
            self.count("malformed", line)
            return None
        login = prefix.partition("!")[0]
        try:
            ts = int(tags["tmi-sent-ts"]) / 1000
        except (KeyError, ValueError):
            ts = time.time()
        return ChatMessage(self.platform, self.channel, tags.get("id") or self.next_id(),
                           tags.get("user-id") or login, tags.get("display-name") or login,
                           params[1], ts)
