"""YouTube Live chat through the YouTube Data API v3: resolve the live chat, then poll it.

Specs: `youtube:VIDEO_ID` (videos.list `liveStreamingDetails.activeLiveChatId`, 1 unit; any
public live video, API key or OAuth), `youtube:channel:UC...` (search.list `eventType=live`,
100 units, then videos.list) and `youtube:mine` (liveBroadcasts.list `broadcastStatus=active`,
1 unit; the OAuth token owner's live broadcast).

Polling: `GET /youtube/v3/liveChat/messages?liveChatId=&part=snippet,authorDetails&pageToken=`
(5 units a call) every `pollingIntervalMillis`, following `nextPageToken`. The first page of a
chat is backlog and skipped. `textMessageEvent` and a `superChatEvent` with a comment become
ChatMessage (channel = liveChatId, user_id = the author's channelId); `messageDeletedEvent` and
`userBannedEvent` are moderators' actions, passed to `on_platform_moderation(event)` as
serving.sources.moderation events (a deletion names its message's author when this source
saw the message); other types are skipped. `offlineAt`, a `chatEndedEvent` or 403 liveChatEnded / liveChatDisabled /
404 liveChatNotFound end the source cleanly. 403 rateLimitExceeded / quotaExceeded (and 429)
back off inside the session; a body that is not JSON, 5xx and dropped connections reconnect
through NetworkSource (the chat id and page token are kept, so nothing is re-read).

Credentials, from the environment only and never logged: YOUTUBE_TOKEN (+ YOUTUBE_REFRESH_TOKEN,
YOUTUBE_CLIENT_ID, YOUTUBE_CLIENT_SECRET; an OAuthToken, refreshed once on a 401) sent as
Bearer, else YOUTUBE_API_KEY in the `X-Goog-Api-Key` header (never in the URL, which httpx logs).

Quota: `quota_used` is today's estimated spend (the documented cost of every answered call;
the day turns at midnight Pacific Time, as Google's does), `quota_total` (=
`stats["quota_units"]`) the spend since start, exported as chatloop_source_quota_units_total. A warning is logged once a day at `quota_warn_fraction` of
`daily_quota` and again at the budget.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import os
import re
import time
from datetime import datetime
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping
from zoneinfo import ZoneInfo

import httpx

from chatloop.errors import ChatloopError
from serving.message import ChatMessage
from serving.sources.base import Backoff, NetworkSource, SourceError, Unavailable, check_url
from serving.sources.moderation import moderation_event, report

log = logging.getLogger(__name__)

API_URL = "https://www.googleapis.com"
# Documented quota cost per call (developers.google.com/youtube/v3/determine_quota_cost).
COSTS = {"videos": 1, "liveBroadcasts": 1, "search": 100, "liveChat/messages": 5}
VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")
CHANNEL_ID = re.compile(r"UC[A-Za-z0-9_-]{22}")
ENDED = {"liveChatEnded", "liveChatDisabled", "liveChatNotFound"}
RATE_LIMITED = {"rateLimitExceeded", "userRateLimitExceeded"}
QUOTA = {"quotaExceeded", "dailyLimitExceeded"}
SKIPPED = {"superStickerEvent", "newSponsorEvent", "memberMilestoneChatEvent",
           "membershipGiftingEvent", "giftMembershipReceivedEvent", "fanFundingEvent",
           "sponsorOnlyModeStartedEvent", "sponsorOnlyModeEndedEvent", "pollEvent",
           "messageRetractedEvent", "tombstone", "chatEndedEvent"}
PACIFIC = ZoneInfo("America/Los_Angeles")


class ChatEnded(ChatloopError):
    """The live chat is over (offline, ended, disabled, or gone): the source ends."""


class Limited(Unavailable):
    """403 rateLimitExceeded / quotaExceeded or 429: wait, then poll again."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def parse_ts(value: object) -> float | None:
    """Unix seconds of an RFC 3339 timestamp, or None."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def error_reason(data: object) -> str:
    """`error.errors[0].reason` of a Google JSON error (else `error.status`, else "")."""
    err = data.get("error") if isinstance(data, dict) else None
    if not isinstance(err, dict):
        return ""
    errors = err.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("reason") or "")
    return str(err.get("status") or "")


class YouTubeSource(NetworkSource):
    """`youtube:VIDEO_ID`, `youtube:channel:CHANNEL_ID` or `youtube:mine` (see the module doc).

    Tunables (params keys `serving.youtube.*` when wired): `daily_quota` (10000 units, Google's
    default allocation), `quota_warn_fraction` (0.8), `default_interval_s` (5.0, when a page
    has no pollingIntervalMillis), `min_interval_s` (1.0, a floor on the server's interval),
    `rate_backoff` (5 s doubling to 60 s, rateLimitExceeded), `quota_backoff` (300 s doubling
    to 3600 s, quotaExceeded; Google's daily quota resets at midnight Pacific Time).
    `sleep` waits between polls (tests inject one); `token` an object with async `get()` and
    `refresh()` (default: serving.oauth.OAuthToken from YOUTUBE_* variables).
    """

    platform = "youtube"

    def __init__(self, spec: str, *, api_url: str = API_URL,
                 env: Mapping[str, str] | None = None, token: Any = None,
                 daily_quota: int = 10_000, quota_warn_fraction: float = 0.8,
                 default_interval_s: float = 5.0, min_interval_s: float = 1.0,
                 rate_backoff: Backoff | None = None, quota_backoff: Backoff | None = None,
                 on_platform_moderation: Callable[[dict], Awaitable[None] | None] | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 clock: Callable[[], float] = time.time, **kwargs):
        super().__init__(spec, **kwargs)
        if spec == "mine":
            self.mode, self.target = "mine", ""
        elif spec.startswith("channel:") and CHANNEL_ID.fullmatch(spec[8:]):
            self.mode, self.target = "channel", spec[8:]
        elif VIDEO_ID.fullmatch(spec):
            self.mode, self.target = "video", spec
        else:
            raise SourceError(f"youtube:{spec}: expected youtube:VIDEO_ID (11 characters), "
                              "youtube:channel:UC... (24 characters) or youtube:mine")
        self.api_url = check_url(api_url.rstrip("/"))
        self.env = os.environ if env is None else env
        self.token = token
        self.daily_quota, self.quota_warn_fraction = daily_quota, quota_warn_fraction
        self.default_interval_s, self.min_interval_s = default_interval_s, min_interval_s
        self.rate_backoff = rate_backoff or Backoff(base=5.0, cap=60.0)
        self.quota_backoff = quota_backoff or Backoff(base=300.0, cap=3600.0)
        self.on_platform_moderation = on_platform_moderation
        self.sleep, self.clock = sleep, clock
        self.live_chat_id: str | None = None
        self.page_token: str | None = None       # the last nextPageToken
        self.backlog_read = False                # the chat's first page (backlog) is skipped
        self.intervals: list[float] = []         # every wait between polls, in seconds
        self.quota_used = 0
        self.stats["quota_units"] = 0            # since start; summed by MergedSource, exported
        self._quota_day = self._day(clock())
        self._quota_warned = 0                   # 0, 1 (near budget), 2 (over budget)
        self._authors: collections.OrderedDict[str, str] = collections.OrderedDict()
        self._key: str | None = None

    # ------------------------------------------------------------------ quota
    @property
    def quota_total(self) -> int:
        """Estimated units spent since the source was made."""
        return self.stats["quota_units"]

    @staticmethod
    def _day(now: float):
        return datetime.fromtimestamp(now, PACIFIC).date()

    def charge(self, units: int) -> None:
        """Count `units` of quota; warn near and over the daily budget (Pacific-time days)."""
        day = self._day(self.clock())
        if day != self._quota_day:
            self._quota_day, self.quota_used, self._quota_warned = day, 0, 0
        self.quota_used += units
        self.stats["quota_units"] += units
        if self._quota_warned < 2 and self.quota_used >= self.daily_quota:
            self._quota_warned = 2
            log.warning("youtube:%s quota: %d units used today, over the daily budget of %d",
                        self.channel, self.quota_used, self.daily_quota)
        elif (self._quota_warned < 1
              and self.quota_used >= self.quota_warn_fraction * self.daily_quota):
            self._quota_warned = 1
            log.warning("youtube:%s quota: %d of %d daily units used", self.channel,
                        self.quota_used, self.daily_quota)

    # ----------------------------------------------------------------- HTTP
    def _credentials(self) -> None:
        """Pick the OAuth token (YOUTUBE_TOKEN / YOUTUBE_REFRESH_TOKEN) or the API key."""
        if self.token is not None or self._key:
            return
        if self.env.get("YOUTUBE_TOKEN") or self.env.get("YOUTUBE_REFRESH_TOKEN"):
            from serving.oauth import OAuthError, OAuthToken
            try:
                self.token = OAuthToken.from_env("YOUTUBE", env=self.env)
            except OAuthError as exc:
                raise SourceError(str(exc)) from None
        elif self.env.get("YOUTUBE_API_KEY"):
            self._key = self.env["YOUTUBE_API_KEY"]
        else:
            raise SourceError("youtube: set YOUTUBE_API_KEY (read-only) or YOUTUBE_TOKEN "
                              "(OAuth; needed for youtube:mine) in the environment")
        if self.mode == "mine" and self.token is None:
            raise SourceError("youtube:mine needs an OAuth token (YOUTUBE_TOKEN), not an API key")

    async def _headers(self, refresh_from: str | None = None) -> dict:
        if self.token is None:
            return {"X-Goog-Api-Key": self._key or ""}
        from serving.oauth import OAuthError
        try:
            value = await (self.token.refresh(refresh_from) if refresh_from
                           else self.token.get())
        except OAuthError as exc:
            raise SourceError(f"youtube: {exc}") from None
        return {"Authorization": f"Bearer {value}"}

    async def call(self, client: httpx.AsyncClient, resource: str, **params) -> dict:
        """One API call: JSON object on 2xx; ChatEnded, Limited, Unavailable or SourceError."""
        url = f"{self.api_url}/youtube/v3/{resource}"
        headers = await self._headers()
        response = await client.get(url, params=params, headers=headers)
        self.charge(COSTS[resource])
        if response.status_code == 401 and getattr(self.token, "can_refresh", self.token):
            failed = headers["Authorization"].removeprefix("Bearer ")
            response = await client.get(url, params=params,
                                        headers=await self._headers(refresh_from=failed))
            self.charge(COSTS[resource])
        try:
            data = response.json()
        except ValueError:
            self.count("malformed", response.content[:120])
            raise Unavailable(f"{resource}: HTTP {response.status_code}, body is not JSON") \
                from None
        status, reason = response.status_code, error_reason(data)
        if status < 300:
            if not isinstance(data, dict):
                self.count("malformed", data)
                raise Unavailable(f"{resource}: expected a JSON object")
            return data
        if reason in ENDED or (status == 404 and resource == "liveChat/messages"):
            raise ChatEnded(reason or f"HTTP {status}")
        if reason in RATE_LIMITED or reason in QUOTA or status == 429:
            raise Limited(reason or "HTTP 429")
        if status >= 500:
            raise Unavailable(f"{resource}: HTTP {status} {reason}".rstrip())
        hint = {401: "the OAuth token was refused (check YOUTUBE_TOKEN / YOUTUBE_REFRESH_TOKEN)",
                403: "not allowed with these credentials"}.get(status, "request refused")
        message = (data.get("error") or {}).get("message") if isinstance(data, dict) else None
        raise SourceError(f"youtube:{self.channel}: {resource}: HTTP {status} "
                          f"{reason or 'error'}: {hint}"
                          + (f" ({str(message)[:120]})" if isinstance(message, str) else ""))

    # --------------------------------------------------------------- lookup
    async def resolve(self, client: httpx.AsyncClient) -> str:
        """The liveChatId of the spec's live broadcast (Unavailable while none is live)."""
        if self.mode == "mine":
            data = await self.call(client, "liveBroadcasts", part="snippet",
                                   broadcastStatus="active", broadcastType="all")
            for item in data.get("items") or []:
                snippet = item.get("snippet") if isinstance(item, dict) else None
                chat = snippet.get("liveChatId") if isinstance(snippet, dict) else None
                if chat:
                    return chat
            raise Unavailable("youtube:mine: no active live broadcast with a chat")
        video = self.target
        if self.mode == "channel":
            data = await self.call(client, "search", part="id", channelId=self.target,
                                   eventType="live", type="video")
            ids = [(item.get("id") or {}).get("videoId") for item in data.get("items") or []
                   if isinstance(item, dict) and isinstance(item.get("id"), dict)]
            video = next((v for v in ids if v), None)
            if not video:
                raise Unavailable(f"youtube:channel:{self.target}: not live now")
        data = await self.call(client, "videos", part="liveStreamingDetails", id=video)
        for item in data.get("items") or []:
            details = item.get("liveStreamingDetails") if isinstance(item, dict) else None
            chat = details.get("activeLiveChatId") if isinstance(details, dict) else None
            if chat:
                return chat
        raise Unavailable(f"youtube:{self.channel}: video {video} has no active live chat")

    # -------------------------------------------------------------- polling
    async def _session(self) -> AsyncIterator[ChatMessage]:
        self._credentials()
        async with httpx.AsyncClient(timeout=self.open_timeout) as client:
            if self.live_chat_id is None:
                self.live_chat_id = await self.resolve(client)
                log.info("youtube:%s live chat %s", self.channel, self.live_chat_id)
            first = True
            while True:
                params = {"liveChatId": self.live_chat_id, "part": "snippet,authorDetails"}
                if self.page_token:
                    params["pageToken"] = self.page_token
                try:
                    data = await self.call(client, "liveChat/messages", **params)
                except Limited as exc:
                    backoff = self.quota_backoff if exc.reason in QUOTA else self.rate_backoff
                    delay = backoff.next_delay()
                    self.stats["rate_limited"] += 1
                    log.warning("youtube:%s %s; polling again in %.1fs", self.channel,
                                exc.reason, delay)
                    await self.sleep(delay)
                    continue
                if first:
                    self.connected()
                    first = False
                self.rate_backoff.reset()
                self.quota_backoff.reset()
                backlog, self.backlog_read = not self.backlog_read, True
                ended = False
                for item in data.get("items") or []:
                    if backlog:
                        self.count("skipped")
                        continue
                    kind = self._kind(item)
                    if kind == "chatEndedEvent":
                        ended = True
                    message = await self._item(item, kind)
                    if message is not None:
                        yield message
                token = data.get("nextPageToken")
                if isinstance(token, str) and token:
                    self.page_token = token
                if data.get("offlineAt") or ended:
                    raise ChatEnded(f"offline at {data.get('offlineAt')}" if data.get("offlineAt")
                                    else "chatEndedEvent")
                interval = data.get("pollingIntervalMillis")
                delay = (interval / 1000 if isinstance(interval, (int, float)) and interval >= 0
                         else self.default_interval_s)
                delay = max(self.min_interval_s, delay)
                self.intervals.append(delay)
                await self.sleep(delay)

    def _kind(self, item: object) -> str | None:
        snippet = item.get("snippet") if isinstance(item, dict) else None
        kind = snippet.get("type") if isinstance(snippet, dict) else None
        return kind if isinstance(kind, str) else None

    async def _item(self, item: dict, kind: str | None) -> ChatMessage | None:
        """The ChatMessage for a chat item; moderation events go to the callback."""
        if kind is None:
            self.count("malformed", item)
            return None
        snippet = item["snippet"]
        if kind == "textMessageEvent":
            details = snippet.get("textMessageDetails")
            text = (details.get("messageText") if isinstance(details, dict) else None) \
                or snippet.get("displayMessage")
        elif kind == "superChatEvent":
            details = snippet.get("superChatDetails")
            text = details.get("userComment") if isinstance(details, dict) else None
            if not text:
                self.count("skipped")   # a Super Chat without a comment: nothing to read
                return None
        elif kind in ("messageDeletedEvent", "userBannedEvent"):
            await self._moderation(item, kind)
            return None
        elif kind in SKIPPED:
            self.count("skipped")
            return None
        else:
            self.count("unknown", item)
            return None
        by = item.get("authorDetails") if isinstance(item.get("authorDetails"), dict) else {}
        user = by.get("channelId") or snippet.get("authorChannelId")
        msg_id = item.get("id")
        if not (isinstance(text, str) and text and isinstance(user, str) and user
                and isinstance(msg_id, str) and msg_id):
            self.count("malformed", item)
            return None
        self._authors[msg_id] = user
        while len(self._authors) > 10_000:
            self._authors.popitem(last=False)
        ts = parse_ts(snippet.get("publishedAt")) or time.time()
        return ChatMessage(self.platform, self.live_chat_id or "", msg_id, user,
                           str(by.get("displayName") or user), text, ts)

    async def _moderation(self, item: dict, kind: str) -> None:
        """A moderator's deletion or ban, as a serving.sources.moderation event."""
        snippet = item["snippet"]
        ts = parse_ts(snippet.get("publishedAt")) or time.time()
        chat = self.live_chat_id or ""
        if kind == "messageDeletedEvent":
            details = snippet.get("messageDeletedDetails")
            deleted = details.get("deletedMessageId") if isinstance(details, dict) else None
            if not isinstance(deleted, str) or not deleted:
                self.count("malformed", item)
                return
            # the event names only the message: its author if this source saw it
            event = moderation_event(self.platform, chat, "delete", ts, message_id=deleted,
                                     user=self._authors.get(deleted))
        else:
            details = snippet.get("userBannedDetails")
            banned = details.get("bannedUserDetails") if isinstance(details, dict) else None
            user = banned.get("channelId") if isinstance(banned, dict) else None
            if not isinstance(user, str) or not user:
                self.count("malformed", item)
                return
            temporary = details.get("banType") == "temporary"
            try:   # banDurationSeconds is an unsigned long: JSON carries it as a string
                duration = int(details.get("banDurationSeconds")) if temporary else None
            except (TypeError, ValueError):
                duration = None
            event = moderation_event(self.platform, chat, "timeout" if temporary else "ban", ts,
                                     user=user, duration_s=duration)
        self.stats["moderation"] += 1
        await report(self.on_platform_moderation, event)

    async def stream(self) -> AsyncIterator[ChatMessage]:
        """Messages until the live chat ends (then the source ends) or reconnects run out."""
        inner = NetworkSource.stream(self)
        try:
            async for message in inner:
                yield message
        except ChatEnded as exc:
            self.stats["ended"] += 1
            log.info("youtube:%s live chat %s ended (%s)", self.channel, self.live_chat_id, exc)
        finally:
            await inner.aclose()
