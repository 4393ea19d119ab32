"""Compile and run cost of GradCanvas against hand-written torch, in one process.

    python benchmarks/bench_engine.py [--nodes 1000 2000 10000]

Prints, per graph size: generate+compile time, one forward+backward of the compiled graph
(partials of every node), and the same forward+backward written by hand in torch, with ratios.
Nothing here is asserted: it is a measurement, re-run it to compare.
"""

from __future__ import annotations

import argparse
import time

import torch

from autograd_bridge.engine import Compiled
from graph.model import Edge, Graph, Node

UNARY = ["sin", "tanh", "exp", "neg", "sigmoid"]


def chain_graph(n: int) -> Graph:
    """x -> op -> op -> ... (n - 1 elementwise ops) -> sum, on a 64-element vector."""
    g = Graph()
    g.add_node(Node("x", "tensor", init={"fn": "randn", "shape": [64], "seed": 0}, requires_grad=True))
    prev = "x"
    for i in range(n - 2):
        op = UNARY[i % len(UNARY)] if i % len(UNARY) != 2 else "tanh"  # exp would overflow a long chain
        g.add_node(Node(f"n{i}", op))
        g.add_edge(Edge(prev, f"n{i}", "input"))
        prev = f"n{i}"
    g.add_node(Node("y", "sum"))
    g.add_edge(Edge(prev, "y", "input"))
    return g


def by_hand(n: int) -> float:
    x = torch.randn(64, generator=torch.Generator().manual_seed(0)).requires_grad_()
    fns = [torch.sin, torch.tanh, torch.tanh, torch.neg, torch.sigmoid]
    h, kept = x, []
    for i in range(n - 2):
        h = fns[i % len(fns)](h)
        kept.append(h)
    y = torch.sum(h)
    grads = torch.autograd.grad(y, [x, *kept], allow_unused=True)
    return float(grads[0].sum())


def timed(fn, repeat: int = 3) -> float:  # noqa: ANN001
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, nargs="+", default=[100, 1000, 2000, 10000])
    args = parser.parse_args()
    torch.set_num_threads(2)
    print(f"{'nodes':>6} {'compile':>10} {'run (app)':>10} {'by hand':>10} {'run/hand':>9}")
    for n in args.nodes:
        g = chain_graph(n)
        t_compile = timed(lambda g=g: Compiled(g), 1)
        compiled = Compiled(g)
        t_run = timed(lambda c=compiled: c.run("y"))
        t_hand = timed(lambda n=n: by_hand(n))
        print(f"{n:>6} {t_compile * 1e3:>8.1f}ms {t_run * 1e3:>8.1f}ms {t_hand * 1e3:>8.1f}ms {t_run / t_hand:>8.2f}x")


if __name__ == "__main__":
    main()
