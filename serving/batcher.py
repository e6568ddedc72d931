"""Micro-batcher: up to `max_batch` messages or `max_wait_ms` after the oldest, whichever first.

The queue is bounded. Two ways in:
- `await put(item)` waits for room (backpressure; used by replay, which can slow down);
- `offer(item)` never waits (live chat cannot be slowed). OVERLOAD POLICY when full: drop
  the oldest queued message that does not look like a question; if every queued message looks
  like a question, drop the newcomer unless it is one too, then drop the oldest question.
  Questions are the last to go. Every drop is counted in `drops` ("message" / "question").
"""
from __future__ import annotations

import asyncio
import collections
import re
from typing import AsyncIterator, Callable, Generic, TypeVar

T = TypeVar("T")
QUESTION_HINT = re.compile(r"[?？]|(나요|까요|어때|뭐|언제|어디|몇|왜|누구|어떻게|있어요|해요)\s*$")


def looks_like_question(text: str) -> bool:
    """A cheap guess, before the model, used only to pick what to drop under overload."""
    return bool(QUESTION_HINT.search(text.strip()))


class MicroBatcher(Generic[T]):
    def __init__(self, max_batch: int = 32, max_wait_ms: float = 25, queue_size: int = 2000,
                 is_question: Callable[[T], bool] = lambda item: False):
        if max_batch < 1 or queue_size < max_batch or max_wait_ms < 0:
            raise ValueError("need max_batch >= 1, queue_size >= max_batch, max_wait_ms >= 0")
        self.max_batch, self.max_wait, self.queue_size = max_batch, max_wait_ms / 1000, queue_size
        self.is_question = is_question
        self.queue: collections.deque[tuple[float, T]] = collections.deque()
        self.drops: collections.Counter[str] = collections.Counter()
        self.closed = False
        self._changed = asyncio.Event()

    def __len__(self) -> int:
        return len(self.queue)

    def _append(self, item: T) -> None:
        self.queue.append((asyncio.get_running_loop().time(), item))
        self._changed.set()

    async def put(self, item: T) -> None:
        """Enqueue, waiting while the queue is full."""
        while len(self.queue) >= self.queue_size and not self.closed:
            self._changed.clear()
            await self._changed.wait()
        self._append(item)

    def offer(self, item: T) -> T | None:
        """Enqueue without waiting; returns the item dropped by the overload policy, if any."""
        dropped = None
        if len(self.queue) >= self.queue_size:
            victim = next((i for i, (_, it) in enumerate(self.queue)
                           if not self.is_question(it)), None)
            if victim is None and not self.is_question(item):
                self.drops["message"] += 1
                return item
            victim = victim or 0
            dropped = self.queue[victim][1]
            del self.queue[victim]
            self.drops["question" if self.is_question(dropped) else "message"] += 1
        self._append(item)
        return dropped

    def close(self) -> None:
        """No more items; `batches()` ends after the queue is drained."""
        self.closed = True
        self._changed.set()

    async def _wait(self, timeout: float | None) -> None:
        self._changed.clear()
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    async def batches(self) -> AsyncIterator[list[T]]:
        loop = asyncio.get_running_loop()
        while True:
            while not self.queue and not self.closed:
                await self._wait(None)
            if not self.queue:
                return
            deadline = self.queue[0][0] + self.max_wait
            while len(self.queue) < self.max_batch and not self.closed:
                left = deadline - loop.time()
                if left <= 0:
                    break
                await self._wait(left)
            n = min(self.max_batch, len(self.queue))
            batch = [self.queue.popleft()[1] for _ in range(n)]
            self._changed.set()  # wake a waiting put()
            yield batch
