"""Plain http only to loopback (or in-cluster names when a mesh encrypts): every client."""
import pytest

from chatloop.urls import InsecureUrl, check_service_url, check_url


@pytest.mark.parametrize("url", ["https://kfp.example.com", "http://127.0.0.1:8080",
                                 "http://localhost:5000", "wss://chat.example.com/ws"])
def test_tls_or_loopback_pass(url):
    assert check_url(url) == url


def test_plain_http_elsewhere_is_refused(monkeypatch):
    monkeypatch.delenv("CHATLOOP_ALLOW_CLUSTER_HTTP", raising=False)
    with pytest.raises(InsecureUrl):
        check_url("http://mlflow.example.com")
    with pytest.raises(InsecureUrl, match="CHATLOOP_ALLOW_CLUSTER_HTTP"):
        check_service_url("http://mlflow.chatloop.svc.cluster.local:5000")
    monkeypatch.setenv("CHATLOOP_ALLOW_CLUSTER_HTTP", "1")
    assert check_service_url("http://mlflow.chatloop.svc:5000")
    with pytest.raises(InsecureUrl):
        check_service_url("http://mlflow.example.com")


def test_feedback_client_kfp_and_mlflow_refuse_plain_http(monkeypatch):
    from components.config import tracking_uri
    from feedback.client import FeedbackClient
    from pipelines.submit import KFPError, _probe
    monkeypatch.delenv("CHATLOOP_ALLOW_CLUSTER_HTTP", raising=False)
    with pytest.raises(InsecureUrl):
        FeedbackClient("http://feedback.example.com", "a-token-123")
    with pytest.raises(KFPError, match="refusing"):
        _probe("http://kfp.example.com")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example.com")
    with pytest.raises(InsecureUrl):
        tracking_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert tracking_uri() == "http://127.0.0.1:5000"
