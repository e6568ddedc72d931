"""The goals of real chat: a model beside TF-IDF trained on ALL the shared data.

    python bench/real_chat.py --model PATH_OR_URI --split DIR [--raw data/raw] [--profile P] \
        [--toxic-floor F] [--spam-floor F]

DIR is an ingested split with its golden set (the `data` output of a pipeline run:
.chatloop/kfp/chatloop-train-*/ingest/data, or `chatloop`'s ingest with data.golden). The
strong baseline is char 1-4-gram TF-IDF + logistic regression trained on every row of the
imported data (`--raw`, the output of `chatloop data import`) except the test split's and
the golden set's texts: far more rows than the model's capped training split. Prints, per
real source, macro-F1 on the held-out test split and on the golden set (model, TF-IDF-all,
delta), the share of normal messages flagged toxic or spam, spam recall on the hand-written
spam (model, and the bot: model + serving rules), and scoring speed. Then the same per-source
comparison at the model's operating point: TF-IDF-all's toxic floor raised until it flags no
more normal messages of that set than the model does (chosen on the scored set itself, which
favours TF-IDF-all), so a gap in macro-F1 is one of ranking, not of how much each flags.
Asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.append(str(ROOT / "bench"))   # after ROOT: bench/serving.py is not `serving`
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from components.config import load_params  # noqa: E402
from components import jsonl  # noqa: E402
import numpy as np  # noqa: E402

from components.calibrate import choose_toxic_floor  # noqa: E402
from components.evaluate import baseline_probs, classification_metrics  # noqa: E402
from components.ingest import GOLDEN_FILE, TEST_FILE, _Files, read_rows  # noqa: E402
from components.labels import LABELS, decide, normalize_text  # noqa: E402
from components.screen import combine  # noqa: E402


def flagged(rows: list[dict], pred: list[str]) -> float | None:
    normal = [q in ("toxic", "spam") for r, q in zip(rows, pred) if r["label"] == "normal"]
    return sum(normal) / len(normal) if normal else None


def spam_recall(rows: list[dict], pred: list[str]) -> float | None:
    spam = [q == "spam" for r, q in zip(rows, pred) if r["label"] == "spam"]
    return sum(spam) / len(spam) if spam else None


def fmt(x) -> str:
    return "   n/a" if x is None else f"{x:6.3f}"


def report(name: str, rows: list[dict], pred: list[str], base: list[str],
           names: str = "model / tfidf-all") -> None:
    m = classification_metrics([r["label"] for r in rows], pred, [r["source"] for r in rows])
    b = classification_metrics([r["label"] for r in rows], base, [r["source"] for r in rows])
    print(f"\n{name} ({len(rows)} rows)   macro-F1: {names} / delta")
    for src, v in m["per_source"].items():
        bv = b["per_source"][src]["macro_f1"]
        part = [q for r, q in zip(rows, pred) if r["source"] == src]
        fl = flagged([r for r in rows if r["source"] == src], part)
        print(f"  {src:22} {v['rows']:5d}  {fmt(v['macro_f1'])} {fmt(bv)} {v['macro_f1'] - bv:+7.3f}"
              f"   normal flagged {fmt(fl)}")
    print(f"  {'all':22} {len(rows):5d}  {fmt(m['macro_f1'])} {fmt(b['macro_f1'])} "
          f"{m['macro_f1'] - b['macro_f1']:+7.3f}")
    first, second = names.split(" / ")
    print(f"  normal flagged toxic/spam: {first} {fmt(flagged(rows, pred))}  {second} "
          f"{fmt(flagged(rows, base))};  spam recall: {first} {fmt(spam_recall(rows, pred))}  "
          f"{second} {fmt(spam_recall(rows, base))}")


def top(probs: np.ndarray) -> list[str]:
    """The most likely label of each row of label probabilities (TF-IDF-all's own decision)."""
    return [LABELS[i] for i in probs.argmax(1)]


def at_flag_rate(rows: list[dict], probs: np.ndarray, target: float,
                 spam_floor: float) -> tuple[list[str], dict]:
    """Labels for `probs` with the toxic floor raised from 0 (every message toxic) to the lowest
    at which at most `target` of the normal rows of `rows` are flagged toxic or spam
    (components.calibrate's rule; spam at `spam_floor`), and what choose_toxic_floor chose."""
    normal = probs[np.array([r["label"] == "normal" for r in rows], dtype=bool)]
    chosen = choose_toxic_floor(normal, {"toxic": 0.0, "spam": spam_floor}, target, 1.0)
    return [decide(row, chosen["min_flag"]) for row in probs], chosen


def tfidf_all(raw: str, held: list[dict], seed: int) -> np.ndarray:
    """TF-IDF-all's label probabilities for `held` (LABELS order; `top` gives its labels):
    trained on every imported row in `raw` whose text is not one of `held`'s."""
    texts = {r["text"] for r in held}
    everything = [row for _, _, row in read_rows(_Files(), [raw]) if "text" in row]
    pool = [{"text": normalize_text(r["text"]), "label": r["label"]} for r in everything]
    pool = [r for r in pool if r["text"] and r["text"] not in texts]
    started = time.time()
    base = baseline_probs(pool, [r["text"] for r in held], seed)
    print(f"tfidf-all: trained on {len(pool)} rows in {time.time() - started:.0f} s")
    return base


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--split", required=True)
    ap.add_argument("--raw", default=str(ROOT / "data" / "raw"))
    ap.add_argument("--profile")
    for label in ("toxic", "spam"):
        ap.add_argument(f"--{label}-floor", type=float,
                        help=f"decide at this {label} floor instead of the model's calibrated one")
    args = ap.parse_args(argv)
    params = load_params(profile=args.profile)
    split = Path(args.split)
    test, golden = jsonl.load(split / TEST_FILE), jsonl.load(split / GOLDEN_FILE)
    base_probs = tfidf_all(args.raw, test + golden, int(params["data"]["seed"]))
    base = top(base_probs)

    from quality import with_rules
    from components.model_registry import load_model
    model, version = load_model(args.model)
    for label, floor in (("toxic", args.toxic_floor), ("spam", args.spam_floor)):
        if floor is not None:
            print(f"{label} floor {floor} instead of the model's {model.min_flag.get(label)}")
            model.min_flag[label] = floor
    texts = [r["text"] for r in test + golden]
    started = time.time()
    lm = model.lm_probs(texts, batch_size=int(params["evaluate"]["batch_size"]))
    seconds = time.time() - started
    print(f"model {args.model} (version {version}): the LM scored {len(texts)} messages in "
          f"{seconds:.1f} s ({len(texts) / seconds:.0f} msg/s)")
    probs, n = lm, len(test)
    if model.screen is not None:   # the served decision: the screen in front (one LM pass)
        cfg = model.meta["screen"]
        screened = model.screen.probs([model.prepare(t) for t in texts])
        probs, used = combine(screened, lambda rows: lm[rows], cfg["confidence"], cfg["weight"])
        print(f"screen (confidence {cfg['confidence']}, weight {cfg['weight']}): the LM scores "
              f"{used[:n].mean():.1%} of the test split, {used[n:].mean():.1%} of the golden set")
        alone = [model.decide(row) for row in lm]
        report("the LM alone, held-out test split", test, alone[:n],
               [model.decide(r) for r in screened[:n]], "LM / screen")
        if golden:
            report("the LM alone, golden set", golden, alone[n:],
                   [model.decide(r) for r in screened[n:]], "LM / screen")
        print("\n(above: the LM alone against the screen alone; below: the model as served "
              "against TF-IDF-all)")
    pred = [model.decide(row) for row in probs]
    report("held-out test split", test, pred[:n], base[:n])
    if golden:
        report("golden set", golden, pred[n:], base[n:])
        bot = with_rules([r["text"] for r in golden], probs[n:], params, model.min_flag)
        print(f"  the bot (model + serving rules): spam recall {fmt(spam_recall(golden, bot))}, "
              f"normal flagged {fmt(flagged(golden, bot))}")
        missed = [r["text"] for r, q in zip(golden, bot) if r["label"] == "spam" and q != "spam"]
        print("  spam the bot missed: " + " | ".join(missed[:8]))
        wrong = [f"{r['text']} -> {q}" for r, q in zip(golden, pred[n:])
                 if r["label"] == "normal" and r["source"] == "independent" and q != "normal"]
        print("  everyday chat flagged: " + " | ".join(wrong[:8]))

    print("\n(below: TF-IDF-all at the model's operating point, its toxic floor chosen on each "
          "set so that it flags no more normal messages than the model; favours TF-IDF-all)")
    for name, rows, mine, theirs in (("held-out test split", test, pred[:n], base_probs[:n]),
                                     ("golden set", golden, pred[n:], base_probs[n:])):
        if rows:
            matched, chosen = at_flag_rate(rows, theirs, flagged(rows, mine),
                                           float(model.min_flag.get("spam", 0.0)))
            report(f"{name}, TF-IDF-all at toxic floor {chosen['min_flag']['toxic']:.2f}"
                   + ("" if chosen["reached"] else " (the model's rate not reached)"),
                   rows, mine, matched)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
