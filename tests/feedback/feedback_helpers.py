"""Helpers for the feedback tests: tokens, the real API on loopback, the service as a
subprocess, and temporary git + DVC checkouts (fixtures are in conftest.py)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[2]
MODERATORS = {"tok-alice-0123456789": "alice", "tok-bob-0123456789": "bob"}
SERVICES = {"tok-serving-0123456789": "serving"}
ALICE, BOB = "tok-alice-0123456789", "tok-bob-0123456789"
SERVICE = "tok-serving-0123456789"


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def decision(**fields) -> dict:
    """A decision as serving posts it (override any field)."""
    row = {"text": "이 채팅은 테스트입니다", "label": "normal", "confidence": 0.5,
           "probs": {"normal": 0.5, "question": 0.2, "toxic": 0.2, "spam": 0.1},
           "platform": "twitch", "channel": "#test", "message_id": "m", "user_id": "u1",
           "model_name": "chatloop", "model_version": "3", "action": "none", "latency_ms": 12.5}
    row.update(fields)
    return row


class LiveServer:
    """The app served by uvicorn in a thread on 127.0.0.1 (a free port); real HTTP."""

    def __init__(self, app):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServiceProcess:
    """`chatloop feedback serve` as a child process (so it can be SIGKILLed)."""

    def __init__(self, db_url: str, log_path: Path):
        self.db_url, self.log_path = db_url, log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> None:
        env = dict(os.environ,
                   CHATLOOP_MODERATOR_TOKENS=",".join(f"{n}:{t}" for t, n in MODERATORS.items()),
                   CHATLOOP_SERVICE_TOKENS=",".join(f"{n}:{t}" for t, n in SERVICES.items()))
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "chatloop.cli", "feedback", "serve", "--host",
                 "127.0.0.1", "--port", str(self.port), "--db", self.db_url,
                 "--log-level", "warning"], cwd=ROOT, env=env, stdout=log,
                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            assert self.proc.poll() is None, f"service exited: {self.log_path.read_text()}"
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "service did not answer /healthz"
            time.sleep(0.1)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout


def dvc(repo: Path, *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "dvc", *args], cwd=repo, check=True,
                          capture_output=True, text=True).stdout


def make_repo(path: Path, remote_url: str, **remote_options: str) -> Path:
    """A git repo with DVC initialised, a default remote and the project's .gitignore
    rule for data/feedback, committed."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "test")
    git(path, "config", "user.email", "test@example.invalid")
    dvc(path, "init", "-q")
    dvc(path, "remote", "add", "-d", "store", remote_url)
    for key, value in remote_options.items():
        dvc(path, "remote", "modify", "store", key, value)
    (path / ".gitignore").write_text("/data/feedback\n.chatloop/\n")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "init")
    return path
