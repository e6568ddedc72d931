"""The store: SQLite settings, batch (group-commit) semantics, idempotency across writers."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from feedback.store import FeedbackError, IdempotencyConflict, Store


def test_sqlite_is_wal_with_full_sync(store):
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2     # FULL
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 1000


def test_default_location_follows_chatloop_home(tmp_path, monkeypatch):
    monkeypatch.delenv("CHATLOOP_FEEDBACK_DB", raising=False)
    monkeypatch.setenv("CHATLOOP_HOME", str(tmp_path / "home"))
    s = Store()
    assert s.url == f"sqlite:///{tmp_path / 'home' / 'feedback.db'}"
    s.close()
    monkeypatch.setenv("CHATLOOP_FEEDBACK_DB", f"sqlite:///{tmp_path / 'x' / 'y.db'}")
    s = Store()
    assert (tmp_path / "x" / "y.db").exists()
    s.close()


def test_a_refused_item_in_a_batch_leaves_the_others(store):
    results = store.add_corrections([
        {"label": "spam", "moderator": "a", "text": "one", "idempotency_key": "1"},
        {"label": "nope", "moderator": "a", "text": "two"},
        {"label": "spam", "moderator": "a", "decision_id": 42},
        {"label": "toxic", "moderator": "a", "text": "one", "idempotency_key": "1"},
        {"label": "spam", "moderator": "a", "text": "one", "idempotency_key": "1"},
    ])
    assert results[0][1] is True
    assert isinstance(results[1], FeedbackError) and isinstance(results[2], FeedbackError)
    assert isinstance(results[3], IdempotencyConflict)
    assert results[4] == (results[0][0], False)
    assert [c["text"] for c in store.corrections()] == ["one"]


def test_same_keys_from_two_writers_are_stored_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    writers = [Store(url), Store(url)]         # two engines: as two service processes
    barrier = threading.Barrier(2)
    created = []

    def write(s: Store) -> None:
        barrier.wait()
        for i in range(200):
            created.append(s.add_correction(label="spam", moderator="m", text=f"t{i}",
                                            idempotency_key=f"k{i}")[1])

    threads = [threading.Thread(target=write, args=(s,)) for s in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(created).count(True) == 200 and len(created) == 400
    assert len(writers[0].corrections()) == 200
    for s in writers:
        s.close()


def test_export_claims_each_correction_once(store):
    assert store.open_export("data/feedback/a.jsonl") is None
    store.add_correction(label="spam", moderator="m", text="x")
    first = store.open_export("data/feedback/b.jsonl")
    assert first["count"] == 1 and first["status"] == "pending"
    assert store.open_export("data/feedback/c.jsonl") is None
    assert [r["text"] for r in store.export_rows(first["id"])] == ["x"]


@pytest.mark.parametrize("bad", [{"confidence": 2}, {"confidence": True}, {"label": "x"},
                                 {"text": None}, {"probs": {"maybe": 1.0}}])
def test_bad_decisions_raise(store, bad):
    row = {"text": "hi", "label": "normal", "confidence": 0.5} | bad
    with pytest.raises(FeedbackError):
        store.add_decisions([row])
