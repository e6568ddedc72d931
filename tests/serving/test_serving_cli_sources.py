"""`serve` builds each source with its params (serving.sources), not constructor defaults."""
from components.config import load_params
from serving.cli import open_spec


def test_sources_get_their_params():
    settings = load_params(overrides=["serving.sources.chzzk.ping_interval_s=7",
                                      "serving.sources.soop.ping_interval_s=45"])["serving"]["sources"]
    assert open_spec("chzzk:abcdef", None, None, settings).ping_interval == 7
    assert open_spec("soop:somebj", None, None, settings).ping_interval == 45
