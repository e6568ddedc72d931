"""SOOP (formerly AfreecaTV) chat: `player_live_api.php` lookup, then the chat websocket.

Lookup: `POST player_live_api.php?bjid=BJID` (form bid, bno, type=live) answers CHANNEL with
RESULT (1 = live), CHDOMAIN, CHPT, CHATNO, FTK, BNO. The service is moving from
`sooplive.co.kr` to `sooplive.com` and redirects; redirects are followed (the POST is repeated
at the new address, the API answers nothing else) but only to the platform's hosts
(`PLATFORM_DOMAINS`, and loopback for tests). The broadcast number is looked up again on every
reconnect: a restarted stream has a new one (a BNO given in the spec is sent on the first
lookup only).

Chat socket: `wss://CHDOMAIN:CHPT+1/Websocket/BJID`, subprotocol `chat`, websocket-level pings
off (as public clients do); SOOP's own 0000 keepalive every 60 s. TLS is always verified; a
chain that does not verify is a SourceError naming the host and the two ways to trust a CA
(`SSL_CERT_FILE`, or this source's `ca_file`).

Packet: ESC TAB + 4-digit service code + 6-digit body length in UTF-8 bytes + 2-digit return
code + body, where the body is "\\x0c"-separated fields starting with a separator, so field 1
is the first value (`fields[1]`). A non-zero return code (an ERR_* of the official player,
e.g. 57 room password) is logged with its service code and counted as `errors`.

Routing is by service code only. Chat codes and their fields (our numbering: field 1 = first
value), checked against the service-code tables and decoders of wakscord/afreeca (Python),
getCurrentThread/unoffical-soop-chat-api (Java) and the soop-chat event reference (TS, which
names the official player's SVC_* constants):
- 0005 SVC_CHATMESG: 1 message, 2 user id, 6 nickname.
- 0026 SVC_MANAGERCHAT: 1 message, 2 user id, 3 admin flag, 4 language, 5 nickname.
- 0109 SVC_OGQ_EMOTICON (chat with an OGQ sticker): 1 chat room number, 2 message (empty for
  a sticker alone), 3 group id, 4 sticker id, 5 version, 6 user id, 7 nickname. (Clients that
  strip the leading separator and count from 0 call these 1 and 5.)
User ids may carry a multi-login suffix `id(2)`; it is removed. Carriage returns are removed
from the text (the official player does the same). A chat whose text is empty (a sticker
alone) has nothing for the model to read and is counted as `skipped`. Other known codes
(`SKIPPED`) are counted as skipped, the rest as unknown. SOOP has no public delete or ban API
(actions hold messages for review) and no per-message moderation event to surface.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
import time
from typing import AsyncIterator
from urllib.parse import urljoin, urlsplit

import httpx

from chatloop.errors import ChatloopError
from serving.message import ChatMessage
from serving.sources.base import (NetworkSource, SourceError, Unavailable, check_url,
                                  is_loopback, json_object)

log = logging.getLogger(__name__)

API_URL = "https://live.sooplive.co.kr/afreeca/player_live_api.php"
WS_URL = "wss://{host}:{port}/Websocket/{bid}"
# Hosts a lookup may be redirected to (and their subdomains).
PLATFORM_DOMAINS = ("sooplive.co.kr", "sooplive.com", "afreecatv.com")
MAX_REDIRECTS = 5
USER_AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
              "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
HEADER = "\x1b\t"
SEP = "\x0c"
PING, LOGIN, JOIN = "0000", "0001", "0002"
# service code -> (text field, user id field, nickname field)
CHAT_FIELDS = {"0005": (1, 2, 6), "0026": (1, 2, 5), "0109": (2, 6, 7)}
# Recognised events the bot does not act on (official player names in parentheses).
SKIPPED = {
    "0004": "chat user join/leave (CHUSER)", "0007": "broadcaster status (SETBJSTAT)",
    "0008": "user muted (SETDUMB)", "0012": "user flags (SETUSERFLAG)",
    "0013": "manager set (SETSUBBJ)", "0014": "nickname change (SETNICKNAME)",
    "0018": "star balloon (SENDBALLOON)", "0019": "ice mode (ICEMODE)",
    "0021": "ice mode (ICEMODE_EX)", "0023": "slow mode (SLOWMODE)",
    "0054": "banned words (BAN_WORD)", "0058": "admin notice (SENDADMINNOTICE)",
    "0086": "VOD balloon (VOD_BALLOON)", "0087": "ad balloon (ADCON_EFFECT)",
    "0088": "broadcast closed (CLOSEBROAD)", "0090": "kick message state (KICK_MSG_STATE)",
    "0091": "new subscription (FOLLOW_ITEM)", "0093": "subscription month (FOLLOW_ITEM_EFFECT)",
    "0104": "broadcaster notice (BJ_NOTICE)", "0105": "video balloon (VIDEOBALLOON)",
    "0107": "station ad balloon (STATION_ADCON)", "0108": "subscription gift (SENDSUBSCRIPTION)",
    "0118": "OGQ sticker gift (OGQ_EMOTICON_GIFT)", "0121": "mission (MISSION)",
    "0125": "mission settled (MISSION_SETTLE)", "0127": "user join metadata (CHUSER_EXTEND)",
}
# Return codes of the official player (ERR_*), for log lines.
RETURN_CODES = {1: "SYSTEM", 2: "NOTLOGIN", 3: "PROTOCOL", 4: "NOSERVICE", 12: "INVALIDCHNO",
                16: "NOTJOINCH", 19: "DUMBUSER", 34: "CHATPENALTY", 35: "GUEST",
                41: "KICKEDUSER", 42: "NOTAVAILCHAT", 47: "SLOWMODE", 53: "BANWORD",
                57: "PASSWORD"}
LOGIN_SUFFIX = re.compile(r"\(\d+\)$")


class PacketError(ChatloopError):
    """Bytes that are not a SOOP chat packet."""


def encode_packet(service: str, fields: list[str]) -> bytes:
    body = SEP + "".join(field + SEP for field in fields)
    return f"{HEADER}{service}{len(body.encode()):06d}00{body}".encode()


def decode_packet(data: bytes | str) -> tuple[str, list[str], int]:
    """(service code, fields, return code) where fields[1] is the first value."""
    try:
        text = data.decode() if isinstance(data, (bytes, bytearray)) else data
    except UnicodeDecodeError as exc:
        raise PacketError(f"not UTF-8: {exc}") from None
    head, body = text[:14], text[14:]
    if len(head) < 14 or not head.startswith(HEADER) or not head[2:14].isdigit():
        raise PacketError("bad header")
    if len(body.encode()) < int(head[6:12]):
        raise PacketError("truncated body")
    return head[2:6], body.split(SEP), int(head[12:14])


def is_platform_host(host: str | None) -> bool:
    """A SOOP host (any subdomain of PLATFORM_DOMAINS) or loopback (tests)."""
    host = (host or "").lower().rstrip(".")
    return is_loopback(host) or any(host == d or host.endswith("." + d) for d in PLATFORM_DOMAINS)


def _cert_error(exc: BaseException | None) -> ssl.SSLCertVerificationError | None:
    """The certificate-verification error in an exception's cause/context chain, if any."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


class SoopSource(NetworkSource):
    """`soop:BJID[/BNO]`.

    `ca_file`: an extra CA bundle (PEM) to trust, for a network whose TLS is re-signed;
    verification stays on. `ping_interval`: seconds between 0000 keepalives.
    """

    platform = "soop"

    def __init__(self, spec: str, *, api_url: str = API_URL, ws_url: str = WS_URL,
                 ping_interval: float = 60.0, ca_file: str | None = None, **kwargs):
        bid, _, bno = spec.partition("/")
        super().__init__(bid, **kwargs)
        self.bid, self.bno = bid, bno   # bno: the spec's, sent on the first lookup only
        self.current_bno = ""           # the broadcast joined last (informational)
        self.api_url, self.ws_url, self.ping_interval = api_url, ws_url, ping_interval
        self.ca_file = ca_file
        check_url(api_url)

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()  # honours SSL_CERT_FILE / SSL_CERT_DIR
        if self.ca_file:
            context.load_verify_locations(cafile=self.ca_file)
        return context

    def _tls_failure(self, url: str, exc: ssl.SSLCertVerificationError) -> SourceError:
        parts = urlsplit(url)
        where = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
        return SourceError(
            f"soop:{self.bid}: the TLS certificate of {where} did not verify "
            f"({exc.verify_message or exc}). Verification stays on: if a proxy or private CA "
            "re-signs this traffic, add its CA certificate (PEM) with SSL_CERT_FILE=/path/ca.pem "
            "or the SOOP source's ca_file option")

    async def _post_json(self, url: str, params: dict, form: dict) -> dict:
        """POST and decode a JSON object, following redirects within the platform's hosts."""
        async with httpx.AsyncClient(timeout=self.open_timeout, verify=self._ssl_context(),
                                     headers={"User-Agent": USER_AGENT}) as client:
            for _ in range(MAX_REDIRECTS + 1):
                try:
                    response = await client.post(check_url(url), params=params, data=form)
                except httpx.ConnectError as exc:
                    cert = _cert_error(exc)
                    if cert:
                        raise self._tls_failure(url, cert) from exc
                    raise
                if not response.is_redirect:
                    break
                target = urljoin(str(response.url), response.headers["location"])
                if not is_platform_host(urlsplit(target).hostname):
                    raise SourceError(f"soop:{self.bid}: refusing redirect from {url} to {target}"
                                      f" (not a SOOP host: {', '.join(PLATFORM_DOMAINS)})")
                log.info("soop:%s lookup redirected to %s", self.bid, target)
                url, params = target, {}  # the Location carries its own query
            else:
                raise Unavailable(f"soop:{self.bid}: more than {MAX_REDIRECTS} redirects")
            return json_object(response, url)

    async def lookup(self) -> dict:
        """The live broadcast's chat server (CHDOMAIN, CHPT, CHATNO, FTK, BNO)."""
        bno, self.bno = self.bno, ""  # a stale number would name an ended broadcast
        data = await self._post_json(self.api_url, {"bjid": self.bid},
                                     {"bid": self.bid, "bno": bno, "type": "live",
                                      "player_type": "html5", "mode": "landing"})
        channel = data.get("CHANNEL") or {}
        if str(channel.get("RESULT")) != "1":
            raise Unavailable(f"soop:{self.bid} is not live (RESULT={channel.get('RESULT')})")
        missing = [k for k in ("CHDOMAIN", "CHPT", "CHATNO") if not channel.get(k)]
        if missing:
            raise Unavailable(f"soop:{self.bid}: lookup lacks {missing}")
        return channel

    async def _ping(self, ws) -> None:
        while True:
            await asyncio.sleep(self.ping_interval)
            await ws.send(encode_packet(PING, []))

    async def _session(self) -> AsyncIterator[ChatMessage]:
        info = await self.lookup()
        if self.current_bno and str(info.get("BNO")) != self.current_bno:
            log.info("soop:%s broadcast changed %s -> %s", self.bid, self.current_bno,
                     info.get("BNO"))
        self.current_bno = str(info.get("BNO") or "")
        url = self.ws_url.format(host=info["CHDOMAIN"], port=int(info["CHPT"]) + 1, bid=self.bid)
        options = {"ssl": self._ssl_context()} if url.startswith("wss:") else {}
        try:
            connection = await self.ws_connect(url, subprotocols=["chat"], ping_interval=None,
                                               user_agent_header=USER_AGENT, **options)
        except ssl.SSLCertVerificationError as exc:
            raise self._tls_failure(url, exc) from exc
        async with connection as ws:
            await ws.send(encode_packet(LOGIN, ["", "", "16"]))  # guest login, flag GUEST
            pinger = asyncio.create_task(self._ping(ws))
            try:
                async for frame in ws:
                    message = self._handle(frame)
                    if message == LOGIN:
                        await ws.send(encode_packet(JOIN, [str(info["CHATNO"]),
                                                           str(info.get("FTK", "")), "0", ""]))
                    elif isinstance(message, ChatMessage):
                        yield message
            finally:
                pinger.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pinger

    def _handle(self, frame: bytes | str) -> ChatMessage | str | None:
        """Route one frame by service code: a ChatMessage, LOGIN (send join), or None."""
        try:
            service, fields, code = decode_packet(frame)
        except PacketError as exc:
            self.count("malformed", f"{exc}: {frame!r}")
            return None
        if code:
            self.stats["errors"] += 1
            log.warning("soop:%s service %s returned error %d (%s)", self.bid, service, code,
                        RETURN_CODES.get(code, "unknown"))
            return None
        if service in CHAT_FIELDS:
            return self._chat(service, fields, frame)
        if service == LOGIN:
            return LOGIN
        if service == JOIN:
            self.connected()
        elif service == PING or service in SKIPPED:
            self.count("skipped")
        else:
            self.count("unknown", frame)
        return None

    def _chat(self, service: str, fields: list[str], frame: object) -> ChatMessage | None:
        text_at, user_at, nick_at = CHAT_FIELDS[service]
        if len(fields) <= max(text_at, user_at) or not fields[user_at]:
            self.count("malformed", frame)
            return None
        text = fields[text_at].replace("\r", "")
        if not text.strip():
            self.count("skipped")  # a sticker alone: nothing to read
            return None
        user = LOGIN_SUFFIX.sub("", fields[user_at])
        nickname = fields[nick_at] if len(fields) > nick_at and fields[nick_at] else user
        return ChatMessage(self.platform, self.bid, self.next_id(), user, nickname, text,
                           time.time())
