"""Twitch chat: IRC over websocket (`wss://irc-ws.chat.twitch.tv:443`) with IRCv3 tags.

Checked against Twitch's docs (dev.twitch.tv/docs/irc: authenticate, commands, tags,
msg-id) and the IRCv3 message-tags spec. What the client sends and reads:

- Login: `CAP REQ :twitch.tv/tags twitch.tv/commands`, `PASS`, `NICK`; `JOIN #channel` only
  after `001` (RPL_WELCOME, the login succeeded). Anonymous read-only (`justinfan` nick)
  unless TWITCH_CHAT_TOKEN (a user token, `oauth:` prefix optional) and TWITCH_BOT_NICK (the
  token owner's login) are set. `366` (end of NAMES) means the JOIN succeeded.
- `PING` -> `PONG`; `RECONNECT` ends the session (the base class reconnects).
- `PRIVMSG`: chat. The `id` tag is the message id, `user-id`/`display-name` the user,
  `tmi-sent-ts` the time. `/me` text arrives CTCP-wrapped (`\\x01ACTION text\\x01`): the
  wrapper is stripped.
- `USERNOTICE` (resub, announcement, ...): chat when it carries user text (id from the `id`
  tag, user from `user-id`/`login`); without text (a plain sub, a raid) it is skipped.
- `CLEARMSG` (one message deleted: `target-msg-id`, `login`) and `CLEARCHAT` (with a user:
  a timeout when `ban-duration` is set, else a ban, user id in `target-user-id`; without a
  user: the whole chat cleared) are moderators' actions, handed to `on_platform_moderation`
  as the dict documented in serving.sources.moderation (kinds delete, timeout, ban, clear).
- `NOTICE`: `Login authentication failed` / `Improperly formatted auth` mean the token was
  refused. With TWITCH_REFRESH_TOKEN, TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET set the
  token is refreshed once (serving.oauth, Twitch's token endpoint; TWITCH_TOKEN_URL
  overrides it for loopback tests) and the source reconnects with the new token; otherwise,
  or if the new token is refused too, the source stops with a SourceError naming the
  variable. Other NOTICEs are logged.
- Tag values: `\\s` space, `\\:` `;`, `\\\\` backslash, `\\r`, `\\n`; any other escaped
  character stands for itself (`\\q` -> `q`) and a trailing lone backslash is dropped.
"""
from __future__ import annotations

import logging
import os
import random
import time
from typing import AsyncIterator

from chatloop.errors import ChatloopError
from serving.message import ChatMessage
from serving.oauth import PROVIDERS, OAuthError, OAuthToken
from serving.sources.base import NetworkSource, SourceError, Unavailable
from serving.sources.moderation import Callback, moderation_event, report

log = logging.getLogger(__name__)

WS_URL = "wss://irc-ws.chat.twitch.tv:443"
TOKEN_URL = PROVIDERS["TWITCH"][0]
TAG_ESCAPES = {"s": " ", ":": ";", "\\": "\\", "r": "\r", "n": "\n"}
AUTH_FAILED = ("Login authentication failed", "Improperly formatted auth")
SKIPPED = {"002", "003", "004", "353", "366", "372", "375", "376", "CAP", "JOIN", "PART",
           "USERSTATE", "ROOMSTATE", "GLOBALUSERSTATE", "HOSTTARGET", "WHISPER", "PONG"}


class IrcError(ChatloopError):
    """A line that is not IRC."""


def unescape_tag(value: str) -> str:
    """An IRCv3 tag value unescaped (unknown escapes drop only the backslash)."""
    out, chars = [], iter(value)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")          # "" at the end: a lone backslash is dropped
            out.append(TAG_ESCAPES.get(nxt, nxt))
        else:
            out.append(ch)
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


def strip_action(text: str) -> str:
    """`\\x01ACTION text\\x01` (a /me message) -> `text`; other text unchanged."""
    if text.startswith("\x01ACTION ") or text == "\x01ACTION\x01":
        return text[len("\x01ACTION"):].removesuffix("\x01").lstrip(" ")
    return text


def _ts(tags: dict) -> float:
    try:
        return int(tags["tmi-sent-ts"]) / 1000
    except (KeyError, ValueError):
        return time.time()


class TwitchSource(NetworkSource):
    """`twitch:CHANNEL` (login name, without #).

    `on_platform_moderation(event)`: called for CLEARMSG/CLEARCHAT (see
    serving.sources.moderation); None logs them. `token_url`: the OAuth token endpoint used
    to refresh TWITCH_CHAT_TOKEN (TWITCH_TOKEN_URL in the environment takes precedence).
    """

    platform = "twitch"

    def __init__(self, channel: str, *, ws_url: str = WS_URL, token_url: str = TOKEN_URL,
                 on_platform_moderation: Callback | None = None, **kwargs):
        super().__init__(channel.lstrip("#").lower(), **kwargs)
        self.ws_url, self.token_url = ws_url, token_url
        self.on_platform_moderation = on_platform_moderation
        self._oauth: OAuthToken | None = None
        self._refreshed = False     # refreshed after a refused login, not yet logged in since

    async def _login(self) -> tuple[str | None, str | None]:
        """(token, nick) from the environment; (None, None) for an anonymous login."""
        token = (os.environ.get("TWITCH_CHAT_TOKEN") or "").removeprefix("oauth:") or None
        if self._oauth is None and token and os.environ.get("TWITCH_REFRESH_TOKEN"):
            self._oauth = OAuthToken(
                token, os.environ["TWITCH_REFRESH_TOKEN"],
                client_id=os.environ.get("TWITCH_CLIENT_ID"),
                client_secret=os.environ.get("TWITCH_CLIENT_SECRET"),
                token_url=os.environ.get("TWITCH_TOKEN_URL") or self.token_url, name="TWITCH")
        if self._oauth is not None:
            try:
                token = await self._oauth.get()   # refreshed near its expiry, once known
            except OAuthError as exc:
                raise SourceError(f"twitch:{self.channel}: {exc}") from None
        if not token:
            return None, None
        nick = (os.environ.get("TWITCH_BOT_NICK") or "").lower()
        if not nick:
            raise SourceError("twitch: TWITCH_CHAT_TOKEN is set but TWITCH_BOT_NICK (the login "
                              "of the token's account) is not")
        return token, nick

    async def _session(self) -> AsyncIterator[ChatMessage]:
        token, nick = await self._login()
        async with self.ws_connect(self.ws_url) as ws:
            await ws.send("CAP REQ :twitch.tv/tags twitch.tv/commands")
            await ws.send(f"PASS oauth:{token}" if token else "PASS SCHMOOPIIE")
            await ws.send(f"NICK {nick or f'justinfan{random.randint(10000, 99999)}'}")
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
                    elif command == "001":
                        self._refreshed = False
                        self.count("skipped")
                        await ws.send(f"JOIN #{self.channel}")
                    elif command in ("PRIVMSG", "USERNOTICE"):
                        message = self._chat(command, tags, prefix, params, line)
                        if message:
                            yield message
                    elif command in ("CLEARMSG", "CLEARCHAT"):
                        event = self._moderation(command, tags, params, line)
                        if event:
                            self.stats["moderation"] += 1
                            await report(self.on_platform_moderation, event)
                    elif command == "NOTICE":
                        await self._notice(tags, params, token)
                    elif command in SKIPPED:
                        if command == "366":
                            self.connected()  # end of NAMES: the JOIN succeeded
                        self.count("skipped")
                    else:
                        self.count("unknown", line)

    def _chat(self, command: str, tags: dict, prefix: str, params: list[str],
              line: str) -> ChatMessage | None:
        if command == "USERNOTICE" and len(params) == 1:
            self.count("skipped")       # an event without user text (sub, raid, ...)
            return None
        if len(params) != 2 or not params[1]:
            self.count("malformed", line)
            return None
        text = strip_action(params[1]) if command == "PRIVMSG" else params[1]
        if not text:
            self.count("skipped")
            return None
        login = tags.get("login") or prefix.partition("!")[0]
        return ChatMessage(self.platform, self.channel, tags.get("id") or self.next_id(),
                           tags.get("user-id") or login, tags.get("display-name") or login,
                           text, _ts(tags))

    def _moderation(self, command: str, tags: dict, params: list[str], line: str) -> dict | None:
        if not params:
            self.count("malformed", line)
            return None
        ts = _ts(tags)
        if command == "CLEARMSG":
            if not tags.get("target-msg-id"):
                self.count("malformed", line)
                return None
            return moderation_event(self.platform, self.channel, "delete", ts,
                                    message_id=tags["target-msg-id"], user=tags.get("login") or None)
        if len(params) < 2 or not params[1]:
            return moderation_event(self.platform, self.channel, "clear", ts)
        user = tags.get("target-user-id") or params[1]
        try:
            duration = int(tags["ban-duration"])
        except (KeyError, ValueError):
            return moderation_event(self.platform, self.channel, "ban", ts, user=user)
        return moderation_event(self.platform, self.channel, "timeout", ts, user=user,
                                duration_s=duration)

    async def _notice(self, tags: dict, params: list[str], token: str | None) -> None:
        text = params[-1] if params else ""
        if text not in AUTH_FAILED:
            self.count("skipped")
            log.info("twitch:%s NOTICE %s: %s", self.channel, tags.get("msg-id", "-"), text[:200])
            return
        if not token:
            raise SourceError(f"twitch:{self.channel}: anonymous login refused ({text})")
        if self._oauth is not None and self._oauth.can_refresh and not self._refreshed:
            try:
                await self._oauth.refresh(failed=token)
            except OAuthError as exc:
                raise SourceError(f"twitch:{self.channel}: login refused ({text}) and the "
                                  f"token could not be refreshed: {exc}") from None
            self._refreshed = True
            raise Unavailable(f"login refused ({text}); TWITCH_CHAT_TOKEN refreshed, reconnecting")
        hint = ("even after a refresh; check TWITCH_REFRESH_TOKEN, TWITCH_CLIENT_ID, "
                "TWITCH_CLIENT_SECRET" if self._refreshed else
                "set a valid user token in TWITCH_CHAT_TOKEN (or TWITCH_REFRESH_TOKEN, "
                "TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET to refresh it)")
        raise SourceError(f"twitch:{self.channel}: login refused ({text}): TWITCH_CHAT_TOKEN "
                          f"or TWITCH_BOT_NICK is wrong or expired; {hint}")
