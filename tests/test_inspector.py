"""The inspector dock, offscreen with pytest-qt: edits go through the undo stack, bad input is
refused in the form, results and slices are drawn."""

from __future__ import annotations

import dataclasses
import html
import math

import numpy as np
import pyqtgraph as pg
import pytest
from helpers import RESULT_TIMEOUT_MS, delete_at_teardown, row_error, type_and_enter
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QLabel, QLineEdit, QSpinBox

from autograd_bridge.compute import ComputeResult, NodeView, SliceResult
from graph.model import Edge, Graph, Node
from gui.document import Document
from gui.inspector import NO_RESULT, TOO_LARGE, Inspector, default_init, init_as_literal
from gui.inspector.heatmap import MatrixView
from gui.inspector.plots import HOVER_HINT, NO_TARGET


def _graph() -> Graph:
    g = Graph()
    g.add_node(Node("x", "tensor", value=2.0, requires_grad=True))
    g.add_node(Node("v", "tensor", value=[1.0, 2.0, 3.0], requires_grad=True))
    g.add_node(Node("M", "tensor", value=[[1.0, 2.0], [3.0, 4.0]]))
    g.add_node(Node("p", "pow", attrs={"exponent": 2}))
    g.add_node(Node("r", "reshape", attrs={"shape": [-1]}))
    g.add_node(Node("t", "transpose", attrs={"dim0": 0, "dim1": 1}))
    g.add_node(Node("s", "sum"))
    g.add_node(Node("y", "add"))
    for _e in [Edge("x", "p", "input"), Edge("M", "r", "input"), Edge("M", "t", "input"),
               Edge("v", "s", "input"), Edge("p", "y", "input"), Edge("s", "y", "other")]:
        g.add_edge(_e)
    return g


@pytest.fixture
def doc() -> Document:
    d = delete_at_teardown(Document())
    d.reset(_graph())
    return d


@pytest.fixture
def insp(qtbot, doc: Document) -> Inspector:
    w = Inspector(doc)
    qtbot.addWidget(w)
    w.resize(460, 900)
    w.show()
    return w


def _view(value, grad=None, reason=None, leaf=True, text="", grad_text=None) -> NodeView:
    value = np.asarray(value, dtype=float)
    grad = None if grad is None else np.asarray(grad, dtype=float)
    return NodeView(tuple(value.shape), leaf, text or str(value.tolist()),
                    grad_text if grad_text is not None else (None if grad is None else str(grad.tolist())),
                    reason, value, grad)


# ---- tensor edits ----

def test_value_edit_is_one_undo_step_and_undo_restores(qtbot, doc: Document, insp: Inspector) -> None:
    insp.set_node("v")
    edit = insp.rows["value"].editor
    assert edit.text() == "[1.0, 2.0, 3.0]"
    type_and_enter(qtbot, edit, "[4, 5.5, -6]")
    assert doc.undo_stack.count() == 1
    assert doc.graph.nodes["v"].value == [4, 5.5, -6]
    assert insp.rows["value"].hint.text() == "shape (3)"
    doc.undo_stack.undo()
    assert doc.graph.nodes["v"].value == [1.0, 2.0, 3.0]
    assert insp.rows["value"].editor.text() == "[1.0, 2.0, 3.0]"  # the form followed the model
    assert doc.undo_stack.count() == 1  # the refresh pushed nothing
    doc.undo_stack.redo()
    assert insp.rows["value"].editor.text() == "[4, 5.5, -6]"


def test_value_edit_can_change_shape(qtbot, doc: Document, insp: Inspector) -> None:
    insp.set_node("x")
    type_and_enter(qtbot, insp.rows["value"].editor, "[[1, 2], [3, 4]]")
    assert doc.graph.nodes["x"].value == [[1, 2], [3, 4]]
    assert insp.rows["value"].hint.text() == "shape (2, 2)"


@pytest.mark.parametrize("text", ["[1, [2]]", "nan", "NaN", "Infinity", "abc", "[1, 2", "1e400",
                                  "true", '"3"', "[[1, 2], [3]]", "{}", "", "[" * 5000])
def test_invalid_value_pushes_nothing_and_says_why(qtbot, doc: Document, insp: Inspector, text: str) -> None:
    insp.set_node("v")
    edit = insp.rows["value"].editor
    edit.setText(text)
    edit.editingFinished.emit()
    assert doc.undo_stack.count() == 0
    assert doc.graph.nodes["v"].value == [1.0, 2.0, 3.0]
    assert row_error(insp, "value")
    assert edit.text() == text  # left for the person to fix
    # A good value afterwards is accepted and clears the message.
    type_and_enter(qtbot, edit, "7")
    assert doc.graph.nodes["v"].value == 7
    assert row_error(insp, "value") == ""


def test_same_value_twice_pushes_once(qtbot, doc: Document, insp: Inspector) -> None:
    insp.set_node("x")
    edit = insp.rows["value"].editor
    type_and_enter(qtbot, edit, "3.5")
    edit.editingFinished.emit()  # focus leaving after Enter fires it again
    assert doc.undo_stack.count() == 1


def test_requires_grad_toggle(qtbot, doc: Document, insp: Inspector) -> None:
    insp.set_node("x")
    box = insp.rows["requires_grad"].editor
    assert isinstance(box, QCheckBox) and box.isChecked()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert doc.graph.nodes["x"].requires_grad is False
    assert doc.undo_stack.count() == 1
    assert doc.undo_stack.text(0) == "Edit requires_grad x"
    doc.undo_stack.undo()
    assert doc.graph.nodes["x"].requires_grad is True
    assert box.isChecked()
    assert doc.undo_stack.count() == 1


def test_dtype_and_label(qtbot, doc: Document, insp: Inspector) -> None:
    insp.set_node("M")
    combo = insp.rows["dtype"].editor
    assert isinstance(combo, QComboBox)
    combo.setCurrentText("float64")
    assert doc.graph.nodes["M"].dtype == "float64"
    type_and_enter(qtbot, insp.rows["label"].editor, "weights")
    assert doc.graph.nodes["M"].label == "weights"
    type_and_enter(qtbot, insp.rows["label"].editor, "")
    assert doc.graph.nodes["M"].label is None
    assert doc.undo_stack.count() == 3


@pytest.mark.parametrize(("dtype", "value", "eye"), [
    ("int64", [[1, 2], [3, 4]], [[1, 0], [0, 1]]),
    ("bool", [[True, False], [False, True]], [[True, False], [False, True]]),
])
def test_an_int64_or_bool_leaf_switches_to_init_and_back_keeping_its_dtype(
        qtbot, doc: Document, insp: Inspector, dtype: str, value: list, eye: list) -> None:  # noqa: ANN001
    doc.add_node(Node("k", "tensor", value=value, dtype=dtype))
    insp.set_node("k")
    insp.rows["mode"].editor.setCurrentIndex(1)  # randn makes floats only: zeros
    node = doc.graph.nodes["k"]
    assert node.value is None and node.init["fn"] == "zeros" and node.dtype == dtype
    insp.rows["init.fn"].editor.setCurrentText("eye")
    insp.rows["mode"].editor.setCurrentIndex(0)
    node = doc.graph.nodes["k"]
    assert node.value == eye and node.dtype == dtype
    assert all(type(v) is type(eye[0][0]) for row in node.value for v in row)  # ints or bools, not floats


def test_switch_to_init_and_back(qtbot, doc: Document, insp: Inspector) -> None:
    insp.set_node("M")
    insp.rows["mode"].editor.setCurrentIndex(1)
    node = doc.graph.nodes["M"]
    assert node.value is None and node.init == {"fn": "randn", "shape": [2, 2]}
    assert "init.seed" in insp.rows and "value" not in insp.rows
    insp.rows["mode"].editor.setCurrentIndex(0)  # randn has no values without torch: zeros
    assert doc.graph.nodes["M"].value == [[0.0, 0.0], [0.0, 0.0]]
    assert "became zeros" in insp.rows["value"].hint.text()
    doc.undo_stack.undo()
    insp.rows["init.fn"].editor.setCurrentText("eye")
    assert doc.graph.nodes["M"].init == {"fn": "eye", "shape": [2, 2]}
    type_and_enter(qtbot, insp.rows["init.shape"].editor, "[3]")
    assert doc.graph.nodes["M"].init == {"fn": "eye", "shape": [3]}
    type_and_enter(qtbot, insp.rows["init.shape"].editor, "[2, x]")
    assert row_error(insp, "init.shape")
    assert doc.graph.nodes["M"].init == {"fn": "eye", "shape": [3]}
    insp.rows["mode"].editor.setCurrentIndex(0)
    assert doc.graph.nodes["M"].value == [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    assert doc.undo_stack.count() == 4
    for _ in range(4):
        doc.undo_stack.undo()
    assert doc.graph.nodes["M"].value == [[1.0, 2.0], [3.0, 4.0]]
    assert insp.rows["value"].editor.text() == "[[1.0, 2.0], [3.0, 4.0]]"


def test_too_big_init_cannot_become_a_literal(qtbot, doc: Document, insp: Inspector) -> None:
    insp.set_node("M")
    insp.rows["mode"].editor.setCurrentIndex(1)
    type_and_enter(qtbot, insp.rows["init.shape"].editor, "[1000, 1000]")
    assert doc.graph.nodes["M"].init["shape"] == [1000, 1000]
    n = doc.undo_stack.count()
    insp.rows["mode"].editor.setCurrentIndex(0)
    assert doc.undo_stack.count() == n
    assert doc.graph.nodes["M"].init is not None
    assert insp.rows["mode"].editor.currentIndex() == 1  # the combo shows the model again
    assert "at most" in row_error(insp, "mode")


def test_init_literals() -> None:
    assert init_as_literal({"fn": "arange", "end": 4, "shape": [2, 2]}) == ([[0.0, 1.0], [2.0, 3.0]], True)
    assert init_as_literal({"fn": "linspace", "start": 0, "end": 1, "steps": 3}) == ([0.0, 0.5, 1.0], True)
    assert init_as_literal({"fn": "full", "shape": [], "fill_value": 2}) == (2.0, True)
    assert init_as_literal({"fn": "randn", "shape": [2]}) == ([0.0, 0.0], False)
    assert default_init("arange", (2, 3)) == {"fn": "arange", "end": 6, "shape": [2, 3]}


# ---- op attributes ----

def test_pow_exponent(qtbot, doc: Document, insp: Inspector) -> None:
    insp.set_node("p")
    edit = insp.rows["attr.exponent"].editor
    assert isinstance(edit, QLineEdit) and edit.text() == "2"
    type_and_enter(qtbot, edit, "3")
    assert doc.graph.nodes["p"].attrs == {"exponent": 3}
    type_and_enter(qtbot, edit, "0.5")
    assert doc.graph.nodes["p"].attrs == {"exponent": 0.5}
    for bad in ("inf", "nan", "two", "1e999"):  # "" is null: the exponent port (a tensor exponent)
        type_and_enter(qtbot, edit, bad)
        assert row_error(insp, "attr.exponent"), bad
    assert doc.graph.nodes["p"].attrs == {"exponent": 0.5}
    assert doc.undo_stack.count() == 2
    assert doc.undo_stack.text(1) == "Edit exponent p"
    info = insp.rows["op"].editor
    assert isinstance(info, QLabel) and "exponent · input^(exponent−1)" in info.text()


def test_reshape_shape(qtbot, doc: Document, insp: Inspector) -> None:
    insp.set_node("r")
    edit = insp.rows["attr.shape"].editor
    assert edit.text() == "[-1]"
    type_and_enter(qtbot, edit, "[2, 2]")
    assert doc.graph.nodes["r"].attrs == {"shape": [2, 2]}
    for bad in ("[2, x]", "[1.5]", "3", "null", "[true]"):
        type_and_enter(qtbot, edit, bad)
        assert row_error(insp, "attr.shape"), bad
    assert doc.graph.nodes["r"].attrs == {"shape": [2, 2]}
    assert doc.undo_stack.count() == 1


def test_int_bool_dims_attrs(qtbot, doc: Document, insp: Inspector) -> None:
    insp.set_node("t")
    spin = insp.rows["attr.dim1"].editor
    assert isinstance(spin, QSpinBox) and spin.value() == 1
    assert spin.minimum() == -1_000_000 and spin.maximum() == 1_000_000
    spin.setValue(-2)
    assert doc.graph.nodes["t"].attrs == {"dim0": 0, "dim1": -2}
    insp.set_node("s")
    dims = insp.rows["attr.dim"].editor
    assert dims.text() == "null"
    type_and_enter(qtbot, dims, "[0]")
    assert doc.graph.nodes["s"].attrs == {"dim": [0]}
    insp.rows["attr.keepdim"].editor.setChecked(True)
    assert doc.graph.nodes["s"].attrs == {"dim": [0], "keepdim": True}
    type_and_enter(qtbot, dims, "null")  # back to the default: not stored
    assert doc.graph.nodes["s"].attrs == {"keepdim": True}
    assert doc.undo_stack.count() == 4


# ---- rename ----

def test_rename(qtbot, doc: Document, insp: Inspector) -> None:
    doc.set_target("x")
    insp.activateWindow()
    insp.set_node("x")
    insp.rows["id"].editor.setFocus()
    qtbot.waitUntil(insp.rows["id"].editor.hasFocus, timeout=2000)
    type_and_enter(qtbot, insp.rows["id"].editor, "x2")
    assert doc.target == "x2"
    assert row_error(insp, "id") == ""
    assert "x2" in doc.graph.nodes and "x" not in doc.graph.nodes
    assert Edge("x2", "p", "input") in doc.graph.edges
    assert insp.node_id == "x2"
    assert insp.rows["id"].editor.text() == "x2"
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert "x" in doc.graph.nodes and "x2" not in doc.graph.nodes


@pytest.mark.parametrize("bad", ["", "v", "a\tb", "a\nb"])
def test_refused_rename(qtbot, doc: Document, insp: Inspector, bad: str) -> None:
    insp.set_node("x")
    edit = insp.rows["id"].editor
    edit.setText(bad)
    edit.editingFinished.emit()
    assert doc.undo_stack.count() == 0
    assert list(doc.graph.nodes) == list(_graph().nodes)
    assert row_error(insp, "id")
    assert insp.node_id == "x"


# ---- following the document ----

def test_clears_when_node_removed_or_graph_reset(doc: Document, insp: Inspector) -> None:
    insp.set_node("v")
    doc.remove(["v"])
    assert insp.node_id is None and not insp.rows
    assert not insp.form_box.isVisibleTo(insp)
    doc.undo_stack.undo()
    insp.set_node("M")
    doc.reset(_graph())
    assert insp.node_id is None
    insp.set_node("nope")
    assert insp.node_id is None


def test_other_node_changes_leave_the_form_alone(qtbot, doc: Document, insp: Inspector) -> None:
    insp.set_node("x")
    edit = insp.rows["value"].editor
    edit.setText("[1, [2]]")
    edit.editingFinished.emit()
    node = doc.graph.nodes["v"]
    node2 = Node(node.id, node.op, value=[9.0], requires_grad=True)
    doc.edit_node(node2, "Edit value")
    assert edit.text() == "[1, [2]]" and row_error(insp, "value")


# ---- results ----

def _result(doc: Document, nodes: dict, **kw) -> ComputeResult:
    return ComputeResult(doc.revision, kw.pop("target", "y"), nodes, **kw)


def test_no_result_and_stale_result(doc: Document, insp: Inspector) -> None:
    insp.set_node("x")
    insp.show_result(None)
    assert insp.result_note.text() == NO_RESULT
    assert not insp.panels.isVisibleTo(insp)
    insp.show_result(ComputeResult(doc.revision - 1, "y", {"x": _view(2.0, 4.0)}))
    assert insp.result_note.text() == NO_RESULT


def test_scalar_result(doc: Document, insp: Inspector) -> None:
    insp.set_node("x")
    insp.show_result(_result(doc, {"x": _view(2.0, 4.0 / 3.0)}))
    assert insp.panels.isVisibleTo(insp)
    assert insp.value_panel.kind == "scalar" and insp.grad_panel.kind == "scalar"
    assert insp.value_panel.body.text() == "2"
    assert insp.grad_panel.body.text() == "1.333"
    assert insp.grad_panel.title.text() == "∂y/∂x"


def test_vector_result(doc: Document, insp: Inspector) -> None:
    insp.set_node("v")
    insp.show_result(_result(doc, {"v": _view([1.0, -2.0, 3.0], [0.5, 0.5, 0.5])}))
    assert insp.value_panel.kind == "bars"
    heights = insp.value_panel.bars.opts["height"]
    assert np.array_equal(heights, [1.0, -2.0, 3.0])
    assert insp.grad_panel.kind == "bars"
    insp.show_result(_result(doc, {"v": _view(np.arange(200.0), np.ones(200))}))
    assert insp.value_panel.kind == "line"
    curve = insp.value_panel.plot_item.listDataItems()[0]
    assert np.array_equal(curve.getData()[1], np.arange(200.0))


def test_matrix_result(doc: Document, insp: Inspector) -> None:
    insp.set_node("M")
    m = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    insp.show_result(_result(doc, {"M": _view(m, m - 3.5)}))
    for panel in (insp.value_panel, insp.grad_panel):
        assert panel.kind == "heatmap" and isinstance(panel.heatmap, MatrixView)
    assert np.array_equal(insp.value_panel.heatmap.array, m)
    assert insp.value_panel.heatmap.levels == (1.0, 6.0)
    assert insp.grad_panel.heatmap.levels == (-2.5, 2.5)  # gradients: centred on zero
    assert insp.value_panel.heatmap.scale_name == "value of M"  # each colour bar says what it scales
    assert insp.grad_panel.heatmap.scale_name == "∂y/∂M"


def test_higher_dim_flattened(doc: Document, insp: Inspector) -> None:
    insp.set_node("M")
    a = np.arange(24.0).reshape(2, 3, 4)
    insp.show_result(_result(doc, {"M": _view(a, a)}))
    assert insp.value_panel.kind == "line"
    assert "flattened" in insp.value_panel.caption.text()


def test_no_grad_too_large_and_error(doc: Document, insp: Inspector) -> None:
    insp.set_node("M")
    view = NodeView((2000, 2000), True, "[2000, 2000] tensor, norm 3", None, "requires_grad is off",
                    None, None)
    insp.show_result(_result(doc, {"M": view}))
    assert insp.value_panel.kind == "text" and insp.value_panel.body.text() == TOO_LARGE
    assert insp.grad_panel.body.text() == "no grad: requires_grad is off"
    insp.show_result(_result(doc, {}, error="shape '[4, -1]' is invalid", error_nodes=("M",)))
    assert insp.result_note.text() == "shape '[4, -1]' is invalid"
    assert not insp.panels.isVisibleTo(insp)


def test_nan_and_odd_arrays_do_not_raise(doc: Document, insp: Inspector) -> None:
    insp.set_node("M")
    for value in ([[np.nan, 1.0], [np.inf, -np.inf]], [np.nan, 1.0], np.zeros((0, 3)), np.nan,
                  [[5.0, 5.0], [5.0, 5.0]]):
        insp.show_result(_result(doc, {"M": _view(value, value)}))
        assert insp.value_panel.kind in ("heatmap", "bars", "text", "scalar")


# ---- slice ----

def _slice(doc: Document, **kw) -> SliceResult:
    xs = [0.5 + 3.0 * i / 40 for i in range(41)]
    s = dict(revision=doc.revision, target="y", leaf="x", xs=xs, ys=[x * x + 6.0 for x in xs],
             x0=2.0, y0=10.0, slope=4.0)
    s.update(kw)
    return SliceResult(**s)


def test_slice_requested_and_drawn(qtbot, doc: Document, insp: Inspector) -> None:
    doc.set_target("y")
    insp.set_node("x")
    with qtbot.waitSignal(insp.sliceRequested, timeout=1000) as blocker:
        insp.show_result(_result(doc, {"x": _view(2.0, 4.0), "y": _view(10.0, 1.0)}))
    assert blocker.args == ["x"]
    with qtbot.assertNotEmitted(insp.sliceRequested):  # same revision: asked once
        insp.show_result(_result(doc, {"x": _view(2.0, 4.0), "y": _view(10.0, 1.0)}))
    assert insp.slice_box.isVisibleTo(insp) and not insp.slice_plot.isVisibleTo(insp)
    insp.show_slice(_slice(doc))
    assert insp.slice_plot.isVisibleTo(insp)
    curves = insp.slice_plot.getPlotItem().listDataItems()
    curves = [c for c in curves if isinstance(c, pg.PlotDataItem)]
    assert [c.name() for c in curves] == ["target y", "tangent, slope = ∂y/∂x = 4"]
    xs, tangent = curves[1].getData()
    assert np.allclose(tangent, 10.0 + 4.0 * (xs - 2.0))
    legend = insp.slice_box.legend
    assert legend.isVisibleTo(insp) and all(html.escape(c.name()) in legend.text() for c in curves)
    # A stale slice (older revision) is ignored; a second answer replaces the curves.
    insp.show_slice(_slice(doc, revision=doc.revision - 1, slope=99.0))
    assert "= 4" in insp.slice_note.text()
    insp.show_slice(_slice(doc, slope=5.0))
    assert len([c for c in insp.slice_plot.getPlotItem().listDataItems()
                if isinstance(c, pg.PlotDataItem)]) == 2


def test_a_slice_whose_target_is_nan_everywhere_draws_without_numpy_warnings(qtbot, doc: Document,  # noqa: ANN001
                                                                             insp: Inspector) -> None:
    """exp(log(x)) at x < 0: every y nan, the point at (x0, nan) and the tangent's slope nan. The
    point was drawn anyway, and numpy's "All-NaN slice encountered" went to stderr at each
    repaint; the rest is drawn and says nan."""
    import warnings

    doc.set_target("y")
    insp.set_node("x")
    insp.show_result(_result(doc, {"x": _view(2.0, 4.0), "y": _view(10.0, 1.0)}))
    xs = [-3.0 + i / 20 for i in range(41)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        insp.show_slice(_slice(doc, xs=xs, ys=[math.nan] * 41, x0=-2.0, y0=math.nan, slope=math.nan))
        insp.slice_plot.grab()  # painted: bounds computed
    assert insp.slice_plot.isVisibleTo(insp) and "is nan" in insp.slice_note.text()


def test_a_slice_of_tiny_changes_is_ticked_in_its_own_units(qtbot, doc: Document, insp: Inspector) -> None:
    """Values 0.659 → 0.6592 were ticked 659.00-659.20 with "(x0.001)" making the axis title
    too long to show; ticks now read as the values, the axes named as in ∂y/∂x."""
    doc.set_target("y")
    insp.set_node("x")
    insp.show_result(_result(doc, {"x": _view(1.0, 1e-4), "y": _view(0.659, 1.0)}))
    xs = [0.5 + i / 40 for i in range(41)]
    insp.show_slice(_slice(doc, xs=xs, ys=[0.659 + 1e-4 * (x - 1.0) for x in xs], x0=1.0, y0=0.659, slope=1e-4))
    left = insp.slice_plot.getPlotItem().getAxis("left")
    assert left.autoSIPrefixScale == 1.0 and left.labelText == "y"
    ticks = [float(t) for t in left.tickStrings([0.65895, 0.659, 0.65905], 1.0, 5e-5)]
    assert ticks == pytest.approx([0.65895, 0.659, 0.65905])


def test_slice_not_requested_where_it_does_not_apply(qtbot, doc: Document, insp: Inspector) -> None:
    doc.set_target("y")
    result = _result(doc, {"x": _view(2.0, 4.0), "v": _view([1.0, 2.0, 3.0], [1.0, 1.0, 1.0]),
                           "M": _view([[1.0]]), "p": _view(4.0, 1.0)})
    with qtbot.assertNotEmitted(insp.sliceRequested):
        for node in ("v", "M", "p"):  # a vector leaf, a leaf without grad, an op node
            insp.set_node(node)
            insp.show_result(result)
            assert not insp.slice_box.isVisibleTo(insp)
        doc.set_target(None)
        insp.set_node("x")
        insp.show_result(result)
        assert not insp.slice_box.isVisibleTo(insp)
    insp.show_slice(None)  # nothing asked: nothing happens, nothing raises


def test_render_pngs(qtbot, doc: Document, insp: Inspector, tmp_path) -> None:
    insp.set_node("M")
    m = np.array([[1.0, 2.0], [3.0, 4.0]])
    insp.show_result(_result(doc, {"M": _view(m, m.T - 2.5)}))
    doc.set_target("y")
    insp.set_node("x")
    insp.show_result(_result(doc, {"x": _view(2.0, 4.0), "y": _view(10.0, 1.0)}))
    insp.show_slice(_slice(doc))
    image = insp.grab()
    assert image.save(str(tmp_path / "inspector_slice.png"))
    assert image.width() >= 320


def test_typed_text_never_lands_on_another_node(qtbot, doc: Document, insp: Inspector) -> None:
    """Text typed but not entered belongs to the node it was typed for (as on leaving the field),
    and hiding the old form (which fires editingFinished on its focused editor) edits nothing else."""
    insp.activateWindow()
    insp.set_node("v")
    edit = insp.rows["value"].editor
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=2000)
    edit.setText("[7, 8]")
    insp.set_node("M")
    assert doc.graph.nodes["M"].value == [[1.0, 2.0], [3.0, 4.0]]
    assert doc.graph.nodes["v"].value == [7, 8]
    assert doc.undo_stack.count() == 1
    edit = insp.rows["value"].editor
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=2000)
    edit.setText("[[1, 2], [3]]")  # refused: M keeps its value, x is not touched
    insp.set_node("x")
    assert doc.graph.nodes["M"].value == [[1.0, 2.0], [3.0, 4.0]]
    assert doc.graph.nodes["x"].value == 2.0
    assert doc.undo_stack.count() == 1


def _sampled_2000x2000(side: int) -> tuple[np.ndarray, NodeView]:
    """A [2000, 2000] tensor too large to send: only a side x side strided sample (its value;
    the gradient is its negative)."""
    sample = np.arange(side * side, dtype=np.float64).reshape(side, side)
    return sample, NodeView((2000, 2000), True, "[2000, 2000] norm 3", "[2000, 2000] norm 1", None,
                            None, None, value_preview=sample, grad_preview=-sample)


def test_a_tensor_too_large_to_send_is_plotted_from_its_strided_sample(doc: Document, insp: Inspector) -> None:
    insp.set_node("M")
    sample, view = _sampled_2000x2000(64)
    insp.show_result(_result(doc, {"M": view}))
    assert insp.value_panel.kind == "heatmap" and insp.grad_panel.kind == "heatmap"
    img = insp.value_panel.heatmap.array
    assert img.size == sample.size and img.max() == sample.max() and img.min() == sample.min()
    assert "strided sample" in insp.value_panel.caption.text()


# ---- matrices: sized to their data, entries, hover, titles ----

def _settle() -> None:
    """Let posted layout requests run (a new panel's geometry is set from the event loop)."""
    for _ in range(3):
        QApplication.processEvents()


def _matrix(insp: Inspector, doc: Document, value, grad, **kw) -> tuple[MatrixView, MatrixView]:
    insp.set_node("M")
    insp.show_result(_result(doc, {"M": _view(value, grad)}, **kw))
    _settle()
    return insp.value_panel.heatmap, insp.grad_panel.heatmap


def _cell_centre(view: MatrixView, i: int, j: int) -> QPoint:
    return view.cell_rect(i, j).center().toPoint()


def test_hover_reports_row_column_and_both_entries(qtbot, doc: Document, insp: Inspector) -> None:
    m = np.arange(12.0).reshape(3, 4) / 7.0 - 0.5
    g = np.cos(m) * 3.0
    value, grad = _matrix(insp, doc, m, g)
    hover = insp.result_box.hover
    assert hover.isVisibleTo(insp) and hover.text() == HOVER_HINT
    for view, (i, j) in ((value, (1, 2)), (grad, (2, 0)), (value, (0, 3))):
        QTest.mouseMove(view, _cell_centre(view, i, j))
        assert view.cell_at(view.cell_rect(i, j).center()) == (i, j)
        assert hover.text() == f"row {i}, column {j} · value of M = {m[i, j]:.6g} · ∂y/∂M = {g[i, j]:.6g}"
        assert value.highlight == grad.highlight == (i, j)  # the same entry outlined in both
    QTest.mouseMove(value, QPoint(1, value.height() - 2))  # off the grid (the colour bar)
    assert hover.text() == HOVER_HINT and value.highlight is None


def test_hover_on_a_strided_sample_names_the_entry_of_the_whole_tensor(doc: Document, insp: Inspector) -> None:
    insp.set_node("M")
    sample, view = _sampled_2000x2000(63)
    insp.show_result(_result(doc, {"M": view}))
    insp.result_box.show_hover((2, 5))
    text = insp.result_box.hover.text()
    assert text.startswith("row 64, column 160 (sample 2, 5 of a strided sample)")  # every 32nd row, col
    assert f"value of M = {sample[2, 5]:.6g}" in text


def test_heatmap_size_follows_the_matrix_shape(doc: Document, insp: Inspector) -> None:
    sizes = {}
    for shape in [(2, 6), (6, 2), (4, 4), (1, 20), (20, 1), (16, 16), (100, 3), (3, 40)]:
        a = np.linspace(-1.0, 1.0, shape[0] * shape[1]).reshape(shape)
        value, grad = _matrix(insp, doc, a, a)
        assert value.height() == value.heightForWidth(value.width())
        grid = value.grid_rect()
        cw, ch = grid.width() / shape[1], grid.height() / shape[0]
        if 22 < grid.height() < 300:  # square-ish unless a bound on the height is hit
            assert 0.6 <= cw / ch <= 1.7, (shape, cw, ch)
        assert grid.height() <= 300 and grid.height() >= 21  # within bounds
        assert value.height() - grid.height() <= 80  # no big empty plot area around the cells
        assert grid.right() <= value.width() and value.mapTo(insp, QPoint(value.width(), 0)).x() <= insp.width()
        sizes[shape] = (grid.width(), grid.height())
    assert sizes[(6, 2)][1] > 2 * sizes[(2, 6)][1]  # tall matrices draw tall, wide ones wide
    assert sizes[(2, 6)][0] > 2 * sizes[(6, 2)][0]
    assert 0.6 <= sizes[(4, 4)][0] / sizes[(4, 4)][1] <= 1.7
    assert sizes[(1, 20)][1] < 40 and sizes[(20, 1)][0] < 60  # a row or column stays thin


def test_small_matrices_write_their_entries(doc: Document, insp: Inspector) -> None:
    value, grad = _matrix(insp, doc, [[1.0, -2.0], [3.5, 4.0]], [[0.25, 0.0], [-1.5, 8.0]])
    assert value.cell_texts() == [["1", "-2"], ["3.5", "4"]]
    assert grad.cell_texts() == [["0.25", "0"], ["-1.5", "8"]]
    m = np.array([[0.2, -0.4, 0.1, 0.3], [0.5, 0.1, -0.2, 0.0], [-0.3, 0.2, 0.4, -0.1]])
    value, grad = _matrix(insp, doc, m, m * 0.01)
    texts = value.cell_texts()
    assert [[float(t) for t in row] for row in texts] == m.tolist()  # exact for such numbers
    small = grad.cell_texts()  # hundredths: written in units of 10⁻² (the note says so)
    assert small is not None and float(small[1][0]) == pytest.approx(m[1, 0] * 0.01 / 10.0 ** grad_exp(grad))
    big, _ = _matrix(insp, doc, np.ones((9, 9)), np.ones((9, 9)))
    assert big.cell_texts() is None  # over 8 x 8: colours only (and the hover)


def grad_exp(view: MatrixView) -> int:
    style = view.styles[view.geometry_for(view.width()).style]
    return int(style.partition("@")[2] or 0)


def test_value_and_gradient_side_by_side_or_stacked(doc: Document, insp: Inspector) -> None:
    insp.resize(380, 813)
    _settle()
    _matrix(insp, doc, [[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [3.0, 4.0]])
    assert not insp.result_box.stacked  # small enough to write side by side
    a = np.random.default_rng(1).normal(size=(8, 8))
    value, grad = _matrix(insp, doc, a, a)
    assert insp.result_box.stacked  # 8 columns of numbers need the whole width
    assert value.cell_texts() is not None and grad.cell_texts() is not None
    assert grad.mapTo(insp, QPoint(0, 0)).y() > value.mapTo(insp, QPoint(0, value.height())).y()
    value, grad = _matrix(insp, doc, np.ones((30, 30)), np.ones((30, 30)))
    assert not insp.result_box.stacked


def test_titles_name_nodes_by_title_and_say_what_the_number_is(doc: Document, insp: Inspector) -> None:
    doc.edit_node(dataclasses.replace(doc.graph.nodes["M"], label="weights"), "Edit label")
    doc.edit_node(dataclasses.replace(doc.graph.nodes["y"], label="loss y"), "Edit label")
    m = [[1.0, 2.0], [3.0, 4.0]]
    _matrix(insp, doc, m, m)
    assert insp.value_panel.title.text() == "value of weights"
    assert insp.grad_panel.title.text() == "∂(loss y)/∂weights"
    assert not insp.grad_panel.subtitle.isVisibleTo(insp)
    _matrix(insp, doc, m, m, grad_output=[1.0, 0.0])
    assert insp.grad_panel.title.text() == "vᵀ·∂(loss y)/∂weights"  # a vector–Jacobian product
    assert insp.grad_panel.subtitle.isVisibleTo(insp)
    assert insp.grad_panel.subtitle.text() == "v = [1.0, 0.0], the grad-output"
    assert insp.grad_panel.heatmap.scale_name == "vᵀ·∂(loss y)/∂weights"
    assert insp.title.text().startswith("weights  (M)")  # the label the canvas shows, and the id
    doc.edit_node(dataclasses.replace(doc.graph.nodes["y"], label="y = p + s"), "Edit label")
    _matrix(insp, doc, m, m)
    assert insp.grad_panel.title.text() == "∂y/∂weights"  # an equation's title: its name


def test_no_target_shows_the_value_and_says_what_to_do(doc: Document, insp: Inspector) -> None:
    insp.set_node("M")
    view = NodeView((2, 2), True, "[[1, 2], [3, 4]]", None, "no target chosen",
                    np.array([[1.0, 2.0], [3.0, 4.0]]), None)
    insp.show_result(ComputeResult(doc.revision, None, {"M": view}))
    assert insp.panels.isVisibleTo(insp)
    assert insp.value_panel.kind == "heatmap"
    assert np.array_equal(insp.value_panel.heatmap.array, [[1.0, 2.0], [3.0, 4.0]])
    assert insp.grad_panel.kind == "text" and insp.grad_panel.body.text() == NO_TARGET
    assert NO_TARGET == "no target chosen: click ∂ on a node"
    insp.set_node("x")
    insp.show_result(ComputeResult(doc.revision, None, {"x": _view(2.0)}))
    assert insp.value_panel.kind == "scalar" and insp.value_panel.body.text() == "2"
    assert insp.grad_panel.body.text() == NO_TARGET


# ---- in the window, 1400 x 900 ----

def _visible_in_dock(window, widget) -> bool:  # noqa: ANN001
    """The whole widget lies inside the inspector's scroll viewport as it is scrolled now."""
    viewport = window.inspector.scroll.viewport()
    top_left = widget.mapTo(viewport, QPoint(0, 0))
    return (top_left.x() >= 0 and top_left.y() >= 0 and top_left.x() + widget.width() <= viewport.width()
            and top_left.y() + widget.height() <= viewport.height())


def test_slice_plot_fits_the_dock_at_900_px(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    assert window.size().toTuple() == (1400, 900)
    window.open_file(str(examples_dir / "01_scalar_partial.json"))
    window.doc.set_target("y")
    window.scene.nodes["x"].setSelected(True)
    insp = window.inspector
    qtbot.waitUntil(lambda: insp.slice_box.slice is not None, timeout=RESULT_TIMEOUT_MS)
    _settle()
    assert insp.width() <= 420  # the dock at its default width
    assert insp.scroll.verticalScrollBar().value() == 0
    for widget in (insp.slice_plot, insp.slice_box.legend, insp.grad_panel):
        assert _visible_in_dock(window, widget), widget
    assert insp.slice_plot.height() >= 150
    assert "slope = ∂y/∂x = 8" in insp.slice_box.legend.text()  # by title: "y = 2*x**2 + 3*z" reads y


def test_matrices_fit_the_dock_at_900_px(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    window.open_file(str(examples_dir / "04_small_mlp.json"))
    window.doc.set_target("loss")
    insp = window.inspector
    for node in ("W1", "h", "W2"):
        window.scene.clearSelection()
        window.scene.nodes[node].setSelected(True)
        qtbot.waitUntil(lambda: insp.grad_panel.heatmap is not None, timeout=RESULT_TIMEOUT_MS)  # noqa: B023
        _settle()
        assert insp.scroll.horizontalScrollBar().maximum() == 0, node  # nothing runs off sideways
        viewport = insp.scroll.viewport()
        for panel in (insp.value_panel, insp.grad_panel):
            view = panel.heatmap
            assert view.cell_texts() is not None, node  # entries readable at the default width
            assert view.height() < viewport.height(), node
            assert view.mapTo(viewport, QPoint(view.width(), 0)).x() <= viewport.width(), node


@pytest.mark.parametrize("op", ["cross_entropy", "vector_norm", "tanh"])
def test_the_op_description_is_shown_whole_in_the_default_window(window, op: str) -> None:  # noqa: ANN001
    """torch.nn.functional.cross_entropy(input, target) unbroken held the description wider than
    the inspector of a 1400 x 900 window: its comma and its last line "only)" were cut off."""
    from graph.ops import OPS
    from gui.render import fit_window

    fit_window(window, (1400, 900))
    spec = OPS[op]
    g = Graph()
    g.add_node(Node("n", op))
    window.doc.reset(g)
    window.scene.select_nodes(["n"])
    QApplication.processEvents()
    info = window.inspector.form.rows["op"].editor
    assert isinstance(info, QLabel) and info.isVisible()
    module, _, name = spec.function.rpartition(".")
    assert f"{name}({', '.join(spec.inputs)})" in info.text() and module in info.text()
    assert info.visibleRegion().boundingRect() == info.rect(), "part of the description is cut off"
    assert info.height() >= info.heightForWidth(info.width())
