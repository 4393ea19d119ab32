"""The benchmark suite runs end to end on small sizes (`python -m benchmarks --quick`) and gives
one well-formed table. Nothing here asserts a time: speed is measured, not tested."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATUSES = {"pass", "FAIL", "-", "unavailable", "skipped"}


def test_the_quick_suite_prints_one_table_and_writes_it_as_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["quick"] is True
    # the machine's Python speed, at the start and the end: rows without a reference scale with it
    assert data["machine"]["python_loop_ms"] > 0 and proc.stdout.count("3M-addition loop") == 2
    assert data["columns"] == ["metric", "GradCanvas", "reference", "ratio", "goal", "result"]
    header = proc.stdout.splitlines()[1].split()
    assert header == data["columns"]

    rows = data["rows"]
    by_metric = {r["metric"]: r for r in rows}
    assert len(by_metric) == len(rows), "each metric once"
    for r in rows:
        assert r["metric"] in proc.stdout, f"{r['metric']} is in the JSON but not in the printed table"
        assert r["status"] in STATUSES, r
        if r["ratio"] is not None:
            assert isinstance(r["ratio"], float) and math.isfinite(r["ratio"]) and r["ratio"] > 0, r
        if r["status"] in ("pass", "FAIL"):  # computed from the measurement, never written by hand
            assert (r["measured"] <= r["limit"]) == (r["status"] == "pass"), r
        if r["status"] in ("unavailable", "skipped"):
            assert r["note"], f"{r['metric']}: a row with no measurement says why"

    def rows_starting(prefix: str) -> list[dict]:
        return [r for r in rows if r["metric"].startswith(prefix)]

    # The engine rows always measure (in this process, no optional dependency): both sides, a ratio.
    engine = rows_starting("engine: ")
    assert len(engine) == 7, [r["metric"] for r in engine]
    for r in engine:
        assert r["status"] in ("pass", "FAIL") and r["ratio"] is not None, r
        assert r["numbers"]["app_s"] > 0 and r["numbers"]["hand_s"] > 0, r
    assert all("fixed cost" in r["note"] and "µs" in r["note"] for r in rows_starting("engine: example"))
    # These run the app and the command in fresh processes and measure whatever the numbers are.
    for prefix in ("load + validate + compile", "gradcanvas grad, ", "gradcanvas check, ", "launch",
                   "peak RSS, empty app", "peak RSS, 500-node", "value edit", "open a 500-node file in the window"):
        found = rows_starting(prefix)
        assert len(found) == 1 and found[0]["status"] in ("pass", "FAIL"), (prefix, found)
    # These may say why they have no number (too small to compare; bench_canvas.py's own run).
    for prefix in ("gradcanvas grad end to end", "gradcanvas --version", "canvas", "peer", "GPU"):
        assert rows_starting(prefix), f"no row for {prefix!r}"
    # Without NodeGraphQt (not in .[dev]) the peer row says how to get it; without CUDA the GPU row skips.
    peer = rows_starting("peer")
    if peer[0]["status"] == "skipped":
        assert "pip install .[bench]" in peer[0]["note"]
    gpu = rows_starting("GPU")
    assert gpu[0]["status"] in ("skipped", "pass", "FAIL")


def test_the_gpu_rows_say_why_they_do_not_run_on_a_device_that_is_not_cuda() -> None:
    from benchmarks import bench_cuda

    (row,) = bench_cuda.rows(True, "cpu")  # it labelled CPU timings "GPU engine" on a CUDA machine
    assert row.status == "unavailable" and row.note == "cpu is not a CUDA device: give --device cuda or cuda:N"


def test_the_gpu_breakdown_says_it_skipped_without_a_cuda_device() -> None:
    from benchmarks import bench_cuda

    # On a CPU-only machine (CI) it must not fall back to timing the CPU under a GPU heading.
    assert bench_cuda.breakdown("cpu") == ["breakdown skipped: cpu is not an available CUDA device"]
