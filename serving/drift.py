"""Live label drift: the serving version's recent label shares against its training shares.

Every decision record the bot logs is observed (`DriftMonitor.observe`): a window of the
last `window` decisions of the version serving now (a new version starts a new window)
gives the live label shares and the mean confidence, exported as Prometheus metrics
(serving.metrics). `check()` (every `check_seconds` in `run()`) compares the live shares
with the training label shares recorded on the model version at registration (MLflow tag
`train_label_shares`, components.register) by the Jensen-Shannon distance (base 2: 0 the
same, 1 disjoint). Once the window holds `min_decisions`, a distance above
`max_js_distance` is drift: the metric `chatloop_label_drift_exceeded` is 1, a warning is
logged once per episode, and `on_drift(snapshot)` is called once per version (e.g.
`retrain_trigger`: the feedback trigger's local command or KFP submit). A version without
recorded shares (a local model dir) gets the live metrics but no distance.

Settings: params.yaml `serving.drift` (window, min_decisions, max_js_distance,
check_seconds, trigger).
"""
from __future__ import annotations

import asyncio
import collections
import json
import logging
import math
import os
from pathlib import Path
from typing import Callable

from components.labels import LABELS

log = logging.getLogger(__name__)


def js_distance(p: dict[str, float], q: dict[str, float]) -> float:
    """Jensen-Shannon distance (square root of the divergence, log base 2) of two label
    distributions over LABELS; each is normalised first."""
    def norm(d):
        total = sum(max(0.0, float(d.get(label, 0.0))) for label in LABELS)
        return [max(0.0, float(d.get(label, 0.0))) / total if total else 1 / len(LABELS)
                for label in LABELS]
    a, b = norm(p), norm(q)
    m = [(x + y) / 2 for x, y in zip(a, b)]

    def kl(x, y):
        return sum(xi * math.log2(xi / yi) for xi, yi in zip(x, y) if xi > 0)
    return math.sqrt(max(0.0, (kl(a, m) + kl(b, m)) / 2))


def registry_shares(model_name: str) -> Callable[[str], dict | None]:
    """version -> the `train_label_shares` tag of that registered version (None when the
    version is a local dir, has no tag, or the registry cannot say). Blocking."""
    def lookup(version: str) -> dict | None:
        if not version or version == "local":
            return None
        from components import model_registry as registry
        try:
            tag = registry.client().get_model_version(model_name, version).tags.get(
                "train_label_shares")
            return json.loads(tag) if tag else None
        except Exception as exc:  # noqa: BLE001 - registry down: no distance this time
            log.warning("drift: cannot read train_label_shares of %s v%s (%s)", model_name,
                        version, exc)
            return None
    return lookup


class DriftMonitor:
    """See the module docstring. `shares_for(version)` returns the training label shares
    (blocking; called from a worker thread by `run`)."""

    def __init__(self, *, window: int = 1000, min_decisions: int = 200,
                 max_js_distance: float = 0.2, check_seconds: float = 30.0,
                 shares_for: Callable[[str], dict | None] | None = None,
                 on_drift: Callable[[dict], object] | None = None):
        self.window, self.min_decisions = int(window), int(min_decisions)
        self.max_js_distance, self.check_seconds = float(max_js_distance), float(check_seconds)
        self.shares_for, self.on_drift = shares_for, on_drift
        self.version: str | None = None
        self.recent: collections.deque[tuple[str, float]] = collections.deque(maxlen=self.window)
        self.train: dict[str, dict | None] = {}      # version -> shares (None: none recorded)
        self.distance: float | None = None
        self.exceeded = False
        self.alerts = 0                               # drift episodes seen
        self.triggered: set[str] = set()

    def observe(self, records: list[dict]) -> None:
        """Add decision records (the bot's decision-log records) to the window."""
        for record in records:
            label = record.get("label")
            if label not in LABELS:
                continue
            version = str(record.get("model_version"))
            if version != self.version:
                self.version = version
                self.recent.clear()
                self.distance, self.exceeded = None, False
            self.recent.append((label, float(record.get("confidence") or 0.0)))

    def shares(self) -> dict[str, float]:
        """Each label's share of the window (zeros when it is empty)."""
        counts = collections.Counter(label for label, _ in self.recent)
        n = len(self.recent)
        return {label: counts.get(label, 0) / n if n else 0.0 for label in LABELS}

    def mean_confidence(self) -> float | None:
        return sum(c for _, c in self.recent) / len(self.recent) if self.recent else None

    def check(self, train: dict | None = None) -> dict:
        """Compare the window with the version's training shares (`train`, else the ones
        looked up before); logs and calls `on_drift` on drift. Returns `snapshot()`."""
        if train is not None and self.version is not None:
            self.train[self.version] = train
        reference = self.train.get(self.version)
        was = self.exceeded
        if reference and len(self.recent) >= self.min_decisions:
            self.distance = js_distance(self.shares(), reference)
            self.exceeded = self.distance > self.max_js_distance
        else:
            self.distance, self.exceeded = None, False
        snap = self.snapshot()
        if self.exceeded and not was:
            self.alerts += 1
            log.warning("drift: model version %s: live label shares %s vs training %s: "
                        "Jensen-Shannon distance %.3f > %.3f over the last %d decisions",
                        self.version, _fmt(snap["live_shares"]), _fmt(reference),
                        self.distance, self.max_js_distance, len(self.recent))
            if self.on_drift is not None and self.version not in self.triggered:
                self.triggered.add(self.version)
                try:
                    self.on_drift(snap)
                except Exception:  # noqa: BLE001 - a failed trigger must not stop serving
                    log.exception("drift: the retraining trigger failed")
        elif was and not self.exceeded:
            log.info("drift: model version %s back within %.3f", self.version,
                     self.max_js_distance)
        return snap

    def snapshot(self) -> dict:
        return {"version": self.version, "decisions": len(self.recent),
                "live_shares": self.shares(), "mean_confidence": self.mean_confidence(),
                "train_shares": self.train.get(self.version), "js_distance": self.distance,
                "max_js_distance": self.max_js_distance, "exceeded": self.exceeded}

    async def run(self) -> None:
        """Look up each new version's training shares (in a thread) and check, every
        `check_seconds`, until cancelled."""
        while True:
            await asyncio.sleep(self.check_seconds)
            version = self.version
            if version is not None and version not in self.train and self.shares_for:
                shares = await asyncio.to_thread(self.shares_for, version)
                self.train[version] = shares
                if shares is None:
                    log.info("drift: model version %s has no train_label_shares; live "
                             "shares only", version)
            self.check()


def retrain_trigger(mode: str, feedback_settings: dict, params: dict | None = None,
                    repo: str = ".") -> Callable[[dict], object] | None:
    """`on_drift` for `serving.drift.trigger`: none (None), local (the feedback trigger's
    `feedback.local_command` in `repo`) or kfp (a run on KFP_HOST / feedback.kfp_host)."""
    if mode in (None, "", "none"):
        return None
    if mode not in ("local", "kfp"):
        raise ValueError(f"serving.drift.trigger must be none, local or kfp, not {mode!r}")
    if mode == "kfp" and params is None:
        raise ValueError("serving.drift.trigger kfp submits a run: pass the params")

    def trigger(snapshot: dict) -> dict:
        from feedback import export
        if mode == "local":
            started = export._start_local(
                Path(repo), feedback_settings["local_command"], False)
        else:
            from pipelines.submit import submit
            host = os.environ.get("KFP_HOST") or feedback_settings["kfp_host"]
            if not host:
                raise export.ExportError("serving.drift.trigger is kfp but neither KFP_HOST "
                                         "nor feedback.kfp_host is set")
            started = {"mode": "kfp", "run_id": submit(
                params, host=host, experiment=feedback_settings["kfp_experiment"])}
        log.warning("drift: started a retraining run for version %s: %s",
                    snapshot["version"], started)
        return started
    return trigger


def _fmt(shares: dict | None) -> str:
    return "{" + ", ".join(f"{k} {v:.2f}" for k, v in (shares or {}).items()) + "}"


class ObservedLog:
    """A decision log (serving.decisions.DecisionLog) whose `add` also hands the records
    to `observers` (e.g. DriftMonitor.observe); everything else is the log's own."""

    def __init__(self, decision_log, *observers: Callable[[list[dict]], None]):
        self._log, self._observers = decision_log, observers

    def add(self, records: list[dict]) -> None:
        self._log.add(records)
        for observe in self._observers:
            observe(records)

    def __getattr__(self, name: str):
        return getattr(self._log, name)
