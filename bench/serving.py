"""Serving throughput and decision latency, against the notebook's way of classifying.

    python bench/serving.py --model PATH_OR_URI [--seconds 10] [--baseline-messages 40]

PATH_OR_URI is a trained chatloop model directory (e.g. the `model` output of
`chatloop pipeline run`, under .chatloop/kfp/...) or models:/chatloop@champion. To make one:
`chatloop pipeline run` (Gemma 3 270M; `--profile tiny` for the tiny model), then pass its
model directory.

The bot (rules + micro-batched label scoring) replays chat from data/sample/chat.jsonl at
50, 200 and 1,000 msg/s and as fast as possible, as a live source would deliver it (no
backpressure: overload drops are counted). Latency is arrival -> decision per message.
`steal` is the share of CPU time the hypervisor took during a run (a VM's noise; figures
from runs with a high steal are not comparable; `n/a` for a run shorter than the kernel's
tick counters resolve).
The baseline is a transformers `text-generation` pipeline called once per message with
sampling and max_new_tokens=256 on the same merged model, in the same run. Prints figures;
asserts nothing.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components import jsonl  # noqa: E402


def sample_texts(n: int) -> list[str]:
    rows = [row["text"] for row in jsonl.load(ROOT / "data/sample/chat.jsonl")]
    return [rows[i % len(rows)] for i in range(n)]


def cpu_times() -> tuple[int, int] | None:
    """(steal, all) CPU ticks since boot from /proc/stat (Linux), else None. Steal is time
    the hypervisor gave this machine's CPUs to someone else: noise in every figure."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return (fields[7] if len(fields) > 7 else 0), sum(fields)


def steal_share(before, after) -> float | None:
    if before is None or after is None or after[1] == before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def matmul_gflops(dtype_name: str = "bfloat16", seconds: float = 1.0) -> float:
    """This machine's speed now: GFLOP/s of 512 x 640 x 2048 matmuls (the MLP shapes of
    Gemma 3 270M on a batch of short messages), so runs at different times can be compared."""
    import torch
    dtype = getattr(torch, dtype_name)
    a, b = torch.randn(512, 640, dtype=dtype), torch.randn(640, 2048, dtype=dtype)
    a @ b
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        done += 1
    return done * 2 * 512 * 640 * 2048 / (time.perf_counter() - start) / 1e9


def run_bot(host, params, texts: list[str], rate: float | None) -> dict:
    """Replay `texts` at `rate` msg/s (None: full speed) through the bot; figures."""
    from serving.actions import Actions
    from serving.answers import Answerer
    from serving.bot import Bot
    from serving.decisions import DecisionLog
    from serving.sources.replay import ReplaySource

    with tempfile.TemporaryDirectory() as tmp:
        chat, out = Path(tmp) / "chat.jsonl", Path(tmp) / "out.jsonl"
        jsonl.write_atomic(chat, ({"text": t, "user_id": f"u{i % 50}"} for i, t in enumerate(texts)))
        source = ReplaySource(chat, rate=rate)
        bot = Bot(source, host, params, answerer=Answerer(params["answer"]), actions=Actions(),
                  decisions=DecisionLog(url="", out_path=out, spool_path=Path(tmp) / "spool"),
                  wait_when_full=rate is None)
        start, ticks = time.perf_counter(), cpu_times()
        asyncio.run(bot.run())
        wall = time.perf_counter() - start
        records = jsonl.load(out)
    latency = [row["latency_ms"] for row in records]
    return {"messages": len(latency), "wall_s": wall, "msgs_per_s": len(latency) / wall,
            "p50_ms": float(np.percentile(latency, 50)), "p99_ms": float(np.percentile(latency, 99)),
            "dropped": sum(bot.batcher.drops.values()), "steal": steal_share(ticks, cpu_times()),
            "late": sum(row.get("decided_by") == "late" for row in records)}


def run_baseline(model, texts: list[str]) -> dict:
    """The notebook way: one text-generation call per message, sampling, 256 new tokens.
    Blocking: call it on the model's thread (host.worker.call), as the bot runs the model."""
    from transformers import pipeline

    from components.labels import LABELS, classify_messages, render_prompt
    pipe = pipeline("text-generation", model=model.model, tokenizer=model.tokenizer, device=model.device)
    latency, labels = [], []
    start, ticks = time.perf_counter(), cpu_times()
    for text in texts:
        t0 = time.perf_counter()
        out = pipe(render_prompt(model.tokenizer, classify_messages(text)), do_sample=True,
                   max_new_tokens=256, return_full_text=False)[0]["generated_text"]
        latency.append((time.perf_counter() - t0) * 1000)
        found = re.search("|".join(LABELS), out)
        labels.append(found.group() if found else "?")
    wall = time.perf_counter() - start
    return {"messages": len(texts), "wall_s": wall, "msgs_per_s": len(texts) / wall,
            "p50_ms": float(np.percentile(latency, 50)), "p99_ms": float(np.percentile(latency, 99)),
            "dropped": 0, "late": 0, "steal": steal_share(ticks, cpu_times())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="chatloop model dir or models:/ URI")
    parser.add_argument("--seconds", type=float, default=10, help="replay length per paced rate")
    parser.add_argument("--full-messages", type=int, default=3000)
    parser.add_argument("--rates", default="50,200,1000")
    parser.add_argument("--baseline-messages", type=int, default=40)
    parser.add_argument("--device")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="params override, e.g. serving.answer.per_minute=0 (no model "
                             "answers: classification alone)")
    args = parser.parse_args(argv)

    import torch
    if args.threads:
        torch.set_num_threads(args.threads)

    from components.config import load_params
    from serving.model_host import ModelHost

    params = load_params(overrides=args.set)["serving"]
    host = ModelHost(args.model, poll_seconds=3600, device=args.device)
    host.load()
    model, version = host.current()
    print(f"model {host.name} version {version} on {model.device}; torch threads "
          f"{torch.get_num_threads()}; cpus {os.cpu_count()}; batch_size {params['batch_size']} "
          f"batch_ms {params['batch_ms']}")
    print(f"machine now: {host.worker.call(matmul_gflops, str(model.model.dtype).split('.')[-1]):.0f} "
          f"GFLOP/s in {model.model.dtype} matmuls on the model thread")
    run_bot(host, params, sample_texts(64), None)  # warm-up
    rows = []
    for rate in [float(r) for r in args.rates.split(",")]:
        rows.append((f"bot @ {rate:g} msg/s", run_bot(host, params,
                                                      sample_texts(int(rate * args.seconds)), rate)))
    before = dict(model.counts)
    rows.append(("bot @ full speed", run_bot(host, params, sample_texts(args.full_messages), None)))
    lm, screened = (model.counts[k] - before[k] for k in ("lm", "screen"))
    print(f"at full speed the LM scored {lm} messages, the screen alone decided {screened}")
    rows.append(("baseline text-generation",
                 host.worker.call(run_baseline, model, sample_texts(args.baseline_messages))))
    print(f"{'run':<28}{'msgs':>7}{'msgs/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'dropped':>9}"
          f"{'late':>6}{'steal':>7}")
    for name, r in rows:
        steal = "n/a" if r["steal"] is None else f"{r['steal']:.0%}"
        print(f"{name:<28}{r['messages']:>7}{r['msgs_per_s']:>10.1f}{r['p50_ms']:>10.1f}"
              f"{r['p99_ms']:>10.1f}{r['dropped']:>9}{r['late']:>6}{steal:>7}")
    print("late: live messages the screen decided because the LM had not begun them within "
          f"serving.deadline_ms ({params['deadline_ms']:g} ms; full speed is a replay: never late)")
    full, base = rows[-2][1], rows[-1][1]
    print(f"full-speed throughput vs baseline: {full['msgs_per_s'] / base['msgs_per_s']:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
