"""evaluate: the candidate, the current champion and a TF-IDF floor on the same test split.

Classification by batched label scoring (components.model); per-label precision/recall/F1,
macro-F1, per-source macro-F1 and a confusion-matrix plot; behavioural checks on fixed probes
(components.behaviour; judged by the gate). Answers are scored with chrF (sacrebleu) on
held-out question/answer pairs. Writes metrics.json and confusion.png.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np

from components import behaviour, jsonl
from components.ingest import ANSWERS_TEST, CHAT_FILE, GOLDEN_FILE, TEST_FILE
from components.labels import LABELS

log = logging.getLogger(__name__)
METRICS_FILE, CONFUSION_FILE = "metrics.json", "confusion.png"


def classification_metrics(gold: list[str], pred: list[str], sources: list[str] | None = None) -> dict:
    """Per-label P/R/F1, macro-F1, accuracy, confusion matrix and per-source macro-F1."""
    from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support
    p, r, f, s = precision_recall_fscore_support(gold, pred, labels=list(LABELS), zero_division=0)
    out = {
        "macro_f1": float(f1_score(gold, pred, labels=list(LABELS), average="macro", zero_division=0)),
        "accuracy": float(np.mean([g == q for g, q in zip(gold, pred)])) if gold else 0.0,
        "per_label": {label: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                              "support": int(s[i])} for i, label in enumerate(LABELS)},
        "confusion": confusion_matrix(gold, pred, labels=list(LABELS)).tolist(),
    }
    if sources:
        per_source = {}
        for src in sorted(set(sources)):
            idx = [i for i, x in enumerate(sources) if x == src]
            g, q = [gold[i] for i in idx], [pred[i] for i in idx]
            present = sorted(set(g))
            per_source[src] = {"macro_f1": float(f1_score(g, q, labels=present, average="macro",
                                                          zero_division=0)),
                               "rows": len(idx)}
        out["per_source"] = per_source
    return out


def unseen_spam_hits(train: list[dict], test: list[dict], pred: list[str]) -> dict[str, list[bool]]:
    """For each spam family never seen in training: whether each of its test rows was
    predicted spam."""
    seen = {r.get("family") for r in train if r["label"] == "spam"}
    hits: dict[str, list[bool]] = {}
    for row, label in zip(test, pred):
        if row["label"] == "spam" and row.get("family") not in seen:
            hits.setdefault(str(row.get("family")), []).append(label == "spam")
    return dict(sorted(hits.items()))


def flag_rates(train: list[dict], test: list[dict], pred: list[str]) -> dict:
    """What moderation cares about: spam recall on spam families never seen in training
    (phrasings the model could not memorise) and the share of normal messages flagged
    (predicted toxic or spam: a false positive that would hit an innocent viewer)."""
    unseen = [hit for hits in unseen_spam_hits(train, test, pred).values() for hit in hits]
    normal = [q for r, q in zip(test, pred) if r["label"] == "normal"]
    out: dict = {"spam_unseen_rows": len(unseen)}  # absent figures are left out, not null
    if unseen:
        out["spam_recall_unseen"] = float(np.mean(unseen))
    if normal:
        out["normal_flagged_rate"] = float(np.mean([q in ("toxic", "spam") for q in normal]))
    return out


def golden_metrics(golden: list[dict], pred: list[str]) -> dict:
    """What the gate checks on the fixed real-chat set: macro-F1 per source, the share of
    normal messages flagged toxic or spam, spam recall, and a few flagged normal messages."""
    gold = [r["label"] for r in golden]
    full = classification_metrics(gold, pred, [r["source"] for r in golden])
    out = {"rows": len(golden), "macro_f1": full["macro_f1"], "per_source": full["per_source"]}
    normal = [(r, q) for r, q in zip(golden, pred) if r["label"] == "normal"]
    spam = [q == "spam" for r, q in zip(golden, pred) if r["label"] == "spam"]
    if normal:
        out["normal_flagged_rate"] = float(np.mean([q in ("toxic", "spam") for _, q in normal]))
        out["normal_flagged_examples"] = [f"{r['text'][:40]} -> {q}" for r, q in normal
                                          if q in ("toxic", "spam")][:3]
    if spam:
        out["spam_recall"] = float(np.mean(spam))
    return out


def versus_baseline(model: dict, baseline: dict) -> dict:
    """Per-source and per-label F1 of the model beside the baseline's, with the difference."""
    rows = {f"source:{src}": (v["macro_f1"], baseline["per_source"][src]["macro_f1"])
            for src, v in (model.get("per_source") or {}).items()}
    rows.update({f"label:{label}": (v["f1"], baseline["per_label"][label]["f1"])
                 for label, v in model["per_label"].items()})
    rows["macro_f1"] = (model["macro_f1"], baseline["macro_f1"])
    return {k: {"model": m, "baseline": b, "delta": m - b} for k, (m, b) in rows.items()}


def baseline_probs(train: list[dict], test_texts: list[str], seed: int = 13) -> np.ndarray:
    """The floor's label probabilities (LABELS order): the screen's classifier alone (char
    1-4-gram TF-IDF + logistic regression, components.screen) trained on `train`."""
    from components.screen import Screen
    screen = Screen.fit([r["text"] for r in train], [r["label"] for r in train],
                        max_features=200_000, c=10.0, seed=seed)
    return screen.probs(test_texts) if test_texts else np.zeros((0, len(LABELS)))


def baseline_predict(train: list[dict], test_texts: list[str], seed: int = 13) -> list[str]:
    """The floor's most likely label per text (baseline_probs)."""
    return [LABELS[i] for i in baseline_probs(train, test_texts, seed).argmax(1)]


def score_model(model, test: list[dict], answers: list[dict], cfg: dict,
                train: list[dict] = (), golden: list[dict] = ()) -> dict:
    """Classification metrics, flag rates, golden-set metrics, behavioural checks and answer
    chrF for one ChatModel."""
    import sacrebleu
    texts = [r["text"] for r in test] + [r["text"] for r in golden]
    before = model.counts["lm"]
    probs = model.label_probs(texts, batch_size=int(cfg["batch_size"]))
    preds = [model.decide(row) for row in probs]
    pred = preds[:len(test)]
    lm_share = (model.counts["lm"] - before) / len(texts) if texts else 1.0
    metrics = classification_metrics([r["label"] for r in test], pred, [r["source"] for r in test])
    metrics.update(flag_rates(train, test, pred))
    metrics["mean_confidence"] = float(probs[:len(test)].max(1).mean()) if len(test) else 0.0
    metrics["lm_share"] = lm_share    # messages the LM scored (the rest: the screen alone)
    if golden:
        metrics["golden"] = golden_metrics(golden, preds[len(test):])
    metrics["behaviour"] = behaviour.measure(model, batch_size=int(cfg["batch_size"]))
    sample = answers[: int(cfg["answer_samples"])]
    if sample:
        from components.labels import answer_messages
        hyps = []
        for start in range(0, len(sample), 16):
            chunk = sample[start:start + 16]
            hyps += model.generate([answer_messages(r["question"], r.get("card", ""), r.get("recent", ())) for r in chunk],
                                   max_new_tokens=int(cfg["max_new_tokens"]))
        metrics["chrf"] = float(sacrebleu.corpus_chrf(hyps, [[r["answer"] for r in sample]]).score)
        metrics["answer_examples"] = [{"question": r["question"], "answer": h, "gold": r["answer"]}
                                      for r, h in zip(sample[:5], hyps[:5])]
    return metrics


def plot_confusion(results: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = [n for n in ("candidate", "champion", "baseline") if results.get(n)]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 4))
    for ax, name in zip(np.atleast_1d(axes), names):
        cm = np.array(results[name]["confusion"])
        ax.imshow(cm, cmap="Blues")
        ax.set_xticks(range(len(LABELS)), LABELS, rotation=45)
        ax.set_yticks(range(len(LABELS)), LABELS)
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center", fontsize=8)
        ax.set_title(f"{name} (macro-F1 {results[name]['macro_f1']:.3f})")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def evaluate(data_dir: str | os.PathLike, model_dir: str | os.PathLike, out_dir: str | os.PathLike,
             cfg: dict, champion_uri: str | None = None, seed: int = 13) -> dict:
    """Score candidate, champion (when `champion_uri` resolves) and baseline; write metrics."""
    from components.model import ChatModel
    data, out = Path(data_dir), Path(out_dir)
    train, test, answers, golden = (jsonl.load(data / name, missing_ok=True) for name in
                                    (CHAT_FILE, TEST_FILE, ANSWERS_TEST, GOLDEN_FILE))
    if not test:
        raise ValueError(f"no test rows in {data / TEST_FILE}")
    results: dict = {"test_rows": len(test), "answer_rows": min(len(answers), int(cfg["answer_samples"]))}
    results["golden_rows"] = len(golden)
    results["candidate"] = score_model(ChatModel.load(model_dir), test, answers, cfg, train, golden)
    results["champion"], results["champion_version"] = None, None
    if champion_uri:
        from components.model_registry import RegistryError, load_model
        try:
            champion, version = load_model(champion_uri)
        except RegistryError as exc:
            log.info("no champion to compare with (%s)", exc)
        else:
            results["champion"] = score_model(champion, test, answers, cfg, train, golden)
            results["champion_version"] = version
    base_all = baseline_predict(train, [r["text"] for r in test + golden], seed)
    base_pred = base_all[:len(test)]
    results["baseline"] = classification_metrics([r["label"] for r in test], base_pred,
                                                  [r["source"] for r in test])
    results["baseline"].update(flag_rates(train, test, base_pred))
    if golden:
        results["baseline"]["golden"] = golden_metrics(golden, base_all[len(test):])
    results["versus_baseline"] = versus_baseline(results["candidate"], results["baseline"])
    out.mkdir(parents=True, exist_ok=True)
    plot_confusion(results, out / CONFUSION_FILE)
    (out / METRICS_FILE).write_text(json.dumps(results, ensure_ascii=False, indent=2))
    return results


def evaluate_step(params: dict, data_dir: str, model_dir: str, out_dir: str) -> dict:
    """Pipeline entry point: compares with models:/<name>@champion when there is one."""
    name = params["registry"]["model_name"]
    return evaluate(data_dir, model_dir, out_dir, params["evaluate"],
                    champion_uri=f"models:/{name}@champion", seed=int(params["data"]["seed"]))
