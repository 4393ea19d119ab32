"""Symbolic partials (autograd_bridge.symbolic, grad --symbolic): each formula evaluated at the
point equals autograd's number, on every bundled scalar example and random scalar graphs;
non-grad leaves are substituted; matrices and non-elementwise ops get a reason, not a formula;
sympy is imported only when formulas are asked for."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import sympy
import torch
from hypothesis import HealthCheck, given, settings
from test_calculus import computable_graphs
from test_cli import run_main

from autograd_bridge.engine import Compiled
from autograd_bridge.symbolic import formulas_for, shown
from graph.fileformat import dumps, load
from graph.model import Edge, Graph, Node
from graph.naming import by_title
from graph.ops import TENSOR

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "resources" / "examples"


def assert_formulas_match_autograd(graph: Graph, target: str) -> dict[str, str]:
    compiled = Compiled(graph)
    result = compiled.run(target)
    got = formulas_for(compiled, result.values, target)
    grad_leaves = [n for n in compiled.source.leaf_ids if result.grads[n] is not None]
    if not grad_leaves:
        assert got.reason == f"{target} depends on no leaf that requires grad"
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
        assert "not a scalar" in doc["no_formula"]


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
    assert got.formulas == {} and got.reason.startswith("formulas are for graphs of 0-d tensors, and ")
    assert got.reason.endswith(" depends on x, which has shape [1, 2], not a scalar")
    graph = scalar_graph([("r", "relu", ["x"], {})])
    compiled = Compiled(graph)
    got = formulas_for(compiled, compiled.forward(), "r")
    assert got.reason == "r (relu) is not an elementwise op with a formula"


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


def nested(op: str, depth: int, x: float) -> Graph:
    """op(op(…op(x))) `depth` deep, x a float64 leaf; node k is f"{op}{k}"."""
    g = Graph()
    g.add_node(Node("x", TENSOR, value=x, dtype="float64", requires_grad=True))
    src = "x"
    for k in range(1, depth + 1):
        g.add_node(Node(f"{op}{k}", op))
        g.add_edge(Edge(src, f"{op}{k}", "input"))
        src = f"{op}{k}"
    return g


def test_a_formula_whose_value_overflows_says_so_in_one_line(capsys: pytest.CaptureFixture[str],
                                                             tmp_path: Path) -> None:
    """exp six deep at x = 1: the value has millions of digits (sympy's exact evalf took minutes;
    float gave OverflowError). The formula is kept, its value is None with the reason, as torch
    overflows too."""
    graph = nested("exp", 6, 1.0)
    compiled = Compiled(graph)
    result = compiled.run("exp6")
    assert not torch.isfinite(result.grads["x"])  # torch's own number overflows at this point
    got = formulas_for(compiled, result.values, "exp6")
    assert "x" in got.formulas and got.values["x"] is None
    assert "too large for a float" in got.unvalued["x"]
    path = tmp_path / "exp6.json"
    path.write_text(dumps(graph))
    code, out, _err = run_main(capsys, "grad", str(path), "--target", "exp6", "--symbolic")
    line = next(x for x in out.splitlines() if x.startswith("∂exp6/∂x = "))
    x = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    y = x
    for _ in range(6):
        y = torch.exp(y)
    (by_hand,) = torch.autograd.grad(y, [x])  # what the line says torch gives: its own number
    assert by_hand == math.inf
    assert code == 0 and line.endswith("(its value: too large for a float here: an intermediate overflows; "
                                       "torch gives inf)"), line


def test_a_formula_with_a_real_value_through_a_complex_intermediate_gets_torchs_number() -> None:
    """log(log(log(x))) at x = 1.5: log(log(1.5)) < 0, so the target is nan, but its derivative
    1/(x·log x·log log x) is real, as torch's backward gives."""
    graph = nested("log", 3, 1.5)
    compiled = Compiled(graph)
    result = compiled.run("log3")
    got = formulas_for(compiled, result.values, "log3", grads=result.grads)
    expected = 1 / (1.5 * math.log(1.5) * math.log(math.log(1.5)))
    assert float(result.grads["x"]) == pytest.approx(expected)  # torch agrees with the calculus
    assert got.values["x"] == pytest.approx(expected) and "x" not in got.unvalued


def test_a_formula_with_no_real_value_says_so() -> None:
    """sqrt(sqrt(x)) at x = -1 (float64): the formula's value is not real; torch gives nan."""
    graph = nested("sqrt", 2, -1.0)
    compiled = Compiled(graph)
    result = compiled.run("sqrt2")
    assert torch.isnan(result.grads["x"])
    x = torch.tensor(-1.0, dtype=torch.float64, requires_grad=True)
    assert torch.isnan(torch.autograd.grad(torch.sqrt(torch.sqrt(x)), [x])[0])
    got = formulas_for(compiled, result.values, "sqrt2")
    assert got.values["x"] is None and got.unvalued["x"] == "not a real number here"  # torch's not given
    got = formulas_for(compiled, result.values, "sqrt2", grads=result.grads)
    assert got.values["x"] is None and got.unvalued["x"] == "not a real number here; torch gives nan"


def test_reasons_name_nodes_as_asked_and_the_cli_says_no_formula_once(capsys: pytest.CaptureFixture[str]) -> None:
    graph = scalar_graph([("r", "relu", ["x"], {})])
    compiled = Compiled(graph)
    got = formulas_for(compiled, compiled.forward(), "r", by_title(graph))
    assert got.reason == "r (relu) is not an elementwise op with a formula"
    graph.nodes["r"] = dataclasses.replace(graph.nodes["r"], label="my relu")
    got = formulas_for(compiled, compiled.forward(), "r", by_title(graph))
    assert got.reason == "(my relu) (relu) is not an elementwise op with a formula"
    code, out, _err = run_main(capsys, "grad", str(EXAMPLES / "04_small_mlp.json"), "--symbolic")
    assert code == 0 and out.count("no formula") == 1 and "no formula: no formula" not in out, out


def test_where_torchs_rounded_steps_differ_from_the_exact_formula_both_are_said(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """sqrt(log(exp(x))) at x = 1e-30 in float64: exp rounds to 1, log to 0, so torch's partial is
    inf; the simplified formula 1/(2·sqrt(x)) gives 5e14 exactly. The line says both."""
    g = Graph()
    g.add_node(Node("x", TENSOR, value=1e-30, dtype="float64", requires_grad=True))
    for k, op in enumerate(("exp", "log", "sqrt")):
        g.add_node(Node(f"n{k}", op))
        g.add_edge(Edge("x" if k == 0 else f"n{k - 1}", f"n{k}", "input"))
    x = torch.tensor(1e-30, dtype=torch.float64, requires_grad=True)
    (torch_grad,) = torch.autograd.grad(torch.sqrt(torch.log(torch.exp(x))), [x])
    assert math.isinf(torch_grad)
    compiled = Compiled(g)
    result = compiled.run("n2")
    got = formulas_for(compiled, result.values, "n2", grads=result.grads)
    assert got.values["x"] == pytest.approx(1 / (2 * math.sqrt(1e-30))) and got.torch_differs == {"x": math.inf}
    path = tmp_path / "tiny.json"
    path.write_text(dumps(g))
    code, out, _err = run_main(capsys, "grad", str(path), "--target", "n2", "--symbolic")
    line = next(x for x in out.splitlines() if x.startswith("∂n2/∂x = "))
    assert code == 0 and line.endswith("= 5e+14 (exact at this point; torch's rounded steps give inf)"), line
    ok = formulas_for(compiled, compiled.forward(), "n2", grads={"x": torch.tensor(5e14)})
    assert ok.torch_differs == {}  # agreeing numbers: nothing added


def _formula_line(capsys: pytest.CaptureFixture[str], tmp_path: Path, graph: Graph, target: str, leaf: str) -> str:
    path = tmp_path / "g.json"
    path.write_text(dumps(graph))
    code, out, _err = run_main(capsys, "grad", str(path), "--target", target, "--symbolic")
    assert code == 0
    return next(x for x in out.splitlines() if x.startswith(f"∂{target}/∂{leaf} = "))


def test_where_the_forward_is_nan_a_cancelled_formula_is_not_called_exact(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """exp(log(x)) at x = -2: sympy cancels it to x, whose derivative 1 holds where the function
    is defined, not here: log(-2) is nan, and torch's nan is no rounding of 1."""
    x = torch.tensor(-2.0, dtype=torch.float64, requires_grad=True)
    (torch_grad,) = torch.autograd.grad(torch.exp(torch.log(x)), [x])
    assert math.isnan(torch_grad) and math.isnan(torch.log(x.detach()))
    graph = Graph()
    graph.add_node(Node("x", TENSOR, value=-2.0, dtype="float64", requires_grad=True))
    graph.add_node(Node("l", "log"))
    graph.add_node(Node("e", "exp"))
    graph.add_edge(Edge("x", "l", "input"))
    graph.add_edge(Edge("l", "e", "input"))
    compiled = Compiled(graph)
    result = compiled.run("e")
    got = formulas_for(compiled, result.values, "e", grads=result.grads)
    assert got.formulas == {"x": "1"} and got.values["x"] is None and got.torch_differs == {}
    assert got.unvalued["x"] == "none here: l = nan in the forward pass; torch gives nan"
    line = _formula_line(capsys, tmp_path, graph, "e", "x")
    assert line == "∂e/∂x = 1 (its value: none here: l = nan in the forward pass; torch gives nan)", line


def test_x_over_x_at_zero_says_its_formula_once_and_no_exact_value(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    graph = Graph()
    graph.add_node(Node("x", TENSOR, value=0.0, dtype="float64", requires_grad=True))
    graph.add_node(Node("d", "div"))
    graph.add_edge(Edge("x", "d", "input"))
    graph.add_edge(Edge("x", "d", "other"))
    line = _formula_line(capsys, tmp_path, graph, "d", "x")
    assert line == "∂d/∂x = 0 (its value: none here: d = nan in the forward pass; torch gives nan)", line
    graph.nodes["x"] = dataclasses.replace(graph.nodes["x"], value=3.0)  # defined: the value, not "0 = 0"
    assert _formula_line(capsys, tmp_path, graph, "d", "x") == "∂d/∂x = 0"


def test_a_formula_with_no_value_gives_torchs_own_number_not_a_guess(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """pow(x, z) at x = 0, z = 2: ∂p/∂z = x^z·log(x) has no real value at 0 (log 0), but torch's
    partial is 0, not the nan the line used to claim torch gives."""
    x = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    z = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    (torch_dz,) = torch.autograd.grad(torch.pow(x, z), [z])
    assert torch_dz == 0
    graph = Graph()
    graph.add_node(Node("x", TENSOR, value=0.0, dtype="float64", requires_grad=True))
    graph.add_node(Node("z", TENSOR, value=2.0, dtype="float64", requires_grad=True))
    graph.add_node(Node("p", "pow", attrs={"exponent": None}))  # null: the exponent port's tensor
    graph.add_edge(Edge("x", "p", "input"))
    graph.add_edge(Edge("z", "p", "exponent"))
    line = _formula_line(capsys, tmp_path, graph, "p", "z")
    assert line == "∂p/∂z = x**z*log(x) (its value: not a real number here; torch gives 0)", line
