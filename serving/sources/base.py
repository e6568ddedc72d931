"""What every network source shares: URL policy, bounded reconnect with backoff, frame counters.

A source is an async iterator of ChatMessage. Network sources implement `_session()`, one
connection's worth of messages; `NetworkSource.stream()` wraps it in reconnects with
exponential backoff and jitter, bounded by `max_failures` consecutive failed attempts.
Malformed and unknown frames are counted in `stats` and skipped, never raised.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import random
from typing import AsyncIterator

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, WebSocketException

from chatloop import urls
from chatloop.errors import ChatloopError
from chatloop.urls import is_loopback  # noqa: F401 - sources import it from here
from serving.message import ChatMessage

log = logging.getLogger(__name__)



class SourceError(ChatloopError):
    """A source that cannot go on (bad spec, reconnects exhausted)."""


class Unavailable(ChatloopError):
    """The channel cannot be joined right now (offline, lookup refused): retried with backoff."""


def check_url(url: str) -> str:
    """chatloop.urls.check_url, raising SourceError (a source cannot start on such a URL)."""
    try:
        return urls.check_url(url)
    except urls.InsecureUrl as exc:
        raise SourceError(str(exc)) from None


# What a dropped or refused connection raises; all lead to a reconnect.
RETRIED = (OSError, asyncio.TimeoutError, WebSocketException, InvalidHandshake, httpx.HTTPError,
           Unavailable)


class Backoff:
    """Exponential backoff with jitter: delays base, base*factor, ... capped at `cap`.

    Each delay is drawn uniformly from [d/2, d] ("equal jitter") so reconnecting clients
    spread out but never retry instantly.
    """

    def __init__(self, base: float = 1.0, factor: float = 2.0, cap: float = 60.0,
                 rng: random.Random | None = None):
        self.base, self.factor, self.cap = base, factor, cap
        self.rng = rng or random.Random()
        self.attempt = 0

    def next_delay(self) -> float:
        delay = min(self.cap, self.base * self.factor ** self.attempt)
        self.attempt += 1
        return self.rng.uniform(delay / 2, delay)

    def reset(self) -> None:
        self.attempt = 0


def json_object(response: httpx.Response, url: str) -> dict:
    """The response's JSON object; an HTTP error, non-JSON or another JSON type is retried."""
    response.raise_for_status()
    try:
        data = response.json()
    except ValueError:
        raise Unavailable(f"{url}: response is not JSON") from None
    if not isinstance(data, dict):
        raise Unavailable(f"{url}: expected a JSON object, got {type(data).__name__}")
    return data


class NetworkSource:
    """Base for live platform sources: reconnect loop plus per-frame counters."""

    platform = ""

    def __init__(self, channel: str, *, backoff: Backoff | None = None, max_failures: int = 10,
                 open_timeout: float = 10.0):
        self.channel = channel
        self.backoff = backoff or Backoff()
        self.max_failures = max_failures
        self.open_timeout = open_timeout
        # chat, skipped (known non-chat events), unknown, malformed, reconnects
        self.stats: collections.Counter[str] = collections.Counter()
        self._seq = 0
        self._failures = 0
        self.reading = False    # connected and past the handshake (health: `up`, metrics)

    def _session(self) -> AsyncIterator[ChatMessage]:
        """One connection: handshake, then yield chat until the connection ends."""
        raise NotImplementedError

    def connected(self) -> None:
        """Called by `_session` after a successful handshake: resets the backoff."""
        self.backoff.reset()
        self._failures = 0
        self.reading = True
        log.info("%s:%s connected", self.platform, self.channel)

    def count(self, kind: str, detail: object = "") -> None:
        """Count a frame of `kind`; malformed and unknown ones are logged at debug level."""
        self.stats[kind] += 1
        if kind in ("malformed", "unknown"):
            log.debug("%s:%s %s frame: %.120r", self.platform, self.channel, kind, detail)

    def ws_connect(self, url: str, **kwargs):
        """A websocket connection (TLS verified for wss://; ws:// only to loopback)."""
        return connect(check_url(url), open_timeout=self.open_timeout, **kwargs)

    async def get_json(self, url: str, *, method: str = "GET", **kwargs) -> dict:
        """One HTTP lookup returning a JSON object (TLS verified); errors are retried."""
        async with httpx.AsyncClient(timeout=self.open_timeout) as client:
            response = await client.request(method, check_url(url), **kwargs)
            return json_object(response, url)

    def next_id(self) -> str:
        """A message id for platforms whose chat frames carry none."""
        self._seq += 1
        return f"{self.platform}-{self.channel}-{self._seq}"

    async def stream(self) -> AsyncIterator[ChatMessage]:
        """Messages for as long as the channel is reachable; reconnects on drops."""
        self._failures = 0
        while True:
            try:
                async for message in self._session():
                    self.stats["chat"] += 1
                    yield message
                reason: object = "connection closed"
            except RETRIED as exc:
                reason = exc
            finally:
                self.reading = False
            self._failures += 1
            if self._failures > self.max_failures:
                raise SourceError(f"{self.platform}:{self.channel}: giving up after "
                                  f"{self.max_failures} failed reconnects ({reason})")
            self.stats["reconnects"] += 1
            delay = self.backoff.next_delay()
            log.warning("%s:%s disconnected (%s); reconnecting in %.2fs",
                        self.platform, self.channel, reason, delay)
            await asyncio.sleep(delay)

    def __aiter__(self) -> AsyncIterator[ChatMessage]:
        return self.stream()
