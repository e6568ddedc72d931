"""OAuth 2 access tokens that refresh themselves (RFC 6749 §6, refresh_token grant).

`OAuthToken` holds an access token, a refresh token and an expiry. `await token.get()`
returns a usable access token, refreshing `refresh_margin_s` before the known expiry;
`await token.refresh()` forces one refresh (e.g. after a 401). Concurrent callers share
one refresh (an asyncio.Lock; a caller that waited for someone else's refresh takes its
result). A refresh token the server rotates replaces the old one in memory.

`OAuthToken.from_env(PREFIX)` reads, for PREFIX in TWITCH, CHZZK, YOUTUBE (or any other):

| variable | meaning |
|---|---|
| `{PREFIX}_TOKEN` (CHZZK: `CHZZK_ACCESS_TOKEN`) | the access token (optional if a refresh token is set) |
| `{PREFIX}_REFRESH_TOKEN` | the refresh token (without it the token cannot be renewed) |
| `{PREFIX}_CLIENT_ID`, `{PREFIX}_CLIENT_SECRET` | the application's credentials, sent with a refresh |
| `{PREFIX}_TOKEN_EXPIRES_AT` | optional: the access token's expiry, unix seconds |
| `{PREFIX}_TOKEN_URL` | optional: another token endpoint (plain http only to loopback, for tests) |

Token endpoints: Twitch `https://id.twitch.tv/oauth2/token`, Google/YouTube
`https://oauth2.googleapis.com/token` (both a form body: grant_type, refresh_token,
client_id, client_secret; answer `access_token`, `expires_in`, maybe `refresh_token`);
CHZZK Open API `https://openapi.chzzk.naver.com/auth/v1/token` (a JSON body: grantType,
refreshToken, clientId, clientSecret; answer `accessToken`, `refreshToken`, `expiresIn`
as a string, possibly inside the Open API's `content` envelope; its refresh tokens are
single-use). Secrets come only from the environment (a Kubernetes secret in production)
and are never logged: errors name variables and HTTP statuses, never values.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Callable, Mapping

import httpx

from chatloop.errors import ChatloopError
from serving.sources.base import check_url

log = logging.getLogger(__name__)

# prefix -> (default token endpoint, body style, access-token variable)
PROVIDERS = {
    "TWITCH": ("https://id.twitch.tv/oauth2/token", "form", "TWITCH_TOKEN"),
    "CHZZK": ("https://openapi.chzzk.naver.com/auth/v1/token", "chzzk", "CHZZK_ACCESS_TOKEN"),
    "YOUTUBE": ("https://oauth2.googleapis.com/token", "form", "YOUTUBE_TOKEN"),
}


class OAuthError(ChatloopError):
    """A token that cannot be had: no refresh token, or the endpoint refused (no secrets)."""


class OAuthToken:
    """An access token kept valid by refreshing it (see the module docstring).

    `style` is "form" (RFC 6749 form body, snake_case answer) or "chzzk" (JSON body,
    camelCase answer). `refresh_margin_s` (default 300): refresh this long before the
    expiry. `clock` gives unix seconds (tests inject one). `name` is used in messages.
    """

    def __init__(self, access_token: str | None, refresh_token: str | None = None, *,
                 client_id: str | None = None, client_secret: str | None = None,
                 token_url: str, expires_at: float | None = None, style: str = "form",
                 name: str = "OAUTH", refresh_margin_s: float = 300.0, http_timeout: float = 10.0,
                 clock: Callable[[], float] = time.time):
        if style not in ("form", "chzzk"):
            raise ValueError(f"unknown token endpoint style {style!r} (form or chzzk)")
        self.access_token, self.refresh_token = access_token or None, refresh_token or None
        self.client_id, self.client_secret = client_id or None, client_secret or None
        self.token_url, self.expires_at, self.style = check_url(token_url), expires_at, style
        self.name, self.refresh_margin_s = name, refresh_margin_s
        self.http_timeout, self.clock = http_timeout, clock
        self.refreshes = 0          # completed refreshes (also the token's generation)
        self._lock = asyncio.Lock()
        self._warned = False

    @classmethod
    def from_env(cls, prefix: str, token_url: str | None = None, *,
                 env: Mapping[str, str] | None = None, token_var: str | None = None,
                 **kwargs) -> "OAuthToken":
        """The token described by `{prefix}_*` variables (`token_var` names another access
        token variable). The endpoint is `{prefix}_TOKEN_URL` if set, else `token_url`, else
        the provider's default; raises OAuthError when neither an access token nor a refresh
        token is set."""
        env = os.environ if env is None else env
        prefix = prefix.upper()
        default_url, style, default_var = PROVIDERS.get(prefix, (None, "form", f"{prefix}_TOKEN"))
        token_var = token_var or default_var
        url = env.get(f"{prefix}_TOKEN_URL") or token_url or default_url
        if not url:
            raise OAuthError(f"{prefix}: no token endpoint (pass token_url or set {prefix}_TOKEN_URL)")
        access, refresh = env.get(token_var), env.get(f"{prefix}_REFRESH_TOKEN")
        if not access and not refresh:
            raise OAuthError(f"{prefix}: set {token_var} and/or {prefix}_REFRESH_TOKEN")
        expires = env.get(f"{prefix}_TOKEN_EXPIRES_AT")
        try:
            expires_at = float(expires) if expires else None
        except ValueError:
            raise OAuthError(f"{prefix}_TOKEN_EXPIRES_AT must be unix seconds") from None
        kwargs.setdefault("style", style)
        return cls(access, refresh, client_id=env.get(f"{prefix}_CLIENT_ID"),
                   client_secret=env.get(f"{prefix}_CLIENT_SECRET"), token_url=url,
                   expires_at=expires_at, name=prefix, **kwargs)

    @property
    def can_refresh(self) -> bool:
        """Whether a refresh can be attempted (a refresh token and a client id are set)."""
        return bool(self.refresh_token and self.client_id
                    and (self.client_secret or self.style == "form"))

    def _fresh(self) -> bool:
        return bool(self.access_token) and (
            self.expires_at is None or self.clock() < self.expires_at - self.refresh_margin_s)

    async def get(self) -> str:
        """A valid access token: the current one, or a refreshed one near its expiry."""
        if self._fresh():
            return self.access_token
        if not self.can_refresh:
            if self.access_token and self.expires_at is not None and self.clock() < self.expires_at:
                if not self._warned:
                    self._warned = True
                    log.warning("%s access token expires soon and cannot be refreshed (%s)",
                                self.name, self._missing())
                return self.access_token
            raise OAuthError(f"{self.name}: access token missing or expired and no refresh "
                             f"possible: {self._missing()}")
        generation = self.refreshes
        async with self._lock:
            if self.refreshes != generation and self._fresh():
                return self.access_token       # someone else refreshed while we waited
            return await self._refresh_locked()

    async def refresh(self, failed: str | None = None) -> str:
        """Force one refresh and return the new access token. With `failed` (the token a
        request was refused with), skip the refresh if the token has changed since."""
        if not self.can_refresh:
            raise OAuthError(f"{self.name}: cannot refresh the access token: {self._missing()}")
        generation = self.refreshes
        async with self._lock:
            if self.refreshes != generation or (failed is not None and failed != self.access_token
                                                and self.access_token):
                return self.access_token       # a refresh happened while we waited
            return await self._refresh_locked()

    def _missing(self) -> str:
        names = [f"{self.name}_REFRESH_TOKEN" if not self.refresh_token else "",
                 f"{self.name}_CLIENT_ID" if not self.client_id else "",
                 f"{self.name}_CLIENT_SECRET" if self.style == "chzzk" and not self.client_secret
                 else ""]
        return "set " + ", ".join(n for n in names if n) if any(names) else "refresh not possible"

    def _request_body(self) -> dict:
        if self.style == "chzzk":
            return {"json": {"grantType": "refresh_token", "refreshToken": self.refresh_token,
                             "clientId": self.client_id, "clientSecret": self.client_secret}}
        form = {"grant_type": "refresh_token", "refresh_token": self.refresh_token,
                "client_id": self.client_id}
        if self.client_secret:
            form["client_secret"] = self.client_secret
        return {"data": form}

    async def _refresh_locked(self) -> str:
        try:
            async with httpx.AsyncClient(timeout=self.http_timeout) as client:
                response = await client.post(self.token_url, headers={"Accept": "application/json"},
                                             **self._request_body())
        except httpx.HTTPError as exc:
            raise OAuthError(f"{self.name}: token refresh failed: {type(exc).__name__}") from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code >= 400 or not isinstance(data, dict):
            reason = data.get("error") or data.get("message") if isinstance(data, dict) else None
            raise OAuthError(f"{self.name}: token refresh refused: HTTP {response.status_code}"
                             + (f" ({str(reason)[:80]})" if reason else "")
                             + f"; check {self.name}_REFRESH_TOKEN and the client credentials")
        if isinstance(data.get("content"), dict):      # the CHZZK Open API envelope
            data = data["content"]
        access = data.get("access_token") or data.get("accessToken")
        if not isinstance(access, str) or not access:
            raise OAuthError(f"{self.name}: token endpoint answered without an access token")
        rotated = data.get("refresh_token") or data.get("refreshToken")
        expires_in = data.get("expires_in", data.get("expiresIn"))
        try:
            self.expires_at = self.clock() + float(expires_in) if expires_in is not None else None
        except (TypeError, ValueError):
            self.expires_at = None
        self.access_token = access
        if isinstance(rotated, str) and rotated:
            self.refresh_token = rotated               # rotated (CHZZK's are single-use)
        self.refreshes += 1
        log.info("%s access token refreshed (%s)", self.name,
                 f"expires in {float(expires_in):.0f}s" if self.expires_at else "expiry unknown")
        return access
