"""SOOP source against a loopback server speaking SOOP's lookup API and chat socket."""
from __future__ import annotations

import asyncio
import logging

import pytest
from servers import (DROP, SoopServer, soop_chat, soop_manager_chat, soop_ogq_chat, soop_packet,
                     soop_tls)
from servers import read, take, until

from serving.sources import Backoff, SourceError, open_source
from serving.sources.soop import SKIPPED, decode_packet, encode_packet, is_platform_host

FAST = dict(backoff=Backoff(base=0.01, cap=0.05), max_failures=3, open_timeout=5)
WS = "ws://{host}:{port}/Websocket/{bid}"


def soop_source(server):
    return open_source("soop:streamer", api_url=api(server), ws_url=WS, **FAST)


def api(server, path: str = "/afreeca/player_live_api.php") -> str:
    return f"http://127.0.0.1:{server.http.port}{path}"


def lookups(server) -> list[dict]:
    from urllib.parse import parse_qs
    return [{k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
            for method, path, _, _, body in server.http.requests if method == "POST"]


def test_soop_chat_garbage_keepalive_and_reconnect(arun):
    async def main():
        scripts = [
            [soop_chat("안녕하세요", "viewer1", "시청자1"),
             b"garbage that is not a packet",
             b"\x1b\t0005000099" + b"00\x0cshort",          # truncated body
             soop_packet("0018", "bj", "viewer2", "별풍선", "10"),   # star balloon: skipped
             soop_packet("9999", "mystery"),                  # unknown service code
             soop_packet("0005", "no user"),                  # chat with too few fields
             soop_chat("방송 몇시까지 해요?", "viewer2", "둘째")],
            [soop_chat("다시 연결됨", "viewer3", "셋째")],
        ]
        async with SoopServer(scripts) as server:
            source = open_source("soop:streamer", api_url=api(server), ws_url=WS,
                                 ping_interval=0.05, **FAST)
            stream = source.stream()
            got = [await anext(stream), await anext(stream)]
            # the 0000 keepalive runs on its own while the reader waits; then cut the line
            await until(lambda: any(f.startswith(b"\x1b\t0000") for f in server.received[0][2:]))
            for ws in list(server.ws.connections):
                ws.transport.abort()
            got.append(await anext(stream))
            await stream.aclose()
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


def test_soop_packet_roundtrip_counts_utf8_bytes_and_return_code():
    packet = encode_packet("0005", ["한글", "id"])
    assert packet == soop_packet("0005", "한글", "id")
    assert decode_packet(packet) == ("0005", ["", "한글", "id", ""], 0)
    assert decode_packet(soop_packet("0002", "4242", ret=57))[2] == 57


def test_soop_restarted_stream_is_looked_up_with_no_stale_broadcast_number(arun):
    async def main():
        scripts = [[soop_chat("첫 방송", "viewer1", "하나"), DROP],
                   [soop_chat("다시 켠 방송", "viewer2", "둘")]]
        return await read(SoopServer(scripts), lambda server: open_source(
            "soop:streamer/777", api_url=api(server), ws_url=WS, **FAST), 2)

    server, source, got = arun(main())
    assert [m.text for m in got] == ["첫 방송", "다시 켠 방송"]
    forms = lookups(server)
    assert [f["bno"] for f in forms] == ["777", ""]  # the ended broadcast is not asked for again
    assert source.current_bno == "778" and source.stats["reconnects"] == 1


def test_soop_lookup_follows_redirect_to_the_new_domain(arun):
    async def main():
        async with SoopServer([[soop_chat("옮긴 주소", "viewer1", "하나")]]) as server:
            moved = api(server, "/moved/afreeca/player_live_api.php")
            source = open_source("soop:streamer", api_url=moved, ws_url=WS, **FAST)
            got = await take(source, 1)
        return server, source, got

    server, source, got = arun(main())
    assert [m.text for m in got] == ["옮긴 주소"]
    assert [(m, p) for m, p, *_ in server.http.requests] == [
        ("POST", "/moved/afreeca/player_live_api.php"), ("POST", "/afreeca/player_live_api.php")]
    assert server.http.requests[1][3]["host"].startswith("localhost:")
    assert lookups(server)[1]["bid"] == "streamer"
    assert source.stats["reconnects"] == 0


@pytest.mark.parametrize("target", ["https://live.sooplive.com.attacker.example/api.php",
                                    "http://10.0.0.7/afreeca/player_live_api.php"])
def test_soop_refuses_redirect_off_the_platform(arun, target):
    async def main():
        async with SoopServer([], moved_to=target) as server:
            source = open_source("soop:streamer", api_url=api(server, "/moved/x.php"), ws_url=WS,
                                 **FAST)
            with pytest.raises(SourceError, match="refusing redirect"):
                await take(source, 1)
        return server

    assert len(arun(main()).http.requests) == 1  # the target was never contacted


def test_platform_hosts():
    assert all(map(is_platform_host, ["live.sooplive.co.kr", "live.sooplive.com", "sooplive.com",
                                      "play.afreecatv.com", "127.0.0.1", "localhost"]))
    assert not any(map(is_platform_host, ["sooplive.com.evil.io", "evilsooplive.com", "", None]))


def test_soop_turns_websocket_pings_off(arun):
    async def main():
        async with SoopServer([[soop_chat("핑", "viewer1", "하나")]]) as server:
            source = soop_source(server)
            seen = []
            connect = source.ws_connect
            source.ws_connect = lambda url, **kw: seen.append(kw) or connect(url, **kw)
            await take(source, 1)
        return seen

    seen = arun(main())
    assert seen and seen[0]["ping_interval"] is None and seen[0]["subprotocols"] == ["chat"]


def test_soop_manager_and_ogq_chat_suffix_and_carriage_returns(arun):
    async def main():
        scripts = [[soop_chat("줄\r\n바꿈", "viewer1(2)", "시청자"),
                    soop_manager_chat("매니저입니다", "mgr1", "매니저"),
                    soop_ogq_chat("스티커와 글", "fan(3)", "팬"),
                    soop_ogq_chat("", "fan", "팬"),                     # a sticker alone
                    soop_chat("끝", "viewer9", "아홉")]]
        return await read(SoopServer(scripts), soop_source, 4)

    _, source, got = arun(main())
    assert [(m.text, m.user_id, m.nickname) for m in got] == [
        ("줄\n바꿈", "viewer1", "시청자"), ("매니저입니다", "mgr1", "매니저"),
        ("스티커와 글", "fan", "팬"), ("끝", "viewer9", "아홉")]
    assert source.stats["unknown"] == 0 and source.stats["malformed"] == 0
    assert source.stats["skipped"] == 1


def test_soop_nonzero_return_code_is_reported_not_malformed(arun, caplog):
    async def main():
        scripts = [[soop_packet("0005", "", "", ret=34),            # ERR_34_CHATPENALTY
                    soop_chat("정상", "viewer1", "하나")]]
        return await read(SoopServer(scripts), soop_source, 1)

    with caplog.at_level(logging.WARNING, logger="serving.sources.soop"):
        _, source, got = arun(main())
    assert [m.text for m in got] == ["정상"]
    assert source.stats["errors"] == 1 and source.stats["malformed"] == 0
    assert any("0005" in r.getMessage() and "34" in r.getMessage() for r in caplog.records)


def test_soop_skipped_codes_carry_the_official_names():
    assert "SETBJSTAT" in SKIPPED["0007"] and "SETUSERFLAG" in SKIPPED["0012"]
    assert "VIDEOBALLOON" in SKIPPED["0105"] and "join" in SKIPPED["0127"]
    assert "0109" not in SKIPPED and "0026" not in SKIPPED  # chat, not skipped


def test_soop_unverified_tls_names_the_host_and_the_fix(arun, tmp_path, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    ca_file, context = soop_tls(tmp_path)

    async def main(**options):
        async with SoopServer([[soop_chat("암호화", "viewer1", "하나")]],
                              ssl_context=context) as server:
            source = open_source("soop:streamer", api_url=api(server),
                                 ws_url="wss://{host}:{port}/Websocket/{bid}", **FAST, **options)
            return source, await take(source, 1)

    with pytest.raises(SourceError) as failure:
        arun(main())
    text = str(failure.value)
    assert "127.0.0.1:" in text and "SSL_CERT_FILE" in text and "ca_file" in text
    assert "giving up" not in text  # reported at once, not retried
    source, got = arun(main(ca_file=ca_file))   # the private CA trusted: verified, and it works
    assert [m.text for m in got] == ["암호화"]
