"""JSONL files: one JSON object a line, UTF-8.

`read`/`parse` yield (line number, object) and refuse bad input with `file:line` (bytes
that are not UTF-8, lines that are not JSON, JSON that is not an object); blank lines are
skipped and a UTF-8 byte-order mark on the first line is allowed. `write_atomic` and
`write_lines_atomic` write a temporary file in the target's folder, fsync it and rename it
over the target: a reader sees the old file or the new one, never half of one, and a
failure leaves the old file and no temporary file behind.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Iterable, Iterator

from chatloop.errors import ChatloopError


class JsonlError(ChatloopError, ValueError):
    """A JSONL line that cannot be read; the message starts with `file:line:`."""


def parse(lines: Iterable[str | bytes], name: str) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every non-blank line of `lines` (bytes or text); `name`
    (the file) starts every error message."""
    for lineno, line in enumerate(lines, 1):
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise JsonlError(f"{name}:{lineno}: not UTF-8 (byte {exc.object[exc.start]:#04x} "
                                 f"at column {exc.start + 1})") from None
        if lineno == 1:
            line = line.removeprefix("\ufeff")
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise JsonlError(f"{name}:{lineno}: not valid JSON ({exc.msg} at column "
                             f"{exc.colno})") from None
        except RecursionError:
            raise JsonlError(f"{name}:{lineno}: not valid JSON (nested too deeply)") from None
        if not isinstance(row, dict):
            raise JsonlError(f"{name}:{lineno}: expected a JSON object, got "
                             f"{type(row).__name__}")
        yield lineno, row


def read(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """(line number, object) for every row of the file at `path` (see `parse`)."""
    with open(path, "rb") as fh:
        yield from parse(fh, str(path))


def load(path: str | os.PathLike, *, missing_ok: bool = False) -> list[dict]:
    """Every row of the file; with `missing_ok` a file that does not exist has none."""
    if missing_ok and not Path(path).exists():
        return []
    return [row for _, row in read(path)]


def dumps(row: dict) -> str:
    """One JSONL line (without the newline): compact UTF-8, not ASCII escapes."""
    return json.dumps(row, ensure_ascii=False)


def write_lines_atomic(path: str | os.PathLike, lines: Iterable[str]) -> int:
    """Replace the file at `path` with `lines` (each gets a newline), whole or not at all;
    returns how many lines were written. The parent folder must exist."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    count = 0
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line + "\n")
                count += 1
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:     # any failure, even Ctrl-C: no half-written file is left behind
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)
    return count


def write_atomic(path: str | os.PathLike, rows: Iterable[dict]) -> int:
    """Replace the file at `path` with `rows`, one JSON object a line, whole or not at all
    (a row that cannot be serialised fails the write); returns the number of rows."""
    return write_lines_atomic(path, (dumps(row) for row in rows))


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (where the platform lets a folder be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
