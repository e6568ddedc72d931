"""One error base (chatloop.errors.ChatloopError) and how the CLIs report errors: a user
error is one line and exit 2 (`-v` adds the traceback); a bug is not dressed up as one."""
from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from chatloop.errors import ChatloopError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("chatloop", "components", "pipelines", "serving", "feedback")


def project_exceptions() -> dict[str, type]:
    """Every exception class defined in the packages, nested ones included."""
    found: dict[str, type] = {}

    def visit(owner, where: str, module: str) -> None:
        for name, value in vars(owner).items():
            if inspect.isclass(value) and value.__module__ == module \
                    and f"{where}.{name}" not in found:
                if issubclass(value, BaseException):
                    found[f"{where}.{name}"] = value
                visit(value, f"{where}.{name}", module)

    for package in PACKAGES:     # files, not __path__: under pytest that can be tests/<package>
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            visit(importlib.import_module(name), name, name)
    return found


def test_every_project_exception_is_a_chatloop_error():
    found = project_exceptions()
    assert len(found) >= 25 and "serving.api.AnswerWorker.Busy" in found, sorted(found)
    assert {name for name, cls in found.items() if not issubclass(cls, ChatloopError)} == set()


def test_builtin_bases_stay_where_callers_catch_them():
    from components.config import ParamsError
    from components.labels import LabelError
    from feedback.client import FeedbackAPIError
    from feedback.store import FeedbackError, IdempotencyConflict
    assert issubclass(ParamsError, ValueError)           # test_config: params errors are ValueErrors
    assert issubclass(LabelError, ValueError)            # data_import parses rows under except ValueError
    assert issubclass(FeedbackError, ValueError) and issubclass(IdempotencyConflict, FeedbackError)
    assert issubclass(FeedbackAPIError, RuntimeError)    # feedback.commands: store or client errors


# ------------------------------------------------------------------------ user errors
BAD_PARAMS = ["pipeline", "compile", "--set", "train.epoch=2"]
MESSAGE = "train.epoch: unknown key (did you mean train.epochs?)"


def test_user_error_is_one_line_and_exit_2(tmp_path, capsys):
    from chatloop.cli import main
    assert main([*BAD_PARAMS, "-o", str(tmp_path / "p.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("chatloop: error: ") and MESSAGE in err and "Traceback" not in err


def test_verbose_user_error_prints_the_traceback_then_the_line(tmp_path, capsys):
    from chatloop.cli import main
    assert main(["-v", *BAD_PARAMS, "-o", str(tmp_path / "p.yaml")]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "components.config.ParamsError" in err
    assert err.rstrip().splitlines()[-1].startswith("chatloop: error: ")


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_installed_entry_point_reports_a_user_error_in_one_line(tmp_path):
    proc = run_cli("-m", "chatloop.cli", *BAD_PARAMS, "-o", str(tmp_path / "p.yaml"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert [line for line in proc.stderr.splitlines() if "error" in line] == \
        [f"chatloop: error: {MESSAGE} (from --set)"]


@pytest.mark.parametrize("verbose", [False, True])
def test_serve_reports_a_bad_source(monkeypatch, tmp_path, capsys, verbose):
    from serving.cli import main
    monkeypatch.setenv("CHATLOOP_HOME", str(tmp_path))
    monkeypatch.delenv("CHATLOOP_FEEDBACK_URL", raising=False)
    assert main(["--source", "nonsense", *(["-v"] if verbose else [])]) == 2
    err = capsys.readouterr().err
    assert "chatloop serve: error: source 'nonsense' must look like platform:channel" in err
    assert ("Traceback" in err) is verbose


def test_serve_refuses_a_bad_rate_as_a_user_error(monkeypatch, tmp_path, capsys):
    from serving.cli import main
    monkeypatch.setenv("CHATLOOP_HOME", str(tmp_path))
    monkeypatch.delenv("CHATLOOP_FEEDBACK_URL", raising=False)
    (tmp_path / "chat.jsonl").write_text('{"text": "hi"}\n', encoding="utf-8")
    assert main(["--source", f"replay:{tmp_path / 'chat.jsonl'}", "--rate", "0"]) == 2
    assert "--rate must be a positive number" in capsys.readouterr().err


def test_chatloop_verbose_reaches_the_routed_command(monkeypatch, tmp_path, capsys):
    from chatloop.cli import main
    monkeypatch.setenv("CHATLOOP_HOME", str(tmp_path))
    monkeypatch.delenv("CHATLOOP_FEEDBACK_URL", raising=False)
    assert main(["-v", "serve", "--source", "nonsense"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "serving.sources.base.SourceError" in err


@pytest.mark.parametrize("verbose", [False, True])
def test_feedback_export_failure_keeps_exit_1(tmp_path, capsys, verbose):
    from feedback.cli import main
    argv = ["export", "--repo", str(tmp_path), "--db", f"sqlite:///{tmp_path / 'f.db'}"]
    assert main(["-v", *argv] if verbose else argv) == 1        # not a git checkout
    err = capsys.readouterr().err
    assert "chatloop feedback export: error: `git rev-parse --show-toplevel` failed" in err
    assert ("Traceback" in err) is verbose


@pytest.mark.parametrize("verbose", [False, True])
def test_stage_reports_a_user_error(capsys, verbose):
    from chatloop import stage
    assert stage.main(["ingest", "--profile", "no-such-profile", *(["-v"] if verbose else [])]) == 2
    err = capsys.readouterr().err
    assert "chatloop.stage: error: profile: unknown 'no-such-profile'" in err
    assert ("Traceback" in err) is verbose


def test_interrupt_is_exit_130_without_a_traceback(monkeypatch, tmp_path, capsys):
    import components.sample
    from chatloop.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(components.sample, "write_sample", interrupted)
    assert main(["data", "sample", "-o", str(tmp_path / "s")]) == 130
    assert capsys.readouterr().err == "chatloop: interrupted\n"


# --------------------------------------------------------------------------- bugs
@pytest.mark.parametrize("bug", [ZeroDivisionError, KeyError, ValueError, LookupError])
def test_a_programming_error_is_not_reported_as_a_user_error(monkeypatch, tmp_path, capsys, bug):
    import components.sample
    from chatloop.cli import main

    def broken(*args, **kwargs):
        raise bug("a bug")
    monkeypatch.setattr(components.sample, "write_sample", broken)
    with pytest.raises(bug, match="a bug"):
        main(["data", "sample", "-o", str(tmp_path / "s")])
    assert "error" not in capsys.readouterr().err


def test_a_programming_error_prints_its_traceback(tmp_path):
    code = ("import sys, components.sample, chatloop.cli\n"
            "components.sample.write_sample = lambda *a, **k: 1 / 0\n"
            f"sys.exit(chatloop.cli.main(['data', 'sample', '-o', {str(tmp_path / 's')!r}]))\n")
    proc = run_cli("-c", code)
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr
    assert proc.stderr.rstrip().splitlines()[-1] == "ZeroDivisionError: division by zero"
    assert "chatloop: error" not in proc.stderr
