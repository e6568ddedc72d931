"""The feedback API over real HTTP: auth, bad input, idempotency, review queue, stats."""
from __future__ import annotations

import pytest

from feedback_helpers import ALICE, BOB, SERVICE, auth, decision


def post(http, path, body=None, token=ALICE, **kwargs):
    headers = auth(token) if token else {}
    if body is not None and not isinstance(body, (str, bytes)):
        return http.post(path, json=body, headers=headers, **kwargs)
    return http.post(path, content=body, headers=headers, **kwargs)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-token"},
                                     {"Authorization": f"Basic {ALICE}"},
                                     {"Authorization": "Bearer"},
                                     {"Authorization": f"Bearer {ALICE}x"}])
def test_writes_without_a_valid_token_get_401(http, live, headers):
    store = live[1]
    r = http.post("/v1/corrections", json={"text": "광고 링크", "label": "spam"}, headers=headers)
    assert r.status_code == 401 and r.json()["detail"] == "missing or invalid bearer token"
    assert r.headers["www-authenticate"] == "Bearer"
    r = http.post("/v1/decisions", json={"decisions": [decision()]}, headers=headers)
    assert r.status_code == 401
    assert http.get("/v1/review", headers=headers).status_code == 401
    assert store.stats()["corrections"] == 0 and store.stats()["decisions"] == 0


def test_moderator_name_comes_from_the_token(http, live):
    r = post(http, "/v1/corrections", {"text": "무료 코인 받아가세요", "label": "spam"}, token=BOB)
    assert r.status_code == 201
    assert r.json()["moderator"] == "bob"
    # A moderator cannot sign as somebody else; a service token relays a chat moderator.
    r = post(http, "/v1/corrections", {"text": "x", "label": "spam", "moderator": "alice"}, token=BOB)
    assert r.status_code == 403
    r = post(http, "/v1/corrections", {"text": "y", "label": "spam", "moderator": "twitch:carol"},
             token=SERVICE)
    assert r.status_code == 201 and r.json()["moderator"] == "twitch:carol"
    assert [c["moderator"] for c in live[1].corrections()] == ["bob", "twitch:carol"]


@pytest.mark.parametrize("body, status, message", [
    ({"text": "안녕", "label": "spamm"}, 422, "unknown label 'spamm'"),
    ({"text": "안녕", "label": None}, 422, "label"),
    ({"text": "안녕"}, 422, "label: Field required"),
    ({"text": "", "label": "spam"}, 422, "non-empty"),
    ({"text": "   \n", "label": "spam"}, 422, "non-empty"),
    ({"text": "가" * 2001, "label": "spam"}, 422, "limit is 2000"),
    ({"text": "a\x00b", "label": "spam"}, 422, "NUL"),
    ({"label": "spam"}, 422, "needs 'text', 'decision_id' or 'message_id'"),
    ({"text": "안녕", "label": "spam", "lable": "x"}, 422, "lable: Extra inputs"),
    ({"text": "안녕", "label": "spam", "decision_id": 999}, 422, "decision 999 not found"),
    ({"text": 5, "label": "spam"}, 422, "text"),
    ({"text": "안녕", "label": "spam", "idempotency_key": "k" * 201}, 422, "idempotency_key"),
    ('{"text": "안녕", "label": ', 400, "malformed JSON"),
    (b"\xff\xfe", 400, "malformed JSON"),
    ("[1, 2]", 422, "JSON object"),
    ("", 400, "malformed JSON"),
])
def test_bad_corrections_get_a_clear_4xx_and_store_nothing(http, live, body, status, message):
    r = post(http, "/v1/corrections", body)
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]
    assert live[1].stats()["corrections"] == 0


def test_a_batch_of_decisions_with_one_bad_row_stores_nothing(http, live):
    good, bad = decision(message_id="1"), decision(message_id="2", label="ham")
    r = post(http, "/v1/decisions", {"decisions": [good, bad]}, token=SERVICE)
    assert r.status_code == 422 and "decision 1: unknown label 'ham'" in r.json()["detail"]
    for bad in (dict(good, confidence=1.5), dict(good, text=""), dict(good, probs={"x": 1.0}),
                dict(good, confidence="high")):
        r = post(http, "/v1/decisions", {"decisions": [good, bad]}, token=SERVICE)
        assert r.status_code == 422, bad
    assert post(http, "/v1/decisions", {"decisions": []}, token=SERVICE).status_code == 422
    assert live[1].stats()["decisions"] == 0


def test_oversize_body_is_refused(http, live):
    r = post(http, "/v1/decisions", {"decisions": [decision(text="가" * 1000)] * 1000}, token=SERVICE)
    assert r.status_code == 413 and "request body over" in r.json()["detail"]
    assert live[1].stats()["decisions"] == 0


def test_decisions_are_stored_once_per_message(http, live):
    batch = [decision(message_id="m1"), decision(message_id="m2", label="question", confidence=0.6)]
    first = post(http, "/v1/decisions", {"decisions": batch}, token=SERVICE)
    again = post(http, "/v1/decisions", {"decisions": batch}, token=SERVICE)
    assert first.status_code == again.status_code == 201
    assert first.json()["ids"] == again.json()["ids"]
    assert live[1].stats()["decisions"] == 2


def test_idempotency_key_returns_the_original(http, live):
    body = {"text": "구독 이벤트 링크 클릭", "label": "spam", "idempotency_key": "console:1:a"}
    first = post(http, "/v1/corrections", body)
    second = post(http, "/v1/corrections", body)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    # The key may also come as a header; the body wins when both are given.
    h1 = http.post("/v1/corrections", json={"text": "z", "label": "toxic"},
                   headers={**auth(ALICE), "Idempotency-Key": "hdr-1"})
    h2 = http.post("/v1/corrections", json={"text": "z", "label": "toxic"},
                   headers={**auth(ALICE), "Idempotency-Key": "hdr-1"})
    assert (h1.status_code, h2.status_code) == (201, 200) and h1.json()["id"] == h2.json()["id"]
    # Reusing a key for a different correction is refused, and changes nothing.
    r = post(http, "/v1/corrections", dict(body, label="normal"))
    assert r.status_code == 409 and "different payload" in r.json()["detail"]
    assert [c["label"] for c in live[1].corrections()] == ["spam", "toxic"]


def test_correction_by_decision_takes_its_text(http, live):
    ids = post(http, "/v1/decisions", {"decisions": [
        decision(text="이 방송 몇 시에 끝나요", label="normal", message_id="tw-9",
                 platform="twitch")]}, token=SERVICE).json()["ids"]
    r = post(http, "/v1/corrections", {"decision_id": ids[0], "label": "question"})
    assert r.status_code == 201
    assert r.json()["text"] == "이 방송 몇 시에 끝나요" and r.json()["decision_id"] == ids[0]
    # ... or by the platform's message id (chat commands relayed by serving).
    r = post(http, "/v1/corrections", {"platform": "twitch", "message_id": "tw-9",
                                       "label": "normal", "moderator": "twitch:dan"}, token=SERVICE)
    assert r.status_code == 201 and r.json()["decision_id"] == ids[0]
    r = post(http, "/v1/corrections", {"platform": "twitch", "message_id": "nope", "label": "normal"})
    assert r.status_code == 422 and "no decision for twitch message nope" in r.json()["detail"]


def test_review_queue_least_confident_first_with_audits(http, live, store):
    rows = [decision(message_id=str(i), confidence=c) for i, c in
            enumerate([0.99, 0.41, 0.97, 0.62, 0.30, 0.95, 0.51])]
    ids = post(http, "/v1/decisions", {"decisions": rows}, token=SERVICE).json()["ids"]
    items = http.get("/v1/review", params={"limit": 4, "confident_share": 0},
                     headers=auth(ALICE)).json()["items"]
    assert [i["confidence"] for i in items] == [0.30, 0.41, 0.51, 0.62]
    # A corrected decision leaves the queue.
    post(http, "/v1/corrections", {"decision_id": ids[4], "label": "spam"})
    items = http.get("/v1/review", params={"limit": 4, "confident_share": 0.5},
                     headers=auth(ALICE)).json()["items"]
    audits = [i for i in items if i["sample"] == "audit"]
    uncertain = [i["confidence"] for i in items if i["sample"] == "uncertain"]
    assert len(items) == 4 and len(audits) == 2
    assert all(i["confidence"] >= 0.9 for i in audits)
    assert uncertain == [0.41, 0.51]
    assert ids[4] not in [i["id"] for i in items]


def test_stats_and_health(http, live):
    ids = post(http, "/v1/decisions", {"decisions": [decision(message_id="a", label="spam"),
                                                     decision(message_id="b", label="toxic")]},
               token=SERVICE).json()["ids"]
    post(http, "/v1/corrections", {"decision_id": ids[0], "label": "spam"})
    post(http, "/v1/corrections", {"decision_id": ids[1], "label": "normal"})
    stats = http.get("/v1/stats").json()
    assert stats["decisions"] == 2 and stats["corrections"] == 2 and stats["unexported"] == 2
    assert stats["agreement"] == 0.5
    assert http.get("/healthz").json() == {"status": "ok"}


def test_console_is_served_with_a_strict_policy(http):
    page = http.get("/")
    assert page.status_code == 200 and "chatloop review" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert http.get("/console.js").headers["content-type"].startswith("text/javascript")
    assert http.get("/console.py").status_code == 404
