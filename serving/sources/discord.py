"""`discord:CHANNEL_ID`: messages of one Discord text channel and its threads, via discord.py.

Needs a bot token in DISCORD_BOT_TOKEN and the Message Content intent enabled for the bot.
discord.py reconnects (with its own backoff and jitter) and resumes the gateway session
itself; its disconnects are counted in `stats["reconnects"]`. A gateway frame that does not
parse (not JSON, an event missing fields) is counted as `malformed` and skipped, and an event
discord.py does not know as `unknown`: neither ends the client.

Gateway events used (checked against Discord's gateway-events docs, discord-api-types and
discord.py 2.7's parsers):
- MESSAGE_CREATE: chat when `channel_id` is the watched channel or one of its threads. A
  thread's parent is known from THREAD_CREATE, THREAD_LIST_SYNC and the `threads` of
  GUILD_CREATE (discord.py keeps them in its guild cache); a thread message's
  ChatMessage.channel is the thread id (the id its delete/reply REST calls need). Bots'
  messages, system messages (pins, joins, "thread created") and empty content are skipped.
- MESSAGE_UPDATE: the full message (API v10). When it is a user edit (`edited_timestamp`
  set) with content that differs from the cached text (or none is cached), the message is
  emitted again with the same message id, `edited=True` and the edit's time; embed
  unfurls and other updates without new text are skipped.
- MESSAGE_DELETE / MESSAGE_DELETE_BULK: handed to `on_platform_moderation` as kind
  "delete" (serving.sources.moderation). The gateway does not say who deleted a message:
  it may be a moderator, the author, or this bot's own action, so a consumer should skip
  ids it removed itself; `user` is the author when discord.py still has the message cached.

The REST base and the gateway URL (DISCORD_API_URL, DISCORD_GATEWAY_URL: TLS, or plain text
to loopback only, for the protocol tests) belong to each source's own client: nothing in
discord.py is changed process-wide, so several Discord sources can run in one process.
"""
from __future__ import annotations

import asyncio
import collections
import copy
import logging
import os
import time
from typing import AsyncIterator

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from serving.actions import DEFAULT_URLS
from serving.message import ChatMessage
from serving.sources.base import SourceError, check_url
from serving.sources.moderation import Callback, moderation_event, report

log = logging.getLogger(__name__)

API_URL = DEFAULT_URLS["discord"]   # the same REST base the moderation actions use
GATEWAY_URL = "wss://gateway.discord.gg/"
MALFORMED = (ValueError, KeyError, TypeError, AttributeError)


def message_from_discord(message: "discord.Message", *, edited: bool = False) -> ChatMessage:
    """The ChatMessage for one discord.py message (an edit: `edited`, the edit's time)."""
    when = message.edited_at if edited and message.edited_at else message.created_at
    return ChatMessage("discord", str(message.channel.id), str(message.id),
                       str(message.author.id), message.author.display_name,
                       message.content, when.timestamp(), edited=edited)


class ChatClient(discord.Client):
    """A discord.Client with its own REST base and gateway URL, tolerant of bad frames.

    discord.py reads both URLs from class attributes (`Route.BASE`,
    `DiscordWebSocket.DEFAULT_GATEWAY`); this client rewrites them per request on its own
    `http` object instead, so other clients in the process are untouched. Every gateway URL,
    including a `resume_gateway_url` from READY, must pass `check_url`.
    """

    def __init__(self, *, api_url: str, gateway_url: str, **options):
        super().__init__(**options)
        self.api_url, self.gateway_url = api_url.rstrip("/"), yarl.URL(gateway_url)
        request, ws_connect = self.http.request, self.http.ws_connect

        async def scoped_request(route: Route, **kwargs):
            if route.url.startswith(Route.BASE):
                route.url = self.api_url + route.url[len(Route.BASE):]
            return await request(route, **kwargs)

        async def scoped_ws_connect(url: str, **kwargs):
            target = yarl.URL(url)
            if target.with_query(None) == DiscordWebSocket.DEFAULT_GATEWAY:
                target = self.gateway_url.with_query(target.query)
            return await ws_connect(check_url(str(target)), **kwargs)

        self.http.request, self.http.ws_connect = scoped_request, scoped_ws_connect

    def dispatch(self, event: str, /, *args, **kwargs) -> None:
        """discord.Client's, except that `message` handlers get a copy of the message as it
        was parsed: handlers run later, as tasks, and a MESSAGE_UPDATE parsed meanwhile
        edits the cached original in place."""
        if event == "message" and args:
            args = (copy.copy(args[0]), *args[1:])
        super().dispatch(event, *args, **kwargs)

    def _get_state(self, **options):
        state = super()._get_state(**options)
        update_references = state._update_references

        def on_new_socket(ws: DiscordWebSocket) -> None:
            update_references(ws)
            received = ws.received_message

            async def tolerant(msg, /) -> None:
                try:
                    await received(msg)
                except MALFORMED as exc:   # unpatched discord.py would end the client
                    ws._dispatch("malformed_frame", exc)

            ws.received_message = tolerant

        state._update_references = on_new_socket   # called on each new gateway socket
        return state


class DiscordSource:
    """Yields the non-bot messages (and edits) of one channel and its threads; ends with
    SourceError if the client stops. `on_platform_moderation(event)`: called for deletes
    (serving.sources.moderation); None logs them."""

    platform = "discord"

    def __init__(self, channel_id: str, *, token: str | None = None, queue_size: int = 10000,
                 api_url: str | None = None, gateway_url: str | None = None,
                 on_platform_moderation: Callback | None = None):
        if not channel_id.isdigit():
            raise SourceError(f"discord channel id must be numeric, not {channel_id!r}")
        self.channel = channel_id
        self.token = token or os.environ.get("DISCORD_BOT_TOKEN")
        self.queue_size = queue_size
        self.api_url = check_url(api_url or os.environ.get("DISCORD_API_URL") or API_URL)
        self.gateway_url = check_url(gateway_url or os.environ.get("DISCORD_GATEWAY_URL")
                                     or GATEWAY_URL)
        self.on_platform_moderation = on_platform_moderation
        self._threads: set[int] = set()   # threads under the channel seen so far
        # chat, edits, skipped (bots, system, empty), dropped, malformed, unknown,
        # reconnects, moderation
        self.stats: collections.Counter[str] = collections.Counter()

    def _watched(self, channel: object) -> bool:
        """The watched channel, or a thread under it (a discord.py channel object)."""
        if str(getattr(channel, "id", "")) == self.channel:
            return True
        if isinstance(channel, discord.Thread) and str(channel.parent_id) == self.channel:
            self._threads.add(channel.id)
            return True
        return False

    def _watched_id(self, client: discord.Client, channel_id: int) -> bool:
        """Like `_watched` for an event that carries only the channel id (deletes)."""
        return channel_id in self._threads or self._watched(
            client.get_channel(channel_id) or discord.Object(channel_id))

    def _client(self, queue: asyncio.Queue) -> ChatClient:
        intents = discord.Intents.default()
        intents.message_content = True
        client = ChatClient(api_url=self.api_url, gateway_url=self.gateway_url, intents=intents)

        def put(item: ChatMessage | dict) -> None:
            if queue.full():
                self.stats["dropped"] += 1
            else:
                queue.put_nowait(item)

        def offer(message: discord.Message, edited: bool = False) -> None:
            if message.author.bot or message.is_system() or not message.content:
                self.stats["skipped"] += 1
            else:
                if edited:
                    self.stats["edits"] += 1
                put(message_from_discord(message, edited=edited))

        def deleted(channel_id: int, message_id: int, cached: discord.Message | None) -> None:
            put(moderation_event(self.platform, str(channel_id), "delete", time.time(),
                                 message_id=str(message_id),
                                 user=str(cached.author.id) if cached is not None else None))

        @client.event
        async def on_message(message: discord.Message) -> None:
            if self._watched(message.channel):
                offer(message)

        @client.event
        async def on_raw_message_edit(payload: discord.RawMessageUpdateEvent) -> None:
            after, before = payload.message, payload.cached_message
            if not self._watched(after.channel):
                return
            if (payload.data.get("edited_timestamp") is None or "content" not in payload.data
                    or (before is not None and before.content == after.content)):
                self.stats["skipped"] += 1   # not a user edit of the text (an embed unfurl, ...)
                return
            offer(after, edited=True)

        @client.event
        async def on_raw_message_delete(payload: discord.RawMessageDeleteEvent) -> None:
            if self._watched_id(client, payload.channel_id):
                deleted(payload.channel_id, payload.message_id, payload.cached_message)

        @client.event
        async def on_raw_bulk_message_delete(payload: discord.RawBulkMessageDeleteEvent) -> None:
            if self._watched_id(client, payload.channel_id):
                cached = {m.id: m for m in payload.cached_messages}
                for message_id in sorted(payload.message_ids):
                    deleted(payload.channel_id, message_id, cached.get(message_id))

        @client.event
        async def on_thread_create(thread: discord.Thread) -> None:
            self._watched(thread)    # remember threads under the channel (for deletes)

        @client.event
        async def on_thread_join(thread: discord.Thread) -> None:
            self._watched(thread)

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
        queue: asyncio.Queue[ChatMessage | dict] = asyncio.Queue(self.queue_size)
        client = self._client(queue)
        runner = asyncio.create_task(client.start(self.token, reconnect=True))
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, runner}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    raise SourceError(f"discord client stopped: {runner.exception()!r}")
                item = getter.result()
                if isinstance(item, dict):      # a moderation event, in gateway order
                    self.stats["moderation"] += 1
                    await report(self.on_platform_moderation, item)
                    continue
                self.stats["chat"] += 1
                yield item
        finally:
            await client.close()
            runner.cancel()

    def __aiter__(self) -> AsyncIterator[ChatMessage]:
        return self.stream()
