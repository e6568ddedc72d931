"""chatloop data import: parsing every format, the one label mapping, errors, atomicity."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatloop.cli import main as cli_main
from components import spam
from components.data_import import DataImportError, import_datasets, split_golden
from components.ingest import ingest


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_every_format_is_parsed_and_mapped(shared, tmp_path):
    out = tmp_path / "raw"
    result = import_datasets(str(shared), str(out), dvc=False, spam_rows=36, spam_seed=3)

    assert result["curse-detection"] == {"rows": 4, "labels": {"normal": 3, "toxic": 1},
                                         "skipped": 2, "file": "curse-detection.jsonl"}
    curse = read(out / "curse-detection.jsonl")
    assert {"text": "가위|바위|보 하자", "label": "normal", "source": "curse-detection"} in curse
    assert {"text": "안녕 하세요", "label": "normal", "source": "curse-detection"} in curse

    hate = {r["text"]: r["label"] for r in read(out / "korean-hate-speech.jsonl")}
    assert hate == {"이런 기사 쓰는 기자는 머리가 비었냐": "toxic",
                    "저 사람들은 다 없어져야 한다": "toxic", "좋은 소식이네요 축하합니다": "normal"}

    intents = {r["text"]: r["label"] for r in read(out / "3i4k.jsonl")}
    assert intents == {"지금 몇 시야": "question", "그걸 누가 모르냐": "normal", "비가 온다": "normal",
                       "문 좀 닫아줘": "normal", "음": "normal"}

    answers = read(out / "chatbot-data.answers.jsonl")
    assert answers[1] == {"question": "안녕, 반가워", "answer": "나도, 반가워요.", "card": "",
                          "source": "chatbot-data"}
    assert result["chatbot-data"]["rows"] == 3 and result["chatbot-data"]["skipped"] == 1

    spam_rows = read(out / "spam.jsonl")
    assert len(spam_rows) == 36 and result["spam"]["kinds"] == len(spam.KINDS)
    assert 18 < result["spam"]["families"] <= 36
    assert all(r["label"] == "spam" and r["source"] == "spam" and r["family"] for r in spam_rows)

    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["datasets"]) == set(result)
    assert len(manifest["datasets"]["3i4k"]["inputs"]["3i4k/fci_train_val.txt"]) == 64


def test_output_feeds_ingest(shared, tmp_path):
    import_datasets(str(shared), str(tmp_path / "raw"), dvc=False, spam_rows=60)
    summary = ingest([str(tmp_path / "raw")], tmp_path / "splits", test_size=0.25)
    assert set(summary["labels"]) == {"normal", "question", "toxic", "spam"}
    assert summary["sources"]["spam"] == 60 and summary["answers_train"] >= 1
    test_families = {r["family"] for r in read(tmp_path / "splits" / "test.jsonl") if "family" in r}
    train_families = {r["family"] for r in read(tmp_path / "splits" / "train.jsonl") if "family" in r}
    assert test_families and not test_families & train_families


BAD = [
    ("curse-detection/dataset.txt", "좋아요|0\n나쁜 말 없음\n", ":2: expected `text|label`"),
    ("curse-detection/dataset.txt", "좋아요|0\n이상한 라벨|7\n", ":2: curse-detection: unknown raw label"),
    ("korean-hate-speech/train.tsv", "comments\tcontain_gender_bias\tbias\thate\n좋네\tFalse\tnone\n",
     ":2: expected 4 tab-separated fields, found 3"),
    ("korean-hate-speech/train.tsv", "text\tlabel\n좋네\tnone\n", ":1: header must name"),
    ("korean-hate-speech/train.tsv", "comments\tcontain_gender_bias\tbias\thate\n좋네\tFalse\tnone\tmaybe\n",
     ":2: korean-hate-speech: unknown raw label"),
    ("3i4k/fci_train_val.txt", "2\t뭐 해\n1\t\n9\t어디야\n", ":3: 3i4k: unknown raw label"),
    ("3i4k/fci_train_val.txt", "2\t뭐 해\n탭이 없는 줄\n", ":2: expected `label<TAB>text`"),
    ("chatbot-data/ChatbotData.csv", "Q,A,label\n안녕,반가워,0\n하나,둘,셋,넷\n", ":3: expected 3 CSV fields"),
]


@pytest.mark.parametrize("name,content,message", BAD, ids=[f"{b[0].split('/')[0]}-{i}" for i, b in enumerate(BAD)])
def test_malformed_line_names_file_and_line_and_keeps_old_data(make_shared, tmp_path, name, content, message):
    out = tmp_path / "raw"
    import_datasets(str(make_shared()), str(out), dvc=False, spam_rows=20)
    before = snapshot(out)

    bad = make_shared({name: content}, name="bad")
    with pytest.raises(DataImportError) as err:
        import_datasets(str(bad), str(out), dvc=False, spam_rows=20)
    assert str(bad / name) + message in str(err.value)
    assert snapshot(out) == before                       # old data intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad", "golden", "raw", "shared"]  # no leftovers


def test_subset_import_replaces_only_that_dataset(make_shared, tmp_path):
    out = tmp_path / "raw"
    import_datasets(str(make_shared()), str(out), dvc=False, spam_rows=20)
    curse_before = (out / "curse-detection.jsonl").read_bytes()
    newer = make_shared({"3i4k/fci_train_val.txt": "2\t내일 비 와?\n"}, name="newer")

    result = import_datasets(str(newer), str(out), datasets=["3i4k"], dvc=False)
    assert list(result) == ["3i4k"]
    assert read(out / "3i4k.jsonl") == [{"text": "내일 비 와?", "label": "question", "source": "3i4k"}]
    assert (out / "curse-detection.jsonl").read_bytes() == curse_before
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["datasets"]["3i4k"]["rows"] == 1 and "spam" in manifest["datasets"]


def test_full_import_drops_stale_files(shared, tmp_path):
    out = tmp_path / "raw"
    out.mkdir()
    (out / "old-dataset.jsonl").write_text('{"text": "x", "label": "normal"}\n')
    import_datasets(str(shared), str(out), dvc=False, spam_rows=20)
    assert not (out / "old-dataset.jsonl").exists()


def test_bad_requests_are_clear_errors(shared, tmp_path):
    with pytest.raises(DataImportError, match="unknown dataset"):
        import_datasets(str(shared), str(tmp_path / "raw"), datasets=["tweets"], dvc=False)
    with pytest.raises(DataImportError, match="no shared datasets found"):
        import_datasets(str(tmp_path / "nowhere"), str(tmp_path / "raw"), dvc=False)
    with pytest.raises(DataImportError, match="no \\*.tsv files"):
        import_datasets(str(tmp_path / "nowhere"), str(tmp_path / "raw"),
                        datasets=["korean-hate-speech"], dvc=False)
    with pytest.raises(DataImportError, match="not inside a DVC repository"):
        import_datasets(str(shared), str(tmp_path / "raw"), dvc=True)
    assert not (tmp_path / "raw").exists()


def test_cli_import(shared, tmp_path, capsys):
    out = tmp_path / "raw"
    assert cli_main(["data", "import", "--shared", str(shared), "-o", str(out), "--no-dvc",
                     "--dataset", "3i4k", "--dataset", "spam"]) == 0
    assert "3i4k: {'rows': 5" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["3i4k.jsonl", "manifest.json", "spam.jsonl"]

    bad = tmp_path / "bad"
    (bad / "3i4k").mkdir(parents=True)
    (bad / "3i4k" / "x.txt").write_text("2\t뭐야\n8\t이상해\n", encoding="utf-8")
    assert cli_main(["data", "import", "--shared", str(bad), "-o", str(out), "--no-dvc",
                     "--dataset", "3i4k"]) == 2
    assert f"{bad / '3i4k' / 'x.txt'}:2:" in capsys.readouterr().err


def test_failure_while_writing_keeps_old_data(shared, tmp_path, monkeypatch):
    from components import jsonl
    out = tmp_path / "raw"
    import_datasets(str(shared), str(out), dvc=False, spam_rows=20)
    before = snapshot(out)
    real_write, calls = jsonl.write_atomic, []

    def write_then_fail(path, rows):
        calls.append(path)
        real_write(path, rows)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(jsonl, "write_atomic", write_then_fail)
    with pytest.raises(OSError, match="No space left"):
        import_datasets(str(shared), str(out), dvc=False, spam_rows=30)
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["golden", "raw", "shared"]


REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.mark.skipif(not REAL.is_dir(), reason=f"shared datasets not present at {REAL} "
                                              "(available to CI and developers only)")
def test_import_real_shared_data(tmp_path):
    result = import_datasets(None, str(tmp_path / "raw"), dvc=False)
    curse, hate, intents = result["curse-detection"], result["korean-hate-speech"], result["3i4k"]
    assert curse["rows"] > 4000 and curse["labels"]["toxic"] > 1000 and curse["labels"]["normal"] > 2000
    assert hate["rows"] > 7000 and hate["labels"]["toxic"] > 3000 and hate["labels"]["normal"] > 2000
    assert intents["rows"] > 50000 and intents["labels"]["question"] > 10000
    assert set(intents["labels"]) == {"normal", "question"}
    assert result["chatbot-data"]["rows"] > 10000
    assert result["spam"]["rows"] == 2000 and result["spam"]["families"] >= 12
    for info in result.values():
        assert info["skipped"] <= 0.01 * info["rows"]
    answers = read(tmp_path / "raw" / "chatbot-data.answers.jsonl")
    assert all(r["question"] and r["answer"] and r["source"] == "chatbot-data" for r in answers)


def test_golden_rows_are_fixed_by_text_and_never_in_the_training_pool(shared, tmp_path):
    rows = [{"text": f"문장 {i}", "label": "toxic" if i % 3 else "normal"} for i in range(300)]
    golden, rest = split_golden(rows, per_label=10)
    assert len(golden) == 20 and len(rest) == 280                       # 10 per label
    assert not {r["text"] for r in golden} & {r["text"] for r in rest}
    again, _ = split_golden(list(reversed(rows)), per_label=10)
    assert {r["text"] for r in again} == {r["text"] for r in golden}    # the texts decide
    assert len(split_golden(rows[:50], per_label=10)[0]) == 1 + 3       # at most 10% of a label

    out = tmp_path / "raw"
    import_datasets(str(shared), str(out), dvc=False, spam_rows=20)
    golden_dir = tmp_path / "golden"
    independent = read(golden_dir / "independent.jsonl")
    assert {r["label"] for r in independent} == {"spam", "normal", "question"}
    manifest = json.loads((golden_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["datasets"]["independent.jsonl"]["spam"] == 240
    summary = ingest([str(out)], tmp_path / "splits", golden=str(golden_dir))
    trained = {r["text"] for r in read(tmp_path / "splits" / "train.jsonl")}
    tested = {r["text"] for r in read(tmp_path / "splits" / "test.jsonl")}
    gold = read(tmp_path / "splits" / "golden.jsonl")
    assert summary["golden"] == len(gold) >= len(independent)
    assert not {r["text"] for r in gold} & (trained | tested)
