"""The one thread that runs the model: chat decisions first, answers in the gaps.

Scoring a micro-batch and generating an answer both want every core; run side by side they
slow each other down, and a 40-token answer (seconds on a CPU) would hold up the decisions
of every message behind it. So every model call goes through one thread with two queues:
`urgent` (label scoring) is always taken first; a `background` job (an answer) gets a
`between_steps` callback that it calls between generated tokens, and that callback runs the
urgent jobs that arrived meanwhile. A decision then waits at most one token's time for an
answer in progress.

One thread for the whole process matters on a CPU for a second reason: torch's OpenMP pool
belongs to the thread that calls it, and while a second pool exists (a thread that ran torch
and is still alive) libgomp counts more threads than cores and stops spin-waiting, which
costs a quarter of the scoring speed (bench/README.md). So serving runs every torch call on
this thread, except model loads, which run on a thread that exits afterwards (`in_fresh_thread`).
"""
from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

from chatloop.errors import ChatloopError

log = logging.getLogger(__name__)


class WorkerClosed(ChatloopError, RuntimeError):
    """The model worker was closed: a queued job was dropped or a background job cut short."""


def in_fresh_thread(fn: Callable, *args: Any) -> Any:
    """`fn(*args)` on a new thread that ends with it (its OpenMP pool goes with it); blocks,
    returns the result or raises what `fn` raised."""
    with ThreadPoolExecutor(1, thread_name_prefix="chatloop-model-load") as once:
        return once.submit(fn, *args).result()


class ModelWorker:
    """Runs callables on one thread; `urgent` before `background` (see the module doc)."""

    def __init__(self, name: str = "chatloop-model"):
        self._urgent: queue.SimpleQueue = queue.SimpleQueue()
        self._background: queue.SimpleQueue = queue.SimpleQueue()
        self._ready = threading.Semaphore(0)
        self._closed = False
        self.preemptions = 0          # urgent jobs run inside a background job (between tokens)
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.thread.start()

    def urgent(self, fn: Callable, *args: Any) -> asyncio.Future:
        """Run `fn(*args)` ahead of any background job; an awaitable of its result."""
        return self._submit(self._urgent, fn, args)

    def background(self, fn: Callable, *args: Any) -> asyncio.Future:
        """Run `fn(*args, between_steps=callback)` when no urgent job waits; `fn` calls the
        callback between its steps (tokens) to let urgent jobs through."""
        return self._submit(self._background, fn, args)

    def call(self, fn: Callable, *args: Any) -> Any:
        """`fn(*args)` as an urgent job, from synchronous code: blocks, returns its result."""
        return self._put(self._urgent, fn, args).result()

    def _submit(self, q: queue.SimpleQueue, fn: Callable, args: tuple) -> asyncio.Future:
        return asyncio.wrap_future(self._put(q, fn, args))

    def _put(self, q: queue.SimpleQueue, fn: Callable, args: tuple) -> Future:
        if self._closed:
            raise WorkerClosed("the model worker is closed")
        future: Future = Future()
        q.put((future, fn, args))
        self._ready.release()
        return future

    def close(self, timeout: float = 60.0) -> None:
        """Stop and join the thread: jobs not started fail with `WorkerClosed`, a background
        job stops at its next step, an urgent job in progress finishes.

        Joining matters at exit: a daemon thread still inside torch when the interpreter
        finalizes is unwound through C++ frames and aborts the process ("terminate called
        without an active exception", exit 134)."""
        self._closed = True
        self._ready.release()
        if threading.current_thread() is not self.thread:
            self.thread.join(timeout)
            self._drop_queued()         # a job that raced past the closed check
            if self.thread.is_alive():
                log.warning("the model thread did not stop within %.0f s", timeout)

    # ------------------------------------------------------------------ worker thread
    def _loop(self) -> None:
        while True:
            self._ready.acquire()
            if self._closed:
                self._drop_queued()
                return
            job = self._take(self._urgent)
            if job is not None:
                self._run(*job)
                continue
            job = self._take(self._background)
            if job is not None:
                future, fn, args = job
                self._run(future, fn, args, between_steps=self._run_urgent)

    def _drop_queued(self) -> None:
        for q in (self._urgent, self._background):
            while (job := self._take(q)) is not None:
                if job[0].set_running_or_notify_cancel():
                    job[0].set_exception(WorkerClosed("the model worker is closed"))

    def _run_urgent(self) -> None:
        """Between two steps of a background job: run every urgent job waiting, or stop the
        job (raise `WorkerClosed`) once the worker is closed."""
        if self._closed:
            raise WorkerClosed("the model worker closed during a background job")
        while (job := self._take(self._urgent)) is not None:
            self._ready.acquire()       # it was counted when submitted
            self.preemptions += 1
            self._run(*job)

    @staticmethod
    def _take(q: queue.SimpleQueue):
        try:
            return q.get_nowait()
        except queue.Empty:
            return None

    @staticmethod
    def _run(future: Future, fn: Callable, args: tuple, **kwargs) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
            future.set_exception(exc)
