"""Moderation actions and answer delivery, per platform. Dry run (log only) unless `act`.

For toxic and spam messages:
- twitch: toxic -> delete the message (Helix DELETE /helix/moderation/chat);
          spam  -> delete and time the user out (POST /helix/moderation/bans, `timeout_s`).
- chzzk:  restrict the user through the CHZZK Open API (POST /open/v1/restrict-channels).
- discord: delete the message (DELETE /channels/{channel}/messages/{id}).
- soop:   no public delete or ban API: the message is held for moderator review (the
          decision record's action is `hold`, the feedback console lists it).
- replay: nothing to act on (`log`).
Answers go out through the platform's chat API when its credentials are set (Twitch Helix
POST /helix/chat/messages, CHZZK Open API chat send, Discord create message), else logged.

Credentials come only from the environment (Kubernetes secrets in production), never logged:
TWITCH_CLIENT_ID, TWITCH_TOKEN (a user token with moderator:manage:chat_messages,
moderator:manage:banned_users, user:write:chat), TWITCH_BROADCASTER_ID, TWITCH_MODERATOR_ID;
CHZZK_CLIENT_ID, CHZZK_CLIENT_SECRET, CHZZK_ACCESS_TOKEN; DISCORD_BOT_TOKEN. API base URLs
can be changed (TWITCH_API_URL, CHZZK_API_URL, DISCORD_API_URL) for tests on loopback only.
The action string returned is what the decision record stores (at most 32 characters).
"""
from __future__ import annotations

import logging
import os
from typing import Mapping

import httpx

from serving.message import ChatMessage
from serving.sources.base import check_url

log = logging.getLogger(__name__)
DEFAULT_URLS = {"twitch": "https://api.twitch.tv", "chzzk": "https://openapi.chzzk.naver.com",
                "discord": "https://discord.com/api/v10"}
REQUIRED = {"twitch": ("TWITCH_CLIENT_ID", "TWITCH_TOKEN", "TWITCH_BROADCASTER_ID",
                       "TWITCH_MODERATOR_ID"),
            "chzzk": ("CHZZK_CLIENT_ID", "CHZZK_CLIENT_SECRET", "CHZZK_ACCESS_TOKEN"),
            "discord": ("DISCORD_BOT_TOKEN",)}


class Actions:
    def __init__(self, act: bool = False, timeout_s: int = 600,
                 env: Mapping[str, str] | None = None, http_timeout: float = 10.0):
        self.act, self.timeout_s = act, timeout_s
        self.env = os.environ if env is None else env
        self.http_timeout = http_timeout
        self._client: httpx.AsyncClient | None = None

    def _creds(self, platform: str) -> dict | None:
        names = REQUIRED.get(platform, ())
        values = {name: self.env.get(name) for name in names}
        return values if names and all(values.values()) else None

    def _url(self, platform: str, path: str) -> str:
        base = self.env.get(f"{platform.upper()}_API_URL") or DEFAULT_URLS[platform]
        return check_url(base.rstrip("/") + path)

    def _headers(self, platform: str, creds: dict) -> dict:
        if platform == "twitch":
            return {"Client-Id": creds["TWITCH_CLIENT_ID"],
                    "Authorization": f"Bearer {creds['TWITCH_TOKEN']}"}
        if platform == "chzzk":
            return {"Client-Id": creds["CHZZK_CLIENT_ID"],
                    "Client-Secret": creds["CHZZK_CLIENT_SECRET"],
                    "Authorization": f"Bearer {creds['CHZZK_ACCESS_TOKEN']}"}
        return {"Authorization": f"Bot {creds['DISCORD_BOT_TOKEN']}"}

    async def _call(self, platform: str, method: str, path: str, **kwargs) -> bool:
        """One API call; False (and an error log without secrets) when it fails."""
        creds = self._creds(platform)
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.http_timeout)
        try:
            response = await self._client.request(method, self._url(platform, path),
                                                  headers=self._headers(platform, creds), **kwargs)
        except httpx.HTTPError as exc:
            log.error("%s %s %s failed: %s", platform, method, path.split("?")[0], type(exc).__name__)
            return False
        if response.status_code >= 400:
            log.error("%s %s %s -> HTTP %s", platform, method, path.split("?")[0],
                      response.status_code)
            return False
        return True

    def planned(self, message: ChatMessage, label: str) -> str:
        """The action for a label on this platform (before dry-run and credentials)."""
        if label not in ("toxic", "spam"):
            return "none"
        return {"twitch": "delete+timeout" if label == "spam" else "delete",
                "chzzk": "restrict", "discord": "delete", "soop": "hold"}.get(message.platform, "log")

    async def moderate(self, message: ChatMessage, label: str) -> str:
        """Carry out (or, in dry run, only log) the action; returns the action string."""
        action = self.planned(message, label)
        if action in ("none", "log", "hold"):
            if action != "none":
                log.info("%s %s:%s %s: %s", action, message.platform, message.channel, label,
                         message.message_id)
            return action
        if not self.act:
            log.info("dry-run %s %s:%s %s", action, message.platform, message.channel,
                     message.message_id)
            return f"dry-run:{action}"
        if not self._creds(message.platform):
            log.warning("%s credentials not set: cannot %s", message.platform, action)
            return f"no-credentials:{action}"
        ok = await getattr(self, f"_{message.platform}")(message, action)
        return action if ok else f"failed:{action}"

    async def _twitch(self, message: ChatMessage, action: str) -> bool:
        ids = (f"broadcaster_id={self.env['TWITCH_BROADCASTER_ID']}"
               f"&moderator_id={self.env['TWITCH_MODERATOR_ID']}")
        ok = await self._call("twitch", "DELETE", f"/helix/moderation/chat?{ids}"
                              f"&message_id={message.message_id}")
        if action == "delete+timeout":
            ok = await self._call("twitch", "POST", f"/helix/moderation/bans?{ids}", json={
                "data": {"user_id": message.user_id, "duration": self.timeout_s,
                         "reason": "chatloop: spam"}}) and ok
        return ok

    async def _chzzk(self, message: ChatMessage, action: str) -> bool:
        return await self._call("chzzk", "POST", "/open/v1/restrict-channels",
                                json={"targetChannelId": message.user_id})

    async def _discord(self, message: ChatMessage, action: str) -> bool:
        return await self._call("discord", "DELETE",
                                f"/channels/{message.channel}/messages/{message.message_id}")

    async def send_answer(self, message: ChatMessage, text: str) -> str:
        """Reply in chat when the platform's credentials are set; otherwise log. Returns how."""
        platform = message.platform
        if not self.act or not self._creds(platform):
            log.info("answer %s:%s -> %s", platform, message.channel, text)
            return "logged"
        if platform == "twitch":
            ok = await self._call("twitch", "POST", "/helix/chat/messages", json={
                "broadcaster_id": self.env["TWITCH_BROADCASTER_ID"],
                "sender_id": self.env["TWITCH_MODERATOR_ID"], "message": text,
                "reply_parent_message_id": message.message_id})
        elif platform == "chzzk":
            ok = await self._call("chzzk", "POST", "/open/v1/chats/send", json={"message": text})
        else:
            ok = await self._call("discord", "POST", f"/channels/{message.channel}/messages",
                                  json={"content": text,
                                        "message_reference": {"message_id": message.message_id}})
        return "sent" if ok else "failed"

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
