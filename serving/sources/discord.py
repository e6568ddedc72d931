"""`discord:CHANNEL_ID`: messages of one Discord text channel through discord.py.

Needs a bot token in DISCORD_BOT_TOKEN and the Message Content intent enabled for the bot.
discord.py reconnects (with its own backoff) and resumes the gateway session itself;
its disconnects are counted in `stats["reconnects"]`.
"""
from __future__ import annotations

import asyncio
import collections
import os
from typing import AsyncIterator

import discord

from serving.message import ChatMessage
from serving.sources.base import SourceError


def message_from_discord(message: "discord.Message") -> ChatMessage:
    """The ChatMessage for one discord.py message."""
    return ChatMessage("discord", str(message.channel.id), str(message.id),
                       str(message.author.id), message.author.display_name,
                       message.content, message.created_at.timestamp())


class DiscordSource:
    """Yields the non-bot messages of one channel; ends with SourceError if the client stops."""

    platform = "discord"

    def __init__(self, channel_id: str, *, token: str | None = None, queue_size: int = 10000):
        if not channel_id.isdigit():
            raise SourceError(f"discord channel id must be numeric, not {channel_id!r}")
        self.channel = channel_id
        self.token = token or os.environ.get("DISCORD_BOT_TOKEN")
        self.queue_size = queue_size
        self.stats: collections.Counter[str] = collections.Counter()

    def _client(self, queue: asyncio.Queue) -> discord.Client:
        intents = discord.Intents.default()
        intents.message_content = True
        client = discord.Client(intents=intents)

        @client.event
        async def on_message(message: discord.Message) -> None:
            if str(message.channel.id) != self.channel or message.author.bot:
                return
            if not message.content:
                self.stats["skipped"] += 1
            elif queue.full():
                self.stats["dropped"] += 1
            else:
                queue.put_nowait(message_from_discord(message))

        @client.event
        async def on_disconnect() -> None:
            self.stats["reconnects"] += 1

        return client

    async def stream(self) -> AsyncIterator[ChatMessage]:
        if not self.token:
            raise SourceError("discord source needs DISCORD_BOT_TOKEN in the environment")
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
