"""Submitting and scheduling through kfp.Client against a KFP API on 127.0.0.1."""
import socket

import pytest

from chatloop.cli import main
from pipelines.params import from_struct
from pipelines.submit import KFPError, schedule, submit

FAKE_TOKEN = "kfp-token-that-must-not-be-stored"


def posts(api, path):
    return [body for method, url, body in api.requests if method == "POST" and url.endswith(path)]


def check_package(body, params):
    """The request carries the compiled pipeline, its Kubernetes config and params."""
    spec = body["pipeline_spec"]
    assert spec["pipeline_spec"]["pipelineInfo"]["name"] == "chatloop-train"
    assert {"comp-ingest", "comp-validate", "comp-train", "comp-evaluate",
            "comp-register"} <= set(spec["pipeline_spec"]["components"])
    executors = spec["platform_spec"]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert executors["exec-train"]["tolerations"]
    assert {s["secretName"] for s in executors["exec-register"]["secretAsEnv"]} \
        == set(params["kfp"]["secrets"])
    assert from_struct(body["runtime_config"]["parameters"]["params"]) == params


def test_submit_creates_experiment_and_run(kfp_server, cluster_params):
    api, host = kfp_server
    run_id = submit(cluster_params, host, experiment="nightly-exp", run_name="try-1")
    assert run_id in api.runs
    [exp] = api.experiments.values()
    assert exp["display_name"] == "nightly-exp"
    [body] = posts(api, "/apis/v2beta1/runs")
    assert body["experiment_id"] == exp["experiment_id"]
    assert body["display_name"] == "try-1"
    check_package(body, cluster_params)
    # a second run reuses the experiment
    submit(cluster_params, host, experiment="nightly-exp")
    assert len(api.experiments) == 1 and len(api.runs) == 2
    assert api.unknown == []


def test_schedule_creates_a_cron_recurring_run(kfp_server, cluster_params):
    api, host = kfp_server
    job_id = schedule(cluster_params, host, cron="0 30 2 * * 1-5", experiment="chatloop",
                      name="weekdays", max_concurrency=2)
    [body] = posts(api, "/apis/v2beta1/recurringruns")
    assert job_id in api.recurring_runs
    assert body["display_name"] == "weekdays"
    assert body["trigger"] == {"cron_schedule": {"cron": "0 30 2 * * 1-5"}}
    assert int(body["max_concurrency"]) == 2
    assert body["mode"] == "ENABLE"
    assert body["experiment_id"] in api.experiments
    check_package(body, cluster_params)
    assert api.unknown == []


def test_token_comes_from_env_and_is_sent_not_stored(kfp_server, cluster_params, monkeypatch):
    api, host = kfp_server
    api.token = FAKE_TOKEN  # the server now refuses requests without it
    monkeypatch.setenv("KFP_TOKEN", FAKE_TOKEN)
    submit(cluster_params, host)
    [body] = posts(api, "/apis/v2beta1/runs")
    assert FAKE_TOKEN not in str(body)


def test_cli_submit_and_schedule(kfp_server, capsys):
    api, host = kfp_server
    assert main(["pipeline", "submit", "--host", host, "--set", "train.epochs=1"]) == 0
    [run_id] = api.runs
    assert run_id in capsys.readouterr().out
    [body] = posts(api, "/apis/v2beta1/runs")
    assert body["runtime_config"]["parameters"]["params"]["train"]["epochs"] == 1
    assert main(["pipeline", "schedule", "--host", host, "--cron", "0 0 3 * * *"]) == 0
    [job] = api.recurring_runs.values()
    assert job["trigger"]["cron_schedule"]["cron"] == "0 0 3 * * *"
    assert job["display_name"] == "chatloop-nightly"
    assert f"recurring run {job['recurring_run_id']}" in capsys.readouterr().out


def test_bad_host_is_a_clear_error(capsys):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["pipeline", "submit", "--host", f"http://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert f"cannot reach the KFP API at http://127.0.0.1:{port}" in err
    assert "Traceback" not in err
    with pytest.raises(KFPError, match="must start with http"):
        submit({}, "127.0.0.1:8888")


def test_five_field_cron_is_refused_before_any_request(kfp_server, capsys):
    api, host = kfp_server
    assert main(["pipeline", "schedule", "--host", host, "--cron", "0 3 * * *"]) == 2
    assert "must have 6 fields" in capsys.readouterr().err
    assert api.requests == []


def test_server_refusal_is_a_clear_error(kfp_server, cluster_params):
    api, host = kfp_server
    api.handle = _refuse_runs(api.handle)
    with pytest.raises(KFPError, match="KFP refused to create the run: HTTP 403"):
        submit(cluster_params, host)


def _refuse_runs(handle):
    def wrapped(method, url, body, auth):
        if method == "POST" and url.endswith("/runs"):
            return 403, {"error": "permission denied", "code": 7}
        return handle(method, url, body, auth)
    return wrapped
