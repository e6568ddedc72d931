"""The operating point: the spam and toxic floors chosen on held-out normal chat at training.

`model.min_flag` says how sure the model must be before it labels a message toxic or spam
(components.labels.decide). A fixed number means something different for every trained
model (two runs of one setting flag 4-7% of normal chat at the same floor), so after
training both floors are set on the calibration rows: normal messages set aside from the
training split by ingest (`data.calibration_per_source` per source), scored as served
(screen + LM). First the spam floor is lowered, never raised, as far as
`model.calibrate.min_spam` while at most `max_normal_spam` of the rows are labelled spam
(spam that the model finds less likely than normal chat is still caught: hand-written lures
score 0.1-0.5); then the toxic floor is raised, never lowered, to the lowest value at which
at most `max_normal_flagged` of the rows are flagged toxic or spam. The chosen floors
replace `min_flag` in chatloop.json, so evaluate, classify and serving all use them; what was
chosen and why is kept under `calibration`.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from components.labels import FLAGGED, decide

STEP = 0.01


def flagged_share(probs: np.ndarray, min_flag: dict, labels: tuple[str, ...] = FLAGGED) -> float:
    """Share of rows (all normal messages) labelled one of `labels` (toxic or spam) at
    `min_flag`."""
    if not len(probs):
        return 0.0
    return float(np.mean([decide(row, min_flag) in labels for row in probs]))


def choose_toxic_floor(probs: np.ndarray, min_flag: dict, max_flagged: float,
                       max_toxic: float) -> dict:
    """The lowest toxic floor from `min_flag["toxic"]` up to `max_toxic` (steps of 0.01) at
    which at most `max_flagged` of the rows (normal messages' label probabilities) are
    flagged; `max_toxic` when none reaches it (`reached` false). The spam floor stays."""
    start = float(min_flag.get("toxic", 0.0))
    floors = np.round(np.arange(start, max(start, max_toxic) + STEP / 2, STEP), 4)
    for toxic in floors:
        share = flagged_share(probs, {**min_flag, "toxic": float(toxic)})
        if share <= max_flagged:
            return {"min_flag": {**min_flag, "toxic": float(toxic)}, "normal_flagged": share,
                    "reached": True}
    return {"min_flag": {**min_flag, "toxic": float(floors[-1])}, "normal_flagged": share,
            "reached": False}


def choose_spam_floor(probs: np.ndarray, min_flag: dict, max_spam: float, min_spam: float) -> dict:
    """The lowest spam floor from `min_flag["spam"]` down to `min_spam` (steps of 0.01) at
    which at most `max_spam` of the rows (normal messages' label probabilities) are labelled
    spam; the given floor when it already labels more (never raised)."""
    start = float(min_flag.get("spam", 1.0))
    best = {"min_flag": dict(min_flag), "normal_spam": flagged_share(probs, min_flag, ("spam",))}
    for spam in np.round(np.arange(start - STEP, min_spam - STEP / 2, -STEP), 4):
        share = flagged_share(probs, {**min_flag, "spam": float(spam)}, ("spam",))
        if share > max_spam:
            break
        best = {"min_flag": {**min_flag, "spam": float(spam)}, "normal_spam": share}
    return best


def choose_floors(probs: np.ndarray, given: dict, cfg: dict) -> dict:
    """The train step's operating point for `model.calibrate` = `cfg`: the spam floor lowered
    within `max_normal_spam`, then the toxic floor raised for `max_normal_flagged`."""
    spam = choose_spam_floor(probs, given, float(cfg["max_normal_spam"]), float(cfg["min_spam"]))
    chosen = choose_toxic_floor(probs, spam["min_flag"], float(cfg["max_normal_flagged"]),
                                float(cfg["max_toxic"]))
    return {**chosen, "normal_spam": flagged_share(probs, chosen["min_flag"], ("spam",))}


def calibrate(model_dir: str | Path, rows: list[dict], params: dict) -> dict | None:
    """Score `rows` (normal messages never trained on) with the model in `model_dir` as
    served, choose the floors and record them in its chatloop.json; None (nothing changed)
    when there are no rows or `max_normal_flagged` is 1."""
    from components.model import META_FILE, ChatModel

    cfg = params["model"]["calibrate"]
    target = float(cfg["max_normal_flagged"])
    texts = [r["text"] for r in rows if r["label"] == "normal"]
    if not texts or target >= 1:
        return None
    model = ChatModel.load(model_dir)
    probs = model.label_probs(texts, batch_size=int(params["evaluate"]["batch_size"]))
    given = dict(params["model"]["min_flag"])
    chosen = choose_floors(probs, given, cfg)
    sources = sorted({r.get("source", "") for r in rows if r["label"] == "normal"})
    result = {**chosen, "given": given, "target": target,
              "spam_target": float(cfg["max_normal_spam"]), "rows": len(texts),
              "sources": sources, "normal_flagged_given": flagged_share(probs, given)}
    path = Path(model_dir) / META_FILE
    meta = json.loads(path.read_text())
    meta["min_flag"] = chosen["min_flag"]
    meta["calibration"] = result
    path.write_text(json.dumps(meta, ensure_ascii=False, indent=2))
    return result

