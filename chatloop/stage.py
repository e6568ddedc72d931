"""One pipeline step for `dvc repro`: `python -m chatloop.stage STEP` (see dvc.yaml).

The same component functions as the KFP pipeline, with fixed folders under artifacts/.
"""
from __future__ import annotations

import importlib
import json
import sys

from components.config import load_params

OUT = "artifacts"
# step -> (module, function, folders passed after params)
STEPS = {
    "ingest": ("components.ingest", "ingest_step", ("data",)),
    "validate": ("components.validate", "validate_step", ("data", "report")),
    "train": ("components.train", "train_step", ("data", "model")),
    "evaluate": ("components.evaluate", "evaluate_step", ("data", "model", "eval")),
    "register": ("components.register", "register_step", ("data", "model", "eval", "report")),
}


def main(argv: list[str]) -> int:
    profile = None
    if argv[1:2] == ["--profile"] and len(argv) == 3:
        argv, profile = argv[:1], argv[2]
    if len(argv) != 1 or argv[0] not in STEPS:
        print(f"usage: python -m chatloop.stage {{{','.join(STEPS)}}} [--profile NAME]",
              file=sys.stderr)
        return 2
    module, function, folders = STEPS[argv[0]]
    step = getattr(importlib.import_module(module), function)
    result = step(load_params(profile=profile), *(f"{OUT}/{name}" for name in folders))
    print(json.dumps(result, ensure_ascii=False, default=str)[:2000])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
