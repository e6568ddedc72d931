"""Hot reload from the MLflow registry: the alias moves, the bot switches without losing a
message; a version whose artifacts are broken never replaces the one serving."""
from __future__ import annotations

import asyncio
import shutil

import pytest

from components.config import load_params
from serving.actions import Actions
from serving.answers import Answerer
from serving.bot import Bot
from serving.cli import main as serve_main
from serving.decisions import DecisionLog
from serving.message import ChatMessage
from serving.model_host import ModelHost

MODEL = "chatloop-serving-test"   # its own registered model: other areas' versions stay as they are
PARAMS = load_params()["serving"]


def register_version(model_dir) -> str:
    import mlflow

    from components.config import tracking_uri
    from components.model_registry import ChatloopPyfunc
    mlflow.set_tracking_uri(tracking_uri())
    with mlflow.start_run(run_name="serving-reload-test"):
        info = mlflow.pyfunc.log_model(name="model", python_model=ChatloopPyfunc(),
                                       artifacts={"model_dir": str(model_dir)},
                                       registered_model_name=MODEL, pip_requirements=[])
    return str(info.registered_model_version)


def set_alias(version: str) -> None:
    from components.model_registry import client
    client().set_registered_model_alias(MODEL, "champion", version)


@pytest.fixture(scope="module")
def versions(mlflow_home, tiny_model_dir, tmp_path_factory):
    """(good v1, good v2, broken v3) of MODEL; champion -> v1."""
    broken = tmp_path_factory.mktemp("broken") / "model"
    shutil.copytree(tiny_model_dir, broken)
    for weights in (broken / "adapter").glob("*.safetensors"):
        weights.write_bytes(b"this is not a safetensors file")
    good1, good2, bad = (register_version(d) for d in (tiny_model_dir, tiny_model_dir, broken))
    set_alias(good1)
    return good1, good2, bad


class SteppedSource:
    """Chat that pauses between phases until the test's condition holds (bounded)."""

    platform = "test"

    def __init__(self, phases):
        self.phases, self.sent, self.stats = phases, [], {}

    async def __aiter__(self):
        for n, then in self.phases:
            for _ in range(n):
                yield self._next()
            if then is not None:
                until = then()
                for _ in range(3000):           # chat keeps flowing while we wait (<= 60 s)
                    if until():
                        break
                    yield self._next()
                    await asyncio.sleep(0.02)
                else:
                    raise AssertionError("condition never held")

    def _next(self) -> ChatMessage:
        message = ChatMessage("test", "chan", str(len(self.sent)), "u", "u", f"채팅 {len(self.sent)}번")
        self.sent.append(message.message_id)
        return message


def test_alias_move_swaps_without_loss_and_broken_version_is_refused(versions, tmp_path, arun):
    good1, good2, bad = versions
    host = ModelHost(f"models:/{MODEL}@champion", poll_seconds=0.1)
    host.load()
    assert host.version == good1

    def move_to(version, until):
        def start():
            set_alias(version)
            return until
        return start

    source = SteppedSource([(40, move_to(good2, lambda: host.version == good2)),
                            (40, move_to(bad, lambda: host.load_errors == 1)),
                            (40, None)])
    out = tmp_path / "decisions.jsonl"
    decisions = DecisionLog(url="", out_path=out, spool_path=tmp_path / "spool.jsonl")
    bot = Bot(source, host, PARAMS, answerer=Answerer(PARAMS["answer"]), actions=Actions(),
              decisions=decisions)
    arun(bot.run(), timeout=180)

    import json
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["message_id"] for r in records] == source.sent          # nothing lost, in order
    seen = [r["model_version"] for r in records]
    assert seen[:40] == [good1] * 40 and seen[-40:] == [good2] * 40
    assert seen == sorted(seen, key=[good1, good2].index)             # one switch, never back
    assert bad not in seen and {r["model_name"] for r in records} == {MODEL}
    assert host.version == good2 and host.failed_version == bad and host.reloads == 1
    metrics = bot.metrics.render().decode()
    assert "chatloop_model_load_errors_total 1.0" in metrics
    assert f'chatloop_model_info{{name="{MODEL}",version="{good2}"}} 1.0' in metrics
    assert f'chatloop_messages_total{{platform="test"}} {len(records)}.0' in metrics
    set_alias(good1)


def test_broken_champion_at_start_and_unknown_alias_are_errors(versions, tmp_path, capsys):
    good1, _, bad = versions
    chat = tmp_path / "chat.jsonl"
    chat.write_text('{"text": "안녕"}\n', encoding="utf-8")
    assert serve_main(["--source", f"replay:{chat}", "--model", f"models:/{MODEL}@nosuchalias"]) == 2
    assert "nosuchalias" in capsys.readouterr().err
    host = ModelHost(f"models:/{MODEL}/{bad}")
    with pytest.raises(Exception):
        host.load()
    assert host.current() == (None, None)
