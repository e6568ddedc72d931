"""One pipeline step for `dvc repro`: `python -m chatloop.stage STEP [--profile=NAME] [-v]`
(see dvc.yaml), and `follow_home`, which points a checkout's DVC remote at `CHATLOOP_HOME`.

The same component functions as the KFP pipeline, with fixed folders under artifacts/.
A ChatloopError is one line and exit 2; `-v` adds the traceback (chatloop.errors).
"""
from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path

from chatloop.errors import run_cli
from components.config import ROOT, load_params

OUT = "artifacts"
# step -> (module, function, folders passed after params)
STEPS = {
    "ingest": ("components.ingest", "ingest_step", ("data",)),
    "validate": ("components.validate", "validate_step", ("data", "report")),
    "train": ("components.train", "train_step", ("data", "model")),
    "evaluate": ("components.evaluate", "evaluate_step", ("data", "model", "eval")),
    "register": ("components.register", "register_step", ("data", "model", "eval", "report")),
}
REMOTE, DEFAULT_URL = "local", "../.chatloop/dvc-remote"   # .dvc/config's default remote
MARK = "written by chatloop: the DVC remote follows CHATLOOP_HOME (docs/training.md)"


def follow_home(repo: str | os.PathLike) -> str | None:
    """Make `repo`'s default DVC remote follow `CHATLOOP_HOME`: with it set, `.dvc/config.local`
    points remote `local` at `$CHATLOOP_HOME/dvc-remote`; unset, an override written here is
    removed. A remote the user changed in `.dvc/config` (e.g. S3) is left alone. Returns
    the URL now in force, or None when nothing applies."""
    from configobj import ConfigObj
    dvc = Path(repo) / ".dvc"
    if not (dvc / "config").is_file():
        return None
    section = f'remote "{REMOTE}"'
    shared = ConfigObj(str(dvc / "config"))
    if shared.get("core", {}).get("remote") != REMOTE \
            or shared.get(section, {}).get("url") != DEFAULT_URL:
        return None
    local = ConfigObj(str(dvc / "config.local"))
    ours = MARK in " ".join(local.initial_comment)
    home = os.environ.get("CHATLOOP_HOME")
    if home:
        url = str(Path(home).resolve() / "dvc-remote")
        if local.get(section, {}).get("url") != url:
            local.initial_comment = [f"# {MARK}"]
            local.setdefault(section, {})["url"] = url
            local.write()
        return url
    if ours and section in local:
        del local[section]
        local.write()
    return str((dvc / DEFAULT_URL).resolve())


def _missing_inputs(params: dict) -> list[str]:
    """Data paths in params that ingest would not find (relative ones are the project's)."""
    d = params["data"]
    return [p for p in [*d["sources"], d["golden"]] if p and not (ROOT / p).exists()]


def main(argv: list[str]) -> int:
    verbose = any(word in ("-v", "--verbose") for word in argv)
    argv = [word for word in argv if word not in ("-v", "--verbose")]
    profile = None
    if len(argv) == 2 and argv[1].startswith("--profile="):
        argv, profile = argv[:1], argv[1].split("=", 1)[1] or None
    elif argv[1:2] == ["--profile"] and len(argv) == 3:
        argv, profile = argv[:1], argv[2]
    if len(argv) != 1 or argv[0] not in STEPS:
        print(f"usage: python -m chatloop.stage {{{','.join(STEPS)}}} [--profile=NAME] [-v]",
              file=sys.stderr)
        return 2
    return run_cli("chatloop.stage", lambda: _run(argv[0], profile), verbose=verbose)


def _run(name: str, profile: str | None) -> int:
    params = load_params(profile=profile)
    if os.environ.get("DVC_ROOT"):   # under `dvc repro`: a later `dvc push` follows the home
        follow_home(os.environ["DVC_ROOT"])
    if name == "ingest" and (missing := _missing_inputs(params)):
        print(f"chatloop.stage: error: no {', '.join(missing)} in this checkout: run "
              "`chatloop data import` (or `dvc pull` where its .dvc pointers are committed), "
              "or set `profile: tiny` in dvc.yaml's vars for the bundled sample",
              file=sys.stderr)
        return 2
    module, function, folders = STEPS[name]
    step = getattr(importlib.import_module(module), function)
    result = step(params, *(f"{OUT}/{folder}" for folder in folders))
    print(json.dumps(result, ensure_ascii=False, default=str)[:2000])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
