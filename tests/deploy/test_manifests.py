"""The Kubernetes manifests (deploy/k8s/*.yaml), parsed: every workload hardened, the
network policed, MLflow behind auth, and every URL setting accepted by the code's checks."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from chatloop.urls import CLUSTER_HTTP_ENV
from serving.decisions import DecisionLog, check_service_url
from serving.sources.base import SourceError

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
DOCS = [(path.name, doc) for path in MANIFESTS
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}


def pod_template(doc: dict) -> dict:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]


WORKLOADS = [(f"{name}:{doc['kind']}/{doc['metadata']['name']}", pod_template(doc))
             for name, doc in DOCS if doc["kind"] in WORKLOAD_KINDS]
CONFIGMAPS = {doc["metadata"]["name"]: doc.get("data", {}) for _, doc in DOCS
              if doc["kind"] == "ConfigMap"}
POLICIES = [doc for _, doc in DOCS if doc["kind"] == "NetworkPolicy"]


def containers(template: dict) -> list[dict]:
    spec = template["spec"]
    return spec.get("initContainers", []) + spec["containers"]


def env_values(container: dict) -> dict[str, str]:
    """The container's environment as far as the manifests say (literal values and
    ConfigMap keys; Secrets are unknown here)."""
    out = {}
    for var in container.get("env", []):
        if "value" in var:
            out[var["name"]] = str(var["value"])
        elif "configMapKeyRef" in var.get("valueFrom", {}):
            ref = var["valueFrom"]["configMapKeyRef"]
            out[var["name"]] = CONFIGMAPS[ref["name"]][ref["key"]]
    return out


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def test_the_manifests_hold_the_expected_workloads():
    names = {name for name, _ in WORKLOADS}
    assert {"serving.yaml:Deployment/chatloop-serving", "feedback.yaml:Deployment/chatloop-feedback",
            "feedback.yaml:CronJob/chatloop-feedback-export",
            "mlflow.yaml:Deployment/chatloop-mlflow"} <= names


@pytest.mark.parametrize("name, template", WORKLOADS, ids=[n for n, _ in WORKLOADS])
def test_every_workload_is_hardened(name, template):
    spec = template["spec"]
    assert spec.get("automountServiceAccountToken") is False, name
    pod = spec.get("securityContext", {})
    assert pod.get("runAsNonRoot") is True and pod.get("runAsUser", 0) != 0, name
    assert pod.get("seccompProfile", {}).get("type") == "RuntimeDefault", name
    for container in containers(template):
        where = f"{name} container {container['name']}"
        ctx = container.get("securityContext", {})
        assert ctx.get("allowPrivilegeEscalation") is False, where
        assert ctx.get("readOnlyRootFilesystem") is True, where
        assert ctx.get("capabilities", {}).get("drop") == ["ALL"], where
        assert not ctx.get("capabilities", {}).get("add"), where
        assert ctx.get("privileged") is not True and ctx.get("runAsUser", 1) != 0, where
        resources = container.get("resources", {})
        assert {"cpu", "memory"} <= set(resources.get("requests", {})), where
        assert {"cpu", "memory"} <= set(resources.get("limits", {})), where
        image = container["image"]
        assert re.fullmatch(rf"[\w./-]+:{re.escape(VERSION)}", image), \
            f"{where}: image {image!r} must be tagged with the project version {VERSION}"


@pytest.mark.parametrize("name, template", WORKLOADS, ids=[n for n, _ in WORKLOADS])
def test_every_workload_is_behind_the_default_deny_and_its_own_policy(name, template):
    labels = template["metadata"]["labels"]
    deny = [p for p in POLICIES if selects(p["spec"]["podSelector"], labels)
            and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    assert deny, f"{name}: no default-deny NetworkPolicy selects {labels}"
    own = [p for p in POLICIES if selects(p["spec"]["podSelector"], labels)
           and (p["spec"].get("ingress") or p["spec"].get("egress"))
           and "app.kubernetes.io/name" in p["spec"]["podSelector"]["matchLabels"]]
    assert own, f"{name}: no NetworkPolicy allows this workload's flows"


def test_services_select_their_workloads_only():
    for _, doc in DOCS:
        if doc["kind"] != "Service":
            continue
        selected = [n for n, t in WORKLOADS if selects({"matchLabels": doc["spec"]["selector"]},
                                                       t["metadata"]["labels"])]
        assert len(selected) == 1, (doc["metadata"]["name"], selected)


def test_mlflow_runs_with_basic_auth_from_a_secret():
    [template] = [t for n, t in WORKLOADS if n.endswith("Deployment/chatloop-mlflow")]
    [container] = template["spec"]["containers"]
    assert "--app-name basic-auth" in " ".join(container["command"] + container["args"])
    refs = {v["name"]: v["valueFrom"]["secretKeyRef"] for v in container["env"]
            if "secretKeyRef" in v.get("valueFrom", {})}
    assert not refs["MLFLOW_AUTH_ADMIN_PASSWORD"].get("optional")
    assert {v["name"] for v in container["env"]} >= {"MLFLOW_AUTH_CONFIG_PATH",
                                                     "MLFLOW_AUTH_ADMIN_USERNAME"}


def url_settings():
    for name, template in WORKLOADS:
        for container in containers(template):
            env = env_values(container)
            for key, value in env.items():
                if re.match(r"(https?|wss?)://", value):
                    yield f"{name}:{key}", value, env


URLS = list(url_settings())


def test_the_manifests_have_url_settings():
    assert any(key.endswith("CHATLOOP_FEEDBACK_URL") for key, _, _ in URLS)


@pytest.mark.parametrize("key, url, env", URLS, ids=[k for k, _, _ in URLS])
def test_every_url_setting_passes_the_code_checks(monkeypatch, tmp_path, key, url, env):
    monkeypatch.delenv(CLUSTER_HTTP_ENV, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert check_service_url(url) == url
    if key.endswith("CHATLOOP_FEEDBACK_URL"):   # what serving does at start
        assert DecisionLog(spool_path=tmp_path / "spool.jsonl").url == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://feedback.example.com", "http://10.0.0.7:8081",
                                 "http://chatloop-feedback.svc.example.com",
                                 "http://chatloop-feedback.default.svc.cluster.local.evil.com"])
def test_public_plain_http_is_still_refused(monkeypatch, url):
    monkeypatch.setenv(CLUSTER_HTTP_ENV, "1")
    with pytest.raises(SourceError, match="refusing"):
        check_service_url(url)
    with pytest.raises(SourceError):
        DecisionLog(url=url)


def test_in_cluster_plain_http_needs_the_explicit_setting(monkeypatch):
    url = "http://chatloop-feedback.default.svc.cluster.local"
    monkeypatch.delenv(CLUSTER_HTTP_ENV, raising=False)
    with pytest.raises(SourceError, match=CLUSTER_HTTP_ENV):
        check_service_url(url)
    monkeypatch.setenv(CLUSTER_HTTP_ENV, "0")
    with pytest.raises(SourceError):
        DecisionLog(url=url)
    monkeypatch.setenv(CLUSTER_HTTP_ENV, "1")
    assert check_service_url(url) == url and check_service_url("http://feedback.ns.svc/") \
        and check_service_url("https://feedback.example.com/") and check_service_url(
            "http://127.0.0.1:8081/")
