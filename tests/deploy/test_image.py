"""The container image: the locks it installs, its build context, and (slow) the real build
with scripts/build-image.sh followed by its smoke run as uid 10001 on a read-only root."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build-image.sh"
TEST_TOOLS = {"pytest", "pytest-timeout", "moto", "selenium", "hypothesis", "cfn-lint",
              "trio", "responses", "aws-xray-sdk", "py-partiql-parser"}
TOOLS = {"mmdebstrap": "mmdebstrap", "buildah": "buildah", "podman": "podman", "runc": "runc"}


def read_lock(name: str) -> dict[str, dict]:
    """{canonical name: {"version": ..., "hashes": [...]}} of a lock, continuation lines joined."""
    lines = [line for line in (ROOT / name).read_text().splitlines()
             if not line.lstrip().startswith("#")]
    out = {}
    for line in "\n".join(lines).replace("\\\n", " ").splitlines():
        line = line.strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9._-]+)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})*)", line)
        assert m, f"{name}: not a `name==version [--hash=...]` pin: {line!r}"
        out[canonicalize_name(m.group(1))] = {
            "version": m.group(2), "hashes": re.findall(r"sha256:([0-9a-f]{64})", m.group(3))}
    return out


def version() -> str:
    return re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)


def test_test_tools_live_in_the_dev_lock_not_the_runtime_lock():
    runtime, dev = read_lock("requirements.lock"), read_lock("requirements-dev.lock")
    assert not TEST_TOOLS & set(runtime), "test tools in the image's lock"
    assert TEST_TOOLS <= set(dev)
    assert not set(runtime) & set(dev), "a package pinned in both locks"


def test_runtime_lock_pins_setuptools_which_torch_pulls():
    runtime = read_lock("requirements.lock")
    assert runtime["torch"]["version"] == "2.13.0"
    assert "setuptools" in runtime


def test_dev_lock_pins_the_installed_hypothesis_and_its_dependencies():
    dev = read_lock("requirements-dev.lock")
    installed = metadata.version("hypothesis")   # scripts/setup.sh installs the dev lock
    assert dev["hypothesis"]["version"] == installed
    everything = {**read_lock("requirements.lock"), **dev}
    for req in metadata.requires("hypothesis") or []:
        if "extra ==" not in req:
            assert canonicalize_name(re.match(r"[A-Za-z0-9._-]+", req).group(0)) in everything, req


def test_cuda_lock_is_hashed_and_agrees_with_the_runtime_lock():
    cuda, runtime = read_lock("requirements-cuda.lock"), read_lock("requirements.lock")
    assert cuda["torch"]["version"] == runtime["torch"]["version"]
    assert {"triton", "nvidia-cudnn-cu13", "nvidia-nccl-cu13"} <= set(cuda)
    assert all(pin["hashes"] for pin in cuda.values()), "--require-hashes needs every pin hashed"
    shared = set(cuda) & set(runtime)
    assert {name: cuda[name]["version"] for name in shared} == \
        {name: runtime[name]["version"] for name in shared}


def test_dockerfile_base_user_and_locks():
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE_IMAGE=\S*python:3\.11[\w.-]*-slim-bookworm@sha256:[0-9a-f]{64}$",
                     text, re.M)
    assert re.search(r"^FROM \$\{BASE_IMAGE\}$", text, re.M)
    assert re.findall(r"^USER (\S+)$", text, re.M) == ["10001"]
    code = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    assert "requirements-dev.lock" not in code
    assert "pip.conf" not in code and "--mount" not in code


def test_dockerignore_keeps_tests_data_state_and_scripts_out():
    patterns = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")}
    assert {"deploy", "scripts", "tests", ".chatloop", "data", ".venv", ".git"} <= patterns
    for needed in ("requirements.lock", "requirements-models.lock", "requirements-cuda.lock",
                   "params.yaml", "pyproject.toml", "README.md"):
        assert needed not in patterns and (ROOT / needed).exists()


def test_build_script_names_the_apt_package_of_a_missing_tool(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "sed", "head", "dirname", "cat"):
        os.symlink(shutil.which(tool), bin_dir / tool)
    proc = subprocess.run([str(bin_dir / "bash"), str(SCRIPT)], capture_output=True, text=True,
                          env={"PATH": str(bin_dir)}, timeout=60)
    assert proc.returncode == 1
    assert "podman not found: install the Debian package 'podman'" in proc.stderr


def _cannot_build() -> str | None:
    """Why the image cannot be built here, or None."""
    missing = [f"{tool} (apt package {pkg})" for tool, pkg in TOOLS.items() if not shutil.which(tool)]
    if missing:
        return "image build tools missing: " + ", ".join(missing)
    probe = subprocess.run(["podman", "info", "--format", "{{.Store.GraphDriverName}}"],
                           capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        return f"podman cannot run here: {probe.stderr.strip()[-300:]}"
    return None


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_image_builds_and_smoke_runs_as_uid_10001_read_only():
    reason = _cannot_build()
    if reason:
        pytest.skip(reason)
    proc = subprocess.run([str(SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=3300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "usage: chatloop [-h]" in out
    assert "usage: chatloop serve" in out
    assert "usage: executor_main.py" in out
    assert "10001\nread-only" in out
    assert f"smoke passed: chatloop:{version()}" in out

    image = f"localhost/chatloop:{version()}"
    inspect = json.loads(subprocess.run(["podman", "image", "inspect", image], check=True,
                                        capture_output=True, text=True).stdout)[0]
    assert inspect["Config"]["User"] == "10001"
    run = ["podman", "run", "--rm", "--runtime", "runc", "--ulimit", "nofile=1024:1024",
           "--ulimit", "nproc=4096:4096", "--read-only", "--network", "none", image]
    found = subprocess.run(run + ["python", "-c", "import importlib.util as u; print(sorted("
                                  "m for m in ('pytest', 'moto', 'selenium', 'hypothesis') "
                                  "if u.find_spec(m)))"],
                           check=True, capture_output=True, text=True).stdout.strip()
    assert found == "[]", f"test tools in the image: {found}"
    # The build's pip configuration and mounts stay out of the layers.
    mount = subprocess.run(["podman", "image", "mount", image], check=True, capture_output=True,
                           text=True).stdout.strip()
    try:
        rootfs = Path(mount)
        assert (rootfs / "app" / "params.yaml").exists()
        for leaked in ("dev/chatloop-build", "run/chatloop-build", "etc/pip.conf",
                       "app/tests", "app/data", "app/.git"):
            assert not (rootfs / leaked).exists(), leaked
    finally:
        subprocess.run(["podman", "image", "unmount", image], capture_output=True)


def test_build_pip_config_mounts_what_the_host_configuration_names(tmp_path):
    (tmp_path / "idx" / "simple" / "pkg").mkdir(parents=True)
    (tmp_path / "idx" / "files").mkdir()
    for folder in ("wheels", "wheels-env", "xdg", "home"):
        (tmp_path / folder).mkdir()
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "constraints.txt").write_text("torch<=2.14.1\n")
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nindex-url = https://ci:s3cret@pypi.example/simple\n"
                    f"extra-index-url = file://{tmp_path}/idx/simple\n"
                    f"find-links = {tmp_path}/wheels\ncert = {tmp_path}/ca.pem\n"
                    f"[install]\nconstraint = {tmp_path}/constraints.txt\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=str(conf), PIP_FIND_LINKS=str(tmp_path / "wheels-env"),
               HOME=str(tmp_path / "home"), XDG_CONFIG_DIRS=str(tmp_path / "xdg"))
    out_dir = tmp_path / "out"
    proc = subprocess.run([str(SCRIPT), "--pip-config", str(out_dir)], capture_output=True,
                          text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    written = (out_dir / "pip.conf").read_text()
    volumes = dict(line.rsplit(":", 2)[:2] for line in (out_dir / "volumes").read_text().split())
    inside = {os.path.basename(host): path for host, path in volumes.items()}
    # remote URLs are kept (credentials and all) but never printed
    assert "index-url = https://ci:s3cret@pypi.example/simple" in written
    assert "s3cret" not in proc.stdout and "https://***@pypi.example/simple" in proc.stdout
    # a local index is mounted from its root, since its pages link to ../../files/
    assert volumes[str(tmp_path / "idx")].startswith("/dev/chatloop-build/")
    assert f"extra-index-url = file://{inside['idx']}/simple" in written
    # PIP_* variables win over the files; every local path is rewritten to its mount
    assert f"find-links = {inside['wheels-env']}\n" in written and "wheels" not in inside
    assert f"cert = {inside['ca.pem']}\n" in written
    assert f"[install]\nconstraint = {inside['constraints.txt']}\n" in written
    assert str(tmp_path) not in written
    assert (out_dir.stat().st_mode & 0o777) == 0o700

    conf.write_text(f"[global]\ncert = {tmp_path}/missing.pem\n")
    proc = subprocess.run([str(SCRIPT), "--pip-config", str(tmp_path / "out2")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode != 0
    assert f"names {tmp_path}/missing.pem, which does not exist" in proc.stderr
