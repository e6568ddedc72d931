"""Several chat sources read as one (`chatloop serve --source A --source B ...`).

`MergedSource` runs one reader task per source into one bounded queue, so one bot (one
model, one decision log) decides the chat of every platform. Each message keeps its own
platform and channel: actions go to the platform the message came from, and the rules'
history windows (`ScopedRules`) are kept per (platform, channel).

A source that fails (a SourceError after its own reconnects, or any other error) does not
stop the others: it is logged, counted (`stats["source_failures"]`, `up()` is False) and
opened again after its own backoff. A source that ends (a replay file) is done; the merged
source ends when every source has ended.

`wire(source, on_platform_moderation)` sets a source's optional `on_platform_moderation`
callback (serving.sources.moderation) when the source has that attribute.
"""
from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
from typing import AsyncIterator, Callable

from serving.message import ChatMessage
from serving.rules import Rules
from serving.sources.base import Backoff

log = logging.getLogger(__name__)
_END = object()


def wire(source, on_platform_moderation: Callable | None) -> bool:
    """Hand platform moderation events of `source` to the callback; False when the source
    has no such hook (it reports none)."""
    if on_platform_moderation is None or not hasattr(source, "on_platform_moderation"):
        return False
    source.on_platform_moderation = on_platform_moderation
    return True


class ScopedRules(Rules):
    """serving.rules.Rules with the per-user and per-channel windows keyed by
    (platform, channel): the same channel name on two platforms is two channels."""

    def _history(self, message: ChatMessage, key: str, ev) -> None:
        scoped = dataclasses.replace(message, channel=f"{message.platform}:{message.channel}")
        super()._history(scoped, key, ev)


class MergedSource:
    """Messages of several sources in arrival order; see the module docstring.

    `names`: one label per source for logs and metrics (default `platform:channel`).
    `backoff`: a factory for each source's restart backoff after a failure.
    `queue_size`: messages buffered between the readers and the bot.
    """

    platform = "multi"

    def __init__(self, sources: list, *, names: list[str] | None = None,
                 backoff: Callable[[], Backoff] = lambda: Backoff(1.0, 2.0, 60.0),
                 queue_size: int = 1000):
        if not sources:
            raise ValueError("MergedSource needs at least one source")
        self.sources = list(sources)
        self.names = list(names) if names else [
            f"{getattr(s, 'platform', '?')}:{getattr(s, 'channel', i)}"
            for i, s in enumerate(self.sources)]
        self.backoff = backoff
        self.queue_size = queue_size
        self.failures: collections.Counter[str] = collections.Counter()
        self.running: dict[str, bool] = {name: False for name in self.names}

    @property
    def all_replay(self) -> bool:
        """Every source is a replay (the bot may then wait for room instead of dropping)."""
        return all(getattr(s, "platform", "") == "replay" for s in self.sources)

    @property
    def stats(self) -> collections.Counter:
        """The sources' frame counters added up, plus `source_failures`."""
        total: collections.Counter[str] = collections.Counter()
        for source in self.sources:
            total.update(getattr(source, "stats", {}))
        total["source_failures"] = sum(self.failures.values())
        return total

    def up(self) -> dict[str, bool]:
        """Per source name: reading now (not ended, not waiting to restart; a network source
        connected, past its handshake)."""
        return {name: self.running[name] and getattr(source, "reading", True)
                for name, source in zip(self.names, self.sources)}

    def wire(self, on_platform_moderation: Callable | None) -> list[str]:
        """`wire` every source; returns the names of those that report moderation."""
        return [name for name, source in zip(self.names, self.sources)
                if wire(source, on_platform_moderation)]

    async def _pump(self, name: str, source, queue: asyncio.Queue) -> None:
        backoff = self.backoff()
        try:
            while True:
                self.running[name] = True
                try:
                    async for message in source:
                        backoff.reset()
                        await queue.put(message)
                    log.info("source %s ended", name)
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - one source must not stop the others
                    self.running[name] = False
                    self.failures[name] += 1
                    delay = backoff.next_delay()
                    log.error("source %s failed (%s: %s); the other sources go on; "
                              "restarting it in %.1fs", name, type(exc).__name__, exc, delay)
                    await asyncio.sleep(delay)
        finally:
            self.running[name] = False
            await queue.put(_END)

    async def stream(self) -> AsyncIterator[ChatMessage]:
        queue: asyncio.Queue = asyncio.Queue(self.queue_size)
        tasks = [asyncio.create_task(self._pump(name, source, queue), name=f"source {name}")
                 for name, source in zip(self.names, self.sources)]
        left = len(tasks)
        try:
            while left:
                item = await queue.get()
                if item is _END:
                    left -= 1
                else:
                    yield item
        finally:
            for task in tasks:
                task.cancel()
            # A pump cancelled while the queue is full waits to put its end marker: drain.
            while not all(task.done() for task in tasks):
                while not queue.empty():
                    queue.get_nowait()
                await asyncio.sleep(0)
            await asyncio.gather(*tasks, return_exceptions=True)

    def __aiter__(self) -> AsyncIterator[ChatMessage]:
        return self.stream()
