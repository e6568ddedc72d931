"""Compiling the pipeline: the KFP IR YAML carries params, image and cluster settings."""
import pytest
import yaml

from chatloop.cli import main
from pipelines.params import from_struct, to_struct
from pipelines.submit import compile_pipeline

FAKE_SECRET = "s3cr3t-value-that-must-not-leak"


def compiled(params, tmp_path, image=None):
    path = compile_pipeline(params, tmp_path / "pipeline.yaml", image=image)
    text = open(path, encoding="utf-8").read()
    spec, platform = yaml.safe_load_all(text)
    return text, spec, platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]


def test_graph_is_the_five_steps_in_order_without_conditions(cluster_params, tmp_path):
    _, spec, _ = compiled(cluster_params, tmp_path)
    assert spec["pipelineInfo"]["name"] == "chatloop-train"
    tasks = spec["root"]["dag"]["tasks"]
    assert set(tasks) == {"ingest", "validate", "train", "evaluate", "register"}
    assert set(tasks["validate"]["dependentTasks"]) == {"ingest"}
    assert "validate" in tasks["train"]["dependentTasks"]  # train only after validation passes
    assert set(tasks["evaluate"]["dependentTasks"]) == {"ingest", "train"}
    assert set(tasks["register"]["dependentTasks"]) == {"ingest", "validate", "train", "evaluate"}
    for name, task in tasks.items():
        assert "triggerPolicy" not in task, name  # the gate lives inside register, no dsl.If
        assert not task["cachingOptions"].get("enableCache"), name
    assert spec["root"]["outputDefinitions"]["parameters"]["Output"]["parameterType"] == "STRUCT"


def test_params_yaml_is_the_default_of_the_params_parameter(cluster_params, tmp_path):
    _, spec, _ = compiled(cluster_params, tmp_path)
    inputs = spec["root"]["inputDefinitions"]["parameters"]
    assert set(inputs) == {"params", "data", "rev", "repo"}
    assert from_struct(inputs["params"]["defaultValue"]) == cluster_params
    assert inputs["data"]["defaultValue"] == ""


def test_train_gets_gpu_cpu_memory_node_selector_and_toleration(cluster_params, tmp_path):
    _, spec, platform = compiled(cluster_params, tmp_path)
    resources = spec["deploymentSpec"]["executors"]["exec-train"]["container"]["resources"]
    assert resources["accelerator"]["resourceType"] == "nvidia.com/gpu"
    assert resources["accelerator"]["resourceCount"] == "2"
    assert resources["resourceCpuRequest"] == "4"
    assert resources["resourceMemoryRequest"] == "32Gi"
    train = platform["exec-train"]
    assert train["nodeSelector"]["labels"] == {"cloud.google.com/gke-accelerator": "nvidia-l4"}
    assert train["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists",
                                     "effect": "NoSchedule"}]
    for other in ("ingest", "validate", "evaluate", "register"):
        assert "resources" not in spec["deploymentSpec"]["executors"][f"exec-{other}"]["container"]
        assert "nodeSelector" not in platform[f"exec-{other}"]
        assert "tolerations" not in platform[f"exec-{other}"]


def test_no_gpu_when_gpu_count_is_zero(tmp_path):
    from components.config import load_params
    _, spec, _ = compiled(load_params(overrides=["kfp.gpu_count=0"]), tmp_path)
    assert "accelerator" not in spec["deploymentSpec"]["executors"]["exec-train"]["container"]["resources"]


def test_every_step_gets_the_secrets_as_env_by_name_only(cluster_params, tmp_path, monkeypatch):
    for env in ("HF_TOKEN", "AWS_SECRET_ACCESS_KEY", "MLFLOW_TRACKING_PASSWORD", "KFP_TOKEN"):
        monkeypatch.setenv(env, FAKE_SECRET)
    text, spec, platform = compiled(cluster_params, tmp_path)
    assert FAKE_SECRET not in text
    expected = {name: {k: v for k, v in keys.items()}
                for name, keys in cluster_params["kfp"]["secrets"].items()}
    assert len(spec["deploymentSpec"]["executors"]) == 5
    for executor in spec["deploymentSpec"]["executors"]:
        got = {s["secretName"]: {k["secretKey"]: k["envVar"] for k in s["keyToEnv"]}
               for s in platform[executor]["secretAsEnv"]}
        assert got == expected, executor


def images(spec):
    return {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()}


def test_image_from_params_env_or_option_on_every_executor(cluster_params, tmp_path,
                                                          monkeypatch):
    monkeypatch.delenv("CHATLOOP_IMAGE", raising=False)
    cluster_params["kfp"]["image"] = "registry.example/chatloop:from-params"
    assert images(compiled(cluster_params, tmp_path)[1]) == {"registry.example/chatloop:from-params"}
    monkeypatch.setenv("CHATLOOP_IMAGE", "registry.example/chatloop:from-env")
    assert images(compiled(cluster_params, tmp_path)[1]) == {"registry.example/chatloop:from-env"}
    spec = compiled(cluster_params, tmp_path, image="registry.example/chatloop:1.2")[1]
    assert images(spec) == {"registry.example/chatloop:1.2"}
    for executor in spec["deploymentSpec"]["executors"].values():  # no pip install at start
        assert "pip install" not in " ".join(executor["container"]["command"])


def test_cli_compile_with_override_and_profile(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CHATLOOP_IMAGE", raising=False)
    monkeypatch.setenv("KFP_HOST", "https://kfp.example.com")
    out = tmp_path / "sub" / "p.yaml"
    assert main(["pipeline", "compile", "--profile", "gemma", "--set", "train.epochs=7",
                 "--set", "kfp.image=ghcr.io/chatloop/chatloop:latest", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    # The hint works as printed (the v2 CLI needs the endpoint) and names the image used:
    # the project version, never a moving :latest.
    assert f"kfp --endpoint https://kfp.example.com run create -e chatloop -f {out}" in printed
    assert "image: ghcr.io/chatloop/chatloop:0.1.0 (params kfp.image, tagged with the " \
           "project version instead of :latest)" in printed
    assert images(next(yaml.safe_load_all(out.read_text()))) == {"ghcr.io/chatloop/chatloop:0.1.0"}
    spec = next(yaml.safe_load_all(out.read_text()))
    params = from_struct(spec["root"]["inputDefinitions"]["parameters"]["params"]["defaultValue"])
    assert params["train"]["epochs"] == 7
    assert params["model"]["base"] == "google/gemma-2-2b-it"


def test_null_param_is_a_clear_error_and_nothing_is_written(tmp_path, capsys):
    out = tmp_path / "p.yaml"
    assert main(["pipeline", "compile", "--set", "model.base=null", "-o", str(out)]) == 2
    assert "model.base: expected a string, got None" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_struct_round_trip_restores_ints():
    params = {"a": {"n": 3, "x": 0.5, "l": [1, "s", True], "b": False}}
    assert to_struct(params) is params
    kfp_view = {"a": {"n": 3.0, "x": 0.5, "l": [1.0, "s", True], "b": False}}
    assert from_struct(kfp_view) == params
    assert type(from_struct(kfp_view)["a"]["n"]) is int
    with pytest.raises(ValueError, match=r"params\.a\.l\[1\]"):
        to_struct({"a": {"l": [1, None]}})
