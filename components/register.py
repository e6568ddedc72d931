"""register: log the run to MLflow, register the candidate, and apply the gate.

Every candidate becomes a registered model version (audit trail). The gate's decision is
taken here, inside the step (kfp.local does not evaluate dsl.If): the version gets the tag
`gate=passed|failed` with the reasons, and only a passing one gets the `challenger` alias.
A person then promotes a challenger to `champion`.
"""
from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

from components import behaviour, jsonl
from components.config import flatten, tracking_uri
from components.evaluate import CONFUSION_FILE, METRICS_FILE
from components.ingest import CHAT_FILE, VERSION_FILE
from components.labels import LABELS
from components.model import META_FILE

PIP_REQUIREMENTS = ["torch==2.13.0", "transformers", "peft", "mlflow", "numpy", "pandas"]


def gate(metrics: dict, cfg: dict) -> tuple[bool, list[str]]:
    """(passed, reasons). Passes when the candidate beats the TF-IDF floor (within the margin)
    and, if there is a champion, beats its macro-F1 by `min_improvement` with no label's F1
    dropping more than `max_label_drop`; plus the golden-set floors and, when params carry
    gate.behaviour, the behavioural checks (components.behaviour.judge)."""
    cand, base, champ = metrics["candidate"], metrics["baseline"], metrics.get("champion")
    ok, reasons = golden_gate(cand.get("golden"), cfg["golden"])
    if cfg.get("behaviour") is not None:
        passed, why = behaviour.judge(cand.get("behaviour"), cfg["behaviour"])
        ok, reasons = ok and passed, reasons + why
    floor = base["macro_f1"] - float(cfg["baseline_margin"])
    if cand["macro_f1"] < floor:
        ok = False
        reasons.append(f"macro-F1 {cand['macro_f1']:.4f} is below the TF-IDF baseline floor "
                       f"{floor:.4f} (baseline {base['macro_f1']:.4f} - margin {cfg['baseline_margin']})")
    else:
        reasons.append(f"macro-F1 {cand['macro_f1']:.4f} >= baseline floor {floor:.4f}")
    if not champ:
        reasons.append("no champion yet")
        return ok, reasons
    need = champ["macro_f1"] + float(cfg["min_improvement"])
    if cand["macro_f1"] > need or (float(cfg["min_improvement"]) == 0 and cand["macro_f1"] >= need):
        reasons.append(f"macro-F1 {cand['macro_f1']:.4f} beats champion v{metrics['champion_version']} "
                       f"{champ['macro_f1']:.4f} by the margin {cfg['min_improvement']}")
    else:
        ok = False
        reasons.append(f"macro-F1 {cand['macro_f1']:.4f} does not beat champion "
                       f"v{metrics['champion_version']} {champ['macro_f1']:.4f} + margin {cfg['min_improvement']}")
    for label in LABELS:
        drop = champ["per_label"][label]["f1"] - cand["per_label"][label]["f1"]
        if drop > float(cfg["max_label_drop"]):
            ok = False
            reasons.append(f"F1 of '{label}' drops {drop:.4f} (> {cfg['max_label_drop']}) vs champion")
    return ok, reasons


def golden_gate(golden: dict | None, cfg: dict) -> tuple[bool, list[str]]:
    """(passed, reasons) on the fixed real-chat set: per-source macro-F1 floors, the largest
    share of normal messages flagged, the smallest spam recall (params gate.golden)."""
    if not golden:
        if cfg["required"]:
            return False, ["no golden set scored (data.golden is empty or missing) but "
                           "gate.golden.required is true"]
        return True, ["no golden set (gate.golden.required is false)"]
    ok, reasons = True, []
    for source, floor in (cfg["min_macro_f1"] or {}).items():
        got = (golden["per_source"].get(source) or {}).get("macro_f1")
        if got is None:
            ok = False
            reasons.append(f"golden: no rows of source '{source}' (floor {floor})")
        elif got < float(floor):
            ok = False
            reasons.append(f"golden: macro-F1 on {source} {got:.4f} < floor {floor}")
    flagged = golden.get("normal_flagged_rate")
    if flagged is not None and flagged > float(cfg["max_normal_flagged"]):
        ok = False
        reasons.append(f"golden: {flagged:.1%} of everyday normal chat is flagged toxic/spam "
                       f"(max {float(cfg['max_normal_flagged']):.0%}), e.g. "
                       + " | ".join(golden.get("normal_flagged_examples", [])))
    recall = golden.get("spam_recall")
    if recall is not None and recall < float(cfg["min_spam_recall"]):
        ok = False
        reasons.append(f"golden: spam recall {recall:.4f} < {cfg['min_spam_recall']}")
    if ok:
        reasons.append(f"golden: {golden['rows']} real-chat rows within every floor "
                       f"(normal flagged {flagged if flagged is not None else float('nan'):.1%}, "
                       f"spam recall {recall if recall is not None else float('nan'):.3f})")
    return ok, reasons


def _metric_items(metrics: dict) -> dict[str, float]:
    out = {}
    for who in ("candidate", "champion", "baseline"):
        m = metrics.get(who)
        if not m:
            continue
        prefix = "" if who == "candidate" else f"{who}_"
        out[f"{prefix}macro_f1"] = m["macro_f1"]
        out[f"{prefix}accuracy"] = m["accuracy"]
        for label, v in m["per_label"].items():
            for k in ("precision", "recall", "f1"):
                out[f"{prefix}{k}_{label}"] = v[k]
        for src, v in (m.get("per_source") or {}).items():
            out[f"{prefix}macro_f1_source_{src}"] = v["macro_f1"]
        for k in ("spam_recall_unseen", "normal_flagged_rate"):
            if m.get(k) is not None:
                out[f"{prefix}{k}"] = m[k]
        if "chrf" in m:
            out[f"{prefix}chrf"] = m["chrf"]
        golden = m.get("golden") or {}
        for src, v in (golden.get("per_source") or {}).items():
            out[f"{prefix}golden_macro_f1_source_{src}"] = v["macro_f1"]
        for k in ("macro_f1", "normal_flagged_rate", "spam_recall"):
            if golden.get(k) is not None:
                out[f"{prefix}golden_{k}"] = golden[k]
    return out


def train_label_shares(data_dir: str | os.PathLike) -> dict[str, float]:
    """Each label's share of the training rows (the split's train file); serving compares
    its live label shares with these (tag `train_label_shares` on the model version)."""
    counts = Counter(row["label"] for row in jsonl.load(Path(data_dir) / CHAT_FILE,
                                                        missing_ok=True))
    total = sum(counts.values())
    return {label: round(counts.get(label, 0) / total, 6) for label in LABELS} if total else {}


def mlflow_params(params: dict) -> dict[str, str]:
    """The run's params as MLflow takes them: flattened names, values cut at 500 characters;
    the cluster settings (kfp.*) are not a property of the model."""
    return {k: str(v)[:500] for k, v in flatten(params).items() if not k.startswith("kfp.")}


def register(data_dir: str | os.PathLike, model_dir: str | os.PathLike, eval_dir: str | os.PathLike,
             report_dir: str | os.PathLike, params: dict) -> dict:
    """Log params, metrics, plots, data version and validation report; register; gate."""
    import mlflow

    from components.model_registry import ChatloopPyfunc, client, ensure_experiment

    data, model, evals, report = (Path(p) for p in (data_dir, model_dir, eval_dir, report_dir))
    metrics = json.loads((evals / METRICS_FILE).read_text())
    version_info = json.loads((data / VERSION_FILE).read_text()) if (data / VERSION_FILE).exists() else {}
    data_version = version_info.get("data_version", {})
    meta = json.loads((model / META_FILE).read_text())
    name, cfg = params["registry"]["model_name"], params["gate"]
    passed, reasons = gate(metrics, cfg)

    mlflow.set_tracking_uri(tracking_uri())
    mlflow.set_experiment(experiment_id=ensure_experiment(params["registry"]["experiment"]))
    with mlflow.start_run(run_name=f"train-{time.strftime('%Y%m%d-%H%M%S')}") as run:
        mlflow.log_params(mlflow_params(params))
        mlflow.log_metrics(_metric_items(metrics))
        if cfg.get("behaviour") is not None:
            for who, prefix in (("candidate", ""), ("champion", "champion_")):
                mlflow.log_metrics(behaviour.metric_items((metrics.get(who) or {}).get("behaviour"),
                                                          cfg["behaviour"], prefix))
        mlflow.log_metrics({f"train_{k}": float(v) for k, v in meta.get("train", {}).items()
                            if isinstance(v, (int, float))})
        calibration = meta.get("calibration") or {}
        mlflow.log_metrics({f"calibration_{k}": float(v) for k, v in (
            ("toxic_floor", (meta.get("min_flag") or {}).get("toxic")),
            ("spam_floor", (meta.get("min_flag") or {}).get("spam")),
            ("normal_spam", calibration.get("normal_spam")),
            ("normal_flagged", calibration.get("normal_flagged")),
            ("normal_flagged_given", calibration.get("normal_flagged_given")),
            ("rows", calibration.get("rows"))) if v is not None})
        mlflow.set_tags({
            "data.git_rev": data_version.get("git_rev", "unknown"),
            "data.content_sha256": data_version.get("content_sha256", "unknown"),
            **{f"data.dvc.{k}": str(v) for k, v in (data_version.get("dvc") or {}).items()},
            "data.rows": str(version_info.get("rows", "")),
            "data.corrections": str(version_info.get("corrections", 0)),
            "gate": "passed" if passed else "failed",
            "gate_reasons": "; ".join(reasons),
            "champion_version": str(metrics.get("champion_version") or "none"),
            "base_model": meta.get("base", ""),
            "base_sha256": (meta.get("base_ref") or {}).get("sha256", ""),
        })
        for path in (evals / METRICS_FILE, evals / CONFUSION_FILE, data / VERSION_FILE):
            if path.exists():
                mlflow.log_artifact(str(path), artifact_path="evaluation")
        if report.exists():
            mlflow.log_artifacts(str(report), artifact_path="validation")
        info = mlflow.pyfunc.log_model(name="model", python_model=ChatloopPyfunc(),
                                       artifacts={"model_dir": str(model)},
                                       pip_requirements=PIP_REQUIREMENTS,
                                       registered_model_name=name)
        run_id = run.info.run_id

    c = client()
    version = str(info.registered_model_version)
    tags = {"gate": "passed" if passed else "failed", "gate_reasons": "; ".join(reasons),
            "macro_f1": f"{metrics['candidate']['macro_f1']:.4f}",
            "baseline_macro_f1": f"{metrics['baseline']['macro_f1']:.4f}",
            "data.git_rev": data_version.get("git_rev", "unknown"),
            "data.content_sha256": data_version.get("content_sha256", "unknown")}
    shares = train_label_shares(data)
    if shares:
        tags["train_label_shares"] = json.dumps(shares, sort_keys=True)
    for key, value in tags.items():
        c.set_model_version_tag(name, version, key, value)
    if passed:
        c.set_registered_model_alias(name, "challenger", version)
    return {"model_name": name, "version": version, "gate": tags["gate"], "reasons": reasons,
            "run_id": run_id, "macro_f1": metrics["candidate"]["macro_f1"],
            "tracking_uri": tracking_uri()}


def register_step(params: dict, data_dir: str, model_dir: str, eval_dir: str, report_dir: str) -> dict:
    """Pipeline entry point (wrapped by pipelines.steps)."""
    return register(data_dir, model_dir, eval_dir, report_dir, params)
