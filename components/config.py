"""Project paths, params.yaml loading (validated by components.settings) and the MLflow
tracking URI default."""
from __future__ import annotations

import copy
import hashlib
import os
import re
from pathlib import Path
from typing import Any

import yaml

from chatloop.errors import ChatloopError

ROOT = Path(__file__).resolve().parent.parent
PARAMS_FILE = ROOT / "params.yaml"


def state_dir() -> Path:
    """The git-ignored folder for local stores (`CHATLOOP_HOME`, default `.chatloop/`)."""
    from components.settings import Env
    path = Env.read("chatloop_home") or ROOT / ".chatloop"
    path.mkdir(parents=True, exist_ok=True)
    return path


def tracking_uri() -> str:
    """`MLFLOW_TRACKING_URI` when set, else a SQLite store in the state folder."""
    from components.settings import Env
    uri = Env.read("mlflow_tracking_uri")
    if uri and uri.startswith("http"):
        from chatloop.urls import check_service_url
        check_service_url(uri)    # MLflow credentials must not cross a network in the clear
    return uri or f"sqlite:///{state_dir() / 'mlflow.db'}"


class ParamsError(ChatloopError, ValueError):
    """Params that do not fit the schema (components.settings): one line per problem, each
    `key.path: what is wrong`; `problems` holds them."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def deep_merge(base: dict, override: dict) -> dict:
    """A copy of `base` with `override` merged in, recursively for nested mappings."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def set_dotted(params: dict, assignment: str, create: bool = False) -> None:
    """Apply one `a.b.c=value` override in place; the value is parsed as YAML. An unknown key
    is a KeyError, or with `create` is added (for the schema to name and refuse)."""
    dotted, _, raw = assignment.partition("=")
    keys = dotted.strip().split(".")
    if "=" not in assignment or not all(keys):
        raise ParamsError([f"override {assignment!r} must look like section.key=value"])
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ParamsError([f"{dotted.strip()}: {raw!r} is not a YAML value "
                           f"({getattr(exc, 'problem', None) or exc})"]) from None
    node = params
    for depth, key in enumerate(keys[:-1]):
        if create and key not in node:
            node[key] = {}
        if not isinstance(node.get(key), dict):
            if create:
                raise ParamsError([f"{'.'.join(keys[:depth + 1])}: not a section, "
                                   f"cannot set {dotted.strip()}"])
            raise KeyError(f"override {dotted!r}: no section {key!r} in params")
        node = node[key]
    if keys[-1] not in node and not create:
        raise KeyError(f"override {dotted!r}: unknown parameter {keys[-1]!r}")
    node[keys[-1]] = value


def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _problems(error, origin=None) -> list[str]:
    """The pydantic ValidationError as `path: problem` lines; an unknown key that is a near
    miss of a missing one is reported once, with the suggestion."""
    import difflib

    from components.settings import fields_at
    out, covered = [], set()
    for e in error.errors():
        loc = tuple(e["loc"])
        if e["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(loc[-1]), fields_at(loc[:-1]), n=1, cutoff=0.6)
            text = "unknown key"
            if close:
                text += f" (did you mean {_path(loc[:-1] + (close[0],))}?)"
                covered.add(loc[:-1] + (close[0],))
            out.append((loc, text))
        elif e["type"] == "missing":
            out.append((loc, "missing"))
        else:
            out.append((loc, _message(e)))
    lines = []
    for loc, text in out:
        if text == "missing" and loc in covered:
            continue
        where = origin(loc) if origin else ""
        lines.append(f"{_path(loc) or 'params'}: {text}{where}")
    return lines


_EXPECTED = {"int_parsing": "expected an integer", "int_type": "expected an integer",
             "int_from_float": "expected an integer", "float_parsing": "expected a number",
             "float_type": "expected a number", "finite_number": "expected a finite number",
             "bool_parsing": "expected true or false",
             "bool_type": "expected true or false", "string_type": "expected a string",
             "list_type": "expected a list", "dict_type": "expected a mapping",
             "model_type": "expected a mapping", "model_attributes_type": "expected a mapping"}
_BOUNDS = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=",
           "less_than": "<"}


def _message(e: dict) -> str:
    kind, ctx, got = e["type"], e.get("ctx") or {}, repr(e.get("input"))[:80]
    if kind in _EXPECTED:
        return f"{_EXPECTED[kind]}, got {got}"
    if kind == "literal_error":
        return f"expected {ctx['expected']}, got {got}"
    if kind in _BOUNDS:
        return f"must be {_BOUNDS[kind]} {next(iter(ctx.values()))}, got {got}"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s), got {got}"
    if kind == "string_pattern_mismatch":
        return f"does not match {ctx.get('pattern')}, got {got}"
    return e["msg"].removeprefix("Value error, ")


def validate_params(params: dict, origin=None) -> dict:
    """`params` checked against components.settings.Params: a plain dict of the typed values
    (e.g. "2" -> 2), or ParamsError naming every bad key. `origin(loc)` may add where a key
    came from to its message."""
    from pydantic import ValidationError

    from components.settings import Params
    if not isinstance(params, dict):
        raise ParamsError([f"params: expected a mapping, got {type(params).__name__}"])
    try:
        return Params.model_validate(params).dump()
    except ValidationError as exc:
        raise ParamsError(_problems(exc, origin)) from None


def load_params(path: str | os.PathLike | None = None, profile: str | None = None,
                overrides: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """params.yaml, with a named profile from its `profiles:` section deep-merged and
    `k=v` overrides, validated (components.settings; ParamsError) and typed."""
    file = Path(path or PARAMS_FILE)
    try:
        with open(file, encoding="utf-8") as fh:
            raw = yaml.safe_load(fh) or {}
    except yaml.YAMLError as exc:
        raise ParamsError([f"{file}: not valid YAML: {exc}"]) from None
    if not isinstance(raw, dict):
        raise ParamsError([f"{file}: expected a mapping of sections, got {type(raw).__name__}"])
    profiles = raw.pop("profiles", None) or {}
    params, chosen = raw, {}
    if profile:
        if profile not in profiles:
            raise ParamsError([f"profile: unknown {profile!r}; known: {sorted(profiles)}"])
        chosen = profiles[profile]
        if not isinstance(chosen, dict):
            raise ParamsError([f"profiles.{profile}: expected a mapping, got {chosen!r}"])
        params = deep_merge(params, chosen)
    set_by = set()
    for assignment in overrides:
        set_dotted(params, assignment, create=True)
        set_by.add(tuple(assignment.split("=", 1)[0].strip().split(".")))

    def origin(loc: tuple) -> str:
        if any(loc[:len(keys)] == keys or keys[:len(loc)] == loc for keys in set_by):
            return " (from --set)"
        node = chosen
        for part in loc:
            if not isinstance(node, dict) or part not in node:
                return ""
            node = node[part]
        return f" (from profile {profile})"

    params = validate_params(params, origin)
    for i, member in enumerate(params["train"]["ensemble"]):
        one = copy.deepcopy(params)
        try:
            for assignment in member:
                set_dotted(one, assignment, create=True)
            validate_params(one)
        except ParamsError as exc:
            raise ParamsError([f"train.ensemble[{i}]: {p}" for p in exc.problems]) from None
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
