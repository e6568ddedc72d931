"""Export pushed to an S3 remote (a real S3-compatible server, moto, on 127.0.0.1) and
pulled back in a fresh clone. Credentials come from the environment only."""
from __future__ import annotations

import pytest
from feedback_helpers import dvc, free_port, git, make_repo

from feedback.export import export

BUCKET = "chatloop-feedback"


@pytest.fixture
def s3(monkeypatch):
    from moto.server import ThreadedMotoServer
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "chatloop-test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "chatloop-test-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    import boto3
    boto3.client("s3", endpoint_url=url).create_bucket(Bucket=BUCKET)
    yield url
    server.stop()


def test_push_to_s3_and_pull_in_a_fresh_clone(store, s3, tmp_path):
    import boto3
    repo = make_repo(tmp_path / "project", f"s3://{BUCKET}/dvc", endpointurl=s3)
    store.add_correction(label="spam", moderator="alice", text="팔로우하면 선물 드려요 bit.ly/zz")
    store.add_correction(label="toxic", moderator="bob", text="이 방송 진짜 쓰레기네")
    [done] = export(store, repo)
    assert done["count"] == 2
    objects = boto3.client("s3", endpoint_url=s3).list_objects_v2(Bucket=BUCKET, Prefix="dvc/")
    assert objects.get("KeyCount", 0) >= 2        # the folder manifest and the file
    assert "chatloop-test-secret" not in (repo / ".dvc" / "config").read_text()

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    dvc(clone, "pull", "-q", "data/feedback.dvc")
    files = sorted((clone / "data" / "feedback").glob("*.jsonl"))
    assert [f.name for f in files] == [done["file"].split("/")[-1]]
    assert files[0].read_bytes() == (repo / done["file"]).read_bytes()
    assert "bit.ly/zz" in files[0].read_text(encoding="utf-8")
