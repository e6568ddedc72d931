"""Export to a real git + DVC checkout (local-folder remote): exactly once across crashes."""
from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from feedback_helpers import ROOT, dvc, git, make_repo

import feedback.export
from feedback.export import STEPS, export, maybe_trigger
from feedback.store import Store


class InjectedCrash(Exception):
    """A crash injected after one export step (crash_after)."""


@contextmanager
def crash_after(step: str) -> Iterator[None]:
    """The export inside fails right after `step`, as a crash there would."""
    def checkpoint(name: str) -> None:
        if name == step:
            raise InjectedCrash(f"injected crash after step {name!r}")
    with pytest.MonkeyPatch.context() as patch, pytest.raises(InjectedCrash):
        patch.setattr(feedback.export, "_checkpoint", checkpoint)
        yield


def exported(repo: Path) -> list[dict]:
    rows = []
    for path in sorted((repo / "data" / "feedback").glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return rows


def assert_in_sync(repo: Path) -> None:
    """Pointer committed, workspace matching it, nothing left to push (DVC's own status)."""
    from dvc.repo import Repo
    assert git(repo, "status", "--porcelain", "--", "data") == ""
    with Repo(str(repo)) as dvc_repo:
        assert dvc_repo.status(targets=[str(repo / "data" / "feedback.dvc")]) == {}
        assert dvc_repo.status(targets=[str(repo / "data" / "feedback.dvc")], cloud=True) == {}


def add(store: Store, n: int, start: int = 0) -> None:
    ids = store.add_decisions([{"text": f"결정 {i}", "label": "normal", "confidence": 0.4,
                                "platform": "twitch", "message_id": f"m{i}",
                                "model_version": "5"} for i in range(start, start + n)])
    for i, decision_id in zip(range(start, start + n), ids):
        store.add_correction(label=("spam", "toxic")[i % 2], moderator="alice",
                             decision_id=decision_id, idempotency_key=f"k{i}")


def test_export_writes_adds_pushes_and_commits(store, repo):
    add(store, 3)
    store.add_correction(label="question", moderator="bob", text="방송 언제 켜요")
    [done] = export(store, repo)
    assert done["count"] == 4 and done["status"] == "done"
    rows = exported(repo)
    assert [r["label"] for r in rows] == ["spam", "toxic", "spam", "question"]
    assert rows[0] | {"time": None} == {
        "text": "결정 0", "label": "spam", "source": "feedback", "decision_id": 1,
        "model_version": "5", "moderator": "alice", "time": None, "correction_id": 1}
    assert rows[3]["decision_id"] is None and rows[3]["model_version"] is None
    message = git(repo, "log", "-1", "--format=%B")
    assert "export 4 corrections (question 1, spam 2, toxic 1)" in message
    assert git(repo, "log", "-1", "--format=%H") == done["git_commit"] + "\n"
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["data/feedback.dvc"]
    assert_in_sync(repo)

    # Nothing new: no export, no commit.
    assert export(store, repo) == []
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "2"
    # New corrections go to a new file; the old one stays in the tracked folder.
    add(store, 2, start=10)
    [second] = export(store, repo)
    assert second["count"] == 2 and len(list((repo / "data/feedback").glob("*.jsonl"))) == 2
    assert [r["correction_id"] for r in exported(repo)] == [1, 2, 3, 4, 5, 6]
    assert store.stats()["unexported"] == 0
    assert_in_sync(repo)


@pytest.mark.parametrize("step", STEPS)
def test_crash_at_each_step_then_rerun_exports_each_once(store, repo, step):
    add(store, 3)
    with crash_after(step):
        export(store, repo)
    add(store, 2, start=3)          # corrections that arrive while the export is broken
    done = export(store, repo)
    assert [d["count"] for d in done] == [3, 2]       # the interrupted one, then the new one
    ids = Counter(r["correction_id"] for r in exported(repo))
    assert ids == Counter({1: 1, 2: 1, 3: 1, 4: 1, 5: 1})
    commits = git(repo, "log", "--format=%s").splitlines()
    assert [c.split(" (")[0] for c in commits] == [
        "feedback: export 2 corrections", "feedback: export 3 corrections", "init"]
    assert [e["status"] for e in store.exports()] == ["done", "done"]
    assert export(store, repo) == []
    assert_in_sync(repo)


def test_the_environment_cannot_inject_a_crash(store, repo, monkeypatch):
    """Crash points are set by the tests (crash_after), never by a variable in production."""
    monkeypatch.setenv("CHATLOOP_FEEDBACK_CRASH_AT", "claimed")
    add(store, 1)
    [done] = export(store, repo)
    assert done["status"] == "done"


def test_export_in_a_fresh_clone_keeps_earlier_files(store, repo, tmp_path):
    add(store, 2)
    export(store, repo)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    git(clone, "config", "user.email", "test@example.invalid")
    assert not (clone / "data" / "feedback").exists()
    other = Store(f"sqlite:///{tmp_path / 'other.db'}")
    other.add_correction(label="toxic", moderator="carol", text="꺼져")
    export(other, clone)
    assert [r["text"] for r in exported(clone)] == ["결정 0", "결정 1", "꺼져"]
    assert_in_sync(clone)
    other.close()


def test_cli_export_inside_the_checkout(store, repo):
    add(store, 2)
    head = git(repo, "rev-parse", "HEAD")
    proc = subprocess.run([sys.executable, "-m", "chatloop.cli", "feedback", "export",
                           "--db", store.url], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "2 corrections -> data/feedback/corrections-" in proc.stdout
    assert git(repo, "rev-parse", "HEAD~1") == head
    assert_in_sync(repo)
    # A failing push is a clear error with exit 1, and the export finishes on the re-run.
    add(store, 1, start=5)
    dvc(repo, "remote", "modify", "store", "url", "/proc/no-such-remote")
    proc = subprocess.run([sys.executable, "-m", "chatloop.cli", "feedback", "export",
                           "--db", store.url], cwd=repo, capture_output=True, text=True)
    assert proc.returncode == 1 and "`" in proc.stderr and "dvc" in proc.stderr
    assert store.exports(unfinished=True)[0]["status"] == "added"


def test_trigger_starts_a_run_at_the_threshold(store, repo):
    marker = repo / "pipeline-ran.txt"
    command = f"{sys.executable} -c \"open('pipeline-ran.txt', 'a').write('run')\""
    settings = {"trigger": "local", "export_threshold": 3, "local_command": command}
    add(store, 2)
    export(store, repo, push=False)
    assert maybe_trigger(store, repo, settings, wait=True) is None      # 2 < 3
    add(store, 1, start=2)
    export(store, repo, push=False)
    started = maybe_trigger(store, repo, settings, wait=True)
    assert started["corrections"] == 3 and started["returncode"] == 0
    assert marker.read_text() == "run"
    assert maybe_trigger(store, repo, settings, wait=True) is None      # counted once
    add(store, 5, start=3)
    export(store, repo, push=False)
    assert maybe_trigger(store, repo, dict(settings, trigger="none"), wait=True) is None
    assert marker.read_text() == "run"


def test_project_params_configure_the_export():
    from components.config import load_params
    section = load_params(ROOT / "params.yaml")["feedback"]
    assert section["trigger"] in ("local", "kfp", "none")
    assert int(section["export_threshold"]) > 0


def test_crash_in_a_throwaway_clone_resumes_in_the_next(store, repo, tmp_path):
    """A CronJob clones, exports with --git-push, and dies before pushing the commit: the
    next clone redoes the export from the store, so origin gets each correction once."""
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(origin))

    def clone(name: str) -> Path:
        path = tmp_path / name
        git(tmp_path, "clone", "-q", str(origin), str(path))
        git(path, "config", "user.email", "test@example.invalid")
        return path

    add(store, 3)
    with crash_after("committed"):
        export(store, clone("job1"), git_push=True)
    [done] = export(store, clone("job2"), git_push=True)
    assert done["count"] == 3
    final = clone("check")
    dvc(final, "pull", "-q", "data/feedback.dvc")
    assert [r["correction_id"] for r in exported(final)] == [1, 2, 3]
    assert git(final, "log", "--format=%s").count("feedback: export") == 1
    # The project keeps data/feedback out of git (only the pointer), as the fixture repo.
    assert "/data/feedback" in (ROOT / ".gitignore").read_text().split()
