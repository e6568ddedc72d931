"""Holds the serving model and hot-swaps it when the registry alias moves.

`ModelHost(uri)` loads models:/NAME@ALIAS, models:/NAME/VERSION or a local model dir through
components.model_registry. `poll()` runs forever: every `poll_seconds` it resolves the URI (one
cheap registry call) and, when the version changed, loads the new one on a thread of its own
while the old one keeps serving; the swap is one reference assignment, so a batch always
runs start to finish on one model and no message waits for, or is lost to, a reload.
A version that fails to load is logged and the old one keeps serving; it is retried only
when the alias moves again. The host also owns the one thread that runs the model
(`worker`, serving.model_worker): the bot's scoring and answers and the HTTP API's all go
through it; loads run on a thread of their own that ends with the load.

Every version change it sees is logged (`alias moved: old -> new at <UTC time>`, with who
promoted it when `chatloop promote` recorded that, else a note that the alias was moved
elsewhere, e.g. in the MLflow UI, which keeps no who/when) and recorded on the new registry
version as tags `served_since` (UTC time this server first served it; the first server to
see it sets it) and `served_after` (the version it replaced). A registry that refuses the
tag write (read-only credentials) only costs a warning.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from pathlib import Path

from components import model_registry as registry
from serving.model_worker import ModelWorker, in_fresh_thread

log = logging.getLogger(__name__)


def model_name(uri: str) -> str:
    """`chatloop` for models:/chatloop@champion; the folder name for a local model dir."""
    if uri.startswith("models:/"):
        return registry.parse_uri(uri)[0]
    return Path(uri).resolve().name


class ModelHost:
    def __init__(self, uri: str, poll_seconds: float = 30.0, device: str | None = None):
        self.uri, self.poll_seconds, self.device = uri, poll_seconds, device
        self.name = model_name(uri)
        self.model = None
        self.version: str | None = None
        self.failed_version: str | None = None
        self.reloads = 0
        self.load_errors = 0
        self._lock = threading.Lock()
        self._worker: ModelWorker | None = None
        self._stop = None           # weakref.finalize: ends the model thread once

    @property
    def worker(self) -> ModelWorker:
        """The thread every model call goes through (started on first use)."""
        with self._lock:
            if self._worker is None:
                self._worker = ModelWorker()
                # close(), or the host dropped without it, ends the thread (and OpenMP pool)
                self._stop = weakref.finalize(self, self._worker.close)
            return self._worker

    def close(self) -> None:
        """Stop and join the model thread (ModelWorker.close: an answer in progress ends at
        its next token, calls not started fail with WorkerClosed)."""
        if self._stop is not None:
            self._stop()

    def load(self) -> None:
        """Load the model the URI points at now (the first load: errors propagate)."""
        model, version = in_fresh_thread(registry.load_model, self.uri, self.device)
        self._swap(model, version)

    def _swap(self, model, version: str) -> None:
        with self._lock:
            old = self.version
            self.model, self.version = model, version
        if old is not None:
            self.reloads += 1
        if old != version:
            self._record_change(old, version)

    def _record_change(self, old: str | None, new: str) -> None:
        """Log a version change (old -> new, when, by whom if known); tag the new version."""
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if not self.uri.startswith("models:/"):
            log.info("model %s: serving %s -> %s at %s", self.name, old or "-", new, when)
            return
        name, alias, _ = registry.parse_uri(self.uri)
        try:
            c = registry.client()
            tags = c.get_model_version(name, new).tags
            who = tags.get(f"{alias}.promoted_by") if alias else None
            origin = (f"promoted by {who} at {tags.get(f'{alias}.promoted_at')}" if who else
                      "moved outside `chatloop promote` (e.g. the MLflow UI): no who/when record"
                      if alias else "pinned version")
            if "served_since" not in tags:
                c.set_model_version_tag(name, new, "served_since", when)
                c.set_model_version_tag(name, new, "served_after", old or "none")
        except Exception as exc:  # noqa: BLE001 - the record must never stop serving
            origin = f"not recorded in the registry ({type(exc).__name__}: {exc})"
            log.warning("model %s: cannot tag version %s as served: %s", self.name, new, exc)
        if old is None:
            log.info("model %s: serving %s = version %s at %s (%s)", self.name, self.uri, new,
                     when, origin)
        else:
            log.info("model %s: %s moved: version %s -> %s at %s (%s)", self.name,
                     alias or self.uri, old, new, when, origin)

    def current(self):
        """(model, version) as one consistent snapshot for a batch."""
        with self._lock:
            return self.model, self.version

    def check(self) -> bool:
        """One poll: swap in the version the URI points at if it is new; True if swapped."""
        try:
            version = registry.resolve_version(self.uri)
        except Exception as exc:  # noqa: BLE001 - registry down: keep serving what we have
            log.warning("model %s: cannot resolve %s (%s); keeping version %s",
                        self.name, self.uri, exc, self.version)
            return False
        if version in (self.version, self.failed_version):
            return False
        try:
            model, loaded = in_fresh_thread(registry.load_model, self.uri, self.device)
        except Exception as exc:  # noqa: BLE001 - any broken artifact must not stop serving
            self.failed_version = version
            self.load_errors += 1
            log.error("model %s: version %s failed to load (%s: %s); version %s keeps serving",
                      self.name, version, type(exc).__name__, exc, self.version)
            return False
        self.failed_version = None
        self._swap(model, loaded)
        return True

    async def poll(self) -> None:
        """Check every `poll_seconds` until cancelled (loads run in a thread)."""
        while True:
            await asyncio.sleep(self.poll_seconds)
            await asyncio.to_thread(self.check)
