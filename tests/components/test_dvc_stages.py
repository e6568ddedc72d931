"""dvc.yaml's stages call the same step functions as the KFP pipeline."""
import yaml

from chatloop import stage
from components.config import ROOT


def test_every_dvc_stage_is_a_pipeline_step():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert list(stages) == list(stage.STEPS)
    for name, spec in stages.items():
        assert spec["cmd"] == f"python -m chatloop.stage {name} --profile=${{profile}}"


def test_ingest_and_validate_stages_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert stage.main(["ingest", "--profile", "tiny"]) == 0
    assert stage.main(["validate", "--profile", "tiny"]) == 0
    assert (tmp_path / "artifacts/data/train.jsonl").exists()
    assert (tmp_path / "artifacts/report/validation.json").exists()
    assert stage.main(["nope"]) == 2
