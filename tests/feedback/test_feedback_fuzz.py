"""Random JSON bodies against the feedback API (the real app and SQLite store, FastAPI
TestClient): never a 5xx, a refused request stores nothing, and GET /v1/review stays 200
whatever was stored before it. Every POST route under /v1 is fuzzed, new ones included."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from feedback_helpers import ALICE, MODERATORS, SERVICE, SERVICES
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from components.labels import LABELS
from feedback.api import create_app
from feedback.store import Store, metadata

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Any character, lone surrogates included (json.dumps writes them as \udXXX escapes).
texts = st.text(st.characters(exclude_categories=()), max_size=30)
numbers = st.one_of(st.integers(-2**70, 2**70), st.floats(), st.floats(0, 1),
                    st.sampled_from([0, 1, 2**63 - 1, 2**63, -1]))
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
anything = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)), max_leaves=10)
labels = st.sampled_from([*LABELS, "", "Spam", "other"])
plausible = {   # fields of decisions, corrections and platform events, mostly sane values
    "text": texts, "label": labels, "confidence": numbers,
    "probs": st.dictionaries(labels, numbers, max_size=5), "platform": st.sampled_from(
        ["twitch", "chzzk", "soop", "", "x" * 40]) | texts,
    "channel": texts, "message_id": texts | st.integers(), "user_id": texts,
    "model_name": texts, "model_version": texts, "action": texts, "latency_ms": numbers,
    "decision_id": numbers, "idempotency_key": texts, "moderator": texts,
    "kind": st.sampled_from(["delete", "timeout", "ban", "clear", "other"]),
    "user": texts, "duration_s": numbers, "ts": numbers | texts,
}
sane_text = st.text(st.sampled_from("가나다라 방송질문 abcXYZ?!0"), min_size=1, max_size=20)
valid_decision = st.fixed_dictionaries(
    {"text": sane_text, "label": st.sampled_from(LABELS), "confidence": st.floats(0, 1)},
    optional={"platform": st.sampled_from(["twitch", "chzzk"]), "message_id": sane_text,
              "channel": sane_text})
valid_correction = st.fixed_dictionaries({"label": st.sampled_from(LABELS)}, optional={
    "text": sane_text, "decision_id": st.integers(1, 40), "idempotency_key": sane_text})
valid_event = st.fixed_dictionaries({
    "platform": st.sampled_from(["twitch", "chzzk"]), "channel": sane_text,
    "message_id": sane_text, "user": sane_text,
    "kind": st.sampled_from(["delete", "timeout", "ban", "clear"]), "ts": st.floats(1e9, 2e9)})
valid = st.one_of(valid_decision, valid_correction, valid_event)
item = st.one_of(
    valid,
    st.fixed_dictionaries({}, optional={k: v | anything for k, v in plausible.items()}),
    st.fixed_dictionaries({k: plausible[k] for k in ("text", "label", "confidence")},
                          optional={k: plausible[k] for k in ("platform", "message_id",
                                                              "channel", "probs")}),
    st.fixed_dictionaries({"label": labels}, optional={
        k: plausible[k] for k in ("text", "decision_id", "idempotency_key", "moderator",
                                  "platform", "message_id", "channel")}),
    anything)
bodies = st.one_of(item, st.fixed_dictionaries({"decisions": st.lists(item, max_size=4)}),
                   st.fixed_dictionaries({"decisions": st.lists(valid, min_size=1, max_size=3)}),
                   st.fixed_dictionaries({"events": st.lists(item, max_size=4)}),
                   st.dictionaries(st.sampled_from(["decisions", "events", "items"]),
                                   st.lists(item, max_size=3) | anything, max_size=2))


def body_for(path: str):
    """Bodies for one route: mostly sane ones (the success paths run too) and anything."""
    sane = {"/v1/decisions": st.fixed_dictionaries({"decisions": st.lists(valid_decision,
                                                                          min_size=1, max_size=3)}),
            "/v1/corrections": valid_correction,
            "/v1/platform-events": st.fixed_dictionaries({"events": st.lists(valid_event,
                                                                             min_size=1, max_size=3)})}
    return sane.get(path, item)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'feedback.db'}")
    app = create_app(store, moderator_tokens=MODERATORS, service_tokens=SERVICES)
    posts = sorted(route.path for route in app.routes if route.path.startswith("/v1/")
                   and "POST" in getattr(route, "methods", ()))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, store, posts
    store.close()


def rows(store: Store) -> dict[str, int]:
    with store.engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar()
                for t in metadata.sorted_tables}


def check_review(client) -> None:
    response = client.get("/v1/review", headers={"Authorization": f"Bearer {ALICE}"})
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["items"], list)


def test_every_post_route_is_fuzzed(service):
    assert {"/v1/decisions", "/v1/corrections"} <= set(service[2])


@FUZZ
@given(data=st.data(), token=st.sampled_from([ALICE, SERVICE]),
       kind=st.sampled_from(["sane", "sane", "any", "any", "raw"]))
def test_random_posts_never_fail_and_refusals_store_nothing(service, data, token, kind):
    client, store, posts = service
    path = data.draw(st.sampled_from(posts))
    if kind == "raw":
        content = data.draw(st.binary(max_size=200))
    else:
        body = data.draw(body_for(path) if kind == "sane" else bodies)
        content = json.dumps(body, allow_nan=True).encode()
    before = rows(store)
    response = client.post(path, content=content, headers={"Authorization": f"Bearer {token}",
                                                           "Content-Type": "application/json"})
    event(f"{path} {response.status_code}")
    assert response.status_code < 500, (path, response.text)
    if response.status_code >= 400:
        assert response.json()["detail"]
        assert rows(store) == before, (path, response.status_code, response.text)
    check_review(client)


@FUZZ
@given(query=st.dictionaries(st.sampled_from(["limit", "confident_share", "x"]),
                             st.text(max_size=8) | numbers.map(str), max_size=3))
def test_review_queries_never_fail(service, query):
    client = service[0]
    response = client.get("/v1/review", params=query,
                          headers={"Authorization": f"Bearer {ALICE}"})
    assert response.status_code in (200, 422), response.text
    check_review(client)


@pytest.mark.parametrize("moderators, services, words", [
    ("alice:x", "", ["CHATLOOP_MODERATOR_TOKENS", "'alice'", "at least 8"]),
    ("alice:shared-secret-1,bob:shared-secret-1", "", ["'alice'", "'bob'", "same token"]),
    ("alice:shared-secret-1", "serving:shared-secret-1",
     ["CHATLOOP_MODERATOR_TOKENS", "CHATLOOP_SERVICE_TOKENS", "same token"]),
])
def test_bad_token_lists_stop_the_start(tmp_path, monkeypatch, moderators, services, words):
    """Bad input at start: a guessable or shared token is refused, naming the entry only."""
    from chatloop.auth import TokenError
    monkeypatch.setenv("CHATLOOP_MODERATOR_TOKENS", moderators)
    monkeypatch.setenv("CHATLOOP_SERVICE_TOKENS", services)
    store = Store(f"sqlite:///{tmp_path / 'feedback.db'}")
    try:
        with pytest.raises(TokenError) as caught:
            create_app(store)
    finally:
        store.close()
    assert all(word in str(caught.value) for word in words), caught.value
    assert "shared-secret-1" not in str(caught.value)
