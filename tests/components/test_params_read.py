"""The chat-message length limit has one home, params `feedback.max_text_chars`: the
feedback store refuses longer texts and the bot's decision log cuts to it (read from
params.yaml when not passed, never a constant of the code)."""
from __future__ import annotations

import copy

import pytest

import components.config
from components.config import load_params
from feedback.store import FeedbackError, Store
from serving.decisions import DecisionLog


@pytest.fixture
def params_limit_5(monkeypatch):
    """params.yaml as loaded, but feedback.max_text_chars 5 and the review window 7 s."""
    params = copy.deepcopy(load_params())
    params["feedback"]["max_text_chars"] = 5
    params["feedback"]["platform_moderation"]["window_s"] = 7
    monkeypatch.setattr(components.config, "load_params", lambda *a, **k: params)


def test_the_store_reads_its_limits_from_params(tmp_path, params_limit_5):
    store = Store(f"sqlite:///{tmp_path / 'f.db'}")
    try:
        assert (store.max_text_chars, store.moderation_window_s) == (5, 7.0)
        with pytest.raises(FeedbackError, match="the limit is 5"):
            store.add_decisions([{"text": "여섯 글자다", "label": "normal"}])
        explicit = Store(f"sqlite:///{tmp_path / 'g.db'}", max_text_chars=9,
                         moderation_window_s=1, moderation_late_s=2)
        assert (explicit.max_text_chars, explicit.moderation_late_s) == (9, 2.0)
        explicit.close()
    finally:
        store.close()


def test_the_decision_log_takes_the_feedback_limit(tmp_path, params_limit_5):
    assert DecisionLog(url="", spool_path=tmp_path / "spool.jsonl").max_text_chars == 5
    assert DecisionLog(url="", spool_path=tmp_path / "spool.jsonl",
                       max_text_chars=8).max_text_chars == 8
