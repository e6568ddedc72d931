"""Answers to viewers' questions: the channel's FAQ first, else the model.

FAQ file (YAML), a list of entries:

    - questions: ["방송 몇 시까지 해요?", "언제까지 방송해요?"]
      answer: "보통 새벽 1시까지 해요!"

A question matches the entry whose closest variant has the highest character n-gram
cosine similarity (1- to 3-grams of the text without spaces or punctuation), if that is
at least `faq_threshold`. Otherwise the model answers from the channel card and the last
few chat lines. Policy (params.yaml `serving.answer`): only messages labelled `question`
are answered (never toxic or spam); the same question (or FAQ entry) once per
`repeat_window_s` per channel; at most `per_minute` answers per channel; answers are cut
to `max_chars`.
"""
from __future__ import annotations

import collections
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from chatloop.errors import ChatloopError
from components.labels import ANSWER_INSTRUCTION, normalize_text


class FAQError(ChatloopError):
    """A FAQ file that cannot be used; names the entry."""


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", "", normalize_text(text).lower())


def ngrams(text: str) -> collections.Counter:
    key = _key(text)
    return collections.Counter(key[i:i + n] for n in (1, 2, 3) for i in range(len(key) - n + 1))


def cosine(a: collections.Counter, b: collections.Counter) -> float:
    dot = sum(v * b[k] for k, v in a.items() if k in b)
    norm = math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


@dataclass
class FAQEntry:
    questions: list[str]
    answer: str


def load_faq(path: str | Path) -> list[FAQEntry]:
    """Entries of a FAQ YAML file; raises FAQError naming the bad entry."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise FAQError(f"cannot read FAQ file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise FAQError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, list):
        raise FAQError(f"{path}: expected a list of {{questions: [...], answer: ...}} entries")
    out = []
    for i, entry in enumerate(data):
        questions = entry.get("questions") if isinstance(entry, dict) else None
        answer = entry.get("answer") if isinstance(entry, dict) else None
        if (not isinstance(questions, list) or not questions
                or not all(isinstance(q, str) and q.strip() for q in questions)):
            raise FAQError(f"{path}: entry {i}: 'questions' must be a non-empty list of strings")
        if not isinstance(answer, str) or not answer.strip():
            raise FAQError(f"{path}: entry {i}: 'answer' must be a non-empty string")
        out.append(FAQEntry(questions, answer.strip()))
    return out


class FAQ:
    def __init__(self, entries: list[FAQEntry], threshold: float):
        self.entries, self.threshold = entries, threshold
        self._index = [(i, ngrams(q)) for i, e in enumerate(entries) for q in e.questions]

    def match(self, question: str) -> tuple[int, str] | None:
        """(entry index, answer) of the best entry above the threshold, or None."""
        grams = ngrams(question)
        best = max(((cosine(grams, g), i) for i, g in self._index), default=(0.0, -1))
        if best[0] < self.threshold:
            return None
        return best[1], self.entries[best[1]].answer


def cap(text: str, max_chars: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= max_chars else text[:max_chars - 1].rstrip() + "…"


@dataclass
class Plan:
    """What to do about one message: `source` is faq, model or None (with `reason`)."""

    source: str | None
    answer: str | None = None
    reason: str = ""


class Answerer:
    """Decides which questions get answers and keeps each channel's recent chat."""

    def __init__(self, params: dict, faq: list[FAQEntry] = (), card: str = "",
                 clock=time.monotonic):
        self.p, self.card, self.clock = params, card, clock
        self.faq = FAQ(list(faq), params["faq_threshold"])
        self.recent: dict[str, collections.deque] = {}
        self.answered: dict[str, dict[str, float]] = {}   # channel -> key -> time
        self.sent: dict[str, collections.deque] = {}      # channel -> answer times

    def remember(self, channel: str, text: str) -> None:
        """Add a chat line (normal or question) to the channel's recent lines."""
        self.recent.setdefault(channel, collections.deque(maxlen=self.p["recent_lines"])).append(text)

    def recent_lines(self, channel: str) -> list[str]:
        return list(self.recent.get(channel, ()))

    def plan(self, channel: str, text: str, label: str) -> Plan:
        """Whether and how to answer; FAQ answers come back filled in."""
        if label != "question":
            return Plan(None, reason="" if label == "normal" else f"never answer {label}")
        now = self.clock()
        match = self.faq.match(text)
        key = f"faq:{match[0]}" if match else _key(text)
        seen = self.answered.setdefault(channel, {})
        for old in [k for k, t in seen.items() if t < now - self.p["repeat_window_s"]]:
            del seen[old]
        if key in seen:
            return Plan(None, reason="repeat")
        sent = self.sent.setdefault(channel, collections.deque())
        while sent and sent[0] < now - 60:
            sent.popleft()
        if len(sent) >= self.p["per_minute"]:
            return Plan(None, reason="rate_limited")
        seen[key] = now
        sent.append(now)
        if match:
            return Plan("faq", cap(match[1], self.p["max_chars"]))
        return Plan("model")

    def model_answer(self, model, text: str, channel: str, between_steps=None) -> str:
        """The model's answer (blocking; run it on the model worker), capped; "" when it is
        not fit to send (unsendable)."""
        recent = self.recent_lines(channel)[:-1]
        answer = model.answer(text, card=self.card, recent=recent,
                              max_new_tokens=self.p["max_new_tokens"],
                              **({"between_steps": between_steps} if between_steps else {}))
        problem = unsendable(answer, text, self.card, recent, self.p["grounded"])
        return "" if problem else cap(answer, self.p["max_chars"])


DEGENERATE = re.compile(r"(.)\1{7,}|(.{2,6})\2{3,}")   # a character or a short piece looping


# The prompt's field headers (채널 정보:, 최근 채팅:, 질문:) at the start of a line: the model
# writing the prompt on.
PROMPT_HEADERS = tuple(re.findall(r"\n([^\n:{}]+:)", ANSWER_INSTRUCTION))
_HEADER_LINE = re.compile(r"(?m)^\s*(?:%s)" % "|".join(map(re.escape, PROMPT_HEADERS)))


def readable_answer(text: str) -> bool:
    """Whether a generated answer may be sent: not empty, not a bare label word, not a
    degenerate loop (`1000000000...`, `주로주로주로...`, a phrase of three or more words
    said again), no line opening with the prompt's headers (`최근 채팅:`)."""
    from components.labels import LABELS
    body = text.strip()
    words = body.split()
    trigrams = list(zip(words, words[1:], words[2:]))
    return (bool(body) and body.lower().strip(".!?") not in LABELS and not DEGENERATE.search(body)
            and len(set(trigrams)) == len(trigrams)    # no run of three words said twice
            and not _HEADER_LINE.search(body))


# "I don't know" answers (components.cardqa's UNKNOWN and PRIVATE, and their variants); a bare
# 없어요 is a claim (`DLC는 없어요`), not one of them.
ABSTAIN = re.compile(r"모르|몰라|어려워|안내된 게 없|(?<![가-힣])(?:카드|정보|내용)(?:에|가|이|은|는|도)?\s*없(?!이)"
                     r"|여쭤|알려주실")
_WORD = re.compile(r"[가-힣]{2,}|[A-Za-z]{2,}|\d+")


def _words(text: str) -> list[str]:
    return _WORD.findall(normalize_text(text).lower())


def _stems(text: str) -> set[str]:
    """Numbers whole, other words by their two-character start (방송은 ~ 방송)."""
    return {w if w.isdigit() else w[:2] for w in _words(text)}


# Question topics a card names in other words (a question about 캠 finds the card's 카메라).
TOPIC_ALIASES = (("디코", "디스코드"), ("캠", "카메라", "웹캠"), ("카페", "팬카페"),
                 ("이름", "닉네임", "닉", "방장", "스트리머", "누구"),
                 ("게임", "주로 뭐", "뭐 하"),
                 ("휴방", "쉬는", "쉬어", "쉬나", "안 하는", "내일"), ("규칙", "룰", "금지", "안 돼", "주의"))
TIME_QUESTION = re.compile(r"언제|몇\s*시|시간|방종|시작|끝나|켜요")
TIME_VALUE = re.compile(r"\d\s*시|새벽|오전|오후|저녁|자정|매일|평일|주말|요일")
_CLAUSE = re.compile(r"[.,!?;/|\n]+")     # a card's lines, sentences and list items
_TOKEN = re.compile(r"[가-힣]+|[a-z]+|\d+")   # as _WORD, with one-character keys (캠, 룰)


def off_topic(answer: str, question: str, card: str, recent=()) -> bool:
    """Whether the answer states card facts that the card puts under another topic than
    the question's. Each value it takes from the card (a word of the card not in the
    question) is looked up in the card's clauses. A clause is on topic when it names what
    the question asks about: a card word that starts with a question word's stem (`요일`
    does not name `금요일`), a card word holding one of the question's TOPIC_ALIASES
    synonyms (`메인게임`) or a question word of three or more characters (`사용마이크`), or
    a time for a question about time. A value the recent chat holds counts as on topic.
    Off topic: values only from clauses that are not (`고양이 이름이 뭐예요?` -> `고양이 이름은 슈어입니다`, the card's
    microphone), or two or more words from one such clause (`방종은 새벽 1시, 키보드는 로지텍
    G915 써요`); one is allowed (`방송` in `여울님 방송입니다`). `마이크 뭐 써요?` -> `슈어 SM7B
    써요` is on topic."""
    q_text = normalize_text(question).lower()
    asked = _stems(question)
    keys = {s for s in asked if not s.isdigit()}                  # at a card word's start
    inside = {a for group in TOPIC_ALIASES if any(a in q_text for a in group) for a in group}
    inside |= {w for w in _words(question) if len(w) >= 3 and not w.isdigit()}   # 사용마이크
    about_time = bool(TIME_QUESTION.search(q_text))
    clauses = [(c, _TOKEN.findall(c)) for c in (normalize_text(c).lower() for c in _CLAUSE.split(card))]
    on_topic = [any(w.startswith(k) for k in keys for w in words) or any(k in w for k in inside for w in words)
                or bool(about_time and TIME_VALUE.search(text)) for text, words in clauses]
    chat = _stems(" ".join(recent))
    hit, stray = False, collections.Counter()     # stray: off-topic clause -> answer words from it
    for v in _stems(answer) - asked:
        holding = [i for i, (_, words) in enumerate(clauses)
                   if any(w == v if v.isdigit() else w.startswith(v) for w in words)]
        if holding and (v in chat or any(on_topic[i] for i in holding)):
            hit = True
        else:
            stray.update(holding)
    return bool(stray) and (not hit or max(stray.values()) >= 2)


_PERIOD = r"(?:(?:새벽|오전|오후|저녁|밤|낮|아침)\s*)?"
_TIME = re.compile(rf"{_PERIOD}(?<!\d)(?P<hour>\d{{1,2}})\s*시(?:\s*반|\s*\d{{1,2}}\s*분)?\s*(?:쯤|경)?\s*(?:에\s*)?")
_START = re.compile(rf"부터|시작|켜|[~-]\s*{_PERIOD}\d")   # 9시부터, 9시~1시, 9시-1시
_END = re.compile(r"까지|끝|종료|방종|마무리|끔|끄")
_END_BEFORE = re.compile(r"(?:~|시\s*-)\s*$")           # ~1시, 9시-1시 (not `방송 - 1시`)


def _time_roles(text: str) -> dict[str, set[str]]:
    """{hour: roles} of the times in a text: `start` (9시부터, 9시~1시, 9시에 시작) or `end`
    (1시까지, ~1시, 9시-1시, 1시에 끝나요, 1시 - 방종); a time with neither is left out."""
    text, roles = normalize_text(text), {}
    for m in _TIME.finditer(text):
        role = ("start" if _START.match(text, m.end()) else
                "end" if _END.match(text, m.end()) or _END_BEFORE.search(text[:m.start()])
                else None)
        if role:
            roles.setdefault(m.group("hour"), set()).add(role)
    return roles


def swapped_times(answer: str, card: str) -> bool:
    """Whether the answer gives a card time the other role: the card's end said as a start
    (`새벽 1시부터 시작이에요` where the card says `9시부터 새벽 1시까지`) or its start as an end."""
    known = _time_roles(card)
    return any(hour in known and roles - known[hour]
               for hour, roles in _time_roles(answer).items())


_JAMO = re.compile(r"[ㄱ-ㅣ]+")   # ㅋㅋ, ㅠㅠ: laughter and tears, not words


def _quotes(answer: str, line: str, card: str) -> bool:
    """The answer is the chat line, or holds it whole (ㅋㅋ aside, at least 4 characters)
    where the card does not (a viewer naming the card's `슈어 SM7B` is no quote)."""
    said = _JAMO.sub("", _key(line))
    return _key(answer) == _key(line) or (len(said) >= 4 and said in _JAMO.sub("", _key(answer))
                                          and said not in _key(card))


def unsendable(answer: str, question: str, card: str = "", recent=(), grounded: bool = True) -> str:
    """Why a generated answer must not be sent, or "" when it may be: not readable
    (readable_answer); with `grounded` (params serving.answer.grounded) also the question
    said back (or part of it), a line of the recent chat said back, alone or inside the
    answer (a viewer's words posted as the bot's answer: `고양이 이름은 에임 미쳤다!`), a
    number that is in neither the card, the recent chat nor the question, no word shared with the card or the recent chat (a word shares a two-character start:
    방송은 ~ 방송; without a card, the question's words count too), a card time in the other
    role (swapped_times), or card facts from another topic than the question's (off_topic).
    An answer that says it does not know (ABSTAIN) is always grounded. A small model asked
    about something its card lacks invents a value (`DLC는 없어요`) or takes one from the wrong
    line; silence is better than a wrong fact."""
    if not readable_answer(answer):
        return "not readable"
    if not grounded or ABSTAIN.search(answer):
        return ""
    if _key(answer) in _key(question):
        return "echoes the question"
    if any(_quotes(answer, line, card) for line in recent if _key(line)):
        return "repeats the chat"
    numbers = {w for w in _words(" ".join([card, question, *recent])) if w.isdigit()}
    if any(w.isdigit() and w not in numbers for w in _words(answer)):
        return "a number not in the card or chat"
    support = _stems(" ".join([card, *recent]) if card.strip() else " ".join([question, *recent]))
    if not _stems(answer) & support:
        return "nothing from the card or chat"
    if swapped_times(answer, card):
        return "the card's times swapped"
    if off_topic(answer, question, card, recent):
        return "not what was asked"
    return ""
