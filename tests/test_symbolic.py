"""Symbolic partials (autograd_bridge.symbolic, grad --symbolic): each formula evaluated at the
point equals autograd's number, on every bundled scalar example and random scalar graphs;
non-grad leaves are substituted; matrices and non-elementwise ops get a reason, not a formula;
sympy is imported only when formulas are asked for."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from test_calculus import computable_graphs
from test_cli import run_main

from autograd_bridge.engine import Compiled
from autograd_bridge.symbolic import formulas_for, shown
from graph.fileformat import load
from graph.model import Edge, Graph, Node
from graph.ops import TENSOR

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "resources" / "examples"


def assert_formulas_match_autograd(graph: Graph, target: str) -> dict[str, str]:
    compiled = Compiled(graph)
    result = compiled.run(target)
    got = formulas_for(compiled, result.values, target)
    grad_leaves = [n for n in compiled.source.leaf_ids if result.grads[n] is not None]
    if not grad_leaves:
        assert got.reason == f"no formula: {target} depends on no leaf that requires grad"
        return {}
    assert got.reason is None, got.reason
    assert sorted(got.formulas) == sorted(grad_leaves)
    point = {sympy.Symbol(n): float(result.values[n].detach()) for n in compiled.source.leaf_ids}
    for n, text in got.formulas.items():
        expected = float(result.grads[n])
        # sympy's string form parsed back, with the leaf ids as symbols: what the CLI prints is usable
        value = float(sympy.sympify(text, locals={str(s): s for s in point}).xreplace(point))
        assert value == pytest.approx(expected, rel=1e-5, abs=1e-6), (n, text)
        assert got.values[n] == pytest.approx(expected, rel=1e-5, abs=1e-6)
    return got.formulas


def test_example_01_gives_4x_with_its_constants_substituted(capsys: pytest.CaptureFixture[str]) -> None:
    path = EXAMPLES / "01_scalar_partial.json"
    assert assert_formulas_match_autograd(load(path), "y") == {"x": "4*x"}
    code, out, _err = run_main(capsys, "grad", str(path), "--target", "y", "--symbolic", "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["formulas"] == {"x": "4*x"} and "no_formula" not in doc
    code, out, _err = run_main(capsys, "grad", str(path), "--target", "y", "--symbolic")
    assert "∂y/∂x = 4*x = 8" in out
    assert shown("4*x**2") == "4·x^2"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_example_formula_or_reason(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = load(path)
    compiled = Compiled(graph)
    values = compiled.forward()
    target = graph.target or graph.sinks()[0]
    if all(values[n].dim() == 0 for n in values):
        assert_formulas_match_autograd(graph, target)
    else:
        code, out, _err = run_main(capsys, "grad", str(path), "--target", target, "--symbolic", "--json")
        doc = json.loads(out)
        assert code == 0 and doc["formulas"] == {}
        assert doc["no_formula"].startswith("no formula: ") and "not a scalar" in doc["no_formula"]


def scalar_only(drawn) -> bool:  # noqa: ANN001
    graph = drawn[0]
    return all(not isinstance(n.value, list) for n in graph.nodes.values() if n.is_tensor)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(computable_graphs().filter(scalar_only))
def test_random_scalar_graphs_formulas_equal_autograd(drawn) -> None:  # noqa: ANN001
    graph, _steps, _values = drawn
    assert_formulas_match_autograd(graph, "total")


def scalar_graph(ops: list[tuple[str, str, list[str], dict]]) -> Graph:
    g = Graph()
    g.add_node(Node("x", TENSOR, value=0.7, dtype="float64", requires_grad=True))
    g.add_node(Node("w", TENSOR, value=1.3, dtype="float64", requires_grad=True))
    g.add_node(Node("c", TENSOR, value=2.5, dtype="float64"))
    for node_id, op, inputs, attrs in ops:
        g.add_node(Node(node_id, op, attrs=attrs))
        for port, src in zip(("input", "other"), inputs, strict=False):
            g.add_edge(Edge(src, node_id, port))
    return g


def test_more_ops_match_autograd() -> None:
    graph = scalar_graph([("p", "pow", ["x"], {"exponent": 3}), ("d", "div", ["p", "w"], {}),
                          ("l", "log", ["w"], {}), ("e", "exp", ["l"], {}), ("s", "sigmoid", ["d"], {}),
                          ("m", "mul", ["s", "c"], {}), ("q", "sqrt", ["w"], {}), ("a", "add", ["m", "q"], {}),
                          ("t", "add", ["a", "e"], {})])
    formulas = assert_formulas_match_autograd(graph, "t")
    for text in formulas.values():  # a constant leaf is its value: only x and w are symbols
        assert {str(s) for s in sympy.sympify(text).free_symbols} <= {"x", "w"}, text


def test_matrices_and_non_elementwise_ops_say_why() -> None:
    g = Graph()
    g.add_node(Node("x", TENSOR, value=[[1.0, 2.0]], requires_grad=True))
    g.add_node(Node("s", "sum"))
    g.add_edge(Edge("x", "s", "input"))
    compiled = Compiled(g)
    got = formulas_for(compiled, compiled.forward(), "s")
    assert got.formulas == {} and got.reason == ("no formula: x has shape [1, 2], not a scalar "
                                                  "(formulas are for 0-d tensors)")
    graph = scalar_graph([("r", "relu", ["x"], {})])
    compiled = Compiled(graph)
    got = formulas_for(compiled, compiled.forward(), "r")
    assert got.reason == "no formula: r (relu) is not an elementwise op with a formula"


def test_grad_without_symbolic_does_not_import_sympy() -> None:
    code = ("import sys; from gradcanvas.cli import main; "
            f"main(['grad', {str(EXAMPLES / '01_scalar_partial.json')!r}, '--json']); "
            "print('sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().endswith("False"), out.stderr


def test_a_graph_no_formula_applies_to_never_imports_sympy() -> None:
    """The reason is told from the graph and shapes alone: sympy (slow to import) stays out."""
    code = ("import sys; from gradcanvas.cli import main; "
            f"main(['grad', {str(EXAMPLES / '04_small_mlp.json')!r}, '--symbolic', '--json']); "
            "print('sympy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert '"no_formula"' in out.stdout and out.stdout.strip().endswith("False"), out.stderr
