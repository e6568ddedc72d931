"""The screen's settings compared on one trained LM (docs/quality.md, "The screen's settings").

    python bench/screen.py --model PATH_OR_URI --split DIR [--profile P] \
        [--extra 0 3000] [--confidence 0.9 0.95] [--weight 0.2 0.4] [--raw data/raw]

The LM scores the test split, the golden set and the calibration rows once. Then, for every
`model.screen.extra_per_source_label` in `--extra`, the screen is fitted by the train step's
own `fit_screen` (the LM's rows after `train.balance`, plus up to that many of each (source,
label) of DIR/screen_extra.jsonl), and for every confidence in `--confidence` and blend weight in
`--weight` the spam and toxic floors are chosen on the calibration rows as the train step
chooses them (`model.calibrate`) and the model as served is scored: macro-F1 per source (with the delta
to TF-IDF-all trained on every imported row but the held-out texts, unless `--raw ''`),
normal messages flagged, spam recall of the model and of the bot (model + serving rules),
and the share of messages the LM scores. The LM is the same in every row, so the rows differ
by the screen, its use and its floors alone. Asserts nothing.
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

import numpy as np  # noqa: E402

from components import jsonl  # noqa: E402
from components.calibrate import choose_floors  # noqa: E402
from components.config import load_params  # noqa: E402
from components.evaluate import classification_metrics  # noqa: E402
from components.ingest import CALIBRATION_FILE, CHAT_FILE, GOLDEN_FILE, TEST_FILE  # noqa: E402
from components.labels import decide  # noqa: E402
from components.screen import combine  # noqa: E402
from components.train import balance_rows, fit_screen  # noqa: E402


def extra_cap(text: str) -> int | dict[str, int]:
    """`--extra` value: `N` (every source) or `SOURCE=N,*=M` (per source, "*" the others)."""
    try:
        if "=" not in text:
            return int(text)
        return {k.strip(): int(v) for k, v in (part.split("=", 1) for part in text.split(","))}
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected N or SOURCE=N,*=M, got {text!r}") from None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--split", required=True)
    ap.add_argument("--profile")
    ap.add_argument("--extra", type=extra_cap, nargs="+",
                    help="extra rows per (source, label): N or SOURCE=N,*=M; "
                    "default: 0 and the profile's setting")
    ap.add_argument("--confidence", type=float, nargs="+",
                    help="cascade confidences; default: the profile's")
    ap.add_argument("--weight", type=float, nargs="+",
                    help="the screen's share of the blend; default: the profile's")
    ap.add_argument("--raw", default=str(ROOT / "data" / "raw"),
                    help="imported data for TF-IDF-all ('' to skip it)")
    args = ap.parse_args(argv)
    params = load_params(profile=args.profile)
    cfg, seed = params["model"]["screen"], int(params["train"]["seed"])
    default = cfg["extra_per_source_label"]
    extras = args.extra or ([0, default] if default else [0])
    settings = [(c, w) for c in (args.confidence or [float(cfg["confidence"])])
                for w in (args.weight or [float(cfg["weight"])])]

    from quality import with_rules
    from real_chat import flagged, fmt, spam_recall, tfidf_all, top
    from components.model_registry import load_model

    split = Path(args.split)
    test, golden = jsonl.load(split / TEST_FILE), jsonl.load(split / GOLDEN_FILE, missing_ok=True)
    calibration = [r for r in jsonl.load(split / CALIBRATION_FILE, missing_ok=True)
                   if r["label"] == "normal"]
    chat = balance_rows(jsonl.load(split / CHAT_FILE), float(params["train"]["balance"]), seed)
    held = test + golden
    base = top(tfidf_all(args.raw, held, int(params["data"]["seed"]))) if args.raw else None

    model, version = load_model(args.model)
    texts = [r["text"] for r in held + calibration]
    started = time.time()
    lm = model.lm_probs(texts, batch_size=int(params["evaluate"]["batch_size"]))
    print(f"model {args.model} (version {version}): the LM scored {len(texts)} messages in "
          f"{time.time() - started:.0f} s; {len(calibration)} calibration rows")
    prepared = [model.prepare(t) for t in texts]
    n, m = len(test), len(held)
    target = float(params["model"]["calibrate"]["max_normal_flagged"])
    print(f"\nserved macro-F1 per source (delta to TF-IDF-all); normal flagged; spam recall "
          f"model / bot; LM share. Floors chosen as the train step does (at most {target:.1%} "
          f"of the calibration rows flagged).")
    for extra in extras:
        started = time.time()
        screen, rows = fit_screen(params, chat, split, model.prepare, extra)
        fitted = time.time() - started
        screened = screen.probs(prepared)
        for confidence, weight in settings:
            probs, used = combine(screened, lambda idx: lm[idx], confidence, weight)
            chosen = choose_floors(probs[m:], dict(params["model"]["min_flag"]),
                                   params["model"]["calibrate"])
            floor = chosen["min_flag"]
            pred = [decide(row, floor) for row in probs[:m]]
            print(f"\nextra {extra} per (source, label): screen on {rows} rows "
                  f"({fitted:.0f} s); confidence {confidence}, weight {weight}; spam floor "
                  f"{floor['spam']}, toxic floor "
                  f"{floor['toxic']} ({chosen['normal_flagged']:.1%} of {len(calibration)} "
                  f"calibration rows)")
            for name, part, lo, hi in (("test split", test, 0, n), ("golden set", golden, n, m)):
                if not part:
                    continue
                got = classification_metrics([r["label"] for r in part], pred[lo:hi],
                                             [r["source"] for r in part])["per_source"]
                ref = (classification_metrics([r["label"] for r in part], base[lo:hi],
                                              [r["source"] for r in part])["per_source"]
                       if base else {})
                cells = [f"{src} {fmt(v['macro_f1']).strip()}"
                         + (f" ({v['macro_f1'] - ref[src]['macro_f1']:+.3f})" if ref else "")
                         for src, v in got.items()]
                bot = (spam_recall(part, with_rules([r["text"] for r in part], probs[lo:hi],
                                                    params, floor))
                       if name == "golden set" else None)
                print(f"  {name}: " + " | ".join(cells))
                print(f"    normal flagged {fmt(flagged(part, pred[lo:hi])).strip()}; spam recall "
                      f"{fmt(spam_recall(part, pred[lo:hi])).strip()} / {fmt(bot).strip()}; "
                      f"LM share {np.mean(used[lo:hi]):.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
