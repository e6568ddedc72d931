"""Gate, promotion, model loading by URI, and `chatloop classify` against a real MLflow store."""
import json

import mlflow
import pytest

from chatloop.cli import main
from components.register import gate
from components.model_registry import RegistryError, client, load_model, promote, resolve_version

CFG = {"min_improvement": 0.0, "max_label_drop": 0.05, "baseline_margin": 0.02,
       "golden": {"required": False}}


def m(macro, per=None):
    per = per or {}
    return {"macro_f1": macro, "per_label": {l: {"f1": per.get(l, macro)}
                                             for l in ("normal", "question", "toxic", "spam")}}


def test_gate_without_champion_uses_the_baseline_floor():
    ok, reasons = gate({"candidate": m(0.90), "baseline": m(0.91), "champion": None}, CFG)
    assert ok and "no champion yet" in reasons
    ok, reasons = gate({"candidate": m(0.80), "baseline": m(0.91), "champion": None}, CFG)
    assert not ok and any("below the TF-IDF baseline floor" in r for r in reasons)


def test_gate_against_champion_margin_and_label_drop():
    base = m(0.5)
    ok, _ = gate({"candidate": m(0.92), "baseline": base, "champion": m(0.90), "champion_version": "3"},
                 {**CFG, "min_improvement": 0.01})
    assert ok
    ok, reasons = gate({"candidate": m(0.905), "baseline": base, "champion": m(0.90),
                        "champion_version": "3"}, {**CFG, "min_improvement": 0.01})
    assert not ok and any("does not beat champion v3" in r for r in reasons)
    ok, reasons = gate({"candidate": m(0.95, {"toxic": 0.80}), "baseline": base,
                        "champion": m(0.90), "champion_version": "3"}, CFG)
    assert not ok and any("F1 of 'toxic' drops" in r for r in reasons)


def test_registered_version_has_tags_alias_and_loads(registry):
    c = client()
    mv = c.get_model_version("chatloop", registry["version"])
    assert mv.tags["gate"] == "passed"
    assert mv.tags["data.content_sha256"]
    model = c.get_registered_model("chatloop")
    assert str(model.aliases["champion"]) == registry["version"]
    assert resolve_version("models:/chatloop@champion") == registry["version"]
    chat, version = load_model("models:/chatloop@champion")
    assert version == registry["version"]
    out = chat.classify(["오늘 방송 몇 시까지 해요?", "무료 코인 지급 카톡 abc123"])
    assert [r["label"] for r in out] == ["question", "spam"]
    run = c.get_run(mv.run_id)
    assert run.data.metrics["macro_f1"] > 0.8 and "baseline_macro_f1" in run.data.metrics
    assert run.data.metrics["calibration_toxic_floor"] == chat.min_flag["toxic"]  # the ones served
    assert run.data.metrics["calibration_spam_floor"] == chat.min_flag["spam"]
    artifacts = {a.path for a in c.list_artifacts(mv.run_id, "evaluation")}
    assert "evaluation/confusion.png" in artifacts


def test_every_profile_logs_as_mlflow_params(registry):
    """register logs the flattened params: each profile's names must pass a real store's checks
    (a per-source cap's "*" key once failed the real-profile run at its last step)."""
    from components.config import flatten, load_params
    from components.register import mlflow_params
    client()
    per_source_cap = 'data.max_train_per_source_label={"*": 1200, korean-hate-speech: 2400}'
    for profile, overrides in ((None, []), ("real", []), ("gemma", []), ("tiny", []),
                              ("real", [per_source_cap])):
        logged = mlflow_params(load_params(profile=profile, overrides=overrides))
        with mlflow.start_run(run_name=f"params-{profile}") as run:
            mlflow.log_params(logged)
        assert client().get_run(run.info.run_id).data.params == logged
    assert flatten({"cap": {"*": 1, "korean-hate-speech": 2}}) == {"cap._": 1, "cap.korean-hate-speech": 2}


def test_pyfunc_flavour_predicts(registry):
    import pandas as pd
    client()  # points mlflow at this session's store
    model = mlflow.pyfunc.load_model(f"models:/chatloop/{registry['version']}")
    frame = model.predict(pd.DataFrame({"text": ["시발 꺼져", "ㅎㅇㅎㅇ"]}))
    assert list(frame.columns[:2]) == ["label", "confidence"]
    assert frame["label"].tolist()[0] == "toxic"


def test_promote_records_who_when_from_to(registry):
    c = client()
    record = promote(registry["version"], by="alice")
    assert record["from_version"] == registry["version"] and record["by"] == "alice"
    tags = c.get_model_version("chatloop", registry["version"]).tags
    assert tags["champion.promoted_by"] == "alice"


def test_bad_uris_are_clear_errors(registry, tmp_path):
    with pytest.raises(RegistryError, match="not a registry URI"):
        resolve_version("models:/chatloop")
    with pytest.raises(RegistryError):
        resolve_version("models:/chatloop@nosuchalias")
    with pytest.raises(RegistryError, match="model directory not found"):
        load_model(str(tmp_path / "missing"))


def test_classify_cli_keeps_order_and_writes_whole_file(registry, tmp_path):
    src = tmp_path / "in.jsonl"
    texts = ["대출 상담 010-1234-5678", "안녕하세요~", "마이크 뭐 쓰세요?", "병신아 꺼져"]
    src.write_text("".join(json.dumps({"text": t, "id": i}, ensure_ascii=False) + "\n"
                           for i, t in enumerate(texts)))
    out = tmp_path / "out.jsonl"
    assert main(["classify", "--model", "models:/chatloop@champion", "--input", str(src),
                 "--output", str(out)]) == 0
    rows = [json.loads(l) for l in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [0, 1, 2, 3]
    assert rows[0]["model_version"] == registry["version"]
    assert abs(sum(rows[0]["probs"].values()) - 1) < 1e-3
    assert rows[0]["label"] == "spam" and rows[2]["label"] == "question"


def test_classify_bad_input_exits_nonzero_and_writes_nothing(registry, tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "ok"}\n{"txt": "wrong key"}\n')
    out = tmp_path / "out.jsonl"
    assert main(["classify", "--model", "models:/chatloop@champion", "--input", str(src),
                 "--output", str(out)]) == 2
    assert "in.jsonl:2" in capsys.readouterr().err
    assert not out.exists()
    assert main(["classify", "--input", str(tmp_path / "none.jsonl"), "--output", str(out)]) == 2
