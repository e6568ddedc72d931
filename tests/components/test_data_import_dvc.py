"""`chatloop data import` versions data/raw with real DVC in a temporary git repository."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from components.data_import import DataImportError, import_datasets


def run(cwd: Path, *cmd: str) -> str:
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path) -> Path:
    """A git repo with DVC initialised and a local-folder default remote (as the project)."""
    root = tmp_path / "project"
    root.mkdir()
    run(root, "git", "init", "-q")
    run(root, sys.executable, "-m", "dvc", "init", "-q")
    run(root, sys.executable, "-m", "dvc", "remote", "add", "-d", "local", str(tmp_path / "remote"))
    (root / ".gitignore").write_text("/data/raw\n")
    return root


def md5(repo: Path) -> str:
    return yaml.safe_load((repo / "data" / "raw.dvc").read_text())["outs"][0]["md5"]


def test_import_adds_and_pushes_a_data_version(repo, make_shared, tmp_path):
    out = repo / "data" / "raw"
    import_datasets(str(make_shared()), str(out), dvc=True, push=True, spam_rows=20)
    first = md5(repo)
    assert first.endswith(".dir") and (tmp_path / "remote").is_dir()
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    # The pushed version comes back from the remote after the folder and cache are gone.
    shutil.rmtree(out)
    shutil.rmtree(repo / ".dvc" / "cache")
    run(repo, sys.executable, "-m", "dvc", "pull", "-q", "data/raw.dvc")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

    # New input gives a new version.
    newer = make_shared({"3i4k/fci_train_val.txt": "2\t오늘 방송 몇 시까지 해?\n"}, name="newer")
    import_datasets(str(newer), str(out), dvc=True, spam_rows=20)
    assert md5(repo) != first


def test_push_failure_is_a_clear_error(repo, make_shared, tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the remote folder should be")
    run(repo, sys.executable, "-m", "dvc", "remote", "modify", "local", "url", str(blocker / "remote"))
    with pytest.raises(DataImportError, match="`dvc push data/raw.dvc` failed") as err:
        import_datasets(str(make_shared()), str(repo / "data" / "raw"), dvc=True, push=True,
                        spam_rows=20)
    assert (repo / "data" / "raw.dvc").exists()     # the add itself succeeded
