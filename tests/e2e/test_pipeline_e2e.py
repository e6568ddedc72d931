"""The whole local loop through kfp.local with a real MLflow store, twice.

Run 1 (default params): a version with gate=passed and the challenger alias.
Run 2 (a deliberately worse configuration, against a promoted champion): a new version with
gate=failed and its reasons; aliases unchanged. Plus bad input that must stop the run
before anything is registered.
"""
import json

import mlflow
import pytest

from chatloop.cli import main
from components.model_registry import client

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    path = tmp_path_factory.mktemp("e2e-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("CHATLOOP_HOME", str(path))
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{path / 'mlflow.db'}")
    yield path
    mp.undo()


def versions():
    c = client()
    try:
        return {str(mv.version): mv for mv in c.search_model_versions("name='chatloop'")}
    except mlflow.exceptions.MlflowException:
        return {}


def aliases():
    return {k: str(v) for k, v in client().get_registered_model("chatloop").aliases.items()}


def test_first_run_registers_a_passing_challenger(home, capsys):
    code = main(["pipeline", "run", "--profile", "tiny", "--set", "evaluate.answer_samples=8"])
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    for step in ("ingest", "validate", "train", "evaluate", "register"):
        assert f"chatloop: step {step} success" in out   # quiet: one line per step
    assert "gate:      passed" in out and "mlflow ui --backend-store-uri" in out
    [mv] = versions().values()
    assert mv.tags["gate"] == "passed"
    assert aliases() == {"challenger": "1"}
    run = client().get_run(mv.run_id)
    assert run.data.params["train.epochs"] == "4"
    assert run.data.metrics["macro_f1"] >= run.data.metrics["baseline_macro_f1"] - 0.02
    assert run.data.tags["data.content_sha256"] and run.data.tags["data.git_rev"]
    assert "no champion yet" in run.data.tags["gate_reasons"]
    names = {a.path for a in client().list_artifacts(mv.run_id, "validation")}
    assert "validation/validation.json" in names


def test_worse_configuration_is_registered_but_gated(home, capsys):
    assert main(["promote", "--version", "1", "--by", "e2e"]) == 0
    before = aliases()
    code = main(["pipeline", "run", "--profile", "tiny", "--set", "train.epochs=1", "--set", "train.learning_rate=0.00005",
                 "--set", "evaluate.answer_samples=4"])
    out = capsys.readouterr().out
    assert code == 0, out[-3000:]
    assert "gate:      failed" in out
    mv = versions()["2"]
    assert mv.tags["gate"] == "failed"
    assert "does not beat champion v1" in mv.tags["gate_reasons"]
    assert "below the TF-IDF baseline floor" in mv.tags["gate_reasons"]
    assert aliases() == before == {"challenger": "1", "champion": "1"}
    run = client().get_run(mv.run_id)
    assert run.data.metrics["champion_macro_f1"] > run.data.metrics["macro_f1"]


@pytest.mark.parametrize("content, message", [
    (None, "data source not found"),
    ('{"text": "안녕", "label": "normal"}\n{"text": oops}\n', "bad.jsonl:2: not valid JSON"),
    ('{"text": "안녕", "label": "greeting"}\n', "bad.jsonl:1: unknown label 'greeting'"),
])
def test_bad_input_stops_before_anything_is_registered(home, tmp_path, capsys, content, message):
    data = tmp_path / "bad.jsonl"
    if content is not None:
        data.write_text(content, encoding="utf-8")
    count = len(versions())
    assert main(["pipeline", "run", "--profile", "tiny", "--data", str(data), "--workdir", str(tmp_path / "kfp")]) != 0
    captured = capsys.readouterr()
    assert message in captured.err
    assert len(versions()) == count
