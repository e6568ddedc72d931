"""Micro-batcher: size and time limits, backpressure, the overload policy."""
from __future__ import annotations

import asyncio

import pytest

from serving.batcher import MicroBatcher, looks_like_question


def test_batches_by_size_then_by_time_and_drains_on_close(arun):
    async def main():
        b = MicroBatcher(max_batch=4, max_wait_ms=20, queue_size=10)
        for i in range(6):
            await b.put(i)
        got = []

        async def consume():
            async for batch in b.batches():
                got.append(batch)

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.2)          # the 2 leftovers go out when their time is up
        await b.put(6)
        b.close()
        await task
        return got

    assert arun(main()) == [[0, 1, 2, 3], [4, 5], [6]]


def test_put_waits_for_room_and_loses_nothing(arun):
    async def main():
        b = MicroBatcher(max_batch=3, max_wait_ms=1, queue_size=3)
        got = []

        async def produce():
            for i in range(50):
                await b.put(i)
                assert len(b) <= 3
            b.close()

        async def consume():
            async for batch in b.batches():
                got.extend(batch)
                await asyncio.sleep(0)

        await asyncio.gather(produce(), consume())
        return got, b.drops

    got, drops = arun(main())
    assert got == list(range(50)) and not drops


def test_overload_drops_oldest_non_question_first(arun):
    async def main():
        b = MicroBatcher(max_batch=3, max_wait_ms=1, queue_size=3, is_question=looks_like_question)
        assert b.offer("몇 시까지 해요?") is None
        assert b.offer("ㅋㅋㅋ") is None
        assert b.offer("안녕") is None
        assert b.offer("게임 뭐예요?") == "ㅋㅋㅋ"           # oldest non-question goes
        assert b.offer("방가") == "안녕"
        assert b.offer("하이") == "방가"
        assert b.offer("누구세요?") == "하이"
        assert b.offer("노래 제목 뭐?") == "몇 시까지 해요?"  # all questions: oldest question
        assert b.offer("그냥 채팅") == "그냥 채팅"           # newcomer non-question refused
        return [item for _, item in b.queue], b.drops

    queue, drops = arun(main())
    assert queue == ["게임 뭐예요?", "누구세요?", "노래 제목 뭐?"]
    assert drops == {"message": 5, "question": 1}


def test_bad_limits_are_refused():
    with pytest.raises(ValueError):
        MicroBatcher(max_batch=0)
    with pytest.raises(ValueError):
        MicroBatcher(max_batch=10, queue_size=5)


@pytest.mark.parametrize("text, expected", [("방송 언제 해요?", True), ("마이크 뭐 써요", False),
                                            ("몇 시까지", False), ("이거 어떻게", True),
                                            ("ㅋㅋㅋ", False)])
def test_question_hint(text, expected):
    assert looks_like_question(text) is expected
