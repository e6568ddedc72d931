"""Thin KFP wrappers: one `@dsl.component` per step, each calling the plain function in
`components/`. Every artifact is a directory (`artifact.path`) that the step reads or writes.

The image comes from `CHATLOOP_IMAGE` when set at import time, else params.yaml `kfp.image`;
compiling sets it again per task from `--image`, `CHATLOOP_IMAGE` or the params compiled. Imports live
inside the functions because KFP ships each function's source on its own to the container.
"""
import os

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Model, Output


def default_image(params: dict | None = None) -> str:
    """`CHATLOOP_IMAGE`, else `kfp.image` of `params` (default: params.yaml)."""
    if os.environ.get("CHATLOOP_IMAGE"):
        return os.environ["CHATLOOP_IMAGE"]
    from components.config import load_params
    return (params or load_params())["kfp"]["image"]


IMAGE = default_image()
component = dsl.component(base_image=IMAGE, install_kfp_package=False)


@component
def ingest(params: dict, data: Output[Dataset], source: str = "", rev: str = "",
           repo: str = "") -> dict:
    """Read a data version (working tree, or `rev` of `repo`), merge corrections, split."""
    from components.ingest import ingest_step
    from pipelines.params import from_struct
    return ingest_step(from_struct(params), data.path, data=source, rev=rev, repo=repo)


@component
def validate(params: dict, data: Input[Dataset], report: Output[Artifact]) -> dict:
    """Great Expectations suite; fails the run (report written first) when it fails."""
    import os
    from components.validate import validate_step
    from pipelines.params import from_struct
    os.makedirs(report.path, exist_ok=True)
    return validate_step(from_struct(params), data.path, report.path)


@component
def train(params: dict, data: Input[Dataset], model: Output[Model]) -> dict:
    """LoRA SFT of the base model on the training split."""
    import os
    from components.train import train_step
    from pipelines.params import from_struct
    os.makedirs(model.path, exist_ok=True)
    return train_step(from_struct(params), data.path, model.path)


@component
def evaluate(params: dict, data: Input[Dataset], model: Input[Model],
             evaluation: Output[Artifact], metrics: Output[Metrics]) -> dict:
    """Candidate and champion on the test split; scalar results also go to `metrics`."""
    import os
    from components.config import flatten
    from components.evaluate import evaluate_step
    from pipelines.params import from_struct
    os.makedirs(evaluation.path, exist_ok=True)
    result = evaluate_step(from_struct(params), data.path, model.path, evaluation.path)
    for key, value in flatten(result).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            metrics.log_metric(key, value)
    return result


@component
def register(params: dict, data: Input[Dataset], model: Input[Model],
             evaluation: Input[Artifact], report: Input[Artifact]) -> dict:
    """Register the candidate in MLflow; the gate decides whether it becomes `challenger`."""
    from components.register import register_step
    from pipelines.params import from_struct
    return register_step(from_struct(params), data.path, model.path, evaluation.path,
                         report.path)
