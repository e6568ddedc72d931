"""MLflow registry helpers: the pyfunc model, resolving and loading model URIs, promotion.

A registered version is a `pyfunc` model whose artifact is the chatloop model directory
(adapter + tokenizer, plus the base when it is the locally built tiny one): logging a
PeftModel through `mlflow.transformers` reloads wrong weights. Aliases, not stages:
`challenger` is set by the pipeline's gate, `champion` by a person (MLflow UI or
`chatloop promote`, which refuses a version whose gate failed or was never run unless forced).
"""
from __future__ import annotations

import getpass
import logging
import os
import re
import shutil
import time
from pathlib import Path

from chatloop.errors import ChatloopError
from components.config import state_dir, tracking_uri

log = logging.getLogger(__name__)
URI_RE = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[\w-]+)|/(?P<version>\d+))$")

import pandas as pd
from mlflow.pyfunc import PythonModel


class RegistryError(ChatloopError):
    """A model URI that does not resolve (no such model, alias or version)."""


class GateRefused(RegistryError):
    """`promote` of a version whose gate failed or that has no gate tag (without force)."""


class ChatloopPyfunc(PythonModel):
    """`mlflow.pyfunc` flavour: predict() takes a DataFrame with a `text` column."""

    def load_context(self, context):
        from components.model import ChatModel
        self.model = ChatModel.load(context.artifacts["model_dir"])

    # The DataFrame hint keeps MLflow from warning at import ("add type hints") while
    # leaving its schema validation off: a DataFrame hint infers no signature.
    def predict(self, context, model_input: pd.DataFrame, params=None):
        import pandas as pd
        texts = list(model_input["text"]) if hasattr(model_input, "columns") else list(model_input)
        rows = self.model.classify([str(t) for t in texts])
        return pd.DataFrame([{"label": r["label"], "confidence": r["confidence"], **r["probs"]}
                             for r in rows])


def client():
    import mlflow
    mlflow.set_tracking_uri(tracking_uri())
    return mlflow.MlflowClient()


def parse_uri(uri: str) -> tuple[str, str | None, str | None]:
    """models:/NAME@ALIAS or models:/NAME/VERSION -> (name, alias, version)."""
    match = URI_RE.match(uri)
    if not match:
        raise RegistryError(f"not a registry URI: {uri!r} (expected models:/NAME@ALIAS or models:/NAME/VERSION)")
    return match["name"], match["alias"], match["version"]


def resolve_version(uri: str) -> str:
    """The version a registry URI points at now (cheap: one registry call); local dirs -> 'local'."""
    if not uri.startswith("models:/"):
        if not Path(uri).is_dir():
            raise RegistryError(f"model directory not found: {uri}")
        return "local"
    from mlflow.exceptions import MlflowException
    name, alias, version = parse_uri(uri)
    try:
        mv = client().get_model_version_by_alias(name, alias) if alias \
            else client().get_model_version(name, version)
    except MlflowException as exc:
        raise RegistryError(f"{uri}: {exc.message}") from None
    return str(mv.version)


def model_dir_for(uri: str) -> tuple[Path, str]:
    """A local chatloop model directory for `uri` (downloaded once per version) and its version."""
    if not uri.startswith("models:/"):
        resolve_version(uri)
        return Path(uri), "local"
    import mlflow
    name, _, _ = parse_uri(uri)
    version = resolve_version(uri)
    cache = state_dir() / "models" / name / version
    if not (cache / "MLmodel").exists():
        tmp = cache.with_name(f".{version}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        mlflow.set_tracking_uri(tracking_uri())
        mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{name}/{version}", dst_path=str(tmp))
        shutil.rmtree(cache, ignore_errors=True)
        tmp.replace(cache)
    target = _artifact_dir(cache)
    if target is None:
        raise RegistryError(f"models:/{name}/{version} is not a chatloop model (no model_dir artifact)")
    return target, version


def _artifact_dir(model_root: Path) -> Path | None:
    """The chatloop model directory inside a downloaded pyfunc model, from its MLmodel file."""
    import yaml
    spec = yaml.safe_load((model_root / "MLmodel").read_text()) or {}
    artifacts = (spec.get("flavors", {}).get("python_function", {}).get("artifacts") or {})
    rel = (artifacts.get("model_dir") or {}).get("path")
    return model_root / rel if rel and (model_root / rel).is_dir() else None


def ensure_experiment(name: str) -> str:
    """The experiment's id, creating it with artifacts under the state folder for local stores."""
    c = client()
    experiment = c.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = None
    if tracking_uri().startswith("sqlite:"):
        location = (state_dir() / "mlartifacts").as_uri()
    return c.create_experiment(name, artifact_location=location)


def load_model(uri: str, device: str | None = None):
    """(ChatModel, version) for models:/NAME@ALIAS, models:/NAME/VERSION or a local model dir."""
    from components.model import ChatModel
    path, version = model_dir_for(uri)
    return ChatModel.load(path, device=device), version


def promote(version: str | None = None, model_name: str = "chatloop", by: str | None = None,
            alias: str = "champion", force: bool = False) -> dict:
    """Move `alias` (default champion) to `version` (default: the challenger), recording who,
    when, from and to as tags on the version and the registered model. A version whose gate
    failed, or that has no `gate` tag, is refused (GateRefused, with the gate's reasons)
    unless `force`; a forced promotion records `{alias}.forced` and the gate it overrode."""
    from mlflow.exceptions import MlflowException
    c = client()
    try:
        if version is None:
            version = str(c.get_model_version_by_alias(model_name, "challenger").version)
        mv = c.get_model_version(model_name, str(version))
    except MlflowException as exc:
        raise RegistryError(f"cannot promote: {exc.message}") from None
    gate = mv.tags.get("gate")
    if gate != "passed" and not force:
        why = (f"its gate failed: {mv.tags.get('gate_reasons') or 'no reasons recorded'}"
               if gate == "failed" else "it has no gate tag (not registered by the pipeline)")
        raise GateRefused(f"refusing to make {model_name} version {version} {alias}: {why}. "
                          "Use --force to promote it anyway (recorded on the version).")
    try:
        previous = str(c.get_model_version_by_alias(model_name, alias).version)
    except MlflowException:
        previous = None
    who = by or os.environ.get("USER") or getpass.getuser()
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    c.set_registered_model_alias(model_name, alias, str(version))
    record = {"alias": alias, "from_version": previous, "to_version": str(version), "by": who, "at": when}
    tags = [("promoted_by", who), ("promoted_at", when), ("promoted_from", previous or "none")]
    if gate != "passed":
        record["forced"] = True
        tags.append(("forced", f"gate {gate or 'missing'}"))
    for key, value in tags:
        c.set_model_version_tag(model_name, str(version), f"{alias}.{key}", value)
    c.set_registered_model_tag(model_name, f"{alias}.last_promotion",
                               f"{previous or 'none'} -> {version} by {who} at {when}")
    return record


def describe_promotion(record: dict) -> str:
    """One sentence for a `promote` record: which alias moved from which version to which."""
    alias, old, new = record["alias"], record["from_version"], record["to_version"]
    if old is None:
        moved = f"{alias} is now version {new} (there was no {alias} before)"
    elif old == new:
        moved = f"{alias} stays on version {new} (promoted again)"
    else:
        moved = f"{alias} moved from version {old} to version {new}"
    forced = " despite its gate (forced)" if record.get("forced") else ""
    return f"{moved}{forced}, by {record['by']} at {record['at']}"


def list_versions(model_name: str = "chatloop") -> list[dict]:
    """Every version with its aliases, gate tag and macro-F1, newest first."""
    c = client()
    aliases: dict[str, list[str]] = {}
    try:
        for alias, version in (c.get_registered_model(model_name).aliases or {}).items():
            aliases.setdefault(str(version), []).append(alias)
    except Exception as exc:  # noqa: BLE001 - mlflow raises its own types for a missing model
        raise RegistryError(f"no registered model {model_name!r}: {exc}") from None
    rows = []
    for mv in c.search_model_versions(f"name='{model_name}'"):
        rows.append({"version": mv.version, "aliases": ",".join(sorted(aliases.get(str(mv.version), []))) or "-",
                     "gate": mv.tags.get("gate", "?"), "macro_f1": mv.tags.get("macro_f1", "?"),
                     "run_id": mv.run_id})
    return sorted(rows, key=lambda r: -int(r["version"]))
