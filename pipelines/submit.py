"""Compile the pipeline to KFP IR YAML, submit one run, or create a recurring run.

The compiled YAML carries params.yaml (merged with profile and overrides) as the default of
the `params` parameter, and the cluster settings from its `kfp:` section. The only credential
is an optional bearer token for the KFP endpoint, read from `KFP_TOKEN` in the environment.
"""
from __future__ import annotations

import os
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

from chatloop.errors import ChatloopError, UsageError
from chatloop.urls import InsecureUrl, check_service_url
from pipelines.params import to_struct

TOKEN_ENV = "KFP_TOKEN"


class KFPError(ChatloopError):
    """The KFP endpoint is unreachable or refused a request (printed as one line by the CLI)."""


def project_version() -> str:
    """The project's version: pyproject.toml in a checkout, else the installed package's."""
    import tomllib

    from components.config import ROOT
    pyproject = ROOT / "pyproject.toml"
    if pyproject.exists():
        return tomllib.loads(pyproject.read_text())["project"]["version"]
    from importlib.metadata import version
    return version("chatloop")


def pipeline_image(params: dict, image: str | None = None) -> tuple[str, str]:
    """(image, where it came from): `image`, else `CHATLOOP_IMAGE`, else params `kfp.image`.
    A compiled pipeline must name the image it was built for: an untagged or `:latest`
    image from the environment or params gets the project version's tag (`:0.1.0`)."""
    if image:
        return image, "--image"
    if os.environ.get("CHATLOOP_IMAGE"):
        image, source = os.environ["CHATLOOP_IMAGE"], "$CHATLOOP_IMAGE"
    else:
        image, source = params["kfp"]["image"], "params kfp.image"
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:                      # no tag (a ':' only in a registry port)
        name, tag = image, ""
    if "@" not in image and tag in ("", "latest"):
        image = f"{name}:{project_version()}"
        source += f", tagged with the project version instead of {':' + tag if tag else 'no tag'}"
    return image, source


def compile_pipeline(params: dict, output: str | os.PathLike, image: str | None = None) -> str:
    """Compile for a cluster to `output` (written whole or not at all); returns its path.
    The image is `pipeline_image(params, image)`."""
    from kfp import compiler

    from pipelines.pipeline import build_pipeline

    to_struct(params)
    image = pipeline_image(params, image)[0]
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".yaml", dir=output.parent, prefix=f".{output.name}.")
    os.close(fd)
    try:
        compiler.Compiler().compile(build_pipeline(params, for_cluster=True, image=image), tmp,
                                    pipeline_parameters={"params": params})
        os.replace(tmp, output)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return str(output)


def check_cron(cron: str) -> str:
    """KFP uses 6-field cron (seconds first), e.g. `0 0 3 * * *` = 03:00 every day."""
    if len(cron.split()) != 6:
        raise UsageError(f"cron {cron!r} must have 6 fields (second minute hour day month "
                         "weekday), e.g. '0 0 3 * * *' for 03:00 every day")
    return cron


def _probe(host: str) -> None:
    """Fail fast with a clear message when nothing answers at `host` (kfp.Client retries
    its health check for ~25 s and then raises an unhelpful TimeoutError)."""
    if not host.startswith(("http://", "https://")):
        raise KFPError(f"KFP host {host!r} must start with http:// or https://")
    try:
        check_service_url(host)   # the token goes in the clear over plain http
    except InsecureUrl as exc:
        raise KFPError(f"KFP host: {exc}") from None
    try:
        urllib.request.urlopen(host.rstrip("/") + "/apis/v2beta1/healthz", timeout=10).close()
    except urllib.error.HTTPError:
        pass  # the server answered (e.g. 401 before the token is checked): reachable
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise KFPError(f"cannot reach the KFP API at {host}: {reason}") from None


def client(host: str):
    """A kfp.Client for `host`, with the bearer token from `KFP_TOKEN` when set."""
    import kfp

    _probe(host)
    try:
        with warnings.catch_warnings():  # "only works with KFP v2.0.0-beta.2 and later"
            warnings.simplefilter("ignore", FutureWarning)
            return kfp.Client(host=host, existing_token=os.environ.get(TOKEN_ENV) or None)
    except TimeoutError:  # its health check kept failing (e.g. 401: no or a wrong token)
        raise KFPError(f"the KFP API at {host} did not pass its health check; "
                       f"check the host and ${TOKEN_ENV}") from None


def _api_call(what: str, call, *args, **kwargs):
    """Run one client call; API and network failures become a one-line KFPError."""
    from kfp_server_api import ApiException
    from urllib3.exceptions import HTTPError

    try:
        return call(*args, **kwargs)
    except ApiException as exc:
        raise KFPError(f"KFP refused to {what}: HTTP {exc.status} {exc.reason}") from None
    except HTTPError as exc:
        raise KFPError(f"KFP did not answer while trying to {what}: {exc}") from None


def submit(params: dict, host: str, experiment: str = "chatloop", image: str | None = None,
           run_name: str | None = None) -> str:
    """Compile and create one run in `experiment`; returns the run id."""
    from pipelines.pipeline import PIPELINE_NAME

    kfp_client = client(host)
    run_name = run_name or f"{PIPELINE_NAME} {time.strftime('%Y-%m-%d %H:%M:%S')}"
    with tempfile.TemporaryDirectory() as tmp:
        package = compile_pipeline(params, Path(tmp) / "pipeline.yaml", image=image)
        result = _api_call("create the run", kfp_client.create_run_from_pipeline_package,
                           package, arguments={"params": params}, run_name=run_name,
                           experiment_name=experiment)
    return result.run_id


def schedule(params: dict, host: str, cron: str, experiment: str = "chatloop",
             image: str | None = None, name: str = "chatloop-nightly",
             max_concurrency: int = 1) -> str:
    """Create a recurring run on a 6-field `cron`; returns the recurring run id."""
    check_cron(cron)
    kfp_client = client(host)
    exp = _api_call("create the experiment", kfp_client.create_experiment, name=experiment)
    with tempfile.TemporaryDirectory() as tmp:
        package = compile_pipeline(params, Path(tmp) / "pipeline.yaml", image=image)
        job = _api_call("create the recurring run", kfp_client.create_recurring_run,
                        experiment_id=exp.experiment_id, job_name=name,
                        cron_expression=cron, max_concurrency=max_concurrency,
                        pipeline_package_path=package, params={"params": params})
    return job.recurring_run_id
