"""validate: a Great Expectations suite over the ingested splits.

Checks required columns, nulls, the label set, text length bounds, duplicates, train/test
overlap, label-share bounds and a minimum number of rows per label. Every expectation has
a readable name; a failure raises ValidationFailed naming each failed expectation with its
observed values. The report (JSON + Markdown) is written before anything is raised.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from chatloop.errors import ChatloopError
from components import jsonl
from components.ingest import ANSWERS_TRAIN, CHAT_FILE, TEST_FILE
from components.labels import LABELS, normalize_text

REPORT_JSON, REPORT_MD = "validation.json", "validation.md"


class ValidationFailed(ChatloopError):
    """The data failed the suite; the message lists every failed expectation."""


def _frame(rows: list[dict]):
    import pandas as pd
    df = pd.DataFrame(rows)
    for column in df.columns:
        df[column] = df[column].astype(object).where(df[column].notna(), None)
    if "text" in df.columns:
        df["text_key"] = [normalize_text(t) if isinstance(t, str) else None for t in df["text"]]
    return df


def chat_suite(gx, cfg: dict, test_keys: list[str] | None):
    """Expectations for one chat split; `test_keys` (train only) enables the overlap check."""
    E = gx.expectations
    lo, hi = int(cfg["min_chars"]), int(cfg["max_chars"])
    items = [(f"required column '{c}'", E.ExpectColumnToExist(column=c)) for c in ("text", "label", "source")]
    items += [(f"no null '{c}'", E.ExpectColumnValuesToNotBeNull(column=c)) for c in ("text", "label")]
    items += [
        ("labels in set", E.ExpectColumnValuesToBeInSet(column="label", value_set=list(LABELS))),
        (f"text length in [{lo}, {hi}]",
         E.ExpectColumnValueLengthsToBeBetween(column="text_key", min_value=lo, max_value=hi)),
        ("no duplicate texts", E.ExpectColumnValuesToBeUnique(column="text_key")),
    ]
    if test_keys is not None:
        items.append(("no train/test overlap",
                      E.ExpectColumnValuesToNotBeInSet(column="text_key", value_set=test_keys)))
        lo_share, hi_share = float(cfg["min_label_share"]), float(cfg["max_label_share"])
        for label in LABELS:
            items.append((f"share of '{label}' >= {lo_share}",
                          E.ExpectColumnValuesToBeInSet(column="label", value_set=[label], mostly=lo_share)))
            items.append((f"share of '{label}' <= {hi_share}",
                          E.ExpectColumnValuesToNotBeInSet(column="label", value_set=[label],
                                                           mostly=round(1 - hi_share, 6))))
    return items


def count_suite(gx, cfg: dict):
    n = int(cfg["min_rows_per_label"])
    return [(f"at least {n} rows per label",
             gx.expectations.ExpectColumnValuesToBeBetween(column="rows", min_value=n))]


def answer_suite(gx, cfg: dict):
    E = gx.expectations
    items = [(f"no null '{c}'", E.ExpectColumnValuesToNotBeNull(column=c)) for c in ("question", "answer")]
    if cfg["min_answer_rows"]:
        items.append((f"at least {cfg['min_answer_rows']} answer rows",
                      E.ExpectTableRowCountToBeBetween(min_value=int(cfg["min_answer_rows"]))))
    return items


def _observed(result: dict, expectation: str, name: str) -> object:
    if name.startswith("share of") and "unexpected_percent" in result:
        share = result["unexpected_percent"] / 100
        return {"share": round(share if "not_be_in_set" in expectation else 1 - share, 4)}
    if "observed_value" in result:
        return result["observed_value"]
    out = {k: result[k] for k in ("unexpected_count", "unexpected_percent", "element_count")
           if k in result}
    if result.get("partial_unexpected_list"):
        out["examples"] = result["partial_unexpected_list"][:5]
    return out


def run_suite(context, name: str, df, items) -> list[dict]:
    """Validate `df` against named expectations; one report entry per expectation."""
    import great_expectations as gx
    source = context.data_sources.add_pandas(f"chatloop_{name}")
    batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("all") \
        .get_batch(batch_parameters={"dataframe": df})
    suite = gx.ExpectationSuite(name=f"chatloop_{name}")
    for label, expectation in items:
        expectation.meta = {"name": label}
        suite.add_expectation(expectation)
    results = batch.validate(suite, result_format="SUMMARY")
    entries = []
    for r in results.results:
        cfg = r.expectation_config
        label = (cfg.meta or {}).get("name", cfg.type)
        entries.append({"table": name, "name": label,
                        "expectation": cfg.type, "success": bool(r.success),
                        "observed": _observed(r.result or {}, cfg.type, label),
                        "error": (r.exception_info or {}).get("exception_message")
                        if not r.success else None})
    return entries


def validate(data_dir: str | os.PathLike, report_dir: str | os.PathLike, cfg: dict) -> dict:
    """Run the suite on `data_dir`'s splits, write the report to `report_dir`, raise on failure."""
    import great_expectations as gx
    import pandas as pd

    data = Path(data_dir)
    train, test, answers = (_frame(jsonl.load(data / name, missing_ok=True))
                            for name in (CHAT_FILE, TEST_FILE, ANSWERS_TRAIN))
    from great_expectations.data_context.types.base import ProgressBarsConfig
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    test_keys = sorted({k for k in test.get("text_key", []) if k}) if len(test) else []
    entries = run_suite(context, "train", train, chat_suite(gx, cfg, test_keys))
    entries += run_suite(context, "test", test, chat_suite(gx, cfg, None))
    for split, df in (("train", train), ("test", test)):
        counts = df["label"].value_counts() if "label" in df else pd.Series(dtype=int)
        table = pd.DataFrame({"label": list(LABELS), "rows": [int(counts.get(l, 0)) for l in LABELS]})
        for entry in run_suite(context, f"{split}_label_counts", table, count_suite(gx, cfg)):
            entry["observed"] = dict(zip(table["label"], table["rows"].tolist()))
            entries.append(entry)
    if len(answers):
        entries += run_suite(context, "answers", answers, answer_suite(gx, cfg))

    failed = [e for e in entries if not e["success"]]
    report = {"success": not failed, "evaluated": len(entries), "failed": len(failed),
              "rows": {"train": len(train), "test": len(test), "answers_train": len(answers)},
              "results": entries}
    out = Path(report_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / REPORT_JSON).write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    (out / REPORT_MD).write_text(render_markdown(report))
    if failed:
        lines = [f"  - [{e['table']}] {e['name']} ({e['expectation']}): observed {e['observed']}"
                 + (f"; error: {e['error']}" if e["error"] else "") for e in failed]
        raise ValidationFailed(f"data validation failed: {len(failed)} of {len(entries)} "
                               "expectations failed:\n" + "\n".join(lines))
    return report


def render_markdown(report: dict) -> str:
    lines = [f"# Data validation: {'passed' if report['success'] else 'FAILED'}", "",
             f"Rows: {report['rows']}", "", "| table | expectation | result | observed |",
             "|---|---|---|---|"]
    for e in report["results"]:
        observed = json.dumps(e["observed"], ensure_ascii=False, default=str)[:200]
        lines.append(f"| {e['table']} | {e['name']} | {'ok' if e['success'] else 'FAILED'} | {observed} |")
    return "\n".join(lines) + "\n"


def validate_step(params: dict, data_dir: str, report_dir: str) -> dict:
    """Pipeline entry point (wrapped by pipelines.steps)."""
    return validate(data_dir, report_dir, {**params["data"], **params["validate"]})
