"""Quality on the real Korean data: the model beside the TF-IDF baseline, on the same split.

    python bench/quality.py --model PATH_OR_URI --data DIR [--profile real] [--set k=v ...]
    python bench/quality.py --train [--data DIR] [--profile real] [--set k=v ...]
    python bench/quality.py --train --seeds 13,7,21 [--data RAW_DIR] [--profile real]
    python bench/quality.py --model 'models/s{seed}' --seeds 13,7,21 [--data RAW_DIR]

DIR is either an ingested split (train.jsonl + test.jsonl, e.g. the `data` output of
`chatloop pipeline run` under .chatloop/kfp/.../ingest/data) or raw data (e.g. data/raw from
`chatloop data import`), which is ingested here with the profile's data params (same seed,
same cap: the same split as the pipeline's). Without --data: the profile's data.sources.
--train trains a model with the profile first (what `chatloop pipeline run --profile real`
trains). Prints per-source macro-F1 and per-label P/R/F1 (model vs char 1-4-gram TF-IDF +
logistic regression trained on the same train split), spam recall on spam families unseen
in training and the share of normal messages flagged toxic or spam. --seeds repeats this on
several splits (one per data.seed, a model trained on each) and adds mean±sd over them and
the model-minus-baseline delta per split: one split's figures move by ±0.02-0.03 with the
split alone (docs/quality.md). Asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MALLOC_MMAP_MAX_", "0")
os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", "100000000000")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from components import jsonl  # noqa: E402
from components.config import load_params  # noqa: E402
from components.evaluate import (baseline_predict, classification_metrics, flag_rates,  # noqa: E402
                                 unseen_spam_hits)
from components.ingest import CHAT_FILE, TEST_FILE, ingest_step  # noqa: E402
from components.labels import LABELS  # noqa: E402
from components.train import train  # noqa: E402


def split_dir(data: str | None, params: dict, tmp: Path) -> Path:
    """An ingested split: `data` itself when it is one, else ingest it (or data.sources)."""
    if data and (Path(data) / TEST_FILE).exists():
        return Path(data)
    out = tmp / "split"
    summary = ingest_step(params, str(out), data=data or "")
    print(f"ingested {summary['rows']} rows -> train {summary['train']}, test {summary['test']}; "
          f"labels {summary['labels']}")
    return out


def scores(train_rows: list[dict], test: list[dict], pred: list[str]) -> dict:
    m = classification_metrics([r["label"] for r in test], pred, [r["source"] for r in test])
    m.update(flag_rates(train_rows, test, pred))
    m["flagged_by_source"] = {src: flag_rates([], [r for r in test if r["source"] == src],
                                              [q for r, q in zip(test, pred) if r["source"] == src])
                              .get("normal_flagged_rate") for src in m["per_source"]}
    return m


def with_rules(texts: list[str], probs, params: dict, min_flag: dict | None = None) -> list[str]:
    """The bot's decision per message: the model combined with serving's rules (each message
    from its own user, so only the per-message rules fire: links, phones, floods, ...)."""
    from serving.message import ChatMessage
    from serving.rules import Rules, combine
    rules = Rules(params["serving"]["rules"])
    out = []
    for i, (text, row) in enumerate(zip(texts, probs)):
        ev = rules.inspect(ChatMessage("replay", f"c{i}", str(i), f"u{i}", f"u{i}", text))
        out.append(combine({label: float(p) for label, p in zip(LABELS, row)}, ev, min_flag)[0])
    return out


def fmt(x) -> str:
    return "   n/a" if x is None else f"{x:6.3f}"


def prf(m: dict) -> str:
    return " ".join(fmt(m[k]) for k in ("precision", "recall", "f1"))


def print_report(model: dict, base: dict, test: list[dict]) -> None:
    print(f"\n{'source':22} {'rows':>6} {'model':>7} {'tfidf':>7} {'delta':>7}   (macro-F1)")
    rows = [(src, v["rows"], v["macro_f1"], base["per_source"][src]["macro_f1"])
            for src, v in model["per_source"].items()]
    rows.append(("all (4 labels)", len(test), model["macro_f1"], base["macro_f1"]))
    for name, n, m, b in rows:
        print(f"{name:22} {n:6d} {fmt(m):>7} {fmt(b):>7} {m - b:+7.3f}")
    print(f"\n{'label':10} {'support':>7}   {'model P/R/F1':>22}   {'tfidf P/R/F1':>22}")
    for label in LABELS:
        m, b = model["per_label"][label], base["per_label"][label]
        print(f"{label:10} {m['support']:7d}   {prf(m)}   {prf(b)}")
    for key, what in (("spam_recall_unseen",
                       f"spam recall on unseen families ({model['spam_unseen_rows']} rows)"),
                      ("normal_flagged_rate", "normal messages flagged toxic/spam (false positives)")):
        print(f"{chr(10) if key.startswith('spam') else ''}{what}: "
              f"model {fmt(model.get(key))}  tfidf {fmt(base.get(key))}")
    print("  by source (model / tfidf): " + ", ".join(
        f"{src} {fmt(v).strip()} / {fmt(base['flagged_by_source'][src]).strip()}"
        for src, v in model["flagged_by_source"].items() if v is not None))


def evaluate_split(params: dict, data: Path, model_uri: str | None, tmp: Path) -> dict:
    """Train (when `model_uri` is None) and score one split; prints its report and returns
    the model's, the baseline's and the bot's scores."""
    from components.model_registry import load_model
    train_rows, test = jsonl.load(data / CHAT_FILE), jsonl.load(data / TEST_FILE)
    if model_uri is None:
        model_uri = str(tmp / "model")
        started = time.time()
        summary = train(data, model_uri, params)
        print(f"trained in {time.time() - started:.0f} s: {summary}")
    model, version = load_model(model_uri)
    started = time.time()
    texts = [r["text"] for r in test]
    probs = model.label_probs(texts, batch_size=int(params["evaluate"]["batch_size"]))
    seconds = time.time() - started
    pred = [model.decide(row) for row in probs]
    started = time.time()
    base_pred = baseline_predict(train_rows, texts, int(params["data"]["seed"]))
    base_seconds = time.time() - started
    print(f"model {model_uri} (version {version}); test split {data} ({len(test)} rows); "
          f"scored in {seconds:.1f} s ({len(test) / max(seconds, 1e-9):.0f} msg/s); "
          f"baseline fit+predict {base_seconds:.1f} s")
    result = {"model": scores(train_rows, test, pred), "tfidf": scores(train_rows, test, base_pred)}
    print_report(result["model"], result["tfidf"], test)
    bot_pred = with_rules(texts, probs, params, model.min_flag)
    bot = result["bot"] = scores(train_rows, test, bot_pred)
    print(f"\nthe bot (model + serving rules): macro-F1 {fmt(bot['macro_f1'])}, spam recall on "
          f"unseen families {fmt(bot.get('spam_recall_unseen'))}, normal flagged "
          f"{fmt(bot.get('normal_flagged_rate'))}; per source: "
          + ", ".join(f"{src} {v['macro_f1']:.3f}" for src, v in bot["per_source"].items()))
    per_family = [{family: sum(hits) / len(hits) for family, hits
                   in unseen_spam_hits(train_rows, test, p).items()}
                  for p in (pred, base_pred, bot_pred)]
    missed = [f for f in per_family[0] if min(r[f] for r in per_family) < 1.0]
    print(f"unseen spam families below recall 1 (model / tfidf / bot), {len(per_family[0]) - len(missed)}"
          f" of {len(per_family[0])} families at 1.0 for all three: " + ", ".join(
              f"{f} {per_family[0][f]:.2f}/{per_family[1][f]:.2f}/{per_family[2][f]:.2f}" for f in missed))
    return result


def figures(m: dict) -> dict:
    """The figures the multi-split summary compares: per-source and overall macro-F1, spam
    recall on unseen families, normal-message false-positive rate (None: not measurable)."""
    return {**{src: v["macro_f1"] for src, v in m["per_source"].items()},
            "all (4 labels)": m["macro_f1"], "spam_recall_unseen": m.get("spam_recall_unseen"),
            "normal_flagged_rate": m.get("normal_flagged_rate")}


def print_summary(seeds: list[int], results: list[dict]) -> None:
    def mean_sd(xs: list[float]) -> str:
        return f"{statistics.mean(xs):.3f}±{statistics.stdev(xs) if len(xs) > 1 else 0.0:.3f}"
    print(f"\n== {len(seeds)} splits (data.seed {', '.join(map(str, seeds))}): mean±sd over splits, "
          "delta = model - tfidf per split ==")
    print(f"{'figure':22} {'model':>12} {'tfidf':>12}   {'delta per split':<{8 * len(seeds)}} {'mean':>7}")
    per_split = [(figures(r["model"]), figures(r["tfidf"])) for r in results]
    for name in per_split[0][0]:
        model, base = [m.get(name) for m, _ in per_split], [b.get(name) for _, b in per_split]
        if None in model + base:              # e.g. no unseen spam family in some split
            print(f"{name:22} {'n/a':>12} {'n/a':>12}")
            continue
        deltas = [m - b for m, b in zip(model, base)]
        print(f"{name:22} {mean_sd(model):>12} {mean_sd(base):>12}   "
              f"{''.join(f'{d:+8.3f}' for d in deltas):<{8 * len(seeds)}} {statistics.mean(deltas):+7.3f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="model directory or models:/NAME@ALIAS (default: --train); "
                    "with --seeds, a directory pattern holding {seed}")
    ap.add_argument("--train", action="store_true", help="train a model with the profile first")
    ap.add_argument("--data", help="ingested split or raw data folder (default: data.sources)")
    ap.add_argument("--seeds", help="comma-separated data.seed values: one split each, then a "
                    "summary over them (needs raw data, and --train or a --model pattern)")
    ap.add_argument("--profile", default="real")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args(argv)
    if not args.model and not args.train:
        ap.error("give --model PATH_OR_URI or --train")
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else []
    if seeds and args.model and "{seed}" not in args.model:
        ap.error("with --seeds, --model must be a pattern holding {seed}: a model tested on "
                 "another seed's split has seen part of its test rows in training")
    if seeds and args.data and (Path(args.data) / TEST_FILE).exists():
        ap.error("with --seeds, --data must be raw data (each seed ingests its own split)")
    results = []
    for seed in seeds or [None]:
        overrides = args.overrides + ([f"data.seed={seed}"] if seed is not None else [])
        params = load_params(profile=args.profile, overrides=overrides)
        if seed is not None:
            print(f"\n== split data.seed={seed} ==")
        with tempfile.TemporaryDirectory(prefix="chatloop-quality-") as tmp:
            data = split_dir(args.data, params, Path(tmp))
            model_uri = args.model.format(seed=seed) if args.model and seed is not None else args.model
            results.append(evaluate_split(params, data, None if args.train else model_uri, Path(tmp)))
    if len(seeds) > 1:
        print_summary(seeds, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
