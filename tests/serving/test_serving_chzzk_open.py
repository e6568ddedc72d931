"""CHZZK Open API session source against a loopback Open API + Socket.IO 2 session socket."""
from __future__ import annotations

import asyncio

import pytest
from chzzk_open_server import ChzzkOpenServer, open_chat, sio_event
from servers import DROP
from servers import read, take, until

from serving.oauth import OAuthToken
from serving.sources import Backoff, open_source
from serving.sources.base import SourceError
from serving.sources.chzzk_open import ChzzkOpenSource

FAST = dict(backoff=Backoff(base=0.01, cap=0.05), max_failures=3, open_timeout=5)


def token_for(server, access="access-0", refresh="refresh-0") -> OAuthToken:
    base = f"http://127.0.0.1:{server.http.port}"
    return OAuthToken(access, refresh, client_id="cid", client_secret="csecret",
                      token_url=f"{base}/auth/v1/token", style="chzzk", name="CHZZK")


def source_for(server, **options):
    options.setdefault("token", token_for(server))
    return open_source("chzzk-open:ch0123", api_url=f"http://127.0.0.1:{server.http.port}",
                       env={}, **FAST, **options)


def test_session_subscribe_chats_malformed_and_reconnect_with_new_url(arun):
    async def main():
        scripts = [
            [open_chat("첫 채팅 {:d_47:}", "u1", "닉1", time_ms=1700000000000),
             "42not json", '42["CHAT", "{broken"]', "4", "9xyz",        # malformed: skipped
             '42["CHAT", {"content": "no sender"}]',
             sio_event("DONATION", {"donationText": "후원"}),           # not subscribed: skipped
             open_chat("두번째", "u2", "닉2", as_string=False, messageId="m-2"),
             0.05, DROP],
            [open_chat("재연결 후", "u3", "닉3")],
        ]
        return await read(ChzzkOpenServer(scripts), source_for, 3)

    server, source, got = arun(main())
    assert server.errors == []
    assert [(m.platform, m.text, m.user_id, m.nickname) for m in got] == [
        ("chzzk", "첫 채팅", "u1", "닉1"), ("chzzk", "두번째", "u2", "닉2"),
        ("chzzk", "재연결 후", "u3", "닉3")]
    assert got[0].ts == 1700000000.0 and got[0].channel == "ch0123"
    assert got[1].message_id == "m-2"
    # no id in the event: a stable hash, the same for the same event
    again = ChzzkOpenSource("ch0123", client_id="c", client_secret="s", env={})
    chat = {"channelId": "ch0123", "senderChannelId": "u1", "profile": {"nickname": "닉1"},
            "content": "첫 채팅 {:d_47:}", "messageTime": 1700000000000}
    assert again._chat(chat, "").message_id == got[0].message_id
    assert got[0].message_id.startswith("ch0123-u1-")
    # a fresh session URL per connection, each socket on its own URL, each session subscribed
    first, second = server.http.requests[0], server.http.requests[2]
    assert first[1] == second[1] == "/open/v1/sessions/auth"
    assert first[3]["authorization"] == "Bearer access-0"
    assert server.issued == ["sess-1", "sess-2"]
    assert [s.split("auth=")[1].split("&")[0] for s in server.sockets] == ["sess-1", "sess-2"]
    assert [key for key, _ in server.subscriptions] == ["key-1", "key-2"]
    assert server.subscriptions[0][1] == "Bearer access-0"
    assert source.stats["malformed"] == 5 and source.stats["skipped"] >= 1
    assert source.stats["reconnects"] == 1


def test_client_pings_at_the_servers_interval(arun):
    async def main():
        async with ChzzkOpenServer([[open_chat("안녕", "u1", "닉1")]],
                                   ping_interval_ms=50, ping_timeout_ms=2000) as server:
            source = source_for(server)
            stream = source.stream()
            got = [await anext(stream)]
            # the client pings while the reader waits; the server answers 3
            await until(lambda: server.received[0].count("2") >= 2)
            await stream.aclose()
        return server, got

    server, got = arun(main())
    assert [m.text for m in got] == ["안녕"]
    assert server.errors == []


def test_silent_server_past_ping_timeout_reconnects(arun):
    async def main():
        scripts = [[open_chat("하나", "u1", "닉1")], [open_chat("둘", "u2", "닉2")]]
        async with ChzzkOpenServer(scripts, ping_interval_ms=30, ping_timeout_ms=30,
                                   answer_pings=False) as server:
            source = source_for(server)
            got = await take(source, 2)
        return server, source, got

    server, source, got = arun(main())
    assert [m.text for m in got] == ["하나", "둘"]
    assert source.stats["reconnects"] == 1 and server.issued == ["sess-1", "sess-2"]


def test_server_ping_is_answered_and_close_packet_reconnects(arun):
    async def main():
        scripts = [["2", open_chat("하나", "u1", "닉1"), "41"],
                   [open_chat("둘", "u2", "닉2")]]
        return await read(ChzzkOpenServer(scripts), source_for, 2)

    server, source, got = arun(main())
    assert [m.text for m in got] == ["하나", "둘"]
    assert "3" in server.received[0]
    assert source.stats["reconnects"] == 1 and server.issued == ["sess-1", "sess-2"]


def test_401_on_session_lookup_refreshes_token_once(arun):
    async def main():
        async with ChzzkOpenServer([[open_chat("갱신 후", "u1", "닉1")]]) as server:
            token = token_for(server, access="stale")
            source = source_for(server, token=token)
            got = await take(source, 1)
        return server, source, token, got

    server, source, token, got = arun(main())
    assert [m.text for m in got] == ["갱신 후"]
    assert token.access_token == "access-1" and token.refresh_token == "refresh-1"
    assert len(server.http.refreshes) == 1 and source.stats["token_refreshes"] == 1
    assert source.stats["reconnects"] == 0
    assert server.subscriptions == [("key-1", "Bearer access-1")]


def test_401_on_subscription_refreshes_and_retries(arun):
    async def main():
        async with ChzzkOpenServer([[open_chat("구독 재시도", "u1", "닉1")]],
                                   revoke_after_session=True) as server:
            token = token_for(server)
            source = source_for(server, token=token)
            got = await take(source, 1)
        return server, source, token, got

    server, source, token, got = arun(main())
    assert [m.text for m in got] == ["구독 재시도"]
    assert server.subscriptions == [("key-1", "Bearer access-1")]
    assert token.access_token == "access-1" and source.stats["reconnects"] == 0


def test_401_without_refresh_possible_is_a_clear_error(arun):
    async def main():
        async with ChzzkOpenServer([[]]) as server:
            token = OAuthToken("stale", None, token_url=f"http://127.0.0.1:{server.http.port}/x",
                               style="chzzk", name="CHZZK")
            with pytest.raises(SourceError, match="CHZZK_REFRESH_TOKEN"):
                await take(source_for(server, token=token), 1)

    arun(main())


def test_client_credentials_session(arun):
    async def main():
        async with ChzzkOpenServer([[open_chat("클라이언트", "u1", "닉1")]]) as server:
            source = source_for(server, token=None, client_id="cid", client_secret="csecret")
            got = await take(source, 1)
        return server, got

    server, got = arun(main())
    assert [m.text for m in got] == ["클라이언트"]
    method, path, _, headers, _ = server.http.requests[0]
    assert path == "/open/v1/sessions/auth/client"
    assert headers["client-id"] == "cid" and "authorization" not in headers


def test_missing_credentials_and_socket_url():
    with pytest.raises(SourceError, match="CHZZK_ACCESS_TOKEN"):
        open_source("chzzk-open:ch0123", env={})
    with pytest.raises(SourceError):
        ChzzkOpenSource("ch0123", client_id="c", client_secret="s", env={},
                        api_url="http://openapi.example.com")   # plain http off loopback
    assert ChzzkOpenSource.socket_url("https://ssio08.nchat.naver.com:443?auth=T") == (
        "wss://ssio08.nchat.naver.com:443/socket.io/?auth=T&EIO=3&transport=websocket")


def test_revoked_permission_stops_the_source(arun):
    async def main():
        revoked = sio_event("SYSTEM", {"type": "revoked",
                                       "data": {"eventType": "CHAT", "channelId": "ch0123"}})
        async with ChzzkOpenServer([[open_chat("하나", "u1", "닉1"), revoked]]) as server:
            source = source_for(server)
            got = []
            with pytest.raises(SourceError, match="revoked"):
                async for message in source:
                    got.append(message)
        return source, got

    source, got = arun(main())
    assert [m.text for m in got] == ["하나"] and source.stats["reconnects"] == 0
