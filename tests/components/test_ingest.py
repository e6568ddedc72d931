"""ingest: bad input is a clear error with nothing written; corrections; dedupe; split."""
import json

import pytest

from components.ingest import IngestError, ingest


def write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n"
                            for r in rows), encoding="utf-8")
    return path


def rows(n=30):
    out = []
    for label in ("normal", "question", "toxic", "spam"):
        out += [{"text": f"{label} 메시지 {i}", "label": label} for i in range(n)]
    return out


def test_malformed_line_is_named_and_nothing_written(tmp_path):
    src = write(tmp_path / "chat.jsonl", [rows()[0], "{not json", rows()[1]])
    out = tmp_path / "out"
    with pytest.raises(IngestError, match=r"chat.jsonl:2: not valid JSON"):
        ingest([str(src)], out)
    assert not out.exists()


def test_unknown_label_names_file_line_and_label(tmp_path):
    src = write(tmp_path / "chat.jsonl", rows(2) + [{"text": "x", "label": "ham"}])
    with pytest.raises(IngestError, match=r"chat.jsonl:9: unknown label 'ham'"):
        ingest([str(src)], tmp_path / "out")


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(IngestError, match="data source not found"):
        ingest([str(tmp_path / "nope.jsonl")], tmp_path / "out")


def test_corrections_override_labels_and_duplicates_resolve_by_priority(tmp_path):
    data = rows() + [{"text": "normal 메시지 0", "label": "spam"}]  # same text twice
    src = write(tmp_path / "chat.jsonl", data)
    fb = tmp_path / "feedback"
    fb.mkdir()
    write(fb / "c.jsonl", [{"text": "toxic   메시지 1", "label": "normal"},  # spacing differs
                           {"text": "새로운 정정 메시지", "label": "question"}])
    summary = ingest([str(src)], tmp_path / "out", feedback=str(fb))
    assert summary["corrections"] == 2
    assert summary["rows"] == 121  # 120 unique + one new text from feedback
    every = {}
    for name in ("train.jsonl", "test.jsonl"):
        for line in (tmp_path / "out" / name).read_text().splitlines():
            row = json.loads(line)
            every[row["text"]] = row["label"]
    assert every["normal 메시지 0"] == "spam"
    assert every["toxic 메시지 1"] == "normal"
    assert every["새로운 정정 메시지"] == "question"
    assert len(every) == 121
    train = (tmp_path / "out" / "train.jsonl").read_text()
    assert "toxic 메시지 1" in train and "새로운 정정 메시지" in train  # corrections always train


def test_split_is_stratified_and_disjoint(tmp_path):
    src = write(tmp_path / "chat.jsonl", rows(50))
    summary = ingest([str(src)], tmp_path / "out", test_size=0.2, seed=1)
    train = [json.loads(l) for l in (tmp_path / "out/train.jsonl").read_text().splitlines()]
    test = [json.loads(l) for l in (tmp_path / "out/test.jsonl").read_text().splitlines()]
    assert not {r["text"] for r in train} & {r["text"] for r in test}
    assert {r["label"] for r in test} == {"normal", "question", "toxic", "spam"}
    assert sum(r["label"] == "spam" for r in test) == 10
    assert summary["data_version"]["content_sha256"]


def test_answer_rows_need_question_and_answer(tmp_path):
    src = write(tmp_path / "qa.jsonl", [{"question": "몇 시?", "answer": ""}])
    with pytest.raises(IngestError, match=r"qa.jsonl:1: an answer row needs"):
        ingest([str(src)], tmp_path / "out")


def test_calibration_rows_are_normal_held_out_and_come_from_what_the_cap_left(tmp_path):
    data = [{"text": f"{src} 일상 {i}", "label": "normal", "source": src}
            for src in ("a", "b") for i in range(100)]
    data += [{"text": f"{src} 욕설 {i}", "label": "toxic", "source": src}
             for src in ("a", "b") for i in range(100)]
    src = write(tmp_path / "chat.jsonl", data)
    out = tmp_path / "out"
    capped = ingest([str(src)], out, seed=3, max_train_per_source_label=20,
                    calibration_per_source=30)
    load = lambda name: [json.loads(l) for l in (out / name).read_text().splitlines()]
    calibration, train, test = load("calibration.jsonl"), load("train.jsonl"), load("test.jsonl")
    assert capped["calibration"] == 60 and len(calibration) == 60
    assert {r["label"] for r in calibration} == {"normal"}
    assert sorted(r["source"] for r in calibration) == ["a"] * 30 + ["b"] * 30
    held = {r["text"] for r in calibration}
    assert not held & {r["text"] for r in train + test}
    # the screen's extra rows: every other training-split row the cap left out
    extra = load("screen_extra.jsonl")
    assert capped["screen_extra"] == len(extra) == 320 - 80 - 60     # 80% of 400, 4 x 20, 60
    assert not {r["text"] for r in extra} & (held | {r["text"] for r in train + test})
    assert {r["label"] for r in extra} == {"normal", "toxic"}
    # enough left over by the cap: the training rows are the same as without calibration
    ingest([str(src)], tmp_path / "plain", seed=3, max_train_per_source_label=20)
    assert train == [json.loads(l) for l in (tmp_path / "plain/train.jsonl").read_text().splitlines()]

    # no cap: the rows come out of training, never more than half of a source's normal rows
    ingest([str(src)], tmp_path / "uncapped", seed=3, calibration_per_source=70)
    train = [json.loads(l) for l in (tmp_path / "uncapped/train.jsonl").read_text().splitlines()]
    calibration = [json.loads(l) for l in (tmp_path / "uncapped/calibration.jsonl").read_text().splitlines()]
    normal_a = [r for r in train if r["source"] == "a" and r["label"] == "normal"]
    taken = sum(r["source"] == "a" for r in calibration)
    assert taken == (taken + len(normal_a)) // 2 and taken >= 39    # half of about 80
    assert not {r["text"] for r in calibration} & {r["text"] for r in train}
