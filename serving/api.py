"""The serving HTTP API (FastAPI).

POST /v1/classify  {"messages": [{"text", "user_id"?, "channel"?}, ...]} -> labels (read scope)
POST /v1/answer    {"question", "card"?, "recent"?, "channel"?} -> FAQ or model answer (write scope)
GET  /healthz      model name and version (503 until a model is loaded); no token
GET  /metrics      Prometheus text format; no token

Bearer tokens come from the environment (chatloop.auth): CHATLOOP_API_TOKENS (write: classify
and answer) and CHATLOOP_API_READ_TOKENS (classify only). Limits are params.yaml
`serving.api`: a body over `max_body_bytes` gets 413 before it is read, JSON nested deeper
than `max_json_depth` 422, a request whose characters add up to more than
`max_request_chars` 413. Answers follow the bot's policy (serving.answers): only a message
the model labels `question` is answered (others: 200 with `answer: null`, the label and a
reason), per channel the repeat window and per-minute cap, per caller `answers_per_minute`
(429), one model answer at a time with at most `answer_waiting` queued (503), and a
generated answer only if `unsendable` finds nothing wrong (the reason otherwise). The API has its own rules history,
so its callers do not affect the bot's flood counters.
"""
from __future__ import annotations

import asyncio
import collections
import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StringConstraints

from chatloop.auth import Bearer, check_distinct, parse_tokens
from chatloop.bodies import describe, parse_json
from chatloop.errors import ChatloopError
from serving.answers import Answerer, cap, unsendable
from serving.bot import _rounded, label_batch
from serving.message import ChatMessage
from serving.metrics import Metrics
from serving.model_host import ModelHost
from serving.rules import Rules

log = logging.getLogger(__name__)
TOKENS_ENV, READ_TOKENS_ENV = "CHATLOOP_API_TOKENS", "CHATLOOP_API_READ_TOKENS"


@dataclass(frozen=True)
class Caller:
    name: str
    write: bool


class BodyLimit:
    """ASGI middleware: a body over `limit` bytes gets 413, by its Content-Length before
    anything is read, or (chunked) as soon as the count passes the limit."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            status = 413 if length.isdigit() else 400
            detail = (f"request body over serving.api.max_body_bytes ({self.limit} bytes)"
                      if status == 413 else "Content-Length is not a number")
            return await JSONResponse({"detail": detail}, status)(scope, receive, send)
        seen = 0

        async def counted_receive():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413, f"request body over serving.api.max_body_bytes "
                                         f"({self.limit} bytes)")
            return message

        await self.app(scope, counted_receive, send)


class RateLimit:
    """At most `per_minute` calls per caller in any 60 s; `retry_after` says when a refused
    caller may call again."""

    def __init__(self, per_minute: int, clock=time.monotonic):
        self.per_minute, self.clock = per_minute, clock
        self.calls: dict[str, collections.deque] = {}
        self.lock = threading.Lock()

    def take(self, who: str) -> float:
        """0 when the call may go ahead (and is counted), else seconds to wait."""
        with self.lock:
            now = self.clock()
            calls = self.calls.setdefault(who, collections.deque())
            while calls and calls[0] <= now - 60:
                calls.popleft()
            if len(calls) >= self.per_minute:
                return calls[0] + 60 - now
            calls.append(now)
            return 0.0


class AnswerWorker:
    """One model answer at a time on the host's model thread (like the bot's answer worker;
    decisions go first between its tokens), at most `waiting` queued behind it; one more is
    refused with Busy instead of waiting."""

    class Busy(ChatloopError):
        pass

    def __init__(self, host: ModelHost, waiting: int):
        self.host, self.limit = host, waiting + 1
        self.inside = 0
        self.lock = threading.Lock()

    async def run(self, fn, *args):
        """`fn(*args, between_steps=...)` on the model thread."""
        with self.lock:
            if self.inside >= self.limit:
                raise self.Busy()
            self.inside += 1
        try:
            return await self.host.worker.background(fn, *args)
        finally:
            with self.lock:
                self.inside -= 1


def create_app(host: ModelHost, params: dict, answerer: Answerer,
               metrics: Metrics | None = None, *, tokens: dict[str, str] | None = None,
               read_tokens: dict[str, str] | None = None, clock=time.monotonic) -> FastAPI:
    """The app; `params` is params.yaml's `serving:`. Tokens ({token: name}) default to the
    environment; a malformed, too short or repeated token raises chatloop.auth.TokenError."""
    p = params["api"]
    writers = parse_tokens(os.environ.get(TOKENS_ENV), TOKENS_ENV) if tokens is None else tokens
    readers = parse_tokens(os.environ.get(READ_TOKENS_ENV), READ_TOKENS_ENV) \
        if read_tokens is None else read_tokens
    check_distinct({TOKENS_ENV: writers, READ_TOKENS_ENV: readers})
    known = Bearer([(t, Caller(n, True)) for t, n in writers.items()] +
                   [(t, Caller(n, False)) for t, n in readers.items()])
    if not known:
        log.warning("no tokens in %s or %s: /v1/classify and /v1/answer will get 401",
                    TOKENS_ENV, READ_TOKENS_ENV)

    Text = Annotated[str, StringConstraints(min_length=1, max_length=p["max_text_chars"])]
    Name = Annotated[str, StringConstraints(max_length=p["max_text_chars"])]

    class MessageIn(BaseModel):
        text: Text
        user_id: Name = "api"
        channel: Name = "api"

    class ClassifyIn(BaseModel):
        messages: list[MessageIn] = Field(min_length=1, max_length=p["max_messages"])

    class AnswerIn(BaseModel):
        question: Text
        card: Name | None = None
        recent: list[Name] = Field(default_factory=list, max_length=p["max_messages"])
        channel: Name = "api"

    app = FastAPI(title="chatloop serving", version="1")
    app.add_middleware(BodyLimit, limit=p["max_body_bytes"])
    rules = Rules(params["rules"])   # its history is only touched by decide, on the model thread
    rate = RateLimit(p["answers_per_minute"], clock)
    worker = AnswerWorker(host, p["answer_waiting"])
    metrics = metrics or Metrics()
    metrics.attach(host=host)

    def caller(authorization: str | None = Header(default=None)) -> Caller:
        found = known.find(authorization)
        if found is None:
            raise HTTPException(401, "missing or invalid bearer token",
                                headers={"WWW-Authenticate": "Bearer"})
        return found

    def writer(who: Caller = Depends(caller)) -> Caller:
        if not who.write:
            raise HTTPException(403, f"the token of {who.name!r} is read-only ({READ_TOKENS_ENV}); "
                                     f"answers need one from {TOKENS_ENV}")
        return who

    async def parse(request: Request, model: type[BaseModel]) -> BaseModel:
        return parse_json(await request.body(), model, max_depth=p["max_json_depth"],
                          depth_setting="serving.api.max_json_depth")

    def within_cost(chars: int) -> None:
        if chars > p["max_request_chars"]:
            raise HTTPException(413, f"request of {chars} characters over "
                                     f"serving.api.max_request_chars ({p['max_request_chars']})")

    def model_or_503():
        model, version = host.current()
        if model is None:
            raise HTTPException(503, "no model loaded")
        return model, version

    def decide(texts: list[MessageIn]):
        model, version = model_or_503()
        start = time.perf_counter()
        evidence = [rules.inspect(ChatMessage("api", m.channel, "", m.user_id, m.user_id, m.text))
                    for m in texts]
        decided = label_batch(model, evidence, params["model_batch_size"])
        elapsed = time.perf_counter() - start
        for label, *_ in decided:
            metrics.messages.labels("api").inc()
            metrics.labels.labels(label).inc()
            metrics.latency.observe(elapsed)
        return model, version, evidence, decided

    @app.exception_handler(RequestValidationError)
    async def bad_request(_request: Request, exc: RequestValidationError):
        return JSONResponse({"detail": describe(exc.errors())}, 422)

    @app.post("/v1/classify")
    async def classify(request: Request, who: Caller = Depends(caller)) -> dict:
        body = await parse(request, ClassifyIn)
        within_cost(sum(len(m.text) for m in body.messages))
        _, version, evidence, decided = await host.worker.urgent(decide, body.messages)
        return {"model": host.name, "model_version": version, "results": [
            {"label": label, "confidence": round(probs[label], 5), "probs": _rounded(probs),
             "model_probs": _rounded(model_probs), "rules": ev.reasons(), "normalized": ev.text}
            for ev, (label, probs, model_probs, _) in zip(evidence, decided)]}

    @app.post("/v1/answer")
    async def answer(request: Request, who: Caller = Depends(writer)) -> dict:
        body = await parse(request, AnswerIn)
        within_cost(len(body.question) + len(body.card or "") + sum(map(len, body.recent)))
        wait = rate.take(who.name)
        if wait:
            raise HTTPException(429, f"{who.name!r}: over serving.api.answers_per_minute "
                                     f"({p['answers_per_minute']})",
                                headers={"Retry-After": str(max(1, math.ceil(wait)))})
        message = MessageIn(text=body.question, channel=body.channel, user_id=who.name)
        model, version, evidence, decided = await host.worker.urgent(decide, [message])
        label, text = decided[0][0], evidence[0].text
        result = {"model": host.name, "model_version": version, "label": label}
        plan = answerer.plan(body.channel, text, label)   # on the event loop, like the bot's
        if plan.source is None:
            return {**result, "answer": None, "source": None,
                    "reason": plan.reason or f"not a question ({label})"}
        if plan.source == "faq":
            return {**result, "answer": plan.answer, "source": "faq"}
        card = answerer.card if body.card is None else body.card
        recent = body.recent[-answerer.p["recent_lines"]:] if answerer.p["recent_lines"] else []
        try:
            generated = await worker.run(lambda between_steps: model.answer(
                text, card=card, recent=recent, max_new_tokens=answerer.p["max_new_tokens"],
                between_steps=between_steps))
        except AnswerWorker.Busy:
            raise HTTPException(503, "the answer worker is busy; try again later",
                                headers={"Retry-After": "5"}) from None
        problem = unsendable(generated, text, card, recent, answerer.p["grounded"])
        if problem:
            return {**result, "answer": None, "source": None, "reason": problem}
        return {**result, "answer": cap(generated, answerer.p["max_chars"]), "source": "model"}

    @app.get("/healthz")
    def healthz(response: Response) -> dict:
        _, version = host.current()
        if version is None:
            response.status_code = 503
            return {"status": "loading", "model": host.name, "model_version": None}
        return {"status": "ok", "model": host.name, "model_version": version,
                "uri": host.uri}

    @app.get("/metrics")
    def prometheus() -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    return app
