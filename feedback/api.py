"""The feedback HTTP API and moderator console (FastAPI).

Writes need `Authorization: Bearer TOKEN`. Tokens come from the environment only:
`CHATLOOP_MODERATOR_TOKENS="alice:tok1,bob:tok2"` (the name is recorded as the moderator)
and `CHATLOOP_SERVICE_TOKENS="serving:tok3"` (serving posts decisions and platform moderation
events, and relays chat-command corrections on behalf of a named chat moderator).
See docs/feedback.md.
"""
from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from chatloop.auth import Bearer, check_distinct, parse_tokens
from chatloop.bodies import describe, parse_json
from feedback.store import MAX_ID, FeedbackError, IdempotencyConflict, Store

log = logging.getLogger(__name__)
MODERATOR_TOKENS_ENV = "CHATLOOP_MODERATOR_TOKENS"
SERVICE_TOKENS_ENV = "CHATLOOP_SERVICE_TOKENS"
MAX_BODY_BYTES = 2_000_000
MAX_BATCH = 1000
STATIC = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    # The console never needs inline script or anything from elsewhere; chat text is
    # escaped by the page itself, this is the second wall.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
                               "connect-src 'self'; img-src 'self'; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Caller:
    name: str
    service: bool


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


# JSON as Python parses it allows NaN, Infinity and 1e400 (inf); none of them is a number
# a decision can carry (and the review queue could not send them back).
Number = Annotated[float, BeforeValidator(_not_bool), Field(allow_inf_nan=False)]
Id = Annotated[int, BeforeValidator(_not_bool), Field(ge=1, le=MAX_ID)]


class DecisionIn(BaseModel):
    # Serving's records carry more fields (answer, rules, ...): ignored. Ids may be numbers.
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)
    text: str
    label: str
    confidence: Number
    probs: dict[str, Number] | None = None
    platform: str | None = None
    channel: str | None = None
    message_id: str | None = None
    user_id: str | None = None
    model_name: str | None = None
    model_version: str | None = None
    action: str | None = None
    latency_ms: Number | None = None


class DecisionsIn(BaseModel):
    decisions: list[DecisionIn] = Field(min_length=1, max_length=MAX_BATCH)


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str
    text: str | None = None
    decision_id: Id | None = None
    idempotency_key: str | None = None
    moderator: str | None = None      # service tokens only: the chat moderator's name
    platform: str | None = None       # with message_id: find the decision by chat message
    message_id: str | int | None = None
    channel: str | None = None


class PlatformEventIn(BaseModel):
    """A human moderator's action on the platform, as a source reports it (`user` or
    `user_id`: the user's platform id)."""
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)
    platform: str
    kind: Literal["delete", "timeout", "ban", "clear"]
    channel: str | None = None
    message_id: str | None = None
    user_id: str | None = Field(default=None, validation_alias=AliasChoices("user_id", "user"))
    duration_s: Number | None = None
    ts: Number | None = None


class PlatformEventsIn(BaseModel):
    events: list[PlatformEventIn] = Field(min_length=1, max_length=MAX_BATCH)


class Guard:
    """ASGI middleware: refuse bodies over MAX_BODY_BYTES (413) and add SECURITY_HEADERS."""

    def __init__(self, app):
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            response = JSONResponse({"detail": f"request body over {MAX_BODY_BYTES} bytes"}, 413)
            return await response(scope, receive, send)
        seen = 0

        async def counted_receive():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > MAX_BODY_BYTES:    # a chunked body with no Content-Length
                raise HTTPException(413, f"request body over {MAX_BODY_BYTES} bytes")
            return message

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + self.headers
            await send(message)

        await self.app(scope, counted_receive, send_with_headers)


class GroupCommit:
    """Stores the corrections of concurrent requests together: one transaction (one
    disk sync) per batch instead of per request. A request is answered only after the
    transaction holding its correction has committed."""

    def __init__(self, store: Store, max_batch: int = 256):
        self.store, self.max_batch = store, max_batch
        self.queue: asyncio.Queue | None = None
        self.task: asyncio.Task | None = None

    async def submit(self, item: dict) -> tuple[dict, bool]:
        if self.task is None or self.task.done():
            self.queue = asyncio.Queue()
            self.task = asyncio.create_task(self._run(self.queue))
        future = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((item, future))
        return await future

    async def _run(self, queue: asyncio.Queue) -> None:
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < self.max_batch:
                batch.append(queue.get_nowait())
            try:
                results = await run_in_threadpool(self.store.add_corrections,
                                                  [item for item, _ in batch])
            except Exception as exc:  # the database is down: fail this batch, keep going
                log.exception("storing %d corrections failed", len(batch))
                results = [exc] * len(batch)
            for (_, future), result in zip(batch, results):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)


async def parse_body(request: Request, model: type[BaseModel]) -> BaseModel:
    """The JSON body validated against `model` (chatloop.bodies.parse_json)."""
    return parse_json(await request.body(), model, too_deep_status=400)


def create_app(store: Store | None = None, *, moderator_tokens: dict[str, str] | None = None,
               service_tokens: dict[str, str] | None = None, settings: dict | None = None) -> FastAPI:
    """The app. Tokens default to the environment; `settings` is params.yaml's `feedback:`
    (as load_params returns it; None: read from params.yaml)."""
    store = store or Store()
    if settings is None:
        from components.config import load_params
        settings = load_params()["feedback"]
    moderators = parse_tokens(os.environ.get(MODERATOR_TOKENS_ENV), MODERATOR_TOKENS_ENV) \
        if moderator_tokens is None else moderator_tokens
    services = parse_tokens(os.environ.get(SERVICE_TOKENS_ENV), SERVICE_TOKENS_ENV) \
        if service_tokens is None else service_tokens
    check_distinct({MODERATOR_TOKENS_ENV: moderators, SERVICE_TOKENS_ENV: services})
    known = Bearer([(token, Caller(name, False)) for token, name in moderators.items()] +
                   [(token, Caller(name, True)) for token, name in services.items()])
    if not known:
        log.warning("no tokens in %s or %s: every write will get 401",
                    MODERATOR_TOKENS_ENV, SERVICE_TOKENS_ENV)

    app = FastAPI(title="chatloop feedback", version="1")
    app.add_middleware(Guard)
    app.state.store = store
    store.moderation_window_s = float(settings["platform_moderation"]["window_s"])
    store.moderation_late_s = float(settings["platform_moderation"]["late_s"])
    committer = app.state.committer = GroupCommit(store)

    async def caller(authorization: str | None = Header(default=None)) -> Caller:
        found = known.find(authorization)
        if found is None:
            raise HTTPException(401, "missing or invalid bearer token",
                                headers={"WWW-Authenticate": "Bearer"})
        return found

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError):
        return JSONResponse({"detail": describe(exc.errors())}, 422)

    @app.exception_handler(FeedbackError)
    async def refused(_request: Request, exc: FeedbackError):
        return JSONResponse({"detail": str(exc)}, 409 if isinstance(exc, IdempotencyConflict)
                            else 422)

    @app.get("/healthz")
    def healthz():
        store.ping()
        return {"status": "ok"}

    @app.post("/v1/decisions", status_code=201, dependencies=[Depends(caller)])
    async def post_decisions(request: Request):
        body = await parse_body(request, DecisionsIn)
        ids = await run_in_threadpool(store.add_decisions,
                                      [d.model_dump() for d in body.decisions])
        return {"ids": ids, "stored": len(ids)}

    @app.post("/v1/platform-events", status_code=201)
    async def post_platform_events(request: Request, who: Caller = Depends(caller)):
        if not who.service:
            raise HTTPException(403, "platform events are reported by serving (a service token)")
        body = await parse_body(request, PlatformEventsIn)
        results = await run_in_threadpool(store.add_platform_events,
                                          [e.model_dump() for e in body.events])
        return {"events": results,
                "flagged": sorted({i for r in results for i in r["flagged"]})}

    @app.post("/v1/corrections")
    async def post_correction(request: Request, who: Caller = Depends(caller),
                              idempotency_key: str | None = Header(default=None)):
        body = await parse_body(request, CorrectionIn)
        moderator = who.name
        if body.moderator and body.moderator != who.name:
            if not who.service:
                raise HTTPException(403, "only a service token may record a correction "
                                         "for another moderator")
            moderator = body.moderator
        row, created = await committer.submit(dict(
            label=body.label, text=body.text, decision_id=body.decision_id,
            moderator=moderator, idempotency_key=body.idempotency_key or idempotency_key,
            platform=body.platform, message_id=body.message_id, channel=body.channel))
        return JSONResponse(row, 201 if created else 200)

    @app.get("/v1/review")
    def review(limit: int = Query(50, ge=1, le=500),
               confident_share: float = Query(settings["review_confident_share"],
                                              ge=0.0, le=1.0),
               who: Caller = Depends(caller)):
        items = store.review_queue(limit, confident_share, settings["review_confident_min"])
        return {"items": items, "moderator": who.name}

    @app.get("/v1/stats")
    def stats():
        return store.stats()

    @app.get("/", include_in_schema=False)
    def console():
        return FileResponse(STATIC / "console.html", media_type="text/html")

    @app.get("/console.{ext}", include_in_schema=False)
    def console_asset(ext: str):
        types = {"js": "text/javascript", "css": "text/css"}
        if ext not in types:
            raise HTTPException(404, "not found")
        return FileResponse(STATIC / f"console.{ext}", media_type=types[ext])

    return app
