"""Behavioural checks (components.behaviour): the check logic on stub models whose label
probabilities are a plain function of the text, the gate's reasons, and one run on the real
tiny model through evaluate and register."""
import copy
import json
import re

import numpy as np
import pytest

from components.behaviour import EVERYDAY, judge, measure, metric_items
from components.labels import LABELS
from components.register import gate

CFG = {"required": True, "max_invariance_flip": 0.1, "direction_tolerance": 0.02,
       "max_wrong_direction": 0.1, "min_spam_rise": 0.05,
       "min_must_pass": {"normal": 0.9, "question": 0.9, "toxic": 0.9, "spam": 0.9}}
TOXIC_WORDS = ("병신", "씨발", "새끼", "좆", "꺼져", "미친년", "지랄", "대가리", "애미", "씹")
LURES = ("http", "카톡", "텔레", "010-")
OFFERS = ("무료", "지급", "최저가", "수익", "당첨", "꽁머니", "늘려", "만들어", "대출", "19금")


class Stub:
    """label_probs from keywords: a lure (link, messenger id, phone) or an offer -> spam,
    an insult -> toxic, a trailing '?' -> question, else normal (0.85 on the label)."""

    def __init__(self, see_lures=True, flip_kk=(), lure_lowers_spam=False, toxic=True):
        self.see_lures, self.flip_kk = see_lures, set(flip_kk)
        self.lure_lowers_spam, self.toxic = lure_lowers_spam, toxic
        self.calls = 0

    def label(self, text: str) -> str:
        lure = any(w in text for w in LURES)
        if (self.see_lures and lure) or any(w in text for w in OFFERS):
            return "spam"
        if text.endswith("ㅋㅋ") and text[:-2] in self.flip_kk:
            return "spam"
        if self.toxic and any(w in text for w in TOXIC_WORDS):
            return "toxic"
        return "question" if text.endswith("?") else "normal"

    def label_probs(self, texts, batch_size=64):
        self.calls += 1
        out = np.full((len(texts), len(LABELS)), 0.05)
        for i, text in enumerate(texts):
            out[i, LABELS.index(self.label(text))] = 0.85
            if self.lure_lowers_spam and any(w in text for w in LURES):
                out[i] = [0.97, 0.01, 0.01, 0.01]
        return out


def test_a_sound_model_passes_every_check_in_one_call():
    stub = Stub()
    results = measure(stub)
    assert stub.calls == 1
    assert all(v["flipped"] == 0 and v["messages"] == len(EVERYDAY) == 30
               for v in results["invariance"].values())
    assert set(results["invariance"]) == {"kk", "fire", "laugh", "mention"}
    assert all(v["correct"] == v["messages"] == 10 for v in results["must_pass"].values())
    assert all(d == pytest.approx(0.8) for v in results["direction"].values()
               for d in v["spam_change"].values())
    ok, reasons = judge(results, CFG)
    assert ok and reasons == ["behaviour: invariance, direction and must-pass checks within "
                              "limits (most flips 0/30)"]
    json.dumps(results, ensure_ascii=False)                      # metrics.json takes it


def test_a_model_that_flips_on_kk_fails_invariance_with_examples():
    three = EVERYDAY[:3]                                          # 3/30 = 10%: at the limit
    assert judge(measure(Stub(flip_kk=three)), CFG)[0]
    four = EVERYDAY[:4]
    ok, reasons = judge(measure(Stub(flip_kk=four)), CFG)
    assert not ok and len(reasons) == 1
    assert reasons[0].startswith("behaviour: invariance ㅋㅋ flipped 4/30 normal messages (max 10%; "
                                 f"e.g. '{four[0]}ㅋㅋ' -> spam; '{four[1]}ㅋㅋ' -> spam)")


def test_a_model_that_ignores_links_fails_direction():
    ok, reasons = judge(measure(Stub(see_lures=False)), CFG)
    assert not ok
    assert "behaviour: direction link: spam probability rose +0.000 on average (min 0.05): " \
           "the model ignores it" in reasons
    assert any(r.startswith("behaviour: direction 카톡 id: ") for r in reasons)
    assert not any("fell" in r or "invariance" in r or "must-pass" in r for r in reasons)


def test_a_lure_that_lowers_spam_probability_is_the_wrong_way():
    ok, reasons = judge(measure(Stub(lure_lowers_spam=True)), CFG)
    assert not ok
    link = next(r for r in reasons if r.startswith("behaviour: direction link: spam probability fell"))
    assert "by more than 0.02 on 30/30 messages (max 10%; e.g. '" in link and "-0.040" in link


def test_must_pass_names_the_label_and_the_misses():
    ok, reasons = judge(measure(Stub(toxic=False)), CFG)
    assert not ok and reasons == [
        "behaviour: must-pass toxic 0/10 right (min 90%; e.g. '닥쳐 병신아' -> normal; "
        "'씨발 방송 좆같이 하네' -> normal)"]


def test_not_required_still_names_failures_but_passes():
    ok, reasons = judge(measure(Stub(toxic=False)), {**CFG, "required": False})
    assert ok and reasons[0].startswith("behaviour (not required): must-pass toxic 0/10 right")


def test_missing_results_fail_only_when_required():
    assert judge(None, CFG) == (False, ["behaviour: no behavioural results in metrics.json but "
                                        "gate.behaviour.required is true"])
    assert judge(None, {**CFG, "required": False})[0]


def test_bad_config_and_bad_probabilities_are_clear_errors():
    with pytest.raises(ValueError, match="gate.behaviour.min_spam_rise is missing"):
        judge({}, {k: v for k, v in CFG.items() if k != "min_spam_rise"})
    with pytest.raises(ValueError, match="min_must_pass has no floor for spam"):
        judge({}, {**CFG, "min_must_pass": {"normal": 1, "question": 1, "toxic": 1}})
    with pytest.raises(ValueError, match="0..1"):
        judge({}, {**CFG, "max_invariance_flip": 3})

    class Short:
        def label_probs(self, texts, batch_size=64):
            return np.zeros((len(texts) - 1, len(LABELS)))
    with pytest.raises(ValueError, match=r"label_probs returned shape"):
        measure(Short())


def test_metric_names_are_mlflow_safe_and_prefixed():
    items = metric_items(measure(Stub(flip_kk=EVERYDAY[:6])), CFG, "champion_")
    assert items["champion_behaviour_invariance_kk"] == pytest.approx(0.2)
    assert items["champion_behaviour_direction_link_rise"] == pytest.approx(0.8)
    assert items["champion_behaviour_direction_kakao_wrong"] == 0
    assert items["champion_behaviour_must_pass_toxic"] == 1
    assert all(re.fullmatch(r"[a-z_]+", name) for name in items)
    assert metric_items(None, CFG) == {}


def test_the_gate_names_the_behaviour_failure():
    split = {"macro_f1": 0.99, "per_label": {}, "behaviour": measure(Stub(flip_kk=EVERYDAY[:4]))}
    metrics = {"candidate": split, "baseline": {"macro_f1": 0.9}, "champion": None}
    cfg = {"baseline_margin": 0.02, "min_improvement": 0, "max_label_drop": 0.05,
           "golden": {"required": False}, "behaviour": CFG}
    ok, reasons = gate(metrics, cfg)
    assert not ok and any(r.startswith("behaviour: invariance ㅋㅋ flipped 4/30") for r in reasons)
    assert any(">= baseline floor" in r for r in reasons)             # the split alone passed
    ok, reasons = gate(metrics, {**cfg, "behaviour": {**CFG, "required": False}})
    assert ok and any(r.startswith("behaviour (not required): invariance ㅋㅋ") for r in reasons)
    without = {k: v for k, v in cfg.items() if k != "behaviour"}       # params without the section
    assert gate(metrics, without)[0]


def test_the_real_tiny_model_through_evaluate_and_register(registry, tiny_model_dir, fast_params,
                                                          tmp_path):
    """evaluate wrote the checks for the tiny model into metrics.json; register logs them and
    puts the verdict in the gate reasons (their quality is not asserted: it never read Korean)."""
    import mlflow

    from components.evaluate import METRICS_FILE
    from components.register import register
    found = json.loads((registry["eval_dir"] / METRICS_FILE).read_text())["candidate"]["behaviour"]
    assert set(found) == {"invariance", "direction", "must_pass"}
    assert set(found["must_pass"]) == set(LABELS)
    assert all(0 <= v["flipped"] <= v["messages"] == 30 for v in found["invariance"].values())
    assert all(len(v["spam_change"]) == 30 for v in found["direction"].values())

    params = copy.deepcopy(fast_params)
    params["registry"]["model_name"] = "chatloop-behaviour"          # not the shared fixture's
    params["gate"]["behaviour"] = {**CFG, "required": False}
    result = register(registry["splits"], tiny_model_dir, registry["eval_dir"],
                      registry["report_dir"], params)
    run = mlflow.MlflowClient().get_run(result["run_id"])
    expected = metric_items(found, CFG)
    assert len(expected) == 4 + 2 * 3 + 4
    assert {k: run.data.metrics[k] for k in expected} == pytest.approx(expected)
    assert any(r.startswith("behaviour") for r in result["reasons"])
    assert "behaviour" in run.data.tags["gate_reasons"]
