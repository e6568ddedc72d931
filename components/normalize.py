"""Korean chat evasion normalisation: the text the model should see behind a disguise.

Pure text functions, shared by serving's rules layer and (if wanted) training. On top of
components.labels.normalize_text it undoes four disguises:

1. Hangul typed on a QWERTY layout (`tlqkf` -> 시발, `dkssud` -> 안녕): a Latin-letter word
   is converted only when its 2-beolsik jamo compose into at least two whole syllables
   with nothing left over, and only when every Latin word of the message does (someone
   who forgot to switch the keyboard types the whole message that way; English does not).
2. Loose jamo and look-alike letters (`ㅋㅏ톡` -> 카톡, `ㅋr지노` -> 카지노, `ㅅl발` -> 시발).
3. Separators inside a word (`시1발`, `토.토`, `카 지 노`): squeezed out only when the
   squeezed form reveals a word of components.lexicon.LEXICON, so `3시 30분` stays as it is.
4. Well-known jamo abbreviations of swear words (`ㅅㅂ` -> 시발); other jamo-only words
   (ㅋㅋ, ㅎㅎ, ㅠㅠ, ㅇㅇ) are ordinary chat and kept.
5. Links spelled out so a URL filter misses them (`win777 쩜컴` -> win777.com,
   `ww w 점 vipbet 점 net` -> www.vipbet.net, `b i t . l y / abc` -> bit.ly/abc).

`deobfuscate` also reports which lexicon words only appeared after undoing 1-3 (and
SPELLED_LINK when 5 found a link): that is deliberate evasion, which serving's rules
count as evidence.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from components.labels import normalize_text
from components.lexicon import (CHO, FINAL_PAIRS, JAMO_ABBREVIATIONS, JONG, JUNG, KEYS, LEXICON,
                                VOWEL_PAIRS, syllable)

QWERTY = {key: jamo for jamo, key in KEYS.items()}      # key -> jamo (2-beolsik)
LOOKALIKE = {"r": "ㅏ", "R": "ㅏ", "l": "ㅣ", "I": "ㅣ"}  # not digits: `ㄴ170` is a height

SPELLED_LINK = "(spelled link)"  # reported in Deobfuscated.revealed when 5 found a link
_DOT = r"(?:\s*(?:쩜|점|닷|dot|\(\.\)|\[\.\]|\(dot\))\s*|\s*\.\s*)"
_HOST = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
SPELLED_DOMAIN = re.compile(
    rf"(?<![a-z0-9.])({_HOST}(?:{_DOT}{_HOST})*){_DOT}(com|net|org|kr|io|xyz|shop|bet|site|info|컴|넷)"
    r"(?![a-z0-9])", re.IGNORECASE)
SPELLED_WWW = re.compile(r"(?<![a-z])w ?w ?w(?![a-z])|더블유 ?(?:3|세) ?개", re.IGNORECASE)
KOREAN_TLD = {"컴": "com", "넷": "net"}
SPACED_DOT_WORD = re.compile(r"(?<=(?<!\S)[a-z0-9]) (?:쩜|점|닷|dot) (?=[a-z0-9](?!\S))", re.IGNORECASE)
JAMO_RUN = re.compile(r"[ㄱ-ㅣ]+")
LATIN_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2,}(?![A-Za-z0-9])")
INSIDE_SEPARATORS = re.compile(r"(?<=[가-힣])[\d\W_]{1,3}(?=[가-힣])")
LOOKALIKE_AFTER_JAMO = re.compile(r"(?<=[ㄱ-ㅎ])[rRlI]")


@dataclass
class Deobfuscated:
    text: str                                       # what the model should read
    revealed: set[str] = field(default_factory=set)  # lexicon words only found by undoing a disguise


def compose(jamo: str) -> tuple[str, int]:
    """Compose a jamo sequence into syllables; returns (text, number of leftover jamo)."""
    out, left, i, n = [], 0, 0, len(jamo)
    is_vowel = JUNG.__contains__
    while i < n:
        if jamo[i] in CHO and i + 1 < n and is_vowel(jamo[i + 1]):
            cho, vowel, i = jamo[i], jamo[i + 1], i + 2
            if i < n and (vowel, jamo[i]) in VOWEL_PAIRS:
                vowel, i = VOWEL_PAIRS[vowel, jamo[i]], i + 1
            final = ""
            if i < n and jamo[i] in JONG[1:] and not (i + 1 < n and is_vowel(jamo[i + 1])):
                final, i = jamo[i], i + 1
                pair = (final, jamo[i]) if i < n else None
                if pair in FINAL_PAIRS and not (i + 1 < n and is_vowel(jamo[i + 1])):
                    final, i = FINAL_PAIRS[pair], i + 1
            out.append(syllable(CHO.index(cho), JUNG.index(vowel), JONG.index(final)))
        else:
            out.append(jamo[i])
            left, i = left + 1, i + 1
    return "".join(out), left


def qwerty_to_hangul(word: str) -> str | None:
    """The Hangul a Latin word spells on a Korean keyboard, if it is two or more whole syllables."""
    if not all(ch in QWERTY for ch in word):
        return None
    text, left = compose("".join(QWERTY[ch] for ch in word))
    return text if left == 0 and len(text) >= 2 else None


def _fold_width(text: str) -> str:
    """NFKC for everything but Hangul (NFKC would split compatibility jamo): ｂｉｔ -> bit."""
    return "".join(ch if "\u3130" <= ch <= "\u318f" or "\uac00" <= ch <= "\ud7a3"
                   else unicodedata.normalize("NFKC", ch) for ch in text)


def _lexicon_hits(text: str) -> set[str]:
    return {word for word in LEXICON if word in text}


def _join_single_syllables(tokens: list[str]) -> list[str]:
    """Join runs of one-syllable tokens (`카 지 노`) when joining reveals a new lexicon word."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and len(tokens[j]) == 1 and "가" <= tokens[j] <= "힣":
            j += 1
        joined = "".join(tokens[i:j])
        if j - i >= 2 and _lexicon_hits(joined) - _lexicon_hits(" ".join(tokens[i:j])):
            out.append(joined)
            i = j
        else:
            out.append(tokens[i])
            i += 1
    return out


def _one_letter(token: str) -> bool:
    return len(token) == 1 and (token.isalnum() or "ㄱ" <= token <= "ㅣ")


def _join_spaced_run(tokens: list[str], min_run: int = 3) -> list[str]:
    """`D M 주 세 요` -> `DM주세요`: a run of `min_run`+ one-letter tokens (a syllable, a jamo,
    a Latin letter or a digit) is one word spelled out to dodge filters, or emphasis
    (`오 늘 도 화 이 팅`); either way the model reads it better joined."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and _one_letter(tokens[j]):
            j += 1
        if j - i >= min_run:
            out.append("".join(tokens[i:j]))
            i = j
        else:
            out.append(tokens[i])
            i += 1
    return out


def _single_ascii(token: str) -> bool:
    return len(token) == 1 and token.isascii() and (token.isalnum() or token in ".:/-_")


def _join_spaced_letters(text: str) -> str:
    """`b i t . l y / abc` -> `bit.ly/abc`: a run of 4+ one-character ASCII tokens holding
    a `.` or `/` is joined (with the next token when the run ends in `.` or `/`)."""
    tokens, out, i = text.split(" "), [], 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and _single_ascii(tokens[j]):
            j += 1
        run = "".join(tokens[i:j])
        if j - i >= 4 and ("." in run or "/" in run) and sum(map(str.isalnum, run)) >= 2:
            if run[-1] in "./" and j < len(tokens) and tokens[j].isascii() and tokens[j][:1].isalnum():
                run, j = run + tokens[j], j + 1
            out.append(run)
            i = j
        else:
            out.append(tokens[i])
            i += 1
    return " ".join(out)


def unspell_links(text: str) -> str:
    """Links written out to dodge URL filters, back as links (disguise 5 above)."""
    out = SPELLED_WWW.sub("www", _join_spaced_letters(SPACED_DOT_WORD.sub(" . ", text)))
    def domain(m: re.Match) -> str:
        parts = re.split(_DOT, m.group(0), flags=re.IGNORECASE)
        return ".".join(parts[:-1] + [KOREAN_TLD.get(parts[-1], parts[-1])])
    return SPELLED_DOMAIN.sub(domain, out)


def deobfuscate(text: str) -> Deobfuscated:
    """The message with disguises undone, and the lexicon words the disguises hid."""
    plain = normalize_text(_fold_width(text))
    unspelled = unspell_links(plain)
    words = LATIN_WORD.findall(unspelled)
    converted = {word: qwerty_to_hangul(word) for word in words}
    out = unspelled
    if words and all(converted.values()):
        out = LATIN_WORD.sub(lambda m: converted[m.group()], unspelled)
    out = LOOKALIKE_AFTER_JAMO.sub(lambda m: LOOKALIKE[m.group()], out)
    out = JAMO_RUN.sub(lambda m: (lambda c: c[0] if c[1] == 0 else m.group())(compose(m.group())),
                       out)
    squeezed = [INSIDE_SEPARATORS.sub("", token) for token in out.split()]
    tokens = [new if new != old and _lexicon_hits(new) - _lexicon_hits(old) else old
              for old, new in zip(out.split(), squeezed)]
    out = " ".join(_join_spaced_run(_join_single_syllables(tokens)))
    revealed = _lexicon_hits(out) - _lexicon_hits(plain)
    if unspelled != plain:
        revealed.add(SPELLED_LINK)
    out = JAMO_RUN.sub(lambda m: JAMO_ABBREVIATIONS.get(m.group(), m.group()), out)
    return Deobfuscated(out, revealed)


def normalize_evasion(text: str) -> str:
    """`deobfuscate(text).text`: the canonical text for the model."""
    return deobfuscate(text).text
