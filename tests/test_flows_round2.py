"""Flows and the backward walk over the catalogue's second round (autograd_bridge.flows,
stepper): through dropout the flow uses the mask the forward drew (a call drawing a new one
would split the partials wrongly), and a walk over cat (a port per tensor, one fed twice) and a
linear layer with its bias port unfed ends at the engine's partials."""

from __future__ import annotations

import torch

from autograd_bridge.engine import Compiled
from autograd_bridge.flows import edge_flows
from autograd_bridge.stepper import walk
from graph.model import Edge, Graph, Node
from graph.ops import TENSOR


def _leaf(g: Graph, name: str, shape: tuple[int, ...], seed: int, grad: bool = True) -> None:
    gen = torch.Generator().manual_seed(seed)
    g.add_node(Node(name, TENSOR, value=torch.randn(shape, generator=gen, dtype=torch.float64).tolist(),
                    requires_grad=grad, dtype="float64"))


def _op(g: Graph, name: str, op: str, inputs: dict[str, str], attrs: dict | None = None) -> None:
    g.add_node(Node(name, op, attrs=attrs or {}))
    for port, src in inputs.items():
        g.add_edge(Edge(src, name, port))


def _assert_partials_are_the_sums_of_the_flows(g: Graph, target: str) -> None:
    compiled = Compiled(g, "cpu", "float64")
    result = compiled.run(target)
    flows = edge_flows(compiled, result.values, result.grads)
    for n in g.nodes:
        out = [f for e, f in flows.items() if e.src == n and f is not None]
        want = result.grads[n]
        if n == target or want is None:
            continue
        torch.testing.assert_close(sum(out), want, rtol=1e-12, atol=1e-14, msg=n)


def _two_dropouts(seed: int) -> Graph:
    """x feeds a dropout and a mul; the dropout feeds the mul, a second dropout and the sum."""
    g = Graph()
    _leaf(g, "x", (6, 5), 1)
    _op(g, "d1", "dropout", {"input": "x"}, {"p": 0.5})
    _op(g, "m", "mul", {"input": "d1", "other": "x"})
    _op(g, "d2", "dropout", {"input": "m"}, {"p": 0.4})
    _op(g, "s2", "sum", {"input": "d2"})
    _op(g, "s1", "sum", {"input": "d1"})
    _op(g, "total", "add", {"input": "s2", "other": "s1"})
    g.seed = seed
    return g


def test_flows_through_dropout_split_the_engines_partials_by_edge() -> None:
    for seed in (0, 7):  # the second dropout's mask follows the first's draw
        _assert_partials_are_the_sums_of_the_flows(_two_dropouts(seed), "total")


def test_walk_over_cat_and_a_linear_without_bias_ends_at_the_engines_partials() -> None:
    g = Graph()
    _leaf(g, "x", (3, 4), 2)
    _leaf(g, "w", (2, 4), 3)
    _leaf(g, "c", (3, 1), 4, grad=False)
    _op(g, "lin", "linear", {"input": "x", "weight": "w"})  # bias unfed: torch's None
    _op(g, "joined", "cat", {"tensors.0": "lin", "tensors.1": "c", "tensors.2": "lin"},
        {"num_inputs": 3, "dim": 1})
    _op(g, "d", "dropout", {"input": "joined"}, {"p": 0.3})
    _op(g, "sq", "mul", {"input": "d", "other": "joined"})
    _op(g, "total", "sum", {"input": "sq"})
    compiled = Compiled(g, "cpu", "float64")
    result = compiled.run("total")
    steps, acc = walk(compiled, result.values, "total", result.grads["total"])
    for n in ("x", "w", "lin", "joined", "d", "sq"):
        torch.testing.assert_close(acc[n], result.grads[n], rtol=1e-12, atol=1e-14, msg=n)
    assert "c" not in acc  # no grad: never reached
    into_cat = [s.edge.port for s in steps if s.edge is not None and s.edge.dst == "joined"]
    assert into_cat == ["tensors.0", "tensors.2"]  # port order; the constant's port carries nothing
    assert [s.edge.port for s in steps if s.edge is not None and s.edge.dst == "lin"] == ["input", "weight"]
    _assert_partials_are_the_sums_of_the_flows(g, "total")
