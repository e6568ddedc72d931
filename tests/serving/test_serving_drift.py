"""Live drift: label shares and mean confidence per window as metrics, the training label
shares recorded at registration, a planted shift detected (metric, log line, trigger), and
the shipped Prometheus rules and Grafana dashboard."""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from components.labels import LABELS
from serving.drift import DriftMonitor, ObservedLog, js_distance, registry_shares, retrain_trigger
from serving.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
TRAIN = {"normal": 0.6, "question": 0.2, "toxic": 0.1, "spam": 0.1}


def records(counts: dict, version="3", confidence=0.8) -> list[dict]:
    return [{"label": label, "confidence": confidence, "model_version": version}
            for label, n in counts.items() for _ in range(n)]


def metric(text: str, name: str, **labels) -> float | None:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = rf"^{name}{{{want}}} (\S+)$" if labels else rf"^{name} (\S+)$"
    match = re.search(pattern, text, re.M)
    return float(match.group(1)) if match else None


def test_js_distance():
    assert js_distance(TRAIN, TRAIN) == pytest.approx(0.0, abs=1e-9)
    assert js_distance({"normal": 1}, {"spam": 1}) == pytest.approx(1.0)
    assert 0 < js_distance(TRAIN, {"normal": 0.5, "question": 0.2, "toxic": 0.1,
                                   "spam": 0.2}) < 0.2
    # Counts and shares are the same distribution.
    assert js_distance({"normal": 60, "question": 20, "toxic": 10, "spam": 10}, TRAIN) \
        == pytest.approx(0.0, abs=1e-9)


def test_planted_shift_is_a_metric_a_log_line_and_a_trigger(caplog):
    started = []
    drift = DriftMonitor(window=100, min_decisions=50, max_js_distance=0.2,
                         on_drift=started.append)
    metrics = Metrics()
    metrics.attach_drift(drift)
    drift.observe(records({"normal": 10, "question": 4}))
    assert drift.check(TRAIN)["js_distance"] is None         # fewer than min_decisions
    drift.observe(records({"normal": 50, "question": 16, "toxic": 10, "spam": 10}, confidence=0.9))
    snap = drift.check()
    assert snap["decisions"] == 100 and not snap["exceeded"] and snap["js_distance"] < 0.05
    text = metrics.render().decode()
    assert metric(text, "chatloop_live_label_share", label="normal") == pytest.approx(0.6)
    assert metric(text, "chatloop_train_label_share", label="spam") == pytest.approx(0.1)
    assert metric(text, "chatloop_live_confidence_mean") == pytest.approx(0.886)
    assert metric(text, "chatloop_label_drift_exceeded") == 0
    assert metric(text, "chatloop_label_drift_threshold") == pytest.approx(0.2)

    # A spam wave: the window fills with spam.
    caplog.set_level(logging.WARNING, logger="serving.drift")
    drift.observe(records({"spam": 70, "normal": 30}, confidence=0.55))
    snap = drift.check()
    assert snap["exceeded"] and snap["js_distance"] > 0.2
    assert snap["live_shares"]["spam"] == pytest.approx(0.7)
    text = metrics.render().decode()
    assert metric(text, "chatloop_label_drift_exceeded") == 1
    assert metric(text, "chatloop_label_drift_js") == pytest.approx(snap["js_distance"])
    assert metric(text, "chatloop_live_confidence_mean") == pytest.approx(0.55)
    assert metric(text, "chatloop_label_drift_alerts_total") == 1
    assert "drift: model version 3" in caplog.text and "Jensen-Shannon distance" in caplog.text
    assert len(started) == 1 and started[0]["version"] == "3"
    drift.check()
    assert len(started) == 1 and caplog.text.count("Jensen-Shannon distance") == 1  # once

    # A new version starts a new window (and has no training shares yet).
    drift.observe(records({"normal": 5}, version="4"))
    snap = drift.check()
    assert snap["version"] == "4" and snap["decisions"] == 5 and not snap["exceeded"]


def test_observed_log_feeds_the_monitor(tmp_path):
    from serving.decisions import DecisionLog
    drift = DriftMonitor(window=10, min_decisions=1)
    log = ObservedLog(DecisionLog(url="", out_path=tmp_path / "o.jsonl",
                                  spool_path=tmp_path / "s"), drift.observe)
    log.add(records({"toxic": 2, "normal": 2}))
    assert log.count == 4 and drift.shares()["toxic"] == 0.5
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 4


def test_bot_exports_live_shares(tiny_model_dir, tmp_path):
    """A replay through the bot: every decision enters the live window and the metrics."""
    import asyncio

    from components.config import load_params
    from serving.actions import Actions
    from serving.answers import Answerer
    from serving.bot import Bot
    from serving.decisions import DecisionLog
    from serving.model_host import ModelHost
    from serving.sources.replay import ReplaySource

    params = load_params()["serving"]
    chat = tmp_path / "chat.jsonl"
    chat.write_text("".join(json.dumps({"text": f"채팅 {i}"}, ensure_ascii=False) + "\n"
                            for i in range(30)), encoding="utf-8")
    host = ModelHost(str(tiny_model_dir), poll_seconds=3600)
    host.load()
    drift = DriftMonitor(window=1000, min_decisions=10)
    metrics = Metrics()
    out = tmp_path / "out.jsonl"
    bot = Bot(ReplaySource(chat), host, params, answerer=Answerer(params["answer"]),
              actions=Actions(), decisions=DecisionLog(url="", out_path=out,
                                                       spool_path=tmp_path / "spool"),
              metrics=metrics, drift=drift)
    asyncio.run(bot.run())
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 30 and drift.snapshot()["decisions"] == 30
    text = metrics.render().decode()
    shares = {label: metric(text, "chatloop_live_label_share", label=label) for label in LABELS}
    for label in LABELS:
        assert shares[label] == pytest.approx(sum(r["label"] == label for r in rows) / 30)
    assert metric(text, "chatloop_live_confidence_mean") == pytest.approx(
        sum(r["confidence"] for r in rows) / 30)
    assert metric(text, "chatloop_source_up", source="replay:chat") is not None


def test_registration_records_training_label_shares(registry):
    """The real register step tags the version; serving reads the tag back."""
    from components.ingest import CHAT_FILE
    from components.register import train_label_shares
    from components.model_registry import client

    rows = [json.loads(x) for x in (registry["splits"] / CHAT_FILE).read_text(
        encoding="utf-8").splitlines() if x.strip()]
    expected = {label: sum(r["label"] == label for r in rows) / len(rows) for label in LABELS}
    assert train_label_shares(registry["splits"]) == pytest.approx(expected, abs=1e-5)
    tag = client().get_model_version("chatloop", registry["version"]).tags["train_label_shares"]
    assert json.loads(tag) == pytest.approx(expected, abs=1e-5)
    lookup = registry_shares("chatloop")
    assert lookup(registry["version"]) == pytest.approx(expected, abs=1e-5)
    assert lookup("local") is None


def test_drift_trigger_starts_the_feedback_command(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATLOOP_HOME", str(tmp_path / "home"))
    flag = tmp_path / "started"
    command = f"{shutil.which('python3') or 'python3'} -c \"open('{flag}', 'w').write('ok')\""
    trigger = retrain_trigger("local", {"local_command": command}, {}, repo=str(tmp_path))
    started = trigger({"version": "3"})
    assert started["mode"] == "local"
    os.waitpid(started["pid"], 0)
    assert flag.read_text() == "ok"
    assert retrain_trigger("none", {}) is None
    with pytest.raises(ValueError, match="serving.drift.trigger"):
        retrain_trigger("cron", {})


def rule_exprs() -> list[dict]:
    doc = yaml.safe_load((ROOT / "deploy/prometheus/chatloop-rules.yaml").read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def exported_names(tmp_path) -> set[str]:
    """Every metric family the bot exports (with a merged source, a decision log sending
    to a feedback service, and a drift monitor)."""
    from serving.decisions import DecisionLog
    from serving.multisource import MergedSource
    from serving.sources.replay import ReplaySource
    metrics = Metrics()
    chat = ROOT / "data/sample/chat.jsonl"
    metrics.attach(source=MergedSource([ReplaySource(chat)]), decisions=DecisionLog(
        url="http://127.0.0.1:9", spool_path=tmp_path / "spool"))
    drift = DriftMonitor(min_decisions=1)
    drift.observe(records({"normal": 3}))
    drift.check(TRAIN)
    metrics.attach_drift(drift)
    metrics.latency.observe(0.1)
    metrics.messages.labels("replay").inc()
    text = metrics.render().decode()
    return {re.sub(r"_(total|created)$", "", name)
            for name in re.findall(r"^# TYPE (\S+) ", text, re.M)}


def referenced(expr: str) -> set[str]:
    return {re.sub(r"_(bucket|total|count|sum|created)$", "", name)
            for name in re.findall(r"\bchatloop_[a-z0-9_]+", expr)}


def test_prometheus_rules_parse_and_use_exported_metrics(tmp_path):
    rules = rule_exprs()
    assert {r["alert"] for r in rules} == {"ChatloopLabelDrift", "ChatloopActionFailures",
                                          "ChatloopSourceDown", "ChatloopLatencyP99High"}
    exported = exported_names(tmp_path)
    for rule in rules:
        assert rule["expr"] and rule["for"] and rule["labels"]["severity"]
        missing = {n for n in referenced(rule["expr"]) if n not in exported}
        # chatloop_actions_failed comes from serving.actions when it counts failures.
        assert missing <= {"chatloop_actions_failed"}, (rule["alert"], missing)
    if shutil.which("promtool"):
        proc = subprocess.run(["promtool", "check", "rules",
                               str(ROOT / "deploy/prometheus/chatloop-rules.yaml")],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_grafana_dashboard_parses_and_uses_exported_metrics(tmp_path):
    dash = json.loads((ROOT / "deploy/grafana/chatloop-dashboard.json").read_text())
    assert dash["uid"] and dash["panels"]
    exported = exported_names(tmp_path)
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dash["panels"]:
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert referenced(target["expr"]) <= exported, (panel["title"], target["expr"])
