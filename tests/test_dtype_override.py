"""A dtype override (--dtype, the toolbar's dtype) converts a random init's numbers, as
module.double() converts a parameter: the same draws, never new ones. Expected tensors are drawn
here with torch's own generator."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import make_graph

from autograd_bridge.calculus import gradcheck
from autograd_bridge.engine import Compiled
from autograd_bridge.export import export_text
from gradcanvas.cli import main
from graph.fileformat import save
from graph.inits import INITS
from graph.model import Node
from graph.ops import TENSOR

RANDOM = [fn for fn, spec in INITS.items() if spec.random and "float32" in spec.dtypes]
OTHER = {"float32": "float64", "float64": "float32"}


def drawn(fn: str, shape: list[int], seed: int, dtype: str) -> torch.Tensor:
    """What the file's own dtype draws: torch.<fn> from a generator seeded so."""
    return getattr(torch, fn)(shape, generator=torch.Generator().manual_seed(seed), dtype=getattr(torch, dtype))


def random_leaf_graph(fn: str, dtype: str, requires_grad: bool = True):  # noqa: ANN201 - a Graph
    x = Node("x", TENSOR, init={"fn": fn, "shape": [40], "seed": 3}, dtype=dtype, requires_grad=requires_grad)
    return make_graph([x, Node("t", "tanh"), Node("s", "sum")], [("x", "t", "input"), ("t", "s", "input")])


def test_the_random_inits_are_the_ones_drawn_from_a_generator() -> None:
    assert {"randn", "rand"} <= set(RANDOM)


@pytest.mark.parametrize("own", ["float32", "float64"])
@pytest.mark.parametrize("fn", RANDOM)
def test_an_override_converts_the_files_draws(fn: str, own: str) -> None:
    override = OTHER[own]
    expected = drawn(fn, [40], 3, own).to(getattr(torch, override))
    compiled = Compiled(random_leaf_graph(fn, own), "cpu", override)
    (x,) = compiled.make_leaves()
    assert x.dtype == expected.dtype and x.requires_grad and x.is_leaf
    torch.testing.assert_close(x.detach(), expected, rtol=0, atol=0)
    # the app's value edit makes the leaf again from its node, by the same code
    torch.testing.assert_close(compiled.leaf_tensor(compiled.graph.nodes["x"]).detach(), expected, rtol=0, atol=0)
    # and the exported code draws them so too
    namespace: dict = {}
    exec(export_text(compiled.graph, "s", dtype=override, form="function"), namespace)  # noqa: S102
    (exported,) = namespace["example_inputs"]()
    torch.testing.assert_close(exported.detach(), expected, rtol=0, atol=0)


def test_grad_with_float64_has_the_value_of_the_files_numbers(tmp_path, capsys) -> None:  # noqa: ANN001
    path = tmp_path / "rn.json"
    save(random_leaf_graph("randn", "float32"), path)
    x = drawn("randn", [40], 3, "float32").double()
    for argv in (["--dtype", "float64"], []):
        capsys.readouterr()
        assert main(["grad", str(path), "--json", *argv]) == 0
        got = json.loads(capsys.readouterr().out)
        assert got["value"] == pytest.approx(torch.tanh(x).sum().item(), rel=1e-6)
        assert got["grads"]["x"] == pytest.approx((1 - torch.tanh(x) ** 2).tolist(), rel=1e-6)


def test_gradcheck_checks_the_files_point() -> None:
    compiled = Compiled(random_leaf_graph("randn", "float32"))
    report = gradcheck(compiled, "s")
    assert report.passed
    c64 = Compiled(compiled.graph, "cpu", "float64")
    torch.testing.assert_close(c64.make_leaves()[0].detach(), drawn("randn", [40], 3, "float32").double())


def test_an_exact_init_is_made_in_the_dtype_asked_for() -> None:
    # arange's numbers are the file's: a float64 override makes them in float64, as a literal's
    x = Node("x", TENSOR, init={"fn": "arange", "end": 1.0, "step": 0.1}, requires_grad=True)
    g = make_graph([x, Node("s", "sum")], [("x", "s", "input")])
    (made,) = Compiled(g, "cpu", "float64").make_leaves()
    torch.testing.assert_close(made.detach(), torch.arange(0, 1.0, 0.1, dtype=torch.float64), rtol=0, atol=0)
