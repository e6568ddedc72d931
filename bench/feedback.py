"""Benchmark: corrections/s the feedback service sustains with concurrent clients.

Starts `chatloop feedback serve` (one uvicorn process, SQLite WAL with FULL sync unless
--sync says otherwise) on 127.0.0.1 with a temporary database, runs --clients threads that
each POST --per-client corrections over one keep-alive HTTP connection (the lean stdlib
client, so client overhead takes as little of the shared cores as possible), then counts
the rows: nothing acknowledged may be missing. Prints figures; asserts nothing.

    python bench/feedback.py --clients 20 --per-client 500
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TOKEN = "bench-token-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_service(db_url: str, port: int, sync: str) -> subprocess.Popen:
    env = dict(os.environ, CHATLOOP_MODERATOR_TOKENS=f"bench:{TOKEN}",
               CHATLOOP_FEEDBACK_SQLITE_SYNC=sync)
    proc = subprocess.Popen([sys.executable, "-m", "chatloop.cli", "feedback", "serve",
                             "--host", "127.0.0.1", "--port", str(port), "--db", db_url,
                             "--log-level", "warning"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the service did not start")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (Linux /proc), or NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def client(port: int, n: int, per_client: int, latencies: list, errors: list) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    for i in range(per_client):
        body = json.dumps({"text": f"벤치 메시지 {n}-{i}", "label": "spam",
                           "idempotency_key": f"bench-{n}-{i}"})
        for _attempt in range(5):
            started = time.perf_counter()
            try:
                conn.request("POST", "/v1/corrections", body, headers)
                response = conn.getresponse()
                response.read()
            except OSError as exc:
                errors.append(repr(exc))
                conn.close()
                continue
            if response.status in (200, 201):
                latencies.append(time.perf_counter() - started)
                break
            errors.append(f"HTTP {response.status}")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--per-client", type=int, default=500)
    parser.add_argument("--sync", default="FULL", choices=["FULL", "NORMAL"],
                        help="SQLite synchronous setting (FULL: every commit is on disk)")
    args = parser.parse_args()
    from feedback.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{tmp}/bench.db"
        port = free_port()
        proc = start_service(db_url, port, args.sync)
        latencies: list[float] = []
        errors: list[str] = []
        threads = [threading.Thread(target=client, args=(port, n, args.per_client, latencies, errors))
                   for n in range(args.clients)]
        cpu0 = os.times()
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        server_cpu = process_cpu_seconds(proc.pid)
        proc.terminate()
        proc.wait(10)
        stored = Store(db_url).stats()["corrections"]

    sent = args.clients * args.per_client
    lat = sorted(latencies)
    load = os.getloadavg()
    print(f"feedback bench: {args.clients} clients x {args.per_client} corrections, "
          f"SQLite sync={args.sync}, {os.cpu_count()} CPUs (load avg {load[0]:.1f})")
    print(f"  acknowledged  {len(lat)}/{sent} in {elapsed:.2f} s -> "
          f"{len(lat) / elapsed:.0f} corrections/s")
    if lat:
        print(f"  latency       p50 {statistics.median(lat) * 1000:.1f} ms, "
              f"p99 {lat[int(len(lat) * 0.99) - 1] * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms")
    print(f"  stored        {stored} (lost: {max(0, len(lat) - stored)}), "
          f"client errors: {len(errors)}")
    client_cpu = os.times().user - cpu0.user + os.times().system - cpu0.system
    print(f"  CPU           service {server_cpu:.1f} s ({server_cpu / max(1, stored) * 1000:.2f} ms "
          f"per correction, incl. start-up), bench clients {client_cpu:.1f} s")


if __name__ == "__main__":
    main()
