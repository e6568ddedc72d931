"""The bot loop: source -> micro-batcher -> rules + model -> actions / answers -> decision log.

One asyncio loop. The model runs on the host's one model thread (serving.model_worker;
torch releases the GIL), so the source keeps being read, and the next batch goes through the rules, while a
batch is scored; batches are decided in arrival order. A replay source waits when the queue
is full (backpressure: every message gets a decision); a live source cannot wait, so the
batcher's overload policy drops (counted, questions last); and a live message the LM has not
begun `deadline_ms` after it arrived is decided by the screen alone (`decided_by: late`), so the
bot falls behind the chat by about that plus one LM batch at worst. Model answers are generated on
the same thread between decisions: an answer in progress pauses after each token for the
batches waiting, so it holds a decision up by one token's time at most.
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass

from components.labels import LABELS
from serving.actions import Actions
from serving.answers import Answerer
from serving.batcher import MicroBatcher, looks_like_question
from serving.decisions import DecisionLog
from serving.drift import DriftMonitor, ObservedLog
from serving.message import ChatMessage
from serving.metrics import Metrics
from serving.model_host import ModelHost
from serving.multisource import ScopedRules
from serving.rules import Evidence, combine

log = logging.getLogger(__name__)


@dataclass
class Pending:
    message: ChatMessage
    arrived: float  # time.perf_counter() when the source yielded it


def label_batch(model, evidence: list[Evidence], batch_size: int,
                deadlines: list[float] | None = None) -> list[tuple[str, dict, dict, str]]:
    """(label, combined probs, model probs, decided by) per message: the model on the texts
    as sent (it prepares them as in training), then the rules' one combination rule.
    `decided by` is `screen`, `lm` or `late` (the screen, the LM out of time: `deadlines`,
    components.model.ChatModel.score). Blocking (run it in a thread from async code).

    The model sorts the texts by length and runs them `batch_size` at a time, so a large
    micro-batch (a backlog) is scored with little padding."""
    if not evidence:
        return []
    rows, by = model.score([ev.model_text for ev in evidence], batch_size=batch_size,
                           deadlines=deadlines)
    out = []
    for row, ev, who in zip(rows, evidence, by):
        model_probs = {label: float(p) for label, p in zip(LABELS, row)}
        label, probs = combine(model_probs, ev, getattr(model, "min_flag", None))
        out.append((label, probs, model_probs, who))
    return out


def chat_room(message: ChatMessage) -> str:
    """The key of a chat room across platforms (answer limits and recent lines are per room):
    the same channel name on two platforms is two rooms."""
    return f"{message.platform}:{message.channel}"


def _rounded(probs: dict) -> dict:
    return {k: round(v, 5) for k, v in probs.items()}


class Bot:
    def __init__(self, source, host: ModelHost, params: dict, *, answerer: Answerer,
                 actions: Actions, decisions: DecisionLog, metrics: Metrics | None = None,
                 wait_when_full: bool | None = None, drift: DriftMonitor | None = None):
        """`source`: one source or a serving.multisource.MergedSource (rules windows are
        kept per platform and channel); `drift`: observes every decision record."""
        self.source, self.host, self.p = source, host, params
        self.rules = ScopedRules(params["rules"])
        if drift is not None:
            decisions = ObservedLog(decisions, drift.observe)
        self.answerer, self.actions, self.decisions = answerer, actions, decisions
        self.batcher: MicroBatcher[Pending] = MicroBatcher(
            params["batch_size"], params["batch_ms"], params["queue_size"],
            is_question=lambda item: looks_like_question(item.message.text))
        self.metrics = metrics or Metrics()
        self.metrics.attach(host=host, source=source, batcher=self.batcher, decisions=decisions,
                            actions=actions)
        if drift is not None:
            self.metrics.attach_drift(drift)
        self.answer_queue: asyncio.Queue = asyncio.Queue(maxsize=8)
        self.model_worker = host.worker     # decisions first, answers between their tokens
        # Replay can wait for room; live chat cannot (the overload policy drops instead).
        self.wait_when_full = (getattr(source, "platform", "") == "replay"
                               or getattr(source, "all_replay", False)
                               if wait_when_full is None else wait_when_full)
        # Live chat cannot wait for the LM either: past the deadline the screen decides.
        late_s = params["deadline_ms"] / 1000
        self.deadline = late_s if late_s > 0 and not self.wait_when_full else None

    # ------------------------------------------------------------------ stages
    async def _read(self) -> None:
        async for message in self.source:
            item = Pending(message, time.perf_counter())
            if self.wait_when_full:
                await self.batcher.put(item)
            else:
                dropped = self.batcher.offer(item)
                if dropped is not None:
                    total = sum(self.batcher.drops.values())
                    if total == 1 or total % 1000 == 0:   # counted always, logged sparingly
                        log.warning("overload: %d messages dropped so far (latest %s:%s)", total,
                                    dropped.message.platform, dropped.message.message_id)

    async def _work(self) -> None:
        """Decide batches in order: while the model thread scores one batch, the loop inspects
        the next with the rules and hands it over (a queue of one between the two stages)."""
        scored: asyncio.Queue = asyncio.Queue(maxsize=1)

        async def feed() -> None:
            async for batch in self.batcher.batches():
                await scored.put(self._score(batch))
            await scored.put(None)

        async def finish() -> None:
            while (item := await scored.get()) is not None:
                await self._finish(*item)

        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(feed())
                group.create_task(finish())
        except ExceptionGroup as failed:   # one stage failed (the other was cancelled)
            raise failed.exceptions[0] from None

    def _score(self, batch: list[Pending]):
        """Rules on the batch, then the model on it in the model thread (not awaited here)."""
        evidence = [self.rules.inspect(item.message) for item in batch]
        model, version = self.host.current()
        deadlines = ([item.arrived + self.deadline for item in batch]
                     if self.deadline is not None else None)
        scoring = self.model_worker.urgent(label_batch, model, evidence,
                                           self.p["model_batch_size"], deadlines)
        return batch, evidence, model, version, scoring

    async def _finish(self, batch, evidence, model, version, scoring) -> list[dict]:
        """Await the batch's scores; actions, answers, metrics; records to the decision log."""
        decided = await scoring
        records = []
        for item, ev, (label, probs, model_probs, by) in zip(batch, evidence, decided):
            latency = time.perf_counter() - item.arrived
            action, answer = await self._act(item.message, ev, label, probs[label])
            record = self._record(item.message, ev, label, probs, model_probs, by, version,
                                  action, answer, latency)
            if action == "answer:model":    # logged by the answer worker, answer filled in
                self.answer_queue.put_nowait((item.message, ev.text, model, record))
            else:
                records.append(record)
            self.metrics.messages.labels(item.message.platform).inc()
            self.metrics.labels.labels(label).inc()
            self.metrics.latency.observe(latency)
        self.decisions.add(records)
        return records

    async def _act(self, message: ChatMessage, ev: Evidence, label: str, confidence: float):
        """(action string, FAQ answer or None) for one decided message; `answer:model` means
        the caller queues it for the answer worker."""
        if label in ("toxic", "spam"):
            action = await self.actions.moderate(message, label, confidence=confidence)
            self.metrics.actions.labels(action).inc()
            return action, None
        room = chat_room(message)
        self.answerer.remember(room, ev.text)
        plan = self.answerer.plan(room, ev.text, label)
        if plan.source is None:
            if plan.reason:
                self.metrics.answers.labels(plan.reason).inc()
            return ("answer-skipped:" + plan.reason if plan.reason else "none"), None
        self.metrics.answers.labels(plan.source).inc()
        if plan.source == "faq":
            sent = await self.actions.send_answer(message, plan.answer)
            return ("answer-failed" if sent == "failed" else "answer:faq"), plan.answer
        if self.answer_queue.full():
            self.metrics.answers.labels("busy").inc()
            return "answer-skipped:busy", None
        return "answer:model", None      # _finish queues it with its decision record

    async def _answer_worker(self) -> None:
        """Model answers, one at a time; each message's decision record is logged here, with
        the answer text (or `answer-failed`), so the log still has one record per message."""
        while True:
            message, text, model, record = await self.answer_queue.get()
            try:
                answer = await self.model_worker.background(
                    self.answerer.model_answer, model, text, chat_room(message))
                record["answer"] = answer or None
                if not answer:
                    record["action"] = "answer-skipped:empty"
                else:
                    log.info("answer to %s:%s %r: %r", message.platform, message.message_id,
                             text[:80], answer)
                    if await self.actions.send_answer(message, answer) == "failed":
                        record["action"] = "answer-failed"
            except Exception:  # noqa: BLE001 - one failed answer must not stop the bot
                record["action"] = "answer-failed"
                log.exception("answer to %s:%s failed", message.platform, message.message_id)
            finally:
                self.decisions.add([record])
                self.answer_queue.task_done()

    def _record(self, message, ev, label, probs, model_probs, decided_by, version, action,
                answer, latency) -> dict:
        """One decision record. The log keeps the first record per message id, so the
        re-check of an edited message is recorded as `<id>#edit-<edit time in ms>` (actions
        still use the platform's id)."""
        message_id = (f"{message.message_id}#edit-{round(message.ts * 1000)}"
                      if getattr(message, "edited", False) else message.message_id)
        return {"decision_id": uuid.uuid4().hex, "platform": message.platform,
                "channel": message.channel, "message_id": message_id,
                "user_id": message.user_id, "nickname": message.nickname, "text": message.text,
                "normalized": ev.text, "label": label, "confidence": round(probs[label], 5),
                "probs": _rounded(probs), "model_probs": _rounded(model_probs),
                "rules": ev.reasons(), "decided_by": decided_by,
                "model_name": self.host.name, "model_version": version,
                "action": action, "answer": answer, "latency_ms": round(latency * 1000, 3),
                "ts": message.ts, "decided_at": time.time()}

    # -------------------------------------------------------------------- run
    async def run(self) -> None:
        """Until the source ends (replay) or fails; every read message is decided and logged."""
        worker = asyncio.create_task(self._work())
        helpers = [asyncio.create_task(self.host.poll()), asyncio.create_task(self.decisions.run()),
                   asyncio.create_task(self._answer_worker())]
        reader = asyncio.create_task(self._read())
        try:
            done, _ = await asyncio.wait({reader, worker}, return_when=asyncio.FIRST_COMPLETED)
            if worker in done:      # the worker only ends early by failing
                reader.cancel()
                worker.result()
            reader.result()
        finally:
            reader.cancel()         # stopped (signal) or failed: read no more
            self.batcher.close()
            if not worker.done():
                await worker        # decide what was already read
            if not helpers[2].done():
                await self.answer_queue.join()
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            await self.decisions.close()
            await self.actions.close()
