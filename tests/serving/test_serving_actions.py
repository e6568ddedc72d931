"""Moderation actions and answer delivery against loopback HTTP servers (Helix, CHZZK, Discord)."""
from __future__ import annotations

import json
import logging

import pytest
from servers import HttpJson

from serving.actions import Actions
from serving.message import ChatMessage


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
                       await dry.moderate(msg("replay"), "spam")]
            for a in (dry, bare, failing):
                await a.close()
        return results, len(server.requests)

    results, n_requests = arun(main())
    assert results == ["dry-run:delete+timeout", "logged", "no-credentials:restrict", "logged",
                       "failed:delete", "log"]
    assert n_requests == 1  # only the failing real call reached the server


def test_plain_http_api_url_refused_off_loopback(arun):
    env = dict(env_for(1), DISCORD_API_URL="http://discord.example.com/api")
    with pytest.raises(Exception, match="refusing"):
        arun(Actions(act=True, env=env).moderate(msg("discord"), "spam"))
