"""Moderation actions and answer delivery, per platform. Dry run (log only) unless `act`.

For toxic and spam messages:
- twitch:  toxic -> delete the message (Helix DELETE /helix/moderation/chat);
           spam  -> delete and time the user out (POST /helix/moderation/bans, `timeout_s`).
- youtube: toxic -> delete (Data API v3 DELETE /liveChat/messages?id=);
           spam  -> delete and a temporary ban (POST /liveChat/bans?part=snippet, `timeout_s`).
           ChatMessage.channel is the liveChatId, user_id the author's channel id.
- chzzk:   restrict the user through the CHZZK Open API (POST /open/v1/restrict-channels).
- discord: delete the message (DELETE /channels/{channel}/messages/{id}).
- soop:    no public delete or ban API: the message is held for moderator review (`hold`).
- replay:  nothing to act on (`log`).
Answers go out through the platform's chat API when its credentials are set (Twitch Helix
POST /helix/chat/messages, YouTube POST /liveChat/messages?part=snippet, CHZZK Open API
chat send, Discord create message), else logged.

The action string (what the decision record stores, at most 32 characters) is the action
done, `dry-run:<action>` without `act`, `no-credentials:<action>`, or `failed:<action>`
when the API refused or rate limits outlasted `max_tries`; failures are also counted in
`failed` ((platform, action) -> n, exported as `chatloop_actions_failed_total`). Each
decision gets one log line naming platform, action, message id, user, label, confidence.

Every call: an OAuth token (serving.oauth.OAuthToken) refreshed before its expiry and once
on a 401, then retried; a 429 waits `X-RateLimit-Reset-After` / Discord's `retry_after` /
`Retry-After` (seconds or an HTTP date) / until Twitch's `Ratelimit-Reset` (unix seconds),
at most `max_wait_s` (`default_retry_s` when the answer names no wait), then retries, at
most `max_tries` attempts in all.

Credentials come only from the environment (Kubernetes secrets in production), never logged:
TWITCH_CLIENT_ID, TWITCH_BROADCASTER_ID, TWITCH_MODERATOR_ID and TWITCH_TOKEN (a user token
with moderator:manage:chat_messages, moderator:manage:banned_users, user:write:chat);
CHZZK_CLIENT_ID, CHZZK_CLIENT_SECRET, CHZZK_ACCESS_TOKEN; YOUTUBE_TOKEN (scope
youtube.force-ssl); DISCORD_BOT_TOKEN. For Twitch, CHZZK and YouTube, `{P}_REFRESH_TOKEN`
(with `{P}_CLIENT_ID`, `{P}_CLIENT_SECRET`) lets the token be refreshed, and may stand in
for the access token (see serving/oauth.py). API base URLs can be changed (TWITCH_API_URL,
CHZZK_API_URL, DISCORD_API_URL, YOUTUBE_API_URL) for tests on loopback only.
"""
from __future__ import annotations

import asyncio
import collections
import email.utils
import logging
import os
import time
from typing import Awaitable, Callable, Mapping

import httpx

from serving.message import ChatMessage
from serving.oauth import PROVIDERS, OAuthError, OAuthToken
from serving.sources.base import check_url

log = logging.getLogger(__name__)
DEFAULT_URLS = {"twitch": "https://api.twitch.tv", "chzzk": "https://openapi.chzzk.naver.com",
                "discord": "https://discord.com/api/v10",
                "youtube": "https://www.googleapis.com/youtube/v3"}
# Variables each platform needs besides its OAuth token (an access or a refresh token).
REQUIRED = {"twitch": ("TWITCH_CLIENT_ID", "TWITCH_BROADCASTER_ID", "TWITCH_MODERATOR_ID"),
            "chzzk": ("CHZZK_CLIENT_ID", "CHZZK_CLIENT_SECRET"),
            "youtube": (),
            "discord": ("DISCORD_BOT_TOKEN",)}
OAUTH = {"twitch": "TWITCH", "chzzk": "CHZZK", "youtube": "YOUTUBE"}
PLANNED = {"twitch": {"toxic": "delete", "spam": "delete+timeout"},
           "youtube": {"toxic": "delete", "spam": "delete+timeout"},
           "chzzk": {"toxic": "restrict", "spam": "restrict"},
           "discord": {"toxic": "delete", "spam": "delete"},
           "soop": {"toxic": "hold", "spam": "hold"}}


def _seconds(value: str | None, now: float) -> float | None:
    """A Retry-After-style value: delta seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(value).timestamp() - now
    except (TypeError, ValueError, IndexError):
        return None


def retry_delay(response: httpx.Response, now: float) -> float | None:
    """Seconds a 429 asks us to wait, or None when it does not say."""
    headers = response.headers
    delay = _seconds(headers.get("x-ratelimit-reset-after"), now)   # Discord, fractional
    if delay is None:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("retry_after"), (int, float)):
            delay = float(body["retry_after"])                        # Discord's body
    if delay is None:
        delay = _seconds(headers.get("retry-after"), now)
    if delay is None and headers.get("ratelimit-reset"):              # Twitch: unix seconds
        try:
            delay = float(headers["ratelimit-reset"]) - now
        except ValueError:
            pass
    return delay


def _reason(response: httpx.Response) -> str:
    """A short, secret-free reason from an error body (`message`, Google's error.message)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    text = body.get("message") or (error.get("message") if isinstance(error, dict) else error)
    return f" ({str(text)[:100]})" if text else ""


class Actions:
    """Carries out (or logs) moderation actions and answers on each platform.

    timeout_s: spam timeout / temporary ban length. max_tries (3): attempts per call while
    rate limited. max_wait_s (60): the longest wait for one 429. default_retry_s (1): the
    wait when a 429 names none. refresh_margin_s (300): refresh OAuth tokens this long
    before their expiry. `sleep` and `clock` (unix seconds) are injectable for tests.
    """

    def __init__(self, act: bool = False, timeout_s: int = 600,
                 env: Mapping[str, str] | None = None, http_timeout: float = 10.0, *,
                 max_tries: int = 3, max_wait_s: float = 60.0, default_retry_s: float = 1.0,
                 refresh_margin_s: float = 300.0,
                 sleep: Callable[[float], Awaitable] = asyncio.sleep,
                 clock: Callable[[], float] = time.time):
        if max_tries < 1:
            raise ValueError("max_tries must be at least 1")
        self.act, self.timeout_s = act, timeout_s
        self.env = os.environ if env is None else env
        self.http_timeout = http_timeout
        self.max_tries, self.max_wait_s, self.default_retry_s = max_tries, max_wait_s, default_retry_s
        self.refresh_margin_s, self.sleep, self.clock = refresh_margin_s, sleep, clock
        self.failed: collections.Counter[tuple[str, str]] = collections.Counter()
        self._tokens: dict[str, OAuthToken] = {}
        self._client: httpx.AsyncClient | None = None

    # ------------------------------------------------------------ credentials
    def _creds(self, platform: str) -> bool:
        """Whether every variable the platform needs is set (an access or refresh token)."""
        if platform not in REQUIRED or not all(self.env.get(n) for n in REQUIRED[platform]):
            return False
        prefix = OAUTH.get(platform)
        return prefix is None or bool(self.env.get(PROVIDERS[prefix][2])
                                      or self.env.get(f"{prefix}_REFRESH_TOKEN"))

    def token(self, platform: str) -> OAuthToken:
        """The platform's OAuth token (built from the environment on first use)."""
        if platform not in self._tokens:
            self._tokens[platform] = OAuthToken.from_env(
                OAUTH[platform], env=self.env, refresh_margin_s=self.refresh_margin_s,
                http_timeout=self.http_timeout, clock=self.clock)
        return self._tokens[platform]

    async def _headers(self, platform: str) -> tuple[dict, str | None]:
        """(headers, the bearer token used or None)."""
        if platform == "discord":
            return {"Authorization": f"Bot {self.env['DISCORD_BOT_TOKEN']}"}, None
        bearer = await self.token(platform).get()
        headers = {"Authorization": f"Bearer {bearer}"}
        if platform == "twitch":
            headers["Client-Id"] = self.env["TWITCH_CLIENT_ID"]
        elif platform == "chzzk":
            headers["Client-Id"] = self.env["CHZZK_CLIENT_ID"]
            headers["Client-Secret"] = self.env["CHZZK_CLIENT_SECRET"]
        return headers, bearer

    def _url(self, platform: str, path: str) -> str:
        base = self.env.get(f"{platform.upper()}_API_URL") or DEFAULT_URLS[platform]
        return check_url(base.rstrip("/") + path)

    # ----------------------------------------------------------------- calls
    async def _call(self, platform: str, method: str, path: str, **kwargs) -> bool:
        """One API call with token refresh and rate-limit retries; False (and an error log
        without secrets) when it fails."""
        url = self._url(platform, path)
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.http_timeout)
        what = f"{platform} {method} {path}"
        refreshed, tries = False, 0
        while True:
            try:
                headers, bearer = await self._headers(platform)
            except OAuthError as exc:
                log.error("%s: %s", what, exc)
                return False
            tries += 1
            try:
                response = await self._client.request(method, url, headers=headers, **kwargs)
            except httpx.HTTPError as exc:
                log.error("%s failed: %s", what, type(exc).__name__)
                return False
            status = response.status_code
            if status == 401 and bearer is not None and not refreshed:
                refreshed = True
                tries -= 1                      # a refused token is not a rate-limit try
                try:
                    await self.token(platform).refresh(failed=bearer)
                except OAuthError as exc:
                    log.error("%s -> HTTP 401; %s", what, exc)
                    return False
                log.info("%s -> HTTP 401: token refreshed, retrying once", what)
                continue
            if status == 429:
                if tries >= self.max_tries:
                    log.error("%s -> HTTP 429: still rate limited after %d tries, giving up",
                              what, tries)
                    return False
                delay = retry_delay(response, self.clock())
                delay = self.default_retry_s if delay is None else delay
                delay = min(max(delay, 0.0), self.max_wait_s)
                log.warning("%s -> HTTP 429: retrying in %.2fs (try %d of %d)", what, delay,
                            tries + 1, self.max_tries)
                await self.sleep(delay)
                continue
            if status >= 400:
                log.error("%s -> HTTP %s%s", what, status, _reason(response))
                return False
            return True

    # ------------------------------------------------------------ moderation
    def planned(self, message: ChatMessage, label: str) -> str:
        """The action for a label on this platform (before dry-run and credentials)."""
        if label not in ("toxic", "spam"):
            return "none"
        return PLANNED.get(message.platform, {}).get(label, "log")

    async def moderate(self, message: ChatMessage, label: str,
                       confidence: float | None = None) -> str:
        """Carry out (or, in dry run, only log) the action; returns the action string."""
        action = self.planned(message, label)
        if action == "none":
            return action
        if not self.act:
            result = f"dry-run:{action}"
        elif action in ("log", "hold"):
            result = action
        elif not self._creds(message.platform):
            result = f"no-credentials:{action}"
        else:
            ok = await getattr(self, f"_{message.platform}")(message, action)
            result = action if ok else f"failed:{action}"
            if not ok:
                self.failed[(message.platform, action)] += 1
        level = logging.INFO if result in (action, f"dry-run:{action}") else logging.WARNING
        log.log(level, "action %s platform=%s channel=%s message=%s user=%s label=%s "
                "confidence=%s", result, message.platform, message.channel, message.message_id,
                message.user_id, label, "-" if confidence is None else f"{confidence:.3f}")
        return result

    async def _twitch(self, message: ChatMessage, action: str) -> bool:
        ids = {"broadcaster_id": self.env["TWITCH_BROADCASTER_ID"],
               "moderator_id": self.env["TWITCH_MODERATOR_ID"]}
        ok = await self._call("twitch", "DELETE", "/helix/moderation/chat",
                              params={**ids, "message_id": message.message_id})
        if action == "delete+timeout":
            ok = await self._call("twitch", "POST", "/helix/moderation/bans", params=ids, json={
                "data": {"user_id": message.user_id, "duration": self.timeout_s,
                         "reason": "chatloop: spam"}}) and ok
        return ok

    async def _youtube(self, message: ChatMessage, action: str) -> bool:
        ok = await self._call("youtube", "DELETE", "/liveChat/messages",
                              params={"id": message.message_id})
        if action == "delete+timeout":
            ok = await self._call("youtube", "POST", "/liveChat/bans", params={"part": "snippet"},
                                  json={"snippet": {
                                      "liveChatId": message.channel, "type": "temporary",
                                      "banDurationSeconds": self.timeout_s,
                                      "bannedUserDetails": {"channelId": message.user_id}}}) and ok
        return ok

    async def _chzzk(self, message: ChatMessage, action: str) -> bool:
        return await self._call("chzzk", "POST", "/open/v1/restrict-channels",
                                json={"targetChannelId": message.user_id})

    async def _discord(self, message: ChatMessage, action: str) -> bool:
        return await self._call("discord", "DELETE",
                                f"/channels/{message.channel}/messages/{message.message_id}")

    # --------------------------------------------------------------- answers
    async def send_answer(self, message: ChatMessage, text: str) -> str:
        """Reply in chat when the platform's credentials are set; otherwise log. Returns
        `sent`, `failed` (counted as (platform, "answer") in `failed`) or `logged`."""
        platform = message.platform
        if not self.act or not self._creds(platform):
            log.info("answer %s:%s -> %s", platform, message.channel, text)
            return "logged"
        if platform == "twitch":
            ok = await self._call("twitch", "POST", "/helix/chat/messages", json={
                "broadcaster_id": self.env["TWITCH_BROADCASTER_ID"],
                "sender_id": self.env["TWITCH_MODERATOR_ID"], "message": text,
                "reply_parent_message_id": message.message_id})
        elif platform == "youtube":
            ok = await self._call("youtube", "POST", "/liveChat/messages", params={"part": "snippet"},
                                  json={"snippet": {"liveChatId": message.channel,
                                                    "type": "textMessageEvent",
                                                    "textMessageDetails": {"messageText": text}}})
        elif platform == "chzzk":
            ok = await self._call("chzzk", "POST", "/open/v1/chats/send", json={"message": text})
        else:
            ok = await self._call("discord", "POST", f"/channels/{message.channel}/messages",
                                  json={"content": text,
                                        "message_reference": {"message_id": message.message_id}})
        if not ok:
            self.failed[(platform, "answer")] += 1
            log.warning("answer platform=%s channel=%s message=%s not sent", platform,
                        message.channel, message.message_id)
        return "sent" if ok else "failed"

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
