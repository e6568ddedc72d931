"""Fixtures for the serving tests: async runner, a uvicorn app on loopback, a free port."""
from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import threading
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/serving/servers.py


def run_async(coro, timeout: float = 60.0):
    """Run one coroutine to completion, bounded by `timeout` seconds."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture
def arun():
    return run_async


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve_app(app, port: int | None = None):
    """Run an ASGI app with uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    import uvicorn
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port or free_port(),
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(20)


@pytest.fixture
def feedback_service(tmp_path):
    """A factory: the real feedback service (SQLite in tmp_path) on a given or free port."""
    from feedback.api import create_app
    from feedback.store import Store

    store = Store(f"sqlite:///{tmp_path / 'feedback.db'}")

    def start(port: int | None = None):
        app = create_app(store, moderator_tokens={}, service_tokens={"svc-token": "serving"})
        return serve_app(app, port)

    start.store = store
    yield start
    store.close()
