"""Moderation actions and answer delivery against loopback HTTP servers (Helix, CHZZK,
Discord, YouTube Data API v3), OAuth token refresh and rate limits (429)."""
from __future__ import annotations

import asyncio
import json
import logging

import pytest
from servers import HttpJson, OAuthApi

from serving.actions import Actions
from serving.message import ChatMessage
from serving.oauth import OAuthError, OAuthToken


def msg(platform, channel="123", message_id="m-1", user="u-9"):
    return ChatMessage(platform, channel, message_id, user, "nick", "text", 0.0)


def env_for(port: int) -> dict:
    base = f"http://127.0.0.1:{port}"
    return {"TWITCH_CLIENT_ID": "cid", "TWITCH_TOKEN": "secret-twitch", "TWITCH_BROADCASTER_ID": "b1",
            "TWITCH_MODERATOR_ID": "m1", "TWITCH_API_URL": base,
            "CHZZK_CLIENT_ID": "zid", "CHZZK_CLIENT_SECRET": "zsecret", "CHZZK_ACCESS_TOKEN": "secret-chzzk",
            "CHZZK_API_URL": base, "DISCORD_BOT_TOKEN": "secret-discord", "DISCORD_API_URL": base}


def test_act_calls_each_platform_api(arun, caplog):
    async def main():
        async with HttpJson(lambda *a: (200, {})) as server:
            actions = Actions(act=True, timeout_s=600, env=env_for(server.port))
            results = [await actions.moderate(msg("twitch"), "spam"),
                       await actions.moderate(msg("twitch"), "toxic"),
                       await actions.moderate(msg("chzzk"), "spam"),
                       await actions.moderate(msg("discord"), "toxic"),
                       await actions.moderate(msg("soop"), "toxic"),
                       await actions.moderate(msg("twitch"), "question"),
                       await actions.send_answer(msg("twitch"), "보통 1시까지 해요"),
                       await actions.send_answer(msg("discord"), "네!")]
            await actions.close()
        return results, server.requests

    caplog.set_level(logging.DEBUG)
    results, requests = arun(main())
    assert results == ["delete+timeout", "delete", "restrict", "delete", "hold", "none", "sent", "sent"]
    calls = [(m, p) for m, p, *_ in requests]
    assert calls == [("DELETE", "/helix/moderation/chat"), ("POST", "/helix/moderation/bans"),
                     ("DELETE", "/helix/moderation/chat"), ("POST", "/open/v1/restrict-channels"),
                     ("DELETE", "/channels/123/messages/m-1"), ("POST", "/helix/chat/messages"),
                     ("POST", "/channels/123/messages")]
    _, _, query, headers, body = requests[1]
    assert query == {"broadcaster_id": ["b1"], "moderator_id": ["m1"]}
    assert headers["authorization"] == "Bearer secret-twitch" and headers["client-id"] == "cid"
    assert json.loads(body) == {"data": {"user_id": "u-9", "duration": 600, "reason": "chatloop: spam"}}
    assert requests[0][2]["message_id"] == ["m-1"]
    assert json.loads(requests[3][4]) == {"targetChannelId": "u-9"}
    assert requests[4][3]["authorization"] == "Bot secret-discord"
    assert "secret" not in caplog.text               # credentials never logged


def test_dry_run_missing_credentials_and_failures(arun):
    async def main():
        async with HttpJson(lambda *a: (403, {"error": "Forbidden"})) as server:
            dry = Actions(act=False, env=env_for(server.port))
            bare = Actions(act=True, env={})
            failing = Actions(act=True, env=env_for(server.port))
            results = [await dry.moderate(msg("twitch"), "spam"),
                       await dry.send_answer(msg("twitch"), "hi"),
                       await bare.moderate(msg("chzzk"), "spam"),
                       await bare.send_answer(msg("discord"), "hi"),
                       await failing.moderate(msg("discord"), "spam"),
                       await dry.moderate(msg("replay"), "spam"),
                       await dry.moderate(msg("soop"), "toxic")]
            for a in (dry, bare, failing):
                await a.close()
        return results, len(server.requests), failing.failed

    results, n_requests, failed = arun(main())
    assert results == ["dry-run:delete+timeout", "logged", "no-credentials:restrict", "logged",
                       "failed:delete", "dry-run:log", "dry-run:hold"]
    assert n_requests == 1  # only the failing real call reached the server
    assert failed == {("discord", "delete"): 1}


def test_plain_http_api_url_refused_off_loopback(arun):
    env = dict(env_for(1), DISCORD_API_URL="http://discord.example.com/api")
    with pytest.raises(Exception, match="refusing"):
        arun(Actions(act=True, env=env).moderate(msg("discord"), "spam"))


# ------------------------------------------------------------------ OAuth tokens
class Clock:
    def __init__(self, now=1_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


def oauth_env(port: int, prefix="TWITCH", path="/oauth2/token", **extra) -> dict:
    token_var = "CHZZK_ACCESS_TOKEN" if prefix == "CHZZK" else f"{prefix}_TOKEN"
    return {token_var: "access-0", f"{prefix}_REFRESH_TOKEN": "refresh-0",
            f"{prefix}_CLIENT_ID": "cid", f"{prefix}_CLIENT_SECRET": "csecret",
            f"{prefix}_TOKEN_URL": f"http://127.0.0.1:{port}{path}", **extra}


def test_oauth_refreshes_before_expiry_and_keeps_the_rotated_refresh_token(arun, caplog):
    clock = Clock()

    async def main():
        async with OAuthApi(expires_in=3600) as server:
            env = oauth_env(server.port, TWITCH_TOKEN_EXPIRES_AT=str(clock.now + 1000))
            token = OAuthToken.from_env("TWITCH", token_url="https://id.twitch.tv/oauth2/token",
                                        env=env, refresh_margin_s=300, clock=clock)
            first = await token.get()            # 1000 s left: still good
            clock.now += 800                     # 200 s left: inside the margin
            second = await token.get()
            clock.now += 3000                    # 600 s left of the new token
            third = await token.get()
            clock.now += 400                     # inside the margin again: uses refresh-1
            fourth = await token.get()
        return [first, second, third, fourth], server.refreshes, token

    caplog.set_level(logging.DEBUG)
    got, refreshes, token = arun(main())
    assert got == ["access-0", "access-1", "access-1", "access-2"]
    assert refreshes == [{"grant_type": "refresh_token", "refresh_token": "refresh-0",
                          "client_id": "cid", "client_secret": "csecret"},
                         {"grant_type": "refresh_token", "refresh_token": "refresh-1",
                          "client_id": "cid", "client_secret": "csecret"}]
    assert token.refresh_token == "refresh-2" and token.expires_at == clock.now + 3600
    assert "refresh-" not in caplog.text and "csecret" not in caplog.text


def test_oauth_concurrent_callers_share_one_refresh(arun):
    async def main():
        async with OAuthApi() as server:
            token = OAuthToken.from_env("YOUTUBE", env=oauth_env(server.port, "YOUTUBE"))
            got = await asyncio.gather(token.refresh(), token.refresh(), token.refresh("access-0"))
            forced = await token.refresh()       # a later caller forces a new one
        return got, forced, len(server.refreshes)

    got, forced, n = arun(main())
    assert got == ["access-1"] * 3 and forced == "access-2" and n == 2


def test_oauth_chzzk_json_body_and_envelope(arun):
    clock = Clock()

    async def main():
        async with OAuthApi() as server:
            token = OAuthToken.from_env("CHZZK", env=oauth_env(server.port, "CHZZK",
                                                                 "/auth/v1/token"), clock=clock)
            assert token.access_token == "access-0"      # CHZZK_ACCESS_TOKEN
            new = await token.refresh()
        return new, server.requests[-1], token

    new, (_, _, _, headers, body), token = arun(main())
    assert new == "access-1" and token.refresh_token == "refresh-1"
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"grantType": "refresh_token", "refreshToken": "refresh-0",
                                "clientId": "cid", "clientSecret": "csecret"}
    assert token.expires_at == clock.now + 14400     # expiresIn "14400" (a string)


def test_oauth_clear_errors_without_secrets(arun):
    async def main():
        async with OAuthApi(refresh_token="other") as server:
            refused = OAuthToken.from_env("TWITCH", env=oauth_env(server.port))
            with pytest.raises(OAuthError) as info:
                await refused.refresh()
            assert "HTTP 400" in str(info.value) and "invalid_grant" in str(info.value)
            assert "refresh-0" not in str(info.value) and "csecret" not in str(info.value)
            assert refused.access_token == "access-0"     # the old token is kept

    arun(main())
    no_refresh = OAuthToken.from_env("TWITCH", env={"TWITCH_TOKEN": "abc"})
    with pytest.raises(OAuthError, match="TWITCH_REFRESH_TOKEN"):
        arun(no_refresh.refresh())
    assert arun(no_refresh.get()) == "abc"           # no known expiry: used as is
    expired = OAuthToken.from_env("TWITCH", env={"TWITCH_TOKEN": "abc",
                                                 "TWITCH_TOKEN_EXPIRES_AT": "10"})
    with pytest.raises(OAuthError, match="TWITCH_REFRESH_TOKEN"):
        arun(expired.get())
    with pytest.raises(OAuthError, match="TWITCH_TOKEN and/or TWITCH_REFRESH_TOKEN"):
        OAuthToken.from_env("TWITCH", env={})
    with pytest.raises(Exception, match="refusing"):
        OAuthToken.from_env("TWITCH", env={"TWITCH_TOKEN": "a",
                                           "TWITCH_TOKEN_URL": "http://id.example.com/token"})


# ----------------------------------------------------------- actions with OAuth
def twitch_env(port: int, **extra) -> dict:
    return dict(oauth_env(port), TWITCH_BROADCASTER_ID="b1", TWITCH_MODERATOR_ID="m1",
                TWITCH_API_URL=f"http://127.0.0.1:{port}", **extra)


def test_action_refreshes_once_on_401_and_retries(arun):
    async def main():
        async with OAuthApi(access_token="revoked-elsewhere") as server:
            actions = Actions(act=True, env=twitch_env(server.port))
            results = [await actions.moderate(msg("twitch"), "toxic"),
                       await actions.moderate(msg("twitch"), "toxic")]
            await actions.close()
        return results, server

    results, server = arun(main())
    assert results == ["delete", "delete"]
    auths = [(p, h.get("authorization")) for _, p, _, h, _ in server.requests]
    assert auths == [("/helix/moderation/chat", "Bearer access-0"), ("/oauth2/token", None),
                     ("/helix/moderation/chat", "Bearer access-1"),
                     ("/helix/moderation/chat", "Bearer access-1")]


def test_action_refreshes_before_expiry_without_a_401(arun):
    clock = Clock()

    async def main():
        async with OAuthApi() as server:
            env = twitch_env(server.port, TWITCH_TOKEN_EXPIRES_AT=str(clock.now + 60))
            actions = Actions(act=True, env=env, clock=clock)
            result = await actions.send_answer(msg("twitch"), "네!")
            await actions.close()
        return result, [(p, h.get("authorization")) for _, p, _, h, _ in server.requests]

    result, calls = arun(main())
    assert result == "sent"
    assert calls == [("/oauth2/token", None), ("/helix/chat/messages", "Bearer access-1")]


def test_second_401_after_refresh_fails_and_is_counted(arun):
    async def main():
        async with OAuthApi(lambda *a: (401, {"message": "missing scope"})) as server:
            actions = Actions(act=True, env=twitch_env(server.port))
            result = await actions.moderate(msg("twitch"), "toxic")
            no_refresh = Actions(act=True, env={k: v for k, v in twitch_env(server.port).items()
                                                if k != "TWITCH_REFRESH_TOKEN"})
            answer = await no_refresh.send_answer(msg("twitch"), "hi")
            for a in (actions, no_refresh):
                await a.close()
        return result, answer, len(server.refreshes), actions.failed + no_refresh.failed

    result, answer, refreshes, failed = arun(main())
    assert result == "failed:delete" and answer == "failed" and refreshes == 1
    assert failed == {("twitch", "delete"): 1, ("twitch", "answer"): 1}


# -------------------------------------------------------------------- rate limits
class Sleeps(list):
    async def __call__(self, seconds):
        self.append(seconds)


def limited(times: int, headers: dict, body: dict | None = None):
    """A route answering 429 `times` times, then success (204 for DELETE)."""
    count = [0]

    def route(method, *rest):
        count[0] += 1
        if count[0] <= times:
            return 429, body or {"message": "Too Many Requests"}, headers
        return (204, None) if method == "DELETE" else (200, {})
    return route


@pytest.mark.parametrize("platform, label, headers, body, waits", [
    ("twitch", "toxic", {"Ratelimit-Limit": "800", "Ratelimit-Remaining": "0",
                         "Ratelimit-Reset": "1000003"}, None, [3.0]),
    ("discord", "toxic", {"Retry-After": "2", "X-RateLimit-Reset-After": "1.5"},
     {"message": "You are being rate limited.", "retry_after": 1.5, "global": False}, [1.5]),
    ("discord", "toxic", {}, {"message": "You are being rate limited.", "retry_after": 0.25,
                             "global": True}, [0.25]),
    ("youtube", "toxic", {"Retry-After": "7"}, None, [7.0]),
    ("chzzk", "spam", {"Retry-After": "Mon, 12 Jan 1970 13:46:49 GMT"}, None, [9.0]),
    ("youtube", "toxic", {"Retry-After": "999"}, None, [30.0]),       # capped at max_wait_s
    ("twitch", "toxic", {}, None, [1.0]),                             # no hint: default_retry_s
])
def test_429_waits_as_told_then_retries(arun, platform, label, headers, body, waits):
    sleeps = Sleeps()

    async def main():
        async with OAuthApi(limited(1, headers, body)) as server:
            env = dict(env_for(server.port), **youtube_env(server.port), TWITCH_TOKEN="access-0",
                       CHZZK_ACCESS_TOKEN="access-0")
            actions = Actions(act=True, env=env, sleep=sleeps, clock=Clock(1_000_000.0),
                              max_wait_s=30.0)
            result = await actions.moderate(msg(platform), label)
            await actions.close()
        return result, len(server.requests)

    result, n_requests = arun(main())
    assert result == Actions().planned(msg(platform), label) and n_requests == 2
    assert sleeps == pytest.approx(waits)


def test_429_gives_up_after_max_tries_and_is_counted(arun):
    sleeps = Sleeps()

    async def main():
        from serving.metrics import Metrics
        async with OAuthApi(limited(99, {"Retry-After": "1"})) as server:
            actions = Actions(act=True, env=dict(env_for(server.port), TWITCH_TOKEN="access-0"),
                              sleep=sleeps, max_tries=3)
            result = await actions.moderate(msg("discord"), "toxic")
            answer = await actions.send_answer(msg("twitch"), "hi")
            await actions.close()
        metrics = Metrics()
        metrics.attach(actions=actions)
        return result, answer, len(server.requests), metrics.render().decode()

    result, answer, n_requests, text = arun(main())
    assert result == "failed:delete" and answer == "failed"
    assert n_requests == 6 and sleeps == [1.0] * 4       # 3 tries each, a wait between tries
    assert 'chatloop_actions_failed_total{action="delete",platform="discord"} 1.0' in text
    assert 'chatloop_actions_failed_total{action="answer",platform="twitch"} 1.0' in text


# ------------------------------------------------------------------------ YouTube
def youtube_env(port: int) -> dict:
    return {"YOUTUBE_TOKEN": "access-0", "YOUTUBE_API_URL": f"http://127.0.0.1:{port}/youtube/v3"}


def test_youtube_delete_ban_and_answer(arun, caplog):
    chat_id, message_id = "Cg0KC2xpdmVDaGF0SWQ", "LCC.Cg8KDQoLabc+/def=="

    def api(method, path, query, body, headers):
        if method == "DELETE":
            return 204, None
        return 200, {"kind": "youtube#liveChatBan" if "bans" in path else "youtube#liveChatMessage",
                     "id": "new-id", "snippet": json.loads(body)["snippet"]}

    async def main():
        async with OAuthApi(api) as server:
            actions = Actions(act=True, timeout_s=300, env=youtube_env(server.port))
            m = msg("youtube", channel=chat_id, message_id=message_id, user="UCviewer")
            results = [await actions.moderate(m, "toxic", confidence=0.91),
                       await actions.moderate(m, "spam", confidence=0.97),
                       await actions.send_answer(m, "보통 1시까지 해요")]
            await actions.close()
        return results, server.requests

    caplog.set_level(logging.INFO)
    results, requests = arun(main())
    assert results == ["delete", "delete+timeout", "sent"]
    calls = [(m, p, q) for m, p, q, *_ in requests]
    assert calls == [("DELETE", "/youtube/v3/liveChat/messages", {"id": [message_id]}),
                     ("DELETE", "/youtube/v3/liveChat/messages", {"id": [message_id]}),
                     ("POST", "/youtube/v3/liveChat/bans", {"part": ["snippet"]}),
                     ("POST", "/youtube/v3/liveChat/messages", {"part": ["snippet"]})]
    assert all(r[3]["authorization"] == "Bearer access-0" for r in requests)
    assert json.loads(requests[2][4]) == {"snippet": {
        "liveChatId": chat_id, "type": "temporary", "banDurationSeconds": 300,
        "bannedUserDetails": {"channelId": "UCviewer"}}}
    assert json.loads(requests[3][4]) == {"snippet": {
        "liveChatId": chat_id, "type": "textMessageEvent",
        "textMessageDetails": {"messageText": "보통 1시까지 해요"}}}
    line = [r.getMessage() for r in caplog.records if r.getMessage().startswith("action delete+")]
    assert line == [f"action delete+timeout platform=youtube channel={chat_id} "
                    f"message={message_id} user=UCviewer label=spam confidence=0.970"]
    assert "access-0" not in caplog.text


def test_youtube_needs_a_token(arun):
    actions = Actions(act=True, env={"YOUTUBE_CLIENT_ID": "cid"})
    assert arun(actions.moderate(msg("youtube"), "toxic")) == "no-credentials:delete"


def test_oauth_from_env_names(arun):
    token = OAuthToken.from_env("twitch", env={"TWITCH_CHAT_TOKEN": "chat", "TWITCH_TOKEN": "api"},
                                token_var="TWITCH_CHAT_TOKEN")
    assert token.access_token == "chat" and token.token_url == "https://id.twitch.tv/oauth2/token"
    assert not token.can_refresh
    google = OAuthToken.from_env("YOUTUBE", env={"YOUTUBE_REFRESH_TOKEN": "r", "YOUTUBE_CLIENT_ID": "c"})
    assert google.token_url == "https://oauth2.googleapis.com/token" and google.can_refresh
    chzzk = OAuthToken.from_env("CHZZK", env={"CHZZK_REFRESH_TOKEN": "r", "CHZZK_CLIENT_ID": "c"})
    assert chzzk.style == "chzzk" and not chzzk.can_refresh     # CHZZK needs the secret too
    with pytest.raises(OAuthError, match="CHZZK_CLIENT_SECRET"):
        arun(chzzk.get())
