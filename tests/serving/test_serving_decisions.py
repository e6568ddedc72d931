"""The decision log: spooled while the feedback service is down, flushed later, nothing lost."""
from __future__ import annotations

import json

from conftest import free_port

from serving.decisions import DecisionLog


def record(i: int, label: str = "normal") -> dict:
    return {"decision_id": f"d{i}", "platform": "replay", "channel": "c", "message_id": str(i),
            "user_id": "u", "text": f"메시지 {i}", "label": label, "confidence": 0.9,
            "probs": {"normal": 0.9, "question": 0.05, "toxic": 0.03, "spam": 0.02},
            "model_name": "chatloop", "model_version": "1", "action": "none", "latency_ms": 3.0}


def test_spool_while_down_then_flush_once(tmp_path, feedback_service, arun):
    port = free_port()
    spool, out = tmp_path / "spool.jsonl", tmp_path / "out.jsonl"
    log = DecisionLog(f"http://127.0.0.1:{port}", "svc-token", out_path=out, spool_path=spool)
    log.add([record(i) for i in range(5)])
    assert arun(log.flush()) is False              # nobody listening: kept
    assert log.pending() == 5

    # a new process (same spool) picks them up once the service is back
    log2 = DecisionLog(f"http://127.0.0.1:{port}", "svc-token", spool_path=spool)
    log2.add([record(5)])
    with feedback_service(port):
        assert arun(log2.flush()) is True
        assert arun(log2.flush()) is True          # nothing left; no duplicates
    assert log2.pending() == 0 and log2.sent == 6
    store = feedback_service.store
    assert all(store.find_decision("replay", str(i), "c") for i in range(6))
    arun(log.close())
    assert [json.loads(line)["message_id"] for line in out.read_text().splitlines()] == \
        [str(i) for i in range(5)]


def test_wrong_token_keeps_records_and_invalid_batch_is_set_aside(tmp_path, feedback_service, arun):
    spool = tmp_path / "spool.jsonl"
    with feedback_service() as url:
        bad_token = DecisionLog(url, "wrong", spool_path=spool)
        bad_token.add([record(1)])
        assert arun(bad_token.flush()) is False and bad_token.pending() == 1
        good = DecisionLog(url, "svc-token", spool_path=spool)
        good.add([record(2, label="not-a-label")])     # refused; record 1 goes through
        assert arun(good.flush()) is True
        assert good.pending() == 0
        good.add([record(3)])
        assert arun(good.flush()) is True
    rejected = [json.loads(line) for line in (tmp_path / "decisions-rejected.jsonl").read_text().splitlines()]
    assert [r["message_id"] for r in rejected] == ["2"]
    assert feedback_service.store.find_decision("replay", "1", "c")
    assert feedback_service.store.find_decision("replay", "3", "c")
    assert good.sent == 2


def test_without_feedback_url_only_the_file(tmp_path, arun, monkeypatch):
    monkeypatch.delenv("CHATLOOP_FEEDBACK_URL", raising=False)
    log = DecisionLog(out_path=tmp_path / "o.jsonl", spool_path=tmp_path / "s.jsonl")
    log.add([record(1)])
    assert arun(log.close()) is True
    assert not (tmp_path / "s.jsonl").exists() and len((tmp_path / "o.jsonl").read_text().splitlines()) == 1
