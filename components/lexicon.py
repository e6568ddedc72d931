"""The word lists and Hangul tables that the evasion normaliser (components.normalize), the
rules layer (serving.rules), the spam generator (components.spam) and the everyday-chat
generator (components.livechat) share. Add a word here and every one of them sees it.

Which list feeds what:
- TOXIC_WORDS, SPAM_WORDS: the normaliser's lexicon (separators are squeezed out, spaced
  syllables joined, only when that reveals one of these words); the rules count a word
  revealed so as evasion. Changing them changes the text the model reads (train and serve).
- SPAM_TERMS: gambling/loan words that are spam evidence on their own (rules `spam_word`);
  never generated as everyday chat.
- MESSENGERS: messenger names; the rules' `messenger` evidence is one followed by an id,
  the spam generator writes them before invented ids.
- SHORTENERS: URL-shortener hosts; the rules' `link` evidence, the generator's short links.
- CHO / JUNG / JONG, KEYS: the Unicode syllable tables and the 2-beolsik keyboard.
"""
from __future__ import annotations

# ---------------------------------------------------------------------------- words
TOXIC_WORDS = ("시발", "씨발", "씨빨", "시바", "병신", "븅신", "존나", "좆", "지랄", "개새끼", "새끼",
               "미친", "꺼져", "닥쳐", "썅", "니애미", "느금마", "애미", "엠창")
# Jamo abbreviations of swear words, spelled out by the normaliser (other jamo-only words,
# ㅋㅋ ㅎㅎ ㅠㅠ ㅇㅇ, are ordinary chat).
JAMO_ABBREVIATIONS = {"ㅅㅂ": "시발", "ㅆㅂ": "씨발", "ㅂㅅ": "병신", "ㅄ": "병신", "ㅈㄴ": "존나",
                      "ㅈㄹ": "지랄", "ㄲㅈ": "꺼져", "ㅁㅊ": "미친", "ㄷㅊ": "닥쳐", "ㅅㄲ": "새끼"}
SPAM_TERMS = ("토토", "카지노", "바카라", "슬롯", "먹튀", "첫충", "매충", "환전", "리딩방", "대출",
              "현금화")
# Messenger names the normaliser reveals behind a disguise (`카.톡`); a subset of MESSENGERS,
# kept short because everyday words (`라인`, `밴드`) must not be squeezed together.
REVEALED_MESSENGERS = ("카톡", "카카오톡", "오픈카톡", "텔레", "텔레그램")
SPAM_WORDS = SPAM_TERMS + REVEALED_MESSENGERS + ("홍보",)
LEXICON = TOXIC_WORDS + SPAM_WORDS

MESSENGERS = ("카톡", "카카오톡", "카카오", "ㅋㅌ", "오픈카톡", "오픈톡", "텔레", "텔레그램", "텔그", "텔ㄹ",
              "TG", "디코", "디스코드", "라인", "LINE", "밴드", "위챗", "WeChat", "시그널", "kakao",
              "telegram", "discord")
SHORTENERS = ("bit.ly", "me2.do", "han.gl", "vo.la", "url.kr", "t.ly", "is.gd", "tinyurl.com",
              "zrr.kr", "buly.kr", "goo.su", "t.co", "goo.gl", "cutt.ly", "naver.me",
              "shorturl.at")

# ------------------------------------------------------------------------ Hangul jamo
CHO = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"                       # initial consonants
JUNG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"                 # vowels
JONG = ("", "ㄱ", "ㄲ", "ㄳ", "ㄴ", "ㄵ", "ㄶ", "ㄷ", "ㄹ", "ㄺ", "ㄻ", "ㄼ", "ㄽ", "ㄾ", "ㄿ", "ㅀ",
        "ㅁ", "ㅂ", "ㅄ", "ㅅ", "ㅆ", "ㅇ", "ㅈ", "ㅊ", "ㅋ", "ㅌ", "ㅍ", "ㅎ")   # finals ("" = none)
FIRST_SYLLABLE, SYLLABLES = 0xAC00, 11172                          # 가 .. 힣
VOWEL_PAIRS = {("ㅗ", "ㅏ"): "ㅘ", ("ㅗ", "ㅐ"): "ㅙ", ("ㅗ", "ㅣ"): "ㅚ", ("ㅜ", "ㅓ"): "ㅝ",
               ("ㅜ", "ㅔ"): "ㅞ", ("ㅜ", "ㅣ"): "ㅟ", ("ㅡ", "ㅣ"): "ㅢ"}
FINAL_PAIRS = {("ㄱ", "ㅅ"): "ㄳ", ("ㄴ", "ㅈ"): "ㄵ", ("ㄴ", "ㅎ"): "ㄶ", ("ㄹ", "ㄱ"): "ㄺ",
               ("ㄹ", "ㅁ"): "ㄻ", ("ㄹ", "ㅂ"): "ㄼ", ("ㄹ", "ㅅ"): "ㄽ", ("ㄹ", "ㅌ"): "ㄾ",
               ("ㄹ", "ㅍ"): "ㄿ", ("ㄹ", "ㅎ"): "ㅀ", ("ㅂ", "ㅅ"): "ㅄ"}
# The 2-beolsik (standard Korean) keyboard on a QWERTY layout: jamo -> key.
KEYS = dict(zip("ㅂㅈㄷㄱㅅㅛㅕㅑㅐㅔㅁㄴㅇㄹㅎㅗㅓㅏㅣㅋㅌㅊㅍㅠㅜㅡㅃㅉㄸㄲㅆㅒㅖ",
                "qwertyuiopasdfghjklzxcvbnmQWERTOP"))
_SPLIT = {compound: "".join(parts) for parts, compound in (*VOWEL_PAIRS.items(),
                                                          *FINAL_PAIRS.items())}


def decompose(ch: str) -> tuple[int, int, int] | None:
    """(initial, vowel, final) indexes into CHO, JUNG, JONG of a Hangul syllable, else None."""
    code = ord(ch) - FIRST_SYLLABLE if len(ch) == 1 else -1
    if not 0 <= code < SYLLABLES:
        return None
    return code // 588, (code % 588) // 28, code % 28


def syllable(cho: int, jung: int, jong: int = 0) -> str:
    """The Hangul syllable of the (initial, vowel, final) indexes."""
    return chr(FIRST_SYLLABLE + (cho * 21 + jung) * 28 + jong)


def keys_of(jamo: str) -> str:
    """The QWERTY keys that type one jamo (two for a compound vowel or final: ㅘ -> hk)."""
    return "".join(KEYS[j] for j in _SPLIT.get(jamo, jamo))
