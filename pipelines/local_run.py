"""Run the real pipeline on this machine through `kfp.local` (SubprocessRunner).

Each step runs as `python -m kfp.dsl.executor_main` with this venv's python, so the steps
share the environment, including `MLFLOW_TRACKING_URI` (set here when missing so every step
logs to the same store). kfp.local streams each step's log between "Executing task" and
"finished with status" lines; this module tees that stream to time the steps and, when one
fails, to print its error in one paragraph instead of a wall of tracebacks.

Quiet by default: a line per step start and end (plus any WARNING/ERROR line), the whole
stream going to a log file under the workdir (`logs/`); `verbose` also prints it. At the
end: the gate, the model's figures beside the TF-IDF baseline's (test split and golden
set), and the pipeline's wall time, also logged on the MLflow run (`pipeline_seconds`,
`pipeline_step_seconds_<step>`) whose own duration covers only the register step.
"""
from __future__ import annotations

import contextlib
import io
import logging
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


# Printed even when quiet: errors, our own warnings and "chatloop: ..." lines.
SHOWN = re.compile(r"\b(ERROR|CRITICAL)\b|^\s*chatloop: "
                   r"|\bWARNING\b.*\b(components|pipelines|serving|feedback|chatloop)\.")


def _kfp_info(record: logging.LogRecord) -> bool:
    """False for kfp's INFO records (e.g. "Cleaned up workspace" at exit)."""
    return record.levelno >= logging.WARNING or f"{os.sep}kfp{os.sep}" not in record.pathname


class StepLog(io.TextIOBase):
    """A stdout tee that records step starts, ends and the current step's output lines;
    everything goes to `logfile`, the stream gets it all when `verbose`, else a line per
    step start and end and the lines that match SHOWN."""

    def __init__(self, stream, verbose: bool = True, logfile=None):
        self.stream, self.partial = stream, ""
        self.verbose, self.logfile = verbose, logfile
        self.color = hasattr(stream, "isatty") and stream.isatty()
        self.steps: dict[str, dict] = {}
        self.current: str | None = None
        self.lines: list[str] = []

    def write(self, text: str) -> int:
        if self.verbose:
            self.stream.write(text if self.color else ANSI.sub("", text))
        if self.logfile:
            self.logfile.write(ANSI.sub("", text))
        self.partial += text
        *done, self.partial = self.partial.split("\n")
        for line in done:
            self._line(ANSI.sub("", line))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()
        if self.logfile:
            self.logfile.flush()

    def _say(self, line: str) -> None:
        if not self.verbose:
            self.stream.write(line + "\n")
            self.stream.flush()

    def _line(self, line: str) -> None:
        if match := STARTED.search(line):
            self.current, self.lines = match[1], []
            self.steps[self.current] = {"status": "RUNNING", "start": time.monotonic()}
            self._say(f"chatloop: step {self.current} ...")
        elif (match := FINISHED.search(line)) and match[1] in self.steps:
            step = self.steps[match[1]]
            step.update(status=match[2], seconds=time.monotonic() - step["start"])
            self._say(f"chatloop: step {match[1]} {match[2].lower()} ({step['seconds']:.0f} s)")
        elif self.current:
            self.lines.append(line)
            if SHOWN.search(line):
                self._say(line.strip())

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


def _figures(client, run_id: str) -> list[str]:
    """The model's and the TF-IDF baseline's macro-F1 side by side, test split and golden set."""
    metrics = client.get_run(run_id).data.metrics
    rows = [("test split", "macro_f1"), ("golden set", "golden_macro_f1")]
    rows += [(f"  golden {key.rsplit('_source_', 1)[1]}", key) for key in sorted(metrics)
             if key.startswith("golden_macro_f1_source_")]
    lines = [f"  {'macro-F1':<22} {'model':>7} {'TF-IDF':>7}"]
    for label, key in rows:
        model, base = metrics.get(key), metrics.get(f"baseline_{key}")
        if model is None or base is None:
            continue
        ahead = ("  TF-IDF ahead" if base > model else "")
        lines.append(f"  {label:<22} {model:>7.4f} {base:>7.4f}{ahead}")
    return lines if len(lines) > 1 else []


def _record_wall_time(uri: str, run_id: str, seconds: float, log: StepLog) -> list[str]:
    """Log the pipeline's wall time (and each step's) on the MLflow run; the figures lines."""
    import mlflow
    client = mlflow.MlflowClient(uri)
    client.log_metric(run_id, "pipeline_seconds", round(seconds, 1))
    for name, step in log.steps.items():
        if "seconds" in step:
            client.log_metric(run_id, f"pipeline_step_seconds_{name}", round(step["seconds"], 1))
    return _figures(client, run_id)


def run_local(params: dict, data: str | None = None, rev: str | None = None,
              workdir: str | None = None, repo: str | None = None, verbose: bool = True) -> int:
    """Run ingest -> validate -> train -> evaluate -> register; 0 when every step passed.
    Not `verbose`: a line per step, the full output in a log file (see the module doc)."""
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

    logs = root / "logs"
    logs.mkdir(exist_ok=True)
    logpath = logs / f"chatloop-train-{time.strftime('%Y%m%d-%H%M%S')}.log"
    logfile = open(logpath, "w", encoding="utf-8")
    log, started = StepLog(sys.stdout, verbose=verbose, logfile=logfile), time.time()
    print(f"chatloop: running the pipeline locally; artifacts under {root}, MLflow at {uri}\n"
          f"chatloop: full log in {logpath}" + ("" if verbose else " (-v prints it here)"),
          flush=True)
    # A previous run in this process may have left the exit-noise filter on: kfp's step
    # lines are INFO records, and StepLog needs them.
    logging.getLogger().removeFilter(_kfp_info)
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
              f"{where}\n  The steps after it did not run ({_summary(log)}).\n"
              f"  Full log: {logpath}", file=sys.stderr)
        return 1
    finally:
        logfile.close()
        # kfp logs its step lines through the root logger (StepLog reads them); afterwards
        # its INFO records (the workspace clean-up at exit) are noise unless verbose.
        if not verbose and _kfp_info not in logging.getLogger().filters:
            logging.getLogger().addFilter(_kfp_info)
        if saved_uri is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = saved_uri

    result = from_struct(result)  # register's dict came through a protobuf Struct
    reasons = result.get("reasons") or "-"
    reasons = reasons if isinstance(reasons, str) else "; ".join(map(str, reasons))
    wall = time.time() - started
    try:
        figures = _record_wall_time(result.get("tracking_uri") or uri, result["run_id"], wall, log)
    except Exception as exc:  # noqa: BLE001 - the run is registered; a missing extra is a note
        figures = [f"  (figures and wall time not recorded on the MLflow run: {exc})"]
    print(f"\nchatloop: pipeline finished in {wall:.0f} s: " + _summary(log))
    print(f"  model:     {result.get('model_name')} version {result.get('version')} "
          f"(MLflow run {result.get('run_id')})")
    print(f"  gate:      {result.get('gate')} ({reasons})")
    print("\n".join(figures))
    print(f"  artifacts: {_run_dir(root, started) or root}")
    print(f"  MLflow UI: mlflow ui --backend-store-uri {result.get('tracking_uri') or uri}")
    if result.get("gate") == "passed":
        print(f"  promote:   chatloop promote --version {result.get('version')}"
              "   (after a look in the MLflow UI)")
    return 0
