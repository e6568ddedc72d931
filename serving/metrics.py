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
        self.host = self.source = self.batcher = self.decisions = None
        self.registry.register(self)

    def attach(self, host=None, source=None, batcher=None, decisions=None) -> None:
        """Objects whose own counters are exported at scrape time."""
        self.host = host or self.host
        self.source = source or self.source
        self.batcher = batcher or self.batcher
        self.decisions = decisions or self.decisions

    def collect(self):
        stats = getattr(self.source, "stats", {})
        frames = CounterMetricFamily("chatloop_source_frames", "Source frames by kind", labels=["kind"])
        for kind in ("chat", "skipped", "unknown", "malformed"):
            frames.add_metric([kind], stats.get(kind, 0))
        yield frames
        yield CounterMetricFamily("chatloop_reconnects", "Source reconnects",
                                  value=stats.get("reconnects", 0))
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
        if self.decisions is not None and self.decisions.url:
            yield GaugeMetricFamily("chatloop_decisions_spooled",
                                    "Decisions waiting for the feedback service",
                                    value=self.decisions.pending())

    def render(self) -> bytes:
        return generate_latest(self.registry)
