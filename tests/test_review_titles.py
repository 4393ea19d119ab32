"""Follow-ups of the GUI review: every number on screen says what it is, by the titles the canvas
shows, and the error marks are exact.

- a no-grad reason, a task's refusal and an undo step of the app name nodes by their titles
  ("y[2] does not depend on it"); the command line and the engine's default keep ids (`--target`
  takes ids);
- the node that fails is told apart by the compute (ComputeResult.failing), not guessed from
  which named nodes hold a value: a backward failure, where every named node holds one, is red
  on the failing node alone, on the canvas and in the overview;
- in the overview a selected target keeps its colour, with the selection as a ring inside;
- docs/architecture.md has a row for every module, and every row names a file that exists.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import torch
from helpers import make_graph
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QLabel
from test_cli import run_main
from test_review_gui import _open_lesson_graph, _pick_row, _settled, failing_select
from test_review_numbers import _RefusingBackward

from autograd_bridge.calculus_tasks import Asked, node_derivatives
from autograd_bridge.cancel import CancelToken
from autograd_bridge.compute import ComputeSession
from autograd_bridge.engine import Compiled
from autograd_bridge.flows import flow_task
from autograd_bridge.stepper import walk_task
from autograd_bridge.wire import decode_result, encode_result
from graph.fileformat import dumps
from graph.model import Edge, Node
from graph.ops import OPS, TENSOR, OpSpec
from gui.canvas import lod

# ---- a backward that fails, on an op whose forward is fine ----


@pytest.fixture
def refusing_op(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test-only catalogue entry, reached as an attribute of torch (what the generated code sees)."""
    monkeypatch.setattr(torch, "_gradcanvas_test_refused_backward", _RefusingBackward.apply, raising=False)
    monkeypatch.setitem(OPS, "refused_backward", OpSpec(
        "refused_backward", "torch._gradcanvas_test_refused_backward", ("input",), "elementwise",
        "refused_backward", "a test-only op", example_shapes={"input": (3,)}))


def backward_failure():  # noqa: ANN201 - a Graph
    """s = sum(exp(p(x))), p's backward raising: every node holds a value, p's backward fails."""
    return make_graph([Node("x", TENSOR, value=[1.0, 2.0], requires_grad=True),
                       Node("p", "refused_backward", label="copy"), Node("e", "exp"),
                       Node("s", "sum", label="s = e.sum()")],
                      [("x", "p", "input"), ("p", "e", "input"), ("e", "s", "input")])


# ---- 1. named by titles in the app, by ids on the command line ----


def where_graph():  # noqa: ANN201 - a Graph
    """total = sum(where(x > 0, a, b)); u requires grad and feeds nothing; titled nodes."""
    return make_graph([Node("x", TENSOR, value=[1.0, -2.0], requires_grad=True), Node("z", TENSOR, value=0.0),
                       Node("a", TENSOR, value=[5.0, 6.0], requires_grad=True), Node("b", TENSOR, value=[7.0, 8.0]),
                       Node("u", TENSOR, value=1.0, requires_grad=True),
                       Node("m", "gt", label="positive = x > 0"), Node("w", "where"),
                       Node("total", "sum", label="loss of the batch")],
                      [("x", "m", "input"), ("z", "m", "other"), ("m", "w", "condition"), ("a", "w", "input"),
                       ("b", "w", "other"), ("w", "total", "input")])


def test_the_app_names_the_target_and_the_gate_of_a_no_grad_reason_by_their_titles() -> None:
    g = where_graph()
    session = ComputeSession()
    result = session.compute(g, "total", 1)
    assert result.nodes["x"].no_grad_reason == ("(loss of the batch) depends on it only through positive (gt), "
                                                "which gives no gradient")
    assert result.nodes["u"].no_grad_reason == "(loss of the batch) does not depend on it"
    flows = flow_task(session, None, g, 1, "total")  # the gradient-flow view's wires say why none flows
    assert flows.none[Edge("m", "w", "condition")] == "no gradient flows: positive does not require grad"
    # The engine, which the command line uses, names them by id, as its users type them.
    compiled = Compiled(where_graph())
    run = compiled.run("total")
    assert run.no_grad_reason("x", compiled) == "total depends on it only through m (gt), which gives no gradient"
    assert run.no_grad_reason("u", compiled) == "total does not depend on it"


def test_a_target_that_cannot_run_is_named_by_its_title_in_the_app(refusing_op) -> None:  # noqa: ANN001
    session = ComputeSession()
    result = session.compute(backward_failure(), "s", 1)  # s's backward fails at p
    assert result.nodes["x"].no_grad_reason == "s has no partials (see its error)"
    broken = make_graph([Node("x", TENSOR, value=[1.0, 2.0], requires_grad=True),
                         Node("k", TENSOR, value=[1.0, 2.0, 3.0]), Node("y", "add", label="y = x + k"),
                         Node("t", "sum", label="the total")],
                        [("x", "y", "input"), ("k", "y", "other"), ("y", "t", "input")])
    out = node_derivatives(session, CancelToken(), broken, Asked(2, "t"), "x")
    assert out.error == "the target (the total) cannot run yet (see the errors on its nodes)", out.error
    # nothing compiles: the flow and the walk say whose partials are missing, by title
    alone = make_graph([Node("y", "add", label="y = x + k")], [])
    assert flow_task(session, None, alone, 3, "y").error == "y has no partials"
    assert walk_task(session, None, alone, 3, "y").error == "y has no partials: nothing to walk back"


def _label_text(panel) -> str:  # noqa: ANN001 - a gui.inspector.plots panel
    return " ".join(label.text() for label in panel.findChildren(QLabel) if label.objectName() == "message")


def test_the_window_names_the_picked_row_by_its_title(qtbot, window, tmp_path, examples_dir) -> None:  # noqa: ANN001
    w = window
    _open_lesson_graph(qtbot, w, tmp_path, examples_dir)
    target = _pick_row(qtbot, w, 2)
    assert target == "select1" and w.doc.graph.nodes[target].title == "y[2]"
    y1 = w.scene.nodes["y1"]
    assert y1.view.no_grad_reason == "y[2] does not depend on it"
    w.scene.clearSelection()
    y1.setSelected(True)
    assert "no grad: y[2] does not depend on it" in _label_text(w.inspector.result_box.grad_panel)
    w.doc.edit_node(dataclasses.replace(w.doc.graph.nodes["x"], value=[1.0, 2.0]), "Edit value x")
    _settled(qtbot, w)
    assert w.scene.nodes["y"].view.no_grad_reason == "y[2] has no partials (see its error)"
    w.scene.clearSelection()
    w.scene.nodes["y"].setSelected(True)
    assert "no grad: y[2] has no partials (see its error)" in _label_text(w.inspector.result_box.grad_panel)
    assert "select1" not in _label_text(w.inspector.result_box.grad_panel)


def test_the_grad_output_undo_step_names_the_target_by_its_title(qtbot, window, tmp_path, examples_dir) -> None:  # noqa: ANN001
    w = window
    _open_lesson_graph(qtbot, w, tmp_path, examples_dir)
    assert _pick_row(qtbot, w, 2) == "select1"
    box = w.grad_output_edit
    box.setText("2")
    box.editingFinished.emit()
    assert w.doc.undo_stack.undoText() == "Grad-output of y[2]"


# ---- 2. the failing node, told apart by the compute ----


def test_a_forward_failure_names_the_failing_node_apart_from_its_inputs() -> None:
    g = make_graph([Node("x", TENSOR, value=[1.0, 2.0], requires_grad=True),
                    Node("y", "pow", label="y = x**2", attrs={"exponent": 2}),
                    Node("select1", "select", label="y[2]", attrs={"dim": 0, "index": 2})],
                   [("x", "y", "input"), ("y", "select1", "input")])
    result = ComputeSession().compute(g, "select1", 1)
    assert set(result.error_nodes) == {"select1", "y"} and result.failing == ("select1",)
    assert decode_result(encode_result(result)).failing == ("select1",)  # across the process pipe


def test_a_backward_failure_names_the_failing_node_apart_from_its_inputs(refusing_op) -> None:  # noqa: ANN001
    result = ComputeSession().compute(backward_failure(), "s", 1)
    assert result.error.startswith("copy: refused_backward of [2]: its backward failed")  # p, by its title
    assert set(result.error_nodes) == {"p", "x", "s"} and result.failing == ("p",)
    assert all(n in result.nodes for n in result.error_nodes)  # every named node holds a value


def _overview_pixels(w, node_id: str) -> list[QColor]:  # noqa: ANN001
    """Every pixel of the node's box, zoomed out to the overview."""
    view, scene = w.view, w.scene
    image = view.grab().toImage()
    box = view.mapFromScene(scene.nodes[node_id].sceneBoundingRect()).boundingRect()
    box.translate(view.viewport().mapTo(view, box.topLeft()) - box.topLeft())
    return [image.pixelColor(x, y) for x in range(box.left() + 1, box.right())
            for y in range(box.top() + 1, box.bottom())]


def _zoom_out(w) -> None:  # noqa: ANN001
    view, scene = w.view, w.scene
    view.resetTransform()
    view.scale(0.05, 0.05)
    view.centerOn(scene.itemsBoundingRect().center())
    QApplication.processEvents()
    assert scene.overview.on


def test_a_backward_failure_is_red_on_the_failing_node_alone(qtbot, window, refusing_op) -> None:  # noqa: ANN001
    w = window
    w._replace_document(backward_failure(), None)  # noqa: SLF001
    w.doc.set_target("s")
    _settled(qtbot, w)
    r = w.run.current
    assert r.failing == ("p",)
    items = w.scene.nodes
    assert items["p"].error == r.error and lod.frame(items["p"]) == (lod.COLORS["error"], 3.0)
    assert items["x"].error is None and items["x"].involved == "feeds copy, which fails"
    assert items["s"].error is None and items["s"].involved == "its backward fails at copy"
    for n in ("x", "s", "e"):
        assert lod.frame(items[n])[0] != lod.COLORS["error"], n
    assert items["e"].involved is None
    w.scene.clearSelection()
    items["x"].setSelected(True)
    assert w.inspector.result_box.note.text().startswith("feeds copy, which fails: copy: refused_backward")
    _zoom_out(w)
    red = lod.COLORS["error"]
    assert red in _overview_pixels(w, "p")
    for n in ("x", "e", "s"):
        assert red not in _overview_pixels(w, n), n


def test_a_forward_failure_is_red_on_the_failing_node_alone_in_the_overview(  # noqa: ANN001
        qtbot, window, tmp_path, examples_dir) -> None:
    w = window
    failing_select(qtbot, w, tmp_path, examples_dir)
    assert w.run.current.failing == ("select1",)
    assert w.scene.nodes["y"].involved == "feeds y[2], which fails"
    _zoom_out(w)
    red = lod.COLORS["error"]
    assert red in _overview_pixels(w, "select1")
    assert red not in _overview_pixels(w, "y")


# ---- 3. the overview keeps a selected mark, with the selection as a ring ----


def test_the_overview_keeps_a_selected_target_or_error_with_a_ring(qtbot, window, refusing_op) -> None:  # noqa: ANN001
    w = window
    w._replace_document(backward_failure(), None)  # noqa: SLF001
    w.doc.set_target("s")
    _settled(qtbot, w)
    _zoom_out(w)
    for n, mark in (("s", "target"), ("p", "error")):
        w.scene.clearSelection()
        QApplication.processEvents()
        before = _overview_pixels(w, n)
        assert lod.COLORS["selected"] not in before, n
        w.scene.nodes[n].setSelected(True)
        QApplication.processEvents()
        after = _overview_pixels(w, n)
        assert lod.COLORS[mark] in after and lod.COLORS["selected"] in after, n


# ---- 4. the map of the files ----


def test_every_module_has_a_row_in_the_architecture_map_and_every_row_a_file() -> None:
    root = Path(__file__).resolve().parent.parent
    doc = (root / "docs" / "architecture.md").read_text(encoding="utf-8")
    for section in re.split(r"^## ", doc, flags=re.MULTILINE)[1:]:
        package = root / section.split()[0].rstrip("/")
        files = {p.relative_to(package).as_posix() for p in package.rglob("*.py")
                 if "__pycache__" not in p.parts and p.name != "__init__.py"}
        rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
        for row in rows:
            for name in re.findall(r"`([\w/]+\.py)`", row):
                assert any(f == name or f.endswith("/" + name) for f in files), (package.name, name)
        named = set(re.findall(r"`([\w/]+\.py)`", section))
        unnamed = [f for f in files
                   if not f.startswith("ops/") and f not in named and f.rsplit("/", 1)[-1] not in named]
        assert not unnamed, (package.name, unnamed)


def test_an_error_is_named_by_the_failing_nodes_title_in_the_app_and_by_id_on_the_command_line(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    g = make_graph([Node("x", "tensor", value=[1.0, 2.0], requires_grad=True, label="inputs"),
                    Node("s", "select", attrs={"dim": 0, "index": 5}, label="pick"), Node("y", "sum")],
                   [("x", "s", "input"), ("x", "y", "input")])
    out = ComputeSession().compute(g, None, 1)
    assert out.error.startswith("pick: select of [2]: index 5 is out of bounds"), out.error
    assert out.failed() == ("s",) and out.nodes["y"].value_text == "3"  # the rest still computed
    path = tmp_path / "pick.json"
    path.write_text(dumps(g))
    code, _out, err = run_main(capsys, "check", str(path))
    assert code == 1 and "s: select of [2]: index 5" in err, err
