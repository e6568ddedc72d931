"""The rules layer before the model: evasion normalisation and cheap spam evidence.

THE RULE (one, applied to every message; weights in params.yaml `serving.rules`):
each piece of evidence e that fires has a weight w_e in [0, 1]. Spam evidence (links,
messenger ids, phone numbers, gambling/loan words, floods, copy-paste repetition, spam
words hidden by a disguise) and toxic evidence (swear words hidden by a disguise) are
merged with the model's probability by noisy-OR:

    p'(spam)  = 1 - (1 - p(spam))  * prod(1 - w_e for spam evidence)
    p'(toxic) = 1 - (1 - p(toxic)) * prod(1 - w_e for toxic evidence)

the other labels share what is left in their original proportions, and the label is
components.labels.decide of the result with the model's `min_flag`, each floor taken as at
least 0.5: the weights mean what they say whatever floor calibration chose (a spam word
alone, 0.3, flags nothing). A message the model flags by itself at its own floors (a
calibrated spam floor can be below 0.5) stays flagged. No evidence = the model's answer.
"""
from __future__ import annotations

import collections
import re
import time
from dataclasses import dataclass, field

from components.labels import FLAGGED, LABELS, decide
from components.lexicon import MESSENGERS, SHORTENERS, SPAM_TERMS, SPAM_WORDS, TOXIC_WORDS
from components.normalize import SPELLED_LINK, deobfuscate
from serving.message import ChatMessage

TLDS = "com|net|org|kr|io|ly|gl|gd|do|me|shop|co|xyz|top|site|info|biz|link|click|cc|tv|app"
LINK = re.compile(rf"(https?://|www\.)\S+|\b[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)*\.({TLDS})\b(/\S*)?",
                  re.IGNORECASE)
# A shortener host anywhere in the text with its spaces removed (`bit. ly/x`), but not
# inside a longer name (`chat.company` holds `t.co`).
SPACED_SHORTENER = re.compile(r"(?<![a-z0-9])(" + "|".join(map(re.escape, SHORTENERS))
                              + r")(?![a-z0-9])", re.IGNORECASE)
# Longest names first, so `카카오톡 abc` is not read as `카카오` + id.
MESSENGER = re.compile(r"(?<![A-Za-z])("
                       + "|".join(map(re.escape, sorted(MESSENGERS, key=len, reverse=True)))
                       + r")(\s*(id|아이디|[:：@]))*\s*[A-Za-z0-9_.]{3,}", re.IGNORECASE)
PHONE = re.compile(r"(?<!\d)0(1[016789]|[2-6]\d|70|50\d?)[-. ]?\d{3,4}[-. ]?\d{4}(?!\d)")
MIN_REPEAT_CHARS = 10
REPEATED_UNIT = re.compile(r"^(.{4,}?)\1{2,}.{0,4}$")
CHAT_NOISE = re.compile(r"[ㄱ-ㅣ0-9wW!?.,~^;:*<>\-_=+]+")  # ㅋㅋㅋ, ㅠㅠ, !!!, >>>, www: normal chat


SPAM_REVEALED = frozenset((*SPAM_WORDS, SPELLED_LINK))  # disguises that hid spam
TOXIC_REVEALED = frozenset(TOXIC_WORDS)


def flood_run(spaceless: str, pattern: re.Pattern) -> bool:
    """A unit of 1-12 characters repeated in a row as often as `pattern` asks
    (`팔로우팔로우...`, `🔥🔥🔥...`; see flood_pattern), unless the unit is laughter,
    crying or punctuation."""
    return any(not CHAT_NOISE.fullmatch(m.group(1)) for m in pattern.finditer(spaceless))


def flood_pattern(times: int) -> re.Pattern:
    """Any unit of 1-12 characters repeated `times` times in a row (compiled once per Rules)."""
    return re.compile(rf"(.{{1,12}}?)\1{{{times - 1},}}")


@dataclass
class Evidence:
    """What the rules saw in one message."""

    text: str                                          # deobfuscated text (the rules' view)
    spam: dict[str, float] = field(default_factory=dict)   # reason -> weight
    toxic: dict[str, float] = field(default_factory=dict)
    raw: str | None = None                             # the message as sent

    @property
    def model_text(self) -> str:
        """What the model is given: the message as sent; the model applies the text
        preparation it was trained with (chatloop.json `normalize`), so training, evaluation
        and serving see the same text."""
        return self.text if self.raw is None else self.raw

    def reasons(self) -> list[str]:
        return sorted(self.spam) + sorted(self.toxic)


def noisy_or(p: float, weights) -> float:
    keep = 1.0 - p
    for w in weights:
        keep *= 1.0 - w
    return 1.0 - keep


def combine(probs: dict[str, float], evidence: Evidence, min_flag: dict | None = None
            ) -> tuple[str, dict[str, float]]:
    """(label, adjusted probabilities): the documented rule in this module's docstring; the
    label by components.labels.decide with the model's `min_flag`, floors taken as >= 0.5,
    unless the model flags the message by itself at its own floors."""
    boosted = {"spam": noisy_or(probs.get("spam", 0.0), evidence.spam.values()),
               "toxic": noisy_or(probs.get("toxic", 0.0), evidence.toxic.values())}
    rest = [label for label in LABELS if label not in boosted]
    left = 1.0 - sum(boosted.values())
    if left < 0:
        total = sum(boosted.values())
        out = {label: boosted.get(label, 0.0) / total for label in LABELS}
    else:
        mass = sum(probs.get(label, 0.0) for label in rest)
        out = {label: boosted[label] if label in boosted else
               (left * probs.get(label, 0.0) / mass if mass > 0 else left / len(rest))
               for label in LABELS}
    label = decide(out, min_flag and {k: max(v, 0.5) for k, v in min_flag.items()})
    own = decide(probs, min_flag)
    return (own if own in FLAGGED and label not in FLAGGED else label), out


class ChannelWindow:
    """A channel's recent (time, text key, user) entries, at most `maxlen`, with the set of
    users per text kept up to date, so "how many users sent this text" is O(1) per message."""

    def __init__(self, maxlen: int = 5000):
        self.entries: collections.deque[tuple[float, str, str]] = collections.deque()
        self.maxlen = maxlen
        self.users: dict[str, collections.Counter[str]] = {}

    def add(self, now: float, key: str, user: str, since: float) -> int:
        """Forget entries older than `since`, record this one; distinct users of `key`."""
        while self.entries and (self.entries[0][0] < since or len(self.entries) >= self.maxlen):
            _, old_key, old_user = self.entries.popleft()
            counts = self.users[old_key]
            counts[old_user] -= 1
            if not counts[old_user]:
                del counts[old_user]
                if not counts:
                    del self.users[old_key]
        self.entries.append((now, key, user))
        counts = self.users.setdefault(key, collections.Counter())
        counts[user] += 1
        return len(counts)


class Rules:
    """Per-message evidence plus per-user and per-channel history over a sliding window."""

    def __init__(self, params: dict, clock=time.monotonic):
        self.p = params
        self.clock = clock
        self.flood_pattern = flood_pattern(int(params["flood_tokens"]))
        self.user_history: dict[tuple, collections.deque] = {}
        self.channel_history: dict[str, ChannelWindow] = {}
        self._seen = 0

    def inspect(self, message: ChatMessage) -> Evidence:
        deob = deobfuscate(message.text)
        ev = Evidence(deob.text, raw=message.text)
        w = self.p
        text = deob.text
        spaceless = re.sub(r"\s+", "", text)
        if LINK.search(text) or SPACED_SHORTENER.search(spaceless):
            ev.spam["link"] = w["link"]
        if MESSENGER.search(text):
            ev.spam["messenger"] = w["messenger"]
        if PHONE.search(text):
            ev.spam["phone"] = w["phone"]
        if any(term in spaceless for term in SPAM_TERMS):
            ev.spam["spam_word"] = w["spam_word"]
        if deob.revealed & SPAM_REVEALED:
            ev.spam["evasion"] = w["evasion_spam"]
        if deob.revealed & TOXIC_REVEALED:
            ev.toxic["evasion"] = w["evasion_toxic"]
        tokens = text.split()
        if (tokens and collections.Counter(tokens).most_common(1)[0][1] >= w["flood_tokens"]) \
                or flood_run(spaceless, self.flood_pattern):
            ev.spam["flood"] = w["flood"]
        repeated = REPEATED_UNIT.match(spaceless)
        if repeated and not CHAT_NOISE.fullmatch(repeated.group(1)):
            ev.spam["repeat"] = w["repeat"]
        self._history(message, spaceless.lower(), ev)
        return ev

    def _history(self, message: ChatMessage, key: str, ev: Evidence) -> None:
        now, window = self.clock(), self.p["window_s"]
        user = self.user_history.setdefault((message.channel, message.user_id),
                                            collections.deque(maxlen=200))
        while user and user[0][0] < now - window:
            user.popleft()
        user.append((now, key))
        chan = self.channel_history.setdefault(message.channel, ChannelWindow())
        senders = chan.add(now, key, message.user_id, now - window)
        self._seen += 1
        if self._seen % 10000 == 0:  # forget users who went quiet
            self.user_history = {k: v for k, v in self.user_history.items()
                                 if v and v[-1][0] >= now - window}
        recent = sum(1 for t, _ in user if t >= now - self.p["flood_window_s"])
        if recent >= self.p["flood_messages"]:
            ev.spam["flood"] = self.p["flood"]
        if len(key) < MIN_REPEAT_CHARS:  # ㅋㅋㅋ, gg, 안녕: repeating short chat is normal
            return
        if sum(1 for _, k in user if k == key) >= self.p["repeat_count"]:
            ev.spam["repeat"] = self.p["repeat"]
        if senders >= self.p["channel_users"]:
            ev.spam["raid"] = self.p["raid"]
