"""Discord source against a loopback server speaking Discord's REST login and gateway."""
from __future__ import annotations

import asyncio
import json

import discord.client
import discord.gateway
import pytest
from discord.http import Route
from servers import (DiscordServer, DROP, discord_delete, discord_dispatch, discord_guild,
                     discord_message, discord_thread, discord_user_id)
from servers import take

from serving.sources import SourceError, open_source

CHANNEL = "4242"
EDITED = "2026-11-22T06:05:00.000000+00:00"


def chat(seq, msg_id, text, user, **kw):
    return discord_message(seq, msg_id, text, user, channel=kw.pop("channel", CHANNEL), **kw)


def source_for(server: DiscordServer, **options):
    return open_source(f"discord:{CHANNEL}", token=DiscordServer.TOKEN,
                       api_url=f"http://127.0.0.1:{server.http.port}/api/v10",
                       gateway_url=f"ws://127.0.0.1:{server.port}", **options)


async def until_end(source) -> list:
    """Messages up to the one whose text is "end" (scripts finish with it)."""
    out = []
    async for message in source:
        if message.text == "end":
            return out
        out.append(message)


def test_discord_gateway_garbage_and_resume(arun):
    defaults = Route.BASE, discord.client.DiscordWebSocket, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY

    async def main():
        scripts = [
            [chat(2, 101, "안녕하세요", "Viewer1"),
             chat(3, 102, "나는 봇", "OtherBot", bot=True),                  # bots: skipped
             chat(4, 103, "다른 채널", "Viewer2", channel="777"),            # not this channel
             "{not json",                                                 # malformed frame
             discord_dispatch(5, "MESSAGE_CREATE", {"id": "104", "channel_id": CHANNEL}),
             discord_dispatch(6, "SOMETHING_NEW", {"x": 1}),               # unknown event
             json.dumps({"op": 1, "d": 6}),                               # server asks a beat
             chat(7, 105, "방송 몇시까지 해요?", "Viewer2"),
             0.05, DROP],                                                 # cut: resume
            [chat(8, 106, "다시 연결됨", "Viewer3")],
        ]
        async with DiscordServer(scripts) as server:
            source = source_for(server)
            got = await asyncio.wait_for(take(source, 3), 30)
        return server, source, got

    server, source, got = arun(main())
    assert server.errors == []
    assert [(m.text, m.nickname, m.message_id) for m in got] == [
        ("안녕하세요", "Viewer1", "101"), ("방송 몇시까지 해요?", "Viewer2", "105"),
        ("다시 연결됨", "Viewer3", "106")]
    assert {m.platform for m in got} == {"discord"} and {m.channel for m in got} == {CHANNEL}
    assert not any(m.edited for m in got)
    assert source.stats["malformed"] == 2 and source.stats["unknown"] == 1
    assert source.stats["skipped"] == 1 and source.stats["reconnects"] == 1
    method, path, _, headers, _ = server.http.requests[0]
    assert (method, path) == ("GET", "/api/v10/users/@me")
    assert headers["authorization"] == f"Bot {DiscordServer.TOKEN}"
    identify = next(f for f in server.received[0] if isinstance(f, dict) and f["op"] == 2)
    resume = next(f for f in server.received[1] if isinstance(f, dict) and f["op"] == 6)
    assert identify["d"]["token"] == DiscordServer.TOKEN
    assert resume["d"] == {"token": DiscordServer.TOKEN, "session_id": DiscordServer.SESSION,
                           "seq": 7}
    # nothing in discord.py was changed process-wide
    assert defaults == (Route.BASE, discord.client.DiscordWebSocket,
                        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)


def test_two_discord_sources_in_one_process_use_their_own_urls(arun):
    async def main():
        async with DiscordServer([[chat(2, 1, "from A", "Viewer"), chat(3, 2, "end", "Viewer")]]) as a, \
                DiscordServer([[chat(2, 1, "from B", "Viewer"), chat(3, 2, "end", "Viewer")]]) as b:
            return a, b, await asyncio.wait_for(
                asyncio.gather(until_end(source_for(a)), until_end(source_for(b))), 30)

    a, b, (got_a, got_b) = arun(main())
    assert [m.text for m in got_a] == ["from A"] and [m.text for m in got_b] == ["from B"]
    assert a.errors == b.errors == [] and len(a.http.requests) >= 1 and len(b.http.requests) >= 1
    assert Route.BASE == "https://discord.com/api/v10"
    assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "wss://gateway.discord.gg/"


def test_discord_reads_threads_under_the_channel(arun):
    guild = discord_guild([CHANNEL, "777"], [discord_thread("5001", CHANNEL, "질문 스레드"),
                                            discord_thread("5002", "777", "other channel's")])
    scripts = [[
        chat(3, 301, "in a thread from GUILD_CREATE", "Viewer1", channel="5001"),
        chat(4, 302, "thread of another channel", "Viewer2", channel="5002"),
        discord_dispatch(5, "THREAD_CREATE", {**discord_thread("5003", CHANNEL, "new"),
                                              "newly_created": True}),
        chat(6, 303, "in a new thread", "Viewer3", channel="5003"),
        discord_dispatch(7, "THREAD_LIST_SYNC", {"guild_id": "900", "channel_ids": [CHANNEL],
                                                 "threads": [discord_thread("5004", CHANNEL)],
                                                 "members": []}),
        chat(8, 304, "in a synced thread", "Viewer4", channel="5004"),
        chat(9, 305, "unknown thread", "Viewer5", channel="5999"),
        chat(10, 306, "end", "Viewer1")]]

    async def main():
        async with DiscordServer(scripts, guild=guild) as server:
            return server, await asyncio.wait_for(until_end(source_for(server)), 30)

    server, got = arun(main())
    assert server.errors == []
    assert [(m.channel, m.message_id, m.text) for m in got] == [
        ("5001", "301", "in a thread from GUILD_CREATE"), ("5003", "303", "in a new thread"),
        ("5004", "304", "in a synced thread")]


def test_discord_edits_are_checked_again(arun):
    scripts = [[
        chat(2, 401, "좋은 방송이네요", "Viewer1"),
        chat(3, 401, "좋은 방송이네요 ㅅㅂ", "Viewer1", event="MESSAGE_UPDATE",
             edited_timestamp=EDITED),                                    # a user edit
        chat(4, 401, "좋은 방송이네요 ㅅㅂ", "Viewer1", event="MESSAGE_UPDATE",
             edited_timestamp=EDITED),                                    # same text again
        chat(5, 402, "never seen before", "Viewer2", event="MESSAGE_UPDATE",
             edited_timestamp=EDITED),                                    # not cached: checked
        chat(6, 403, "embed unfurled", "Viewer2", event="MESSAGE_UPDATE"),  # no edit timestamp
        chat(7, 404, "bot edit", "OtherBot", bot=True, event="MESSAGE_UPDATE",
             edited_timestamp=EDITED),
        chat(8, 405, "other channel", "Viewer2", channel="777", event="MESSAGE_UPDATE",
             edited_timestamp=EDITED),
        chat(9, 406, "end", "Viewer1")]]

    async def main():
        async with DiscordServer(scripts) as server:
            source = source_for(server)
            return source, await asyncio.wait_for(until_end(source), 30)

    source, got = arun(main())
    assert [(m.message_id, m.text, m.edited) for m in got] == [
        ("401", "좋은 방송이네요", False), ("401", "좋은 방송이네요 ㅅㅂ", True),
        ("402", "never seen before", True)]
    assert got[1].ts == 1795327500.0 != got[0].ts   # an edit carries the edit's time
    assert source.stats["edits"] == 2


def test_discord_deletes_reach_the_moderation_callback(arun):
    events = []
    guild = discord_guild([CHANNEL], [discord_thread("5001", CHANNEL)])
    scripts = [[
        chat(3, 501, "지워질 메시지", "Viewer1"),
        discord_delete(4, 501, channel=CHANNEL),            # cached: the author is known
        discord_delete(5, 502, channel="5001"),             # in a thread, not cached
        discord_delete(6, 503, channel="777"),              # another channel: ignored
        discord_delete(7, [505, 504], channel=CHANNEL),     # bulk delete
        chat(8, 506, "end", "Viewer1")]]

    async def main():
        async with DiscordServer(scripts, guild=guild) as server:
            source = source_for(server, on_platform_moderation=events.append)
            await asyncio.wait_for(until_end(source), 30)
            return source

    source = arun(main())
    ts = [e.pop("ts") for e in events]
    assert all(isinstance(t, float) for t in ts)
    base = {"platform": "discord", "kind": "delete", "duration_s": None}
    assert events == [
        {**base, "channel": CHANNEL, "message_id": "501", "user": discord_user_id("Viewer1")},
        {**base, "channel": "5001", "message_id": "502", "user": None},
        {**base, "channel": CHANNEL, "message_id": "504", "user": None},
        {**base, "channel": CHANNEL, "message_id": "505", "user": None}]
    assert source.stats["moderation"] == 4


def test_discord_refuses_plain_urls():
    with pytest.raises(SourceError, match="refusing"):
        open_source("discord:1", token="t", gateway_url="ws://gateway.example.com")
    with pytest.raises(SourceError, match="refusing"):
        open_source("discord:1", token="t", api_url="http://discord.com/api/v10")
