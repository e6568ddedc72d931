"""Bad input over real HTTP never breaks the service: it gets a clear 4xx, stores nothing,
and leaves every other request (even one committed in the same transaction) unharmed."""
from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import insert

from feedback.api import create_app
from feedback.store import decisions, now
from feedback_helpers import ALICE, MODERATORS, SERVICE, SERVICES, LiveServer, auth, decision


def post_json(client, path: str, body: dict, token: str = ALICE) -> httpx.Response:
    # json.dumps escapes a lone surrogate as "\ud800", as a browser or another client would.
    return client.post(path, content=json.dumps(body),
                       headers={**auth(token), "Content-Type": "application/json"})


@pytest.mark.parametrize("bad, message", [
    ({"text": "\ud800", "label": "spam"}, "text: not valid Unicode"),
    ({"text": "x", "label": "spam", "decision_id": 2**63}, "decision_id"),
])
def test_a_bad_correction_does_not_fail_its_group_commit(store, bad, message):
    """One valid correction is held inside the store; 29 valid ones and the bad one queue
    behind it, so they are committed as one batch: only the bad one is refused."""
    app = create_app(store, moderator_tokens=MODERATORS, service_tokens=SERVICES)
    real, gate, batches = store.add_corrections, threading.Event(), []

    def held_add_corrections(items):
        batches.append(len(items))
        if len(batches) == 1:
            assert gate.wait(30)
        return real(items)

    store.add_corrections = held_add_corrections
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client, \
            ThreadPoolExecutor(32) as pool:
        first = pool.submit(post_json, client, "/v1/corrections", {"text": "m0", "label": "spam"})
        deadline = time.monotonic() + 20
        while not batches:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        bodies = [{"text": f"m{i}", "label": "spam"} for i in range(1, 30)]
        bodies.insert(15, bad)
        futures = [pool.submit(post_json, client, "/v1/corrections", b) for b in bodies]
        # Validation that happens before the queue answers at once; the rest are queued.
        while app.state.committer.queue.qsize() + sum(f.done() for f in futures) < len(bodies):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        gate.set()
        responses = [first.result()] + [f.result() for f in futures]
    refused = responses.pop(16)
    assert refused.status_code == 422 and message in refused.json()["detail"], refused.text
    assert [r.status_code for r in responses] == [201] * 30
    assert sorted(c["text"] for c in store.corrections()) == sorted(f"m{i}" for i in range(30))


def test_a_bad_correction_in_the_store_batch_is_refused_alone(store):
    """Below the API, too: a value the database cannot take refuses only its own item."""
    [decision_id] = store.add_decisions([decision()])
    good = dict(label="spam", moderator="alice", decision_id=decision_id)
    results = store.add_corrections([good, dict(good, text="\ud800"),
                                     dict(good, decision_id=2**63),
                                     dict(good, moderator="\udcff"), dict(good, label="toxic")])
    assert [type(r).__name__ for r in results] == ["tuple", "FeedbackError", "FeedbackError",
                                                   "FeedbackError", "tuple"]
    assert "not valid Unicode" in str(results[1]) and "decision_id" in str(results[2])
    assert "cannot be stored" in str(results[3])
    assert [c["label"] for c in store.corrections()] == ["spam", "toxic"]


@pytest.mark.parametrize("body, status, message", [
    ({"text": "\u200b\u200d\ufeff \u3164", "label": "spam"}, 422, "non-empty"),
    ({"text": "a\udc80b", "label": "spam"}, 422, "text: not valid Unicode"),
    ({"text": "x", "label": "spam", "platform": "twitch", "message_id": "\ud83d"}, 422,
     "message_id: not valid Unicode"),
    ({"text": "x", "label": "spam", "decision_id": True}, 422, "decision_id"),
    ({"text": "x", "label": "spam", "decision_id": 0}, 422, "decision_id"),
    ({"text": "x", "label": "spam", "decision_id": 10**30}, 422, "decision_id"),
    ('{"text": "x", "label": "spam", "decision_id": ' + "9" * 5000 + "}", 400, "malformed JSON"),
    ('{"text": ' + "[" * 100_000 + "]" * 100_000 + ', "label": "spam"}', 400,
     "nested too deeply"),
])
def test_odd_corrections_get_a_clear_4xx(http, live, body, status, message):
    r = http.post("/v1/corrections", headers={**auth(ALICE), "Content-Type": "application/json"},
                  content=body if isinstance(body, str) else json.dumps(body))
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]
    assert live[1].stats()["corrections"] == 0


@pytest.mark.parametrize("field, value, message", [
    ("probs", {"normal": float("inf"), "spam": 0.1}, "decisions.0.probs.normal: Input should be a finite"),
    ("probs", {"normal": float("nan")}, "decisions.0.probs.normal: Input should be a finite"),
    ("latency_ms", float("inf"), "decisions.0.latency_ms: Input should be a finite"),
    ("latency_ms", float("nan"), "decisions.0.latency_ms: Input should be a finite"),
    ("confidence", float("nan"), "decisions.0.confidence: Input should be a finite"),
    ("confidence", True, "decisions.0.confidence: Value error, must be a number"),
    ("probs", {"normal": False}, "decisions.0.probs.normal: Value error, must be a number"),
    ("text", "\u200b\u2060", "non-empty"),
    ("channel", "#\udfff", "decisions.0.channel: not valid Unicode"),
])
def test_decisions_with_odd_values_are_refused(http, live, field, value, message):
    """NaN and Infinity pass Python's JSON parser: refused (they would break the review
    queue for everybody), as are booleans and blank or broken text."""
    r = post_json(http, "/v1/decisions", {"decisions": [decision(**{field: value})]}, SERVICE)
    assert r.status_code == 422 and message in r.json()["detail"], r.text
    assert live[1].stats()["decisions"] == 0
    assert http.get("/v1/review", headers=auth(ALICE)).status_code == 200


def test_the_review_queue_survives_legacy_rows_with_infinities(http, live):
    """Rows stored before numbers were checked come back with the bad numbers as null."""
    store = live[1]
    with store.engine.begin() as conn:
        conn.execute(insert(decisions).values(
            text="옛날 결정", label="normal", confidence=0.4, created_at=now(),
            probs={"normal": float("inf"), "spam": float("nan"), "toxic": 0.25},
            latency_ms=float("inf")))
    r = http.get("/v1/review", headers=auth(ALICE))
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert item["probs"] == {"normal": None, "spam": None, "toxic": 0.25}
    assert item["latency_ms"] is None and item["text"] == "옛날 결정"
