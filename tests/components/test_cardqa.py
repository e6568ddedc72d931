"""Card-grounded answer pairs: facts are copied from the card, held-out vocabularies are disjoint."""
import json

import pytest

from components import cardqa
from components.ingest import IngestError, ingest


def test_answers_copy_the_asked_fact_from_the_card():
    rows = cardqa.generate(600, seed=3)
    assert len({(r["card"], r["question"]) for r in rows}) == 600
    answered = [r for r in rows if r["fact"]]
    assert len(answered) > 400
    for r in answered:
        assert r["fact"] in r["card"] and r["fact"] in r["answer"]
    for r in rows:
        if r["field"].startswith("unknown:"):
            field = r["field"].split(":", 1)[1]
            assert not any(key in r["card"] for key in cardqa.FIELDS[field][0]
                           if len(key) > 2), (field, r["card"])
            assert r["answer"] in cardqa.UNKNOWN
        assert isinstance(r["recent"], list) and len(r["recent"]) <= 5
    assert cardqa.generate(50, seed=3) == rows[:50]


def test_heldout_facts_and_questions_never_appear_in_training():
    train = cardqa.generate(1500, part="train")
    held = cardqa.generate(300, part="heldout")
    train_facts = {r["fact"] for r in train if r["fact"] and r["field"] != "rules"}
    held_facts = {r["fact"] for r in held if r["fact"] and r["field"] != "rules"}
    assert held_facts and not held_facts & train_facts
    strip = lambda q: q.rstrip("?~ ").removesuffix(" 궁금해요").removesuffix(" ㅎㅎ").rstrip("?~ ")
    train_q = {strip(r["question"]) for r in train if r["field"] != "private"}
    held_q = {strip(r["question"]) for r in held if r["field"] != "private"}
    assert not held_q & train_q
    with pytest.raises(ValueError):
        cardqa.generate(1, part="test")


def test_ingest_keeps_recent_lines_and_refuses_a_bad_one(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    chat = [{"text": f"메시지 {i}", "label": lab} for i, lab in
            enumerate(["normal", "question", "toxic", "spam"] * 10)]
    qa = cardqa.generate(20, seed=1)
    (src / "chat.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in chat))
    (src / "qa.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in qa))
    out = tmp_path / "out"
    ingest([str(src)], str(out), test_size=0.2)
    rows = [json.loads(x) for name in ("answers_train.jsonl", "answers_test.jsonl")
            for x in (out / name).read_text().splitlines()]
    assert len(rows) == 20 and any(r["recent"] for r in rows)
    bad = dict(qa[0], recent="ㅋㅋ")
    (src / "qa.jsonl").write_text(json.dumps(bad, ensure_ascii=False))
    with pytest.raises(IngestError, match="qa.jsonl:1: 'recent' must be a list"):
        ingest([str(src)], str(tmp_path / "out2"), test_size=0.2)
