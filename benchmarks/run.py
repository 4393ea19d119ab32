"""The benchmark suite: every measurement of issue 8 in one table.

    python -m benchmarks [--quick] [--json PATH] [--only engine cli app canvas peer gpu]

Columns: metric, GradCanvas, reference, ratio (GradCanvas / reference), goal, result. A result
is computed from the measurement and the goal (pass, FAIL), or says why there is none
(unavailable, skipped, "-" where the issue sets no goal). --quick runs small sizes and few
repeats (the smoke test's); its pass/fail compares small sizes against the full-size goals.

Sections: engine and load/compile in this process (bench_engine), the command line in fresh
processes (bench_cli), the app in fresh processes (bench_app), the canvas gestures from
bench_canvas.py --json, the NodeGraphQt peer (bench_peer, with `pip install .[bench]`), and the
GPU (bench_cuda, skipped without CUDA). Wall-clock numbers are noisy on a loaded machine: the
ratios are interleaved A/B medians, the GUI rows give GUI-thread CPU beside wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from benchmarks import bench_app, bench_cli, bench_cuda, bench_engine, bench_peer
from benchmarks.common import COLUMNS, ROOT, Row, child_env, machine, table, unavailable

# Canvas goals, GUI-thread CPU ms per (gesture, nodes) (issue 8): drag ≤ 8 / 16 ms; zoom ≤ 16 ms;
# pan ≤ 8 / 16 ms; and at either size nothing done by hand (select, rubber band, wire, moving a
# group, the exact picture a wheel gesture ends with) over 16 ms. The goal of a 5,000-node file
# open until painted (≤ 0.5 s) is the window's row (bench_app.open_row): the canvas's open_file
# is the scene's part of it alone.
CANVAS_GOALS_MS = {("drag", 5000): 8.0, ("drag", 10000): 16.0,
                   ("zoom", 5000): 16.0, ("zoom", 10000): 16.0, ("pan", 5000): 8.0, ("pan", 10000): 16.0,
                   **{(by_hand, n): 16.0 for by_hand in ("select", "band", "wire", "group", "zoom_settle",
                                                         "zoom_detail", "zoom_detail_settle")
                      for n in (5000, 10000)}}
CANVAS_WHAT = {"open": "open from memory until painted",
               "open_file": "open a file until painted, the canvas alone (load, scene, fit)",
               "drag": "drag 50 nodes, one frame", "zoom": "zoom one wheel notch",
               "zoom_settle": "exact picture when a wheel gesture ends, its longest turn of the event loop",
               "zoom_detail": "zoom one wheel notch at 50 % (full detail)",
               "zoom_detail_settle": "exact picture when a wheel gesture ends at 50 %, its longest turn",
               "pan": "pan 40 px",
               "select": "click-select a node", "band": "rubber-band select, one frame",
               "wire": "drag a wire, one frame", "group": "drag a group of 50 by its frame, one frame",
               "delete": "delete 50 selected nodes", "undo_delete": "undo that delete",
               "paste": "paste 50 nodes", "select_all": "select all (Ctrl+A)",
               "rss": "RSS grown by the open"}


def canvas_rows(quick: bool) -> list[Row]:
    """bench_canvas.py in a fresh process, read back from its --json."""
    sizes = ["300"] if quick else ["5000", "10000"]
    extra = ["--frames", "3", "--opens", "1"] if quick else []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "canvas.json"
        cmd = [sys.executable, str(ROOT / "benchmarks" / "bench_canvas.py"), "--nodes", *sizes,
               "--interaction-nodes", "0", *extra, "--json", str(out)]
        try:
            proc = subprocess.run(cmd, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=1800)
            if proc.returncode != 0:
                why = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
                return [unavailable("canvas (bench_canvas.py)", f"failed: {why}")]
            data = json.loads(out.read_text(encoding="utf-8"))["rows"]
        except (OSError, ValueError, KeyError, subprocess.TimeoutExpired) as e:
            return [unavailable("canvas (bench_canvas.py)", f"no --json rows: {type(e).__name__}: {e}")]
    rows = []
    for r in data:
        name, nodes = str(r["metric"]), int(r["nodes"])
        kind = name.split()[0]
        metric = f"canvas, {nodes:,} nodes: {CANVAS_WHAT.get(kind, kind)}"
        if "[" in name:  # bench_canvas marks a gesture that did not happen, e.g. "drag [NOT MOVED]"
            rows.append(unavailable(metric, f"not measured: {name}"))
            continue
        if r.get("cpu_ms") is None:
            mb = r.get("mb")
            rows.append(Row(metric, "-" if mb is None else f"+{mb:.0f} MB", numbers={"mb": mb}))
            continue
        cpu, wall = float(r["cpu_ms"]), float(r["wall_ms"])
        goal = CANVAS_GOALS_MS.get((kind, nodes))
        total = r.get("total_cpu_ms")  # a gesture's end: cpu is its longest turn
        rows.append(Row(metric, f"{cpu:.3g} ms GUI CPU, {wall:.3g} ms wall",
                        goal="-" if goal is None else f"≤ {goal:g} ms CPU", measured=cpu, limit=goal,
                        note="median per gesture (bench_canvas.py)"
                        + ("" if total is None else f"; all its turns {float(total):.3g} ms GUI CPU"),
                        numbers={"cpu_ms": cpu, "wall_ms": wall, **({} if total is None else {"total_cpu_ms": total})}))
    return rows


SECTIONS: dict[str, Callable[[bool], list[Row]]] = {
    "engine": bench_engine.rows, "cli": bench_cli.rows, "app": bench_app.rows, "canvas": canvas_rows,
    "peer": bench_peer.rows, "gpu": bench_cuda.rows}


def run_sections(names: list[str], quick: bool, progress: Callable[[str], object]) -> list[Row]:
    rows: list[Row] = []
    for name in names:
        t0 = time.perf_counter()
        progress(f"[{name}] …")
        try:
            got = SECTIONS[name](quick)
        except Exception as e:  # noqa: BLE001 - one broken section must not hide the others
            traceback.print_exc()
            got = [unavailable(f"{name} section", f"failed: {type(e).__name__}: {e}")]
        progress(f"[{name}] {len(got)} rows in {time.perf_counter() - t0:.0f} s")
        rows += got
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats (the smoke test)")
    parser.add_argument("--json", metavar="PATH", help="also write the table as JSON")
    parser.add_argument("--only", nargs="+", choices=list(SECTIONS), default=list(SECTIONS), metavar="SECTION",
                        help=f"run only these sections ({', '.join(SECTIONS)})")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    info = machine()
    rows = run_sections(args.only, args.quick, lambda text: print(text, file=sys.stderr, flush=True))
    print(table(rows, args.quick, info))
    if args.json:
        data = {"quick": args.quick, "machine": info, "columns": list(COLUMNS), "rows": [r.as_dict() for r in rows]}
        Path(args.json).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
