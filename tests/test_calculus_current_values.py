"""The derivative tasks beyond .grad (autograd_bridge.calculus_tasks, gui.calculus) compute at
the values the canvas shows now. A value edit or a training Step gives the kept compiled graph
new leaf tensors without a new compile (ComputeSession._with_new_values), while its
compiled.graph and make_leaves() still hold the values it was compiled from: Check gradients and
the Derivatives box's formula line used those old values. Also: Differentiate again on a node
that gets no gradient (menu and task), the vector–Jacobian product named as one, and the
Hessian heading saying what computed it.

Expected numbers come from torch code written here, in float64, and torch.autograd.gradcheck.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from helpers import RESULT_TIMEOUT_MS, make_graph

from autograd_bridge.calculus import HESSIAN_BY_DOUBLE_BACKWARD, HESSIAN_BY_FUNC
from autograd_bridge.calculus_tasks import (
    Asked,
    check_gradients,
    differentiate_again,
    node_derivatives,
)
from autograd_bridge.cancel import CancelToken
from autograd_bridge.compute import ComputeSession
from graph.model import Node
from graph.ops import TENSOR
from gui.inspector.derivatives import DerivativesView, second_lines


def f64(value: object) -> torch.Tensor:
    return torch.tensor(value, dtype=torch.float64, requires_grad=True)


def torch_gradcheck(fn, value: object) -> bool:  # noqa: ANN001
    return torch.autograd.gradcheck(fn, (f64(value),), raise_exception=False)


def relu_sum(x: list[float]):  # noqa: ANN201 - a Graph: y = sum(relu(x)), relu's kink at 0
    return make_graph([Node("x", TENSOR, value=x, requires_grad=True), Node("r", "relu"), Node("y", "sum")],
                      [("x", "r", "input"), ("r", "y", "input")])


def cube(x: object):  # noqa: ANN201 - a Graph: y = x**3
    return make_graph([Node("x", TENSOR, value=x, requires_grad=True), Node("y", "pow", attrs={"exponent": 3})],
                      [("x", "y", "input")])


def edited(old, new, target: str) -> ComputeSession:  # noqa: ANN001
    """A session that computed `old` (revision 1), then `new` (revision 2), a value edit of it:
    the kept compiled graph is reused, with new leaves."""
    session = ComputeSession()
    session.compute(old, target, 1)
    session.compute(new, target, 2)
    assert session.compiled_for(new, 2)[0] is session.compiled_for(old, 1)[0]  # no new compile
    return session


# ---- the tasks, after a value edit ----

@pytest.mark.parametrize(("old", "new"), [([0.0, 2.0], [1.0, 2.0]), ([1.0, 2.0], [0.0, 2.0])])
def test_check_gradients_checks_the_values_after_an_edit(old: list[float], new: list[float]) -> None:
    session = edited(relu_sum(old), relu_sum(new), "y")
    got = check_gradients(session, CancelToken(), relu_sum(new), Asked(2, "y"))
    expected = torch_gradcheck(lambda x: torch.relu(x).sum(), new)
    assert expected != torch_gradcheck(lambda x: torch.relu(x).sum(), old)  # the two points differ
    assert got.error is None and [c.leaf for c in got.leaves] == ["x"]
    assert got.passed == expected, (new, got.leaves)


def test_the_formula_line_the_hessian_and_differentiate_again_are_at_the_edited_value() -> None:
    session = edited(cube(1.0), cube(2.0), "y")
    x = f64(2.0)
    (g,) = torch.autograd.grad(x**3, x, create_graph=True)
    (h,) = torch.autograd.grad(g, x)
    d = node_derivatives(session, CancelToken(), cube(2.0), Asked(2, "y"), "x")
    assert d.error is None and d.formula is not None
    assert d.formula_value == pytest.approx(g.item())  # 3·x^2 at x = 2: 12 (was 3, at x = 1)
    assert d.diagonal.item() == pytest.approx(h.item())
    s = differentiate_again(session, CancelToken(), cube(2.0), Asked(2, "y"), "x")
    assert s.error is None
    assert s.gradient.item() == pytest.approx(g.item()) and s.partials["x"].item() == pytest.approx(h.item())


def test_the_jacobian_is_at_the_edited_value() -> None:
    session = edited(cube([1.0, -1.0]), cube([2.0, 3.0]), "y")
    d = node_derivatives(session, CancelToken(), cube([2.0, 3.0]), Asked(2, "y"), "x")
    expected = torch.autograd.functional.jacobian(lambda x: x**3, f64([2.0, 3.0]))
    torch.testing.assert_close(torch.from_numpy(d.jacobian), expected)


# ---- differentiate again: a node without a gradient; a grad-output ----

def through_gt():  # noqa: ANN201 - a Graph: s = sum(gt(x, 0) * w), x reaching s only through gt
    return make_graph([Node("x", TENSOR, value=[0.5, -1.0, 2.0], requires_grad=True),
                       Node("w", TENSOR, value=[1.5, 0.25, -0.5], requires_grad=True),
                       Node("z", TENSOR, value=0.0), Node("m", "gt"), Node("mw", "mul"), Node("s", "sum")],
                      [("x", "m", "input"), ("z", "m", "other"), ("m", "mw", "input"), ("w", "mw", "other"),
                       ("mw", "s", "input")])


def test_differentiate_again_through_a_comparison_names_it_as_the_grad_table_does() -> None:
    s = differentiate_again(ComputeSession(), CancelToken(), through_gt(), Asked(1, "s"), "x")
    assert s.error is not None and "m (gt)" in s.error and "gives no gradient" in s.error, s.error
    assert "allow_unused" not in s.error and "torch failed" not in s.error
    ok = differentiate_again(ComputeSession(), CancelToken(), through_gt(), Asked(1, "s"), "w")
    assert ok.error is None  # ∂s/∂w = gt(x, 0), itself without a gradient: every second derivative 0
    assert not ok.partials["w"].any()
    # x reaches s only through m: grad's table says None for ∂s/∂x, and so for ∂(∂s/∂w)/∂x (it
    # showed torch's zeros for it as if autograd gave them)
    x, w = f64([0.5, -1.0, 2.0]), f64([1.5, 0.25, -0.5])
    (g,) = torch.autograd.grad((torch.gt(x, 0) * w).sum(), w, create_graph=True)
    assert not g.requires_grad  # torch: g has no graph back to x, so no ∂g/∂x
    compiled, _ = ComputeSession().compiled_for(through_gt(), 1)
    why = compiled.run("s").no_grad_reason("x", compiled)
    assert "x" not in ok.partials and ok.no_gradient == {"x": why}
    assert second_lines(ok, str)[-1] == f"∂(∂s/∂w)/∂x: None ({why})"


def vjp_graph():  # noqa: ANN201 - a Graph: y = stack([a*b*a, sin b])
    return make_graph([Node("a", TENSOR, value=0.5, requires_grad=True),
                       Node("b", TENSOR, value=-1.2, requires_grad=True), Node("h", "mul"), Node("ha", "mul"),
                       Node("sb", "sin"), Node("y", "stack", attrs={"num_inputs": 2})],
                      [("a", "h", "input"), ("b", "h", "other"), ("h", "ha", "input"), ("a", "ha", "other"),
                       ("b", "sb", "input"), ("ha", "y", "tensors.0"), ("sb", "y", "tensors.1")])


def test_differentiated_again_with_a_grad_output_is_named_the_vector_jacobian_product() -> None:
    v = [2.0, -3.0]
    s = differentiate_again(ComputeSession(), CancelToken(), vjp_graph(), Asked(1, "y", grad_output=v), "a")
    a, b = f64(0.5), f64(-1.2)
    (vjp,) = torch.autograd.grad(torch.stack([a * b * a, torch.sin(b)]), a, torch.tensor(v, dtype=torch.float64))
    assert s.error is None and s.gradient.item() == pytest.approx(vjp.item())
    first = second_lines(s, str)[0]
    assert first.startswith(f"Differentiated again: the vector–Jacobian product vᵀ·∂y/∂a = {vjp.item():g} "), first
    plain = differentiate_again(ComputeSession(), CancelToken(), cube(2.0), Asked(1, "y"), "x")
    assert second_lines(plain, str)[0].startswith("Differentiated again: the gradient ∂y/∂x = 12 ")


# ---- the Hessian heading ----

def test_the_hessian_heading_says_what_computed_it(qtbot) -> None:  # noqa: ANN001
    graph = make_graph([Node("x", TENSOR, value=[1.0, 2.0], requires_grad=True),
                        Node("h", "pow", attrs={"exponent": 2}), Node("q", "pow", attrs={"exponent": 2}),
                        Node("s", "sum")], [("x", "h", "input"), ("h", "q", "input"), ("q", "s", "input")])
    view = DerivativesView()
    qtbot.addWidget(view)
    for node, method, expected in (("h", HESSIAN_BY_DOUBLE_BACKWARD, torch.eye(2, dtype=torch.float64) * 2),
                                   ("x", HESSIAN_BY_FUNC, torch.diag(12 * f64([1.0, 2.0]).detach() ** 2))):
        d = node_derivatives(ComputeSession(), CancelToken(), graph, Asked(1, "s"), node)
        assert d.error is None and d.hessian_method == method
        torch.testing.assert_close(torch.from_numpy(d.hessian), expected)  # ∂²Σh²/∂h² = 2I; ∂²Σx⁴/∂x² = 12x²
        view.show_node(d, str)
        how = {"h": "double backward: ∂s/∂h with create_graph, then one backward pass per element of h",
               "x": method}[node]  # named by the graph's nodes: a fixed "∂y/∂x … of x" named others
        assert view.note.text() == f"Hessian ∂²s/∂{node}²: second derivatives of s (by {how})"


def test_the_hessian_under_a_grad_output_is_of_the_vector_jacobian_product(qtbot) -> None:  # noqa: ANN001
    """A one-element target with a grad-output v: the canvas shows vᵀ·∂s/∂x, so the panel's
    Hessian is ∂²(vᵀ·s)/∂x², as the CLI's is; it was ∂²s/∂x² (v dropped), 3 times too small here."""
    graph = make_graph([Node("x", TENSOR, value=[1.0, 2.0], requires_grad=True),
                        Node("c", "pow", attrs={"exponent": 3}), Node("s", "sum", attrs={"dim": 0, "keepdim": True})],
                       [("x", "c", "input"), ("c", "s", "input")])
    asked = Asked(1, "s", grad_output=[3.0])
    d = node_derivatives(ComputeSession(), CancelToken(), graph, asked, "x")
    v = torch.tensor([3.0], dtype=torch.float64)
    expected = torch.func.hessian(lambda x: (v * (x**3).sum(0, keepdim=True)).sum())(f64([1.0, 2.0]).detach())
    assert d.error is None
    torch.testing.assert_close(torch.from_numpy(d.hessian), expected)  # 18x on the diagonal: [18, 36]
    assert d.formula is None  # a formula would be of ∂s/∂x, not of what the canvas shows
    view = DerivativesView()
    qtbot.addWidget(view)
    view.show_node(d, str)
    assert view.note.text() == f"Hessian ∂²(vᵀ·s)/∂x²: second derivatives of (vᵀ·s) (by {HESSIAN_BY_FUNC})"
    assert view.diagonal.text().startswith("∂²(vᵀ·s)/∂x² (the diagonal, shown on the node) = [18, 36]")
    assert view.cell_text(1, 1) == "∂²(vᵀ·s)/∂x[1]² = 36"


# ---- in the window, both compute modes ----

@pytest.fixture(params=["thread", "process"])
def mode(request, monkeypatch) -> str:  # noqa: ANN001
    monkeypatch.setenv("GRADCANVAS_COMPUTE", request.param)
    return request.param


def _current(qtbot, w, target: str) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: w.run.current is not None and w.run.current.target == target
                    and w.run.current.revision == w.doc.revision and not w.computer.busy, timeout=RESULT_TIMEOUT_MS)


def _open(qtbot, w, tmp_path, graph, target: str) -> None:  # noqa: ANN001
    from graph.fileformat import save

    save(graph, tmp_path / "g.json")
    w.open_file(str(tmp_path / "g.json"))
    w.doc.set_target(target)
    _current(qtbot, w, target)


def _check(qtbot, w) -> object:  # noqa: ANN001 - a GradcheckData
    w.calculus.checks = None
    w.calculus.check_gradients()
    qtbot.waitUntil(lambda: w.calculus.checks is not None, timeout=RESULT_TIMEOUT_MS)
    return w.calculus.checks


def test_check_gradients_in_the_window_after_a_value_edit_and_a_step(qtbot, mode, window, tmp_path) -> None:  # noqa: ANN001, ARG001
    w = window
    relu = lambda x: torch.relu(x).sum()  # noqa: E731
    _open(qtbot, w, tmp_path, relu_sum([0.0, 2.0]), "y")
    assert not _check(qtbot, w).passed and not torch_gradcheck(relu, [0.0, 2.0])  # relu's kink
    w.doc.edit_node(dataclasses.replace(w.doc.graph.nodes["x"], value=[0.5, 2.0]))
    _current(qtbot, w, "y")
    assert _check(qtbot, w).passed and torch_gradcheck(relu, [0.5, 2.0])
    assert w.scene.nodes["x"].marks[0][1] == "ok"
    # SGD at lr 0.5: x = [0.5, 2] - 0.5 * [1, 1] = [0, 1.5], back on the kink
    w.training.optimiser_box.setCurrentText("SGD")
    w.training.lr_box.setValue(0.5)
    w.training.step_action.trigger()
    qtbot.waitUntil(lambda: w.doc.graph.nodes["x"].value == [0.0, 1.5], timeout=RESULT_TIMEOUT_MS)
    _current(qtbot, w, "y")
    assert not _check(qtbot, w).passed and not torch_gradcheck(relu, [0.0, 1.5])
    assert w.scene.nodes["x"].marks[0][1] == "fail"


def test_the_formula_line_in_the_window_after_a_value_edit(qtbot, mode, window, tmp_path) -> None:  # noqa: ANN001, ARG001
    w = window
    _open(qtbot, w, tmp_path, cube(1.0), "y")
    w.doc.edit_node(dataclasses.replace(w.doc.graph.nodes["x"], value=2.0))
    _current(qtbot, w, "y")
    w.scene.clearSelection()
    w.scene.nodes["x"].setSelected(True)
    calc = w.calculus
    qtbot.waitUntil(lambda: calc.node_result is not None and calc.is_current(calc.node_result),
                    timeout=RESULT_TIMEOUT_MS)
    x = f64(2.0)
    (g,) = torch.autograd.grad(x**3, x)
    lines = w.inspector.derivatives.diagonal.text().split("\n")
    assert lines[1] == f"∂y/∂x = 3·x^2 = {g.item():g}", lines


def _menu(w, node: str) -> list[str]:  # noqa: ANN001
    menu = w.scene.node_menu(node)  # held: its actions go with it
    return [a.text() for a in menu.actions()]


def test_the_node_menu_offers_differentiate_again_where_the_button_is_enabled(qtbot, window, tmp_path) -> None:  # noqa: ANN001
    w = window
    _open(qtbot, w, tmp_path, through_gt(), "s")
    for node, offered in (("x", False), ("w", True), ("s", False)):
        texts = _menu(w, node)
        assert any("Differentiate again" in t for t in texts) == offered, (node, texts)
        w.scene.clearSelection()
        w.scene.nodes[node].setSelected(True)
        assert w.inspector.derivatives.again.isEnabled() == offered, node
    assert "∂² Differentiate again: ∂s/∂w as the target" in _menu(w, "w")
    w.grad_output_edit.setText("2.0")
    w._on_grad_output_edited(2.0)  # noqa: SLF001 - as the box's edited signal does
    _current(qtbot, w, "s")
    assert "∂² Differentiate again: vᵀ·∂s/∂w as the target" in _menu(w, "w")
