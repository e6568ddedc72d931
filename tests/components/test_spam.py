"""The spam generator: intents and structure families, open vocabularies, variety, plain
messages (no decoration, no contact) next to rich ones, evasion spellings, determinism,
held-out families."""
from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from components import spam
from components.ingest import held_out_families, stratified_split
from components.labels import normalize_text

INTENTS = {"dm_invite", "stock_coin", "cheap_offer", "app_move", "fake_giveaway", "adult",
           "gambling", "promo_channel"}
# Hand-written spam the generator must never emit verbatim: it probes generalisation.
PROBES = ("VIP 리딩방 입장 DM 주세요", "팔로워 1000명 5천원 DM 주세요", "닉네임 대행 작업 프로필 링크 확인")
# Decoration: emoji and decorative symbols, tags, runs of marks, trailing ㄷㄷ/ㅎㅎ/^^.
SYMBOLS = r"[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u25A0-\u25FF\u3010\u3011※\uFE0F]"
DECOR = re.compile(SYMBOLS + r"|[\[\]<>]|\(광고\)|!!|~~|\^\^|ㄷㄷ|ㅎㅎ")
# A contact: a link (plain, shortened or spelled out), an id or handle, a phone, a code.
CONTACT = re.compile(r"https?://|www|\b[a-z0-9-]+\.(?:com|net|kr|xyz|shop|site|io|me|top|vip|bet|"
                     r"club|link|info|store|cc|app|ly|do|gl|la|gd|co|su)\b|@|[a-z][a-z_.]*\d|"
                     r"\d[a-z]|[a-z0-9]_[a-z0-9]|\d{3,4}[-. ]?\d{4}|"
                     r"(?:점|쩜|닷|dot|\(\.\)|\[\.\]) ?[a-z]{2,}|닷컴|코드 [A-Z0-9]|ID |아이디 [a-z0-9]|"
                     r"→ ?[a-z]")


def plain(text: str) -> bool:
    return not DECOR.search(text) and not CONTACT.search(text)


def decorations(text: str) -> int:
    """Tags, plus runs of symbols or marks, in `text`."""
    tags = [t for t in spam.TAGS if t in text]
    for tag in tags:
        text = text.replace(tag, " ")
    return len(tags) + len(re.findall(SYMBOLS + r"+|!!+|~~+|(?:\^\^)+|ㄷㄷ+|ㅎㅎ+", text))


def test_every_intent_is_a_kind_with_at_least_four_structure_families():
    assert set(spam.KINDS) == INTENTS == set(spam.STORIES)
    per_kind = Counter(spam.kind_of(f) for f in spam.FAMILIES)
    assert set(per_kind) == INTENTS and min(per_kind.values()) >= 4
    # every structure (family N of every kind) has >= 6 plain sentence shapes of its own
    assert len(spam.PLAIN) == len(spam.STRUCTURES)
    assert all(len(shapes) >= 6 for shapes in spam.PLAIN)
    assert all(re.fullmatch(r"[a-z_]+/\d+", f) for f in spam.FAMILIES)
    assert spam.kind_of("gambling/2") == "gambling" and spam.kind_of("legacy") == "legacy"


def test_generate_is_unique_balanced_normalised_bounded_and_seeded():
    n = len(spam.FAMILIES) * 20
    rows = spam.generate(n, seed=5)
    texts = [r["text"] for r in rows]
    assert len(set(texts)) == n
    assert all(t == normalize_text(t) and 2 <= len(t) <= 300 for t in texts)
    kinds = Counter(spam.kind_of(r["family"]) for r in rows)
    assert set(kinds) == INTENTS and max(kinds.values()) - min(kinds.values()) <= 1
    assert {r["family"] for r in rows} == set(spam.FAMILIES)   # every structure is used
    assert spam.generate(n, seed=5) == rows
    assert spam.generate(n, seed=6) != rows


def test_few_duplicates_even_before_dedupe():
    rng = random.Random(3)
    raw = [spam.generate_one(rng)["text"] for _ in range(3000)]
    assert len(raw) - len(set(raw)) <= 0.01 * len(raw)


def test_probe_messages_are_never_generated_verbatim():
    for seed in (11, 0, 1, 2):                   # 11 is the import's default seed
        texts = {r["text"] for r in spam.generate(3000, seed=seed)}
        assert not texts & {normalize_text(p) for p in PROBES}
    assert all(normalize_text(p) in spam.PROBES for p in PROBES)


def test_vocabularies_are_open():
    texts = [r["text"] for r in spam.generate(2000, seed=11)]
    joined = " ".join(texts)
    ids = set(re.findall(r"(?:@|ID |아이디 |: |→ )([a-z0-9_.]{4,})", joined))
    prices = set(re.findall(r"\d[\d,]*(?:천|만)? ?원", joined))
    counts = set(re.findall(r"\d[\d,]*(?:천|만)?(?:명|개|회|건|%|배)", joined))
    domains = set(re.findall(r"\b[a-z0-9-]+\.(?:com|net|kr|xyz|shop|site|io|me|top|vip|bet|club)\b",
                             joined))
    # contacts are in about a third of the messages, so fewer ids and domains than prices
    assert len(ids) >= 150 and len(prices) >= 150 and len(counts) >= 200 and len(domains) >= 70
    words = [len(t.split()) for t in texts]
    assert sum(w <= 4 for w in words) >= 100 and sum(w >= 15 for w in words) >= 50  # short..long
    assert sum(bool(re.search(r"(주세요|합니다|해요|드려요)", t)) for t in texts) >= 400  # polite
    assert sum(bool(re.search(r"(ㄱㄱ|ㄱ\b|함\b|임\b|음\b|셈\b|해줌|드림\b)", t))
               for t in texts) >= 500                                                  # casual
    assert sum(bool(re.search(r"분\??$", t)) for t in texts) >= 25                     # ~하실 분?


def test_contact_forms_cover_ids_links_spelled_links_shorteners_and_phones():
    texts = [r["text"] for r in spam.generate(2000, seed=2)]
    def share(pattern):
        return sum(bool(re.search(pattern, t)) for t in texts)
    assert share(r"(bit\.ly|me2\.do|han\.gl|t\.ly|is\.gd|zrr\.kr|url\.kr)/\w+") >= 40
    assert share(r"(점|쩜|dot|\(\.\)|\[\.\]) ?(com|net|kr|xyz|shop|site|io|me|top|vip|bet)|닷컴") >= 15
    assert share(r"(010|070)[-. ]?\d{4}[-. ]?\d{4}|1588[-. ]?\d{4}") >= 20
    assert share(r"텔레|카톡|카카오|디코|디스코드|라인|밴드|위챗|TG|LINE") >= 150
    assert share(r"(텔|카|디|라|밴|위)[./_*ㆍ| -]+(레|톡|코|인|드|챗)") >= 5    # 텔.레, 카 톡
    assert 0.2 * len(texts) <= share(CONTACT.pattern) <= 0.5 * len(texts)    # about a third


def test_about_half_of_every_kind_is_plain():
    rows = spam.generate(2400, seed=11)
    assert sum(plain(r["text"]) for r in rows) >= 0.4 * len(rows)
    by_kind: dict[str, list[bool]] = {}
    for row in rows:
        by_kind.setdefault(spam.kind_of(row["family"]), []).append(plain(row["text"]))
    assert set(by_kind) == INTENTS
    assert all(sum(flags) >= 0.35 * len(flags) for flags in by_kind.values()), {
        kind: sum(flags) / len(flags) for kind, flags in by_kind.items()}
    families = Counter(r["family"] for r in rows if plain(r["text"]))
    assert set(families) == set(spam.FAMILIES)                # every structure has plain rows
    texts = [r["text"] for r in rows if plain(r["text"])]
    assert len({t.split()[-1] for t in texts}) >= 300         # many endings, not one formula


def test_rich_rows_carry_at_most_one_decoration_and_most_none():
    texts = [r["text"] for r in spam.generate(2400, seed=12)]
    counts = [decorations(t) for t in texts]
    assert max(counts) <= 1, [t for t, c in zip(texts, counts) if c > 1][:5]
    assert 0.05 * len(texts) <= sum(counts) <= 0.3 * len(texts)


def test_lengths_spread_from_a_few_words_to_long_notices():
    texts = [r["text"] for r in spam.generate(2400, seed=13)]
    lengths = [len(t) for t in texts]
    assert sum(n <= 20 for n in lengths) >= 0.1 * len(texts)
    assert sum(20 < n <= 50 for n in lengths) >= 0.3 * len(texts)
    assert sum(n > 60 for n in lengths) >= 0.05 * len(texts) and max(lengths) >= 120
    short = [n for t, n in zip(texts, lengths) if plain(t)]
    assert min(short) <= 12 and max(short) >= 60            # plain ones too: a phrase..a notice


def test_plain_vocabularies_speak_like_people():
    rows = spam.generate(3200, seed=14)
    texts = [r["text"] for r in rows if plain(r["text"])]
    dms = set(re.findall(r"(?<![A-Za-z])(?:[Dd][ .\-]*[Mm]+|디+ ?이*엠+|뒤엠|듸 ?엠|ㄷㅁ|쪽지|귓(?:속)?말|"
                         r"갠톡|갠메|개톡|개인 ?(?:메시지|메세지|톡|채팅|쪽지)|1:1 (?:메시지|채팅))", " ".join(texts)))
    assert len(dms) >= 15, dms                               # DM spelled many ways, no id
    stock = " ".join(r["text"] for r in rows if spam.kind_of(r["family"]) == "stock_coin")
    jargon = ("급등주", "상한가", "세력", "매집", "종목", "시그널", "리딩", "원금 보장", "수익률", "배",
              "에어드랍", "상장")
    assert all(word in stock for word in jargon)
    # first-person stories with money amounts, bare questions to the reader
    assert sum(bool(re.search(r"\d+(?:만원|만|억) ?(?:벌었|땄|환전|들어왔|복구)", t)) for t in texts) >= 20
    assert sum(bool(re.search(r"(?:하실|있으신|원하시는|찾으시는|받으실) 분\??$", t)) for t in texts) >= 20


def test_every_intent_speaks_of_its_own_things():
    by_kind: dict[str, list[str]] = {}
    for row in spam.generate(1600, seed=4):
        by_kind.setdefault(spam.kind_of(row["family"]), []).append(row["text"])
    for kind, texts in by_kind.items():
        things = spam.INTENTS[kind]["thing"]
        hits = sum(any(t in text for t in things) for text in texts)
        # the rest: evasion spellings of the thing, plain claims that name no product
        assert hits >= 0.7 * len(texts), kind


def test_families_argument_takes_kinds_and_families_and_refuses_unknown_ones():
    rows = spam.generate(30, seed=1, families=["gambling", "adult/0"])
    assert {spam.kind_of(r["family"]) for r in rows} == {"gambling", "adult"}
    assert {r["family"] for r in rows if r["family"].startswith("adult")} == {"adult/0"}
    with pytest.raises(KeyError, match="unknown spam kinds or families"):
        spam.generate(3, families=["poetry"])
    with pytest.raises(KeyError, match="gambling/99"):
        spam.generate(3, families=["gambling/99"])


def test_generate_one_keeps_the_sample_api():
    row = spam.generate_one(random.Random(0), ["gambling"])
    assert set(row) == {"text", "family"} and spam.kind_of(row["family"]) == "gambling"


def test_evasion_spellings():
    rng = random.Random(3)
    assert spam.qwerty("카지노 가입") == "zkwlsh rkdlq"
    assert spam.qwerty("값 읽기 ok") == "rkqt dlfrrl ok"
    assert spam.spaced_out("토토", rng).replace(" ", "").replace("/", "").replace("|", "") == "토토"
    assert any(ch in spam.dotted("카지노 가입", rng) for ch in ".0_*-ㆍ1^,")
    mixed = spam.jamo_mix("카지노사이트", random.Random(1), share=1.0)
    assert "카" not in mixed and re.search("[ㄱ-ㅣ]", mixed)
    assert spam._ro("텔레") == "로" and spam._ro("카톡") == "으로" and spam._ro("라인") == "으로"
    assert spam._ro("카카오톡 방") == "으로" and spam._ro("슬롯") == "으로" and spam._ro("밴드") == "로"


def test_held_out_families_are_unseen_in_training_and_every_kind_is_both_sides():
    rows = [{**r, "label": "spam"} for r in spam.generate(1800, seed=7)]
    train, test = stratified_split(rows, test_size=0.2, seed=13)
    held, seen = {r["family"] for r in test}, {r["family"] for r in train}
    assert not held & seen
    # one structure of each intent (20% of 6, at least one) is held out; all intents train
    assert {spam.kind_of(f) for f in held} == {spam.kind_of(f) for f in seen} == INTENTS
    assert Counter(spam.kind_of(f) for f in held) == Counter(spam.KINDS)


def test_kind_holdout_is_the_harder_stress_test():
    rows = [{**r, "label": "spam"} for r in spam.generate(900, seed=7)]
    train, test = stratified_split(rows, test_size=0.2, seed=13, spam_holdout="kind")
    held = {spam.kind_of(r["family"]) for r in test}
    assert len(held) == round(len(spam.KINDS) * 0.2)
    assert not held & {spam.kind_of(r["family"]) for r in train}
    with pytest.raises(ValueError, match="spam_holdout must be"):
        stratified_split(rows, test_size=0.2, seed=13, spam_holdout="template")


def test_family_names_without_a_kind_split_as_whole_families():
    rng = random.Random(0)
    held = held_out_families(["casino", "loan", "coin", "flood", "ads"], 0.2, rng)
    assert len(held) == 1
    assert held_out_families(["casino", "loan"], 0.2, rng) == set()   # too few to hold out
    mixed = held_out_families(["a/0", "a/1", "a/2", "a/3", "a/4", "b"], 0.2, rng)
    assert len(mixed) == 1 and mixed < {"a/0", "a/1", "a/2", "a/3", "a/4"}
