"""components.jsonl: atomic writes and readers whose errors name file:line."""
from __future__ import annotations

import pytest

from components import jsonl
from components.ingest import IngestError, ingest


def test_rows_round_trip_and_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "rows.jsonl"
    rows = [{"text": "안녕 👋", "n": 1}, {"text": "둘째", "nested": {"a": [1, 2]}}]
    assert jsonl.write_atomic(path, rows) == 2
    assert path.read_text(encoding="utf-8").splitlines()[0] == '{"text": "안녕 👋", "n": 1}'
    path.write_text("\ufeff" + path.read_text(encoding="utf-8") + "\n  \n", encoding="utf-8")
    assert list(jsonl.read(path)) == [(1, rows[0]), (2, rows[1])]
    assert jsonl.load(tmp_path / "absent.jsonl", missing_ok=True) == []
    with pytest.raises(FileNotFoundError):
        jsonl.load(tmp_path / "absent.jsonl")


@pytest.mark.parametrize("body, message", [
    (b'{"a": 1}\n{"a": \n', "bad.jsonl:2: not valid JSON"),
    (b'{"a": 1}\n\n[1, 2]\n', "bad.jsonl:3: expected a JSON object, got list"),
    (b'{"a": 1}\n{"text": "caf\xe9"}\n', "bad.jsonl:2: not UTF-8 (byte 0xe9 at column 14)"),
    (b'{"a": 1}\n' + b"[" * 100_000 + b"\n", "bad.jsonl:2: not valid JSON"),
])
def test_bad_lines_name_the_file_and_line(tmp_path, body, message):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(body)
    with pytest.raises(jsonl.JsonlError) as err:
        jsonl.load(path)
    assert message in str(err.value)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "rows.jsonl"
    jsonl.write_atomic(path, [{"v": "old"}])
    with pytest.raises(TypeError):                   # a set is not JSON, found mid-write
        jsonl.write_atomic(path, [{"v": "new"}, {"v": {1, 2}}])
    with pytest.raises(UnicodeEncodeError):          # a lone surrogate is not UTF-8
        jsonl.write_atomic(path, [{"v": "\ud800"}])
    assert jsonl.load(path) == [{"v": "old"}]
    (tmp_path / "folder").mkdir()
    with pytest.raises(OSError):                     # the final rename fails
        jsonl.write_atomic(tmp_path / "folder", [{"v": 1}])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "rows.jsonl"]


def test_ingest_names_the_line_of_bytes_that_are_not_utf8(tmp_path):
    src = tmp_path / "chat.jsonl"
    src.write_bytes(b'{"text": "ok", "label": "normal"}\n{"text": "\xff", "label": "normal"}\n')
    with pytest.raises(IngestError, match=r"chat.jsonl:2: not UTF-8"):
        ingest([str(src)], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_classify_input_names_the_line_of_bytes_that_are_not_utf8(tmp_path):
    from components.classify import read_texts
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"text": "ok"}\n{"text": "a\xed\xa0\x80b"}\n')
    with pytest.raises(ValueError, match=r"in.jsonl:2: not UTF-8"):
        read_texts(src)
