"""Running DVC commands: the `dvc` installed beside this Python, in a given repository.

`run(repo, "add", "data/raw")` returns the command's output or raises DvcError, whose
message names the command, the repository, the exit status and DVC's own `ERROR` lines
(else the last lines it printed). `root(path)` finds the DVC repository holding a path.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from chatloop.errors import ChatloopError

COMMAND = (sys.executable, "-m", "dvc")   # not whichever `dvc` is first on PATH
DETAIL_LINES = 5                          # output lines quoted when DVC printed no ERROR line
DETAIL_CHARS = 2000                       # at most this much of that output in a message


class DvcError(ChatloopError, RuntimeError):
    """A DVC command failed or could not start; the message says which and why."""


def root(path: str | os.PathLike) -> Path:
    """The DVC repository that holds `path` (the nearest folder with a `.dvc/` folder)."""
    path = Path(path).resolve()
    for parent in (path, *path.parents):
        if (parent / ".dvc").is_dir():
            return parent
    raise DvcError(f"{path} is not inside a DVC repository (run `dvc init` first)")


def run(repo: str | os.PathLike, *args: str) -> str:
    """`dvc ARGS` in `repo`; its standard output, or DvcError."""
    shown = " ".join(("dvc", *args))
    try:
        proc = subprocess.run([*COMMAND, *args], cwd=repo, capture_output=True, text=True)
    except OSError as exc:
        raise DvcError(f"`{shown}` could not start in {repo}: {exc}") from None
    if proc.returncode != 0:
        lines = [line.strip() for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
        detail = [line for line in lines if line.startswith("ERROR")] or lines[-DETAIL_LINES:]
        raise DvcError(f"`{shown}` failed in {repo} (exit {proc.returncode}): "
                       + " | ".join(detail)[-DETAIL_CHARS:])
    return proc.stdout
