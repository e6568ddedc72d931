"""Wall time of `chatloop pipeline run`, per step and in total.

    python bench/pipeline.py [--malloc] [-- extra `chatloop pipeline run` args, e.g. --profile tiny]

Runs the real command (kfp.local, params.yaml as is: real chat on Gemma 3 270M after
`chatloop data import`; `-- --profile tiny` for the one-minute sample run) in a temporary
CHATLOOP_HOME with its own MLflow SQLite store (the offline base is prepared there first
when CHATLOOP_BASES is unset), so the project's .chatloop/ is untouched. Each step is timed from outside, by the moment its "Executing task" and
"finished with status" lines arrive; the rest of the total is start-up and summary. The
CPU-seconds of all its processes are reported too: on a shared machine they vary less than
wall time (though torch's spinning threads inflate them under oversubscription).
--malloc sets MALLOC_MMAP_MAX_/MALLOC_TRIM_THRESHOLD_ for the run (as bench/sft.py's "ours");
--threads N sets OMP_NUM_THREADS (torch's threads) for every step.
Reports the load average next to the figures (the machine may be shared). Prints; asserts
nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.sft import MALLOC  # noqa: E402
from pipelines.local_run import ANSI, FINISHED, STARTED  # noqa: E402


def run_pipeline(extra: list[str], env: dict, echo: bool) -> dict:
    """Run `chatloop pipeline run` with `extra` args; exit code, total and per-step seconds."""
    command = [str(Path(sys.executable).parent / "chatloop"), "pipeline", "run", *extra]
    steps: dict[str, dict] = {}
    tail: list[str] = []
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1)
    for line in proc.stdout:
        now, line = time.perf_counter() - started, ANSI.sub("", line.rstrip("\n"))
        if echo:
            print("    | " + line, flush=True)
        if match := STARTED.search(line):
            steps[match[1]] = {"start": now, "load": os.getloadavg()[0]}
        elif (match := FINISHED.search(line)) and match[1] in steps:
            steps[match[1]].update(status=match[2], seconds=now - steps[match[1]]["start"])
        tail = (tail + [line])[-8:]
    code = proc.wait()
    total = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"exit_code": code, "total_s": total, "steps": steps, "tail": tail,
            "outside_steps_s": total - sum(s.get("seconds", 0) for s in steps.values()),
            "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--malloc", action="store_true", help="tuned glibc malloc for the run")
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS for the run (torch threads)")
    parser.add_argument("--echo", action="store_true", help="print the run's output as it comes")
    parser.add_argument("extra", nargs="*", help="args passed on to `chatloop pipeline run`")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="chatloop-bench-pipeline-") as home:
        env = {k: v for k, v in os.environ.items()
               if k not in MALLOC and k != "MLFLOW_TRACKING_URI"}
        env.update(CHATLOOP_HOME=home, **(MALLOC if args.malloc else {}))
        if args.threads:
            env["OMP_NUM_THREADS"] = str(args.threads)
        before = os.getloadavg()
        print(f"bench/pipeline: {os.cpu_count()} cpus, load {before[0]:.2f}; "
              f"chatloop pipeline run {' '.join(args.extra)}"
              f"{' (tuned malloc)' if args.malloc else ''}"
              f"{f' (OMP_NUM_THREADS={args.threads})' if args.threads else ''}; "
              f"CHATLOOP_HOME={home}", flush=True)
        r = run_pipeline(args.extra, env, args.echo)
    after = os.getloadavg()
    for name, s in r["steps"].items():
        print(f"  {name:9s} {s.get('seconds', float('nan')):7.1f} s  {s.get('status', 'RUNNING')}"
              f"  (load {s['load']:.2f} at start)")
    print(f"  {'(outside)':9s} {r['outside_steps_s']:7.1f} s  start-up, kfp.local, summary")
    print(f"  {'total':9s} {r['total_s']:7.1f} s  = {r['total_s'] / 60:.1f} min (goal <= 5 min), "
          f"exit {r['exit_code']}, {r['cpu_s']:.0f} CPU-s, peak RSS of the largest process {r['peak_rss_mb']:.0f} MB, "
          f"load {before[0]:.2f} -> {after[0]:.2f}")
    for line in r["tail"]:
        if line.strip().startswith(("model:", "gate:", "chatloop: error")):
            print("  " + line.strip())
    print(json.dumps({"load_before": before, "load_after": after,
                      **{k: v for k, v in r.items() if k != "tail"}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
