"""components.lexicon: one home for the word lists and jamo tables, and what reads them."""
from __future__ import annotations

import pytest

from components import lexicon, livechat, normalize, spam
from components.config import load_params
from serving.message import ChatMessage
from serving.rules import Rules


@pytest.fixture(scope="module")
def rules():
    return Rules(load_params()["serving"]["rules"])


def inspect(rules, text: str) -> set[str]:
    return set(rules.inspect(ChatMessage("t", "c", "1", "u", "u", text, 0.0)).spam)


def test_the_generator_and_the_rules_read_the_same_lists():
    assert spam.MESSENGERS is lexicon.MESSENGERS and spam.SHORTENERS is lexicon.SHORTENERS
    assert normalize.LEXICON is lexicon.LEXICON
    assert set(lexicon.SPAM_TERMS) <= set(lexicon.SPAM_WORDS)
    assert set(lexicon.REVEALED_MESSENGERS) <= set(lexicon.MESSENGERS)


@pytest.mark.parametrize("host", lexicon.SHORTENERS)
def test_every_shortener_the_generator_writes_is_link_evidence(rules, host):
    assert "link" in inspect(rules, f"여기로 {host}/k3x9q 가입")


@pytest.mark.parametrize("name", lexicon.MESSENGERS)
def test_every_messenger_the_generator_writes_is_messenger_evidence(rules, name):
    assert "messenger" in inspect(rules, f"{name} vip4821 연락")


def test_a_shortener_inside_a_longer_name_is_no_link(rules):
    assert "link" not in inspect(rules, "chat.company 얘기 들었어?")     # holds `t.co`
    assert "link" not in inspect(rules, "오늘 방송 재밌다")


def test_jamo_tables_agree_with_unicode_and_the_keyboard():
    for code in range(lexicon.SYLLABLES):
        ch = chr(lexicon.FIRST_SYLLABLE + code)
        assert lexicon.syllable(*lexicon.decompose(ch)) == ch
        # the generator's QWERTY spelling is what the normaliser reads back
        assert normalize.qwerty_to_hangul(spam.qwerty(ch + "가")) == ch + "가"
    assert lexicon.decompose("a") is None and lexicon.decompose("가나") is None
    assert lexicon.keys_of("ㅘ") == "hk" and lexicon.keys_of("ㄳ") == "rt"
    assert lexicon.keys_of("") == ""


def test_everyday_chat_never_holds_a_toxic_abbreviation_or_gambling_word():
    assert set(lexicon.JAMO_ABBREVIATIONS) | set(lexicon.SPAM_TERMS) <= livechat.BANNED
    assert not set(lexicon.REVEALED_MESSENGERS) & livechat.BANNED   # `카톡으로 알려줘서 왔어요`
