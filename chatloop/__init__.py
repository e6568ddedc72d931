"""chatloop: a live-stream chat bot for Korean platforms with its MLOps loop.

The project keeps the top-level folders it was asked for (`chatloop`, `components`,
`pipelines`, `serving`, `feedback`) as import packages. They are installed editable from the
checkout (`pip install --no-deps -e .` in scripts/setup.sh and the image), so site-packages
holds a path hook, not copies, and a virtual environment of its own (`.venv`, the image) keeps
the generic names away from other projects. `check_packages` makes a clash loud: another
installed distribution that provides one of these names, or one of them imported from outside
this checkout, stops the CLI with the names and where they came from.
"""
from __future__ import annotations

from pathlib import Path

PACKAGES = ("chatloop", "components", "pipelines", "serving", "feedback")
ROOT = Path(__file__).resolve().parent.parent


def check_packages() -> None:
    """Raise ImportError when a project package name is also provided by another installed
    distribution, or resolves outside this checkout."""
    import importlib
    from importlib.metadata import packages_distributions

    problems = []
    provided = packages_distributions()
    for name in PACKAGES:
        others = sorted(d for d in provided.get(name, []) if d.lower() != "chatloop")
        if others:
            problems.append(f"{name!r} is also installed by {', '.join(others)}")
        where = Path(importlib.import_module(name).__file__).resolve().parent
        if where.parent != ROOT:
            problems.append(f"{name!r} is imported from {where}, not from {ROOT}")
    if problems:
        raise ImportError("chatloop's packages clash with others in this environment: "
                          + "; ".join(problems) + ". Install chatloop into its own virtual "
                          "environment (scripts/setup.sh creates .venv).")
