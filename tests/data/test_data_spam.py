"""The spam generator: families, variety, evasion spellings, determinism, held-out families."""
from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from components import spam
from components.ingest import stratified_split
from components.labels import normalize_text

EVASION = {"spaced_out", "dotted", "qwerty_hangul", "jamo_mix", "spelled_link"}


def test_families_have_several_templates():
    assert len(spam.FAMILIES) >= 12
    for name, templates in spam.TEMPLATES.items():
        assert len(templates) >= 3, name
    # Non-evasion families never share a phrasing template.
    plain = [t for name, ts in spam.TEMPLATES.items() if name not in EVASION for t in ts]
    assert len(plain) == len(set(plain))


def test_generate_is_unique_balanced_normalised_and_seeded():
    rows = spam.generate(900, seed=5)
    texts = [r["text"] for r in rows]
    assert len(set(texts)) == 900
    assert all(t == normalize_text(t) and t for t in texts)
    counts = Counter(r["family"] for r in rows)
    assert set(counts) == set(spam.FAMILIES) and max(counts.values()) - min(counts.values()) <= 1
    assert spam.generate(900, seed=5) == rows
    assert spam.generate(900, seed=6) != rows


def test_families_argument_and_unknown_family():
    rows = spam.generate(30, seed=1, families=["flood", "loan_phone"])
    assert {r["family"] for r in rows} == {"flood", "loan_phone"}
    with pytest.raises(KeyError, match="unknown spam families"):
        spam.generate(3, families=["poetry"])


def test_generate_one_keeps_the_sample_api():
    row = spam.generate_one(random.Random(0), ["gambling"])
    assert set(row) == {"text", "family"} and row["family"] == "gambling"


def test_contact_details_and_floods_look_like_the_real_thing():
    by_family = {}
    for row in spam.generate(18 * 40, seed=2):
        by_family.setdefault(row["family"], []).append(row["text"])
    phone = re.compile(r"(010|070)[-. ]?\d{4}[-. ]?\d{4}|1588[-. ]?\d{4}")
    assert all(phone.search(t) for t in by_family["loan_phone"])
    assert sum("://" in t or "." in t for t in by_family["ad_link"]) == len(by_family["ad_link"])
    assert all(sum(t.count(unit) for unit in set(spam.FLOOD_UNITS)) >= 12 for t in by_family["flood"])
    # copy-paste walls repeat one chunk at least three times
    for text in by_family["copy_paste"]:
        words = text.split()
        assert any(words[:k] * (len(words) // k) == words and len(words) // k >= 3
                   for k in range(1, len(words) // 3 + 1)), text


def test_evasion_spellings():
    rng = random.Random(3)
    assert spam.qwerty("카지노 가입") == "zkwlsh rkdlq"
    assert spam.qwerty("값 읽기 ok") == "rkqt dlfrrl ok"
    assert spam.spaced_out("토토", rng).replace(" ", "").replace("/", "").replace("|", "") == "토토"
    assert any(ch in spam.dotted("카지노 가입", rng) for ch in ".0_*-ㆍ1^,")
    mixed = spam.jamo_mix("카지노사이트", random.Random(1), share=1.0)
    assert "카" not in mixed and re.search("[ㄱ-ㅣ]", mixed)
    for text in (r["text"] for r in spam.generate(40, seed=4, families=["qwerty_hangul"])):
        assert re.search(r"\b[a-zA-Z]{4,}\b", text), text


def test_held_out_families_are_unseen_in_training():
    rows = [{**r, "label": "spam"} for r in spam.generate(600, seed=7)]
    train, test = stratified_split(rows, test_size=0.2, seed=13)
    held = {r["family"] for r in test}
    assert 3 <= len(held) < len(spam.FAMILIES)
    assert not held & {r["family"] for r in train}
