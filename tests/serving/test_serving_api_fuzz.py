"""Random JSON bodies against the serving API (the tiny model, FastAPI TestClient): every
answer is a 2xx or a clear 4xx, never a 5xx, and a 200 has the shape the docs promise."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from components.config import load_params
from components.labels import LABELS
from serving.answers import Answerer, FAQEntry, readable_answer
from serving.api import create_app
from serving.model_host import ModelHost

PARAMS = load_params()["serving"]
TOKEN = "tok-fuzz-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Any character, lone surrogates included (json.dumps writes them as \udXXX escapes).
texts = st.text(st.characters(exclude_categories=()), max_size=40)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), texts)
anything = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)), max_leaves=12)
message = st.fixed_dictionaries({}, optional={"text": texts | anything, "user_id": texts | anything,
                                              "channel": texts | anything, "extra": anything})
classify_bodies = st.one_of(
    anything,
    st.fixed_dictionaries({"messages": st.lists(message, max_size=6) | anything}),
    st.fixed_dictionaries({"messages": st.lists(st.fixed_dictionaries({"text": texts}),
                                                min_size=1, max_size=6)}))
STEMS = ["방송 몇 시까지 해요?", "오늘 무슨 게임 해요?", "방송 언제 해요?", "이거 뭐에요?",
         "다음 게임 뭐 해요?", "저녁 뭐 먹었어요?"]
questions = st.one_of(texts, st.sampled_from(STEMS),
                      st.builds(lambda stem, tail: stem + tail, st.sampled_from(STEMS), texts))
answer_bodies = st.one_of(
    anything,
    st.fixed_dictionaries({"question": questions}, optional={
        "card": texts | anything, "recent": st.lists(texts, max_size=4) | anything,
        "channel": texts | anything}))


def encoded(body) -> bytes:
    return json.dumps(body, allow_nan=True).encode()


@pytest.fixture(scope="module")
def client(tiny_model_dir):
    host = ModelHost(str(tiny_model_dir))
    host.load()
    params = {**PARAMS, "answer": {**PARAMS["answer"], "max_new_tokens": 4},
              "api": {**PARAMS["api"], "answers_per_minute": 10**6}}
    answerer = Answerer(params["answer"], [FAQEntry(["방송 몇 시까지 해요?"], "새벽 1시까지요!")])
    app = create_app(host, params, answerer, tokens={TOKEN: "fuzz"}, read_tokens={})
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@FUZZ
@given(body=classify_bodies)
def test_classify_never_fails(client, body):
    response = client.post("/v1/classify", content=encoded(body), headers=AUTH)
    event(f"HTTP {response.status_code}")
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        results = response.json()["results"]
        assert len(results) == len(body["messages"])
        assert all(r["label"] in LABELS for r in results)
    else:
        assert response.status_code in (400, 413, 422) and response.json()["detail"]


@FUZZ
@given(body=answer_bodies)
def test_answer_never_fails(client, body):
    response = client.post("/v1/answer", content=encoded(body), headers=AUTH)
    event(f"HTTP {response.status_code} {(response.json() or {}).get('source')}")
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        result = response.json()
        assert result["label"] in LABELS
        if result["answer"] is None:
            assert result["reason"]
        else:
            assert result["label"] == "question" and result["source"] in ("faq", "model")
            assert result["source"] == "faq" or readable_answer(result["answer"])
    else:
        assert response.status_code in (400, 413, 422) and response.json()["detail"]


@FUZZ
@given(raw=st.binary(max_size=300), path=st.sampled_from(["/v1/classify", "/v1/answer"]))
def test_raw_bytes_never_fail(client, raw, path):
    response = client.post(path, content=raw, headers=AUTH)
    assert response.status_code < 500, response.text
