"""A new user's findings in the window (a review under X11), each reproduced offscreen here:

- the expression bar stays in view whatever the status bar says, and no message is drawn under it;
- a Jacobian row picked makes its select where no node lies;
- the status bar and the Step summary name the target by its title, as the canvas does;
- one Step says the target's value before and after it (torch.optim by hand);
- a node that fails is red on its own; an input it names keeps its value, and says what it feeds;
- the selection shows on the target and on a node with an error, at every level of detail.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from helpers import RESULT_TIMEOUT_MS, make_graph
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication, QStyleOptionGraphicsItem

from graph.model import Node
from gui.canvas import lod

LESSON_06 = "06_vector_target.json"


def _settled(qtbot, w) -> None:  # noqa: ANN001
    def done() -> bool:
        current = w.run.current
        return (not w.computer.busy and not w.training.running
                and current is not None and current.revision == w.doc.revision)
    qtbot.waitUntil(done, timeout=RESULT_TIMEOUT_MS)


def _open_lesson_graph(qtbot, w, tmp_path, examples_dir) -> None:  # noqa: ANN001
    """Lesson 6's graph: x = [1, 2, 3], y = x**2 (the target, v = [1, 0.5, 0]), y[1], s = y.sum()."""
    lesson = json.loads((examples_dir.parent / "lessons" / LESSON_06).read_text())
    path = tmp_path / "vec.json"
    path.write_text(json.dumps(lesson["graph"]))
    assert w.open_file(str(path))
    _settled(qtbot, w)


def _pick_row(qtbot, w, row: int) -> str:  # noqa: ANN001
    """Select x, wait for the Jacobian of the target, click row `row`: the new target."""
    w.scene.clearSelection()
    w.scene.nodes["x"].setSelected(True)
    cal = w.calculus
    qtbot.waitUntil(lambda: cal.node_result is not None and cal.node_result.jacobian is not None
                    and cal.is_current(cal.node_result), timeout=RESULT_TIMEOUT_MS)
    cal.pick_row(row)
    _settled(qtbot, w)
    return w.doc.target


def _window_rect(widget) -> QRect:  # noqa: ANN001
    return QRect(widget.mapTo(widget.window(), QPoint(0, 0)), widget.size())


# ---- 1. the expression bar ----


def test_the_expression_bar_stays_in_view_beside_the_status_messages(qtbot, window) -> None:  # noqa: ANN001
    w, bar = window, window.expression_bar
    status = w.statusBar()
    assert status.currentMessage().startswith("Drag ops from the palette")  # the hint at start
    assert bar.isVisible() and bar.edit.isVisible()
    # No status message is drawn under the bar: the bar is not in the status bar's row.
    assert not _window_rect(bar).intersects(_window_rect(status))
    bar.edit.setFocus()
    bar.edit.setText("y = foo(x)")
    assert not bar.submit()
    QApplication.processEvents()
    assert "foo" in status.currentMessage()
    assert bar.isVisible() and bar.edit.text() == "y = foo(x)" and "foo" in bar.message.text()
    assert bar.message.isVisible()  # the refusal beside the bar
    w.say("something else")  # every compute says something
    QApplication.processEvents()
    assert bar.isVisible() and bar.edit.isVisible()
    assert bar.submit() is False and bar.edit.text() == "y = foo(x)"


# ---- 2. a picked row's select goes where nothing is ----


def test_a_picked_jacobian_row_lies_on_no_other_node(qtbot, window, tmp_path, examples_dir) -> None:  # noqa: ANN001
    w = window
    _open_lesson_graph(qtbot, w, tmp_path, examples_dir)
    for row in (2, 0):
        new = _pick_row(qtbot, w, row)
        assert w.doc.graph.nodes[new].op == "select"
        box = w.scene.nodes[new].sceneBoundingRect()
        over = [n for n, item in w.scene.nodes.items() if n != new and item.sceneBoundingRect().intersects(box)]
        assert over == [], (new, box, over)
        w.doc.set_target("y")
        _settled(qtbot, w)
    # Near what it selects: to its right, not far away.
    y_box = w.scene.nodes["y"].sceneBoundingRect()
    new_box = w.scene.nodes[new].sceneBoundingRect()
    assert new_box.left() > y_box.right() and abs(new_box.top() - y_box.top()) < 600


# ---- 3. the target named by its title ----


def test_the_status_bar_names_the_target_by_its_title(qtbot, window, examples_dir, tmp_path) -> None:  # noqa: ANN001
    w = window
    w.open_file(str(examples_dir / "03_vector_element.json"))
    w.doc.set_target("y1")  # titled y[1] on the canvas
    _settled(qtbot, w)
    assert w.statusBar().currentMessage() == "∂y[1]/∂node shown on every node"
    assert w.status.text() == "target y[1] on cpu"
    _open_lesson_graph(qtbot, w, tmp_path, examples_dir)
    new = _pick_row(qtbot, w, 2)  # select1, titled y[2]
    assert new == "select1" and w.statusBar().currentMessage() == "∂y[2]/∂node shown on every node"
    assert w.status.text() == "target y[2] on cpu"


# ---- 4. one Step: the value before and after it ----


def test_one_step_says_the_target_before_and_after_it(qtbot, window, tmp_path, examples_dir) -> None:  # noqa: ANN001
    w = window
    _open_lesson_graph(qtbot, w, tmp_path, examples_dir)
    _pick_row(qtbot, w, 2)  # the target y[2] = x[2]**2 = 9
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)  # torch.optim by hand, float32 as the window
    opt = torch.optim.SGD([x], lr=0.1)
    opt.zero_grad()
    before = (x**2)[2]
    before.backward()
    opt.step()
    after = (x**2)[2].item()
    w.training.run_steps(1)
    qtbot.waitUntil(lambda: not w.training.running, timeout=RESULT_TIMEOUT_MS)
    _settled(qtbot, w)
    qtbot.waitUntil(lambda: "→" in w.statusBar().currentMessage(), timeout=RESULT_TIMEOUT_MS)
    line = w.statusBar().currentMessage()
    assert w.doc.graph.nodes["x"].value == pytest.approx(x.tolist())
    assert f"y[2] {before.item():.6g} → {after:.6g}" in line, line
    assert "select1" not in line and "before the last step" not in line
    assert w.training.summary.text() == line


# ---- 5. the node that fails is red, its inputs keep their own ----


def failing_select(qtbot, w, tmp_path, examples_dir) -> None:  # noqa: ANN001
    """Lesson 6's graph with y[2] picked, then x shortened to 2 elements: only y[2] fails."""
    _open_lesson_graph(qtbot, w, tmp_path, examples_dir)
    _pick_row(qtbot, w, 2)
    w.doc.edit_node(dataclasses.replace(w.doc.graph.nodes["x"], value=[1.0, 2.0]), "Edit value x")
    _settled(qtbot, w)


def test_a_failing_select_is_red_on_its_own_and_its_input_says_what_it_feeds(  # noqa: ANN001
        qtbot, window, tmp_path, examples_dir) -> None:
    w = window
    failing_select(qtbot, w, tmp_path, examples_dir)
    r = w.run.current
    assert r.error.startswith("y[2]: select of [2]: index 2 is out of bounds")  # select1 by its title
    failing, fed = w.scene.nodes["select1"], w.scene.nodes["y"]
    assert failing.error == r.error and lod.frame(failing) == (lod.COLORS["error"], 3.0)
    assert fed.error is None and fed.involved == "feeds y[2], which fails"
    assert lod.frame(fed)[0] != lod.COLORS["error"] and lod.frame(fed)[1] < 3.0
    assert "⚠" not in fed.toolTip() and "feeds y[2], which fails" in fed.toolTip()
    assert r.nodes["y"].value_text == "[1, 4]"
    w.scene.clearSelection()
    fed.setSelected(True)
    box = w.inspector.result_box
    note = box.note.text()
    assert box.note.isVisibleTo(w.inspector) and note.startswith("feeds y[2], which fails: y[2]: select"), note
    assert box.value_panel.isVisibleTo(w.inspector)  # y's own value stays
    w.scene.clearSelection()
    failing.setSelected(True)
    assert box.note.text().startswith("y[2]: select of [2]")


def test_a_shape_mismatch_is_red_on_the_op_and_named_on_its_inputs(qtbot, window) -> None:  # noqa: ANN001
    w = window
    g = make_graph([Node("a", "tensor", value=[1.0, 2.0], requires_grad=True),
                    Node("b", "tensor", value=[1.0, 2.0, 3.0]), Node("c", "add", label="c = a + b")],
                   [("a", "c", "input"), ("b", "c", "other")])
    w._replace_document(g, None)  # noqa: SLF001
    _settled(qtbot, w)
    r = w.run.current
    assert r.error and set(r.error_nodes) >= {"a", "b", "c"}, r.error
    assert w.scene.nodes["c"].error == r.error
    for n in ("a", "b"):
        item = w.scene.nodes[n]
        assert item.error is None and item.involved == "feeds c, which fails", n
        assert r.nodes[n].value_text.startswith("[1, 2")
    assert "[2]" in r.error and "[3]" in r.error  # both shapes named


# ---- 6. the selection shows on every node, at every level of detail ----


def _paint(item, scale: float) -> QImage:  # noqa: ANN001
    image = QImage(int(260 * scale) + 20, int(200 * scale) + 20, QImage.Format.Format_ARGB32)
    image.fill(0)
    p = QPainter(image)
    p.translate(10, 10)
    p.scale(scale, scale)
    item.paint(p, QStyleOptionGraphicsItem(), None)
    p.end()
    return image


@pytest.mark.parametrize("scale", [1.0, 0.6, 0.3, 0.2], ids=["full", "summary", "title", "shape"])
def test_the_selection_shows_on_the_target_and_on_an_error(qtbot, window, scale: float) -> None:  # noqa: ANN001
    w = window
    g = make_graph([Node("x", "tensor", value=2.0, requires_grad=True), Node("y", "exp"),
                    Node("m", "tensor", value=[[1.0, 2.0]]), Node("mm", "matmul")],
                   [("x", "y", "input"), ("m", "mm", "input"), ("m", "mm", "other")])  # [1, 2] @ [1, 2]: fails
    w._replace_document(g, None)  # noqa: SLF001
    w.doc.set_target("y")
    _settled(qtbot, w)
    assert w.scene.nodes["mm"].error and w.scene.nodes["y"].is_target
    for n in ("y", "mm"):
        item = w.scene.nodes[n]
        item.setSelected(False)
        off = _paint(item, scale)
        level = item.painted[0]
        item.setSelected(True)
        on = _paint(item, scale)
        assert item.painted[0] == level
        assert on != off, (n, level)
        item.setSelected(False)
    assert w.scene.nodes["y"].painted[0] == {1.0: lod.FULL, 0.6: lod.SUMMARY, 0.3: lod.TITLE, 0.2: lod.SHAPE}[scale]


def test_the_overview_shows_the_selected_target(qtbot, window) -> None:  # noqa: ANN001
    w = window
    g = make_graph([Node("x", "tensor", value=2.0, requires_grad=True), Node("y", "exp")], [("x", "y", "input")])
    w._replace_document(g, None)  # noqa: SLF001
    w.doc.set_target("y")
    _settled(qtbot, w)
    view, scene = w.view, w.scene
    view.resetTransform()
    view.scale(0.05, 0.05)
    view.centerOn(scene.nodes["y"].sceneBoundingRect().center())
    QApplication.processEvents()
    assert scene.overview.on

    def colour() -> object:
        QApplication.processEvents()
        image = view.grab().toImage()
        point = view.viewport().mapTo(view, view.mapFromScene(scene.nodes["y"].sceneBoundingRect().center()))
        return image.pixelColor(point)

    assert colour() == lod.COLORS["target"]
    scene.nodes["y"].setSelected(True)
    assert colour() == lod.COLORS["target"]  # kept, with the selection as a ring (test_review_titles.py)


@pytest.mark.parametrize("scale", [0.6, 0.3])
def test_the_selection_ring_never_crosses_a_zoomed_out_nodes_text(qtbot, window, scale: float) -> None:  # noqa: ANN001
    """A selected target zoomed out (SUMMARY, TITLE): the ring (2 px wide, RING_GAP px inside the
    frame) crossed the first letter of its title and number; the text now starts clear of it."""
    w = window
    g = make_graph([Node("x", "tensor", value=2.0, requires_grad=True), Node("y", "exp")], [("x", "y", "input")])
    w._replace_document(g, None)  # noqa: SLF001
    w.doc.set_target("y")
    _settled(qtbot, w)
    item = w.scene.nodes["y"]
    item.setSelected(True)
    assert lod.needs_ring(item) and lod.level_for(scale, item.height()) in (lod.SUMMARY, lod.TITLE)
    ring_inner_edge = (lod.RING_GAP + 1.0) / scale  # scene units from the frame: the ring's far side
    assert lod.text_pad(item, scale) > ring_inner_edge
    item.setSelected(False)
    assert lod.text_pad(item, scale) == lod.PAD  # no ring: the text keeps its place
