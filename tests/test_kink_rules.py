"""The local derivative each op's catalogue rule states holds where it is least obvious: at
clamp's bounds (1, as torch gives) and where maximum/minimum's inputs are equal (0.5 each). The
rule is what the inspector, the node tooltip, the palette and docs/ops.md show; the numbers come
from the engine and from torch written here."""

from __future__ import annotations

import pytest
import torch

from autograd_bridge.engine import Compiled
from graph.model import Edge, Graph, Node
from graph.ops import OPS, TENSOR


def _run(op: str, inputs: dict[str, list[float]], attrs: dict | None = None) -> dict[str, torch.Tensor]:
    g = Graph()
    for port, value in inputs.items():
        g.add_node(Node(port, TENSOR, value=value, requires_grad=True, dtype="float64"))
    g.add_node(Node("f", op, attrs=attrs or {}))
    g.add_node(Node("s", "sum"))
    for port in inputs:
        g.add_edge(Edge(port, "f", port))
    g.add_edge(Edge("f", "s", "input"))
    result = Compiled(g).run("s")
    return {port: result.grads[port] for port in inputs}


def test_clamp_passes_the_gradient_at_its_bounds_and_its_rule_says_so() -> None:
    x = torch.tensor([0.0, 0.5, 1.0, 1.5, -0.5], dtype=torch.float64, requires_grad=True)
    x.clamp(0.0, 1.0).sum().backward()
    got = _run("clamp", {"input": x.detach().tolist()}, {"min": 0.0, "max": 1.0})
    assert torch.equal(got["input"], x.grad) and x.grad.tolist() == [1.0, 1.0, 1.0, 0.0, 0.0]
    assert "min ≤ input ≤ max" in OPS["clamp"].rule


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_maximum_and_minimum_split_a_tie_evenly_and_their_rules_say_so(op: str) -> None:
    a = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([1.0, 0.0, 3.0], dtype=torch.float64, requires_grad=True)
    getattr(torch, op)(a, b).sum().backward()
    got = _run(op, {"input": a.detach().tolist(), "other": b.detach().tolist()})
    assert torch.equal(got["input"], a.grad) and torch.equal(got["other"], b.grad)
    assert a.grad[0] == b.grad[0] == 0.5  # the tie, split
    assert "0.5 each where equal" in OPS[op].rule
