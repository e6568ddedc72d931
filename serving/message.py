"""The chat-message record every source yields."""
from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ChatMessage:
    """One chat line from any platform (or a replay file)."""

    platform: str          # soop | chzzk | twitch | discord | replay
    channel: str           # the platform's channel / room / broadcast id
    message_id: str        # the platform's id, or a generated one when it has none
    user_id: str
    nickname: str
    text: str
    ts: float = field(default_factory=time.time)  # unix seconds (an edit: the edit's time)
    edited: bool = False   # a re-check of an edited message: same message_id, new text
