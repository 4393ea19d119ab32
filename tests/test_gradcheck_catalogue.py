"""Every op in the catalogue, compiled by the bridge, passes torch.autograd.gradcheck (float64).

Generated from graph.ops.OPS: adding an op adds its checks here. The function checked is the
COMPILED program (codegen → exec), not a hand-written torch call.
"""

from __future__ import annotations

import ast

import pytest
import torch

from autograd_bridge.engine import Compiled
from graph.model import Edge, Graph, Node
from graph.ops import OPS, TENSOR, OpSpec

OP_NAMES = sorted(OPS)
# Ops whose derivative is not defined (or jumps) at 0: keep their inputs away from it.
AWAY_FROM_ZERO = {"abs", "relu", "sqrt", "div"}


def example_attrs(spec: OpSpec) -> dict[str, object]:
    """spec.example_attrs, plus the default of any required attribute it leaves out.

    A required attribute must be written on the node (Node.check), and some catalogue
    entries (transpose, softmax, log_softmax) give no example for theirs.
    """
    attrs = {a.name: a.default for a in spec.attrs if a.required}
    attrs.update(spec.example_attrs)
    return attrs


def sample(shape: tuple[int, ...], gen: torch.Generator, positive: bool, away: bool) -> torch.Tensor:
    if positive:
        return torch.rand(shape, generator=gen, dtype=torch.float64) + 0.5  # in [0.5, 1.5)
    t = torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1  # in [-1, 1)
    if away:
        # magnitude in [0.25, 1): random sign, far from the kink at 0 at gradcheck's eps
        sign = torch.where(torch.rand(shape, generator=gen, dtype=torch.float64) < 0.5, -1.0, 1.0)
        t = sign * (0.25 + 0.75 * t.abs())
    return t


def op_graph(name: str, seed: int = 0) -> tuple[Graph, list[torch.Tensor]]:
    """One float64 leaf per input port (requires_grad, seeded values) feeding the op node."""
    spec = OPS[name]
    gen = torch.Generator().manual_seed(seed)
    graph = Graph()
    leaves = []
    for port in spec.inputs:
        t = sample(spec.example_shapes[port], gen, spec.positive_inputs, name in AWAY_FROM_ZERO)
        leaves.append(t.requires_grad_())
        graph.add_node(Node(id=f"in_{port}", op=TENSOR, value=t.tolist(), requires_grad=True,
                            dtype="float64"))
    graph.add_node(Node(id="op", op=name, attrs=example_attrs(spec)))
    for port in spec.inputs:
        graph.add_edge(Edge(f"in_{port}", "op", port))
    return graph, leaves


def test_catalogue_is_not_empty() -> None:
    assert len(OPS) >= 20
    for name, spec in OPS.items():
        assert spec.name == name
        assert set(spec.example_shapes) == set(spec.inputs), name


@pytest.mark.parametrize("name", OP_NAMES)
def test_compiled_op_passes_gradcheck(name: str) -> None:
    graph, leaves = op_graph(name)
    compiled = Compiled(graph, "cpu", "float64")
    assert compiled.source.op_ids == ["op"]
    assert compiled.source.leaf_ids == [f"in_{p}" for p in OPS[name].inputs]

    def f(*xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return compiled._forward(*xs)

    out = f(*leaves)
    assert len(out) == 1
    assert out[0].dtype == torch.float64
    assert out[0].requires_grad
    assert torch.autograd.gradcheck(f, tuple(leaves), eps=1e-6, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("name", OP_NAMES)
def test_compiled_op_matches_the_torch_function(name: str) -> None:
    """The compiled forward computes what the catalogue's torch function computes."""
    spec = OPS[name]
    graph, leaves = op_graph(name, seed=1)
    (got,) = Compiled(graph, "cpu", "float64")._forward(*leaves)
    fn = torch
    for part in spec.function.split(".")[1:]:
        fn = getattr(fn, part)
    expected = fn(*leaves, **example_attrs(spec))
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("name", OP_NAMES)
def test_generated_line_calls_the_catalogue_function(name: str) -> None:
    spec = OPS[name]
    graph, _ = op_graph(name)
    source = Compiled(graph, "cpu", "float64").source
    line = source.lines["op"]
    stmt = ast.parse(line).body[0]
    assert isinstance(stmt, ast.Assign)
    assert [ast.unparse(t) for t in stmt.targets] == [source.names["op"]]
    call = stmt.value
    assert isinstance(call, ast.Call)
    assert ast.unparse(call.func) == spec.function
    # positional arguments: the leaf feeding each input port, in port order
    assert [ast.unparse(a) for a in call.args] == [source.names[f"in_{p}"] for p in spec.inputs]
    # keywords: only torch's own attribute names
    assert {k.arg for k in call.keywords} <= {a.name for a in spec.attrs}
