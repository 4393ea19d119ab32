"""The app's derivatives beyond .grad (gui.calculus, gui.inspector.derivatives): the Jacobian and
Hessian panels, picking a Jacobian row as the target (undoable), gradcheck badges, and
"differentiate again". Expected numbers come from torch.func / torch.autograd applied to
functions written here by hand, never from GradCanvas's own output.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from helpers import RESULT_TIMEOUT_MS, THREAD_ONLY
from test_calculus import _BrokenSquare  # the one deliberately wrong backward of the tests

from graph.model import Edge, Graph, Node
from graph.ops import OPS, OpSpec

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"


def value(w, node_id: str) -> torch.Tensor:  # noqa: ANN001 - a MainWindow
    return torch.tensor(w.doc.graph.nodes[node_id].value, dtype=torch.float64)


def open_with_target(qtbot, w, example: str, target: str) -> None:  # noqa: ANN001
    w.open_file(str(EXAMPLES / f"{example}.json"))
    w.doc.set_target(target)
    qtbot.waitUntil(lambda: w.run.current is not None and w.run.current.target == target, timeout=RESULT_TIMEOUT_MS)


def select(qtbot, w, node_id: str) -> object:  # noqa: ANN001
    """Select one node; the panel's NodeDerivatives once the worker sent it."""
    w.scene.clearSelection()
    w.scene.nodes[node_id].setSelected(True)
    calc = w.calculus
    qtbot.waitUntil(lambda: calc.node_result is not None and calc.node_result.node == node_id,
                    timeout=RESULT_TIMEOUT_MS)
    return calc.node_result


def test_the_jacobian_panel_shows_torch_funcs_jacobian_and_a_cell_says_what_it_is(qtbot, window) -> None:
    w = window
    open_with_target(qtbot, w, "02_matmul_vector", "xw")  # xw = x.reshape(1, -1) @ w, shape (1, 2)
    d = select(qtbot, w, "x")
    expected = torch.func.jacrev(lambda x: x.reshape(1, -1) @ value(w, "w"))(value(w, "x")).reshape(2, 2)
    panel = w.inspector.derivatives
    assert d.target_shape == (1, 2) and d.node_shape == (2,)
    torch.testing.assert_close(torch.from_numpy(panel.heatmap.array), expected, check_dtype=False)
    assert "shape (1, 2)" in panel.axes.text() and "shape (2)" in panel.axes.text()
    panel.heatmap.clicked.emit((1, 0))
    assert panel.cell.text() == f"∂xw[0, 1]/∂x[0] = {float(expected[1, 0]):.6g}"
    assert "vᵀ·J" in panel.relation.text()
    # With a grad-output the sentence says the canvas shows vᵀ·J, and its numbers are vᵀ·J.
    w.grad_output_edit.setText("[[1.0, -2.0]]")
    w._on_grad_output_edited([[1.0, -2.0]])  # noqa: SLF001 - as the box's edited signal does
    qtbot.waitUntil(lambda: w.run.current is not None and w.calculus.node_result is not None
                    and w.calculus.node_result.vjp is not None, timeout=RESULT_TIMEOUT_MS)
    vjp = torch.tensor([1.0, -2.0], dtype=torch.float64) @ expected
    torch.testing.assert_close(torch.from_numpy(w.calculus.node_result.vjp), vjp, check_dtype=False)
    assert "The canvas shows vᵀ·∂xw/∂x = vᵀ·J" in panel.relation.text()
    torch.testing.assert_close(torch.from_numpy(w.run.current.nodes["x"].grad), vjp, check_dtype=False)


def test_clicking_a_row_makes_that_element_the_target_reusing_a_select_and_undo_takes_it_back(qtbot, window) -> None:
    w = window
    open_with_target(qtbot, w, "03_vector_element", "y")  # y = x**2, y1 = y[1] already there
    select(qtbot, w, "x")
    nodes_before = list(w.doc.graph.nodes)
    w.inspector.derivatives.heatmap.clicked.emit((1, -1))  # row 1's index
    assert w.doc.target == "y1" and list(w.doc.graph.nodes) == nodes_before  # the existing select, reused
    w.doc.undo_stack.undo()
    assert w.doc.target == "y"
    qtbot.waitUntil(lambda: w.run.current is not None and w.run.current.target == "y", timeout=RESULT_TIMEOUT_MS)
    select(qtbot, w, "x")
    w.inspector.derivatives.heatmap.clicked.emit((0, 1))  # a cell: the number, and a button for its row
    w.inspector.derivatives.pick.click()
    new = w.doc.target
    node = w.doc.graph.nodes[new]
    assert new not in nodes_before and node.op == "select" and node.attrs == {"dim": 0, "index": 0}
    assert w.doc.graph.inputs_of(new) == {"input": "y"} and node.label == "y[0]"
    qtbot.waitUntil(lambda: w.run.current is not None and w.run.current.target == new, timeout=RESULT_TIMEOUT_MS)
    x = value(w, "x")
    assert w.run.current.nodes["x"].grad.tolist() == pytest.approx(torch.func.grad(lambda x: (x**2)[0])(x).tolist())
    w.doc.undo_stack.undo()  # one step: the node, its edge and the target
    assert w.doc.target == "y" and list(w.doc.graph.nodes) == nodes_before


def test_the_hessian_panel_and_the_diagonal_on_the_node_are_torch_funcs(qtbot, window) -> None:
    w = window
    open_with_target(qtbot, w, "04_small_mlp", "loss")
    g = {n: value(w, n) for n in ("inp", "W1", "W2", "y_true")}
    inp = g["inp"]

    def loss(b1: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(torch.tanh(inp @ g["W1"] + b1) @ g["W2"], g["y_true"])

    d = select(qtbot, w, "b1")
    expected = torch.func.hessian(loss)(value(w, "b1"))
    panel = w.inspector.derivatives
    torch.testing.assert_close(torch.from_numpy(panel.heatmap.array), expected, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(torch.from_numpy(d.diagonal), expected.diagonal(), rtol=1e-4, atol=1e-6)
    marks = w.scene.nodes["b1"].marks
    assert [kind for _t, kind in marks] == ["info"] and marks[0][0].startswith("diag ∂²loss/∂b1² = [")
    assert panel.diagonal.text().startswith("∂²loss/∂b1² (the diagonal, shown on the node) = [")
    panel.heatmap.clicked.emit((0, 1))
    assert panel.cell.text() == f"∂²loss/∂b1[0]∂b1[1] = {float(d.hessian[0, 1]):.6g}"


def test_differentiate_again_gives_torch_double_backward(qtbot, window) -> None:
    w = window
    open_with_target(qtbot, w, "01_scalar_partial", "y")  # y = 2*x**2 + 3*z
    select(qtbot, w, "x")
    w.inspector.derivatives.again.click()
    qtbot.waitUntil(lambda: w.calculus.second is not None, timeout=RESULT_TIMEOUT_MS)
    x = value(w, "x").requires_grad_()
    (g,) = torch.autograd.grad(2 * x**2 + 3 * value(w, "z"), x, create_graph=True)
    (gg,) = torch.autograd.grad(g, x)
    s = w.calculus.second
    assert s.error is None and float(s.gradient) == pytest.approx(float(g.detach()))
    assert float(s.partials["x"].item()) == pytest.approx(float(gg))
    assert ("∂²y/∂x² = " + f"{float(gg):.4g}", "info") in w.scene.nodes["x"].marks
    assert "∂²y/∂x² = 4" in w.inspector.derivatives.second.text()


def test_differentiate_again_from_the_node_menu_on_a_matrix_leaf(qtbot, window) -> None:
    w = window
    open_with_target(qtbot, w, "04_small_mlp", "loss")
    menu = w.scene.node_menu("b1")
    action = next(a for a in menu.actions() if a.text().startswith("∂² Differentiate again"))
    action.trigger()
    qtbot.waitUntil(lambda: w.calculus.second is not None, timeout=RESULT_TIMEOUT_MS)
    leaves = {n: value(w, n).requires_grad_() for n in ("W1", "b1", "W2")}
    loss = F.mse_loss(torch.tanh(value(w, "inp") @ leaves["W1"] + leaves["b1"]) @ leaves["W2"], value(w, "y_true"))
    (g,) = torch.autograd.grad(loss, leaves["b1"], create_graph=True)
    for n in ("W1", "b1", "W2"):  # ∂g[i]/∂n by one backward pass per entry of g
        rows = torch.stack([torch.autograd.grad(g[i], leaves[n], retain_graph=True)[0].reshape(-1)
                            for i in range(g.numel())])
        torch.testing.assert_close(torch.from_numpy(w.calculus.second.partials[n]), rows, rtol=1e-4, atol=1e-6)


@THREAD_ONLY
def test_gradcheck_badges_go_red_for_a_wrong_backward_and_vanish_after_an_edit(qtbot, window, monkeypatch) -> None:
    monkeypatch.setattr(torch, "_gradcanvas_test_broken_square", _BrokenSquare.apply, raising=False)
    monkeypatch.setitem(OPS, "broken_square", OpSpec("broken_square", "torch._gradcanvas_test_broken_square",
                                                     ("input",), "elementwise", "sq", "a test-only op"))
    w = window
    g = Graph()
    g.add_node(Node("x", "tensor", value=[0.5, -1.0, 2.0], requires_grad=True))
    g.add_node(Node("w", "tensor", value=[0.3, 0.1, -0.7], requires_grad=True))
    for node_id, op in (("sq", "broken_square"), ("s", "sin"), ("a", "add"), ("total", "sum")):
        g.add_node(Node(node_id, op))
    for src, dst, port in (("x", "sq", "input"), ("w", "s", "input"), ("sq", "a", "input"),
                           ("s", "a", "other"), ("a", "total", "input")):
        g.add_edge(Edge(src, dst, port))
    w._replace_document(g, None)  # noqa: SLF001
    w.doc.set_target("total")
    qtbot.waitUntil(lambda: w.run.current is not None, timeout=RESULT_TIMEOUT_MS)
    w.calculus.check_action.trigger()
    qtbot.waitUntil(lambda: w.calculus.checks is not None, timeout=RESULT_TIMEOUT_MS)
    x_marks, w_marks = w.scene.nodes["x"].marks, w.scene.nodes["w"].marks
    assert [k for _t, k in x_marks] == ["fail"] and [k for _t, k in w_marks] == ["ok"]
    check = {c.leaf: c for c in w.calculus.checks.leaves}
    assert check["x"].max_abs_error == pytest.approx(2.0, rel=1e-3)  # |x - 2x| at x = 2
    assert x_marks[0][0] == f"✗ err {check['x'].max_abs_error:.1g}, rel {check['x'].max_rel_error:.1g}"
    assert "x: ✗ failed" in w.inspector.derivatives.checks.text()
    w.doc.edit_node(Node("w", "tensor", value=[0.3, 0.1, -0.5], requires_grad=True))
    assert w.scene.nodes["x"].marks == [] and w.scene.nodes["w"].marks == []


def test_a_float64_pass_says_so_where_the_canvas_partial_is_not_finite(qtbot, window) -> None:  # noqa: ANN001
    """exp(x) at x = 100 in float32: the canvas's ∂y/∂x is inf (float32 overflows); gradcheck runs
    in float64, where exp(100) = 2.7e43 agrees with its differences. The badge said a plain ✓ and
    the status "autograd agrees … for every leaf" beside the inf."""
    x = torch.tensor(100.0, requires_grad=True)  # float32, as the canvas computes
    (g32,) = torch.autograd.grad(torch.exp(x), [x])
    assert torch.isinf(g32)
    x64 = torch.tensor(100.0, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(torch.exp, (x64,))
    w = window
    g = Graph()
    g.add_node(Node("x", "tensor", value=100.0, requires_grad=True))
    g.add_node(Node("y", "exp"))
    g.add_edge(Edge("x", "y", "input"))
    w._replace_document(g, None)  # noqa: SLF001
    w.doc.set_target("y")
    qtbot.waitUntil(lambda: w.run.current is not None, timeout=RESULT_TIMEOUT_MS)
    w.calculus.check_action.trigger()
    qtbot.waitUntil(lambda: w.calculus.checks is not None, timeout=RESULT_TIMEOUT_MS)
    ((text, kind),) = w.scene.nodes["x"].marks
    assert text.startswith("✓ float64 only, err ") and kind == "info", text
    assert w.message.text == ("gradcheck in float64: ✓ for every leaf, but on the canvas ∂y/∂x holds NaN/Inf: the "
                              "canvas's dtype overflows or rounds there, float64 does not")
    assert w.statusBar().currentMessage().startswith("gradcheck in float64: ✓ for every leaf, but on the canvas")


def test_an_op_tooltip_gives_its_local_derivative_rule(qtbot, window) -> None:
    w = window
    open_with_target(qtbot, w, "01_scalar_partial", "y")
    tip = w.scene.nodes["y"].toolTip()
    assert f"local derivative: {OPS['add'].rule}" in tip


def test_a_scalar_leaf_shows_its_partial_as_a_formula_equal_to_autograd(qtbot, window) -> None:
    w = window
    open_with_target(qtbot, w, "01_scalar_partial", "y")
    d = select(qtbot, w, "x")
    assert d.formula == "4*x"  # y = 2·x² + 3·z, z and the constants substituted by their values
    x = torch.tensor(float(value(w, "x")), requires_grad=True)
    (g,) = torch.autograd.grad(2 * x**2 + 3 * 3.0, [x])
    assert d.formula_value == pytest.approx(float(g))
    assert f"∂y/∂x = 4·x = {float(g):.6g}" in w.inspector.derivatives.diagonal.text()
    assert w.inspector.result_box.caption.text().endswith("· ∂y/∂x = 4·x")  # beside the value


def test_where_the_forward_is_nan_the_panel_gives_no_exact_value_for_a_cancelled_formula(
        qtbot, window, tmp_path: Path) -> None:  # noqa: ANN001
    """exp(log(x)) at x = −2: sympy's formula is 1, but log(−2) is nan, and so is torch's partial."""
    w = window
    g = Graph()
    g.add_node(Node("x", "tensor", value=-2.0, dtype="float64", requires_grad=True))
    g.add_node(Node("l", "log"))
    g.add_node(Node("e", "exp"))
    g.add_edge(Edge("x", "l", "input"))
    g.add_edge(Edge("l", "e", "input"))
    from graph.fileformat import save

    save(g, tmp_path / "explog.json")
    w.open_file(str(tmp_path / "explog.json"))
    w.doc.set_target("e")
    qtbot.waitUntil(lambda: w.run.current is not None and w.run.current.target == "e", timeout=RESULT_TIMEOUT_MS)
    x = torch.tensor(-2.0, dtype=torch.float64, requires_grad=True)
    assert torch.isnan(torch.autograd.grad(torch.exp(torch.log(x)), [x])[0])
    d = select(qtbot, w, "x")
    assert d.formula == "1" and d.formula_value is None and d.formula_torch is None
    text = w.inspector.derivatives.diagonal.text()
    assert "∂e/∂x = 1 (its value: none here: l = nan in the forward pass; torch gives nan)" in text, text
    assert "exact" not in text
    assert w.inspector.result_box.caption.text().endswith("· ∂e/∂x = 1 (no value here)")  # beside nan


def test_a_matrix_leaf_says_why_it_has_no_formula(qtbot, window) -> None:
    w = window
    open_with_target(qtbot, w, "04_small_mlp", "loss")
    d = select(qtbot, w, "b1")
    assert d.formula is None and "not a scalar" in d.no_formula
    text = w.inspector.derivatives.diagonal.text()
    assert ("no formula for ∂loss/∂b1: formulas are for graphs of 0-d tensors, and loss depends on (input batch), "
            "which has shape [4, 3]") in text and "no formula: " not in text, text


def test_an_unsimplified_formula_is_marked_so_in_the_panel_and_the_caption(qtbot, window) -> None:
    """Lesson 8's h3 = sigmoid³(x): its derivative (45 operations) is past SIMPLIFY_MAX_OPS."""
    w = window
    assert w.lesson_dock.open_file(str(EXAMPLES.parent / "lessons" / "08_vanishing_sigmoid.json"))
    w.doc.set_target("h3")
    qtbot.waitUntil(lambda: w.run.current is not None and w.run.current.target == "h3", timeout=RESULT_TIMEOUT_MS)
    d = select(qtbot, w, "x")
    assert d.formula is not None and not d.formula_simplified
    x = torch.tensor(float(value(w, "x")), dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(torch.sigmoid(torch.sigmoid(torch.sigmoid(x))), [x])
    assert d.formula_value == pytest.approx(float(g), rel=1e-5)
    assert "(not simplified: too long)" in w.inspector.derivatives.diagonal.text()
    assert w.inspector.result_box.caption.text().endswith("(not simplified: too long)")
