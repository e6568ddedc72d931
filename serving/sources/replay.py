"""`replay:FILE`: a recorded chat file (JSONL or CSV) played back as a source.

Rows: {"text", "user_id"?, "message_id"?, "nickname"?, "ts"?} (CSV: the same column names);
a missing message_id is the line number, a missing user_id `replay-<line>`.
The whole file is read and checked before the first message, so a bad row is a clear error
(file:line) and nothing is half-processed. Speed: as fast as possible (rate None), `rate`
messages per second, or "recorded" (the gaps between the rows' `ts`).
"""
from __future__ import annotations

import asyncio
import collections
import csv
import json
import time
from datetime import datetime
from pathlib import Path
from typing import AsyncIterator

from serving.message import ChatMessage


class ReplayError(ValueError):
    """A replay file that cannot be read; names the file and line."""


def _ts(value: object, where: str) -> float | None:
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        pass
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        raise ReplayError(f"{where}: ts {value!r} is neither unix seconds nor ISO 8601") from None


def _row(row: object, where: str, channel: str, lineno: int) -> ChatMessage:
    if not isinstance(row, dict):
        raise ReplayError(f"{where}: expected an object with a \"text\" field")
    text = row.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ReplayError(f"{where}: missing or empty \"text\"")
    # Without a user id every row is its own (unknown) user, so the rules' per-user
    # flood and repetition counters do not lump a whole file together.
    user = str(row.get("user_id") or f"replay-{lineno}")
    ts = _ts(row.get("ts"), where)
    return ChatMessage("replay", channel, str(row.get("message_id") or lineno), user,
                       str(row.get("nickname") or user), text, time.time() if ts is None else ts)


def read_replay(path: str | Path) -> list[ChatMessage]:
    """Every message in a JSONL or CSV chat file; raises ReplayError on the first bad row."""
    path = Path(path)
    if not path.is_file():
        raise ReplayError(f"replay file {path} does not exist")
    channel = path.stem
    out = []
    with open(path, encoding="utf-8", newline="") as fh:
        if path.suffix.lower() == ".csv":
            reader = csv.DictReader(fh)
            if "text" not in (reader.fieldnames or []):
                raise ReplayError(f"{path}: CSV needs a 'text' column (has {reader.fieldnames})")
            for lineno, row in enumerate(reader, start=2):
                out.append(_row(row, f"{path}:{lineno}", channel, lineno))
        else:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{lineno}"
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise ReplayError(f"{where}: not JSON ({exc})") from None
                out.append(_row(row, where, channel, lineno))
    return out


class ReplaySource:
    """Plays a chat file back; ends when the file does."""

    platform = "replay"

    def __init__(self, path: str | Path, rate: float | str | None = None):
        if rate not in (None, "recorded") and not (isinstance(rate, (int, float)) and rate > 0):
            raise ReplayError(f"rate must be a positive number or 'recorded', not {rate!r}")
        self.messages = read_replay(path)
        self.channel = Path(path).stem
        self.rate = rate
        self.stats: collections.Counter[str] = collections.Counter()

    async def stream(self) -> AsyncIterator[ChatMessage]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        first_ts = self.messages[0].ts if self.messages else 0.0
        for i, message in enumerate(self.messages):
            if self.rate == "recorded":
                due = start + max(0.0, message.ts - first_ts)
            elif self.rate:
                due = start + i / float(self.rate)
            else:
                due = 0.0
            await asyncio.sleep(max(0.0, due - loop.time()))  # also lets the bot run
            self.stats["chat"] += 1
            yield message

    def __aiter__(self) -> AsyncIterator[ChatMessage]:
        return self.stream()
