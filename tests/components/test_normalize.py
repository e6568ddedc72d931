"""Evasion normalisation (components/normalize.py): one example of each disguise."""
from __future__ import annotations

import pytest

from components.normalize import (SPELLED_LINK, compose, deobfuscate, normalize_evasion,
                                  qwerty_to_hangul)


@pytest.mark.parametrize("text, expected, revealed", [
    ("tlqkf", "시발", {"시발"}),                     # Hangul typed on QWERTY
    ("qudtls 같은게", "병신 같은게", {"병신"}),
    ("dkssudgktpdy", "안녕하세요", set()),           # harmless QWERTY typing converts too
    ("시1발 뭐하냐", "시발 뭐하냐", {"시발"}),        # digit inside a word
    ("토.토 첫충", "토토 첫충", {"토토"}),            # dot inside a word
    ("카 지 노 가입", "카지노 가입", {"카지노"}),     # spaces inside a word
    ("ㅋr지노", "카지노", {"카지노"}),                 # look-alike letter after a jamo
    ("ㅋㅏ톡 abc12", "카톡 abc12", {"카톡"}),          # loose jamo
    ("ㅅㅂ 진짜", "시발 진짜", set()),                 # jamo abbreviation expanded
    ("ㅋㅋㅋㅋ ㅎㅎ ㅠㅠ", "ㅋㅋㅋㅋ ㅎㅎ ㅠㅠ", set()),  # ordinary jamo chat kept
    ("3시 30분에 봐요", "3시 30분에 봐요", set()),     # separators that hide nothing stay
    ("hello world", "hello world", set()),            # English stays English
    ("ｂｉｔ．ｌｙ", "bit.ly", set()),                 # full-width folded
    ("주소 lucky99 쩜컴 입력", "주소 lucky99.com 입력", {SPELLED_LINK}),       # link spelled out
    ("ww w 점 vipbet 점 net", "www.vipbet.net", {SPELLED_LINK}),
    ("g o o . s u / bcmj 가입", "goo.su/bcmj 가입", {SPELLED_LINK}),
    ("b i t 쩜 l y / x8ab", "bit.ly/x8ab", {SPELLED_LINK}),
    ("ggsale (.)com 검색", "ggsale.com 검색", {SPELLED_LINK}),
    ("naver.com 봤어", "naver.com 봤어", set()),      # a plain link is no disguise
    ("10점 만점에 10점 . . . .", "10점 만점에 10점 . . . .", set()),
    ("D M 주 세 요", "DM주세요", set()),              # letters spaced out: joined
    ("라 인 추 가 : ex_line01", "라인추가 : ex_line01", set()),
    ("나 너 좋아", "나 너 좋아", set()),               # two one-letter words stay apart
])
def test_deobfuscate_examples(text, expected, revealed):
    result = deobfuscate(text)
    assert (result.text, result.revealed) == (expected, revealed)
    assert normalize_evasion(text) == expected


def test_compose_and_qwerty():
    assert compose("ㄷㅏㄹㄱㅇㅣ") == ("닭이", 0)
    assert compose("ㅎㅗㅏㄱ") == ("확", 0)
    assert compose("ㅋㅋ") == ("ㅋㅋ", 2)
    assert qwerty_to_hangul("rhkswl") == "관지" and qwerty_to_hangul("hello") is None
