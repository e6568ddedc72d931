"""Batch classification of a JSONL file of {"text": ...} lines (`chatloop classify`)."""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path


def read_texts(path: str | os.PathLike) -> list[dict]:
    """Every line as a dict with a string `text`, all valid Unicode (each row is written
    back out); errors name the line number."""
    from components.ingest import parse_jsonl
    rows = []
    # Bytes that are not UTF-8 become lone surrogates, refused below with the line number.
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        for lineno, row in parse_jsonl(str(path), fh):
            if not isinstance(row.get("text"), str):
                raise ValueError(f"{path}:{lineno}: expected an object with a string 'text'")
            try:
                json.dumps(row, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(f"{path}:{lineno}: not valid Unicode (a lone surrogate such "
                                 "as \\ud800, or bytes that are not UTF-8)") from None
            rows.append(row)
    return rows


def classify_file(model_uri: str, input_path: str, output_path: str, batch_size: int = 64) -> int:
    """Classify every line of `input_path` into `output_path` (input order; label, per-label
    probabilities, confidence, model version). The output appears whole or not at all."""
    from components.registry import load_model
    rows = read_texts(input_path)
    model, version = load_model(model_uri)
    results = model.classify([r["text"] for r in rows], batch_size=batch_size)
    out = Path(output_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            for row, res in zip(rows, results):
                fh.write(json.dumps({**row, "label": res["label"], "probs": res["probs"],
                                     "confidence": round(res["confidence"], 6),
                                     "model_uri": model_uri, "model_version": version},
                                    ensure_ascii=False) + "\n")
        tmp.replace(out)
    except BaseException:    # any failure, even Ctrl-C: leave no half-written file behind
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    return len(rows)
