"""Platform moderation -> review items: a human moderator's delete, timeout or ban on the
platform flags the bot's `normal` decisions for review (`sample: platform-moderation`); a
moderator's label on such an item is a correction through the usual path."""
from __future__ import annotations

import json
import shutil
import time

import pytest
from feedback_helpers import ALICE, SERVICE, auth, decision
# The console test's headless Chromium fixture (skipped there without chromium).
from test_feedback_console import CHROMEDRIVER, CHROMIUM, browser, open_console, wait_for  # noqa: F401

from feedback.client import FeedbackAPIError, FeedbackClient


def post_decisions(http, *rows):
    response = http.post("/v1/decisions", headers=auth(SERVICE), json={"decisions": list(rows)})
    assert response.status_code == 201, response.text
    return response.json()["ids"]


def review(http):
    response = http.get("/v1/review", headers=auth(ALICE))
    assert response.status_code == 200
    return response.json()["items"]


def test_platform_delete_becomes_a_marked_review_item_and_a_correction(http, live):
    ids = post_decisions(http,
                         decision(message_id="m1", text="무료 충전 여기로", label="normal",
                                  confidence=0.97, user_id="u1"),
                         decision(message_id="m2", text="안녕하세요", label="normal",
                                  confidence=0.2, user_id="u2"))
    # The source's event shape (serving relays it as is).
    event = {"platform": "twitch", "channel": "#test", "message_id": "m1", "user": "u1",
             "kind": "delete", "duration_s": None, "ts": time.time()}
    first = http.post("/v1/platform-events", headers=auth(SERVICE), json={"events": [event]})
    assert first.status_code == 201, first.text
    assert first.json()["flagged"] == [ids[0]]
    items = review(http)
    # Flagged first even though it is the more confident decision.
    assert [i["id"] for i in items] == [ids[0], ids[1]]
    assert items[0]["sample"] == "platform-moderation"
    assert items[0]["flag"]["reason"] == "platform-moderation"
    assert items[0]["flag"]["kind"] == "delete"
    assert items[1]["sample"] == "uncertain" and "flag" not in items[1]
    # Confirming: the moderator picks a label -> a correction, and the item leaves the queue.
    response = http.post("/v1/corrections", headers=auth(ALICE),
                         json={"decision_id": ids[0], "label": "spam"})
    assert response.status_code == 201, response.text
    row = response.json()
    assert (row["decision_id"], row["label"], row["moderator"]) == (ids[0], "spam", "alice")
    assert row["text"] == "무료 충전 여기로"
    assert [i["id"] for i in review(http)] == [ids[1]]
    # A repeated event is stored once and flags nothing new.
    again = http.post("/v1/platform-events", headers=auth(SERVICE), json={"events": [event]})
    assert again.json()["events"][0]["id"] == first.json()["events"][0]["id"]
    assert http.get("/v1/stats").json()["platform_moderation_flags"] == 1


def test_timeout_flags_the_users_recent_normal_decisions_only(http, live):
    ids = post_decisions(http,
                         decision(message_id="a1", user_id="troll", label="normal"),
                         decision(message_id="a2", user_id="troll", label="toxic"),
                         decision(message_id="a3", user_id="troll", label="normal",
                                  channel="#other"),
                         decision(message_id="a4", user_id="someone", label="normal"))
    response = http.post("/v1/platform-events", headers=auth(SERVICE), json={"events": [
        {"platform": "twitch", "channel": "#test", "user": "troll", "kind": "timeout",
         "duration_s": 600, "ts": time.time()}]})
    assert response.json()["flagged"] == [ids[0]]   # not the toxic one, other channel, other user
    # Long before the window: nothing.
    response = http.post("/v1/platform-events", headers=auth(SERVICE), json={"events": [
        {"platform": "twitch", "user": "someone", "kind": "ban", "ts": time.time() + 10_000}]})
    assert response.json()["flagged"] == []


def test_an_event_before_its_decision_flags_the_decision_when_it_arrives(http, live):
    """The moderator deleted faster than serving flushed its decisions."""
    response = http.post("/v1/platform-events", headers=auth(SERVICE), json={"events": [
        {"platform": "twitch", "channel": "#test", "message_id": "late", "kind": "delete",
         "ts": time.time()},
        {"platform": "twitch", "channel": "#test", "user": "u9", "kind": "ban",
         "ts": time.time()}]})
    assert response.json()["flagged"] == []
    ids = post_decisions(http, decision(message_id="late", user_id="u1"),
                         decision(message_id="other", user_id="u9"),
                         decision(message_id="spam-ok", user_id="u9", label="spam"))
    items = review(http)
    marked = {i["id"] for i in items if i["sample"] == "platform-moderation"}
    assert marked == {ids[0], ids[1]}


def test_only_service_tokens_report_events_and_bad_events_are_refused(http, live):
    body = {"events": [{"platform": "twitch", "message_id": "x", "kind": "delete"}]}
    assert http.post("/v1/platform-events", headers=auth(ALICE), json=body).status_code == 403
    assert http.post("/v1/platform-events", json=body).status_code == 401
    for bad in ({"events": []}, {"events": [{"platform": "twitch", "kind": "nuke"}]},
                {"events": [{"kind": "delete", "message_id": "x"}]},
                {"events": [{"platform": "twitch", "kind": "ban", "ts": float("nan")}]}):
        response = http.post("/v1/platform-events", headers=auth(SERVICE),
                             content=json.dumps(bad))
        assert response.status_code == 422, (bad, response.text)


def test_client_reports_events(live):
    url, store = live
    store.add_decisions([decision(message_id="c1", label="normal")])
    with FeedbackClient(url, SERVICE) as client:
        result = client.add_platform_events([{"platform": "twitch", "channel": "#test",
                                              "message_id": "c1", "kind": "delete"}])
        assert len(result["flagged"]) == 1
    with FeedbackClient(url, ALICE) as client, pytest.raises(FeedbackAPIError) as refused:
        client.add_platform_events([{"platform": "twitch", "kind": "clear"}])
    assert refused.value.status == 403


@pytest.mark.skipif(not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)),
                    reason="needs Debian's chromium and chromium-driver")
def test_console_marks_platform_moderation_items(browser, live):
    """In a real headless Chromium: the flagged row carries the mark, a click corrects it."""
    from selenium.webdriver.common.by import By
    url, store = live
    ids = store.add_decisions([decision(message_id="p1", text="여기 무료 충전", confidence=0.95),
                               decision(message_id="p2", text="안녕", confidence=0.3)])
    store.add_platform_events([{"platform": "twitch", "channel": "#test", "message_id": "p1",
                                "kind": "delete"}])
    rows = open_console(browser, url)
    first = rows[0]
    assert "platform-moderation" in first.get_attribute("class")
    assert first.find_element(By.CSS_SELECTOR, ".mark").text == "platform: delete"
    assert "platform-moderation" not in rows[1].get_attribute("class")
    first.find_element(By.CSS_SELECTOR, "button[data-label=spam]").click()
    wait_for(lambda: store.corrections(decision_id=ids[0]), what="the correction")
    assert store.corrections(decision_id=ids[0])[0]["label"] == "spam"
