"""The spam generator: intents and structure families, open vocabularies, variety, evasion
spellings, determinism, held-out families."""
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


def test_every_intent_is_a_kind_with_at_least_four_structure_families():
    assert set(spam.KINDS) == INTENTS == set(spam.STORIES)
    per_kind = Counter(spam.kind_of(f) for f in spam.FAMILIES)
    assert set(per_kind) == INTENTS and min(per_kind.values()) >= 4
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
    assert len(ids) >= 300 and len(prices) >= 200 and len(counts) >= 200 and len(domains) >= 150
    words = [len(t.split()) for t in texts]
    assert sum(w <= 4 for w in words) >= 20 and sum(w >= 15 for w in words) >= 100  # short..long
    assert sum(bool(re.search(r"(주세요|합니다|해요|드려요)", t)) for t in texts) >= 400  # polite
    assert sum(bool(re.search(r"(ㄱㄱ|ㄱ\b|함\b|해줌|해드림)", t)) for t in texts) >= 400  # casual


def test_contact_forms_cover_ids_links_spelled_links_shorteners_and_phones():
    texts = [r["text"] for r in spam.generate(2000, seed=2)]
    def share(pattern):
        return sum(bool(re.search(pattern, t)) for t in texts)
    assert share(r"(bit\.ly|me2\.do|han\.gl|t\.ly|is\.gd|zrr\.kr|url\.kr)/\w+") >= 50
    assert share(r"(점|쩜|dot|\(\.\)|\[\.\]) ?(com|net|kr|xyz|shop|site|io|me|top|vip|bet)|닷컴") >= 30
    assert share(r"(010|070)[-. ]?\d{4}[-. ]?\d{4}|1588[-. ]?\d{4}") >= 20
    assert share(r"텔레|카톡|카카오|디코|디스코드|라인|밴드|위챗|TG|LINE") >= 200
    assert share(r"(텔|카|디|라|밴|위)[./_*ㆍ| -]+(레|톡|코|인|드|챗)") >= 10   # 텔.레, 카 톡


def test_every_intent_speaks_of_its_own_things():
    by_kind: dict[str, list[str]] = {}
    for row in spam.generate(1600, seed=4):
        by_kind.setdefault(spam.kind_of(row["family"]), []).append(row["text"])
    for kind, texts in by_kind.items():
        things = spam.INTENTS[kind]["thing"]
        hits = sum(any(t in text for t in things) for text in texts)
        assert hits >= 0.8 * len(texts), kind   # the rest: evasion spellings of the thing


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
