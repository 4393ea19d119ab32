"""The engine against torch written by hand, in one process, and load + validate + compile.

    python -m benchmarks.bench_engine [--quick]

Each row runs `Compiled(graph).run(target)` (forward, then the partial of every node that
requires grad, the NaN/Inf check included) against the same computation written by hand in
torch (benchmarks/workloads.py), interleaved A B B A ..., after checking that both give the same
values and partials. The compile is done once, outside the timing, as the app does.
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import workloads
from benchmarks.common import ROOT, Row, interleaved, ms, standalone

EXAMPLES = [("01_scalar_partial.json", "y"), ("02_matmul_vector.json", "y"), ("03_vector_element.json", "y1"),
            ("04_small_mlp.json", "loss")]
GOAL, GOAL_SMALL = 1.05, 1.15  # the looser goal is for graphs under 10 ops (the examples)
LOAD_GOAL_S = 0.300


def same_numbers(result, hand: tuple[dict, dict]) -> None:  # noqa: ANN001 - an engine Result
    """The engine and the hand-written code agree on every value and every partial."""
    import torch

    values, grads = hand
    if set(result.values) != set(values):
        raise AssertionError(f"different nodes: {sorted(set(result.values) ^ set(values))}")
    for n in values:
        torch.testing.assert_close(result.values[n], values[n], msg=lambda m, n=n: f"value of {n}: {m}")
        a, b = result.grads[n], grads[n]
        if (a is None) != (b is None):
            raise AssertionError(f"partial of {n}: engine {a is not None}, by hand {b is not None}")
        if a is not None:
            torch.testing.assert_close(a, b, msg=lambda m, n=n: f"partial of {n}: {m}")


def compare(metric: str, graph, target: str, hand: Callable[[], tuple[dict, dict]],  # noqa: ANN001
            budget_s: float, min_rounds: int, device: str = "cpu", goal: float = GOAL, small: bool = False,
            sample_s: float = 0.02, cancellable: bool = False) -> Row:
    """One engine row: app / hand, interleaved, after checking they agree. A small graph (the
    examples) reports the fixed cost per run: app minus hand, in µs. Cancellable: the run the
    app's compute makes, checking a cancel token before every op."""
    import torch

    from autograd_bridge.cancel import CancelToken
    from autograd_bridge.engine import Compiled

    compiled = Compiled(graph, device, cancellable=cancellable)
    watching = CancelToken().watching_forward if cancellable else contextlib.nullcontext

    def run():  # noqa: ANN202 - an engine Result
        with watching():
            return compiled.run(target)

    same_numbers(run(), hand())
    # The device the samples run on: synchronize() alone waits for the current one, cuda:0.
    sync = (lambda: torch.cuda.synchronize(device)) if device.startswith("cuda") else (lambda: None)
    fns = [run, hand]
    if small:  # also the same run through torch.autograd.grad, as the hand-written code calls it
        from autograd_bridge import engine

        fns.insert(1, lambda: _through_autograd_grad(engine, compiled, target))
    p = interleaved(fns, budget_s, min_rounds, sample_s, sync)
    app, by_hand = p.medians[0], p.medians[-1]
    ops = sum(not n.is_tensor for n in graph.nodes.values())
    note = f"{p.rounds} rounds x {p.loops}"
    if small:
        # The engine calls torch's autograd engine without torch.autograd.grad's Python layer
        # (engine._grad): the second figure is its own Python beyond the hand-written code's.
        note = (f"fixed cost {(app - by_hand) * 1e6:+.1f} µs per run ({(p.medians[1] - by_hand) * 1e6:+.1f} µs "
                f"through torch.autograd.grad, as by hand); " + note)
    return Row(metric, ms(app), ms(by_hand), p.ratios[0], f"≤ {goal:g}x", p.ratios[0], goal, note=note,
               numbers={"app_s": app, "hand_s": by_hand, "ops": ops})


def _through_autograd_grad(engine, compiled, target: str):  # noqa: ANN001, ANN202 - the module, a Compiled
    saved, engine._run_backward = engine._run_backward, None  # noqa: SLF001 - its fallback
    try:
        return compiled.run(target)
    finally:
        engine._run_backward = saved  # noqa: SLF001


def engine_rows(quick: bool) -> list[Row]:
    from graph.fileformat import load

    timing = ({"budget_s": 0.1, "min_rounds": 7, "sample_s": 0.005} if quick
              else {"budget_s": 4.0, "min_rounds": 21, "sample_s": 0.02})
    chain, dag, mlp = (50, 40, 64) if quick else (1000, 200, 1000)
    rows = []
    for name, target in EXAMPLES:
        g = load(ROOT / "resources" / "examples" / name)
        ops = sum(not n.is_tensor for n in g.nodes.values())
        rows.append(compare(f"engine: example {name.removesuffix('.json')} ({ops} ops)", g, target,
                            workloads.example_by_hand(name), goal=GOAL_SMALL, small=True, **timing))
    rows.append(compare(f"engine: {chain:,}-op elementwise chain", workloads.chain_graph(chain), "y",
                        workloads.chain_by_hand(chain), **timing))
    rows.append(compare(f"engine with the app's cancel checks: {chain:,}-op chain", workloads.chain_graph(chain),
                        "y", workloads.chain_by_hand(chain), cancellable=True, **timing))
    rows.append(compare(f"engine: {dag}-node random DAG", workloads.dag_graph(dag), "y",
                        workloads.dag_by_hand(dag), **timing))
    rows.append(compare(f"engine: {mlp}x{mlp} two-layer MLP", workloads.mlp_graph(mlp), "loss",
                        workloads.mlp_by_hand(mlp), **timing))
    return rows


def load_compile_row(quick: bool) -> Row:
    """graph.fileformat.load of a file, Graph.validate, Compiled: the median of several."""
    from autograd_bridge.engine import Compiled
    from graph.fileformat import load, save

    n = 500 if quick else 10_000
    repeats = 3 if quick else 15
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chain.json"
        save(workloads.chain_graph(n - 1), path)  # n - 1 ops and the leaf: n nodes
        walls, cpus, parts = [], [], []
        for _ in range(repeats + 1):
            c0, t0 = time.thread_time(), time.perf_counter()
            graph = load(path)
            t1 = time.perf_counter()
            checked = graph.validate()
            t2 = time.perf_counter()
            Compiled(checked)
            t3, c3 = time.perf_counter(), time.thread_time()
            walls.append(t3 - t0)
            cpus.append(c3 - c0)
            parts.append((t1 - t0, t2 - t1, t3 - t2))
    # The first run warms imports and caches. All of it is Python on this thread, so its CPU time
    # is what the wall time would be on an idle machine: the goal is judged on it.
    wall, cpu = statistics.median(walls[1:]), statistics.median(cpus[1:])
    load_s, validate_s, compile_s = (statistics.median(p[i] for p in parts[1:]) for i in range(3))
    return Row(f"load + validate + compile, {n:,}-node chain", f"{ms(cpu)} CPU, {ms(wall)} wall",
               goal=f"≤ {ms(LOAD_GOAL_S)} CPU", measured=cpu, limit=LOAD_GOAL_S,
               note=f"wall: load {ms(load_s)}, validate {ms(validate_s)}, compile {ms(compile_s)}; median of {repeats}",
               numbers={"cpu_s": cpu, "wall_s": wall, "load_s": load_s, "validate_s": validate_s,
                        "compile_s": compile_s})


def rows(quick: bool) -> list[Row]:
    return [*engine_rows(quick), load_compile_row(quick)]


def main() -> None:
    standalone(rows, __doc__)


if __name__ == "__main__":
    main()
