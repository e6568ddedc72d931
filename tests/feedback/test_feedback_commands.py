"""Chat commands (`!label spam <message id>`) and Discord reactions store corrections,
directly in the store or through the HTTP API with serving's service token."""
from __future__ import annotations

import pytest
from feedback_helpers import ALICE, SERVICE, decision

from feedback.client import FeedbackAPIError, FeedbackClient
from feedback.commands import CommandError, handle_chat_command, handle_reaction, parse_command


@pytest.mark.parametrize("text, parsed", [
    ("!label spam 123", ("spam", "123")),
    ("  !LABEL Toxic abc-def-9  ", ("toxic", "abc-def-9")),
    ("안녕하세요", None),
    ("label spam 1", None),
])
def test_parse(text, parsed):
    assert parse_command(text) == parsed


@pytest.mark.parametrize("text, reason", [("!label spam", "usage"), ("!label ham 1", "unknown label"),
                                          ("!label", "usage"), ("!label spam 1 2", "usage")])
def test_parse_errors_say_why(text, reason):
    with pytest.raises(CommandError, match=reason):
        parse_command(text)


def test_moderator_command_stores_a_correction(store):
    [decision_id] = store.add_decisions([decision(platform="twitch", message_id="tw-1",
                                                  text="선물 받으러 오세요 bit.ly/q")])
    row = handle_chat_command(store, "twitch", True, "twitch:alice", "!label spam tw-1")
    assert (row["decision_id"], row["label"], row["moderator"]) == (decision_id, "spam", "twitch:alice")
    assert row["text"] == "선물 받으러 오세요 bit.ly/q"
    # Repeated command: the same row, not a second one.
    again = handle_chat_command(store, "twitch", True, "twitch:alice", "!label spam tw-1")
    assert again["id"] == row["id"] and len(store.corrections()) == 1


@pytest.mark.parametrize("is_mod, text", [(False, "!label spam tw-1"), (True, "!label ham tw-1"),
                                          (True, "!label spam unknown-id"), (True, "그냥 채팅")])
def test_ignored_commands_store_nothing(store, is_mod, text):
    store.add_decisions([decision(platform="twitch", message_id="tw-1")])
    assert handle_chat_command(store, "twitch", is_mod, "twitch:x", text) is None
    assert store.corrections() == []


def test_discord_reaction(store):
    [decision_id] = store.add_decisions([decision(platform="discord", message_id="1190", text="ㅗㅗ")])
    assert handle_reaction(store, "discord", False, "discord:eve", "⚠️", "1190") is None
    assert handle_reaction(store, "discord", True, "discord:eve", "👍", "1190") is None
    row = handle_reaction(store, "discord", True, "discord:eve", "⚠️", "1190")
    assert (row["decision_id"], row["label"]) == (decision_id, "toxic")


def test_commands_through_the_api_with_a_service_token(live):
    url, store = live
    [decision_id] = store.add_decisions([decision(platform="discord", message_id="77", text="질문이요")])
    with FeedbackClient(url, SERVICE, retry_for=5) as api:
        row = handle_chat_command(api, "discord", True, "discord:mod", "!label question 77")
    assert (row["decision_id"], row["label"], row["moderator"]) == (decision_id, "question", "discord:mod")
    # A moderator token cannot record corrections in another moderator's name.
    with FeedbackClient(url, ALICE, retry_for=5) as api:
        assert handle_chat_command(api, "discord", True, "discord:mod", "!label spam 77") is None
        with pytest.raises(FeedbackAPIError) as err:
            api.add_correction("spam", platform="discord", message_id="77", moderator="discord:mod")
    assert err.value.status == 403
    assert len(store.corrections()) == 1
