"""Prometheus metrics for the bot and the API, on a registry of their own.

Counts owned by other objects (source frame counters, batcher drops, model reloads, the
decision spool) are read at scrape time by a collector, so there is one source of truth.
"""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.messages = Counter("chatloop_messages", "Chat messages decided", ["platform"],
                                registry=self.registry)
        self.labels = Counter("chatloop_labels", "Decisions by label", ["label"],
                              registry=self.registry)
        self.actions = Counter("chatloop_actions", "Moderation actions", ["action"],
                               registry=self.registry)
        self.answers = Counter("chatloop_answers", "Answers by source or skip reason", ["how"],
                               registry=self.registry)
        self.latency = Histogram("chatloop_decision_latency_seconds",
                                 "Arrival to decision, per message", buckets=LATENCY_BUCKETS,
                                 registry=self.registry)
        self.host = self.source = self.batcher = self.decisions = self.actions_owner = None
        self.drift = None   # serving.drift.DriftMonitor (attach_drift)
        self.registry.register(self)

    def attach(self, host=None, source=None, batcher=None, decisions=None, actions=None) -> None:
        """Objects whose own counters are exported at scrape time."""
        self.host = host or self.host
        self.source = source or self.source
        self.batcher = batcher or self.batcher
        self.decisions = decisions or self.decisions
        self.actions_owner = actions or self.actions_owner

    def attach_drift(self, drift) -> None:
        """A serving.drift.DriftMonitor whose live window is exported at scrape time."""
        self.drift = drift

    def collect(self):
        yield from self._collect_live()
        stats = getattr(self.source, "stats", {})
        frames = CounterMetricFamily("chatloop_source_frames", "Source frames by kind", labels=["kind"])
        for kind in ("chat", "skipped", "unknown", "malformed"):
            frames.add_metric([kind], stats.get(kind, 0))
        yield frames
        yield CounterMetricFamily("chatloop_reconnects", "Source reconnects",
                                  value=stats.get("reconnects", 0))
        if "quota_units" in stats:   # sources with an API quota (YouTube)
            yield CounterMetricFamily("chatloop_source_quota_units",
                                      "Estimated API quota units spent", value=stats["quota_units"])
        drops = CounterMetricFamily("chatloop_dropped", "Messages dropped by the overload policy",
                                    labels=["kind"])
        batcher_drops = getattr(self.batcher, "drops", {})
        for kind in ("message", "question"):
            drops.add_metric([kind], batcher_drops.get(kind, 0) + (stats.get("dropped", 0)
                                                                  if kind == "message" else 0))
        yield drops
        yield GaugeMetricFamily("chatloop_queue_depth", "Messages waiting for a batch",
                                value=len(self.batcher) if self.batcher is not None else 0)
        if self.host is not None:
            info = GaugeMetricFamily("chatloop_model_info", "The model serving now",
                                     labels=["name", "version"])
            info.add_metric([self.host.name, str(self.host.version)], 1)
            yield info
            yield CounterMetricFamily("chatloop_model_reloads", "Model versions swapped in",
                                      value=self.host.reloads)
            yield CounterMetricFamily("chatloop_model_load_errors", "Versions that failed to load",
                                      value=self.host.load_errors)
            model = self.host.current()[0]
            scored = CounterMetricFamily("chatloop_scored", "Messages of the serving version "
                                         "decided by the screen alone, scored by the LM, or "
                                         "left to the screen past their deadline (late)",
                                         labels=["by"])
            for by, n in sorted(getattr(model, "counts", {}).items()):
                scored.add_metric([by], n)
            yield scored
        failed = CounterMetricFamily("chatloop_actions_failed",
                                     "Platform actions and answers that failed (API error, rate "
                                     "limit outlasted, token refused)", labels=["platform", "action"])
        for (platform, action), n in sorted(getattr(self.actions_owner, "failed", {}).items()):
            failed.add_metric([platform, action], n)
        yield failed
        if self.decisions is not None and self.decisions.url:
            yield GaugeMetricFamily("chatloop_decisions_spooled",
                                    "Decisions waiting for the feedback service",
                                    value=self.decisions.pending())

    def _collect_live(self):
        """Source health and the live label window (drift)."""
        source = self.source
        if source is not None:
            up = source.up() if hasattr(source, "up") else {
                f"{getattr(source, 'platform', '?')}:{getattr(source, 'channel', '?')}":
                    getattr(source, "reading", True)}
            gauge = GaugeMetricFamily("chatloop_source_up", "1 while a source is reading "
                                      "(0: connecting, between reconnects or waiting to restart)",
                                      labels=["source"])
            for name, ok in sorted(up.items()):
                gauge.add_metric([name], 1 if ok else 0)
            yield gauge
            yield CounterMetricFamily("chatloop_source_failures",
                                      "Sources that failed and were restarted (several sources)",
                                      value=getattr(source, "stats", {}).get("source_failures", 0))
        drift = self.drift
        if drift is None:
            return
        snap = drift.snapshot()
        shares = GaugeMetricFamily("chatloop_live_label_share", "Each label's share of the "
                                   "last decisions of the serving version", labels=["label"])
        for label, share in snap["live_shares"].items():
            shares.add_metric([label], share)
        yield shares
        yield GaugeMetricFamily("chatloop_live_window_decisions", "Decisions in the live window",
                                value=snap["decisions"])
        if snap["mean_confidence"] is not None:
            yield GaugeMetricFamily("chatloop_live_confidence_mean", "Mean confidence of the "
                                    "decisions in the live window", value=snap["mean_confidence"])
        if snap["train_shares"]:
            train = GaugeMetricFamily("chatloop_train_label_share", "Each label's share of the "
                                      "serving version's training rows", labels=["label"])
            for label, share in snap["train_shares"].items():
                train.add_metric([label], share)
            yield train
        if snap["js_distance"] is not None:
            yield GaugeMetricFamily("chatloop_label_drift_js", "Jensen-Shannon distance of the "
                                    "live label shares from the training shares",
                                    value=snap["js_distance"])
        yield GaugeMetricFamily("chatloop_label_drift_threshold",
                                "params serving.drift.max_js_distance",
                                value=snap["max_js_distance"])
        yield GaugeMetricFamily("chatloop_label_drift_exceeded", "1 while the live label shares "
                                "drift beyond the threshold", value=1 if snap["exceeded"] else 0)
        yield CounterMetricFamily("chatloop_label_drift_alerts", "Drift episodes seen",
                                  value=drift.alerts)

    def render(self) -> bytes:
        return generate_latest(self.registry)
