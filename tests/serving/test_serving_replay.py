"""The replay source: JSONL and CSV, rates, bad rows; the Discord source's checks; bad
input to `chatloop serve --source replay:` and `chatloop classify`."""
from __future__ import annotations

import asyncio

import pytest

from serving.sources import SourceError, open_source
from serving.sources.replay import MAX_WAIT_S, ReplayError, read_replay


async def collect(source) -> list:
    return [m async for m in source]


def test_jsonl_fields_and_defaults(tmp_path, arun):
    path = tmp_path / "room.jsonl"
    path.write_text('{"text": "안녕", "user_id": "a", "message_id": "x1", "ts": 1700000000.5}\n\n'
                    '{"text": "두번째", "ts": "2024-01-01T00:00:00+00:00", "nickname": "닉"}\n',
                    encoding="utf-8")
    got = arun(collect(open_source(f"replay:{path}")))
    assert [(m.platform, m.channel, m.message_id, m.user_id, m.nickname, m.text, m.ts) for m in got] == [
        ("replay", "room", "x1", "a", "a", "안녕", 1700000000.5),
        ("replay", "room", "3", "replay-3", "닉", "두번째", 1704067200.0)]


@pytest.mark.parametrize("body, where", [
    ('{"text": "ok"}\nnot json\n', ":2: not JSON"),
    ('{"text": ""}\n', ':1: missing or empty "text"'),
    ('["a list"]\n', ":1: expected an object"),
    ('{"text": "a", "ts": "yesterday"}\n', ":1: ts 'yesterday'"),
])
def test_bad_rows_name_file_and_line(tmp_path, body, where):
    path = tmp_path / "bad.jsonl"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ReplayError, match=f"bad.jsonl{where}"):
        read_replay(path)


def test_csv_needs_text_column(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("message,user\nhi,a\n", encoding="utf-8")
    with pytest.raises(ReplayError, match="'text' column"):
        read_replay(path)


def test_paced_replays_yield_every_message_in_order(tmp_path, arun):
    path = tmp_path / "r.jsonl"
    path.write_text("".join(f'{{"text": "m{i}", "ts": {100 + i * 0.01}}}\n' for i in range(4)),
                    encoding="utf-8")
    for rate in (200.0, "recorded", None):
        got = arun(collect(open_source(f"replay:{path}", rate=rate)))
        assert [m.text for m in got] == ["m0", "m1", "m2", "m3"]
    for bad in (-1, 0, "fast"):
        with pytest.raises(ReplayError, match="rate"):
            open_source(f"replay:{path}", rate=bad)


def test_discord_source_checks(arun, monkeypatch):
    monkeypatch.delenv("DISCORD_BOT_TOKEN", raising=False)
    with pytest.raises(SourceError, match="numeric"):
        open_source("discord:general")
    with pytest.raises(SourceError, match="DISCORD_BOT_TOKEN"):
        arun(collect(open_source("discord:1234567890")))


GOOD = '{"text": "안녕하세요", "ts": 1700000000}\n'


@pytest.mark.parametrize("row, rate, message", [
    (r'{"text": "a\ud800b", "ts": 1700000001}', None, '"text" is not valid Unicode'),
    (b'{"text": "a\xff\xfeb"}', None, '"text" is not valid Unicode'),
    (r'{"text": "hi", "user_id": "\udc00"}', None, '"user_id" is not valid Unicode'),
    ('{"text": "\u200b\u200d\ufeff \u3164"}', None, 'missing or empty "text"'),
    ('{"text": "hi", "ts": 1700000001000}', "recorded", "(milliseconds? divide by 1000)"),
    ('{"text": "hi", "ts": "Infinity"}', "recorded", "is not a finite number"),
    ('{"text": "hi", "ts": NaN}', None, "is not a finite number"),
    ('{"text": "hi", "ts": ' + "9" * 400 + "}", None, "is not a finite number"),
    ('{"text": "hi", "ts": 1700090000}', "recorded", "ts jumps 90000 s past the row before"),
])
def test_serve_refuses_a_bad_replay_row_before_the_first_message(tmp_path, monkeypatch, capsys,
                                                                 row, rate, message):
    """`chatloop serve` stops at once with file:line, before loading a model or writing
    --decisions-out: no run that dies midway or sleeps for ever."""
    from serving.cli import main
    monkeypatch.setenv("CHATLOOP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CHATLOOP_FEEDBACK_URL", raising=False)
    path, out = tmp_path / "room.jsonl", tmp_path / "decisions.jsonl"
    path.write_bytes(GOOD.encode() + (row if isinstance(row, bytes) else row.encode()) + b"\n")
    argv = ["--source", f"replay:{path}", "--model", str(tmp_path / "no-model"),
            "--decisions-out", str(out)] + (["--rate", rate] if rate else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "room.jsonl:2: " in err and message in err, err
    assert not out.exists()


def test_replay_errors_name_the_line_and_say_why(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(GOOD.encode() + b'{"text": "\xed\xa0\x80 surrogate as bytes"}\n')
    with pytest.raises(ReplayError, match=r'r.jsonl:2: "text" is not valid Unicode'):
        read_replay(path)


def test_recorded_gaps_and_every_wait_are_bounded(tmp_path, arun, monkeypatch):
    path = tmp_path / "r.jsonl"
    path.write_text('{"text": "a", "ts": 100}\n{"text": "b", "ts": 50}\n'
                    '{"text": "c", "ts": 3700}\n{"text": "d"}\n{"text": "e", "ts": 3701.5}\n',
                    encoding="utf-8")
    # Out of order plays at once, a gap of MAX_WAIT_S is kept, a row without ts waits not.
    assert open_source(f"replay:{path}", rate="recorded").gaps == [0, 0, MAX_WAIT_S, 0, 1.5]
    waits = []

    async def fake_sleep(seconds):
        waits.append(seconds)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    got = arun(collect(open_source(f"replay:{path}", rate=1e-300)))  # i / rate = inf
    assert [m.text for m in got] == ["a", "b", "c", "d", "e"]
    assert len(waits) == 5 and max(waits) <= MAX_WAIT_S


@pytest.fixture
def classify_cli(tiny_model_dir):
    """`chatloop classify` with the session's trained tiny model (a real model directory)."""
    from chatloop.cli import main
    return lambda *argv: main(["classify", "--model", str(tiny_model_dir), *map(str, argv)])


def test_classify_refuses_invalid_unicode_with_the_line(tmp_path, classify_cli, capsys):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text('{"text": "ok"}\n{"text": "fine", "user": "\\ud800"}\n', encoding="utf-8")
    assert classify_cli("--input", src, "--output", out) == 2
    assert "in.jsonl:2: not valid Unicode" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def test_classify_leaves_no_temp_file_when_writing_fails(tmp_path, classify_cli):
    src, out = tmp_path / "in.jsonl", tmp_path / "out"
    src.write_text('{"text": "ok"}\n', encoding="utf-8")
    out.mkdir()          # the final rename onto a folder fails
    with pytest.raises(OSError):
        classify_cli("--input", src, "--output", out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl", "out"]
    assert classify_cli("--input", src, "--output", tmp_path / "ok.jsonl") == 0
