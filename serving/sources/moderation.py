"""Moderators' actions seen on a platform (a deleted message, a timeout, a ban, a cleared chat).

Sources that see them (e.g. Twitch CLEARMSG/CLEARCHAT, Discord MESSAGE_DELETE) call their
`on_platform_moderation(event)` callback with one dict of exactly these keys:

    platform    str: the source's platform ("twitch", "discord", ...)
    channel     str: the channel as ChatMessage.channel names it (Discord: the thread id for
                a message in a thread)
    message_id  str | None: the removed message (kind "delete"), else None
    user        str | None: the affected user: the platform's user id where the event
                carries one (as in ChatMessage.user_id), else the login name (Twitch
                CLEARMSG carries only the login); None when unknown or for a whole-chat clear
    kind        "delete" | "timeout" | "ban" | "clear"
    duration_s  int | None: timeout length in seconds (kind "timeout"), else None
    ts          float: unix seconds (the platform's timestamp where it gives one)

The callback may be a plain function or a coroutine function; an exception it raises is
logged and the source goes on. Without a callback the event is logged at INFO level.
"""
from __future__ import annotations

import inspect
import logging
from typing import Any, Awaitable, Callable, Optional

log = logging.getLogger(__name__)

KINDS = ("delete", "timeout", "ban", "clear")
Callback = Callable[[dict], Optional[Awaitable[Any]]]


def moderation_event(platform: str, channel: str, kind: str, ts: float, *,
                     message_id: str | None = None, user: str | None = None,
                     duration_s: int | None = None) -> dict:
    """The event dict documented above."""
    if kind not in KINDS:
        raise ValueError(f"moderation kind must be one of {KINDS}, not {kind!r}")
    return {"platform": platform, "channel": channel, "message_id": message_id, "user": user,
            "kind": kind, "duration_s": duration_s, "ts": ts}


async def report(callback: Callback | None, event: dict) -> None:
    """Hand `event` to `callback` (awaited if it is a coroutine); log it when there is none."""
    if callback is None:
        log.info("%s:%s moderator action: %s message=%s user=%s duration=%s",
                 event["platform"], event["channel"], event["kind"], event["message_id"],
                 event["user"], event["duration_s"])
        return
    try:
        result = callback(event)
        if inspect.isawaitable(result):
            await result
    except Exception:   # a consumer's bug must not stop the chat source
        log.exception("%s:%s on_platform_moderation failed for %s", event["platform"],
                      event["channel"], event)
