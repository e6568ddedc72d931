"""Session fixtures shared by every test area: a trained tiny model and a real MLflow registry.

Training happens once per test session (about a minute on 2 cores): every test that needs a
model uses the same directory, so the suite stays fast without faking the model.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Set before torch/glibc allocate: batched CPU training is ~1.5x faster without mmap churn.
os.environ.setdefault("MALLOC_MMAP_MAX_", "0")
os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", "100000000000")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"

# Small but real: the same code path as `chatloop pipeline run`, fewer epochs.
FAST = ["evaluate.answer_samples=8", "evaluate.max_new_tokens=16"]


@pytest.fixture(scope="session")
def fast_params():
    from components.config import load_params
    return load_params(profile="tiny", overrides=FAST)


@pytest.fixture(scope="session")
def sample_splits(tmp_path_factory, fast_params):
    """The bundled sample ingested into train/test splits (no feedback)."""
    from components.ingest import ingest
    out = tmp_path_factory.mktemp("splits")
    ingest(["data/sample"], out, test_size=0.2, seed=13)
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, sample_splits, fast_params):
    """A chatloop model directory trained on the sample (tiny local Gemma2 + LoRA)."""
    from components.train import train
    out = tmp_path_factory.mktemp("model") / "model"
    train(sample_splits, out, fast_params)
    return out


@pytest.fixture(scope="session")
def mlflow_home(tmp_path_factory):
    """A private state folder and SQLite MLflow store for the whole session."""
    home = tmp_path_factory.mktemp("chatloop-home")
    old = {k: os.environ.get(k) for k in ("CHATLOOP_HOME", "MLFLOW_TRACKING_URI")}
    os.environ["CHATLOOP_HOME"] = str(home)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{home / 'mlflow.db'}"
    yield home
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def registry(mlflow_home, tmp_path_factory, sample_splits, tiny_model_dir, fast_params):
    """`chatloop` version 1 registered (the real register step) and promoted to champion.

    Returns a dict: tracking_uri, model_name, version, eval_dir, report_dir, splits.
    """
    from components.evaluate import evaluate
    from components.register import register
    from components.model_registry import promote
    from components.validate import validate

    work = tmp_path_factory.mktemp("registry-run")
    report, evals = work / "report", work / "eval"
    validate(sample_splits, report, {**fast_params["data"], **fast_params["validate"]})
    evaluate(sample_splits, tiny_model_dir, evals, fast_params["evaluate"])
    result = register(sample_splits, tiny_model_dir, evals, report, fast_params)
    promote(result["version"], by="pytest")
    return {"tracking_uri": os.environ["MLFLOW_TRACKING_URI"], "model_name": "chatloop",
            "version": result["version"], "eval_dir": evals, "report_dir": report,
            "splits": sample_splits, "home": mlflow_home}


@pytest.fixture
def clean_copy(tmp_path):
    """A helper to copy a splits folder so a test can plant faults in it."""
    def copy(src: Path) -> Path:
        dst = tmp_path / "splits"
        shutil.copytree(src, dst)
        return dst
    return copy
