"""Every torch call of a serving process runs on the host's one model thread; loads run on a
thread that ends with them (a second live OpenMP pool would slow scoring: serving.model_worker)."""
from __future__ import annotations

import asyncio
import json
import threading

import httpx
from conftest import serve_app

from components import model_registry
from components.config import load_params
from serving.actions import Actions
from serving.answers import Answerer
from serving.api import create_app
from serving.bot import Bot
from serving.decisions import DecisionLog
from serving.model_host import ModelHost
from serving.sources.replay import ReplaySource

TOKEN = "tok-writer-0123456789"


def test_loads_run_on_a_thread_that_ends(tiny_model_dir, monkeypatch):
    seen: list[threading.Thread] = []
    real = model_registry.load_model

    def load_model(uri, device=None):
        seen.append(threading.current_thread())
        return real(uri, device=device)

    monkeypatch.setattr(model_registry, "load_model", load_model)
    host = ModelHost(str(tiny_model_dir), poll_seconds=3600)
    host.load()
    assert host.current()[0] is not None and len(seen) == 1
    assert seen[0] is not threading.main_thread() and not seen[0].is_alive()

    monkeypatch.setattr(model_registry, "load_model",
                        lambda uri, device=None: (_ for _ in ()).throw(OSError("disk gone")))
    host.version = "old"                    # a reload that fails keeps the model it had
    assert host.check() is False and host.load_errors == 1 and host.current()[0] is not None


def test_bot_and_api_run_the_model_on_the_hosts_thread(tiny_model_dir, tmp_path):
    params = load_params()["serving"]
    params = params | {"batch_size": 4, "answer": params["answer"] | {"grounded": False}}
    host = ModelHost(str(tiny_model_dir), poll_seconds=3600)
    host.load()
    model, _ = host.current()
    threads: dict[str, set[int]] = {"score": set(), "answer": set()}
    real_score, answer = model.score, model.answer

    def score(texts, *args, **kwargs):
        """The model's scores on the model's thread, with questions made sure (answers follow)."""
        threads["score"].add(threading.get_ident())
        probs, by = real_score(texts, *args, **kwargs)
        probs[[t.endswith("?") for t in texts]] = [0.0, 1.0, 0.0, 0.0]
        return probs, by

    def answering(*args, **kwargs):
        threads["answer"].add(threading.get_ident())
        return answer(*args, **kwargs)

    model.score, model.answer = score, answering
    texts = [f"채팅 메시지 {i}번" for i in range(12)] + ["방송 몇 시까지 해요?"]
    chat = tmp_path / "chat.jsonl"
    chat.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts),
                    encoding="utf-8")
    bot = Bot(ReplaySource(chat), host, params, answerer=Answerer(params["answer"]),
              actions=Actions(), decisions=DecisionLog(url="", out_path=tmp_path / "out.jsonl",
                                                       spool_path=tmp_path / "spool"))
    asyncio.run(bot.run())
    app = create_app(host, params, Answerer(params["answer"]), tokens={TOKEN: "dashboard"},
                     read_tokens={})
    with serve_app(app) as url:
        got = httpx.post(f"{url}/v1/classify", json={"messages": [{"text": "안녕하세요"}]},
                         headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
        assert got.status_code == 200, got.text
        httpx.post(f"{url}/v1/answer", json={"question": "방송 몇 시까지 해요?"},
                   headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert threads["score"] == {host.worker.thread.ident}
    assert threads["answer"] == {host.worker.thread.ident}
    host.close()


def test_a_dropped_host_ends_its_model_thread(tiny_model_dir):
    import gc
    host = ModelHost(str(tiny_model_dir), poll_seconds=3600)
    thread = host.worker.thread
    assert host.worker.call(lambda: threading.get_ident()) == thread.ident
    del host
    gc.collect()
    thread.join(10)
    assert not thread.is_alive()
