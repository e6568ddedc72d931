"""Relays human moderators' platform actions to the feedback service, which turns the ones
that contradict a `normal` decision into review items (reason `platform-moderation`).

A relay is the sources' `on_platform_moderation(event)` callback (the event dict of
serving.sources.moderation). Each event is appended to a spool file (JSONL, fsynced) and
POSTed in bulk (`POST {CHATLOOP_FEEDBACK_URL}/v1/platform-events`, `{"events": [...]}`,
service token CHATLOOP_FEEDBACK_TOKEN) every `flush_seconds`; it leaves the spool only
once the service accepted it, so an unreachable service loses nothing. An event the
service refuses as invalid (400/413/422) is moved to `platform-events-rejected.jsonl`.
The service matches an event with decisions that reach it later too, so an event may be
sent before the decision it names. Without a feedback URL events are only logged.
"""
from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
from pathlib import Path

import httpx

from components import jsonl
from components.config import state_dir
from serving.decisions import TOKEN_ENV, URL_ENV
from serving.sources.base import check_url

log = logging.getLogger(__name__)
MAX_BATCH = 1000
REJECTED = {400, 413, 422}


def normalise(event: dict) -> dict:
    """The event as the feedback service takes it: `user` (or a source's `user_id`) and
    `kind` (a source that reports only hidden messages, e.g. a CHZZK blind, sends none:
    a removed message is a delete)."""
    kind = event.get("kind") or ("delete" if event.get("message_id") else "clear")
    user = event.get("user") if event.get("user") is not None else event.get("user_id")
    return {"platform": event.get("platform"), "channel": event.get("channel"),
            "message_id": event.get("message_id"), "user": user, "kind": kind,
            "duration_s": event.get("duration_s"), "ts": event.get("ts")}


class ModerationRelay:
    def __init__(self, url: str | None = None, token: str | None = None,
                 spool_path: str | Path | None = None, flush_seconds: float = 2.0,
                 http_timeout: float = 10.0):
        self.url = (url if url is not None else os.environ.get(URL_ENV) or "").rstrip("/")
        if self.url:
            check_url(self.url + "/v1/platform-events")
        self.token = token if token is not None else os.environ.get(TOKEN_ENV)
        self.spool = Path(spool_path) if spool_path else state_dir() / "platform-events-spool.jsonl"
        self.rejected = self.spool.with_name("platform-events-rejected.jsonl")
        self.flush_seconds, self.http_timeout = flush_seconds, http_timeout
        self.stats: collections.Counter[str] = collections.Counter()   # seen, sent, rejected
        self._lock = asyncio.Lock()

    def __call__(self, event: dict) -> None:
        """The sources' callback: keep the event (durably) for the next flush."""
        self.stats["seen"] += 1
        event = normalise(event)
        log.info("platform moderation %s:%s %s message=%s user=%s", event.get("platform"),
                 event.get("channel"), event.get("kind"), event.get("message_id"),
                 event.get("user"))
        if not self.url:
            return
        with open(self.spool, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(event, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def pending(self) -> int:
        if not self.spool.exists():
            return 0
        with open(self.spool, encoding="utf-8") as fh:
            return sum(1 for line in fh if line.strip())

    async def _post(self, client: httpx.AsyncClient, lines: list[str]) -> str:
        """'ok', 'rejected' (set aside) or why it failed."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = await client.post(f"{self.url}/v1/platform-events", headers=headers,
                                         json={"events": [json.loads(x) for x in lines]})
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if response.status_code in REJECTED:
            if len(lines) > 1:      # find the bad ones; the others still go through
                for line in lines:
                    result = await self._post(client, [line])
                    if result not in ("ok", "rejected"):
                        return result
                return "ok"
            log.error("feedback service rejected a platform event (HTTP %s: %.300s); moved "
                      "to %s", response.status_code, response.text, self.rejected)
            with open(self.rejected, "a", encoding="utf-8") as fh:
                fh.write(lines[0] + "\n")
            self.stats["rejected"] += 1
            return "rejected"
        if response.status_code >= 300:
            return f"HTTP {response.status_code}"
        flagged = response.json().get("flagged") or []
        if flagged:
            log.info("platform moderation: decisions %s flagged for review", flagged)
        self.stats["sent"] += len(lines)
        return "ok"

    async def flush(self) -> bool:
        """Send the spool; True when it is empty afterwards."""
        if not self.url:
            return True
        async with self._lock, httpx.AsyncClient(timeout=self.http_timeout) as client:
            while self.spool.exists():
                lines = [x for x in self.spool.read_text(encoding="utf-8").splitlines()
                         if x.strip()][:MAX_BATCH]
                if not lines:
                    return True
                result = await self._post(client, lines)
                if result not in ("ok", "rejected"):
                    log.warning("feedback service unreachable (%s); %d platform events kept "
                                "in %s", result, self.pending(), self.spool)
                    return False
                jsonl.write_lines_atomic(self.spool, [
                    x for x in self.spool.read_text(encoding="utf-8").splitlines()
                    if x.strip()][len(lines):])
        return True

    async def run(self) -> None:
        """Flush every `flush_seconds` until cancelled."""
        while True:
            await asyncio.sleep(self.flush_seconds)
            await self.flush()

    async def close(self) -> bool:
        return await self.flush()
