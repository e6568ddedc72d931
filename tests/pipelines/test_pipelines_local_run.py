"""`chatloop pipeline run` stops at a failing validation with a one-paragraph error.

Runs the real ingest and validate steps through kfp.local on a one-label data file (a few
seconds); the full local pipeline is covered by the end-to-end test.
"""
import json
import os

from chatloop.cli import main


def one_label_data(tmp_path, monkeypatch):
    """A state folder of its own, no tracking URI, and a data file validation must refuse."""
    monkeypatch.setenv("CHATLOOP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    data = tmp_path / "one_label.jsonl"
    data.write_text("".join(json.dumps({"text": f"안녕하세요 {i}번", "label": "normal"},
                                       ensure_ascii=False) + "\n" for i in range(40)))
    return data


def test_validation_failure_stops_the_run_with_a_clear_error(tmp_path, monkeypatch, capsys):
    data = one_label_data(tmp_path, monkeypatch)
    workdir = tmp_path / "kfp"

    code = main(["pipeline", "run", "--profile", "tiny", "--data", str(data), "--workdir", str(workdir)])

    out, err = capsys.readouterr()
    assert code == 1
    # Quiet by default: a line per step, not each step's executor input and library logs.
    assert "chatloop: step ingest success" in out and "chatloop: step validate ..." in out
    assert "Got executor_input" not in out and "Skipping registering function" not in out
    assert len(out.splitlines()) < 10, out
    assert "\x1b[" not in out  # no colour codes when not on a terminal
    [logfile] = (workdir / "logs").glob("*.log")       # ... all of it is in the log file
    assert "Executing task 'validate'" in logfile.read_text() and str(logfile) in err
    assert "the pipeline stopped at step 'validate'" in err
    assert "ValidationFailed: data validation failed" in err
    assert "Traceback" not in err
    assert "ingest success" in err and "validate failure" in err
    [run_dir] = workdir.glob("chatloop-train-*")
    assert str(run_dir / "validate") in err
    assert (run_dir / "validate" / "report").is_dir() and any((run_dir / "validate" / "report").iterdir())
    assert not (run_dir / "train").exists()  # train never started
    assert "MLFLOW_TRACKING_URI" not in os.environ  # restored after the run


def test_summary_sets_model_beside_tfidf_and_records_wall_time(registry):
    """The run summary's figures and the pipeline's wall time on the MLflow run (the run
    itself opens only at register)."""
    import io

    import mlflow

    from pipelines.local_run import StepLog, _record_wall_time
    run_id = mlflow.MlflowClient(registry["tracking_uri"]).get_model_version(
        "chatloop", registry["version"]).run_id
    log = StepLog(io.StringIO(), verbose=False)
    log.steps = {"train": {"status": "SUCCESS", "seconds": 61.2}, "ingest": {"status": "RUNNING"}}
    lines = _record_wall_time(registry["tracking_uri"], run_id, 95.04, log)
    metrics = mlflow.MlflowClient(registry["tracking_uri"]).get_run(run_id).data.metrics
    assert metrics["pipeline_seconds"] == 95.0 and metrics["pipeline_step_seconds_train"] == 61.2
    assert lines[0].split() == ["macro-F1", "model", "TF-IDF"]
    split = next(line for line in lines if "test split" in line).split()
    assert [float(x) for x in split[2:4]] == [round(metrics["macro_f1"], 4),
                                               round(metrics["baseline_macro_f1"], 4)]
    assert ("TF-IDF ahead" in lines[1]) == (metrics["baseline_macro_f1"] > metrics["macro_f1"])


def test_a_second_run_in_one_process_still_reports_its_steps(tmp_path, monkeypatch, capsys):
    """The quiet mode's exit filter (kfp's INFO records) must not hide the next run's steps."""
    data = one_label_data(tmp_path, monkeypatch)
    for attempt in range(2):
        code = main(["pipeline", "run", "--profile", "tiny", "--data", str(data),
                     "--workdir", str(tmp_path / f"kfp{attempt}")])
        out, err = capsys.readouterr()
        assert code == 1 and "chatloop: step ingest success" in out, (attempt, out)
        assert "the pipeline stopped at step 'validate'" in err
