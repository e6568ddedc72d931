"""`chatloop pipeline run` stops at a failing validation with a one-paragraph error.

Runs the real ingest and validate steps through kfp.local on a one-label data file (a few
seconds); the full local pipeline is covered by the end-to-end test.
"""
import json
import os

from chatloop.cli import main


def test_validation_failure_stops_the_run_with_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CHATLOOP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    data = tmp_path / "one_label.jsonl"
    data.write_text("".join(json.dumps({"text": f"안녕하세요 {i}번", "label": "normal"},
                                       ensure_ascii=False) + "\n" for i in range(40)))
    workdir = tmp_path / "kfp"

    code = main(["pipeline", "run", "--profile", "tiny", "--data", str(data), "--workdir", str(workdir)])

    out, err = capsys.readouterr()
    assert code == 1
    assert "Executing task 'ingest'" in out and "Executing task 'validate'" in out
    assert "\x1b[" not in out  # no colour codes when not on a terminal
    assert "the pipeline stopped at step 'validate'" in err
    assert "ValidationFailed: data validation failed" in err
    assert "Traceback" not in err
    assert "ingest success" in err and "validate failure" in err
    [run_dir] = workdir.glob("chatloop-train-*")
    assert str(run_dir / "validate") in err
    assert (run_dir / "validate" / "report").is_dir() and any((run_dir / "validate" / "report").iterdir())
    assert not (run_dir / "train").exists()  # train never started
    assert "MLFLOW_TRACKING_URI" not in os.environ  # restored after the run
