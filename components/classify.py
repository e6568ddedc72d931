"""Batch classification of a JSONL file of {"text": ...} lines (`chatloop classify`).

By default the model alone labels each line. With `rules` (`chatloop classify --rules`) each
line goes through serving's rules layer first, exactly as `chatloop serve` does
(serving.rules: evasion undone for the model's input, link/phone/messenger/spam-word/flood
evidence merged with the model by noisy-OR); history rules (copy-paste, flood, raid) see the
lines in file order, grouped by their `user` and `channel` fields when they have them.
"""
from __future__ import annotations

import os
from pathlib import Path

from components import jsonl


def read_texts(path: str | os.PathLike) -> list[dict]:
    """Every line as a dict with a string `text`, all valid Unicode (each row is written
    back out); errors name the line number."""
    rows = []
    for lineno, row in jsonl.read(path):     # bytes that are not UTF-8: JsonlError, file:line
        if not isinstance(row.get("text"), str):
            raise jsonl.JsonlError(f"{path}:{lineno}: expected an object with a string 'text'")
        try:
            jsonl.dumps(row).encode("utf-8")
        except UnicodeEncodeError:
            raise jsonl.JsonlError(f"{path}:{lineno}: not valid Unicode (a lone surrogate "
                                   "such as \\ud800)") from None
        rows.append(row)
    return rows


def with_rules(model, rows: list[dict], rules_params: dict, batch_size: int = 64) -> list[dict]:
    """[{label, probs, confidence, model_probs, rules}] per row: serving's rules layer, then
    the model, merged as `serve` merges them (serving.bot.label_batch)."""
    from serving.bot import label_batch
    from serving.message import ChatMessage
    from serving.rules import Rules
    rules = Rules(rules_params)
    evidence = [rules.inspect(ChatMessage(
        "file", str(row.get("channel") or "file"), str(i),
        str(row.get("user") or row.get("user_id") or f"line{i}"),
        str(row.get("nickname") or row.get("user") or ""), row["text"]))
        for i, row in enumerate(rows)]
    out = []
    for ev, (label, probs, model_probs, _) in zip(evidence, label_batch(model, evidence, batch_size)):
        out.append({"label": label, "probs": {k: round(v, 6) for k, v in probs.items()},
                    "confidence": probs[label], "rules": ev.reasons(),
                    "model_probs": {k: round(v, 6) for k, v in model_probs.items()}})
    return out


def classify_file(model_uri: str, input_path: str, output_path: str, batch_size: int = 64,
                  rules: dict | None = None) -> int:
    """Classify every line of `input_path` into `output_path` (input order; label, per-label
    probabilities, confidence, model version). With `rules` (params `serving.rules`) the
    rules layer runs first, as in serving, and each row also gets `model_probs` and `rules`.
    The output appears whole or not at all."""
    from components.model_registry import load_model
    rows = read_texts(input_path)
    model, version = load_model(model_uri)
    texts = [r["text"] for r in rows]
    results = (with_rules(model, rows, rules, batch_size) if rules is not None
               else model.classify(texts, batch_size=batch_size))
    out = Path(output_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    jsonl.write_atomic(out, ({**row, "label": res["label"], "probs": res["probs"],
                              "confidence": round(res["confidence"], 6),
                              **{k: res[k] for k in ("model_probs", "rules") if k in res},
                              "model_uri": model_uri, "model_version": version}
                             for row, res in zip(rows, results)))
    return len(rows)
