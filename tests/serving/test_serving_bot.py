"""The bot end to end on a replay: the CLI contract, rules + model, answers, bad input."""
from __future__ import annotations

import json

import pytest

from components.labels import LABELS
from serving.cli import main as serve_main

FAQ_YAML = """
- questions: ["방송 몇 시까지 해요?", "언제까지 방송해요?"]
  answer: "보통 새벽 1시까지 해요!"
"""
EXTRA = [{"text": "방송 몇시까지 해요?", "user_id": "q1", "message_id": "faq-1"},
         {"text": "언제까지 방송해요??", "user_id": "q2", "message_id": "faq-2"},   # repeat
         {"text": "첫충 30% 카지노 bit.ly/x1y2 카톡 ID abc123", "user_id": "s1", "message_id": "spam-1"},
         {"text": "tlqkf 진짜", "user_id": "t1", "message_id": "evasion-1"}]


@pytest.fixture
def replay_file(tmp_path):
    rows = [json.loads(line) for line in open("data/sample/chat.jsonl", encoding="utf-8")][:60]
    rows = EXTRA + [{"text": r["text"], "user_id": f"u{i % 7}"} for i, r in enumerate(rows)]
    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    faq = tmp_path / "faq.yaml"
    faq.write_text(FAQ_YAML, encoding="utf-8")
    return path, faq, rows


def test_replay_contract_one_decision_per_message(tiny_model_dir, replay_file, tmp_path, monkeypatch):
    monkeypatch.delenv("CHATLOOP_FEEDBACK_URL", raising=False)
    path, faq, rows = replay_file
    out = tmp_path / "decisions.jsonl"
    from chatloop.cli import main as chatloop_main
    code = chatloop_main(["serve", "--source", f"replay:{path}", "--model", str(tiny_model_dir),
                          "--decisions-out", str(out), "--faq", str(faq), "--card", "스트리머 감자"])
    assert code == 0
    decisions = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(decisions) == len(rows)
    # Input order, except that a model-answered question is logged once its answer is ready.
    assert sorted(d["text"] for d in decisions) == sorted(r["text"] for r in rows)
    late = ("answer:model", "answer-skipped:empty", "answer-failed")   # the answer worker's
    in_order = [d["text"] for d in decisions if d["action"] not in late]
    assert in_order == [r["text"] for r in rows if r["text"] in set(in_order)]
    for d in decisions:
        if d["action"] == "answer:model":
            assert isinstance(d["answer"], str) and d["answer"]   # the text, not null
    assert len({d["message_id"] for d in decisions}) == len(rows)
    for d in decisions:
        assert d["label"] in LABELS and d["model_version"] == "local"
        assert d["model_name"] == tiny_model_dir.name
        assert sum(d["probs"].values()) == pytest.approx(1.0, abs=1e-3)
        assert d["latency_ms"] >= 0 and d["action"]
    by_id = {d["message_id"]: d for d in decisions}
    assert by_id["spam-1"]["label"] == "spam" and by_id["spam-1"]["action"] == "dry-run:log"
    assert {"link", "messenger", "spam_word"} <= set(by_id["spam-1"]["rules"])
    assert by_id["evasion-1"]["normalized"] == "시발 진짜" and "evasion" in by_id["evasion-1"]["rules"]
    if by_id["faq-1"]["label"] == "question":   # the tiny model decides the label; policy follows
        assert by_id["faq-1"]["action"] == "answer:faq"
        assert by_id["faq-1"]["answer"] == "보통 새벽 1시까지 해요!"
    if by_id["faq-2"]["label"] == "question" and by_id["faq-1"]["label"] == "question":
        assert by_id["faq-2"]["action"] == "answer-skipped:repeat"
    for d in decisions:
        if d["label"] in ("toxic", "spam"):
            assert d["answer"] is None and not d["action"].startswith("answer")


def test_bad_replay_is_a_clear_error_and_writes_nothing(tmp_path, capsys, tiny_model_dir):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok"}\n{"user_id": "no text"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code = serve_main(["--source", f"replay:{path}", "--model", str(tiny_model_dir),
                       "--decisions-out", str(out)])
    assert code == 2 and not out.exists()
    assert f"{path}:2" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [
    (["--source", "replay:{missing}"], "does not exist"),
    (["--source", "myspace:tom"], "unknown platform"),
    (["--source", "replay:{ok}", "--rate", "fast"], "--rate"),
    (["--source", "replay:{ok}", "--model", "{missing}"], "not found"),
])
def test_bad_arguments(tmp_path, capsys, args, message):
    ok = tmp_path / "ok.jsonl"
    ok.write_text('{"text": "안녕"}\n', encoding="utf-8")
    args = [a.format(missing=tmp_path / "nope", ok=ok) for a in args]
    if "--model" not in args:
        args += ["--model", str(tmp_path / "nope")]
    assert serve_main(args) == 2
    assert message in capsys.readouterr().err


def test_csv_replay_at_a_rate(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("CHATLOOP_FEEDBACK_URL", raising=False)
    path = tmp_path / "chat.csv"
    path.write_text("text,user_id,ts\n안녕하세요,a,1700000000\n\"쉼표, 있는 채팅\",b,1700000001\n",
                    encoding="utf-8")
    out = tmp_path / "o.jsonl"
    assert serve_main(["--source", f"replay:{path}", "--model", str(tiny_model_dir), "--rate", "50",
                       "--decisions-out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["text"], r["user_id"], r["message_id"], r["ts"]) for r in rows] == [
        ("안녕하세요", "a", "2", 1700000000.0), ("쉼표, 있는 채팅", "b", "3", 1700000001.0)]


def test_batches_decided_in_order_and_a_model_failure_stops_the_bot(tiny_model_dir, tmp_path):
    """The rules/model overlap keeps arrival order across many batches; a model that fails
    on a later batch ends `run` with that error (no hang), after the earlier batches' records."""
    import asyncio

    from components.config import load_params
    from serving.actions import Actions
    from serving.answers import Answerer
    from serving.bot import Bot
    from serving.decisions import DecisionLog
    from serving.model_host import ModelHost
    from serving.sources.replay import ReplaySource

    params = load_params()["serving"] | {"batch_size": 4}
    texts = [f"채팅 메시지 {i}번" for i in range(40)]
    chat = tmp_path / "chat.jsonl"
    chat.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts),
                    encoding="utf-8")

    def run(fail_on_call: int | None):
        """Replay through the bot; (decision records written, model calls)."""
        host = ModelHost(str(tiny_model_dir), poll_seconds=3600)
        host.load()
        model, _ = host.current()
        calls, real_score = [0], model.score

        def score(batch, *args, **kwargs):
            calls[0] += 1
            if calls[0] == fail_on_call:
                raise RuntimeError("model broke")
            return real_score(batch, *args, **kwargs)

        model.score = score
        out = tmp_path / f"out-{fail_on_call}.jsonl"
        bot = Bot(ReplaySource(chat), host, params, answerer=Answerer(params["answer"]),
                  actions=Actions(), decisions=DecisionLog(url="", out_path=out,
                                                           spool_path=tmp_path / "spool"))
        failed = None
        try:
            asyncio.run(bot.run())
        except RuntimeError as exc:
            failed = exc
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        return [r["text"] for r in rows], calls[0], failed

    decided, calls, failed = run(None)
    assert failed is None and decided == texts and calls >= 10   # batches of at most 4
    decided, calls, failed = run(3)
    assert str(failed) == "model broke" and 3 <= calls < 6   # stopped: at most 2 more batches were handed over
    assert decided == texts[:len(decided)] and 0 < len(decided) < len(texts)


def test_an_edited_message_gets_its_own_record(tiny_model_dir, tmp_path):
    """The log keeps the first record per message id: an edit's re-check is recorded under
    `<id>#edit-<ms>`, and the original's record stays as it was."""
    import asyncio

    from components.config import load_params
    from serving.actions import Actions
    from serving.answers import Answerer
    from serving.bot import Bot
    from serving.decisions import DecisionLog
    from serving.message import ChatMessage
    from serving.model_host import ModelHost

    class Edits:
        platform = "discord"

        def __aiter__(self):
            return self._gen()

        async def _gen(self):
            yield ChatMessage("discord", "c1", "m1", "u1", "n", "안녕하세요", ts=100.0)
            yield ChatMessage("discord", "c1", "m1", "u1", "n", "카톡 abc123 첫충 30%",
                              ts=105.25, edited=True)

    params = load_params()["serving"]
    host = ModelHost(str(tiny_model_dir), poll_seconds=3600)
    host.load()
    out = tmp_path / "out.jsonl"
    bot = Bot(Edits(), host, params, answerer=Answerer(params["answer"]), actions=Actions(),
              decisions=DecisionLog(url="", out_path=out, spool_path=tmp_path / "spool"),
              wait_when_full=True)
    asyncio.run(bot.run())
    rows = {r["message_id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert set(rows) == {"m1", "m1#edit-105250"}
    assert rows["m1"]["text"] == "안녕하세요"
    assert rows["m1#edit-105250"]["text"] == "카톡 abc123 첫충 30%"


@pytest.mark.parametrize("deadline_ms, live, late_expected", [(0.001, True, True), (0, True, False),
                                                              (0.001, False, False)])
def test_live_chat_past_its_deadline_is_decided_by_the_screen(tiny_model_dir, tmp_path, deadline_ms,
                                                              live, late_expected):
    """A live message the LM has not begun by its deadline gets the screen's decision
    (`decided_by: late`), still one record per message; deadline 0 and replays never hurry."""
    import asyncio

    from components.config import load_params
    from serving.actions import Actions
    from serving.answers import Answerer
    from serving.bot import Bot
    from serving.decisions import DecisionLog
    from serving.message import ChatMessage
    from serving.model_host import ModelHost

    texts = [json.loads(line)["text"] for line in open("data/sample/chat.jsonl", encoding="utf-8")][:40]

    class Live:
        platform = "discord"

        def __aiter__(self):
            return self._gen()

        async def _gen(self):
            for i, text in enumerate(texts):
                yield ChatMessage("discord", "c1", f"m{i}", f"u{i % 5}", "n", text, ts=100.0 + i)

    params = load_params(overrides=[f"serving.deadline_ms={deadline_ms}"])["serving"]
    host = ModelHost(str(tiny_model_dir), poll_seconds=3600)
    host.load()
    out = tmp_path / "out.jsonl"
    bot = Bot(Live(), host, params, answerer=Answerer(params["answer"]), actions=Actions(),
              decisions=DecisionLog(url="", out_path=out, spool_path=tmp_path / "spool"),
              wait_when_full=not live)
    asyncio.run(bot.run())
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert sorted(r["message_id"] for r in rows) == sorted(f"m{i}" for i in range(len(texts)))
    by = [r["decided_by"] for r in rows]
    assert "screen" in by
    assert ("late" in by) == late_expected and ("lm" in by) != late_expected
    assert host.current()[0].counts["late"] == by.count("late")   # chatloop_scored_total{by="late"}
