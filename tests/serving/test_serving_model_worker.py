"""The model worker: decisions run between the steps of an answer in progress, in order."""
import asyncio
import threading

import pytest

from serving.model_worker import ModelWorker


def test_urgent_jobs_run_between_the_steps_of_a_background_job():
    events: list[str] = []
    started = threading.Event()
    release = threading.Event()

    def answer(between_steps):
        events.append("answer:start")
        started.set()
        for step in range(3):
            if step == 1:
                release.wait(5)           # the urgent jobs are queued while we "generate"
            between_steps()
            events.append(f"answer:token{step}")
        return "done"

    def score(name):
        events.append(name)
        return name

    async def main():
        worker = ModelWorker()
        answering = worker.background(answer)
        await asyncio.to_thread(started.wait, 5)
        scored = [worker.urgent(score, f"batch{i}") for i in range(2)]
        release.set()
        results = await asyncio.gather(answering, *scored)
        worker.close()
        return results, worker.preemptions

    results, preemptions = asyncio.run(main())
    assert results == ["done", "batch0", "batch1"]
    # both batches ran inside the answer, before its second token, in arrival order
    assert events == ["answer:start", "answer:token0", "batch0", "batch1", "answer:token1",
                      "answer:token2"]
    assert preemptions == 2


def test_urgent_first_and_errors_reach_the_caller():
    gate = threading.Event()
    order: list[str] = []

    async def main():
        worker = ModelWorker()
        blocker = worker.urgent(gate.wait, 5)
        later_bg = worker.background(lambda between_steps: order.append("bg"))
        later_urgent = worker.urgent(lambda: order.append("urgent"))
        failing = worker.urgent(lambda: 1 / 0)
        gate.set()
        await asyncio.gather(blocker, later_bg, later_urgent)
        with pytest.raises(ZeroDivisionError):
            await failing
        worker.close()
        with pytest.raises(RuntimeError, match="closed"):
            worker.urgent(lambda: None)

    asyncio.run(main())
    assert order == ["urgent", "bg"]


def test_generation_calls_between_steps_once_per_token(tiny_model_dir):
    from components.model import ChatModel
    model = ChatModel.load(tiny_model_dir)
    calls = []
    plain = model.answer("방송 몇 시까지 해요?", card="스트리머 감자", max_new_tokens=6)
    hooked = model.answer("방송 몇 시까지 해요?", card="스트리머 감자", max_new_tokens=6,
                          between_steps=lambda: calls.append(1))
    assert hooked == plain                # the hook never changes the answer
    assert 1 <= len(calls) <= 6
