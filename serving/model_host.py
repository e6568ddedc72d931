"""Holds the serving model and hot-swaps it when the registry alias moves.

`ModelHost(uri)` loads models:/NAME@ALIAS, models:/NAME/VERSION or a local model dir through
components.registry. `poll()` runs forever: every `poll_seconds` it resolves the URI (one
cheap registry call) and, when the version changed, loads the new one in a worker thread
while the old one keeps serving; the swap is one reference assignment, so a batch always
runs start to finish on one model and no message waits for, or is lost to, a reload.
A version that fails to load is logged and the old one keeps serving; it is retried only
when the alias moves again.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

from components import registry

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

    def load(self) -> None:
        """Load the model the URI points at now (the first load: errors propagate)."""
        model, version = registry.load_model(self.uri, device=self.device)
        self._swap(model, version)

    def _swap(self, model, version: str) -> None:
        with self._lock:
            old = self.version
            self.model, self.version = model, version
        if old is not None:
            self.reloads += 1
            log.info("model %s: switched version %s -> %s", self.name, old, version)

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
            model, loaded = registry.load_model(self.uri, device=self.device)
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
