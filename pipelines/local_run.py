"""Run the real pipeline on this machine through `kfp.local` (SubprocessRunner).

Each step runs as `python -m kfp.dsl.executor_main` with this venv's python, so the steps
share the environment, including `MLFLOW_TRACKING_URI` (set here when missing so every step
logs to the same store). kfp.local streams each step's log between "Executing task" and
"finished with status" lines; this module tees that stream to time the steps and, when one
fails, to print its error in one paragraph instead of a wall of tracebacks.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import time
import warnings
from pathlib import Path

from pipelines.params import from_struct, to_struct

ANSI = re.compile(r"\x1b\[[0-9;]*m")
STARTED = re.compile(r"Executing task '([\w-]+)'")
FINISHED = re.compile(r"Task '([\w-]+)' finished with status (\w+)")


class StepLog(io.TextIOBase):
    """A stdout tee that records step starts, ends and the current step's output lines."""

    def __init__(self, stream):
        self.stream, self.partial = stream, ""
        self.color = hasattr(stream, "isatty") and stream.isatty()
        self.steps: dict[str, dict] = {}
        self.current: str | None = None
        self.lines: list[str] = []

    def write(self, text: str) -> int:
        self.stream.write(text if self.color else ANSI.sub("", text))
        self.partial += text
        *done, self.partial = self.partial.split("\n")
        for line in done:
            self._line(ANSI.sub("", line))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def _line(self, line: str) -> None:
        if match := STARTED.search(line):
            self.current, self.lines = match[1], []
            self.steps[self.current] = {"status": "RUNNING", "start": time.monotonic()}
        elif (match := FINISHED.search(line)) and match[1] in self.steps:
            step = self.steps[match[1]]
            step.update(status=match[2], seconds=time.monotonic() - step["start"])
        elif self.current:
            self.lines.append(line)

    def error(self) -> str:
        """The failed step's exception (`Type: message`) or else its last output lines."""
        lines = [line.rstrip() for line in self.lines]
        starts = [i for i, line in enumerate(lines) if line.strip().startswith("Traceback (")]
        if not starts:
            return " ".join(line.strip() for line in lines if line.strip())[-600:] or "no output"
        indent = len(lines[starts[-1]]) - len(lines[starts[-1]].lstrip())
        message: list[str] = []
        for line in lines[starts[-1] + 1:]:
            if message and not line.strip():
                break
            if line.strip() and (message or len(line) - len(line.lstrip()) == indent):
                message.append(line.strip())
        # components.validate.ValidationFailed: ... -> ValidationFailed: ...
        message[:1] = [re.sub(r"^[\w.]+\.(\w+): ", r"\1: ", line) for line in message[:1]]
        return "\n    ".join(message) or "no error message"


def _run_dir(root: Path, since: float) -> Path | None:
    """The folder kfp.local made for this run (chatloop-train-<timestamp>)."""
    runs = [p for p in root.glob("chatloop-train-*") if p.stat().st_mtime >= since - 1]
    return max(runs, key=lambda p: p.stat().st_mtime) if runs else None


def _summary(log: StepLog) -> str:
    return ", ".join(f"{name} {s['status'].lower()}"
                     + (f" {s['seconds']:.0f}s" if "seconds" in s else "")
                     for name, s in log.steps.items())


def run_local(params: dict, data: str | None = None, rev: str | None = None,
              workdir: str | None = None, repo: str | None = None) -> int:
    """Run ingest -> validate -> train -> evaluate -> register; 0 when every step passed."""
    from kfp import local

    from components.config import state_dir, tracking_uri
    from pipelines.pipeline import build_pipeline

    to_struct(params)
    if data and not rev and Path(data).exists():
        data = str(Path(data).resolve())  # relative to where the command runs
    if repo and Path(repo).exists():
        repo = str(Path(repo).resolve())
    root = Path(workdir).resolve() if workdir else state_dir() / "kfp"
    root.mkdir(parents=True, exist_ok=True)
    uri = tracking_uri()
    saved_uri = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri  # the step subprocesses inherit it
    # glibc malloc tuning for the step processes: CPU training is ~1.5x faster without
    # mmap/trim churn (measured); harmless elsewhere.
    os.environ.setdefault("MALLOC_MMAP_MAX_", "0")
    os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", "100000000000")
    # Every step image is ours; locally the steps run in this venv instead, by design.
    warnings.filterwarnings("ignore", message=".*non-Python base image", category=RuntimeWarning)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    pipeline = build_pipeline(params)

    log, started = StepLog(sys.stdout), time.time()
    print(f"chatloop: running the pipeline locally; artifacts under {root}, MLflow at {uri}",
          flush=True)
    try:
        with contextlib.redirect_stdout(log):
            result = pipeline(params=params, data=data or "", rev=rev or "",
                              repo=repo or "").output
    except RuntimeError as exc:
        if "finished with status" not in str(exc):
            raise
        step = log.current or "?"
        run_dir = _run_dir(root, started)
        where = f"\n  Its inputs and outputs are in {run_dir / step}" \
            if run_dir else ""
        print(f"\nchatloop: error: the pipeline stopped at step '{step}':\n  {log.error()}"
              f"{where}\n  The steps after it did not run ({_summary(log)}).", file=sys.stderr)
        return 1
    finally:
        if saved_uri is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = saved_uri

    result = from_struct(result)  # register's dict came through a protobuf Struct
    reasons = result.get("reasons") or "-"
    reasons = reasons if isinstance(reasons, str) else "; ".join(map(str, reasons))
    print("\nchatloop: pipeline finished: " + _summary(log))
    print(f"  model:     {result.get('model_name')} version {result.get('version')} "
          f"(MLflow run {result.get('run_id')})")
    print(f"  gate:      {result.get('gate')} ({reasons})")
    print(f"  artifacts: {_run_dir(root, started) or root}")
    print(f"  MLflow UI: mlflow ui --backend-store-uri {result.get('tracking_uri') or uri}")
    if result.get("gate") == "passed":
        print(f"  promote:   chatloop promote --version {result.get('version')}"
              "   (after a look in the MLflow UI)")
    return 0
