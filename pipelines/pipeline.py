"""The `chatloop-train` pipeline: ingest -> validate -> train -> evaluate -> register.

`build_pipeline(params, for_cluster=...)` returns the `@dsl.pipeline`. Locally (kfp.local)
it is the bare graph. For a cluster, `configure_for_cluster` adds what only Kubernetes
understands, read from params.yaml `kfp:` at compile time: the GPU, CPU and memory of the
train step, its node selector and tolerations, and Kubernetes secrets as environment
variables on every step (names only: the values stay in the cluster).

There is no `dsl.If`: the gate is decided inside `register` (every candidate is registered,
only a passing one gets the `challenger` alias), which also runs the same under kfp.local.
"""
from kfp import dsl

from pipelines import steps

PIPELINE_NAME = "chatloop-train"


def configure_for_cluster(tasks: dict[str, dsl.PipelineTask], kfp_params: dict,
                          image: str) -> None:
    """Apply params `kfp:` (resources, scheduling, secrets) and the image to the tasks."""
    from kfp import kubernetes

    train = tasks["train"]
    if int(kfp_params["gpu_count"]) > 0:
        train.set_accelerator_type(kfp_params["gpu_type"])
        train.set_accelerator_limit(int(kfp_params["gpu_count"]))
    train.set_cpu_request(str(kfp_params["train_cpu"]))
    train.set_memory_request(str(kfp_params["train_memory"]))
    for key, value in kfp_params["node_selector"].items():
        kubernetes.add_node_selector(train, label_key=key, label_value=str(value))
    # Kubernetes-style dicts: {key, operator, value, effect, toleration_seconds}
    kubernetes.add_toleration_json(train, list(kfp_params["tolerations"]))

    for task in tasks.values():
        task.set_container_image(image)
        for secret_name, key_to_env in kfp_params["secrets"].items():
            kubernetes.use_secret_as_env(task, secret_name=secret_name,
                                         secret_key_to_env=dict(key_to_env))


def build_pipeline(params: dict, for_cluster: bool = False, image: str | None = None):
    """The pipeline function; `for_cluster` adds the Kubernetes settings from `params` and
    the image: `image`, else `CHATLOOP_IMAGE`, else params `kfp.image`."""
    cluster = params["kfp"]
    image = (image or steps.default_image(params)) if for_cluster else None

    @dsl.pipeline(name=PIPELINE_NAME,
                  description="chatloop: ingest, validate (GX), LoRA SFT, evaluate, register")
    def chatloop_train(params: dict, data: str = "", rev: str = "", repo: str = "") -> dict:
        ingest = steps.ingest(params=params, source=data, rev=rev, repo=repo)
        validate = steps.validate(params=params, data=ingest.outputs["data"])
        train = steps.train(params=params, data=ingest.outputs["data"]).after(validate)
        evaluate = steps.evaluate(params=params, data=ingest.outputs["data"],
                                  model=train.outputs["model"])
        register = steps.register(params=params, data=ingest.outputs["data"],
                                  model=train.outputs["model"],
                                  evaluation=evaluate.outputs["evaluation"],
                                  report=validate.outputs["report"])
        tasks = {"ingest": ingest, "validate": validate, "train": train,
                 "evaluate": evaluate, "register": register}
        for task in tasks.values():
            # Every run is a new retrain: the data, the champion and the registry move on.
            task.set_caching_options(False)
        if for_cluster:
            configure_for_cluster(tasks, cluster, image)
        return register.outputs["Output"]

    return chatloop_train
