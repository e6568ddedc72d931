"""Fixtures for the feedback tests (helpers live in feedback_helpers.py)."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from feedback_helpers import MODERATORS, SERVICES, LiveServer, ServiceProcess, make_repo

from components.config import load_params
from feedback.api import create_app
from feedback.store import Store


@pytest.fixture(autouse=True)
def _quiet_dvc(monkeypatch):
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")


@pytest.fixture
def store(tmp_path) -> Store:
    s = Store(f"sqlite:///{tmp_path / 'feedback.db'}")
    yield s
    s.close()


@pytest.fixture
def live(store):
    """(url, store) of the API served with the test tokens."""
    app = create_app(store, moderator_tokens=MODERATORS, service_tokens=SERVICES,
                     settings={**load_params()["feedback"], "review_confident_share": 0.0})
    with LiveServer(app) as server:
        yield server.url, store


@pytest.fixture
def http(live):
    with httpx.Client(base_url=live[0], timeout=10) as client:
        yield client


@pytest.fixture
def service(tmp_path):
    svc = ServiceProcess(f"sqlite:///{tmp_path / 'service.db'}", tmp_path / "service.log")
    yield svc
    svc.stop()


@pytest.fixture
def repo(tmp_path) -> Path:
    return make_repo(tmp_path / "project", str(tmp_path / "remote"))

