"""Twitch chat source against a loopback server speaking Twitch's IRC-over-websocket."""
from __future__ import annotations

import logging

import pytest
from servers import (DROP, OAuthApi, TwitchServer, twitch_clearchat, twitch_clearmsg,
                     twitch_privmsg, twitch_usernotice)
from servers import read

from serving.sources import Backoff, SourceError, open_source
from serving.sources.twitch import unescape_tag

FAST = dict(backoff=Backoff(base=0.01, cap=0.05), max_failures=3, open_timeout=5)
TWITCH_VARS = ("TWITCH_CHAT_TOKEN", "TWITCH_BOT_NICK", "TWITCH_REFRESH_TOKEN", "TWITCH_CLIENT_ID",
               "TWITCH_CLIENT_SECRET", "TWITCH_TOKEN_URL")


@pytest.fixture(autouse=True)
def no_twitch_env(monkeypatch):
    for name in TWITCH_VARS:
        monkeypatch.delenv(name, raising=False)


async def run(scripts: list, n: int, server: TwitchServer | None = None, **options):
    """(server, source, the first n messages) of a source reading `scripts`."""
    return await read(server or TwitchServer(scripts), lambda s: open_source(
        "twitch:Streamer", ws_url=f"ws://127.0.0.1:{s.port}", **{**FAST, **options}), n)


def test_twitch_tags_ping_garbage_and_reconnect(arun):
    scripts = [
        [twitch_privmsg("hello chat", "alice", "id-1"),
         "PING :tmi.twitch.tv",
         twitch_usernotice(None, "erin", "id-sub"),            # a sub without text: skipped
         "@only-tags-no-command",
         ":x FROBNICATE #streamer :??",
         twitch_privmsg(r"semi\:colon", "bob", "id-2").replace("display-name=Bob",
                                                               r"display-name=B\sob"),
         0.05, DROP],
        [twitch_privmsg("after reconnect", "carol", "id-3")
         + "\r\n" + twitch_privmsg("same frame", "dave", "id-4")],
    ]
    server, source, got = arun(run(scripts, 4))
    assert server.errors == []
    assert [(m.message_id, m.user_id, m.nickname, m.text) for m in got] == [
        ("id-1", "u-alice", "Alice", "hello chat"), ("id-2", "u-bob", "B ob", r"semi\:colon"),
        ("id-3", "u-carol", "Carol", "after reconnect"), ("id-4", "u-dave", "Dave", "same frame")]
    assert "PONG :tmi.twitch.tv" in server.received[0]
    assert source.stats["malformed"] == 1 and source.stats["unknown"] == 1
    assert source.stats["reconnects"] == 1


def test_a_source_is_up_only_from_its_handshake_to_its_end(arun):
    """`reading` (MergedSource.up, chatloop_source_up) is False while a connection is being
    made, including the first, and after a drop; True once the JOIN went through."""
    async def main():
        server = TwitchServer([[twitch_privmsg("one", "alice", "id-1"), 0.05, DROP],
                               [twitch_privmsg("two", "bob", "id-2")]])
        async with server:
            source = open_source("twitch:Streamer", ws_url=f"ws://127.0.0.1:{server.port}", **FAST)
            states, session = [source.reading], source._session

            def watched():
                states.append(source.reading)      # each connection attempt
                return session()
            source._session = watched
            async for message in source:
                states.append(source.reading)
                if message.message_id == "id-2":
                    break
        return states

    assert arun(main()) == [False, False, True, False, True]


def test_twitch_joins_only_after_welcome(arun):
    server, _, got = arun(run([[twitch_privmsg("hi", "alice", "id-1")]], 1))
    assert server.errors == []   # the server checks that nothing came before its 001
    assert [line.split()[0] for line in server.received[0][:4]] == ["CAP", "PASS", "NICK", "JOIN"]
    assert server.received[0][3] == "JOIN #streamer" and got[0].text == "hi"


def test_twitch_usernotice_with_user_text_is_chat(arun):
    scripts = [[twitch_usernotice("8 months already!", "erin", "id-resub"),
                twitch_usernotice(None, "frank", "id-sub", kind="sub"),
                twitch_usernotice("Stream starts at 9", "mod1", "id-ann", kind="announcement"),
                twitch_privmsg("last", "alice", "id-1")]]
    _, source, got = arun(run(scripts, 3))
    assert [(m.message_id, m.user_id, m.nickname, m.text, m.ts) for m in got[:2]] == [
        ("id-resub", "u-erin", "Erin", "8 months already!", 1700000001.0),
        ("id-ann", "u-mod1", "Mod1", "Stream starts at 9", 1700000001.0)]
    assert source.stats["skipped"] >= 1


def test_twitch_me_action_is_chat_without_ctcp(arun):
    scripts = [[twitch_privmsg("\x01ACTION waves at chat\x01", "alice", "id-1"),
                twitch_privmsg("plain", "bob", "id-2")]]
    _, _, got = arun(run(scripts, 2))
    assert [m.text for m in got] == ["waves at chat", "plain"]


def test_unknown_tag_escapes_drop_only_the_backslash(arun):
    assert unescape_tag(r"a\qb\sc\:d\\e\\") == "aqb c;d\\e\\"
    assert unescape_tag("trailing\\") == "trailing"
    line = twitch_privmsg("hi", "alice", "id-1").replace("display-name=Alice",
                                                         "display-name=Al\\ice\\")
    _, _, got = arun(run([[line]], 1))
    assert got[0].nickname == "Alice"


def test_twitch_moderator_actions_reach_the_callback(arun):
    events = []

    async def on_moderation(event):
        events.append(event)

    scripts = [[twitch_clearmsg("ronni", "abc-123", "HeyGuys"),
                twitch_clearchat("ronni", "u-ronni", duration=350),
                twitch_clearchat("spammer", "u-spam"),
                twitch_clearchat(),
                "@room-id=1;tmi-sent-ts=1 :tmi.twitch.tv CLEARMSG #streamer :no target id",
                twitch_privmsg("after", "alice", "id-1")]]
    _, source, got = arun(run(scripts, 1, on_platform_moderation=on_moderation))
    base = {"platform": "twitch", "channel": "streamer"}
    assert events == [
        {**base, "message_id": "abc-123", "user": "ronni", "kind": "delete", "duration_s": None,
         "ts": 1700000002.0},
        {**base, "message_id": None, "user": "u-ronni", "kind": "timeout", "duration_s": 350,
         "ts": 1700000003.0},
        {**base, "message_id": None, "user": "u-spam", "kind": "ban", "duration_s": None,
         "ts": 1700000003.0},
        {**base, "message_id": None, "user": None, "kind": "clear", "duration_s": None,
         "ts": 1700000003.0}]
    assert got[0].text == "after"
    assert source.stats["moderation"] == 4 and source.stats["malformed"] == 1


def test_twitch_moderator_actions_are_logged_without_a_callback(arun, caplog):
    def broken(event):
        raise RuntimeError("consumer bug")

    scripts = [[twitch_clearmsg("ronni", "abc-123", "HeyGuys"), twitch_privmsg("x", "a", "id-1")]]
    with caplog.at_level(logging.INFO, logger="serving.sources.moderation"):
        arun(run(scripts, 1))
        arun(run(scripts, 1, on_platform_moderation=broken))   # a failing consumer: goes on
    assert "delete message=abc-123 user=ronni" in caplog.text
    assert "on_platform_moderation failed" in caplog.text


def test_twitch_other_notices_are_logged_not_fatal(arun, caplog):
    notice = "@msg-id=msg_channel_suspended :tmi.twitch.tv NOTICE #streamer :This channel has been suspended."
    with caplog.at_level(logging.INFO, logger="serving.sources.twitch"):
        _, _, got = arun(run([[notice, twitch_privmsg("still here", "a", "id-1")]], 1))
    assert got[0].text == "still here"
    assert "msg_channel_suspended: This channel has been suspended." in caplog.text


def test_twitch_refused_login_stops_with_a_clear_error(arun, monkeypatch):
    monkeypatch.setenv("TWITCH_CHAT_TOKEN", "wrong-token")
    monkeypatch.setenv("TWITCH_BOT_NICK", "ChatBot")
    server = TwitchServer([], tokens=lambda token: token == "the-valid-token")

    async def main():
        with pytest.raises(SourceError, match="login refused.*TWITCH_CHAT_TOKEN") as err:
            await run([], 1, server=server)
        return err.value

    error = arun(main())
    assert "wrong-token" not in str(error)
    assert len(server.received) == 1          # not retried: a wrong token stays wrong
    assert server.received[0][1:3] == ["PASS oauth:wrong-token", "NICK chatbot"]


def test_twitch_improperly_formatted_auth_notice_is_a_clear_error(arun, monkeypatch):
    class Malformed(TwitchServer):
        async def handshake(self, ws, got):
            got.extend([await ws.recv() for _ in range(3)])
            await ws.send(":tmi.twitch.tv NOTICE * :Improperly formatted auth")
            await ws.close()

    monkeypatch.setenv("TWITCH_CHAT_TOKEN", "tok")
    monkeypatch.setenv("TWITCH_BOT_NICK", "bot")

    async def main():
        with pytest.raises(SourceError, match=r"Improperly formatted auth.*TWITCH_CHAT_TOKEN"):
            await run([], 1, server=Malformed([]))

    arun(main())


def test_twitch_token_without_nick_is_a_clear_error(arun, monkeypatch):
    monkeypatch.setenv("TWITCH_CHAT_TOKEN", "tok")

    async def main():
        with pytest.raises(SourceError, match="TWITCH_BOT_NICK"):
            await run([], 1)

    arun(main())


def refresh_env(monkeypatch, api: OAuthApi) -> None:
    monkeypatch.setenv("TWITCH_CHAT_TOKEN", "oauth:expired-token")
    monkeypatch.setenv("TWITCH_BOT_NICK", "chatbot")
    monkeypatch.setenv("TWITCH_REFRESH_TOKEN", api.refresh_token)
    monkeypatch.setenv("TWITCH_CLIENT_ID", api.client_id)
    monkeypatch.setenv("TWITCH_CLIENT_SECRET", api.client_secret)
    monkeypatch.setenv("TWITCH_TOKEN_URL", f"http://127.0.0.1:{api.port}/oauth2/token")


def test_twitch_refused_login_refreshes_the_token_once_and_reconnects(arun, monkeypatch, caplog):
    async def main():
        async with OAuthApi() as api:
            refresh_env(monkeypatch, api)
            server = TwitchServer([[], [twitch_privmsg("with a fresh token", "alice", "id-1")]],
                                  tokens=lambda token: token == api.access_token)
            return (api, *await run([], 1, server=server))

    with caplog.at_level(logging.INFO):
        api, server, source, got = arun(main())
    assert got[0].text == "with a fresh token" and server.errors == []
    assert [r["grant_type"] for r in api.refreshes] == ["refresh_token"]
    assert api.refreshes[0]["refresh_token"] == "refresh-0"
    assert server.received[0][1] == "PASS oauth:expired-token"
    assert server.received[1][1] == f"PASS oauth:{api.access_token}" == "PASS oauth:access-1"
    assert source.stats["reconnects"] == 1
    for secret in ("expired-token", "access-1", "refresh-0", "refresh-1", "csecret"):
        assert secret not in caplog.text


def test_twitch_refreshed_token_refused_too_stops_after_one_refresh(arun, monkeypatch):
    async def main():
        async with OAuthApi() as api:
            refresh_env(monkeypatch, api)
            server = TwitchServer([[], []], tokens=lambda token: False)
            with pytest.raises(SourceError, match="even after a refresh"):
                await run([], 1, server=server)
            return api, server

    api, server = arun(main())
    assert len(api.refreshes) == 1 and len(server.received) == 2


def test_twitch_refresh_endpoint_refusing_is_a_clear_error(arun, monkeypatch):
    async def main():
        async with OAuthApi() as api:
            refresh_env(monkeypatch, api)
            monkeypatch.setenv("TWITCH_REFRESH_TOKEN", "revoked")
            with pytest.raises(SourceError, match="could not be refreshed.*TWITCH_REFRESH_TOKEN"):
                await run([], 1, server=TwitchServer([], tokens=lambda token: False))

    arun(main())
