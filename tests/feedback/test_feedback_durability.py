"""Durability: 20 clients x 500 corrections while the service is SIGKILLed and restarted.

Afterwards every correction that got a 2xx is stored exactly once (clients retry with the
same idempotency key, as feedback.client does)."""
from __future__ import annotations

import threading
from collections import Counter

import pytest

from feedback.client import FeedbackClient
from feedback.store import Store
from feedback_helpers import ALICE

CLIENTS, PER_CLIENT = 20, 500
KILL_AT = (2500, 6000)         # acknowledged corrections before each SIGKILL


@pytest.mark.timeout(600)
def test_every_acknowledged_correction_survives_sigkill(service):
    service.start()
    acked: dict[str, tuple[str, str]] = {}
    lock = threading.Lock()
    failures: list[BaseException] = []
    clients: list[FeedbackClient] = []
    progress = threading.Condition(lock)

    def client(n: int) -> None:
        with FeedbackClient(service.url, ALICE, timeout=10, retry_for=90) as api:
            clients.append(api)
            try:
                for i in range(PER_CLIENT):
                    key = f"c{n}-{i}"
                    text, label = f"클라이언트 {n} 메시지 {i}", ("spam", "toxic", "normal")[i % 3]
                    row = api.add_correction(label, text=text, idempotency_key=key)
                    assert (row["text"], row["label"], row["idempotency_key"]) == (text, label, key)
                    with lock:
                        acked[key] = (text, label)
                        progress.notify_all()
            except BaseException as exc:  # reported by the main thread
                failures.append(exc)
                with lock:
                    progress.notify_all()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    kills = 0
    for target in KILL_AT:
        with lock:
            assert progress.wait_for(lambda: len(acked) >= target or failures, timeout=300), \
                "load stalled before the kill"
        assert not failures, failures[0]
        service.kill()            # SIGKILL while 20 clients have requests in flight
        kills += 1
        service.start()
    for t in threads:
        t.join(300)
    assert not any(t.is_alive() for t in threads), "clients did not finish"
    assert not failures, failures[0]
    service.stop()

    assert kills == 2 and sum(c.retries for c in clients) > 0, "the kills were not felt"
    assert len(acked) == CLIENTS * PER_CLIENT
    store = Store(service.db_url)
    rows = store.corrections()
    keys = Counter(r["idempotency_key"] for r in rows)
    assert [k for k, n in keys.items() if n > 1] == []           # stored at most once
    assert set(keys) == set(acked)                               # every 2xx is there
    assert all((r["text"], r["label"]) == acked[r["idempotency_key"]] for r in rows)
    assert store.stats()["corrections"] == CLIENTS * PER_CLIENT
    store.close()
