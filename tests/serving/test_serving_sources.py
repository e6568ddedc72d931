"""Platform sources against loopback servers speaking each wire protocol."""
from __future__ import annotations

import asyncio
import json

import pytest
from servers import (DROP, ChzzkServer, DiscordServer, SoopServer, TwitchServer, chzzk_chat,
                     discord_dispatch, discord_message, soop_chat, soop_packet, twitch_privmsg)

from serving.sources import Backoff, SourceError, open_source
from serving.sources.base import check_url
from serving.sources.soop import decode_packet, encode_packet

FAST = dict(backoff=Backoff(base=0.01, cap=0.05), max_failures=3, open_timeout=5)


async def take(source, n: int) -> list:
    out = []
    async for message in source:
        out.append(message)
        if len(out) == n:
            break
    return out


def test_soop_chat_garbage_and_reconnect(arun):
    async def main():
        scripts = [
            [soop_chat("안녕하세요", "viewer1", "시청자1"),
             b"garbage that is not a packet",
             b"\x1b\t0005000099" + b"00\x0cshort",          # truncated body
             soop_packet("0018", "bj", "viewer2", "별풍선", "10"),   # star balloon: skipped
             soop_packet("9999", "mystery"),                  # unknown service code
             soop_packet("0005", "no user"),                  # chat with too few fields
             soop_chat("방송 몇시까지 해요?", "viewer2", "둘째"),
             0.2, DROP],                                     # pause: the client pings
            [soop_chat("다시 연결됨", "viewer3", "셋째")],
        ]
        async with SoopServer(scripts) as server:
            source = open_source("soop:streamer", api_url=f"http://127.0.0.1:{server.http.port}"
                                 "/afreeca/player_live_api.php",
                                 ws_url="ws://{host}:{port}/Websocket/{bid}", ping_interval=0.05,
                                 **FAST)
            got = await take(source, 3)
            await asyncio.sleep(0.01)
        return server, source, got

    server, source, got = arun(main())
    assert server.errors == []
    assert [(m.text, m.user_id, m.nickname) for m in got] == [
        ("안녕하세요", "viewer1", "시청자1"), ("방송 몇시까지 해요?", "viewer2", "둘째"),
        ("다시 연결됨", "viewer3", "셋째")]
    assert {m.platform for m in got} == {"soop"} and {m.channel for m in got} == {"streamer"}
    assert len({m.message_id for m in got}) == 3
    assert source.stats["malformed"] == 3 and source.stats["unknown"] == 1
    assert source.stats["skipped"] >= 1 and source.stats["reconnects"] == 1
    assert len(server.received) == 2  # reconnected once after the drop
    assert any(f.startswith(b"\x1b\t0000") for f in server.received[0][2:])  # pings sent


def test_soop_packet_roundtrip_counts_utf8_bytes():
    packet = encode_packet("0005", ["한글", "id"])
    assert packet == soop_packet("0005", "한글", "id")
    assert decode_packet(packet) == ("0005", ["", "한글", "id", ""])


def test_chzzk_chat_ping_donation_garbage_and_reconnect(arun):
    async def main():
        scripts = [
            [chzzk_chat(("첫 채팅", "u1", "닉1"), ("두번째", "u2", "닉2")),
             '{"cmd": 0, "ver": "2"}',                                    # ping -> pong
             '{"cmd": 93102, "bdy": [{"msg": "후원", "uid": "u9"}]}',      # donation skipped
             "{not json", '{"no_cmd": 1}', '{"cmd": 55555}',
             '{"cmd": 93101, "bdy": [{"uid": "u3"}]}',                    # chat without msg
             0.05, DROP],
            [chzzk_chat(("재연결 후", "u4", "닉4"))],
        ]
        async with ChzzkServer(scripts) as server:
            base = f"http://127.0.0.1:{server.http.port}"
            source = open_source("chzzk:abcdef0123", api_url=base, comm_url=base,
                                 ws_url=f"ws://127.0.0.1:{server.port}/chat", **FAST)
            got = await take(source, 3)
        return server, source, got

    server, source, got = arun(main())
    assert server.errors == []
    assert [(m.text, m.user_id, m.nickname) for m in got] == [
        ("첫 채팅", "u1", "닉1"), ("두번째", "u2", "닉2"), ("재연결 후", "u4", "닉4")]
    assert got[0].ts == 1700000000.0
    assert {"ver": "2", "cmd": 10000} in [json.loads(f) for f in server.received[0][1:]]
    assert source.stats["malformed"] == 3 and source.stats["unknown"] == 1
    assert source.stats["skipped"] == 1 and source.stats["reconnects"] == 1


def test_twitch_tags_ping_garbage_and_reconnect(arun):
    async def main():
        scripts = [
            [twitch_privmsg("hello chat", "alice", "id-1"),
             "PING :tmi.twitch.tv",
             ":tmi.twitch.tv USERNOTICE #streamer :sub",
             "@only-tags-no-command",
             ":x FROBNICATE #streamer :??",
             twitch_privmsg(r"semi\:colon", "bob", "id-2").replace("display-name=Bob",
                                                                   r"display-name=B\sob"),
             0.05, DROP],
            [twitch_privmsg("after reconnect", "carol", "id-3")
             + "\r\n" + twitch_privmsg("same frame", "dave", "id-4")],
        ]
        async with TwitchServer(scripts) as server:
            source = open_source("twitch:Streamer", ws_url=f"ws://127.0.0.1:{server.port}", **FAST)
            got = await take(source, 4)
        return server, source, got

    server, source, got = arun(main())
    assert server.errors == []
    assert [(m.message_id, m.user_id, m.nickname, m.text) for m in got] == [
        ("id-1", "u-alice", "Alice", "hello chat"), ("id-2", "u-bob", "B ob", r"semi\:colon"),
        ("id-3", "u-carol", "Carol", "after reconnect"), ("id-4", "u-dave", "Dave", "same frame")]
    assert "PONG :tmi.twitch.tv" in server.received[0]
    assert source.stats["malformed"] == 1 and source.stats["unknown"] == 1
    assert source.stats["reconnects"] == 1


def test_discord_gateway_garbage_and_resume(arun, monkeypatch):
    from discord.http import Route

    from serving.sources.discord import TolerantGateway
    channel = "4242"
    # discord.py keeps these process-wide; the source points them at the server
    monkeypatch.setattr(Route, "BASE", Route.BASE)
    monkeypatch.setattr(TolerantGateway, "DEFAULT_GATEWAY", TolerantGateway.DEFAULT_GATEWAY)

    def chat(seq, msg_id, text, user, **kw):
        return discord_message(seq, msg_id, text, user, channel=kw.pop("channel", channel), **kw)

    async def main():
        scripts = [
            [chat(2, 101, "안녕하세요", "Viewer1"),
             chat(3, 102, "나는 봇", "OtherBot", bot=True),                  # bots: skipped
             chat(4, 103, "다른 채널", "Viewer2", channel="777"),            # not this channel
             "{not json",                                                 # malformed frame
             discord_dispatch(5, "MESSAGE_CREATE", {"id": "104", "channel_id": channel}),
             discord_dispatch(6, "SOMETHING_NEW", {"x": 1}),               # unknown event
             json.dumps({"op": 1, "d": 6}),                               # server asks a beat
             chat(7, 105, "방송 몇시까지 해요?", "Viewer2"),
             0.05, DROP],                                                 # cut: resume
            [chat(8, 106, "다시 연결됨", "Viewer3")],
        ]
        async with DiscordServer(scripts) as server:
            source = open_source(f"discord:{channel}", token=DiscordServer.TOKEN,
                                 api_url=f"http://127.0.0.1:{server.http.port}/api/v10",
                                 gateway_url=f"ws://127.0.0.1:{server.port}")
            got = await asyncio.wait_for(take(source, 3), 30)
        return server, source, got

    server, source, got = arun(main())
    assert server.errors == []
    assert [(m.text, m.nickname, m.message_id) for m in got] == [
        ("안녕하세요", "Viewer1", "101"), ("방송 몇시까지 해요?", "Viewer2", "105"),
        ("다시 연결됨", "Viewer3", "106")]
    assert {m.platform for m in got} == {"discord"} and {m.channel for m in got} == {channel}
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


def test_discord_refuses_plain_urls():
    with pytest.raises(SourceError, match="refusing"):
        open_source("discord:1", token="t", gateway_url="ws://gateway.example.com")
    with pytest.raises(SourceError, match="refusing"):
        open_source("discord:1", token="t", api_url="http://discord.com/api/v10")


def test_gives_up_after_bounded_failures(arun):
    async def main():
        source = open_source("twitch:x", ws_url="ws://127.0.0.1:9", backoff=Backoff(0.01, cap=0.02),
                             max_failures=2, open_timeout=1)
        with pytest.raises(SourceError, match="giving up after 2"):
            await take(source, 1)
        return source

    assert arun(main()).stats["reconnects"] == 2


@pytest.mark.parametrize("url", ["ws://example.com/chat", "http://10.0.0.1/x", "ftp://127.0.0.1/"])
def test_plain_urls_only_to_loopback(url):
    with pytest.raises(SourceError):
        check_url(url)
    assert check_url("wss://irc-ws.chat.twitch.tv:443") and check_url("ws://127.0.0.1:1/")


def test_backoff_grows_with_jitter_and_is_capped():
    backoff = Backoff(base=1, factor=2, cap=8)
    delays = [backoff.next_delay() for _ in range(6)]
    assert all(0.5 <= d <= 1 for d in delays[:1]) and all(4 <= d <= 8 for d in delays[3:])
    backoff.reset()
    assert backoff.next_delay() <= 1


def test_unknown_platform_is_a_clear_error():
    with pytest.raises(SourceError, match="unknown platform"):
        open_source("myspace:tom")
    with pytest.raises(SourceError, match="platform:channel"):
        open_source("twitch")
