"""The loop closed end to end, every part real:

replay chat through `chatloop serve` -> decisions posted to `chatloop feedback serve` ->
moderator corrections through its API -> `chatloop feedback export` (file, dvc add, dvc push,
git commit in a clone of this project) -> `chatloop pipeline run --repo CLONE --rev HEAD`
(kfp.local, reading the data through DVC at that commit). The new MLflow run records the new
data version, and the training split holds the corrected labels.
"""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from chatloop.cli import main
from components.model_registry import client
from components.config import ROOT

pytestmark = pytest.mark.slow
CHATLOOP = [sys.executable, "-m", "chatloop.cli"]
MESSAGES = ["안녕하세요 다들", "오늘 방송 몇 시까지 해요?", "무료 코인 받기 bit.ly/x1y2z",
            "진짜 못한다 병신", "와 방금 그거 대박", "마이크 뭐 쓰세요?", "다음 합방 기대된다",
            "팔로워 1000명 만원 카톡 abc12"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def env(registry, tmp_path):
    port = free_port()
    return {**os.environ,
            "CHATLOOP_FEEDBACK_DB": f"sqlite:///{tmp_path / 'feedback.db'}",
            "CHATLOOP_MODERATOR_TOKENS": "mina:mod-secret-1",
            "CHATLOOP_SERVICE_TOKENS": "serving:svc-secret-1",
            "CHATLOOP_FEEDBACK_URL": f"http://127.0.0.1:{port}",
            "CHATLOOP_FEEDBACK_TOKEN": "svc-secret-1",
            "GIT_AUTHOR_NAME": "loop", "GIT_AUTHOR_EMAIL": "loop@example.invalid",
            "GIT_COMMITTER_NAME": "loop", "GIT_COMMITTER_EMAIL": "loop@example.invalid",
            "DVC_NO_ANALYTICS": "1", "PORT": str(port)}


@pytest.fixture
def feedback_service(env, tmp_path):
    log = open(tmp_path / "feedback.log", "w")
    proc = subprocess.Popen([*CHATLOOP, "feedback", "serve", "--host", "127.0.0.1",
                             "--port", env["PORT"]], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = env["CHATLOOP_FEEDBACK_URL"]
    for _ in range(120):
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, (tmp_path / "feedback.log").read_text()
        time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def test_corrections_flow_into_the_next_training_run(registry, env, feedback_service, tmp_path):
    # 1. Serving replays chat and posts its decisions to the feedback service.
    replay = tmp_path / "chat.jsonl"
    replay.write_text("".join(json.dumps({"text": t, "message_id": f"m{i}", "user_id": f"u{i}"},
                                         ensure_ascii=False) + "\n" for i, t in enumerate(MESSAGES)))
    out = tmp_path / "decisions.jsonl"
    served = subprocess.run([*CHATLOOP, "serve", "--source", f"replay:{replay}",
                             "--model", "models:/chatloop@champion", "--decisions-out", str(out)],
                            env=env, capture_output=True, text=True, timeout=300)
    assert served.returncode == 0, served.stderr[-2000:]
    assert len(out.read_text().splitlines()) == len(MESSAGES)

    # 2. A moderator corrects three decisions through the API.
    auth = {"Authorization": "Bearer mod-secret-1"}
    review = httpx.get(f"{feedback_service}/v1/review", headers=auth, params={"limit": 50}, timeout=10)
    assert review.status_code == 200, review.text
    items = review.json()["items"]
    assert {i["text"] for i in items} == set(MESSAGES)
    flip = {"normal": "question", "question": "toxic", "toxic": "spam", "spam": "normal"}
    corrected = {}
    for item in sorted(items, key=lambda i: i["text"])[:3]:
        label = flip[item["label"]]
        r = httpx.post(f"{feedback_service}/v1/corrections", headers=auth, timeout=10,
                       json={"decision_id": item["id"], "label": label,
                             "idempotency_key": f"loop-{item['id']}"})
        assert r.status_code in (200, 201), r.text
        corrected[item["text"]] = label

    # 3. Export into a clone of the project: new file, dvc add + push, git commit.
    clone = tmp_path / "project"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    before = git(clone, "rev-parse", "HEAD")
    exported = subprocess.run([*CHATLOOP, "feedback", "export", "--repo", str(clone)], env=env,
                              capture_output=True, text=True, timeout=300)
    assert exported.returncode == 0, exported.stderr[-2000:]
    head = git(clone, "rev-parse", "HEAD")
    assert head != before and "data/feedback.dvc" in git(clone, "show", "--name-only", "HEAD")
    pointer = yaml.safe_load((clone / "data/feedback.dvc").read_text())["outs"][0]["md5"]

    # 4. The next pipeline run reads that commit's data through DVC.
    workdir = tmp_path / "kfp"
    code = main(["pipeline", "run", "--profile", "tiny", "--repo", str(clone), "--rev", head, "--workdir", str(workdir),
                 "--set", "train.epochs=1", "--set", "evaluate.answer_samples=4"])
    assert code == 0
    c = client()
    runs = c.search_runs([c.get_experiment_by_name("chatloop").experiment_id],
                              order_by=["attributes.start_time DESC"], max_results=1)
    tags = runs[0].data.tags
    assert tags["data.git_rev"] == head
    assert tags["data.dvc.data/feedback"] == pointer
    assert tags["data.corrections"] == "3"
    [train_file] = workdir.glob("chatloop-train-*/ingest/data/train.jsonl")
    trained = {r["text"]: r["label"] for r in map(json.loads, train_file.read_text().splitlines())}
    for text, label in corrected.items():
        assert trained[text] == label
