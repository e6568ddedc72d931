"""Project paths, params.yaml loading and the MLflow tracking URI default."""
from __future__ import annotations

import copy
import hashlib
import os
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PARAMS_FILE = ROOT / "params.yaml"


def state_dir() -> Path:
    """The git-ignored folder for local stores (`CHATLOOP_HOME`, default `.chatloop/`)."""
    path = Path(os.environ.get("CHATLOOP_HOME") or ROOT / ".chatloop")
    path.mkdir(parents=True, exist_ok=True)
    return path


def tracking_uri() -> str:
    """`MLFLOW_TRACKING_URI` when set, else a SQLite store in the state folder."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{state_dir() / 'mlflow.db'}"


def deep_merge(base: dict, override: dict) -> dict:
    """A copy of `base` with `override` merged in, recursively for nested mappings."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def set_dotted(params: dict, assignment: str) -> None:
    """Apply one `a.b.c=value` override in place; the value is parsed as YAML."""
    if "=" not in assignment:
        raise ValueError(f"override {assignment!r} must look like section.key=value")
    dotted, raw = assignment.split("=", 1)
    keys = dotted.strip().split(".")
    node = params
    for key in keys[:-1]:
        if not isinstance(node.get(key), dict):
            raise KeyError(f"override {dotted!r}: no section {key!r} in params")
        node = node[key]
    if keys[-1] not in node:
        raise KeyError(f"override {dotted!r}: unknown parameter {keys[-1]!r}")
    node[keys[-1]] = yaml.safe_load(raw)


def load_params(path: str | os.PathLike | None = None, profile: str | None = None,
                overrides: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """params.yaml, with a named profile from its `profiles:` section and `k=v` overrides."""
    with open(path or PARAMS_FILE, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    profiles = raw.pop("profiles", {}) or {}
    params = raw
    if profile:
        if profile not in profiles:
            raise KeyError(f"unknown params profile {profile!r}; known: {sorted(profiles)}")
        params = deep_merge(params, profiles[profile])
    for assignment in overrides:
        set_dotted(params, assignment)
    return params


def flatten(params: dict, prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} -> {'a.b': 1}, for MLflow params and metrics; characters MLflow refuses
    in a name (e.g. the "*" of a per-source cap) become "_"."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = prefix + re.sub(r"[^\w\-. :/]", "_", str(key), flags=re.ASCII)
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
