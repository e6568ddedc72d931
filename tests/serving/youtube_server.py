"""A loopback server speaking the YouTube Data API v3 subset a live-chat reader uses (tests only).

Endpoints (paths and shapes as in the API reference, https://developers.google.com/youtube/v3):
- `GET /youtube/v3/videos?part=liveStreamingDetails&id=V` -> liveStreamingDetails.activeLiveChatId
- `GET /youtube/v3/liveBroadcasts?part=snippet&broadcastStatus=active` (OAuth only) -> snippet.liveChatId
- `GET /youtube/v3/search?part=id&channelId=C&eventType=live&type=video` -> id.videoId
- `GET /youtube/v3/liveChat/messages?liveChatId=&part=snippet,authorDetails[&pageToken=]`
- `POST /token` (Google's OAuth token endpoint: form body, refresh_token grant)

Credentials: an API key in `X-Goog-Api-Key` (or `key=`), or `Authorization: Bearer`. A wrong
bearer token gets 401, no credentials 403, as Google answers. `units` adds up the documented
quota cost of every answered call (invalid ones included, as Google counts them).

`chat` is the script for liveChat/messages: the k-th call gets `chat[k]`, either a page
(`page(...)`), an error (`error(status, reason)`) or raw bytes (sent as the body verbatim,
e.g. broken JSON). Every page carries `nextPageToken` `tok-N`; the server checks that the
client sends back the token it got last (mismatches go to `errors`). After the script, empty
pages at the last interval. Builders are written from the API reference, independently of
serving.sources.youtube.
"""
from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs, urlsplit

VIDEO_ID = "dQw4w9WgXcQ"
CHANNEL_ID = "UCabcdefghijklmnopqrstuv"
LIVE_CHAT_ID = "Cg0KC2RRdzR3OVdnWGNRKicKGFVDYWJjZGVmZ2hpamtsbW5vcHFyc3R1dhILZFF3NHc5V2dYY1E"
COSTS = {"videos": 1, "liveBroadcasts": 1, "search": 100, "liveChat/messages": 5}


# ------------------------------------------------------------------ resource builders
def author(channel_id: str, name: str, *, moderator: bool = False, owner: bool = False) -> dict:
    return {"channelId": channel_id, "channelUrl": f"http://www.youtube.com/channel/{channel_id}",
            "displayName": name, "profileImageUrl": "https://yt3.ggpht.com/x.jpg",
            "isVerified": False, "isChatOwner": owner, "isChatSponsor": False,
            "isChatModerator": moderator}


def _item(msg_id: str, kind: str, by: dict, published: str, display: str, **details) -> dict:
    snippet = {"type": kind, "liveChatId": LIVE_CHAT_ID, "authorChannelId": by["channelId"],
               "publishedAt": published, "hasDisplayContent": bool(display),
               "displayMessage": display, **details}
    return {"kind": "youtube#liveChatMessage", "etag": f"etag-{msg_id}", "id": msg_id,
            "snippet": snippet, "authorDetails": by}


def text_message(msg_id: str, text: str, channel_id: str, name: str,
                 published: str = "2026-11-22T06:00:00.123+00:00") -> dict:
    return _item(msg_id, "textMessageEvent", author(channel_id, name), published, text,
                 textMessageDetails={"messageText": text})


def super_chat(msg_id: str, comment: str, channel_id: str, name: str,
               published: str = "2026-11-22T06:00:01.5Z") -> dict:
    details = {"amountMicros": "5000000000", "currency": "KRW", "amountDisplayString": "₩5,000",
               "tier": 2}
    if comment:
        details["userComment"] = comment
    display = f"₩5,000 from {name}: {comment}" if comment else f"₩5,000 from {name}"
    return _item(msg_id, "superChatEvent", author(channel_id, name), published, display,
                 superChatDetails=details)


def deleted(msg_id: str, deleted_id: str, moderator_id: str = "UCmoderator0000000000000",
            published: str = "2026-11-22T06:00:02Z") -> dict:
    return _item(msg_id, "messageDeletedEvent", author(moderator_id, "Mod", moderator=True),
                 published, "", messageDeletedDetails={"deletedMessageId": deleted_id})


def banned(msg_id: str, channel_id: str, name: str, ban_type: str = "permanent",
           seconds: int | None = None, moderator_id: str = "UCmoderator0000000000000",
           published: str = "2026-11-22T06:00:03Z") -> dict:
    details = {"bannedUserDetails": {"channelId": channel_id,
                                     "channelUrl": f"http://www.youtube.com/channel/{channel_id}",
                                     "displayName": name, "profileImageUrl": "https://yt3/x.jpg"},
               "banType": ban_type}
    if seconds is not None:
        details["banDurationSeconds"] = str(seconds)   # unsigned long: a JSON string
    return _item(msg_id, "userBannedEvent", author(moderator_id, "Mod", moderator=True),
                 published, f"{name} has been banned", userBannedDetails=details)


def other_event(msg_id: str, kind: str, channel_id: str = "UCsomeone0000000000000000") -> dict:
    return _item(msg_id, kind, author(channel_id, "Someone"), "2026-11-22T06:00:04Z", "")


def page(*items: dict, interval_ms: int = 5000, offline_at: str | None = None) -> dict:
    body = {"kind": "youtube#liveChatMessageListResponse", "etag": "etag-page",
            "pollingIntervalMillis": interval_ms,
            "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
            "items": list(items)}
    if offline_at:
        body["offlineAt"] = offline_at
    return body


def error(status: int, reason: str, message: str = "", domain: str = "youtube.liveChat") -> tuple:
    """A Google JSON error: {"error": {"code", "message", "errors": [{"reason", ...}], "status"}}."""
    text = message or reason
    return status, {"error": {"code": status, "message": text,
                              "errors": [{"message": text, "domain": domain, "reason": reason}],
                              "status": {401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                                         404: "NOT_FOUND"}.get(status, "UNKNOWN")}}


# ----------------------------------------------------------------------------- server
class YouTubeServer:
    """See the module docstring. `requests` keeps (method, path, query, headers) per call."""

    def __init__(self, chat: list, *, api_key: str | None = "test-key",
                 token: str | None = None, refreshed_token: str | None = None,
                 live: bool = True):
        self.chat, self.api_key, self.token = chat, api_key, token
        self.refreshed_token, self.live = refreshed_token, live
        self.requests: list[tuple] = []
        self.errors: list[str] = []
        self.units = 0
        self.refreshes = 0
        self._calls = 0
        self._issued: str | None = None   # the last nextPageToken handed out
        self._interval = 5000
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -------------------------------------------------------------- routing
    def _auth(self, headers: dict, query: dict) -> tuple | None:
        bearer = headers.get("authorization", "")
        if bearer:
            if bearer != f"Bearer {self.token}" or not self.token:
                return error(401, "authError", "Invalid Credentials", domain="global")
            return None
        key = headers.get("x-goog-api-key") or (query.get("key") or [""])[0]
        if not key:
            return error(403, "forbidden", "The request is missing a valid API key.",
                         domain="global")
        if key != self.api_key:
            return error(400, "badRequest", "API key not valid. Please pass a valid API key.",
                         domain="global")
        return None

    def route(self, method: str, path: str, query: dict, headers: dict, body: str):
        if method == "POST" and path == "/token":
            return self._token(parse_qs(body))
        resource = path.removeprefix("/youtube/v3/")
        if method != "GET" or resource not in COSTS:
            return 404, {"error": {"code": 404, "message": "Not Found"}}
        self.units += COSTS[resource]
        denied = self._auth(headers, query)
        if denied:
            return denied
        return getattr(self, "_" + resource.replace("/", "_"))(query, headers)

    def _token(self, form: dict):
        if (form.get("grant_type") != ["refresh_token"] or form.get("refresh_token") != ["refresh-1"]
                or form.get("client_id") != ["client-1"]):
            return 400, {"error": "invalid_grant", "error_description": "Bad Request"}
        self.refreshes += 1
        self.token = self.refreshed_token
        return 200, {"access_token": self.token, "expires_in": 3599, "scope": "youtube",
                     "token_type": "Bearer"}

    def _videos(self, query, headers):
        if query.get("part") != ["liveStreamingDetails"]:
            self.errors.append(f"videos part={query.get('part')}")
        items = []
        if query.get("id") == [VIDEO_ID]:
            details = {"actualStartTime": "2026-11-22T05:00:00Z", "concurrentViewers": "12"}
            if self.live:
                details["activeLiveChatId"] = LIVE_CHAT_ID
            items.append({"kind": "youtube#video", "etag": "e", "id": VIDEO_ID,
                          "liveStreamingDetails": details})
        return 200, {"kind": "youtube#videoListResponse", "etag": "e", "items": items,
                     "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)}}

    def _liveBroadcasts(self, query, headers):
        if "authorization" not in headers:
            return error(401, "required", "Login Required", domain="global")
        if query.get("broadcastStatus") != ["active"] or "mine" in query:
            # the reference: exactly one of broadcastStatus, id, mine
            self.errors.append(f"liveBroadcasts filters {sorted(query)}")
            return error(400, "incompatibleParameters", "Incompatible parameters")
        items = [{"kind": "youtube#liveBroadcast", "etag": "e", "id": VIDEO_ID,
                  "snippet": {"publishedAt": "2026-11-22T05:00:00Z", "channelId": CHANNEL_ID,
                              "title": "live", "liveChatId": LIVE_CHAT_ID,
                              "actualStartTime": "2026-11-22T05:00:00Z"}}] if self.live else []
        return 200, {"kind": "youtube#liveBroadcastListResponse", "etag": "e", "items": items,
                     "pageInfo": {"totalResults": len(items), "resultsPerPage": 5}}

    def _search(self, query, headers):
        if query.get("eventType") != ["live"] or query.get("type") != ["video"]:
            self.errors.append(f"search without eventType=live&type=video: {query}")
        items = [{"kind": "youtube#searchResult", "etag": "e",
                  "id": {"kind": "youtube#video", "videoId": VIDEO_ID}}] \
            if self.live and query.get("channelId") == [CHANNEL_ID] else []
        return 200, {"kind": "youtube#searchListResponse", "etag": "e", "regionCode": "KR",
                     "pageInfo": {"totalResults": len(items), "resultsPerPage": 5}, "items": items}

    def _liveChat_messages(self, query, headers):
        if query.get("liveChatId") != [LIVE_CHAT_ID]:
            return error(404, "liveChatNotFound", "The live chat that you are trying to "
                         "retrieve cannot be found.")
        if sorted((query.get("part") or [""])[0].split(",")) != ["authorDetails", "snippet"]:
            self.errors.append(f"liveChat/messages part={query.get('part')}")
        sent = (query.get("pageToken") or [None])[0]
        if sent != self._issued:
            self.errors.append(f"pageToken {sent!r}, expected {self._issued!r}")
        index = self._calls
        self._calls += 1
        entry = self.chat[index] if index < len(self.chat) else page(interval_ms=self._interval)
        if isinstance(entry, bytes):
            return 200, entry
        if isinstance(entry, tuple):
            return entry
        self._interval = entry["pollingIntervalMillis"]
        self._issued = f"tok-{index + 1}"
        return 200, {**entry, "nextPageToken": self._issued}

    # --------------------------------------------------------------- HTTP/1.1
    async def _handle(self, reader, writer) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode()
            method, target, _ = head.split("\r\n", 1)[0].split(" ", 2)
            headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in
                                                  head.split("\r\n")[1:] if ": " in line)}
            length = int(headers.get("content-length", 0))
            body = (await reader.readexactly(length)).decode() if length else ""
            url = urlsplit(target)
            query = parse_qs(url.query)
            self.requests.append((method, url.path, query, headers))
            status, obj = self.route(method, url.path, query, headers, body)
            payload = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
            writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json; charset=UTF-8"
                         f"\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                         + payload)
            await writer.drain()
        except Exception as exc:  # a request the server could not read: the test checks
            self.errors.append(repr(exc))
        finally:
            writer.close()

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        await self.server.wait_closed()
