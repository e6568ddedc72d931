"""A small HTTP client for the feedback API (used by serving, chat commands and bench/).

Every correction carries an idempotency key (a random one unless given), and a request
that fails in transit or with a 5xx is retried with the same key until `retry_for`
seconds have passed, so a correction is stored once even when the service restarts.
"""
from __future__ import annotations

import time
import uuid

import httpx

from chatloop.errors import ChatloopError
from chatloop.urls import check_service_url

RETRY_STATUS = {502, 503, 504}


class FeedbackAPIError(ChatloopError, RuntimeError):
    """The service refused a request (4xx) or stayed unreachable; `status` is the HTTP code."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class FeedbackClient:
    """Thread-safe; one instance per service URL. `token` is a moderator or service token."""

    def __init__(self, url: str, token: str, *, timeout: float = 10.0, retry_for: float = 30.0):
        check_service_url(url)        # the token must not cross a network in the clear
        self.retry_for = retry_for
        self.retries = 0          # requests repeated after a transport error or a 5xx
        self.http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout,
                                 headers={"Authorization": f"Bearer {token}"})

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _post(self, path: str, body: dict) -> tuple[int, dict]:
        deadline = time.monotonic() + self.retry_for
        delay = 0.05
        while True:
            try:
                response = self.http.post(path, json=body)
                if response.status_code not in RETRY_STATUS and response.status_code < 500:
                    break
                problem = f"HTTP {response.status_code}"
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if time.monotonic() + delay > deadline:
                raise FeedbackAPIError(f"POST {path} failed for {self.retry_for:.0f}s: {problem}")
            self.retries += 1
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        if response.status_code >= 400:
            detail = response.json().get("detail") if response.headers.get(
                "content-type", "").startswith("application/json") else response.text
            raise FeedbackAPIError(f"POST {path}: HTTP {response.status_code}: {detail}",
                                   response.status_code)
        return response.status_code, response.json()

    def add_correction(self, label: str, *, text: str | None = None,
                       decision_id: int | None = None, idempotency_key: str | None = None,
                       **extra: str) -> dict:
        """POST /v1/corrections; `extra` may hold moderator, platform, message_id, channel."""
        body = {"label": label, "text": text, "decision_id": decision_id,
                "idempotency_key": idempotency_key or f"client:{uuid.uuid4()}", **extra}
        return self._post("/v1/corrections", {k: v for k, v in body.items() if v is not None})[1]

    def add_decisions(self, decisions: list[dict]) -> list[int]:
        """POST /v1/decisions; safe to retry (a message's decision is stored once)."""
        return self._post("/v1/decisions", {"decisions": decisions})[1]["ids"]

    def add_platform_events(self, events: list[dict]) -> dict:
        """POST /v1/platform-events (service token): what human moderators did on the
        platform; returns {"events": [{"id", "flagged"}], "flagged": [decision ids]}."""
        return self._post("/v1/platform-events", {"events": events})[1]
