"""components.dvc: the one wrapper of the `dvc` command, run for real."""
from __future__ import annotations

import pytest

from chatloop.errors import ChatloopError
from components import dvc


@pytest.fixture(autouse=True)
def _no_analytics(monkeypatch):
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")


def test_root_finds_the_repository_and_run_reports_dvcs_error(tmp_path):
    repo = tmp_path / "repo"
    (repo / "data" / "raw").mkdir(parents=True)
    with pytest.raises(dvc.DvcError, match="not inside a DVC repository"):
        dvc.root(repo / "data" / "raw")
    dvc.run(repo, "init", "--no-scm", "-q")
    assert dvc.root(repo / "data" / "raw") == repo.resolve()
    with pytest.raises(dvc.DvcError) as err:
        dvc.run(repo, "add", "data/missing")
    message = str(err.value)
    assert message.startswith(f"`dvc add data/missing` failed in {repo} (exit ")
    assert "ERROR" in message and "data/missing" in message.split("):", 1)[1]
    assert isinstance(err.value, ChatloopError)


def test_a_command_that_cannot_start_is_a_dvc_error(tmp_path):
    with pytest.raises(dvc.DvcError, match="could not start"):
        dvc.run(tmp_path / "no-such-folder", "version")
