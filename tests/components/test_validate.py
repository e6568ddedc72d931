"""validate: each planted fault fails the suite with that expectation named."""
import json

import pytest

from components.validate import REPORT_JSON, ValidationFailed, validate

CFG = {"min_chars": 1, "max_chars": 300, "min_rows_per_label": 20, "min_label_share": 0.03,
       "max_label_share": 0.9, "min_answer_rows": 0}


def rewrite(path, change):
    rows = [json.loads(l) for l in path.read_text().splitlines()]
    rows = change(rows)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def test_clean_sample_passes(sample_splits, tmp_path):
    report = validate(sample_splits, tmp_path / "report", CFG)
    assert report["success"] and report["failed"] == 0
    assert (tmp_path / "report" / "validation.md").exists()


def planted(rows, fault):
    if fault == "null":
        rows[3]["text"] = None
    elif fault == "unknown label":
        rows[4]["label"] = "advert"
    elif fault == "empty text":
        rows[5]["text"] = ""
    elif fault == "duplicate":
        rows.append(dict(rows[0]))
    elif fault == "too few rows":
        rows = [r for r in rows if r["label"] != "question"][:] + \
            [r for r in rows if r["label"] == "question"][:5]
    return rows


@pytest.mark.parametrize("fault, expectation", [
    ("null", "no null 'text'"),
    ("unknown label", "labels in set"),
    ("empty text", "text length in [1, 300]"),
    ("duplicate", "no duplicate texts"),
    ("too few rows", "at least 20 rows per label"),
])
def test_planted_fault_names_its_expectation(sample_splits, clean_copy, tmp_path, fault, expectation):
    data = clean_copy(sample_splits)
    rewrite(data / "train.jsonl", lambda rows: planted(rows, fault))
    with pytest.raises(ValidationFailed) as info:
        validate(data, tmp_path / "report", CFG)
    assert expectation in str(info.value)
    assert "observed" in str(info.value)
    report = json.loads((tmp_path / "report" / REPORT_JSON).read_text())
    failed = {e["name"] for e in report["results"] if not e["success"]}
    assert expectation in failed


def test_train_test_overlap_is_caught(sample_splits, clean_copy, tmp_path):
    data = clean_copy(sample_splits)
    leaked = json.loads((data / "test.jsonl").read_text().splitlines()[0])
    rewrite(data / "train.jsonl", lambda rows: rows + [leaked])
    with pytest.raises(ValidationFailed, match="no train/test overlap"):
        validate(data, tmp_path / "report", CFG)


def test_label_share_bounds(sample_splits, clean_copy, tmp_path):
    data = clean_copy(sample_splits)
    rewrite(data / "train.jsonl", lambda rows: [r for r in rows if r["label"] != "toxic"]
            + [r for r in rows if r["label"] == "toxic"][:21])
    with pytest.raises(ValidationFailed, match=r"share of 'toxic' >= 0.05.*'share': 0.03"):
        validate(data, tmp_path / "report", {**CFG, "min_label_share": 0.05})
