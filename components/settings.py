"""The schema of params.yaml (one pydantic model per section) and of the environment (`Env`).

`components.config.load_params` validates the merged params (base, profile, `--set`) with
`Params`; the field descriptions below are the parameter reference. Every model refuses
unknown keys and every field is required (but the optional `gate.behaviour` and a
toleration's keys): params.yaml is the one place for values, the code has no defaults of
its own. `Env` lists the environment variables the code reads.
"""
from __future__ import annotations

import functools
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, create_model,
                      model_validator)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict


QUANTITY = re.compile(r"\d+(\.\d+)?(m|k|Ki|Mi|Gi|Ti|Pi|Ei|M|G|T|P|E)?")


def _error(kind: str, message: str, value: Any) -> PydanticCustomError:
    return PydanticCustomError(kind, message + ", got {got}", {"got": repr(value)[:80]})


def _no_bool(expected: str):
    def check(value: Any) -> Any:
        """YAML `true` is not the number 1."""
        if isinstance(value, bool):
            raise _error("bool_number", expected, value)
        return value
    return BeforeValidator(check)


def _number(value: Any) -> int | float:
    """An int stays an int and a float a float; a numeric string becomes either."""
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            try:
                value = float(value.strip())
            except ValueError:
                raise _error("number", "expected a number", value) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _error("number", "expected a finite number", value)
    return value


def _text(value: Any) -> Any:
    """A YAML number where a string is expected (e.g. `kfp.train_cpu=4`) is that string."""
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


def _optional_path(value: Any) -> Any:
    """`--set data.golden=` parses as YAML null: the same as "" (none)."""
    return "" if value is None else value


def _quantity(value: Any) -> str:
    value = _text(value)
    if not isinstance(value, str) or not QUANTITY.fullmatch(value):
        raise _error("quantity", "expected a Kubernetes quantity (e.g. 4, 500m, 32Gi)", value)
    return value


def _cap(value: Any) -> int | dict[str, int]:
    """A per-source cap: a whole number >= 0, or {source: that, "*": every other source}."""
    def one(cap: Any, where: str) -> int:
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
            raise _error("cap", f"{where}expected a whole number >= 0", cap)
        return cap
    if isinstance(value, dict):
        return {str(source): one(cap, f"cap for {source!r}: ") for source, cap in value.items()}
    return one(value, "")


_INT, _FLOAT = _no_bool("expected an integer"), _no_bool("expected a number")
Int = Annotated[int, _INT]
Count = Annotated[int, _INT, Field(ge=0)]
Positive = Annotated[int, _INT, Field(ge=1)]
Float = Annotated[float, _FLOAT]
Share = Annotated[float, _FLOAT, Field(ge=0, le=1)]
Delta = Annotated[float, _FLOAT, Field(ge=-1, le=1)]
Number = Annotated[int | float, BeforeValidator(_number)]
Seconds = Annotated[int | float, BeforeValidator(_number), Field(gt=0)]
Text = Annotated[str, BeforeValidator(_text)]
Name = Annotated[str, BeforeValidator(_text), Field(min_length=1)]
OptionalPath = Annotated[str, BeforeValidator(_optional_path)]
Cap = Annotated[int | dict[str, int], BeforeValidator(_cap)]
Quantity = Annotated[str, BeforeValidator(_quantity)]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=(), allow_inf_nan=False)


# ----------------------------------------------------------------------------- data
class Data(Section):
    """`data:` what is trained and tested on, and how it is split."""
    sources: list[str] = Field(description="files or folders of JSONL, relative to the project "
                               "root (real chat imported by `chatloop data import`)")
    golden: OptionalPath = Field(description="the fixed real-chat set every candidate is gated "
                                 "on, never trained on; \"\" = none")
    feedback: OptionalPath = Field(description="moderator corrections; they override the original "
                                   "labels; \"\" = none")
    test_size: Float = Field(gt=0, lt=1, description="share of the rows in the test split")
    seed: Int = Field(description="split seed")
    min_chars: Count = Field(description="validate: shortest message text")
    max_chars: Positive = Field(description="validate: longest message text")
    max_answers: Count = Field(description="cap on question/answer training pairs")
    max_train_per_source_label: Cap = Field(
        description="train rows kept per (source, label) after the split: a number for every "
                    "source or {source: n, \"*\": n for the others}; 0 = all")
    max_test_per_source_label: Cap = Field(description="the same for the test rows")
    spam_holdout: Literal["family", "kind"] = Field(
        description="spam test rows: unseen template families of every kind, or whole unseen "
                    "kinds (a stress test)")
    calibration_per_source: Count = Field(
        description="normal messages per source set aside from the training split (never "
                    "trained on) to choose the toxic floor (model.calibrate); 0 = none")

    @model_validator(mode="after")
    def _chars(self):
        if self.min_chars > self.max_chars:
            raise PydanticCustomError("cross", "min_chars {lo} is above max_chars {hi}",
                                      {"lo": self.min_chars, "hi": self.max_chars})
        return self


class DataImport(Section):
    """`data_import:` what `chatloop data import` generates and sets aside."""
    spam_rows: Count = Field(description="generated spam rows (balanced over the spam families)")
    spam_seed: Int = Field(description="seed of the spam generator")
    livechat_rows: Count = Field(description="generated everyday stream chat (normal + question): "
                                 "hard negatives, never evaluated on")
    livechat_seed: Int = Field(description="seed of the live-chat generator")
    cardqa_rows: Count = Field(description="generated questions answered from a channel card "
                               "(answer training pairs)")
    cardqa_seed: Int = Field(description="seed of the card-question generator")
    golden_per_label: Count = Field(description="rows per label of each real dataset set aside "
                                    "as the golden set")


class Validate(Section):
    """`validate:` the data checks (Great Expectations) before training."""
    min_rows_per_label: Count = Field(description="fewest training rows of any label")
    min_label_share: Share = Field(description="smallest share of any label")
    max_label_share: Share = Field(description="largest share of any label")
    min_answer_rows: Count = Field(description="fewest answer rows; 0 = no check")

    @model_validator(mode="after")
    def _shares(self):
        if self.min_label_share > self.max_label_share:
            raise PydanticCustomError("cross", "min_label_share {lo} is above max_label_share {hi}",
                                      {"lo": self.min_label_share, "hi": self.max_label_share})
        return self


# ---------------------------------------------------------------------------- model
class Tiny(Section):
    """`model.tiny:` the local random-init Gemma2 (model.base `tiny`)."""
    tokenizer: Literal["bpe", "char"] = Field(description="bpe (byte-level BPE) or char (a token "
                                              "is at most one character)")
    vocab_size: Positive = Field(description="tokenizer vocabulary size")
    hidden_size: Positive = Field(description="model width")
    intermediate_size: Positive = Field(description="MLP width")
    num_hidden_layers: Positive = Field(description="layers")
    num_attention_heads: Positive = Field(description="query heads")
    num_key_value_heads: Positive = Field(description="key/value heads (divides the query heads)")
    head_dim: Positive = Field(description="width of one head")
    max_position_embeddings: Positive = Field(description="longest sequence (also the sliding "
                                              "window)")
    init_embeddings: Literal["random", "cooccurrence"] = Field(
        description="random, or token vectors from the training texts' PPMI + SVD")
    pretrain_epochs: Number = Field(ge=0, description="causal-LM epochs over the training texts "
                                    "before SFT; 0 = none")
    pretrain_lr: Float = Field(gt=0, description="learning rate of that pass")
    pretrain_batch_size: Positive = Field(description="packed 128-token blocks per step")

    @model_validator(mode="after")
    def _heads(self):
        if self.num_attention_heads % self.num_key_value_heads:
            raise PydanticCustomError(
                "cross", "num_attention_heads {q} is not a multiple of num_key_value_heads {kv}",
                {"q": self.num_attention_heads, "kv": self.num_key_value_heads})
        return self


class Model(Section):
    """`model:` the base model."""
    base: Name = Field(description="an offline base (`chatloop base prepare`), `tiny`, a hub id "
                       "or a directory")
    dtype: Literal["auto", "bfloat16", "float32"] = Field(
        description="auto: bfloat16 on a GPU or a CPU with bfloat16 matmuls, else float32")
    tiny: Tiny
    min_flag: "MinFlag" = Field(description="the lowest probability at which a message is "
                                "labelled toxic or spam (else its next most likely label); "
                                "recorded with the model, applied by evaluate, classify, serving")
    screen: "ScreenParams" = Field(description="the char n-gram screen in front of the LM "
                                   "(components/screen.py); recorded with the model")
    calibrate: "Calibrate" = Field(description="the toxic floor chosen on held-out normal chat "
                                   "at training (components/calibrate.py)")

    @model_validator(mode="after")
    def _floors(self):
        if self.calibrate.max_toxic < self.min_flag.toxic:
            raise PydanticCustomError("cross", "calibrate.max_toxic {hi} is below min_flag.toxic "
                                      "{lo}", {"hi": self.calibrate.max_toxic,
                                               "lo": self.min_flag.toxic})
        if self.calibrate.min_spam > self.min_flag.spam:
            raise PydanticCustomError("cross", "calibrate.min_spam {lo} is above min_flag.spam "
                                      "{hi}", {"lo": self.calibrate.min_spam,
                                               "hi": self.min_flag.spam})
        return self


class ScreenParams(Section):
    """`model.screen:` the char n-gram classifier trained beside the LM and run before it."""
    enabled: bool = Field(description="train a screen with the model (false: the LM decides alone)")
    confidence: Float = Field(ge=0, le=1.01, description="a message the screen gives at least "
                              "this for one label skips the LM (1.01: the LM scores every message)")
    weight: Share = Field(description="the screen's share of the blend for messages the LM scores")
    max_features: Positive = Field(description="char 1-4-grams kept (the most frequent)")
    c: Float = Field(gt=0, description="inverse L2 strength of the logistic regression")
    extra_per_source_label: Cap = Field(
        description="besides the LM's rows, at most this many of each (source, label) of the "
                    "training-split rows the caps left out (ingest's screen_extra.jsonl): one "
                    "number, or a mapping source -> number with \"*\" for the others; 0 = none")


class MinFlag(Section):
    """`model.min_flag:` the operating point for the two labels that act on a viewer."""
    toxic: Share = Field(description="lowest toxic probability that labels a message toxic")
    spam: Share = Field(description="lowest spam probability that labels a message spam")


class Calibrate(Section):
    """`model.calibrate:` lower min_flag.spam within a budget, then raise min_flag.toxic until
    few held-out normal messages are flagged (components/calibrate.py)."""
    max_normal_flagged: Share = Field(description="the share of the calibration rows (normal "
                                      "messages) that may be flagged toxic or spam; 1 = off")
    max_toxic: Share = Field(description="the highest toxic floor calibration may choose")
    max_normal_spam: Share = Field(description="the share of the calibration rows that may be "
                                   "labelled spam when the spam floor is lowered")
    min_spam: Share = Field(description="the lowest spam floor calibration may choose "
                            "(min_flag.spam: the spam floor stays)")


# ---------------------------------------------------------------------------- train
class Lora(Section):
    """`train.lora:` the LoRA adapter."""
    r: Positive = Field(description="adapter rank")
    alpha: Positive = Field(description="scaling numerator (scale = alpha / r)")
    dropout: Float = Field(ge=0, lt=1, description="dropout on the adapter input")
    target_modules: list[str] = Field(min_length=1, description="modules that get an adapter")
    layers: Count = Field(description="adapters on the top this many layers only (the backward "
                          "pass stops below them); 0 = every layer")
    modules_to_save: list[str] = Field(description="modules trained in full ([embed_tokens] for "
                                       "a random-init base)")


class Train(Section):
    """`train:` the supervised fine-tuning."""
    epochs: Positive = Field(description="passes over the training examples")
    max_steps: Count = Field(description="optimizer steps at most; 0 = as many as the epochs take")
    learning_rate: Float = Field(gt=0, description="peak learning rate (cosine schedule)")
    batch_size: Positive = Field(description="examples per device step")
    grad_accum: Positive = Field(description="steps accumulated per optimizer step")
    max_length: Positive = Field(description="longest example in tokens")
    length_buckets: Count = Field(description="batches of similar length, buckets of this many "
                                  "batches; 0 = plain shuffle")
    reuse_prefix: bool = Field(description="run the prompt prefix a batch shares once per step "
                               "(same loss, less compute)")
    warmup_ratio: Float = Field(ge=0, lt=1, description="share of the steps spent warming up")
    weight_decay: Float = Field(ge=0, description="AdamW weight decay")
    seed: Int = Field(description="training seed")
    answer_ratio: Float = Field(ge=0, description="answer examples per classification example "
                                "(at most)")
    card_answer_share: Share = Field(description="of those, at least this share answered from a "
                                     "channel card")
    balance: Share = Field(description="oversample each label to at least this times the largest "
                           "label; 0 = off")
    normalize: Literal["none", "evasion"] = Field(description="text normalizer before the prompt "
                                                  "(evasion: as serving's rules)")
    lora: Lora
    gradient_checkpointing: bool = Field(description="recompute activations (saves memory, "
                                         "costs time)")
    threads: Count = Field(description="torch CPU threads; 0 = automatic")
    ensemble: list[list[str]] = Field(description="more members, each a list of section.key=value "
                                      "overrides (each member is validated too)")

    @model_validator(mode="after")
    def _overrides(self):
        for i, member in enumerate(self.ensemble):
            bad = [a for a in member if "=" not in a]
            if bad:
                raise PydanticCustomError("cross", "member {i}: {bad} is not section.key=value",
                                          {"i": i, "bad": repr(bad[0])})
        return self


class Evaluate(Section):
    """`evaluate:` scoring the candidate on the test split."""
    batch_size: Positive = Field(description="messages scored at once")
    answer_samples: Count = Field(description="held-out Q/A pairs scored with chrF")
    max_new_tokens: Positive = Field(description="longest generated answer")


class Golden(Section):
    """`gate.golden:` floors on the golden set (real chat, never trained on)."""
    required: bool = Field(description="fail a candidate when no golden set was scored")
    min_macro_f1: dict[str, Share] = Field(description="source -> lowest macro-F1 on its golden "
                                           "rows")
    max_normal_flagged: Share = Field(description="largest share of normal messages flagged "
                                      "toxic or spam")
    min_spam_recall: Share = Field(description="lowest recall on hand-written spam")


def _floors(value: Any) -> float | dict[str, float]:
    """One floor for every label, or {label: floor} naming every label."""
    from components.labels import LABELS

    def one(floor: Any, where: str) -> float:
        if isinstance(floor, bool) or not isinstance(floor, (int, float)) or not 0 <= floor <= 1:
            raise _error("floor", f"{where}expected a number in 0..1", floor)
        return float(floor)
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(LABELS))
        missing = [label for label in LABELS if label not in value]
        if unknown or missing:
            raise _error("floor", f"labels are {', '.join(LABELS)}: unknown {unknown}, "
                         f"missing {missing}", value)
        return {label: one(floor, f"floor of {label!r}: ") for label, floor in value.items()}
    return one(value, "")


class Behaviour(Section):
    """`gate.behaviour:` the behavioural checks (components.behaviour); optional."""
    required: bool = Field(description="fail a candidate without behavioural results")
    max_invariance_flip: Share = Field(description="largest share of everyday messages a "
                                       "harmless addition may flip to toxic or spam")
    direction_tolerance: Share = Field(description="a spam lure may lower the spam probability "
                                       "by at most this")
    max_wrong_direction: Share = Field(description="largest share of messages beyond that "
                                       "tolerance")
    min_spam_rise: Delta = Field(description="smallest mean rise of the spam probability")
    min_must_pass: Annotated[float | dict[str, float], BeforeValidator(_floors)] = Field(
        description="share of the obvious probes labelled right: one floor or {label: floor}")


class Gate(Section):
    """`gate:` when a candidate is registered as the new champion."""
    min_improvement: Delta = Field(description="candidate macro-F1 must beat the champion's by "
                                   "more than this")
    max_label_drop: Share = Field(description="no label's F1 may fall more than this below the "
                                  "champion's")
    baseline_margin: Delta = Field(description="candidate macro-F1 >= TF-IDF baseline macro-F1 - "
                                   "margin")
    golden: Golden
    behaviour: Behaviour | None = Field(None, description="absent = no behavioural gate")


class Registry(Section):
    """`registry:` MLflow names."""
    model_name: Name = Field(description="registered model name")
    experiment: Name = Field(description="MLflow experiment")


# ------------------------------------------------------------------------------ kfp
class Toleration(Section):
    """One Kubernetes toleration of the train step."""
    key: str = ""
    operator: Literal["Exists", "Equal"] = "Equal"
    value: str = ""
    effect: Literal["", "NoSchedule", "PreferNoSchedule", "NoExecute"] = ""
    toleration_seconds: Count | None = None


class Kfp(Section):
    """`kfp:` the Kubernetes side of the compiled pipeline."""
    image: Name = Field(description="the image of every step (CHATLOOP_IMAGE overrides)")
    train_cpu: Quantity = Field(description="CPU request of the train step (e.g. 4, 500m)")
    train_memory: Quantity = Field(description="memory request of the train step (e.g. 32Gi)")
    gpu_type: Name = Field(description="accelerator resource name")
    gpu_count: Count = Field(description="accelerators of the train step; 0 = none")
    node_selector: dict[str, Text] = Field(description="node labels the train step needs")
    tolerations: list[Toleration] = Field(description="tolerations of the train step")
    secrets: dict[str, dict[str, EnvName]] = Field(
        description="Kubernetes secret name -> {key in the secret: environment variable}")


# ------------------------------------------------------------------------- feedback
class PlatformModeration(Section):
    """`feedback.platform_moderation:` a platform moderator's action flags `normal` decisions."""
    window_s: Number = Field(ge=0, description="decisions this long before the action are flagged")
    late_s: Number = Field(ge=0, description="... and this long after it")


class Feedback(Section):
    """`feedback:` the feedback service, the export and the retraining trigger."""
    max_text_chars: Positive = Field(description="longer correction/decision texts are refused")
    review_confident_share: Share = Field(description="share of the review queue drawn from "
                                          "confident decisions (audits)")
    review_confident_min: Share = Field(description="confidence that makes a decision confident")
    export_threshold: Positive = Field(description="exported-but-untrained corrections that start "
                                       "the next run")
    trigger: Literal["local", "kfp", "none"] = Field(
        description="local (local_command in the checkout), kfp (KFP_HOST) or none")
    local_command: Name = Field(description="the command a local trigger runs")
    kfp_host: str = Field(description="KFP API endpoint; KFP_HOST overrides; \"\" = none")
    kfp_experiment: Name = Field(description="KFP experiment of triggered runs")
    platform_moderation: PlatformModeration


# -------------------------------------------------------------------------- serving
class Answer(Section):
    """`serving.answer:` answering viewers' questions."""
    faq_threshold: Share = Field(description="char-trigram similarity a FAQ variant needs")
    repeat_window_s: Number = Field(ge=0, description="the same question is answered once per "
                                    "this window")
    per_minute: Count = Field(description="answers per channel per minute")
    max_chars: Positive = Field(description="longest answer")
    max_new_tokens: Positive = Field(description="longest generated answer in tokens")
    recent_lines: Count = Field(description="chat lines given to the model as context")
    grounded: bool = Field(description="send a model answer only if its numbers and at least "
                           "one word come from the card, recent chat or question")


class Rules(Section):
    """`serving.rules:` rule evidence, combined with the model by noisy-OR."""
    window_s: Seconds = Field(description="per-user / per-channel history window")
    repeat_count: Positive = Field(description="same text this many times from one user = "
                                   "copy-paste")
    channel_users: Positive = Field(description="same text from this many users = raid")
    flood_messages: Positive = Field(description="messages by one user within flood_window_s = "
                                     "flood")
    flood_window_s: Seconds = Field(description="the flood window")
    flood_tokens: Positive = Field(description="one token repeated this often in a message = "
                                   "flood")
    link: Share = Field(description="weight of a link")
    messenger: Share = Field(description="weight of a messenger id")
    phone: Share = Field(description="weight of a phone number")
    spam_word: Share = Field(description="weight of a spam word")
    flood: Share = Field(description="weight of a flood")
    repeat: Share = Field(description="weight of copy-paste")
    raid: Share = Field(description="weight of a raid")
    evasion_spam: Share = Field(description="weight of an evasion-spelled spam word")
    evasion_toxic: Share = Field(description="weight of an evasion-spelled curse")


class Actions(Section):
    """`serving.actions:` moderation actions."""
    timeout_s: Positive = Field(le=1_209_600, description="Twitch timeout / CHZZK restriction for "
                                "spam (Twitch allows 1 s to 2 weeks)")
    max_tries: Positive = Field(description="tries of one action or reply (429s, a refreshed 401)")
    max_wait_s: Seconds = Field(description="longest wait after one 429")
    default_retry_s: Seconds = Field(description="wait after a 429 that names none")
    token_refresh_margin_s: Seconds = Field(description="OAuth tokens are refreshed this long "
                                            "before they expire")


class PingSource(Section):
    """A websocket source's own keepalive."""
    ping_interval_s: Seconds = Field(description="seconds between the client's keepalive pings")


class YouTubeSource(Section):
    """`serving.sources.youtube:` the Data API's quota."""
    daily_quota: Positive = Field(description="Data API units per day for this project")
    quota_warn_fraction: Share = Field(description="a warning at this share of the daily quota")


class Sources(Section):
    """`serving.sources:` per-platform source settings."""
    soop: PingSource
    chzzk: PingSource
    youtube: YouTubeSource


class Drift(Section):
    """`serving.drift:` live label shares vs the version's training shares."""
    window: Positive = Field(description="the last this many decisions of the serving version")
    min_decisions: Count = Field(description="no distance before the window holds this many")
    max_js_distance: Share = Field(description="Jensen-Shannon distance (base 2) above this = drift")
    check_seconds: Seconds = Field(description="how often the distance is checked")
    trigger: Literal["none", "local", "kfp"] = Field(
        description="on drift also start a retraining run (feedback.local_command / kfp_host)")

    @model_validator(mode="after")
    def _window(self):
        if self.min_decisions > self.window:
            raise PydanticCustomError("cross", "min_decisions {n} is above window {w}: drift "
                                      "would never be measured",
                                      {"n": self.min_decisions, "w": self.window})
        return self


class Api(Section):
    """`serving.api:` limits of the HTTP API."""
    max_body_bytes: Positive = Field(description="a larger body gets 413 before it is read")
    max_json_depth: Positive = Field(description="JSON nested deeper gets 422")
    max_messages: Positive = Field(description="messages per /v1/classify")
    max_text_chars: Positive = Field(description="characters per message, question or card")
    max_request_chars: Positive = Field(description="all characters of one request -> 413")
    answers_per_minute: Count = Field(description="/v1/answer calls per caller per minute -> 429")
    answer_waiting: Count = Field(description="answers waiting for the answer worker -> 503")


class Serving(Section):
    """`serving:` the live bot."""
    poll_seconds: Seconds = Field(description="how often the alias is checked for a new version")
    batch_size: Positive = Field(description="most messages in a micro-batch")
    batch_ms: Number = Field(ge=0, description="longest wait after a micro-batch's first message")
    model_batch_size: Positive = Field(description="messages the model scores at once")
    queue_size: Positive = Field(description="bounded queue; when full, messages are dropped "
                                 "(counted)")
    deadline_ms: Number = Field(ge=0, description="live chat: the screen alone decides a message "
                                "the LM has not begun this long after it arrived; 0: never")
    decisions_flush_seconds: Seconds = Field(description="decision records are POSTed this often")
    answer: Answer
    rules: Rules
    actions: Actions
    sources: Sources
    drift: Drift
    api: Api


class Params(Section):
    """params.yaml after the profile and the overrides (without `profiles:`)."""
    data: Data
    data_import: DataImport
    validate_: Validate = Field(alias="validate")
    model: Model
    train: Train
    evaluate: Evaluate
    gate: Gate
    registry: Registry
    kfp: Kfp
    feedback: Feedback
    serving: Serving

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), allow_inf_nan=False)

    def dump(self) -> dict:
        """A plain dict with params.yaml's keys (unset optional keys left out)."""
        return self.model_dump(by_alias=True, exclude_unset=True)


def fields_at(path: tuple) -> list[str]:
    """The key names allowed at `path` (the keys above it), or [] where any key goes."""
    model: Any = Params
    for part in path:
        if isinstance(part, int):
            continue
        field = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return []
        kind = field.annotation
        for arg in getattr(kind, "__args__", ()):     # list[Toleration]
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                kind = arg
        if not (isinstance(kind, type) and issubclass(kind, BaseModel)):
            return []
        model = kind
    return [f.alias or n for n, f in model.model_fields.items()]


# -------------------------------------------------------------------------- environment
def _secret(description: str):
    return Field(None, description=description + " (secret)")


class _EnvBase(BaseSettings):
    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", case_sensitive=False)


class Env(_EnvBase):
    """The environment variables chatloop reads (field name = variable name, lower-cased).
    Unset or empty = None. Libraries read their own too (HF_TOKEN, AWS_*, MLFLOW_TRACKING_*);
    `Env.read(name)` validates one variable only."""
    # paths and stores
    chatloop_home: Path | None = Field(None, description="the state folder (default .chatloop/)")
    chatloop_bases: Path | None = Field(None, description="where offline bases are prepared "
                                        "(default <state folder>/bases)")
    mlflow_tracking_uri: str | None = Field(None, description="MLflow tracking URI (default a "
                                            "SQLite store in the state folder)")
    chatloop_data_base_url: str | None = Field(None, description="base URL of the dataset "
                                               "downloads (default https://raw.githubusercontent.com)")
    dvc_root: Path | None = Field(None, description="set by `dvc repro`: the repo the stages run in")
    user: str | None = Field(None, description="who promotes a model version (default the login)")
    # compute
    chatloop_torch_threads: int | None = Field(None, ge=1, description="torch CPU threads when "
                                               "params train.threads is 0")
    omp_num_threads: int | None = Field(None, ge=1, description="when set, torch's own thread "
                                        "count is kept")
    # pipelines
    chatloop_image: str | None = Field(None, description="the pipeline image (overrides params "
                                       "kfp.image)")
    kfp_host: str | None = Field(None, description="KFP API endpoint (overrides "
                                 "feedback.kfp_host)")
    kfp_token: SecretStr | None = _secret("KFP API bearer token")
    # serving API and feedback service
    chatloop_api_tokens: SecretStr | None = _secret("serving API callers, name:token,... "
                                                    "(classify and answer)")
    chatloop_api_read_tokens: SecretStr | None = _secret("serving API callers, name:token,... "
                                                         "(classify only)")
    chatloop_feedback_url: str | None = Field(None, description="the feedback service the bot "
                                              "posts decisions and platform events to")
    chatloop_feedback_token: SecretStr | None = _secret("the bot's token at the feedback service")
    chatloop_allow_cluster_http: bool = Field(False, description="plain http to an in-cluster "
                                              "service name (only behind an mTLS mesh); the code "
                                              "takes only 1 as yes")
    chatloop_feedback_db: SecretStr | None = _secret("SQLAlchemy URL of the feedback store "
                                                     "(default a SQLite file in the state folder)")
    chatloop_feedback_sqlite_sync: Literal["FULL", "NORMAL", "EXTRA"] = Field(
        "FULL", description="SQLite PRAGMA synchronous of the feedback store")
    chatloop_moderator_tokens: SecretStr | None = _secret("feedback moderators, name:token,...")
    chatloop_service_tokens: SecretStr | None = _secret("feedback services (the bot), "
                                                        "name:token,...")
    # Twitch (chat, Helix moderation, OAuth refresh)
    twitch_chat_token: SecretStr | None = _secret("IRC user token (`oauth:` optional)")
    twitch_bot_nick: str | None = Field(None, description="the bot's login for IRC")
    twitch_token: SecretStr | None = _secret("Helix user access token")
    twitch_refresh_token: SecretStr | None = _secret("refresh token of the Twitch user token")
    twitch_client_id: str | None = Field(None, description="Twitch app client id")
    twitch_client_secret: SecretStr | None = _secret("Twitch app client secret")
    twitch_token_url: str | None = Field(None, description="token endpoint (tests)")
    twitch_token_expires_at: float | None = Field(None, description="access token expiry, unix s")
    twitch_broadcaster_id: str | None = Field(None, description="channel user id (moderation)")
    twitch_moderator_id: str | None = Field(None, description="the bot's user id (moderation)")
    twitch_api_url: str | None = Field(None, description="Helix base URL (loopback tests)")
    # CHZZK
    chzzk_client_id: str | None = Field(None, description="CHZZK app client id")
    chzzk_client_secret: SecretStr | None = _secret("CHZZK app client secret")
    chzzk_access_token: SecretStr | None = _secret("CHZZK user access token")
    chzzk_refresh_token: SecretStr | None = _secret("CHZZK refresh token")
    chzzk_token_url: str | None = Field(None, description="token endpoint (tests)")
    chzzk_token_expires_at: float | None = Field(None, description="access token expiry, unix s")
    chzzk_api_url: str | None = Field(None, description="Open API base URL (loopback tests)")
    # Discord
    discord_bot_token: SecretStr | None = _secret("Discord bot token")
    discord_api_url: str | None = Field(None, description="REST base URL (loopback tests)")
    discord_gateway_url: str | None = Field(None, description="gateway URL (loopback tests)")
    # YouTube
    youtube_api_key: SecretStr | None = _secret("Data API key (public live chats, read only)")
    youtube_token: SecretStr | None = _secret("OAuth access token (youtube:mine, moderation)")
    youtube_refresh_token: SecretStr | None = _secret("OAuth refresh token")
    youtube_client_id: str | None = Field(None, description="OAuth client id")
    youtube_client_secret: SecretStr | None = _secret("OAuth client secret")
    youtube_token_url: str | None = Field(None, description="token endpoint (tests)")
    youtube_token_expires_at: float | None = Field(None, description="access token expiry, unix s")
    youtube_api_url: str | None = Field(None, description="Data API base URL (loopback tests)")

    @classmethod
    def read(cls, name: str) -> Any:
        """The variable of field `name`, read now and validated alone (a bad value in another
        variable does not stop this caller)."""
        return getattr(_one_variable(name)(), name)


@functools.cache
def _one_variable(name: str) -> type[BaseSettings]:
    field = Env.model_fields[name]
    return create_model(f"Env_{name}", __base__=_EnvBase, **{name: (field.annotation, field)})
