"""The spam generator: kinds and template families, variety, evasion spellings, determinism,
held-out families."""
from __future__ import annotations

import random
import re
from collections import Counter

import pytest

from components import spam
from components.ingest import held_out_families, stratified_split
from components.labels import normalize_text

EVASION = {"spaced_out", "dotted", "qwerty_hangul", "jamo_mix", "spelled_link"}


def test_kinds_have_several_template_families():
    assert len(spam.KINDS) >= 12
    for kind, templates in spam.TEMPLATES.items():
        assert len(templates) >= 4, kind
    assert len(spam.FAMILIES) == sum(map(len, spam.TEMPLATES.values()))
    assert all(spam.kind_of(f) in spam.TEMPLATES for f in spam.FAMILIES)
    assert spam.kind_of("gambling/2") == "gambling" and spam.kind_of("legacy") == "legacy"
    # Non-evasion kinds never share a phrasing template.
    plain = [t for name, ts in spam.TEMPLATES.items() if name not in EVASION for t in ts]
    assert len(plain) == len(set(plain))


def test_generate_is_unique_balanced_normalised_and_seeded():
    rows = spam.generate(900, seed=5)
    texts = [r["text"] for r in rows]
    assert len(set(texts)) == 900
    assert all(t == normalize_text(t) and t for t in texts)
    kinds = Counter(spam.kind_of(r["family"]) for r in rows)
    assert set(kinds) == set(spam.KINDS) and max(kinds.values()) - min(kinds.values()) <= 1
    assert {r["family"] for r in rows} == set(spam.FAMILIES)   # every template is used
    assert spam.generate(900, seed=5) == rows
    assert spam.generate(900, seed=6) != rows


def test_families_argument_takes_kinds_and_families_and_refuses_unknown_ones():
    rows = spam.generate(30, seed=1, families=["flood", "loan_phone/0"])
    assert {spam.kind_of(r["family"]) for r in rows} == {"flood", "loan_phone"}
    assert {r["family"] for r in rows if r["family"].startswith("loan")} == {"loan_phone/0"}
    with pytest.raises(KeyError, match="unknown spam kinds or families"):
        spam.generate(3, families=["poetry"])
    with pytest.raises(KeyError, match="gambling/99"):
        spam.generate(3, families=["gambling/99"])


def test_generate_one_keeps_the_sample_api():
    row = spam.generate_one(random.Random(0), ["gambling"])
    assert set(row) == {"text", "family"} and spam.kind_of(row["family"]) == "gambling"


def test_contact_details_and_floods_look_like_the_real_thing():
    by_family = {}
    for row in spam.generate(18 * 40, seed=2):
        by_family.setdefault(spam.kind_of(row["family"]), []).append(row["text"])
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


def test_held_out_families_are_unseen_in_training_and_every_kind_is_both_sides():
    rows = [{**r, "label": "spam"} for r in spam.generate(1800, seed=7)]
    train, test = stratified_split(rows, test_size=0.2, seed=13)
    held, seen = {r["family"] for r in test}, {r["family"] for r in train}
    assert not held & seen
    # one template of each kind (20% of 4-5, at least one) is held out; all kinds train
    assert {spam.kind_of(f) for f in held} == {spam.kind_of(f) for f in seen} == set(spam.KINDS)
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
