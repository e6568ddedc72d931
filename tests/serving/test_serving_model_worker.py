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


def test_close_stops_the_job_in_progress_drops_the_queued_ones_and_joins():
    from serving.model_worker import WorkerClosed
    started = threading.Event()

    def endless_answer(between_steps):
        while True:
            between_steps()
            started.set()                       # one step done: close() finds it running

    async def main():
        worker = ModelWorker()
        answering = worker.background(endless_answer)
        await asyncio.to_thread(started.wait, 5)
        queued = worker.background(lambda between_steps: "never")
        await asyncio.to_thread(worker.close)
        assert not worker.thread.is_alive()
        for job in (answering, queued):
            with pytest.raises(WorkerClosed):
                await job

    asyncio.run(main())


EXIT_MID_ANSWER = """
import threading, torch
from serving.model_host import ModelHost
host = ModelHost("models:/unused@champion")
started = threading.Event()
def answer(between_steps):
    x = torch.randn(256, 256)
    while True:
        started.set()
        x = (x @ x).tanh()
        between_steps()
host.worker._put(host.worker._background, answer, ())
started.wait(30)
print("exiting with the model thread inside torch")
"""


def test_the_process_exits_cleanly_while_the_model_thread_is_inside_torch():
    """A daemon thread inside torch at interpreter exit aborts the process (exit 134):
    the host's finalizer must stop and join it first."""
    import subprocess
    import sys
    from pathlib import Path
    done = subprocess.run([sys.executable, "-c", EXIT_MID_ANSWER], capture_output=True,
                          text=True, timeout=300, cwd=Path(__file__).resolve().parents[2])
    assert "exiting" in done.stdout, done.stderr
    assert done.returncode == 0, done.stderr[-2000:]
    assert "terminate called" not in done.stderr
