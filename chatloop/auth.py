"""Bearer tokens for chatloop's HTTP services (feedback and serving APIs).

Tokens come only from the environment, as `name:token,name:token`; the name is who the
caller is (recorded, rate-limited). A token list that cannot be right is refused at start
with an error that names the entry but never shows a token: a malformed entry, a token
shorter than MIN_TOKEN_CHARS (a 1-character token is guessable), or the same token twice
(in one list or in two lists with different rights). Tokens are compared in constant time.
"""
from __future__ import annotations

import hmac
from typing import Generic, Iterable, TypeVar

from chatloop.errors import ChatloopError

MIN_TOKEN_CHARS = 8   # `openssl rand -hex 16` gives 32
T = TypeVar("T")


class TokenError(ChatloopError):
    """A token list that must not be used; the message never contains a token."""


def parse_tokens(spec: str | None, source: str = "token list") -> dict[str, str]:
    """'alice:tok1,bob:tok2' -> {'tok1': 'alice', 'tok2': 'bob'}; `source` (e.g. the
    environment variable) names the list in errors."""
    out: dict[str, str] = {}
    for position, item in enumerate((spec or "").split(","), 1):
        if not item.strip():
            continue
        name, sep, token = item.strip().partition(":")
        name, token = name.strip(), token.strip()
        if not sep or not name or not token:
            raise TokenError(f"{source}: entry {position} has no name or no token "
                             "(token lists look like 'name:token,name:token')")
        if len(token) < MIN_TOKEN_CHARS:
            raise TokenError(f"{source}: the token of {name!r} has {len(token)} characters; "
                             f"tokens need at least {MIN_TOKEN_CHARS} "
                             "(e.g. `openssl rand -hex 16`)")
        if token in out:
            raise TokenError(f"{source}: {out[token]!r} and {name!r} have the same token; "
                             "give every caller its own")
        out[token] = name
    return out


def check_distinct(lists: dict[str, dict[str, str]]) -> None:
    """Refuse a token that appears in two lists ({list name: {token: name}}): which rights
    it carries would be ambiguous."""
    seen: dict[str, tuple[str, str]] = {}
    for source, tokens in lists.items():
        for token, name in tokens.items():
            if token in seen:
                raise TokenError(f"{seen[token][0]} ({seen[token][1]!r}) and {source} "
                                 f"({name!r}) have the same token; give every caller its own")
            seen[token] = (source, name)


class Bearer(Generic[T]):
    """Finds who presented an `Authorization: Bearer TOKEN` header: the value the token maps
    to, or None. Every token is compared, so the time taken does not reveal which matched."""

    def __init__(self, known: Iterable[tuple[str, T]]):
        self.known = [(token.encode(), who) for token, who in known]

    def __bool__(self) -> bool:
        return bool(self.known)

    def find(self, authorization: str | None) -> T | None:
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return None
        try:
            raw = presented.strip().encode()
        except UnicodeEncodeError:      # a lone surrogate cannot be a token
            return None
        found = None
        for token, who in self.known:
            if hmac.compare_digest(raw, token):
                found = who
        return found
