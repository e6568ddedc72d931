"""`discord:CHANNEL_ID`: messages of one Discord text channel through discord.py.

Needs a bot token in DISCORD_BOT_TOKEN and the Message Content intent enabled for the bot.
discord.py reconnects (with its own backoff and jitter) and resumes the gateway session
itself; its disconnects are counted in `stats["reconnects"]`. A gateway frame that does not
parse (not JSON, an event missing fields) is counted as `malformed` and skipped, and an event
discord.py does not know as `unknown`: neither ends the client.

The REST base and the gateway URL are process-wide in discord.py, so one process runs one
Discord source. They can be pointed elsewhere (DISCORD_API_URL, DISCORD_GATEWAY_URL) only
over TLS, or in plain text to loopback (the protocol tests).
"""
from __future__ import annotations

import asyncio
import collections
import logging
import os
from typing import AsyncIterator

import discord
import discord.client
import discord.http
import yarl
from discord.gateway import DiscordWebSocket

from serving.actions import DEFAULT_URLS
from serving.message import ChatMessage
from serving.sources.base import SourceError, check_url

log = logging.getLogger(__name__)

API_URL = DEFAULT_URLS["discord"]   # the same REST base the moderation actions use
GATEWAY_URL = "wss://gateway.discord.gg/"


class TolerantGateway(DiscordWebSocket):
    """discord.py's gateway socket, except that a frame which fails to parse is dispatched
    as a `malformed_frame` event and skipped, instead of ending `Client.connect`."""

    async def received_message(self, msg, /) -> None:
        try:
            await super().received_message(msg)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            self._dispatch("malformed_frame", exc)


# Client.connect builds its gateway socket from this module-level name.
discord.client.DiscordWebSocket = TolerantGateway


def message_from_discord(message: "discord.Message") -> ChatMessage:
    """The ChatMessage for one discord.py message."""
    return ChatMessage("discord", str(message.channel.id), str(message.id),
                       str(message.author.id), message.author.display_name,
                       message.content, message.created_at.timestamp())


class DiscordSource:
    """Yields the non-bot messages of one channel; ends with SourceError if the client stops."""

    platform = "discord"

    def __init__(self, channel_id: str, *, token: str | None = None, queue_size: int = 10000,
                 api_url: str | None = None, gateway_url: str | None = None):
        if not channel_id.isdigit():
            raise SourceError(f"discord channel id must be numeric, not {channel_id!r}")
        self.channel = channel_id
        self.token = token or os.environ.get("DISCORD_BOT_TOKEN")
        self.queue_size = queue_size
        self.api_url = check_url(api_url or os.environ.get("DISCORD_API_URL") or API_URL)
        self.gateway_url = check_url(gateway_url or os.environ.get("DISCORD_GATEWAY_URL")
                                     or GATEWAY_URL)
        # chat, skipped (bot messages, empty content), dropped, malformed, unknown, reconnects
        self.stats: collections.Counter[str] = collections.Counter()

    def _client(self, queue: asyncio.Queue) -> discord.Client:
        intents = discord.Intents.default()
        intents.message_content = True
        client = discord.Client(intents=intents)

        @client.event
        async def on_message(message: discord.Message) -> None:
            if str(message.channel.id) != self.channel:
                return
            if message.author.bot or not message.content:
                self.stats["skipped"] += 1
            elif queue.full():
                self.stats["dropped"] += 1
            else:
                queue.put_nowait(message_from_discord(message))

        @client.event
        async def on_disconnect() -> None:
            if not client.is_closed():  # not our own close at the end
                self.stats["reconnects"] += 1

        @client.event
        async def on_malformed_frame(exc: Exception) -> None:
            self.stats["malformed"] += 1
            log.debug("discord:%s malformed frame: %r", self.channel, exc)

        @client.event
        async def on_socket_event_type(event: str) -> None:
            if event not in client._connection.parsers:
                self.stats["unknown"] += 1

        return client

    async def stream(self) -> AsyncIterator[ChatMessage]:
        if not self.token:
            raise SourceError("discord source needs DISCORD_BOT_TOKEN in the environment")
        discord.http.Route.BASE = self.api_url
        TolerantGateway.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        queue: asyncio.Queue[ChatMessage] = asyncio.Queue(self.queue_size)
        client = self._client(queue)
        runner = asyncio.create_task(client.start(self.token, reconnect=True))
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, runner}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    raise SourceError(f"discord client stopped: {runner.exception()!r}")
                self.stats["chat"] += 1
                yield getter.result()
        finally:
            await client.close()
            runner.cancel()

    def __aiter__(self) -> AsyncIterator[ChatMessage]:
        return self.stream()
