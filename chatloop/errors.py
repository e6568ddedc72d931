"""The project's error base, and how the command-line entry points report errors.

Every error the project raises on purpose derives from ChatloopError: bad input,
configuration, a refused or failed external step; something the user can fix. A CLI prints
it as one line (`PROG: error: message`) and exits 2; with `-v` the traceback comes first.
Any other exception is a bug: it is not caught, so Python prints its traceback (exit 1).
"""
from __future__ import annotations

import sys
import traceback
from typing import Callable

USER_ERROR = 2      # exit code of an error the user can fix
INTERRUPTED = 130   # exit code after Ctrl-C (128 + SIGINT), as shells report it


class ChatloopError(Exception):
    """An error the user can fix; the CLIs print its message as one line."""


class UsageError(ChatloopError):
    """A command-line argument the command cannot use."""


def report(prog: str, exc: BaseException, verbose: bool = False, code: int = USER_ERROR) -> int:
    """Print `exc` as `PROG: error: message` (after its traceback with `verbose`) on
    stderr; returns `code`."""
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    print(f"{prog}: error: {exc}", file=sys.stderr)
    return code


def run_cli(prog: str, body: Callable[[], int | None], verbose: bool = False) -> int:
    """`body()`'s exit code (None is 0). A ChatloopError, or a file that is missing or not
    allowed, is reported as one line with exit 2; Ctrl-C is exit 130. Anything else
    propagates with its traceback."""
    try:
        return body() or 0
    except (ChatloopError, FileNotFoundError, PermissionError) as exc:
        return report(prog, exc, verbose)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return INTERRUPTED
