"""The decision log: one record per message, to the feedback service and optionally a file.

Every record is first appended to a spool file (JSONL in the state folder), then POSTed in
bulk (`POST {CHATLOOP_FEEDBACK_URL}/v1/decisions`, `{"decisions": [...]}`, bearer token
CHATLOOP_FEEDBACK_TOKEN) and only removed from the spool once the service has accepted it.
While the service is unreachable records stay in the spool and go out on a later flush, in
this run or the next: nothing is lost, even across a crash. The feedback service stores a
message's decision once (platform, channel, message id), so a retried batch is harmless.
A record the service rejects as invalid (HTTP 400/413/422; a refused batch is retried one
record at a time to find it) is moved to `decisions-rejected.jsonl` beside the spool, so it
cannot block the ones after it. `out_path` (`--decisions-out`) also
gets every record as a JSONL line.

URL policy (`check_service_url`): https, or plain http to loopback; plain http to an
in-cluster service name (`*.svc`, `*.svc.cluster.local`) only with CHATLOOP_ALLOW_CLUSTER_HTTP=1,
for a service mesh that encrypts pod-to-pod traffic (mTLS) itself. TLS is never unverified.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

import httpx

from components import jsonl
from components.config import state_dir
from chatloop import urls
from serving.sources.base import SourceError

log = logging.getLogger(__name__)
URL_ENV, TOKEN_ENV = "CHATLOOP_FEEDBACK_URL", "CHATLOOP_FEEDBACK_TOKEN"
MAX_BATCH = 1000          # the feedback service's limit per request
REJECTED = {400, 413, 422}
def check_service_url(url: str, allow_cluster_http: bool | None = None) -> str:
    """chatloop.urls.check_service_url, raising SourceError as the sources do."""
    try:
        return urls.check_service_url(url, allow_cluster_http)
    except urls.InsecureUrl as exc:
        raise SourceError(str(exc)) from None


class DecisionLog:
    def __init__(self, url: str | None = None, token: str | None = None,
                 out_path: str | Path | None = None, spool_path: str | Path | None = None,
                 flush_seconds: float = 2.0, http_timeout: float = 10.0,
                 max_text_chars: int | None = None):
        """`max_text_chars`: the feedback service's limit per message text (params
        feedback.max_text_chars, read from params.yaml when None); longer texts are cut."""
        self.url = (url if url is not None else os.environ.get(URL_ENV) or "").rstrip("/")
        if self.url:
            check_service_url(self.url + "/v1/decisions")
        self.token = token if token is not None else os.environ.get(TOKEN_ENV)
        self.spool = Path(spool_path) if spool_path else state_dir() / "decisions-spool.jsonl"
        self.rejected = self.spool.with_name("decisions-rejected.jsonl")
        self.flush_seconds, self.http_timeout = flush_seconds, http_timeout
        if max_text_chars is None:
            from components.config import load_params
            max_text_chars = load_params()["feedback"]["max_text_chars"]
        self.max_text_chars = int(max_text_chars)
        self.out = open(out_path, "w", encoding="utf-8") if out_path else None
        self.count = 0
        self.sent = 0
        self.failures = 0

    def add(self, records: list[dict]) -> None:
        """Write records to the output file and (with a feedback URL) the spool, durably."""
        lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        if self.out:
            self.out.write(lines)
            self.out.flush()
        if self.url:
            with open(self.spool, "a", encoding="utf-8") as fh:
                fh.write(lines)
                fh.flush()
                os.fsync(fh.fileno())
        self.count += len(records)

    def pending(self) -> int:
        """Records in the spool not yet accepted by the feedback service."""
        if not self.spool.exists():
            return 0
        with open(self.spool, encoding="utf-8") as fh:
            return sum(1 for line in fh if line.strip())

    def _drop_first(self, n: int) -> None:
        """Remove the first n records from the spool (atomic rename; no await inside)."""
        lines = self.spool.read_text(encoding="utf-8").splitlines()
        jsonl.write_lines_atomic(self.spool, lines[n:])

    async def _post(self, client: httpx.AsyncClient, lines: list[str]) -> str:
        """POST one batch: 'ok', 'rejected' (invalid: set aside) or the reason it failed."""
        batch = []
        for line in lines:
            record = json.loads(line)
            record["text"] = record["text"][:self.max_text_chars]
            batch.append(record)
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = await client.post(f"{self.url}/v1/decisions", headers=headers,
                                         json={"decisions": batch})
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"
        if response.status_code in REJECTED:
            if len(lines) > 1:  # find the bad records: the others still go through
                for line in lines:
                    result = await self._post(client, [line])
                    if result not in ("ok", "rejected"):
                        return result
                return "ok"
            log.error("feedback service rejected a decision (HTTP %s: %.300s); moved to %s",
                      response.status_code, response.text, self.rejected)
            with open(self.rejected, "a", encoding="utf-8") as fh:
                fh.write(lines[0] + "\n")
            return "rejected"
        if response.status_code >= 300:
            return f"HTTP {response.status_code}"
        self.sent += len(lines)
        return "ok"

    async def flush(self) -> bool:
        """Send the spool in batches; True when it is empty afterwards."""
        if not self.url:
            return True
        async with httpx.AsyncClient(timeout=self.http_timeout) as client:
            while self.spool.exists():
                lines = self.spool.read_text(encoding="utf-8").splitlines()[:MAX_BATCH]
                if not lines:
                    return True
                result = await self._post(client, lines)
                if result not in ("ok", "rejected"):
                    return self._failed(result)
                self._drop_first(len(lines))
        return True

    def _failed(self, why: str) -> bool:
        self.failures += 1
        log.warning("feedback service unreachable (%s); %d decisions kept in %s",
                    why, self.pending(), self.spool)
        return False

    async def run(self) -> None:
        """Flush every `flush_seconds` until cancelled."""
        while True:
            await asyncio.sleep(self.flush_seconds)
            await self.flush()

    async def close(self) -> bool:
        """Final flush; what could not be sent stays in the spool for the next run."""
        try:
            return await self.flush()
        finally:
            if self.out:
                self.out.close()
