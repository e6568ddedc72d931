"""CHZZK source against a loopback server speaking CHZZK's lookups and chat socket."""
from __future__ import annotations

import asyncio
import json
import logging

from servers import DROP, ChzzkServer, chzzk_blind, chzzk_chat
from servers import read, take, until

from serving.sources import Backoff, open_source

FAST = dict(backoff=Backoff(base=0.01, cap=0.05), max_failures=3, open_timeout=5)


def source_for(server, **options):
    base = f"http://127.0.0.1:{server.http.port}"
    return open_source("chzzk:abcdef0123", api_url=base, comm_url=base,
                       ws_url=f"ws://127.0.0.1:{server.port}/chat", **FAST, **options)


def test_chzzk_chat_server_ping_donation_garbage_and_reconnect(arun):
    async def main():
        scripts = [
            [chzzk_chat(("첫 채팅", "u1", "닉1"), ("두번째", "u2", "닉2")),
             '{"cmd": 0, "ver": "2"}',                                    # server ping -> pong
             chzzk_chat(("후원합니다 질문 있어요", "u9", "후원자"), cmd=93102),  # donation: chat
             "{not json", '{"no_cmd": 1}', '{"cmd": 55555}',
             '{"cmd": 93101, "bdy": [{"uid": "u3"}]}',                    # chat without msg
             '{"cmd": 93006, "bdy": {}}',                                 # event: skipped
             0.05, DROP],
            [chzzk_chat(("재연결 후", "u4", "닉4"))],
        ]
        return await read(ChzzkServer(scripts), source_for, 4)

    server, source, got = arun(main())
    assert server.errors == []
    assert [(m.text, m.user_id, m.nickname) for m in got] == [
        ("첫 채팅", "u1", "닉1"), ("두번째", "u2", "닉2"), ("후원합니다 질문 있어요", "u9", "후원자"),
        ("재연결 후", "u4", "닉4")]
    assert got[0].ts == 1700000000.0 and got[0].message_id == "N1chat-u1-1700000000000"
    assert {"ver": "2", "cmd": 10000} in [json.loads(f) for f in server.received[0][1:]]
    assert source.stats["malformed"] == 3 and source.stats["unknown"] == 1
    assert source.stats["skipped"] == 1 and source.stats["reconnects"] == 1


def test_chzzk_client_pings_and_browser_user_agent(arun):
    async def main():
        async with ChzzkServer([[chzzk_chat(("안녕", "u1", "닉1"))]]) as server:
            source = source_for(server, ping_interval=0.05)
            stream = source.stream()
            got = [await anext(stream)]
            # the client's own ping runs while the reader waits; the server answers 10000
            await until(lambda: {"cmd": 0, "ver": "2"} in
                        [json.loads(f) for f in server.received[0][1:]])
            await stream.aclose()
        return server, source, got

    server, source, got = arun(main())
    assert [m.text for m in got] == ["안녕"]
    agents = [headers.get("user-agent", "") for *_, headers, _ in server.http.requests]
    assert len(agents) == 2 and all(a.startswith("Mozilla/5.0") for a in agents)
    assert server.user_agents[0].startswith("Mozilla/5.0")


def test_chzzk_hidden_system_and_emoji_only_messages_are_not_classified(arun):
    async def main():
        scripts = [[chzzk_chat(("가려진 욕설", "u1", "닉1"), msgStatusType="HIDDEN"),
                    chzzk_chat(("{:d_47:} 몇시에 끝나요 {:d_12:}", "u2", "닉2")),
                    chzzk_chat(("{:d_47:}{:d_48:}", "u3", "닉3")),
                    chzzk_chat(("님이 구독했습니다", "u4", "닉4"), msgTypeCode=30),
                    chzzk_chat(("끝", "u5", "닉5"))]]
        return await read(ChzzkServer(scripts), source_for, 2)

    _, source, got = arun(main())
    assert [(m.text, m.user_id) for m in got] == [("몇시에 끝나요", "u2"), ("끝", "u5")]
    assert source.stats["skipped"] == 3 and source.stats["malformed"] == 0


def test_chzzk_blind_reaches_the_platform_moderation_hook(arun, caplog):
    async def main(hook):
        scripts = [[chzzk_chat(("나쁜 말", "u1", "닉1")), chzzk_blind("u1", 1700000000000),
                    chzzk_chat(("다음", "u2", "닉2"))]]
        options = {"on_platform_moderation": hook} if hook else {}
        _, source, got = await read(ChzzkServer(scripts), lambda s: source_for(s, **options), 2)
        return source, got

    events = []

    async def hook(event):
        events.append(event)

    source, got = arun(main(hook))
    assert [m.text for m in got] == ["나쁜 말", "다음"]
    assert events == [{"platform": "chzzk", "channel": "abcdef0123", "kind": "delete",
                       "message_id": got[0].message_id, "user": "u1", "duration_s": None,
                       "ts": 1700000000.0}]
    assert source.stats["platform_moderation"] == 1 and source.stats["unknown"] == 0
    with caplog.at_level(logging.INFO, logger="serving.sources.moderation"):
        arun(main(None))  # default: logged
    assert any("moderator action: delete" in r.getMessage() and got[0].message_id in r.getMessage()
               for r in caplog.records)


def test_chzzk_refused_token_gets_a_fresh_lookup(arun):
    async def main():
        scripts = [[], [chzzk_chat(("새 토큰", "u1", "닉1"))]]
        async with ChzzkServer(scripts, refuse={"tok-1"}) as server:
            source = source_for(server)
            got = await asyncio.wait_for(take(source, 1), 20)
        return server, source, got

    server, source, got = arun(main())
    assert [m.text for m in got] == ["새 토큰"]
    assert server.tokens == ["tok-1", "tok-2"]
    assert [r[0]["bdy"]["accTkn"] for r in server.received] == ["tok-1", "tok-2"]
    assert source.stats["reconnects"] == 1
