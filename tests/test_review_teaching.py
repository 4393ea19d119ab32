"""Teaching mode, as a reviewer drove it: lesson 8's formula never asks sympy to simplify a long
derivative (it tied up the worker for minutes); Step backward names the port when one node feeds
two ports of an op and never calls one path's share the whole partial; labels say what their
numbers are (the flow legend's factors, a vector leaf's Hessian diagonal, a small Jacobian
written out); a run stopped by opening another graph says so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sympy
import torch
from helpers import RESULT_TIMEOUT_MS
from test_cli import run_main
from test_train_gui import _long_run, _open, _settled

from autograd_bridge import symbolic
from autograd_bridge.engine import Compiled
from autograd_bridge.stepper import _plain, walk
from graph import lessons
from graph.fileformat import dumps
from graph.model import Edge, Graph, Node
from gui.stepper import describe

LESSONS = Path(__file__).resolve().parents[1] / "resources" / "lessons"
EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"


def lesson_graph(prefix: str) -> Graph:
    return lessons.load(next(LESSONS.glob(f"{prefix}_*.json"))).graph


@pytest.fixture
def simplify_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size (sympy.count_ops) of every expression handed to sympy.simplify, which is made
    to return it unchanged: the test runs at once even when the code would simplify too much."""
    sizes: list[int] = []

    def recorded(expr: object, *args: object, **kwargs: object) -> object:
        sizes.append(int(sympy.count_ops(expr)))
        return expr

    monkeypatch.setattr(sympy, "simplify", recorded)
    return sizes


def test_lesson_8_never_simplifies_the_six_sigmoid_derivative(simplify_sizes: list[int]) -> None:
    graph = lesson_graph("08")
    compiled = Compiled(graph)
    result = compiled.run("h6")
    got = symbolic.formulas_for(compiled, result.values, "h6")
    assert all(n <= symbolic.SIMPLIFY_MAX_OPS for n in simplify_sizes), simplify_sizes
    assert "x" not in got.formulas
    assert got.reason is not None and "too long to simplify" in got.reason and "∂h6/∂x" in got.reason, got.reason
    # A short chain of the same graph still gets its simplified formula.
    short = symbolic.formulas_for(compiled, result.values, "h1")
    s1 = torch.sigmoid(torch.tensor(1.0, dtype=torch.float64)).item()
    assert short.reason is None and short.values["x"] == pytest.approx(s1 * (1 - s1), rel=1e-6), short


def test_lesson_8_formula_task_and_the_cli_say_why_there_is_none(simplify_sizes: list[int], tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    from autograd_bridge.calculus_tasks import Asked, NodeDerivatives, _formula

    graph = lesson_graph("08")
    compiled = Compiled(graph)
    shapes = compiled.infer_shapes()
    out = NodeDerivatives(Asked(0, "h6"), "x")
    _formula(out, compiled, shapes)
    assert out.formula is None and out.formula_value is None
    assert "too long to simplify" in out.no_formula, out.no_formula
    # h3: 45 operations, shown as differentiated and said so; its value still autograd's
    out = NodeDerivatives(Asked(0, "h3"), "x")
    _formula(out, compiled, shapes)
    assert out.formula is not None and out.no_formula is None and not out.formula_simplified
    assert out.formula_value == pytest.approx(float(compiled.run("h3").grads["x"]), rel=1e-5)
    path = tmp_path / "l8.json"
    path.write_text(dumps(graph))
    code, out, _err = run_main(capsys, "grad", str(path), "--target", "h6", "--symbolic")
    assert code == 0 and "too long to simplify" in out, out
    assert all(n <= symbolic.SIMPLIFY_MAX_OPS for n in simplify_sizes), simplify_sizes


def square_times_c() -> Graph:
    """h = x*x (x fed to both ports of one mul), y = h*c at x = 2, c = 3: ∂h/∂x = 4, ∂y/∂x = 12."""
    g = Graph()
    g.add_node(Node("x", "tensor", value=2.0, requires_grad=True))
    g.add_node(Node("h", "mul"))
    g.add_node(Node("c", "tensor", value=3.0))
    g.add_node(Node("y", "mul"))
    for e in (Edge("x", "h", "input"), Edge("x", "h", "other"), Edge("h", "y", "input"), Edge("c", "y", "other")):
        g.add_edge(e)
    return g


def plain_steps(graph: Graph, target: str, grad_output: object = None) -> list:
    compiled = Compiled(graph)
    result = compiled.run(target, grad_output)
    steps, _acc = walk(compiled, result.values, target, result.grads[target])
    return _plain(steps)


def test_a_node_fed_to_two_ports_names_each_port_and_only_the_sum_is_the_partial() -> None:
    graph = square_times_c()
    into_x = [s for s in plain_steps(graph, "y") if s.edge is not None and s.src == "x"]
    first, second = (describe(s, graph, "y", False) for s in into_x)
    assert not first.startswith("∂y/∂x ="), first  # 6 is one path's share, not ∂y/∂x
    assert "path 1 of 2 into x" in first and "∂h/∂x via input = 3 · 2 = 6" in first.replace("∂y/∂h · ", ""), first
    assert "via other" in second and "path 2 of 2 into x" in second and "6 + 6 = 12" in second, second
    # one wire into x: the plain form, no port named
    g = Graph()
    g.add_node(Node("x", "tensor", value=2.0, requires_grad=True))
    g.add_node(Node("y", "exp"))
    g.add_edge(Edge("x", "y", "input"))
    [step] = [s for s in plain_steps(g, "y") if s.edge is not None]
    text = describe(step, g, "y", False)
    assert text.startswith("∂y/∂x = ∂y/∂y · ∂y/∂x = 1 · ") and "via" not in text and "path" not in text, text


def test_lesson_6_jacobian_diag_2_4_6_is_written_out() -> None:
    graph = lesson_graph("06")
    [step] = [s for s in plain_steps(graph, "y", [1.0, 0.5, 0.0]) if s.edge == Edge("x", "y", "input")]
    assert step.local == "[[2, 0, 0], [0, 4, 0], [0, 0, 6]]", step.local
    assert "J = [[2, 0, 0], [0, 4, 0], [0, 0, 6]]" in describe(step, graph, "y", True)


def test_the_flow_legend_says_what_its_factors_multiply(window) -> None:  # noqa: ANN001
    fv = window.flow_view
    fv.set_on(True)
    texts = [label.text() for label in fv.legend.findChildren(type(fv.legend.title)) if label.isVisible()]
    assert any("× the largest flow" in t for t in texts), texts
    assert any("× the median flow" in t for t in texts), texts


def test_a_vector_leafs_hessian_mark_says_it_is_the_diagonal(qtbot, window) -> None:  # noqa: ANN001
    from test_calculus_gui import select

    window.doc.reset(lesson_graph("06"))
    window.doc.set_target("s")
    qtbot.waitUntil(lambda: window.run.current is not None and window.run.current.target == "s",
                    timeout=RESULT_TIMEOUT_MS)
    select(qtbot, window, "x")
    [(text, _kind)] = window.scene.nodes["x"].marks
    assert text.startswith("diag ∂²s/∂x² = ["), text


def test_opening_another_file_during_a_run_says_so(qtbot, window) -> None:  # noqa: ANN001
    w, t = window, window.training
    _open(qtbot, w, EXAMPLES / "04_small_mlp.json", "loss")
    _long_run(qtbot, w)
    w.open_file(str(EXAMPLES / "01_scalar_partial.json"))
    _settled(qtbot, w)
    text = t.summary.text()
    assert "edited" not in text and "another graph was opened" in text and "not kept" in text, text
    assert json.loads(dumps(w.doc.graph))["nodes"]  # the opened file, as it was
