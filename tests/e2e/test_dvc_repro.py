"""`dvc repro` on a fresh clone: the DAG is connected (corrections included), the stages
run with a profile, the DVC remote follows CHATLOOP_HOME.

Each test clones the project into a temporary folder and lays this working tree's tracked
files over it (what a clone of the next commit holds), then runs the real `dvc` there.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.config import ROOT

BIN = Path(sys.executable).parent
STAGES = ["ingest", "validate", "train", "evaluate", "register"]


def run(cmd: list[str], cwd: Path, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}:\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@pytest.fixture
def clone(tmp_path) -> tuple[Path, dict]:
    """(a fresh clone with this working tree's tracked files, env with CHATLOOP_HOME in tmp)."""
    dest = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(dest)], check=True)
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True).stdout.decode().split("\0")
    for rel in filter(None, tracked):
        src, dst = ROOT / rel, dest / rel
        if src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
        elif dst.exists():
            dst.unlink()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "CHATLOOP_HOME": str(tmp_path / "home")}
    env.pop("MLFLOW_TRACKING_URI", None)
    run(["git", "config", "user.email", "test@example.com"], dest, env)
    run(["git", "config", "user.name", "test"], dest, env)
    return dest, env


def add_feedback(repo: Path, env: dict, text: str) -> None:
    folder = repo / "data" / "feedback"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corrections-1.jsonl").write_text(
        f'{{"text": "{text}", "label": "spam", "source": "feedback"}}\n', encoding="utf-8")
    run([str(BIN / "dvc"), "add", "-q", "data/feedback"], repo, env)


def test_dag_connects_imports_and_corrections_to_ingest(clone):
    repo, env = clone
    add_feedback(repo, env, "무료 코인 지급 카톡 abc123")
    dot = run([str(BIN / "dvc"), "dag", "--dot"], repo, env).stdout
    edges = {tuple(part.strip().strip('"') for part in line.strip().rstrip(";").split("->"))
             for line in dot.splitlines() if "->" in line}
    assert ("data/feedback.dvc", "ingest") in edges, dot
    chain = list(zip(STAGES, STAGES[1:]))
    assert set(chain) <= edges, dot


def test_fresh_clone_plans_every_stage_and_missing_data_is_a_clear_error(clone):
    repo, env = clone
    # `dvc repro --dry` before a first run stops at the second stage: DVC hashes the inputs
    # of every stage it would run, and artifacts/data does not exist yet (DVC issue 9021);
    # --force-downstream shows the plan without that hash.
    plan = run([str(BIN / "dvc"), "repro", "--dry", "--force-downstream"], repo, env).stdout
    for stage in STAGES:
        assert f"python -m chatloop.stage {stage} --profile=" in plan, plan
    # The default data (data/raw from `chatloop data import`) is not in a fresh clone.
    proc = run([sys.executable, "-m", "chatloop.stage", "ingest"], repo, env, check=False)
    assert proc.returncode == 2 and "chatloop data import" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_dvc_remote_follows_chatloop_home(clone):
    repo, env = clone
    add_feedback(repo, env, "토토 첫충 이벤트")
    home = Path(env["CHATLOOP_HOME"])
    # The export's CLI path: `chatloop feedback export` points the remote before it pushes;
    # here the same function, then a plain `dvc push` as a user would type it.
    code = ("import sys; from chatloop.stage import follow_home; "
            "print(follow_home(sys.argv[1]))")
    url = run([sys.executable, "-c", code, str(repo)], repo, env).stdout.strip()
    assert url == str(home.resolve() / "dvc-remote")
    run([str(BIN / "dvc"), "push", "-q", "data/feedback.dvc"], repo, env)
    assert any((home / "dvc-remote").rglob("*")), "nothing pushed under CHATLOOP_HOME"
    assert not (repo.parent / ".chatloop").exists()
    # CHATLOOP_HOME unset: the override goes, the committed default is back.
    bare = {k: v for k, v in env.items() if k != "CHATLOOP_HOME"}
    url = run([sys.executable, "-c", code, str(repo)], repo, bare).stdout.strip()
    assert url == str((repo / ".dvc" / "../.chatloop/dvc-remote").resolve())
    shown = run([str(BIN / "dvc"), "remote", "list"], repo, bare).stdout
    assert str(home) not in shown


@pytest.mark.slow
def test_tiny_repro_runs_the_whole_loop_and_corrections_rerun_it(clone):
    repo, env = clone
    spec = yaml.safe_load((repo / "dvc.yaml").read_text())
    spec["vars"] = [{"profile": "tiny"}]
    (repo / "dvc.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["profiles"]["tiny"]["train"]["epochs"] = 1      # time: the loop, not the model
    params["evaluate"].update(answer_samples=4, max_new_tokens=8)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False))

    out = run([str(BIN / "dvc"), "repro"], repo, env)
    for stage in STAGES:
        assert f"Running stage '{stage}'" in out.stdout, out.stdout[-3000:]
    assert (repo / "artifacts/eval/metrics.json").exists()
    assert (Path(env["CHATLOOP_HOME"]) / "mlflow.db").exists()
    # Under dvc repro the remote follows CHATLOOP_HOME too.
    assert str(Path(env["CHATLOOP_HOME"]).resolve()) in (repo / ".dvc/config.local").read_text()

    # Now every input exists: a plain dry run works and only register (always) is due ...
    dry = run([str(BIN / "dvc"), "repro", "--dry"], repo, env).stdout
    assert "Running stage 'ingest'" not in dry and "Running stage 'register'" in dry, dry
    # ... until moderators' exported corrections arrive: ingest and everything after it.
    add_feedback(repo, env, "무료 코인 지급 카톡 abc123")
    dry = run([str(BIN / "dvc"), "repro", "--dry"], repo, env).stdout
    assert "Running stage 'ingest'" in dry, dry
