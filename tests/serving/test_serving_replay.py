"""The replay source: JSONL and CSV, rates, bad rows; the Discord source's checks."""
from __future__ import annotations

import pytest

from serving.sources import SourceError, open_source
from serving.sources.replay import ReplayError, read_replay


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
