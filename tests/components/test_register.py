"""The gate on the golden set: real chat the model never trained on."""
import json
import shutil

from components.register import gate, golden_gate

CFG = {"required": True, "min_macro_f1": {"curse-detection": 0.7, "independent": 0.6},
       "max_normal_flagged": 0.1, "min_spam_recall": 0.9}


def golden(curse=0.8, independent=0.7, flagged=0.05, recall=0.95):
    return {"rows": 100, "macro_f1": 0.8, "normal_flagged_rate": flagged, "spam_recall": recall,
            "normal_flagged_examples": ["구독 눌렀어요 -> spam"],
            "per_source": {"curse-detection": {"macro_f1": curse, "rows": 50},
                           "independent": {"macro_f1": independent, "rows": 50}}}


def test_each_golden_floor_fails_with_its_reason():
    assert golden_gate(golden(), CFG)[0]
    ok, reasons = golden_gate(golden(flagged=0.3), CFG)
    assert not ok and "30.0% of everyday normal chat is flagged" in reasons[0]
    assert "구독 눌렀어요 -> spam" in reasons[0]
    ok, reasons = golden_gate(golden(recall=0.5), CFG)
    assert not ok and "spam recall 0.5000 < 0.9" in reasons[0]
    ok, reasons = golden_gate(golden(curse=0.69), CFG)
    assert not ok and "macro-F1 on curse-detection 0.6900 < floor 0.7" in reasons[0]
    ok, reasons = golden_gate({**golden(), "per_source": {}}, CFG)
    assert not ok and "no rows of source 'curse-detection'" in reasons[0]


def test_a_missing_golden_set_fails_only_when_required():
    assert golden_gate(None, CFG) == (False, [
        "no golden set scored (data.golden is empty or missing) but gate.golden.required is true"])
    assert golden_gate(None, {**CFG, "required": False})[0]


def test_the_gate_fails_a_candidate_that_passes_the_split_but_not_real_chat():
    split = {"macro_f1": 0.99, "per_label": {}}
    metrics = {"candidate": {**split, "golden": golden(flagged=0.84)},
               "baseline": {"macro_f1": 0.9}, "champion": None}
    cfg = {"baseline_margin": 0.02, "min_improvement": 0, "max_label_drop": 0.05, "golden": CFG}
    ok, reasons = gate(metrics, cfg)
    assert not ok and any("everyday normal chat" in r for r in reasons)
    assert any(">= baseline floor" in r for r in reasons)            # the split alone passed


def test_evaluate_scores_the_golden_set_for_candidate_and_baseline(tiny_model_dir, sample_splits,
                                                                   fast_params, tmp_path):
    """The real evaluate step on the tiny sample model with the hand-written golden set: the
    figures the gate reads are there, for the candidate and the TF-IDF floor."""
    from components.data_import import independent_rows
    from components.evaluate import evaluate
    data = tmp_path / "data"
    shutil.copytree(sample_splits, data)
    rows = independent_rows()
    (data / "golden.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                               for r in rows), encoding="utf-8")
    result = evaluate(data, tiny_model_dir, tmp_path / "eval", fast_params["evaluate"])
    assert result["golden_rows"] == len(rows) == 520
    for who in ("candidate", "baseline"):
        g = result[who]["golden"]
        assert g["rows"] == 520 and set(g["per_source"]) == {"independent"}
        assert 0 <= g["normal_flagged_rate"] <= 1 and 0 <= g["spam_recall"] <= 1
    flagged = result["candidate"]["golden"]["normal_flagged_rate"]
    ok, reasons = golden_gate(result["candidate"]["golden"],
                              {**CFG, "min_macro_f1": {}, "min_spam_recall": 0,
                               "max_normal_flagged": flagged / 2})
    assert flagged > 0 and not ok and "everyday normal chat is flagged" in reasons[0]
