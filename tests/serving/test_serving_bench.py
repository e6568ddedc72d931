"""bench/serving.py runs end to end on the tiny model: every row printed, the ratio, steal."""
import importlib.util
import re
from pathlib import Path


def test_serving_bench_prints_every_run(tiny_model_dir, capsys):
    path = Path(__file__).resolve().parents[2] / "bench" / "serving.py"
    spec = importlib.util.spec_from_file_location("serving_bench", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--model", str(tiny_model_dir), "--seconds", "1", "--rates", "40",
                       "--full-messages", "60", "--baseline-messages", "1"]) == 0
    out = capsys.readouterr().out
    for name, messages in (("bot @ 40 msg/s", 40), ("bot @ full speed", 60),
                           ("baseline text-generation", 1)):
        row = re.search(rf"^{re.escape(name)}\s+(\d+)\s+([\d.]+)\s+[\d.]+\s+[\d.]+\s+0\s+\d+\s+(\d+%|n/a)$",
                        out, re.M)
        assert row and int(row.group(1)) == messages and float(row.group(2)) > 0, out
    assert re.search(r"full-speed throughput vs baseline: \d+x", out)
    assert re.search(r"^machine now: \d+ GFLOP/s in torch\.\w+ matmuls", out, re.M)
    before = bench.cpu_times()
    assert before is not None and 0 <= before[0] <= before[1]
    assert bench.steal_share(before, before) is None
