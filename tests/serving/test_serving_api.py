"""The HTTP API end to end on a real uvicorn server on loopback: tokens, limits, answers."""
from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import serve_app

from chatloop.auth import TokenError
from components.config import load_params
from components.labels import LABELS
from serving.answers import Answerer, FAQEntry, readable_answer
from serving.api import READ_TOKENS_ENV, TOKENS_ENV, create_app
from serving.model_host import ModelHost

PARAMS = load_params()["serving"]
WRITER, READER = "tok-writer-0123456789", "tok-reader-0123456789"
TOKENS, READ_TOKENS = {WRITER: "dashboard"}, {READER: "analytics"}
W, R = {"Authorization": f"Bearer {WRITER}"}, {"Authorization": f"Bearer {READER}"}
NOT_QUESTIONS = ["안녕하세요 ㅎㅎ", "ㅋㅋㅋㅋㅋㅋ", "오늘 방송 재밌다", "굿굿", "배고프다",
                 "감사합니다", "와 대박", "ㅎㅇㅎㅇ", "방송 잘 보고 있어요", "좋아요"]
QUESTIONS = ["오늘 무슨 게임 해요?", "방송 언제 해요?", "이거 뭐에요?", "몇 시에 끝나요?",
             "다음 게임 뭐 해요?", "지금 몇 레벨이에요?", "저녁 뭐 먹었어요?"]


def with_api(**overrides) -> dict:
    return {**PARAMS, "api": {**PARAMS["api"], **overrides}}


@pytest.fixture(scope="module")
def host(tiny_model_dir):
    model_host = ModelHost(str(tiny_model_dir))
    model_host.load()
    return model_host


@pytest.fixture(scope="module")
def labelled(host):
    """{text: label} for the candidate texts, as the tiny model and the rules decide them."""
    app = create_app(host, PARAMS, Answerer(PARAMS["answer"]), tokens=TOKENS, read_tokens={})
    with serve_app(app) as url:
        body = {"messages": [{"text": t, "user_id": f"u{i}"}
                             for i, t in enumerate(NOT_QUESTIONS + QUESTIONS)]}
        results = httpx.post(f"{url}/v1/classify", json=body, headers=W, timeout=120).json()
    return {t: r["label"] for t, r in zip(NOT_QUESTIONS + QUESTIONS, results["results"])}


def serve(host, params=PARAMS, faq=(), tokens=TOKENS, **kwargs):
    answerer = Answerer(params["answer"], list(faq), card="스트리머 감자, 주 게임 마크")
    app = create_app(host, params, answerer, tokens=tokens, read_tokens=READ_TOKENS, **kwargs)
    return serve_app(app)


@pytest.fixture(scope="module")
def api(host):
    faq = [FAQEntry(["방송 몇 시까지 해요?"], "새벽 1시까지요!")]
    with serve(host, faq=faq) as url, httpx.Client(base_url=url, timeout=120) as client:
        client.model_name = host.name
        yield client


def test_classify_batch(api):
    texts = ["안녕하세요 ㅎㅎ", "첫충 30% 카지노 bit.ly/x1y2 카톡 ID abc123", "tlqkf"]
    response = api.post("/v1/classify", json={"messages": [{"text": t} for t in texts]}, headers=R)
    assert response.status_code == 200
    body = response.json()
    assert body["model_version"] == "local" and len(body["results"]) == 3
    for result in body["results"]:
        assert result["label"] in LABELS and set(result["probs"]) == set(LABELS)
    assert body["results"][1]["label"] == "spam" and "link" in body["results"][1]["rules"]
    assert body["results"][2]["normalized"] == "시발"


@pytest.mark.parametrize("payload", [{"messages": []}, {"messages": [{"text": ""}]},
                                     {"messages": [{"text": "x"}] * 257}, {"texts": ["x"]},
                                     {"messages": [{"text": 5}]}, [1, 2],
                                     {"messages": [{"text": "\ud800"}]}])
def test_classify_rejects_bad_input(api, payload):
    response = api.post("/v1/classify", content=json.dumps(payload), headers=W)
    assert response.status_code == 422, response.text


def test_tokens_are_needed_except_for_health_and_metrics(api):
    for path, body in (("/v1/classify", {"messages": [{"text": "x"}]}),
                       ("/v1/answer", {"question": "x?"})):
        for headers in ({}, {"Authorization": "Bearer nope-nope-nope"},
                        {"Authorization": f"Basic {WRITER}"}):
            response = api.post(path, json=body, headers=headers)
            assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert api.get("/healthz").status_code == 200 and api.get("/metrics").status_code == 200


def test_a_read_token_classifies_but_cannot_answer(api):
    assert api.post("/v1/classify", json={"messages": [{"text": "x"}]}, headers=R).status_code == 200
    response = api.post("/v1/answer", json={"question": "오늘 무슨 게임 해요?"}, headers=R)
    assert response.status_code == 403 and "read-only" in response.json()["detail"]


@pytest.mark.parametrize("spec, words", [
    ({TOKENS_ENV: "alice:x"}, ["'alice'", "1 characters"]),
    ({TOKENS_ENV: "alice:same-secret-1,bob:same-secret-1"}, ["'alice'", "'bob'", "same token"]),
    ({TOKENS_ENV: "alice:same-secret-1", READ_TOKENS_ENV: "bob:same-secret-1"},
     [TOKENS_ENV, READ_TOKENS_ENV, "same token"]),
    ({READ_TOKENS_ENV: "no-name-here"}, [READ_TOKENS_ENV, "no name or no token"]),
])
def test_bad_token_lists_are_refused_at_start(host, monkeypatch, spec, words):
    monkeypatch.delenv(TOKENS_ENV, raising=False)
    monkeypatch.delenv(READ_TOKENS_ENV, raising=False)
    for name, value in spec.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(TokenError) as caught:
        create_app(host, PARAMS, Answerer(PARAMS["answer"]))
    message = str(caught.value)
    assert all(word in message for word in words), message
    assert "same-secret-1" not in message and "no-name-here" not in message  # never a token


def test_tokens_from_the_environment(host, monkeypatch):
    monkeypatch.setenv(TOKENS_ENV, f"dashboard:{WRITER}")
    monkeypatch.setenv(READ_TOKENS_ENV, f"analytics:{READER}")
    with serve_app(create_app(host, PARAMS, Answerer(PARAMS["answer"]))) as url:
        body = {"messages": [{"text": "x"}]}
        assert httpx.post(f"{url}/v1/classify", json=body, headers=R, timeout=60).status_code == 200
        assert httpx.post(f"{url}/v1/classify", json=body, timeout=60).status_code == 401


def test_body_over_the_limit_is_413_before_parsing(host):
    with serve(host, with_api(max_body_bytes=1000)) as url:
        junk = b"{" * 5000     # not even JSON: the size is refused first
        response = httpx.post(f"{url}/v1/classify", content=junk, headers=W)
        assert response.status_code == 413 and "max_body_bytes" in response.json()["detail"]

        def chunks():          # no Content-Length: counted while it is read
            for _ in range(20):
                yield b" " * 100
        response = httpx.post(f"{url}/v1/classify", content=chunks(), headers=W)
        assert response.status_code == 413
        ok = {"messages": [{"text": "안녕하세요"}]}
        assert httpx.post(f"{url}/v1/classify", json=ok, headers=W, timeout=60).status_code == 200


def test_request_cost_over_the_cap_is_413_naming_it(api):
    body = {"messages": [{"text": "가" * 2000}] * 51}      # 102,000 characters
    response = api.post("/v1/classify", json=body, headers=W)
    assert response.status_code == 413
    assert "serving.api.max_request_chars (100000)" in response.json()["detail"]
    recent = ["가" * 2000] * 50
    response = api.post("/v1/answer", json={"question": "뭐해요?", "recent": recent}, headers=W)
    assert response.status_code == 413 and "max_request_chars" in response.json()["detail"]


@pytest.mark.parametrize("depth", [17, 100, 100_000])
def test_deep_json_is_422_never_500(api, depth):
    raw = '{"messages": [{"text": "x", "user_id": ' + "[" * depth + "]" * depth + "}]}"
    response = api.post("/v1/classify", content=raw, headers=W)
    assert response.status_code == 422 and "max_json_depth" in response.json()["detail"]
    response = api.post("/v1/answer", content="[" * depth + "]" * depth, headers=W)
    assert response.status_code == 422


def test_brackets_inside_strings_are_not_nesting(api):
    body = {"messages": [{"text": "[[[[[[[[[[[[[[[[[[[[ {{{{{{{{{{{{{{{{{{{ \"[[[["}]}
    assert api.post("/v1/classify", json=body, headers=W).status_code == 200


def test_only_questions_are_answered(host, labelled):
    not_questions = [t for t, label in labelled.items() if label not in ("question",)]
    assert not_questions, labelled
    with serve(host) as url:
        for i, text in enumerate(not_questions):
            response = httpx.post(f"{url}/v1/answer", json={"question": text, "channel": f"c{i}"},
                                  headers=W, timeout=120)
            body = response.json()
            assert response.status_code == 200 and body["label"] != "question", body
            assert body["answer"] is None and body["source"] is None and body["reason"], body


def _a_question(labelled) -> str:
    questions = [t for t, label in labelled.items() if label == "question"]
    assert questions, f"the tiny model labels none of the candidates a question: {labelled}"
    return questions[0]


def test_faq_answers_and_the_repeat_window(host, labelled):
    question = _a_question(labelled)
    with serve(host, faq=[FAQEntry([question], "새벽 1시까지요!")]) as url:
        first = httpx.post(f"{url}/v1/answer", json={"question": question}, headers=W, timeout=120)
        assert first.json() == {**first.json(), "answer": "새벽 1시까지요!", "source": "faq"}
        again = httpx.post(f"{url}/v1/answer", json={"question": question}, headers=W, timeout=120)
        assert again.json()["answer"] is None and again.json()["reason"] == "repeat"


@pytest.mark.parametrize("generated", ["question", "주로주로주로주로주로", "1000000000000", "  "])
def test_an_unreadable_model_answer_is_never_returned(host, labelled, monkeypatch, generated):
    model, _ = host.current()
    monkeypatch.setattr(model, "answer", lambda *args, **kwargs: generated)
    with serve(host) as url:
        response = httpx.post(f"{url}/v1/answer", json={"question": _a_question(labelled)},
                              headers=W, timeout=120)
    assert response.status_code == 200
    assert response.json()["answer"] is None and response.json()["reason"] == "not readable"


def test_a_model_answer_is_readable_and_capped(host, labelled):
    with serve(host) as url:
        body = httpx.post(f"{url}/v1/answer", json={"question": _a_question(labelled),
                                                     "recent": ["안녕"]},
                          headers=W, timeout=120).json()
    assert body["label"] == "question" and body["source"] in ("model", None)
    if body["source"] == "model":
        assert readable_answer(body["answer"]) and len(body["answer"]) <= PARAMS["answer"]["max_chars"]
    else:
        assert body["reason"] in ("not readable", "echoes the question", "repeats the chat",
                                  "nothing from the card or chat", "a number not in the card or chat")


def test_an_ungrounded_model_answer_is_withheld_with_its_reason(host, labelled, monkeypatch):
    model, _ = host.current()
    question = _a_question(labelled)
    card = "스트리머 감자. 매일 밤 9시부터 새벽 1시까지 방송. 마이크 슈어 SM7B."
    recent = ["오늘 새벽 1시까지 한대요"]
    for generated, reason in (("응답률은 90% 이상이 될 거예요", "a number not in the card or chat"),
                              ("사무실에서 보내드려요", "nothing from the card or chat"),
                              (question, "echoes the question"),
                              ("마이크는 슈어 SM7B입니다.", "not what was asked"),
                              ("방송은 새벽 1시까지입니다.", None)):
        monkeypatch.setattr(model, "answer", lambda *args, g=generated, **kwargs: g)
        with serve(host) as url:
            body = httpx.post(f"{url}/v1/answer", headers=W, timeout=120,
                              json={"question": question, "card": card, "recent": recent}).json()
        assert (body["answer"], body.get("reason")) == ((None, reason) if reason else (generated, None))


def test_answers_per_caller_per_minute(host, labelled):
    question = _a_question(labelled)
    params = with_api(answers_per_minute=2)
    with serve(host, params, tokens={WRITER: "dashboard", "tok-other-0123456789": "other"},
               clock=lambda: 1000.0) as url:
        for channel in ("a", "b"):
            response = httpx.post(f"{url}/v1/answer", json={"question": question,
                                                            "channel": channel},
                                  headers=W, timeout=120)
            assert response.status_code == 200
        refused = httpx.post(f"{url}/v1/answer", json={"question": question, "channel": "c"},
                             headers=W, timeout=120)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) == 60
        assert "answers_per_minute" in refused.json()["detail"]
        other = httpx.post(f"{url}/v1/answer", json={"question": question, "channel": "d"},
                           headers={"Authorization": "Bearer tok-other-0123456789"}, timeout=120)
        assert other.status_code == 200


def test_one_answer_at_a_time_and_a_bounded_queue(host, labelled, monkeypatch):
    """With no room to wait, a second model answer while one is generating gets 503."""
    question = _a_question(labelled)
    model, _ = host.current()
    entered, release = threading.Event(), threading.Event()

    def slow_answer(*args, between_steps=None, **kwargs):
        """Generates until released, yielding to decisions between "tokens" as a model does
        (the answer runs on the model thread that also scores the next request)."""
        entered.set()
        for _ in range(1200):
            if release.wait(0.1):
                return "보통 밤 12시까지 해요"
            between_steps()
        raise AssertionError("never released")

    monkeypatch.setattr(model, "answer", slow_answer)
    with serve(host, with_api(answer_waiting=0)) as url, ThreadPoolExecutor(1) as pool:
        first = pool.submit(httpx.post, f"{url}/v1/answer",
                            json={"question": question, "channel": "a", "card": "방송은 밤 12시까지",
                                  "recent": ["밤 12시까지 한대요"]},
                            headers=W, timeout=120)
        assert entered.wait(120)
        busy = httpx.post(f"{url}/v1/answer", json={"question": question, "channel": "b"},
                          headers=W, timeout=120)
        release.set()
        assert busy.status_code == 503 and busy.headers["retry-after"]
        assert first.result().json()["answer"] == "보통 밤 12시까지 해요"


def test_healthz_and_metrics(api):
    assert api.get("/healthz").json()["model_version"] == "local"
    api.post("/v1/classify", json={"messages": [{"text": "메트릭 확인"}]}, headers=R)
    text = api.get("/metrics").text
    for name in ("chatloop_messages_total{platform=\"api\"}", "chatloop_labels_total",
                 "chatloop_decision_latency_seconds_bucket", "chatloop_queue_depth",
                 "chatloop_dropped_total", "chatloop_reconnects_total",
                 f"chatloop_model_info{{name=\"{api.model_name}\",version=\"local\"}} 1.0"):
        assert name in text
    scored = re.findall(r'^chatloop_scored_total\{by="(lm|screen)"\} (\S+)$', text, re.M)
    assert {by for by, _ in scored} == {"lm", "screen"} and sum(float(n) for _, n in scored) >= 1


def test_healthz_503_before_a_model_is_loaded():
    host = ModelHost("models:/chatloop@champion")
    app = create_app(host, PARAMS, Answerer(PARAMS["answer"]), tokens=TOKENS, read_tokens={})
    with serve_app(app) as url:
        response = httpx.get(f"{url}/healthz")
        assert response.status_code == 503 and response.json()["model_version"] is None
        response = httpx.post(f"{url}/v1/classify", json={"messages": [{"text": "x"}]}, headers=W)
        assert response.status_code == 503
