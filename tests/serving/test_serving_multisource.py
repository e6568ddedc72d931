"""Several sources in one bot: one decision per message, actions on the message's own
platform, rules windows per (platform, channel), a failing source does not stop the others,
and moderators' chat commands from Twitch reach the feedback service."""
from __future__ import annotations

import asyncio
import json
import time

import pytest
from servers import HttpJson, TwitchServer, twitch_clearmsg, twitch_privmsg

from components.config import load_params
from serving.actions import Actions
from serving.answers import Answerer
from serving.bot import Bot
from serving.chat_commands import ChatCommands, TwitchCommandSource, twitch_is_moderator
from serving.cli import main as serve_main
from serving.decisions import DecisionLog
from serving.model_host import ModelHost
from serving.multisource import MergedSource, ScopedRules
from serving.platform_moderation import ModerationRelay
from serving.sources import Backoff, open_source
from serving.sources.replay import ReplaySource

SPAM = "첫충 30% 카지노 bit.ly/x1y2 카톡 ID abc123"
SAME = "다들 오늘 방송 재밌게 보고 계신가요"     # 10+ characters: counts for the raid rule
FAST = dict(backoff=Backoff(base=0.01, cap=0.05), max_failures=1, open_timeout=5)
TWITCH_VARS = ("TWITCH_CHAT_TOKEN", "TWITCH_BOT_NICK", "TWITCH_REFRESH_TOKEN", "TWITCH_TOKEN_URL")


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    for name in TWITCH_VARS + ("CHATLOOP_FEEDBACK_URL", "CHATLOOP_FEEDBACK_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def test_cli_two_replays_one_decision_per_message(tiny_model_dir, tmp_path):
    a = write_jsonl(tmp_path / "alpha.jsonl", [{"text": f"알파 채팅 {i}", "message_id": f"a{i}",
                                                "user_id": f"u{i}"} for i in range(12)])
    b = write_jsonl(tmp_path / "beta.jsonl", [{"text": f"베타 채팅 {i}", "message_id": f"b{i}",
                                               "user_id": f"v{i}"} for i in range(9)]
                    + [{"text": SPAM, "message_id": "b-spam", "user_id": "s"}])
    out = tmp_path / "decisions.jsonl"
    assert serve_main(["--source", f"replay:{a}", "--source", f"replay:{b}",
                       "--model", str(tiny_model_dir), "--decisions-out", str(out)]) == 0
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    keys = sorted((r["channel"], r["message_id"]) for r in rows)
    assert keys == sorted([("alpha", f"a{i}") for i in range(12)]
                          + [("beta", f"b{i}") for i in range(9)] + [("beta", "b-spam")])
    spam = next(r for r in rows if r["message_id"] == "b-spam")
    assert spam["label"] == "spam" and spam["action"] in ("log", "dry-run:log")


def test_duplicate_source_is_a_clear_error(tmp_path, capsys):
    a = write_jsonl(tmp_path / "a.jsonl", [{"text": "안녕"}])
    assert serve_main(["--source", f"replay:{a}", "--source", f"replay:{a}",
                       "--model", str(tmp_path)]) == 2
    assert "--source given twice" in capsys.readouterr().err


def env_for(port: int) -> dict:
    base = f"http://127.0.0.1:{port}"
    return {"TWITCH_CLIENT_ID": "cid", "TWITCH_TOKEN": "secret-twitch",
            "TWITCH_BROADCASTER_ID": "b1", "TWITCH_MODERATOR_ID": "m1", "TWITCH_API_URL": base}


async def until(predicate, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def test_twitch_and_replay_in_one_bot(tiny_model_dir, tmp_path, arun):
    """Twitch (loopback IRC) + a replay whose channel has the Twitch channel's name + a
    Twitch source that cannot connect: every message decided once, the Twitch spam deleted
    through Helix with its own id, the replay's only logged; no raid across platforms."""
    params = load_params()["serving"]
    replay = write_jsonl(tmp_path / "streamer.jsonl", [
        {"text": SAME, "user_id": "r1", "message_id": "r-1"},
        {"text": SAME, "user_id": "r2", "message_id": "r-2"},
        {"text": SPAM, "user_id": "r3", "message_id": "r-spam"}])
    twitch_lines = [twitch_privmsg(SAME, "alice", "t-1"), twitch_privmsg(SAME, "bob", "t-2"),
                    twitch_privmsg(SPAM, "mallory", "t-spam")]

    async def main():
        async with TwitchServer([["\r\n".join(twitch_lines)]]) as irc, \
                HttpJson(lambda *a: (204, {})) as helix:
            twitch = open_source("twitch:streamer", ws_url=f"ws://127.0.0.1:{irc.port}", **FAST)
            dead = open_source("twitch:nobody", ws_url="ws://127.0.0.1:9", **FAST)
            merged = MergedSource([twitch, ReplaySource(replay), dead],
                                  backoff=lambda: Backoff(base=0.01, cap=0.05))
            host = ModelHost(str(tiny_model_dir), poll_seconds=3600)
            host.load()
            out = tmp_path / "out.jsonl"
            decisions = DecisionLog(url="", out_path=out, spool_path=tmp_path / "spool")
            bot = Bot(merged, host, params, answerer=Answerer(params["answer"]),
                      actions=Actions(act=True, timeout_s=600, env=env_for(helix.port)),
                      decisions=decisions)
            assert isinstance(bot.rules, ScopedRules) and not bot.wait_when_full
            task = asyncio.create_task(bot.run())
            await until(lambda: decisions.count >= 6 and merged.failures["twitch:nobody"] >= 2,
                        "six decisions and the dead source retried")
            up = merged.up()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        return out, helix.requests, up

    out, requests, up = arun(main(), timeout=120)
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert sorted((r["platform"], r["message_id"]) for r in rows) == sorted(
        [("twitch", "t-1"), ("twitch", "t-2"), ("twitch", "t-spam"),
         ("replay", "r-1"), ("replay", "r-2"), ("replay", "r-spam")])
    assert {r["channel"] for r in rows} == {"streamer"}
    by_id = {r["message_id"]: r for r in rows}
    assert by_id["t-spam"]["label"] == "spam" and by_id["t-spam"]["action"] == "delete+timeout"
    assert by_id["r-spam"]["label"] == "spam" and by_id["r-spam"]["action"] == "log"
    # Only Twitch messages the bot flagged were deleted on Twitch, each by its own id.
    deleted = sorted(q["message_id"][0] for m, p, q, *_ in requests if m == "DELETE")
    assert "t-spam" in deleted and deleted == sorted(
        r["message_id"] for r in rows if r["platform"] == "twitch"
        and r["label"] in ("toxic", "spam"))
    # Four senders of the same text, two per platform: no raid anywhere.
    assert not any("raid" in r["rules"] for r in rows)
    assert up["twitch:nobody"] is False


def test_scoped_rules_keep_platforms_apart():
    from serving.message import ChatMessage
    rules = ScopedRules(load_params()["serving"]["rules"])
    evidence = [rules.inspect(ChatMessage(p, "streamer", f"{p}{u}", f"u{u}", "n", SAME))
                for p in ("twitch", "replay") for u in range(3)]
    assert not any("raid" in ev.reasons() for ev in evidence)
    more = [rules.inspect(ChatMessage("twitch", "streamer", f"x{u}", f"w{u}", "n", SAME))
            for u in range(2)]
    assert "raid" in more[-1].reasons()        # the fourth sender on the same platform


def test_twitch_moderator_commands_and_deletes_reach_the_feedback_service(
        feedback_service, tmp_path, arun):
    """A Twitch moderator's `!label` (mod tag / badge) becomes a correction and is not chat;
    a viewer's `!label` is chat; a CLEARMSG becomes a flagged review item."""
    from feedback.client import FeedbackClient
    store = feedback_service.store
    store.add_decisions([{"text": "그냥 채팅", "label": "normal", "confidence": 0.9,
                          "platform": "twitch", "channel": "streamer", "message_id": "old-1",
                          "user_id": "u-eve"}])
    mod = twitch_privmsg("!label spam old-1", "modmin", "c-1").replace("mod=0", "mod=1")
    broadcaster = twitch_privmsg("!label toxic old-1", "streamer", "c-2").replace(
        "@badge-info=;", "@badge-info=;badges=broadcaster/1;")
    viewer = twitch_privmsg("!label normal old-1", "viewer", "c-3")
    lines = [mod, broadcaster, viewer, twitch_clearmsg("eve", "old-1", "그냥 채팅"),
             twitch_privmsg("안녕", "alice", "c-4")]

    async def main(url):
        client = FeedbackClient(url, "svc-token")
        commands = ChatCommands(client)
        relay = ModerationRelay(url=url, token="svc-token", spool_path=tmp_path / "ev.jsonl")
        async with TwitchServer([["\r\n".join(lines)]]) as irc:
            source = TwitchCommandSource("streamer", commands=commands, **FAST,
                                         ws_url=f"ws://127.0.0.1:{irc.port}")
            MergedSource([source]).wire(relay)
            got = []
            async for message in source:
                got.append(message)
                if len(got) == 2:
                    break
            assert relay.stats["seen"] == 1       # reported before the message after it
        await commands.drain()
        assert await relay.flush()
        client.close()
        return got, source.stats

    with feedback_service() as url:
        got, stats = arun(main(url))
    assert [m.message_id for m in got] == ["c-3", "c-4"]     # the viewer's !label is chat
    assert stats["commands"] == 2
    corrections = store.corrections()
    assert sorted((c["label"], c["moderator"]) for c in corrections) == [
        ("spam", "twitch:Modmin"), ("toxic", "twitch:Streamer")]
    flagged = [i for i in store.review_queue(10) if i["sample"] == "platform-moderation"]
    assert flagged == []       # corrected already: no longer waiting for review
    assert store.stats()["platform_moderation_flags"] == 1


def test_twitch_moderator_tags():
    assert twitch_is_moderator({"mod": "1"})
    assert twitch_is_moderator({"mod": "0", "badges": "broadcaster/1,subscriber/0"})
    assert twitch_is_moderator({"badges": "lead_moderator/1"})
    assert not twitch_is_moderator({"mod": "0", "badges": "subscriber/12,vip/1"})
    assert not twitch_is_moderator({})


DISCORD_CHANNEL = "4242"
MANAGE_MESSAGES = 1 << 13


def discord_member(user: str, roles: list[str], with_user: bool = False) -> dict:
    from servers import discord_user_id
    member = {"roles": roles, "joined_at": "2026-01-01T00:00:00.000000+00:00", "deaf": False,
              "mute": False, "flags": 0, "nick": None, "avatar": None}
    if with_user:
        member["user"] = {"id": discord_user_id(user), "username": user.lower(),
                          "global_name": user, "discriminator": "0", "avatar": None}
    return member


def discord_chat(seq: int, msg_id: int, text: str, user: str, roles: list[str]) -> str:
    """MESSAGE_CREATE in a guild channel, with the author's `member` (roles) as the gateway
    sends it."""
    from servers import discord_message
    frame = json.loads(discord_message(seq, msg_id, text, user, channel=DISCORD_CHANNEL))
    frame["d"]["member"] = discord_member(user, roles)
    return json.dumps(frame)


def discord_reaction(seq: int, msg_id: int, emoji: str, user: str, roles: list[str]) -> str:
    """MESSAGE_REACTION_ADD in a guild (the reacting member included)."""
    from servers import discord_dispatch, discord_user_id
    return discord_dispatch(seq, "MESSAGE_REACTION_ADD", {
        "user_id": discord_user_id(user), "channel_id": DISCORD_CHANNEL,
        "message_id": str(msg_id), "guild_id": "900", "type": 0, "burst": False,
        "member": discord_member(user, roles, with_user=True),
        "emoji": {"id": None, "name": emoji}})


def test_discord_moderator_commands_and_reactions(feedback_service, arun):
    """A member whose role may manage messages: `!label` is a correction (not chat) and a
    🚫 reaction labels the message spam; the same from a viewer changes nothing."""
    from servers import DiscordServer, discord_guild

    from feedback.client import FeedbackClient
    from serving.chat_commands import DiscordCommandSource
    store = feedback_service.store
    store.add_decisions([{"text": t, "label": "normal", "confidence": 0.9, "platform": "discord",
                          "channel": DISCORD_CHANNEL, "message_id": m, "user_id": "x"}
                         for m, t in (("555", "광고 채팅"), ("556", "또 광고"))])
    guild = discord_guild([DISCORD_CHANNEL], [])
    guild["roles"].append({"id": "901", "name": "mods", "permissions": str(MANAGE_MESSAGES),
                           "position": 1, "color": 0, "hoist": False, "managed": False,
                           "mentionable": False, "flags": 0})
    from servers import discord_dispatch
    script = [discord_dispatch(2, "GUILD_CREATE", guild),
              discord_chat(3, 601, "!label spam 555", "ModKim", ["901"]),
              discord_chat(4, 602, "!label normal 555", "Viewer", []),
              discord_reaction(5, 556, "🚫", "ModKim", ["901"]),
              discord_reaction(6, 556, "✅", "Viewer", []),
              discord_chat(7, 603, "end", "Viewer", [])]

    async def main(url):
        client = FeedbackClient(url, "svc-token")
        commands = ChatCommands(client)
        async with DiscordServer([script]) as server:
            source = DiscordCommandSource(
                DISCORD_CHANNEL, commands=commands, token=DiscordServer.TOKEN,
                api_url=f"http://127.0.0.1:{server.http.port}/api/v10",
                gateway_url=f"ws://127.0.0.1:{server.port}")
            got = []
            async for message in source:
                got.append(message)
                if message.text == "end":
                    break
        await commands.drain()
        client.close()
        return got, source.stats, server.errors

    with feedback_service() as url:
        got, stats, errors = arun(main(url))
    assert errors == []
    assert [m.message_id for m in got] == ["602", "603"]     # the viewer's !label is chat
    assert stats["commands"] == 1 and stats["reactions"] == 1
    assert sorted((c["decision_id"], c["label"], c["moderator"]) for c in store.corrections()) \
        == [(1, "spam", "discord:modkim"), (2, "spam", "discord:modkim")]


def test_relay_keeps_events_while_the_service_is_down(feedback_service, tmp_path, arun):
    """Spooled while unreachable, sent later; a CHZZK-style event (user_id, no kind) is a delete."""
    from serving.platform_moderation import normalise
    store = feedback_service.store
    store.add_decisions([{"text": "채팅", "label": "normal", "confidence": 0.8,
                          "platform": "chzzk", "channel": "abc", "message_id": "z1",
                          "user_id": "hash1"}])
    chzzk = {"platform": "chzzk", "channel": "abc", "chat_channel_id": "N1", "message_id": "z1",
             "user_id": "hash1", "ts": 1700000000.0, "blind_type": "CBOTBLIND"}
    assert normalise(chzzk)["kind"] == "delete" and normalise(chzzk)["user"] == "hash1"
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    relay = ModerationRelay(url=f"http://127.0.0.1:{port}", token="svc-token",
                            spool_path=tmp_path / "events.jsonl")
    relay(chzzk)
    assert arun(relay.flush()) is False and relay.pending() == 1
    with feedback_service(port):
        assert arun(relay.flush()) is True
    assert relay.pending() == 0 and relay.stats["sent"] == 1
    assert [i["message_id"] for i in store.review_queue(5)
            if i["sample"] == "platform-moderation"] == ["z1"]
