"""params.yaml validated at load (components.settings.Params) and the environment reference (Env)."""
import re
from pathlib import Path

import pytest
import yaml

from components.config import ROOT, ParamsError, load_params, set_dotted
from components.settings import Env, fields_at


def write(tmp_path, params: dict) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def real() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def refused(match: str, **kwargs) -> ParamsError:
    with pytest.raises(ParamsError, match=match) as info:
        load_params(**kwargs)
    return info.value


# ------------------------------------------------------------------ the real file
@pytest.mark.parametrize("profile", [None, *real()["profiles"]])
def test_every_profile_of_the_real_params_validates(profile):
    params = load_params(profile=profile)
    assert "profiles" not in params and set(params) == set(real()) - {"profiles"}


def test_the_base_params_come_back_as_written():
    raw = real()
    raw.pop("profiles")
    params = load_params()
    assert params == raw and list(params) == list(raw)
    assert type(params["train"]["epochs"]) is int and type(params["kfp"]["train_cpu"]) is str


# --------------------------------------------------------------- unknown and bad keys
def test_unknown_key_is_named_with_a_suggestion():
    err = refused(r"^train\.epoch: unknown key \(did you mean train\.epochs\?\) \(from --set\)$",
                  overrides=["train.epoch=2"])
    assert err.problems == [str(err)] and isinstance(err, ValueError)
    refused(r"^serving\.rules\.lnk: unknown key \(did you mean serving\.rules\.link\?\)",
            overrides=["serving.rules.lnk=0.5"])
    refused(r"^nosuch: unknown key", overrides=["nosuch.key=1"])


def test_bad_values_are_named_with_what_was_expected():
    refused(r"^train\.epochs: expected an integer, got 'abc'", overrides=["train.epochs=abc"])
    refused(r"^train\.epochs: expected an integer, got True", overrides=["train.epochs=true"])
    refused(r"^train\.epochs: expected an integer, got 1\.5", overrides=["train.epochs=1.5"])
    refused(r"^model\.dtype: expected 'auto', 'bfloat16' or 'float32', got 'fp16'",
            overrides=["model.dtype=fp16"])
    refused(r"^train\.lora: expected a mapping, got 3", overrides=["train.lora=3"])
    refused(r"^model\.base: expected a string, got None", overrides=["model.base=null"])
    refused(r"^train\.epochs: not a section", overrides=["train.epochs.x=1"])
    refused(r"^train\.epochs: '\[' is not a YAML value", overrides=["train.epochs=["])
    refused(r"must look like section\.key=value", overrides=["train.epochs"])


def test_every_problem_is_reported_at_once():
    err = refused("train.epochs", overrides=["train.epochs=abc", "data.test_size=2"])
    assert [p.split(":")[0] for p in err.problems] == ["data.test_size", "train.epochs"]


def test_values_are_coerced_and_returned_typed():
    params = load_params(overrides=["train.epochs='2'", "kfp.train_cpu=8",
                                    "serving.poll_seconds=0.5", "data.golden="])
    assert params["train"]["epochs"] == 2 and type(params["train"]["epochs"]) is int
    assert params["kfp"]["train_cpu"] == "8"                       # a Kubernetes quantity
    assert params["serving"]["poll_seconds"] == 0.5
    assert params["data"]["golden"] == ""                          # YAML null: none


@pytest.mark.parametrize("override, match", [
    ("data.test_size=0", r"data\.test_size: must be > 0"),
    ("data.test_size=1", r"data\.test_size: must be < 1"),
    ("train.lora.alpha=0", r"train\.lora\.alpha: must be >= 1"),
    ("train.batch_size=0", r"train\.batch_size: must be >= 1"),
    ("train.normalize=nfkc", r"train\.normalize: expected 'none' or 'evasion'"),
    ("data.spam_holdout=source", r"data\.spam_holdout: expected 'family' or 'kind'"),
    ("feedback.trigger=cron", r"feedback\.trigger: expected 'local', 'kfp' or 'none'"),
    ("model.tiny.tokenizer=word", r"model\.tiny\.tokenizer: expected 'bpe' or 'char'"),
    ("serving.rules.link=1.5", r"serving\.rules\.link: must be <= 1"),
    ("validate.min_label_share=-0.1", r"validate\.min_label_share: must be >= 0"),
    ("data.max_answers=-1", r"data\.max_answers: must be >= 0"),
    ("data.max_train_per_source_label={'*': -1}",
     r"data\.max_train_per_source_label: cap for '\*': expected a whole number >= 0, got -1"),
    ("data.max_test_per_source_label=many", r"data\.max_test_per_source_label: expected a whole"),
    ("gate.golden.min_macro_f1.3i4k=85", r"gate\.golden\.min_macro_f1\.3i4k: must be <= 1"),
    ("kfp.train_memory=lots", r"kfp\.train_memory: expected a Kubernetes quantity"),
    ("kfp.tolerations=[{operator: Sometimes}]", r"kfp\.tolerations\[0\]\.operator: expected"),
    ("validate.min_label_share=0.95", r"^validate: min_label_share 0\.95 is above max_label_share"),
    ("serving.drift.min_decisions=5000", r"^serving\.drift: min_decisions 5000 is above window"),
    ("train.learning_rate=.nan", r"train\.learning_rate: expected a finite number, got nan"),
    ("model.tiny.pretrain_epochs=.inf", r"model\.tiny\.pretrain_epochs: expected a finite number"),
    ("model.tiny.pretrain_epochs=-1", r"model\.tiny\.pretrain_epochs: must be >= 0"),
    ("serving.poll_seconds=0", r"serving\.poll_seconds: must be > 0"),
    ("serving.actions.timeout_s=2000000", r"serving\.actions\.timeout_s: must be <= 1209600"),
    ("kfp.secrets={s: {k: not-a-var}}", r"kfp\.secrets\.s\.k: does not match"),
    ("model.tiny.num_key_value_heads=3", r"^model\.tiny: num_attention_heads 4 is not a multiple"),
])
def test_constraints_a_user_can_trip(override, match):
    refused(match, overrides=[override])


def test_per_source_caps_take_a_number_or_a_mapping():
    one = load_params(overrides=["data.max_train_per_source_label=500"])
    assert one["data"]["max_train_per_source_label"] == 500
    more = load_params(overrides=["data.max_train_per_source_label.3i4k=700"])  # a new source
    assert more["data"]["max_train_per_source_label"] == {"*": 300, "spam": 900, "3i4k": 700}


def test_ensemble_members_are_validated_at_load():
    refused(r"^train\.ensemble\[1\]: model\.tiny\.tokenizer: expected 'bpe' or 'char', got 'word'",
            overrides=["train.ensemble=[[model.tiny.tokenizer=char], [model.tiny.tokenizer=word]]"])
    refused(r"^train\.ensemble\[0\]: train\.epoch: unknown key \(did you mean train\.epochs\?\)",
            overrides=["train.ensemble=[[train.epoch=1]]"])
    refused(r"^train: member 0: 'x' is not section\.key=value",
            overrides=["train.ensemble=[[x]]"])
    ok = load_params(overrides=["train.ensemble=[[model.tiny.tokenizer=char]]"])
    assert ok["train"]["ensemble"] == [["model.tiny.tokenizer=char"]]


# ------------------------------------------------------------------- files and profiles
def test_a_typo_in_the_file_is_one_problem_not_two(tmp_path):
    params = real()
    params["train"]["epoch"] = params["train"].pop("epochs")
    err = refused("did you mean", path=write(tmp_path, params))
    assert err.problems == ["train.epoch: unknown key (did you mean train.epochs?)"]


def test_a_missing_key_is_refused(tmp_path):
    params = real()
    del params["serving"]["api"]["max_json_depth"]
    refused(r"^serving\.api\.max_json_depth: missing$", path=write(tmp_path, params))


def test_profiles_are_merged_then_validated_and_problems_name_the_profile(tmp_path):
    params = real()
    params["profiles"]["broken"] = {"train": {"epochs": 0, "lora": {"dropuot": 0.1}}}
    path = write(tmp_path, params)
    load_params(path)                                  # only the chosen profile is checked
    err = refused("broken", path=path, profile="broken")
    assert err.problems == [
        "train.epochs: must be >= 1, got 0 (from profile broken)",
        "train.lora.dropuot: unknown key (did you mean train.lora.dropout?) (from profile broken)"]
    refused(r"^profile: unknown 'nope'; known: \[", profile="nope")


def test_a_file_that_is_not_params_is_a_clear_error(tmp_path):
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    refused("expected a mapping of sections", path=tmp_path / "list.yaml")
    (tmp_path / "bad.yaml").write_text("train: {epochs: 1\n")
    refused("not valid YAML", path=tmp_path / "bad.yaml")


def test_set_dotted_keeps_refusing_unknown_keys_for_its_other_callers():
    params = load_params()
    with pytest.raises(KeyError, match="unknown parameter 'nope'"):
        set_dotted(params, "model.tiny.nope=1")
    set_dotted(params, "model.tiny.nope=1", create=True)
    assert params["model"]["tiny"]["nope"] == 1


BEHAVIOUR = ("gate.behaviour={required: true, max_invariance_flip: 0.1, direction_tolerance: 0.02, "
             "max_wrong_direction: 0.1, min_spam_rise: 0.05, "
             "min_must_pass: {normal: 0.9, question: 0.9, toxic: 0.9, spam: 0.9}}")


def test_gate_behaviour_is_optional_but_checked_when_present():
    assert "behaviour" not in load_params()["gate"] or real()["gate"].get("behaviour")
    assert load_params(overrides=[BEHAVIOUR])["gate"]["behaviour"]["min_must_pass"]["spam"] == 0.9
    refused(r"gate\.behaviour\.min_must_pass: floor of 'spam': expected a number in 0\.\.1",
            overrides=[BEHAVIOUR.replace("spam: 0.9}", "spam: 1.9}")])
    refused(r"gate\.behaviour\.min_must_pass: labels are .*missing \['spam'\]",
            overrides=[BEHAVIOUR.replace(", spam: 0.9", "")])


def test_every_parameter_is_described():
    from pydantic import BaseModel

    from components.settings import Params, Toleration

    def undescribed(model, prefix=""):
        for name, field in model.model_fields.items():
            key = prefix + (field.alias or name)
            kinds = [a for a in (field.annotation, *getattr(field.annotation, "__args__", ()))
                     if isinstance(a, type) and issubclass(a, BaseModel)]
            if kinds and kinds[0] is not Toleration:
                yield from undescribed(kinds[0], key + ".")
            elif not kinds and not field.description:
                yield key
    assert list(undescribed(Params)) == []


def test_fields_at_walks_the_schema():
    assert "epochs" in fields_at(("train",)) and "r" in fields_at(("train", "lora"))
    assert "operator" in fields_at(("kfp", "tolerations", 0))
    assert fields_at(("gate", "golden", "min_macro_f1")) == []      # any source goes


# ------------------------------------------------------------------------------- CLI
def test_cli_refuses_bad_params_before_any_work(monkeypatch, capsys):
    import pipelines.local_run
    from chatloop.cli import main
    started = []
    monkeypatch.setattr(pipelines.local_run, "run_local", lambda *a, **k: started.append(a) or 0)
    assert main(["pipeline", "run", "--set", "train.epoch=2"]) == 2
    assert "train.epoch: unknown key (did you mean train.epochs?)" in capsys.readouterr().err
    assert main(["pipeline", "run", "--set", "train.epochs=abc"]) == 2
    assert "train.epochs: expected an integer, got 'abc'" in capsys.readouterr().err
    assert started == []


# ---------------------------------------------------------------- feedback/export.py
def test_trigger_reads_the_validated_params_without_fallbacks(tmp_path):
    from feedback.export import ExportError, maybe_trigger
    from feedback.store import Store
    store = Store(f"sqlite:///{tmp_path / 'feedback.db'}")
    try:
        with pytest.raises(ExportError, match="lacks trigger"):          # was: trigger "none"
            maybe_trigger(store, tmp_path, {"export_threshold": 1, "local_command": "true"})
        with pytest.raises(ExportError, match="lacks export_threshold"):  # was: 100
            maybe_trigger(store, tmp_path, {"trigger": "local", "local_command": "true"})
        with pytest.raises(ExportError, match="lacks kfp_host, kfp_experiment"):
            maybe_trigger(store, tmp_path, {"trigger": "kfp", "export_threshold": 1})
        section = load_params()["feedback"]
        assert maybe_trigger(store, tmp_path, section) is None          # nothing exported yet
    finally:
        store.close()


# ------------------------------------------------------------------------ environment
def test_env_reads_typed_variables_and_hides_secrets(monkeypatch, tmp_path):
    monkeypatch.setenv("CHATLOOP_HOME", str(tmp_path))
    monkeypatch.setenv("CHATLOOP_TORCH_THREADS", "3")
    monkeypatch.setenv("TWITCH_TOKEN", "s3cret-value")
    monkeypatch.setenv("KFP_HOST", "")
    env = Env()
    assert env.chatloop_home == tmp_path and env.chatloop_torch_threads == 3
    assert env.kfp_host is None                                      # empty = unset
    assert "s3cret-value" not in repr(env) and env.twitch_token.get_secret_value() == "s3cret-value"


def test_env_read_checks_one_variable_only(monkeypatch, tmp_path):
    from pydantic import ValidationError

    from components.config import state_dir
    monkeypatch.setenv("CHATLOOP_TORCH_THREADS", "zero")
    monkeypatch.setenv("CHATLOOP_HOME", str(tmp_path / "home"))
    with pytest.raises(ValidationError, match="chatloop_torch_threads"):
        Env()
    assert state_dir() == tmp_path / "home" and (tmp_path / "home").is_dir()
    with pytest.raises(ValidationError):
        Env.read("chatloop_torch_threads")


def test_env_lists_every_variable_the_code_reads():
    """Env is the reference: each `os.environ.get("X")`, `environ["X"]`, `env.get("X")` and
    `X_ENV = "X"` in the packages names a field (f-string names are checked by prefix)."""
    fields = {name.upper() for name in Env.model_fields}
    read = re.compile(r"""(?:environ|env)(?:\.get\(|\[)\s*f?["']([A-Za-z_{}]+)["']""")
    const = re.compile(r"""^\w*ENV\w* *= *["']([A-Z][A-Z0-9_]+)["']""", re.M)
    pair = re.compile(r"""^\w*_ENV, *\w*_ENV *= *["']([A-Z0-9_]+)["'], *["']([A-Z0-9_]+)["']""", re.M)
    found = {}
    for package in ("chatloop", "components", "pipelines", "serving", "feedback"):
        for path in (ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            names = read.findall(text) + const.findall(text) + [n for p in pair.findall(text) for n in p]
            for name in names:
                found.setdefault(name, str(path.relative_to(ROOT)))
    undocumented = {}
    for name, where in found.items():
        if "{" in name:                              # f"{prefix}_REFRESH_TOKEN": some field ends so
            tail = name.split("}")[-1]
            if not any(f.endswith(tail) for f in fields):
                undocumented[name] = where
        elif name not in fields:
            undocumented[name] = where
    assert undocumented == {}, "add these to components.settings.Env"
