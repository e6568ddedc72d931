"""Fixtures for the pipeline tests: cluster-style params and a KFP API on 127.0.0.1."""
import pytest

from kfp_api import KFPApi, serve

NODE_SELECTOR = "kfp.node_selector={cloud.google.com/gke-accelerator: nvidia-l4}"


@pytest.fixture
def cluster_params():
    """params.yaml with a node selector and two GPUs, as a cluster would use."""
    from components.config import load_params
    return load_params(overrides=[NODE_SELECTOR, "kfp.gpu_count=2"])


@pytest.fixture
def kfp_server():
    """(api, host): a KFP v2beta1 API on a free loopback port, stopped after the test."""
    api = KFPApi()
    server = serve(api)
    yield api, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
