"""YouTube Live source against a loopback server speaking the Data API v3 subset."""
from __future__ import annotations

import asyncio
import logging
import random

import pytest
from youtube_server import (CHANNEL_ID, LIVE_CHAT_ID, VIDEO_ID, YouTubeServer, banned, deleted,
                            error, other_event, page, super_chat, text_message)

from serving.metrics import Metrics
from serving.sources import Backoff, SourceError, open_source
from serving.sources.youtube import YouTubeSource
from servers import take

FAST = dict(backoff=Backoff(base=0.01, cap=0.05), max_failures=3, open_timeout=5)
KEY = "AIzaSy-test-key-not-a-real-one"


class Waits:
    """An injected sleep: records every requested wait, waits no real time."""

    def __init__(self):
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


def source_for(server: YouTubeServer, spec: str = f"youtube:{VIDEO_ID}", env: dict | None = None,
               **kwargs) -> YouTubeSource:
    kwargs = {**FAST, **kwargs}
    kwargs.setdefault("sleep", Waits())
    return open_source(spec, api_url=server.url,
                       env={"YOUTUBE_API_KEY": KEY} if env is None else env, **kwargs)


async def drain(source) -> list:
    return [message async for message in source]


def chat_calls(server: YouTubeServer) -> list:
    return [r for r in server.requests if r[1] == "/youtube/v3/liveChat/messages"]


def test_polls_pages_at_the_servers_interval_and_skips_the_backlog(arun, caplog):
    caplog.set_level(logging.DEBUG)
    chat = [
        page(text_message("old-1", "방송 전 채팅", "UCold", "옛날"),
             text_message("old-2", "이것도 백로그", "UCold", "옛날"), interval_ms=2000),
        page(text_message("m1", "안녕하세요", "UCviewer1", "시청자1",
                          published="2026-11-22T06:00:00.250+00:00"),
             super_chat("sc1", "질문 있어요!", "UCviewer2", "후원자"),
             super_chat("sc2", "", "UCviewer3", "조용한 후원자"),        # no comment: skipped
             other_event("st1", "superStickerEvent"),                  # known, skipped
             other_event("x1", "someFutureEvent"),                     # unknown type
             {"kind": "youtube#liveChatMessage", "id": "bad"},         # no snippet
             interval_ms=3500),
        page(text_message("m2", "두번째 페이지", "UCviewer1", "시청자1"), interval_ms=1500),
    ]

    async def main():
        async with YouTubeServer(chat, api_key=KEY) as server:
            source = source_for(server)
            got = await take(source, 3)
        return server, source, got

    server, source, got = arun(main())
    assert server.errors == []               # every pageToken was the last nextPageToken
    assert [(m.message_id, m.text, m.user_id, m.nickname) for m in got] == [
        ("m1", "안녕하세요", "UCviewer1", "시청자1"),
        ("sc1", "질문 있어요!", "UCviewer2", "후원자"),
        ("m2", "두번째 페이지", "UCviewer1", "시청자1")]
    assert {(m.platform, m.channel) for m in got} == {("youtube", LIVE_CHAT_ID)}
    assert got[0].ts == 1795327200.25
    # the waits asked for are the server's pollingIntervalMillis, page by page
    assert source.sleep.delays == [2.0, 3.5] and source.intervals == [2.0, 3.5]
    assert [r[2].get("pageToken") for r in chat_calls(server)] == [None, ["tok-1"], ["tok-2"]]
    assert all(r[2]["part"] == ["snippet,authorDetails"] for r in chat_calls(server))
    assert source.stats["skipped"] == 4 and source.stats["unknown"] == 1
    assert source.stats["malformed"] == 1 and source.stats["reconnects"] == 0
    # quota: videos.list (1) + three liveChatMessages.list (5 each), as the server counted
    assert source.quota_used == source.quota_total == server.units == 16
    # the key travels in a header, never in a URL (which httpx logs) nor in any log line
    assert all(r[3].get("x-goog-api-key") == KEY and "key" not in r[2] for r in server.requests)
    assert KEY not in caplog.text


def test_moderators_deletions_and_bans_are_surfaced(arun):
    events = []

    async def on_moderation(event: dict) -> None:
        events.append(event)
        if event["kind"] == "ban":
            raise RuntimeError("a broken handler does not stop the chat")

    chat = [page(interval_ms=1000),
            page(text_message("m1", "욕설", "UCtroll", "트롤"),
                 deleted("d1", "m1"),
                 banned("b1", "UCtroll", "트롤", "temporary", 300),
                 banned("b2", "UCspammer", "스패머"),
                 deleted("d2", "unseen-message"),
                 {**deleted("d3", "x"), "snippet": {"type": "messageDeletedEvent"}},  # no details
                 interval_ms=1000),
            page(text_message("m2", "계속", "UCviewer", "시청자"))]

    async def main():
        async with YouTubeServer(chat, api_key=KEY) as server:
            source = source_for(server, on_platform_moderation=on_moderation)
            got = await take(source, 2)
        return source, got

    source, got = arun(main())
    assert [m.text for m in got] == ["욕설", "계속"]
    common = {"platform": "youtube", "channel": LIVE_CHAT_ID}
    assert events == [
        {**common, "kind": "delete", "message_id": "m1", "user": "UCtroll", "duration_s": None,
         "ts": 1795327202.0},
        {**common, "kind": "timeout", "message_id": None, "user": "UCtroll", "duration_s": 300,
         "ts": 1795327203.0},
        {**common, "kind": "ban", "message_id": None, "user": "UCspammer", "duration_s": None,
         "ts": 1795327203.0},
        {**common, "kind": "delete", "message_id": "unseen-message", "user": None,
         "duration_s": None, "ts": 1795327202.0}]
    assert source.stats["moderation"] == 4 and source.stats["malformed"] == 1


def test_moderation_is_logged_without_a_callback(arun, caplog):
    caplog.set_level(logging.INFO, logger="serving.sources.moderation")
    chat = [page(), page(banned("b1", "UCtroll", "트롤")), page(text_message("m", "끝", "UCa", "a"))]

    async def main():
        async with YouTubeServer(chat, api_key=KEY) as server:
            await take(source_for(server), 1)

    arun(main())
    assert f"youtube:{LIVE_CHAT_ID} moderator action: ban message=None user=UCtroll" \
        in caplog.text


@pytest.mark.parametrize("end", ["offlineAt", "chatEndedEvent", "liveChatEnded",
                                 "liveChatNotFound", "liveChatDisabled"])
def test_an_ended_chat_ends_the_source_cleanly(arun, caplog, end):
    caplog.set_level(logging.INFO, logger="serving.sources.youtube")
    last = {"offlineAt": page(text_message("m2", "마지막", "UCa", "a"),
                              offline_at="2026-11-22T07:00:00Z"),
            "chatEndedEvent": page(text_message("m2", "마지막", "UCa", "a"),
                                   other_event("e1", "chatEndedEvent")),
            "liveChatEnded": error(403, "liveChatEnded", "The specified live chat is no longer live."),
            "liveChatDisabled": error(403, "liveChatDisabled", "Live chat is not enabled."),
            "liveChatNotFound": error(404, "liveChatNotFound", "The live chat cannot be found.")}[end]
    chat = [page(), page(text_message("m1", "첫", "UCa", "a")), last]

    async def main():
        async with YouTubeServer(chat, api_key=KEY) as server:
            source = source_for(server)
            got = await drain(source)           # ends by itself
        return server, source, got

    server, source, got = arun(main())
    expected = ["첫", "마지막"] if end in ("offlineAt", "chatEndedEvent") else ["첫"]
    assert [m.text for m in got] == expected
    assert source.stats["ended"] == 1 and source.stats["reconnects"] == 0
    assert len(chat_calls(server)) == 3            # no poll after the end
    assert f"live chat {LIVE_CHAT_ID} ended" in caplog.text


def test_quota_exceeded_and_rate_limit_back_off_then_poll_again(arun, caplog):
    caplog.set_level(logging.WARNING, logger="serving.sources.youtube")
    chat = [page(interval_ms=2000),
            error(403, "quotaExceeded", "The request cannot be completed because you have "
                  "exceeded your quota.", domain="youtube.quota"),
            error(403, "quotaExceeded", domain="youtube.quota"),
            error(403, "rateLimitExceeded", "The request was sent too quickly."),
            page(text_message("m1", "돌아왔다", "UCa", "a"), interval_ms=2000),
            error(403, "quotaExceeded", domain="youtube.quota"),
            page(text_message("m2", "또", "UCa", "a"))]

    async def main():
        async with YouTubeServer(chat, api_key=KEY) as server:
            source = source_for(server, quota_backoff=Backoff(base=300, cap=3600,
                                                              rng=random.Random(7)),
                                rate_backoff=Backoff(base=5, cap=60, rng=random.Random(7)))
            got = await take(source, 2)
        return server, source, got

    server, source, got = arun(main())
    assert server.errors == []                     # retried with the same page token
    assert [m.text for m in got] == ["돌아왔다", "또"]
    waits = source.sleep.delays
    assert len(waits) == 6 and waits[0] == 2.0 and waits[4] == 2.0
    assert 150 <= waits[1] <= 300 and 300 <= waits[2] <= 600   # quota: doubling
    assert 2.5 <= waits[3] <= 5                                # rate limit: its own backoff
    assert 150 <= waits[5] <= 300                              # reset after a good page
    assert source.stats["rate_limited"] == 4 and source.stats["reconnects"] == 0
    assert "quotaExceeded; polling again in" in caplog.text


def test_malformed_json_is_logged_and_retried(arun, caplog):
    caplog.set_level(logging.WARNING)
    chat = [page(), b"{\"items\": [", b"[1, 2]", page(text_message("m1", "정상", "UCa", "a"))]

    async def main():
        async with YouTubeServer(chat, api_key=KEY) as server:
            source = source_for(server)
            got = await take(source, 1)
        return server, source, got

    server, source, got = arun(main())
    assert server.errors == []            # the page token survived the reconnects
    assert [m.text for m in got] == ["정상"]
    assert source.stats["malformed"] == 2 and source.stats["reconnects"] == 2
    assert "body is not JSON" in caplog.text and "expected a JSON object" in caplog.text
    assert [r[1] for r in server.requests].count("/youtube/v3/videos") == 1   # not re-resolved


@pytest.mark.parametrize("spec,env,paths,units", [
    (f"youtube:{VIDEO_ID}", {"YOUTUBE_API_KEY": KEY}, ["videos"], 1),
    (f"youtube:channel:{CHANNEL_ID}", {"YOUTUBE_API_KEY": KEY}, ["search", "videos"], 101),
    ("youtube:mine", {"YOUTUBE_TOKEN": "ya29.mine-secret"}, ["liveBroadcasts"], 1),
])
def test_each_spec_resolves_the_live_chat(arun, spec, env, paths, units):
    async def main():
        async with YouTubeServer([page(), page(text_message("m1", "hi", "UCa", "a"))],
                                 api_key=KEY, token="ya29.mine-secret") as server:
            source = source_for(server, spec, env=env)
            got = await take(source, 1)
        return server, source, got

    server, source, got = arun(main())
    assert server.errors == []
    assert [r[1].removeprefix("/youtube/v3/") for r in server.requests][:len(paths) + 1] == \
        paths + ["liveChat/messages"]
    assert got[0].channel == LIVE_CHAT_ID and source.live_chat_id == LIVE_CHAT_ID
    assert source.quota_used == server.units == units + 10
    if "YOUTUBE_TOKEN" in env:
        assert all(r[3]["authorization"] == "Bearer ya29.mine-secret" for r in server.requests)


def test_oauth_token_is_refreshed_once_on_401(arun, caplog):
    caplog.set_level(logging.DEBUG)
    env = {"YOUTUBE_TOKEN": "ya29.expired-secret", "YOUTUBE_REFRESH_TOKEN": "refresh-1",
           "YOUTUBE_CLIENT_ID": "client-1", "YOUTUBE_CLIENT_SECRET": "client-secret-1"}

    async def main():
        async with YouTubeServer([page(), page(text_message("m1", "hi", "UCa", "a"))],
                                 token="ya29.current-secret",
                                 refreshed_token="ya29.current-secret") as server:
            source = source_for(server, env={**env, "YOUTUBE_TOKEN_URL": f"{server.url}/token"})
            got = await take(source, 1)
        return server, got

    server, got = arun(main())
    assert [m.text for m in got] == ["hi"] and server.refreshes == 1
    assert [r[3].get("authorization") for r in server.requests if r[0] == "GET"][:2] == [
        "Bearer ya29.expired-secret", "Bearer ya29.current-secret"]
    for secret in ("ya29.expired-secret", "ya29.current-secret", "refresh-1", "client-secret-1"):
        assert secret not in caplog.text


def test_a_refused_token_is_a_clear_error(arun):
    async def main():
        async with YouTubeServer([], token="ya29.right") as server:
            await drain(source_for(server, env={"YOUTUBE_TOKEN": "ya29.wrong"}))

    with pytest.raises(SourceError, match=r"HTTP 401 authError.*YOUTUBE_TOKEN"):
        arun(main())


def test_an_offline_video_is_retried_then_reported(arun):
    async def main():
        async with YouTubeServer([], api_key=KEY, live=False) as server:
            source = source_for(server)
            with pytest.raises(SourceError, match="has no active live chat"):
                await drain(source)
        return source

    source = arun(main())
    assert source.stats["reconnects"] == 3


@pytest.mark.parametrize("spec,env,match", [
    ("youtube:too-short", {"YOUTUBE_API_KEY": KEY}, "expected youtube:VIDEO_ID"),
    ("youtube:channel:nope", {"YOUTUBE_API_KEY": KEY}, "expected youtube:VIDEO_ID"),
    (f"youtube:{VIDEO_ID}", {}, "set YOUTUBE_API_KEY"),
    ("youtube:mine", {"YOUTUBE_API_KEY": KEY}, "youtube:mine needs an OAuth token"),
])
def test_bad_specs_and_missing_credentials_are_clear_errors(arun, spec, env, match):
    async def main():
        async with YouTubeServer([]) as server:
            await drain(source_for(server, spec, env=env))

    with pytest.raises(SourceError, match=match):
        arun(main())


def test_plain_http_only_to_loopback():
    with pytest.raises(SourceError, match="only https"):
        open_source(f"youtube:{VIDEO_ID}", api_url="http://example.com", env={})


def test_quota_budget_warnings_and_the_pacific_day(caplog):
    caplog.set_level(logging.WARNING, logger="serving.sources.youtube")
    now = [1795327200.0]                      # 2026-11-21 22:00 in Los Angeles
    source = YouTubeSource(VIDEO_ID, env={}, daily_quota=100, clock=lambda: now[0])
    for _ in range(15):
        source.charge(5)
    assert source.quota_used == 75 and "daily units used" not in caplog.text
    source.charge(5)
    assert caplog.text.count("80 of 100 daily units used") == 1
    for _ in range(5):
        source.charge(5)
    assert caplog.text.count("over the daily budget") == 1 and source.quota_used == 105
    now[0] += 3 * 3600                        # past midnight Pacific: a new quota day
    source.charge(5)
    assert source.quota_used == 5 and source.quota_total == 110


def test_quota_is_exported_as_a_prometheus_counter():
    source = YouTubeSource(VIDEO_ID, env={})
    source.charge(5)
    source.charge(100)
    metrics = Metrics()
    metrics.attach(source=source)
    assert b"chatloop_source_quota_units_total 105.0" in metrics.render()
