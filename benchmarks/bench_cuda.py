"""The engine against torch written by hand on a CUDA GPU: a 4096 x 4096 matmul chain and the
two-layer MLP, interleaved in one process (torch.cuda.synchronize after each sample).

    python -m benchmarks.bench_cuda [--device cuda] [--quick]

Without a CUDA GPU it says it skipped and exits 0. Leaves are made on the device (torch.full),
so the times are the GPU's work plus each side's own overhead, not normals drawn on the CPU.
"""

from __future__ import annotations

import argparse

from benchmarks import workloads
from benchmarks.bench_engine import compare
from benchmarks.common import SKIPPED, Row, table, unavailable

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="a CUDA device: cuda, cuda:1, ...")
    parser.add_argument("--quick", action="store_true", help="512 x 512, few rounds")
    args = parser.parse_args()
    print(table(rows(args.quick, args.device), args.quick))


if __name__ == "__main__":
    main()
