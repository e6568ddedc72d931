"""SFT throughput: our training configuration against the notebook's naive one.

    python bench/sft.py [--seconds 30] [--rounds 2] [--profile gemma] [--gemma-random]

Both variants train the same base (built once, in this run) on the bundled sample
(data/sample through components.ingest into a temp dir), through the real code path:
components.train's examples, LoRA and SFTConfig from params.yaml, trl's SFTTrainer.

  ours   params.yaml `train:` as is: batch_size (16), dynamic padding to the longest in the
         batch, completion-only loss, glibc malloc tuned (MALLOC_MMAP_MAX_=0,
         MALLOC_TRIM_THRESHOLD_=1e11, as tests/conftest.py sets).
  naive  as in the notebook this project grew from: batch 1 (no accumulation), every
         example padded to train.max_length (SFTConfig.pad_to_multiple_of=max_length, so
         the collator pads each batch to exactly max_length), default malloc.

Each variant runs in its own subprocess (so its malloc environment applies) for --seconds
of timed training (at most --max-steps optimizer steps) after --warmup untimed steps,
alternating for --rounds rounds; the best run of each variant is compared (a shared
machine's load only ever slows a run down).
Reported: examples/s, examples per CPU-second (less sensitive to a shared machine's load),
real tokens/s (non-padding), computed tokens/s (padding included), peak RSS, and the load
average next to the figures. Prints; asserts nothing.

--gemma-random replaces the base with a random-init model of google/gemma-2-2b's
architecture (26 layers, hidden 2304, vocab 256000) and the tiny tokenizer, for a GPU
(use with --profile gemma); --gemma-layers N cuts it to N layers for a smoke check.
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

MALLOC = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "100000000000"}

# google/gemma-2-2b's config.json (architecture only; the weights are random here).
GEMMA_2_2B = dict(vocab_size=256000, hidden_size=2304, intermediate_size=9216,
                  num_hidden_layers=26, num_attention_heads=8, num_key_value_heads=4,
                  head_dim=256, max_position_embeddings=8192, sliding_window=4096,
                  query_pre_attn_scalar=256, attn_logit_softcapping=50.0,
                  final_logit_softcapping=30.0, hidden_activation="gelu_pytorch_tanh",
                  tie_word_embeddings=True)


# ------------------------------------------------------------------ worker (one variant)
def gemma_random(tokenizer, layers: int | None, dtype, device: str):
    """A random-init Gemma2 with gemma-2-2b's shapes, created directly on `device`."""
    import torch
    from transformers import Gemma2Config, Gemma2ForCausalLM
    shape = dict(GEMMA_2_2B, num_hidden_layers=layers or GEMMA_2_2B["num_hidden_layers"])
    config = Gemma2Config(**shape, pad_token_id=tokenizer.pad_token_id,
                          bos_token_id=tokenizer.bos_token_id,
                          eos_token_id=tokenizer.convert_tokens_to_ids("<end_of_turn>"))
    with torch.device(device):
        return Gemma2ForCausalLM(config).to(dtype)


class Counter:
    """Wraps the trainer's collator: per batch, its examples, real and computed tokens."""

    def __init__(self, collate):
        self.collate, self.batches = collate, []

    def __call__(self, features):
        batch = self.collate(features)
        mask = batch.get("attention_mask")
        ids = batch["input_ids"]
        real = int(mask.sum()) if mask is not None else int(ids.numel())
        self.batches.append((int(ids.shape[0]), real, int(ids.numel())))
        return batch


def worker(spec: dict) -> dict:
    """Train one variant for spec['seconds'] (timed) after spec['warmup'] steps; figures."""
    import torch
    from datasets import Dataset
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTTrainer

    from components.ingest import ANSWERS_TRAIN, CHAT_FILE
    from components.model import pick_device, text_normalizer
    from components import jsonl
    from components.model import compute_dtype
    from components.train import balance_rows, build_examples, lora_config, sft_config

    params, t = spec["params"], spec["params"]["train"]
    torch.manual_seed(int(t["seed"]))
    device = pick_device()
    bf16 = compute_dtype(device, params["model"]["dtype"]) == torch.bfloat16   # as train does
    dtype = torch.bfloat16 if device == "cuda" and bf16 else torch.float32
    tokenizer = AutoTokenizer.from_pretrained(spec["base"])
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if spec.get("gemma_random"):
        model = gemma_random(tokenizer, spec.get("gemma_layers"), dtype, device)
    else:
        model = AutoModelForCausalLM.from_pretrained(spec["base"], dtype=dtype)
    model = get_peft_model(model, lora_config(params, model))

    data = Path(spec["data"])
    chat = balance_rows(jsonl.load(data / CHAT_FILE), float(t["balance"]), int(t["seed"]))
    examples = build_examples(chat, jsonl.load(data / ANSWERS_TRAIN), float(t["answer_ratio"]),
                              int(t["seed"]), text_normalizer(t["normalize"]))
    ends: list[tuple[float, float]] = []  # (wall, process CPU time) at each step's end
    warm = spec["warmup"]

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            if device == "cuda":
                torch.cuda.synchronize()
            ends.append((time.perf_counter(), time.process_time()))
            if len(ends) > warm and ends[-1][0] - ends[warm - 1][0] >= spec["seconds"]:
                control.should_training_stop = True

    with tempfile.TemporaryDirectory() as tmp:
        args = sft_config(params, tmp, device, bf16)
        args.max_steps, args.disable_tqdm, args.logging_steps = spec["max_steps"], True, 10 ** 6
        if spec["pad_to_max"]:
            args.pad_to_multiple_of = int(t["max_length"])
        trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(examples),
                             processing_class=tokenizer, callbacks=[Clock()])
        trainer.data_collator = counter = Counter(trainer.data_collator)
        trainer.train()

    accum = int(t["grad_accum"])
    timed = counter.batches[warm * accum:len(ends) * accum]
    seconds, cpu = (ends[-1][i] - ends[warm - 1][i] for i in range(2))
    n, real, computed = (sum(b[i] for b in timed) for i in range(3))
    out = {"steps": len(ends) - warm, "examples": n, "seconds": seconds, "cpu_seconds": cpu,
           "examples_per_s": n / seconds, "examples_per_cpu_s": n / cpu,
           "real_tokens_per_s": real / seconds,
           "computed_tokens_per_s": computed / seconds, "padding_share": 1 - real / computed,
           "mean_len": computed / n, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "device": device, "torch_threads": torch.get_num_threads(),
           "trainable_params": model.get_nb_trainable_parameters()[0]}
    if device == "cuda":
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2 ** 20
    return out


# ------------------------------------------------------------------ driver
def run_variant(name: str, spec: dict, env: dict, tmp: Path) -> dict:
    """Run one variant in a child process with `env`; its figures (plus load averages)."""
    spec_file, out_file = tmp / f"{name}.json", tmp / f"{name}.out.json"
    spec_file.write_text(json.dumps(spec))
    before = os.getloadavg()[0]
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--worker", str(spec_file), str(out_file)],
                          env=env, cwd=ROOT, capture_output=True, text=True)
    if proc.returncode:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"{name}: worker failed with exit code {proc.returncode}")
    result = json.loads(out_file.read_text())
    result.update(name=name, wall_s=time.perf_counter() - started,
                  load_before=before, load_after=os.getloadavg()[0])
    return result


def prepare(params: dict, tmp: Path, gemma_random: bool) -> tuple[Path, str]:
    """Ingest the sample into `tmp`/data and build the base once; (data dir, base path or id).

    With `gemma_random` only the tiny base's tokenizer is used (the worker builds the model).
    """
    from components.ingest import ANSWERS_TRAIN, CHAT_FILE, ingest
    from components import jsonl
    from components.train import prepare_base

    d = params["data"]
    data = tmp / "data"
    ingest(["data/sample"], data, test_size=float(d["test_size"]), seed=int(d["seed"]),
           max_answers=int(d["max_answers"]))
    chat, answers = jsonl.load(data / CHAT_FILE), jsonl.load(data / ANSWERS_TRAIN)
    texts = [r["text"] for r in chat] + [r["question"] + " " + r["answer"] for r in answers]
    if gemma_random:
        params = {**params, "model": {**params["model"], "base": "tiny"}}
    base = prepare_base(params, texts, tmp)[0]
    return data, base


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30, help="timed seconds per run")
    parser.add_argument("--rounds", type=int, default=2,
                        help="ours, naive, ours, naive...: the best of each is compared")
    parser.add_argument("--max-steps", type=int, default=2000, help="optimizer steps at most")
    parser.add_argument("--warmup", type=int, default=3, help="untimed first steps")
    parser.add_argument("--profile", help="params.yaml profile, e.g. gemma")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a parameter (repeatable)")
    parser.add_argument("--gemma-random", action="store_true",
                        help="random-init gemma-2-2b architecture as the base (for a GPU)")
    parser.add_argument("--gemma-layers", type=int, help="with --gemma-random: fewer layers")
    parser.add_argument("--threads", type=int,
                        help="torch threads (OMP_NUM_THREADS) for both variants (default: torch's)")
    parser.add_argument("--only", choices=["ours", "naive"], help="run one variant")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = worker(json.loads(Path(args.worker[0]).read_text()))
        Path(args.worker[1]).write_text(json.dumps(result))
        return 0

    from components.config import load_params
    params = load_params(None, args.profile, args.overrides)
    t = params["train"]
    naive_params = json.loads(json.dumps(params))
    naive_params["train"].update(batch_size=1, grad_accum=1)
    base_env = {k: v for k, v in os.environ.items() if k not in MALLOC}
    base_env["TOKENIZERS_PARALLELISM"] = "false"
    if args.threads:
        base_env["OMP_NUM_THREADS"] = str(args.threads)
    variants = {
        "ours": (params, False, {**base_env, **MALLOC}),
        "naive": (naive_params, True, base_env),
    }
    print(f"bench/sft: {os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f}; "
          f"max_length {t['max_length']}, ours batch {t['batch_size']}x{t['grad_accum']}, "
          f"naive batch 1 padded to {t['max_length']}"
          + (f"; base: random gemma-2-2b architecture" if args.gemma_random else ""), flush=True)
    results: dict[str, list[dict]] = {name: [] for name in variants
                                      if not args.only or name == args.only}
    with tempfile.TemporaryDirectory(prefix="chatloop-bench-sft-") as tmp:
        tmp = Path(tmp)
        data, base = prepare(params, tmp, args.gemma_random)
        for round_ in range(1, args.rounds + 1):
            for name in results:
                p, pad, env = variants[name]
                spec = {"params": p, "data": str(data), "base": base, "pad_to_max": pad,
                        "seconds": args.seconds, "max_steps": args.max_steps + args.warmup,
                        "warmup": max(args.warmup, 1),
                        "gemma_random": args.gemma_random, "gemma_layers": args.gemma_layers}
                r = run_variant(f"{name}{round_}", spec, env, tmp)
                results[name].append(r)
                print(f"  {r['name']:6s} {r['examples_per_s']:7.1f} examples/s  "
                      f"{r['real_tokens_per_s']:7.0f} real tok/s  {r['computed_tokens_per_s']:7.0f} "
                      f"computed tok/s  padding {r['padding_share']:.0%}  peak RSS "
                      f"{r['peak_rss_mb']:.0f} MB" + (f"  peak GPU {r['peak_gpu_mb']:.0f} MB"
                                                      if "peak_gpu_mb" in r else "")
                      + f"  ({r['examples']} examples in {r['seconds']:.1f}s timed, "
                      f"{r['examples_per_cpu_s']:.1f}/CPU-s, {r['wall_s']:.0f}s wall, load "
                      f"{r['load_before']:.2f}->{r['load_after']:.2f}, {r['device']}, "
                      f"{r['torch_threads']} threads)", flush=True)
    if len(results) == 2:
        best = {name: max(rs, key=lambda r: r["examples_per_s"]) for name, rs in results.items()}
        rounds = ", ".join(f"{o['examples_per_s'] / n['examples_per_s']:.1f}x"
                           for o, n in zip(results["ours"], results["naive"]))
        print(f"  ratio  ours/naive, best of {args.rounds}: "
              f"{best['ours']['examples_per_s'] / best['naive']['examples_per_s']:.1f}x examples/s, "
              f"{best['ours']['real_tokens_per_s'] / best['naive']['real_tokens_per_s']:.1f}x "
              f"real tokens/s (per round: {rounds}; goal >= 3x)")
    print(json.dumps({"load_end": os.getloadavg(), **results}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
