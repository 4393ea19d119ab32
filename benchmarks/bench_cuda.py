"""The engine against torch written by hand on a CUDA GPU: a 4096 x 4096 matmul chain and the
two-layer MLP, interleaved in one process (torch.cuda.synchronize after each sample).

    python -m benchmarks.bench_cuda [--device cuda] [--quick] [--breakdown]

Without a CUDA GPU it says it skipped and exits 0. --breakdown also times where the engine's
time beyond the hand-written code goes (the NaN/Inf check's kernels, its read-back, the rest),
and each run's GPU span by CUDA events against its wall time. Leaves are made on the device (torch.full),
so the times are the GPU's work plus each side's own overhead, not normals drawn on the CPU.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

from benchmarks import workloads
from benchmarks.bench_engine import compare
from benchmarks.common import SKIPPED, Row, interleaved, table, unavailable

GOAL = 1.02
MATMULS = 4


def rows(quick: bool, device: str = "cuda") -> list[Row]:
    import torch

    from autograd_bridge.engine import check_device
    from graph.errors import DeviceError

    if not device.startswith("cuda"):
        return [unavailable(f"GPU ({device}): engine vs hand-written", f"{device} is not a CUDA device: "
                            "give --device cuda or cuda:N", f"≤ {GOAL:g}x")]
    if not torch.cuda.is_available():
        return [unavailable(f"GPU ({device}): engine vs hand-written",
                            "skipped: no CUDA GPU here (torch.cuda.is_available() is False)",
                            f"≤ {GOAL:g}x", status=SKIPPED)]
    try:
        check_device(device, None)  # cuda:3 on a machine with one GPU: one line, not a traceback
    except DeviceError as e:
        return [unavailable(f"GPU ({device}): engine vs hand-written", e.message, f"≤ {GOAL:g}x")]
    n = 512 if quick else 4096
    timing = {"budget_s": 0.5 if quick else 5.0, "min_rounds": 5 if quick else 21, "device": device, "goal": GOAL}
    name = torch.cuda.get_device_name(torch.device(device))
    out = [compare(f"GPU engine: {n}x{n} matmul chain ({MATMULS} matmuls), {device}",
                   workloads.matmul_chain_graph(n, MATMULS, filled=True), "y",
                   workloads.matmul_chain_by_hand(n, MATMULS, device, filled=True), **timing),
           compare(f"GPU engine: {n}x{n} two-layer MLP, {device}", workloads.mlp_graph(n, filled=True), "loss",
                   workloads.mlp_by_hand(n, device, filled=True), **timing)]
    for row in out:
        row.note += f"; {name}"
    return out


def breakdown(device: str = "cuda", quick: bool = False) -> list[str]:
    """The engine's extra time on the GPU, in parts: each workload run as the app runs it (the
    NaN/Inf check's kernels queued, its answer left on the device for whoever reads the Result),
    the same with the check read after the run, with it read inside the run (as before
    finite_verdict), with the check skipped, with only its kernels, with it read back through
    pinned memory, and by hand; interleaved in one process. Then each run's wall
    time against its GPU span (CUDA events around it): where they differ, the GPU waited."""
    import torch

    from autograd_bridge import engine
    from autograd_bridge.engine import Compiled
    from autograd_bridge.finite import all_finite

    if not device.startswith("cuda") or not torch.cuda.is_available():
        return [f"breakdown skipped: {device} is not an available CUDA device"]
    n = 512 if quick else 4096
    sync = lambda: torch.cuda.synchronize(device)  # noqa: E731
    pinned = torch.empty((), pin_memory=True)
    lines = []
    for name, graph, target, hand in (
            (f"{n}x{n} two-layer MLP", workloads.mlp_graph(n, filled=True), "loss",
             workloads.mlp_by_hand(n, device, filled=True)),
            (f"{n}x{n} matmul chain", workloads.matmul_chain_graph(n, MATMULS, filled=True), "y",
             workloads.matmul_chain_by_hand(n, MATMULS, device, filled=True))):
        compiled = Compiled(graph, device)
        compiled.run(target)
        plan = next(iter(compiled._finite_plans.values()))  # noqa: SLF001 - what the check reads

        def read(tensors: list) -> list:
            return [tensors[i] for i in plan.alone] + [tensors[i] for g in plan.groups for i in g]  # noqa: B023

        def kernels_only(tensors: list, *_: object) -> bool:
            torch.stack(torch._foreach_norm(read(tensors))).sum()
            return True

        def through_pinned(tensors: list, *_: object) -> bool:
            pinned.copy_(torch.stack(torch._foreach_norm(read(tensors))).sum(), non_blocking=True)
            torch.cuda.current_stream(device).synchronize()
            return math.isfinite(pinned.item())

        def with_check(check):  # noqa: ANN001, ANN202 - finite_verdict's stand-in; a run
            def run():  # noqa: ANN202
                real, engine.finite_verdict = engine.finite_verdict, check
                try:
                    return compiled.run(target)  # noqa: B023
                finally:
                    engine.finite_verdict = real
            return run

        def run_and_read():  # noqa: ANN202 - what a caller that reads the check pays
            result = compiled.run(target)  # noqa: B023
            return result.nonfinite

        parts = [("as the app runs it (check not read)", lambda: compiled.run(target)),  # noqa: B023
                 ("the same, then the check read", run_and_read),
                 ("check read inside the run (before)", with_check(all_finite)),
                 ("NaN/Inf check skipped", with_check(lambda *_: True)),
                 ("check's kernels, no read-back", with_check(kernels_only)),
                 ("check read back via pinned memory", with_check(through_pinned)), ("by hand", hand)]
        p = interleaved([fn for _, fn in parts], 1.0 if quick else 8.0, 5 if quick else 31, 0.02, sync)
        lines.append(f"{name} on {device}, {p.rounds} rounds; the check reads "
                     f"{len(plan.alone) + sum(map(len, plan.groups))} tensors:")
        for (label, _), m in zip(parts, p.medians, strict=True):
            lines.append(f"  {label:40s} {m * 1e3:9.3f} ms  {m / p.medians[-1]:.4f}x")
        for label, fn in (parts[0], parts[2], parts[-1]):
            walls, spans = [], []
            for _ in range(15):
                sync()
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                t0 = time.perf_counter()
                start.record()
                fn()
                end.record()
                end.synchronize()
                walls.append((time.perf_counter() - t0) * 1e3)
                spans.append(start.elapsed_time(end))
            lines.append(f"  CUDA events, {label:40s} wall {statistics.median(walls):9.3f} ms, "
                         f"GPU span {statistics.median(spans):9.3f} ms")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="a CUDA device: cuda, cuda:1, ...")
    parser.add_argument("--quick", action="store_true", help="512 x 512, few rounds")
    parser.add_argument("--breakdown", action="store_true",
                        help="also time the parts of the engine's extra time (the NaN/Inf check, its read-back)")
    args = parser.parse_args()
    print(table(rows(args.quick, args.device), args.quick), flush=True)
    if args.breakdown:
        print("\n".join(breakdown(args.device, args.quick)))


if __name__ == "__main__":
    main()
