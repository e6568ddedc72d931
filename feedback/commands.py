"""Corrections from chat: `!label <label> <message id>` and Discord reactions.

Serving's platform sources call these when a chat message or reaction arrives:

    from feedback.commands import handle_chat_command, handle_reaction
    correction = handle_chat_command(store, "twitch", user_is_moderator, "twitch:alice", text)

`store` is a feedback.store.Store (same database) or a feedback.client.FeedbackClient
(the service over HTTP, with a service token). Both return None for anything that is not
a valid moderator command, so a chat loop never has to catch an exception from here.
"""
from __future__ import annotations

import logging
import re

from chatloop.errors import ChatloopError
from components.labels import LABELS

log = logging.getLogger(__name__)
COMMAND = re.compile(r"^\s*!label\s+(?P<label>\S+)\s+(?P<message_id>\S+)\s*$", re.IGNORECASE)
# A moderator's reaction on Discord relabels the message it is on.
REACTION_LABELS = {
    "✅": "normal", "❓": "question", "⚠️": "toxic", "⚠": "toxic", "🚫": "spam",
}


class CommandError(ChatloopError):
    """A `!label` command that cannot be carried out; the message says why."""


def parse_command(text: str) -> tuple[str, str] | None:
    """'!label spam 123' -> ('spam', '123'); None when the text is not a !label command.
    Raises CommandError for a !label command with a bad label or no message id."""
    if not isinstance(text, str) or not text.lstrip().lower().startswith("!label"):
        return None
    match = COMMAND.match(text)
    if not match:
        raise CommandError("usage: !label <" + "|".join(LABELS) + "> <message id>")
    label = match["label"].lower()
    if label not in LABELS:
        raise CommandError(f"unknown label {label!r}; use one of {', '.join(LABELS)}")
    return label, match["message_id"]


def store_correction(store, platform: str, moderator: str, label: str,
                     message_id: str, how: str) -> dict | None:
    """Store `label` for the decision about a platform message; None when no decision
    is known for that message (logged). Repeats are idempotent."""
    key = f"chat:{platform}:{message_id}:{label}:{moderator}:{how}"
    try:
        result = store.add_correction(label=label, moderator=moderator, platform=platform,
                                      message_id=str(message_id), idempotency_key=key)
    except (ValueError, RuntimeError) as exc:   # FeedbackError, FeedbackAPIError
        log.warning("%s correction from %s for message %s not stored: %s",
                    platform, moderator, message_id, exc)
        return None
    return result[0] if isinstance(result, tuple) else result


def handle_chat_command(store, platform: str, user_is_moderator: bool, moderator: str,
                        text: str) -> dict | None:
    """Store the correction a moderator's `!label <label> <message id>` asks for.

    Returns the stored correction, or None: not a command, not a moderator (ignored and
    logged), a malformed command (logged; call parse_command to get the reason), or no
    decision known for that message id.
    """
    try:
        parsed = parse_command(text)
    except CommandError as exc:
        log.info("%s: ignored command from %s: %s", platform, moderator, exc)
        return None
    if parsed is None:
        return None
    if not user_is_moderator:
        log.info("%s: ignored !label from non-moderator %s", platform, moderator)
        return None
    label, message_id = parsed
    return store_correction(store, platform, moderator, label, message_id, "command")


def handle_reaction(store, platform: str, user_is_moderator: bool, moderator: str,
                    emoji: str, message_id: str) -> dict | None:
    """A moderator's reaction (REACTION_LABELS) on a message stores that label for it."""
    label = REACTION_LABELS.get(emoji)
    if label is None or not user_is_moderator:
        return None
    return store_correction(store, platform, moderator, label, message_id, "reaction")
