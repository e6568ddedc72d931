"""A small KFP v2beta1 REST API on 127.0.0.1: the endpoints kfp.Client calls to create
experiments, runs and recurring runs. It stores what it receives so tests can read it."""
from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

API = "/apis/v2beta1"
CREATED = "2026-01-01T00:00:00Z"


class KFPApi:
    """Experiments, runs and recurring runs held in memory; every request is logged."""

    def __init__(self, token: str | None = None):
        self.token = token
        self.requests: list[tuple[str, str, dict | None]] = []
        self.unknown: list[str] = []
        self.experiments: dict[str, dict] = {}
        self.runs: dict[str, dict] = {}
        self.recurring_runs: dict[str, dict] = {}
        self.lock = threading.Lock()

    # ---- resources
    def create_experiment(self, body: dict) -> dict:
        exp = {"experiment_id": str(uuid.uuid4()), "display_name": body["display_name"],
               "description": body.get("description") or "", "created_at": CREATED,
               "namespace": body.get("namespace") or "", "storage_state": "AVAILABLE"}
        self.experiments[exp["experiment_id"]] = exp
        return exp

    def list_experiments(self, query: dict) -> dict:
        found = list(self.experiments.values())
        raw = (query.get("filter") or [""])[0]
        if raw:
            for pred in json.loads(raw).get("predicates", []):
                value = pred.get("stringValue", pred.get("string_value"))
                found = [e for e in found if e.get(pred["key"]) == value]
        return {"experiments": found, "total_size": len(found)}

    def create_run(self, body: dict) -> dict:
        run = dict(body, run_id=str(uuid.uuid4()), state="PENDING", created_at=CREATED)
        self.runs[run["run_id"]] = run
        return run

    def create_recurring_run(self, body: dict) -> dict:
        job = dict(body, recurring_run_id=str(uuid.uuid4()), status="ENABLED",
                   created_at=CREATED, updated_at=CREATED)
        self.recurring_runs[job["recurring_run_id"]] = job
        return job

    # ---- routing
    def handle(self, method: str, url: str, body: dict | None, auth: str | None):
        self.requests.append((method, url, body))
        if self.token and auth != f"Bearer {self.token}":
            return 401, {"error": "unauthenticated", "code": 16}
        parsed = urlparse(url)
        path, query = parsed.path.rstrip("/"), parse_qs(parsed.query)
        if method == "GET" and path == f"{API}/healthz":
            return 200, {"commit_sha": "test", "tag_name": "2.x", "multi_user": False}
        if path == f"{API}/experiments":
            if method == "POST":
                return 200, self.create_experiment(body or {})
            return 200, self.list_experiments(query)
        if method == "GET" and path.startswith(f"{API}/experiments/"):
            exp = self.experiments.get(path.rsplit("/", 1)[1])
            return (200, exp) if exp else (404, {"error": "experiment not found", "code": 5})
        if method == "POST" and path == f"{API}/runs":
            return 200, self.create_run(body or {})
        if method == "POST" and path == f"{API}/recurringruns":
            return 200, self.create_recurring_run(body or {})
        self.unknown.append(f"{method} {url}")
        return 404, {"error": f"not implemented: {method} {path}", "code": 5}


def serve(api: KFPApi) -> ThreadingHTTPServer:
    """Start `api` on 127.0.0.1 on a free port, in a daemon thread."""

    class Handler(BaseHTTPRequestHandler):
        def _reply(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            with api.lock:
                status, payload = api.handle(self.command, self.path, body,
                                             self.headers.get("Authorization"))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = do_PATCH = _reply

        def log_message(self, *args):  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
