"""The production twin of the registry: a real `mlflow server` (artifact proxy) on loopback.

Register the candidate through the server, promote it, and load models:/chatloop@champion
from a fresh cache through HTTP only: what pipeline steps and serving do on a cluster.
"""
import socket
import subprocess
import sys
import time

import httpx
import mlflow
import pytest

from components.register import register
from components.model_registry import load_model, promote

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow-server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(root / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1",
                             "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
                             "--artifacts-destination", (root / "artifacts").as_uri()],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # mlflow server takes 15-25 s to start
    while time.monotonic() < deadline:
        assert proc.poll() is None, (root / "server.log").read_text()[-3000:]
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.5)
    else:
        pytest.fail("mlflow server did not become healthy in 120 s")
    yield url, root
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def test_register_promote_and_load_through_the_server(server, registry, tiny_model_dir,
                                                       fast_params, tmp_path, monkeypatch):
    url, root = server
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    monkeypatch.setenv("CHATLOOP_HOME", str(tmp_path / "fresh-home"))  # empty model cache
    result = register(registry["splits"], tiny_model_dir, registry["eval_dir"],
                      registry["report_dir"], fast_params)
    assert result["gate"] == "passed" and result["tracking_uri"] == url
    promote(result["version"], by="server-test")
    model, version = load_model("models:/chatloop@champion")
    assert version == result["version"]
    assert model.classify(["대출 상담 010-1234-5678"])[0]["label"] == "spam"
    # The artifacts went through the server's proxy into its destination, not a local path.
    assert any((root / "artifacts").rglob("adapter_model.safetensors"))
    assert mlflow.MlflowClient(url).get_model_version("chatloop", version).tags["gate"] == "passed"
