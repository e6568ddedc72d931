"""The one source of truth for labels, dataset mappings and the prompt format.

Training (components.train), evaluation, serving and feedback all import this module, so
the text a model sees at serving time is byte-for-byte the text it was trained on.
"""
from __future__ import annotations

import unicodedata
from typing import Iterable, Mapping, Sequence

from chatloop.errors import ChatloopError

# Order matters twice: it is the column order of every probability vector, and
# PRIORITY (highest first) decides conflicts when one message carries several labels.
LABELS: tuple[str, ...] = ("normal", "question", "toxic", "spam")
PRIORITY: tuple[str, ...] = ("spam", "toxic", "question", "normal")
LABEL_TO_ID = {label: i for i, label in enumerate(LABELS)}
FLAGGED: tuple[str, ...] = ("toxic", "spam")   # the labels that act on a viewer (min_flag)


def decide(probs, min_flag=None) -> str:
    """The label for label probabilities (a mapping, or a sequence in LABELS order). A label
    with a floor in `min_flag` (params model.min_flag: toxic and spam, recorded with the model
    and calibrated at training) is chosen when its probability reaches that floor, the
    likelier of two that do; otherwise the most likely label without a floor. No floors: the
    most likely. Ties by PRIORITY. With floors of 0.5 or more this is the most likely label,
    or the next most likely when a floored one falls short; a floor below 0.5 flags a message
    even when another label is likelier (the calibrated spam floor: docs/training.md)."""
    values = probs if isinstance(probs, dict) else dict(zip(LABELS, map(float, probs)))
    floors = min_flag or {}
    order = lambda label: (-values.get(label, 0.0), PRIORITY.index(label))  # noqa: E731
    reached = [lb for lb in LABELS if lb in floors and values.get(lb, 0.0) >= floors[lb]]
    if reached:
        return min(reached, key=order)
    return min([lb for lb in LABELS if lb not in floors] or LABELS, key=order)

# Mappings from the datasets in ../shared/data (see docs/data.md for the reasoning).
# curse-detection: 1 = curse/insult, 0 = clean.
CURSE_MAP = {"1": "toxic", "0": "normal"}
# korean-hate-speech: the `hate` column.
HATE_SPEECH_MAP = {"hate": "toxic", "offensive": "toxic", "none": "normal"}
# 3i4k intents: only real questions (2) are questions the bot should answer; rhetorical
# questions (4) and everything else are normal chat.
THREE_I4K_MAP = {"0": "normal", "1": "normal", "2": "question", "3": "normal",
                 "4": "normal", "5": "normal", "6": "normal"}
DATASET_MAPS: Mapping[str, Mapping[str, str]] = {
    "curse-detection": CURSE_MAP,
    "korean-hate-speech": HATE_SPEECH_MAP,
    "3i4k": THREE_I4K_MAP,
}


class LabelError(ChatloopError, ValueError):
    """A label that is not one of LABELS, or a dataset value with no mapping."""


def check_label(label: object) -> str:
    """Return `label` if it is one of LABELS, else raise LabelError naming the set."""
    if not isinstance(label, str) or label not in LABEL_TO_ID:
        raise LabelError(f"unknown label {label!r}; expected one of {', '.join(LABELS)}")
    return label


def map_label(dataset: str, value: object) -> str:
    """Map a dataset's raw label value to one of LABELS."""
    try:
        mapping = DATASET_MAPS[dataset]
    except KeyError:
        raise LabelError(f"no label mapping for dataset {dataset!r}") from None
    key = str(value).strip()
    if key not in mapping:
        raise LabelError(f"{dataset}: unknown raw label {value!r}; known: {sorted(mapping)}")
    return mapping[key]


def resolve(labels: Iterable[str]) -> str:
    """The winning label when several apply: spam > toxic > question > normal."""
    present = {check_label(label) for label in labels}
    for label in PRIORITY:
        if label in present:
            return label
    raise LabelError("resolve() needs at least one label")


# ---------------------------------------------------------------------------- text
def normalize_text(text: str) -> str:
    """Canonical form of a chat message: NFC, control characters dropped, spaces folded.

    Used for the dedupe key, the train/test overlap check, and every prompt, so the
    same message always looks the same to the model. Evasion spellings (QWERTY-typed
    Hangul, inserted digits) are handled by serving's rules layer on top of this.
    """
    text = unicodedata.normalize("NFC", str(text))
    text = "".join(" " if unicodedata.category(ch).startswith(("Z", "C")) else ch
                   for ch in text)
    return " ".join(text.split())


# -------------------------------------------------------------------------- prompts
# Gemma's chat format; the tiny local tokenizer gets the same template so the prompt
# text is identical whichever base is used.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)
TURN_TOKENS = ("<start_of_turn>", "<end_of_turn>")

CLASSIFY_INSTRUCTION = (
    "방송 채팅 메시지를 분류하세요. 답은 normal, question, toxic, spam 중 하나입니다.\n"
    "메시지: {text}"
)
ANSWER_INSTRUCTION = (
    "당신은 인터넷 방송 채팅 도우미입니다. 채널 정보와 최근 채팅을 참고해 시청자의 질문에 "
    "한두 문장으로 친절하게 답하세요.\n"
    "채널 정보: {card}\n"
    "최근 채팅:\n{recent}\n"
    "질문: {question}"
)
MAX_PROMPT_CHARS = 500  # a message longer than this is cut before it reaches a prompt


def message_body(text: str) -> str:
    """A message as both classifiers read it (the LM's prompt and components.screen)."""
    return normalize_text(text)[:MAX_PROMPT_CHARS]


def classify_messages(text: str) -> list[dict]:
    """The chat messages (user turn only) that ask the model for a label."""
    return [{"role": "user", "content": CLASSIFY_INSTRUCTION.format(text=message_body(text))}]


def answer_messages(question: str, card: str = "", recent: Sequence[str] = ()) -> list[dict]:
    """The chat messages that ask the model to answer a viewer's question."""
    lines = "\n".join(f"- {normalize_text(line)[:200]}" for line in recent[-5:]) or "- (없음)"
    content = ANSWER_INSTRUCTION.format(
        card=normalize_text(card)[:MAX_PROMPT_CHARS] or "(없음)",
        recent=lines,
        question=normalize_text(question)[:MAX_PROMPT_CHARS],
    )
    return [{"role": "user", "content": content}]


def completion(text: str) -> list[dict]:
    """The assistant turn a training example ends with (a label or an answer)."""
    return [{"role": "assistant", "content": text}]


def render_prompt(tokenizer, messages: list[dict]) -> str:
    """Prompt text ending where the model's answer starts (used for scoring and generation)."""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
