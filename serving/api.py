"""The serving HTTP API (FastAPI).

POST /v1/classify  {"messages": [{"text", "user_id"?, "channel"?}, ...]} (1-256) -> labels
POST /v1/answer    {"question", "card"?, "recent"?, "channel"?} -> FAQ or model answer
GET  /healthz      model name and version (503 until a model is loaded)
GET  /metrics      Prometheus text format
The API has its own rules history, so its callers do not affect the bot's flood counters.
"""
from __future__ import annotations

import threading
import time

from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel, Field

from serving.answers import Answerer, cap
from serving.bot import _rounded, label_batch
from serving.message import ChatMessage
from serving.metrics import Metrics
from serving.model_host import ModelHost
from serving.rules import Rules

MAX_MESSAGES = 256
MAX_TEXT = 2000


class MessageIn(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    user_id: str = "api"
    channel: str = "api"


class ClassifyIn(BaseModel):
    messages: list[MessageIn] = Field(min_length=1, max_length=MAX_MESSAGES)


class AnswerIn(BaseModel):
    question: str = Field(min_length=1, max_length=MAX_TEXT)
    card: str | None = Field(default=None, max_length=MAX_TEXT)
    recent: list[str] = Field(default_factory=list, max_length=20)
    channel: str = "api"


def create_app(host: ModelHost, params: dict, answerer: Answerer,
               metrics: Metrics | None = None) -> FastAPI:
    app = FastAPI(title="chatloop serving", version="1")
    rules = Rules(params["rules"])
    rules_lock = threading.Lock()   # handlers run in a thread pool; the history is shared
    metrics = metrics or Metrics()
    metrics.attach(host=host)

    def model_or_503():
        model, version = host.current()
        if model is None:
            raise HTTPException(503, "no model loaded")
        return model, version

    def decide(texts: list[MessageIn]):
        model, version = model_or_503()
        start = time.perf_counter()
        with rules_lock:
            evidence = [rules.inspect(ChatMessage("api", m.channel, "", m.user_id, m.user_id,
                                                  m.text)) for m in texts]
        decided = label_batch(model, evidence, params["model_batch_size"])
        elapsed = time.perf_counter() - start
        for label, _, _ in decided:
            metrics.messages.labels("api").inc()
            metrics.labels.labels(label).inc()
            metrics.latency.observe(elapsed)
        return model, version, evidence, decided

    @app.post("/v1/classify")
    def classify(body: ClassifyIn) -> dict:
        _, version, evidence, decided = decide(body.messages)
        return {"model": host.name, "model_version": version, "results": [
            {"label": label, "confidence": round(probs[label], 5), "probs": _rounded(probs),
             "model_probs": _rounded(model_probs), "rules": ev.reasons(), "normalized": ev.text}
            for ev, (label, probs, model_probs) in zip(evidence, decided)]}

    @app.post("/v1/answer")
    def answer(body: AnswerIn) -> dict:
        model, version, evidence, decided = decide([MessageIn(text=body.question,
                                                              channel=body.channel)])
        label = decided[0][0]
        result = {"model": host.name, "model_version": version, "label": label}
        if label in ("toxic", "spam"):
            return {**result, "answer": None, "source": None, "reason": f"never answer {label}"}
        match = answerer.faq.match(body.question)
        if match:
            return {**result, "answer": cap(match[1], answerer.p["max_chars"]), "source": "faq"}
        text = model.answer(evidence[0].text, card=answerer.card if body.card is None else body.card,
                            recent=body.recent, max_new_tokens=answerer.p["max_new_tokens"])
        return {**result, "answer": cap(text, answerer.p["max_chars"]), "source": "model"}

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
