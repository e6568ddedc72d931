"""`replay:FILE`: a recorded chat file (JSONL or CSV) played back as a source.

Rows: {"text", "user_id"?, "message_id"?, "nickname"?, "ts"?} (CSV: the same column names);
a missing message_id is the line number, a missing user_id `replay-<line>`.
The whole file is read and checked before the first message, so a bad row is a clear error
(file:line) and nothing is half-processed: blank text (zero-width characters count as
blank), text or ids that are not valid Unicode, a `ts` that is not finite unix seconds.
Speed: as fast as possible (rate None), `rate` messages per second, or "recorded" (the gaps
between the rows' `ts`; a gap over MAX_WAIT_S is refused). No single wait exceeds MAX_WAIT_S.
"""
from __future__ import annotations

import asyncio
import collections
import csv
import json
import math
import re
import time
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import AsyncIterator

from chatloop.errors import ChatloopError
from serving.message import ChatMessage

MAX_TS = 1e11          # unix seconds up to the year 5138; a millisecond ts is far above
MAX_WAIT_S = 3600.0    # the longest gap "recorded" plays, and the longest single wait
SURROGATE = re.compile("[\ud800-\udfff]")   # also undecodable bytes (surrogateescape)
INVISIBLE = "\u115f\u1160\u3164\uffa0"      # Hangul fillers: blank-looking letters


class ReplayError(ChatloopError):
    """A replay file that cannot be read; names the file and line."""


def _ts(value: object, where: str) -> float | None:
    """Unix seconds from a number, a numeric string or ISO 8601; None when absent."""
    if value in (None, ""):
        return None
    numeric = True
    try:
        ts = float(value)  # type: ignore[arg-type]
    except OverflowError:   # an integer too large for a float
        ts = math.inf
    except (TypeError, ValueError):
        numeric = False
        try:
            ts = datetime.fromisoformat(str(value)).timestamp()
        except (ValueError, OverflowError, OSError):
            raise ReplayError(f"{where}: ts {value!r} is neither unix seconds nor ISO 8601") \
                from None
    if not math.isfinite(ts) or isinstance(value, bool):
        raise ReplayError(f"{where}: ts {value!r} is not a finite number of unix seconds")
    if abs(ts) >= MAX_TS:
        raise ReplayError(f"{where}: ts {value!r} is not plausible unix seconds"
                          + (" (milliseconds? divide by 1000)" if numeric else ""))
    return ts


def _blank(text: str) -> bool:
    """Nothing visible: whitespace, zero-width/format characters and Hangul fillers only."""
    return all(c.isspace() or c in INVISIBLE or unicodedata.category(c) == "Cf" for c in text)


def _row(row: object, where: str, channel: str, lineno: int) -> tuple[ChatMessage, float | None]:
    """The message of one row and its recorded ts (None when the row has none)."""
    if not isinstance(row, dict):
        raise ReplayError(f"{where}: expected an object with a \"text\" field")
    text = row.get("text")
    if not isinstance(text, str) or _blank(text):
        raise ReplayError(f"{where}: missing or empty \"text\"")
    # Without a user id every row is its own (unknown) user, so the rules' per-user
    # flood and repetition counters do not lump a whole file together.
    user = str(row.get("user_id") or f"replay-{lineno}")
    fields = {"text": text, "user_id": user, "message_id": str(row.get("message_id") or lineno),
              "nickname": str(row.get("nickname") or user)}
    for name, value in fields.items():
        if SURROGATE.search(value):
            raise ReplayError(f"{where}: \"{name}\" is not valid Unicode (a lone surrogate "
                              "such as \\ud800, or bytes that are not UTF-8)")
    ts = _ts(row.get("ts"), where)
    return ChatMessage("replay", channel, fields["message_id"], user, fields["nickname"], text,
                       time.time() if ts is None else ts), ts


def _gaps(rows: list[tuple[str, float | None]]) -> list[float]:
    """The wait before each row for rate "recorded": how far its (where, ts) is past the
    latest ts before it (0 without a ts or when earlier). A gap over MAX_WAIT_S raises."""
    gaps, latest = [], None
    for where, ts in rows:
        gap = 0.0 if ts is None or latest is None else max(0.0, ts - latest)
        if gap > MAX_WAIT_S:
            raise ReplayError(f"{where}: ts jumps {gap:.0f} s past the row before; \"recorded\" "
                              f"replays gaps of at most {MAX_WAIT_S:.0f} s (fix the ts, or use a "
                              "numeric rate)")
        if ts is not None:
            latest = ts if latest is None else max(latest, ts)
        gaps.append(gap)
    return gaps


def _read(path: Path) -> list[tuple[str, ChatMessage, float | None]]:
    """(file:line, message, recorded ts) for every row; raises ReplayError on the first bad one."""
    if not path.is_file():
        raise ReplayError(f"replay file {path} does not exist")
    channel = path.stem
    out = []
    # Bytes that are not UTF-8 become lone surrogates, which _row refuses with file:line.
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
        if path.suffix.lower() == ".csv":
            reader = csv.DictReader(fh)
            if "text" not in (reader.fieldnames or []):
                raise ReplayError(f"{path}: CSV needs a 'text' column (has {reader.fieldnames})")
            for lineno, row in enumerate(reader, start=2):
                where = f"{path}:{lineno}"
                out.append((where, *_row(row, where, channel, lineno)))
        else:
            for lineno, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                where = f"{path}:{lineno}"
                try:
                    row = json.loads(line)
                except (ValueError, RecursionError) as exc:
                    raise ReplayError(f"{where}: not JSON ({exc})") from None
                out.append((where, *_row(row, where, channel, lineno)))
    return out


def read_replay(path: str | Path) -> list[ChatMessage]:
    """Every message in a JSONL or CSV chat file; raises ReplayError on the first bad row."""
    return [message for _, message, _ in _read(Path(path))]


class ReplaySource:
    """Plays a chat file back; ends when the file does."""

    platform = "replay"

    def __init__(self, path: str | Path, rate: float | str | None = None):
        if rate not in (None, "recorded") and not (isinstance(rate, (int, float)) and rate > 0):
            raise ReplayError(f"rate must be a positive number or 'recorded', not {rate!r}")
        rows = _read(Path(path))
        self.messages = [message for _, message, _ in rows]
        self.gaps = _gaps([(where, ts) for where, _, ts in rows]) if rate == "recorded" else None
        self.channel = Path(path).stem
        self.rate = rate
        self.stats: collections.Counter[str] = collections.Counter()

    async def stream(self) -> AsyncIterator[ChatMessage]:
        loop = asyncio.get_running_loop()
        start = due = loop.time()
        for i, message in enumerate(self.messages):
            if self.gaps is not None:
                due += self.gaps[i]
            elif self.rate:
                due = start + i / float(self.rate)
            else:
                due = 0.0
            # Never one wait longer than MAX_WAIT_S (a tiny rate); also lets the bot run.
            await asyncio.sleep(min(MAX_WAIT_S, max(0.0, due - loop.time())))
            self.stats["chat"] += 1
            yield message

    def __aiter__(self) -> AsyncIterator[ChatMessage]:
        return self.stream()
