"""Export corrections to the DVC-tracked feedback folder, exactly once, and trigger a run.

An export is a small state machine recorded in the store's `exports` table:

    claimed (status "pending": the corrections carry its id; one transaction)
      -> "written"  data/feedback/corrections-<UTC time>.jsonl written atomically
      -> "added"    `dvc add data/feedback`
      -> "pushed"   `dvc push` to the configured remote (skipped with push=False)
      -> "done"     the .dvc pointer committed to git (the commit id is recorded)

Every step is safe to repeat, so after a crash anywhere a re-run finishes the unfinished
export first (same file, same corrections; rewritten from the store if this checkout
lacks it) and only then claims new corrections: each correction lands in exactly one file
and one commit. With git_push the commit is pushed before the export counts as done.
"""
from __future__ import annotations

import fcntl
import logging
import os
import shlex
import subprocess
import sys
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from chatloop.errors import ChatloopError
from components import dvc, jsonl
from feedback.store import Store

log = logging.getLogger(__name__)
FOLDER = "data/feedback"
STEPS = ("claimed", "written", "added", "pushed", "committed")
ORDER = {"pending": 0, "written": 1, "added": 2, "pushed": 3, "done": 4}
GIT_IDENTITY = ("-c", "user.name=chatloop feedback", "-c", "user.email=feedback@chatloop.invalid")


class ExportError(ChatloopError):
    """A DVC or git step failed; the message holds the command and its output."""


def _checkpoint(step: str) -> None:
    """Called right after each of STEPS; does nothing. The exactly-once tests
    replace it to crash there."""


def _dvc(repo: Path, *args: str) -> str:
    try:
        return dvc.run(repo, *args)
    except dvc.DvcError as exc:
        raise ExportError(str(exc)) from None


def run(cmd: list[str], repo: Path) -> str:
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ExportError(f"`{' '.join(cmd)}` failed in {repo} (exit {proc.returncode}):\n"
                          f"{(proc.stdout + proc.stderr).strip()[-2000:]}")
    return proc.stdout


def find_repo(start: str | os.PathLike = ".") -> Path:
    """The git top-level folder containing `start`."""
    return Path(run(["git", "rev-parse", "--show-toplevel"], Path(start).resolve()).strip())


@contextmanager
def _export_lock(repo: Path) -> Iterator[None]:
    """One exporter per checkout at a time (a second one waits)."""
    lock_dir = repo / ".dvc" / "tmp"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / "chatloop-feedback-export.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def export(store: Store | None = None, repo: str | os.PathLike | None = None, *,
           folder: str = FOLDER, push: bool = True, git_push: bool = False) -> list[dict]:
    """Finish any interrupted export, then export the corrections not yet exported.

    `repo` is the project checkout (git + DVC; default: the one around the current
    folder). `push` runs `dvc push`; `git_push` also pushes the commit to `origin` before
    the export counts as done (for a throw-away clone, e.g. a Kubernetes CronJob).
    Returns the exports finished by this call (empty: nothing to export).
    """
    store = store or Store()
    repo = find_repo(repo or ".")
    finished = []
    with _export_lock(repo):
        _sync_folder(repo, folder)
        for row in store.exports(unfinished=True):
            log.info("resuming export %s (%s, status %s)", row["id"], row["file"], row["status"])
            finished.append(_finish(store, repo, folder, row, push, git_push))
        name = datetime.now(timezone.utc).strftime("corrections-%Y%m%dT%H%M%S%fZ.jsonl")
        row = store.open_export(f"{folder}/{name}")
        if row is not None:
            _checkpoint("claimed")
            finished.append(_finish(store, repo, folder, row, push, git_push))
    return finished


def _sync_folder(repo: Path, folder: str) -> None:
    """In a fresh clone the tracked folder is absent: fetch it first, or the next
    `dvc add` would record a folder holding only the new file."""
    if (repo / f"{folder}.dvc").exists() and not (repo / folder).exists():
        _dvc(repo, "pull", f"{folder}.dvc")


def _finish(store: Store, repo: Path, folder: str, row: dict, push: bool,
            git_push: bool) -> dict:
    """Run the export's steps from where it stopped. Steps already done are repeated
    when their result is not in this checkout (e.g. a fresh clone after a crash)."""
    export_id, stage = row["id"], ORDER[row["status"]]
    path = repo / row["file"]
    if stage < ORDER["written"] or not path.exists():
        _write_file(path, store.export_rows(export_id))
        stage = max(stage, ORDER["written"])
        store.set_export(export_id, status="written")
        _checkpoint("written")
    _dvc(repo, "add", folder)
    if stage < ORDER["added"]:
        stage = ORDER["added"]
        store.set_export(export_id, status="added")
    _checkpoint("added")
    if push:
        _dvc(repo, "push", f"{folder}.dvc")
        if stage < ORDER["pushed"]:
            store.set_export(export_id, status="pushed")
        _checkpoint("pushed")
    commit = _commit(repo, folder, row)
    _checkpoint("committed")
    if git_push:
        run(["git", "push", "origin", "HEAD"], repo)
    store.set_export(export_id, status="done", git_commit=commit)
    return dict(row, status="done", git_commit=commit)


def feedback_rows(rows: list[dict]) -> list[dict]:
    """The training rows for the data folder (ingest reads text and label)."""
    return [{"text": r["text"], "label": r["label"], "source": "feedback",
             "decision_id": r["decision_id"], "model_version": r.get("model_version"),
             "moderator": r["moderator"], "time": r["created_at"], "correction_id": r["id"]}
            for r in rows]


def _write_file(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    jsonl.write_atomic(path, feedback_rows(rows))


def _commit(repo: Path, folder: str, row: dict) -> str:
    """Commit the .dvc pointer (and DVC's .gitignore) alone; no-op if already committed."""
    parent = str(Path(folder).parent)
    paths = [f"{folder}.dvc"] + [p for p in (f"{parent}/.gitignore",) if (repo / p).exists()]
    run(["git", "add", "--"] + paths, repo)
    staged = subprocess.run(["git", "diff", "--cached", "--quiet", "--"] + paths, cwd=repo)
    if staged.returncode != 0:
        labels = Counter(r["label"] for r in _file_rows(repo / row["file"]))
        summary = ", ".join(f"{k} {v}" for k, v in sorted(labels.items()))
        message = (f"feedback: export {sum(labels.values())} corrections ({summary})\n\n"
                   f"{row['file']} (export {row['id']})")
        identity = [] if _has_identity(repo) else list(GIT_IDENTITY)
        run(["git", *identity, "commit", "-q", "-m", message, "--"] + paths, repo)
    return run(["git", "log", "-1", "--format=%H", "--", f"{folder}.dvc"], repo).strip()


def _file_rows(path: Path) -> list[dict]:
    try:
        return jsonl.load(path)
    except jsonl.JsonlError as exc:
        raise ExportError(str(exc)) from None


def _has_identity(repo: Path) -> bool:
    probe = subprocess.run(["git", "config", "user.email"], cwd=repo, capture_output=True)
    return probe.returncode == 0 and bool(probe.stdout.strip())


# ------------------------------------------------------------------------ trigger
def maybe_trigger(store: Store, repo: str | os.PathLike, settings: dict, params: dict | None = None,
                  *, wait: bool = False) -> dict | None:
    """Start the next pipeline run when exported-but-untrained corrections reach
    `settings["export_threshold"]` (params.yaml `feedback:`, as load_params validated it; a
    missing key is an ExportError, not a default). `settings["trigger"]` is `local` (run
    `local_command` in `repo`), `kfp` (submit to KFP_HOST) or `none`.

    Returns what was started, or None. The exports are marked only after the start
    succeeded, so a crash in between can start a second run but never loses one.
    """
    missing = [key for key in ("trigger", "export_threshold") if key not in settings]
    mode = settings.get("trigger")
    missing += [key for key in {"local": ["local_command"], "kfp": ["kfp_host", "kfp_experiment"]}
                .get(mode, []) if key not in settings]
    if missing:
        raise ExportError("params feedback lacks " + ", ".join(missing) +
                          " (pass load_params()['feedback'])")
    ids, count = store.untriggered()
    if mode == "none" or not ids or count < int(settings["export_threshold"]):
        return None
    if mode == "local":
        started = _start_local(Path(repo), settings["local_command"], wait)
    elif mode == "kfp":
        from components.settings import Env
        from pipelines.submit import submit
        host = Env.read("kfp_host") or settings["kfp_host"]
        if not host:
            raise ExportError("feedback.trigger is kfp but neither KFP_HOST nor "
                              "feedback.kfp_host is set")
        started = {"mode": "kfp", "run_id": submit(params or {}, host=host,
                                                   experiment=settings["kfp_experiment"])}
    else:
        raise ExportError(f"feedback.trigger must be local, kfp or none, not {mode!r}")
    store.mark_triggered(ids)
    return dict(started, corrections=count, exports=ids)


def _start_local(repo: Path, command: str, wait: bool) -> dict:
    from components.config import state_dir
    argv = shlex.split(command)
    if argv and argv[0] == "chatloop":
        argv = [sys.executable, "-m", "chatloop.cli"] + argv[1:]
    logfile = state_dir() / f"pipeline-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.log"
    with open(logfile, "ab") as out:
        proc = subprocess.Popen(argv, cwd=repo, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=not wait)
    info = {"mode": "local", "pid": proc.pid, "log": str(logfile), "command": argv}
    if wait:
        info["returncode"] = proc.wait()
    return info
