"""The project's generic top-level package names cannot silently collide with others."""
import pytest

import chatloop


def test_this_environment_has_no_clash():
    chatloop.check_packages()


def test_another_distribution_providing_a_name_is_refused(monkeypatch):
    import importlib.metadata as md
    real = md.packages_distributions()
    monkeypatch.setattr(md, "packages_distributions",
                        lambda: {**real, "serving": ["chatloop", "some-serving-lib"]})
    with pytest.raises(ImportError, match="'serving' is also installed by some-serving-lib"):
        chatloop.check_packages()


def test_cli_checks_before_any_work(monkeypatch, capsys):
    from chatloop.cli import main

    def clash():
        raise ImportError("chatloop's packages clash with others in this environment: x")
    monkeypatch.setattr("chatloop.cli.check_packages", clash)
    with pytest.raises(ImportError, match="clash"):
        main(["models"])
