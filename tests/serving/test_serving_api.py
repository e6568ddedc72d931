"""The HTTP API end to end on a real uvicorn server on loopback."""
from __future__ import annotations

import httpx
import pytest
from conftest import serve_app

from components.config import load_params
from components.labels import LABELS
from serving.answers import Answerer, FAQEntry
from serving.api import create_app
from serving.model_host import ModelHost

PARAMS = load_params()["serving"]


@pytest.fixture(scope="module")
def api(tiny_model_dir):
    host = ModelHost(str(tiny_model_dir))
    host.load()
    answerer = Answerer(PARAMS["answer"], [FAQEntry(["방송 몇 시까지 해요?"], "새벽 1시까지요!")],
                        card="스트리머 감자, 주 게임 마크")
    with serve_app(create_app(host, PARAMS, answerer)) as url:
        with httpx.Client(base_url=url, timeout=60) as client:
            client.model_name = host.name
            yield client


def test_classify_batch(api):
    texts = ["안녕하세요 ㅎㅎ", "첫충 30% 카지노 bit.ly/x1y2 카톡 ID abc123", "tlqkf"]
    response = api.post("/v1/classify", json={"messages": [{"text": t} for t in texts]})
    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == "local" and len(body["results"]) == 3
    for result in body["results"]:
        assert result["label"] in LABELS and set(result["probs"]) == set(LABELS)
    assert body["results"][1]["label"] == "spam" and "link" in body["results"][1]["rules"]
    assert body["results"][2]["normalized"] == "시발"


@pytest.mark.parametrize("payload", [{"messages": []}, {"messages": [{"text": ""}]},
                                     {"messages": [{"text": "x"}] * 257}, {"texts": ["x"]}])
def test_classify_rejects_bad_input(api, payload):
    assert api.post("/v1/classify", json=payload).status_code == 422


def test_answer_faq_model_and_refusal(api):
    faq = api.post("/v1/answer", json={"question": "방송 몇시까지 해요?"}).json()
    if faq["label"] == "question" or faq["label"] == "normal":
        assert faq == {**faq, "answer": "새벽 1시까지요!", "source": "faq"}
    spam = api.post("/v1/answer", json={"question": "카지노 bit.ly/abc 카톡 ID abc123 어때요?"}).json()
    assert spam["label"] == "spam" and spam["answer"] is None and spam["reason"] == "never answer spam"
    model = api.post("/v1/answer", json={"question": "오늘 무슨 게임 해요?", "recent": ["안녕"]}).json()
    if model["label"] not in ("toxic", "spam"):
        assert model["source"] == "model" and isinstance(model["answer"], str)
        assert len(model["answer"]) <= PARAMS["answer"]["max_chars"]
    assert api.post("/v1/answer", json={"question": ""}).status_code == 422


def test_healthz_and_metrics(api):
    assert api.get("/healthz").json()["model_version"] == "local"
    api.post("/v1/classify", json={"messages": [{"text": "메트릭 확인"}]})
    text = api.get("/metrics").text
    for name in ("chatloop_messages_total{platform=\"api\"}", "chatloop_labels_total",
                 "chatloop_decision_latency_seconds_bucket", "chatloop_queue_depth",
                 "chatloop_dropped_total", "chatloop_reconnects_total",
                 f"chatloop_model_info{{name=\"{api.model_name}\",version=\"local\"}} 1.0"):
        assert name in text


def test_healthz_503_before_a_model_is_loaded():
    host = ModelHost("models:/chatloop@champion")
    with serve_app(create_app(host, PARAMS, Answerer(PARAMS["answer"]))) as url:
        response = httpx.get(f"{url}/healthz")
        assert response.status_code == 503 and response.json()["model_version"] is None
        assert httpx.post(f"{url}/v1/classify", json={"messages": [{"text": "x"}]}).status_code == 503
