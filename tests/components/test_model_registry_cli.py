"""The registry and model commands as a user meets them: quiet output, help with defaults,
`promote` refusing an ungated version, `classify --rules` agreeing with serve, torch threads,
and serving's record of every champion change."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

from chatloop.cli import main
from components.config import ROOT

MODEL = "chatloop-promote-test"   # its own registered model: the session's `chatloop` stays


def chatloop(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chatloop.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)


def register_version(model_dir, **tags) -> str:
    import mlflow

    from components.model_registry import ChatloopPyfunc, client
    client()
    with mlflow.start_run(run_name="promote-test"):
        info = mlflow.pyfunc.log_model(name="model", python_model=ChatloopPyfunc(),
                                       artifacts={"model_dir": str(model_dir)},
                                       registered_model_name=MODEL, pip_requirements=[])
    version = str(info.registered_model_version)
    for key, value in tags.items():
        client().set_model_version_tag(MODEL, version, key, value)
    return version


def test_help_shows_defaults_and_no_warnings():
    proc = chatloop("models", "--help")
    assert proc.returncode == 0 and proc.stderr == ""
    assert "Warning" not in proc.stdout and "(default: chatloop)" in proc.stdout
    proc = chatloop("classify", "--help")
    assert "(default: 64)" in proc.stdout and "--rules" in proc.stdout
    assert "rules layer" in proc.stdout and "(default: None)" not in proc.stdout


def test_models_and_promote_print_no_warnings_and_say_it_in_words(registry):
    env = {**os.environ, "MLFLOW_TRACKING_URI": registry["tracking_uri"]}
    proc = chatloop("models", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr                   # no MLflow UserWarning, no INFO
    header, *rows = proc.stdout.splitlines()
    assert header.split()[:4] == ["version", "aliases", "gate", "macro-F1"]
    assert any(row.split()[0] == registry["version"] and "champion" in row for row in rows)
    proc = chatloop("promote", "--version", registry["version"], "--by", "carol", env=env)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert f"champion stays on version {registry['version']}" in proc.stdout
    assert "by carol at" in proc.stdout


def test_promote_refuses_a_failed_or_ungated_version_unless_forced(registry, tiny_model_dir,
                                                                   capsys):
    from components.model_registry import client
    passed = register_version(tiny_model_dir, gate="passed", gate_reasons="ok")
    failed = register_version(tiny_model_dir, gate="failed",
                              gate_reasons="golden: spam recall 0.4000 < 0.85")
    ungated = register_version(tiny_model_dir)
    assert main(["promote", "--model-name", MODEL, "--version", passed, "--by", "dan"]) == 0
    assert f"champion is now version {passed}" in capsys.readouterr().out

    assert main(["promote", "--model-name", MODEL, "--version", failed]) == 2
    err = capsys.readouterr().err
    assert "its gate failed: golden: spam recall 0.4000 < 0.85" in err and "--force" in err
    assert main(["promote", "--model-name", MODEL, "--version", ungated]) == 2
    assert "no gate tag" in capsys.readouterr().err
    assert str(client().get_registered_model(MODEL).aliases["champion"]) == passed

    assert main(["promote", "--model-name", MODEL, "--version", failed, "--force",
                 "--by", "dan"]) == 0
    out = capsys.readouterr().out
    assert f"moved from version {passed} to version {failed} despite its gate (forced)" in out
    assert client().get_model_version(MODEL, failed).tags["champion.forced"] == "gate failed"


def test_classify_rules_agrees_with_serve_and_prints_no_progress_bars(registry, tmp_path):
    src = tmp_path / "in.jsonl"
    texts = ["tlqkf 진짜 노잼", "안녕하세요~", "대출 상담 010-1234-5678"]
    src.write_text("".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in texts))
    env = {**os.environ, "MLFLOW_TRACKING_URI": registry["tracking_uri"],
           "CHATLOOP_HOME": str(tmp_path / "home"), "CHATLOOP_TORCH_THREADS": "1"}
    for key in ("TQDM_DISABLE", "PYTHONWARNINGS", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"):
        env.pop(key, None)                                  # the CLI itself must quiet them
    plain, ruled = tmp_path / "plain.jsonl", tmp_path / "ruled.jsonl"
    proc = chatloop("classify", "--input", str(src), "--output", str(plain), env=env)
    assert proc.returncode == 0, proc.stderr
    noise = proc.stdout + proc.stderr
    assert "%|" not in noise and "it/s" not in noise and "Warning" not in noise, noise
    assert len(noise.strip().splitlines()) <= 2, noise
    proc = chatloop("classify", "--rules", "--input", str(src), "--output", str(ruled), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "rules layer" in proc.stdout
    rows = [json.loads(line) for line in ruled.read_text().splitlines()]
    assert "evasion" in rows[0]["rules"] and rows[0]["label"] == "toxic"
    assert rows[0]["probs"]["toxic"] >= 0.6
    assert {"phone", "spam_word"} <= set(rows[2]["rules"]) and rows[2]["label"] == "spam"
    assert rows[1]["rules"] == []
    assert all("rules" not in json.loads(line) for line in plain.read_text().splitlines())

    # -v shows what the default hides, among it the torch thread choice and why.
    proc = chatloop("-v", "classify", "--input", str(src), "--output", str(plain), env=env)
    assert "torch threads: 1 ($CHATLOOP_TORCH_THREADS)" in proc.stdout + proc.stderr


def test_torch_threads_from_quota_cores_and_load(monkeypatch, caplog):
    import torch

    from components import model
    before = torch.get_num_threads()
    for key in ("CHATLOOP_TORCH_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(model, "_threads", None)
    try:
        monkeypatch.setattr(model, "cpu_budget", lambda: (8, 4, 9.4))     # saturated: half of 4
        with caplog.at_level(logging.INFO, logger="components.model"):
            assert model.torch_threads() == 2
        assert "automatic: 8 CPUs allowed, cgroup quota 4, load average 9.4" in caplog.text
        monkeypatch.setattr(model, "_threads", None)
        monkeypatch.setattr(model, "cpu_budget", lambda: (2, None, 1.7))  # busy, not saturated
        assert model.torch_threads() == 2
        monkeypatch.setattr(model, "_threads", None)
        monkeypatch.setattr(model, "cpu_budget", lambda: (8, 3, 0.2))     # quota wins
        assert model.torch_threads() == 3
        monkeypatch.setattr(model, "_threads", None)
        monkeypatch.setattr(model, "cpu_budget", lambda: (2, None, 5.0))  # overloaded: one
        assert model.torch_threads() == 1
        assert model.torch_threads(3) == 3                               # params train.threads
        monkeypatch.setattr(model, "_threads", None)
        monkeypatch.setenv("CHATLOOP_TORCH_THREADS", "zero")
        with pytest.raises(ValueError, match="CHATLOOP_TORCH_THREADS"):
            model.torch_threads()
    finally:
        torch.set_num_threads(before)


def test_serving_logs_and_records_every_champion_change(registry, tiny_model_dir, caplog):
    from components.model_registry import client
    from serving.model_host import ModelHost
    first = register_version(tiny_model_dir, gate="passed")
    second = register_version(tiny_model_dir, gate="passed")
    client().set_registered_model_alias(MODEL, "champion", first)
    host = ModelHost(f"models:/{MODEL}@champion", poll_seconds=3600)
    with caplog.at_level(logging.INFO, logger="serving.model_host"):
        host.load()
        client().set_registered_model_alias(MODEL, "champion", second)   # as the MLflow UI does
        assert host.check()
    tags = client().get_model_version(MODEL, second).tags
    assert tags["served_after"] == first and tags["served_since"].endswith("Z")
    assert client().get_model_version(MODEL, first).tags["served_after"] == "none"
    moved = [r.getMessage() for r in caplog.records
             if r.name == "serving.model_host" and " moved: " in r.getMessage()]
    assert moved and f"version {first} -> {second} at " in moved[0]
    assert "outside `chatloop promote`" in moved[0]
