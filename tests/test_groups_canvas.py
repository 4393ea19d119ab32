"""Groups in the window (issue 11): Ctrl+G / Ctrl+Shift+G, one undo step each; a frame behind the
members; collapsed (double-click on the header), one box whose ports are exactly the edges
crossing the group's boundary, the wires drawn to it, and the gradient norm of its parameters
equal to torch's; the view and the groups saved and opened again."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from helpers import RESULT_TIMEOUT_MS
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QTransform
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from graph import groups as model
from graph.edits import frame_around
from graph.fileformat import load, loads
from gui.actions import portable, window_actions
from gui.canvas.groups import param_grad_norm

ROOT = Path(__file__).resolve().parent.parent
MLP = ROOT / "resources" / "examples" / "04_small_mlp.json"
LAYER1 = ["W1", "b1", "h_lin", "h_pre"]
LEFT, NO_MOD = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


def _corners(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
    return x0, y0, x1 - x0, y1 - y0


def _open(qtbot, window) -> None:  # noqa: ANN001
    window.open_file(str(MLP))
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    window.view.setFocus()


def _result(qtbot, window):  # noqa: ANN001, ANN202
    qtbot.waitUntil(lambda: window.last_result is not None and window.last_result.revision == window.doc.revision,
                    timeout=RESULT_TIMEOUT_MS)
    return window.last_result


def _group_layer1(qtbot, window) -> str:  # noqa: ANN001
    window.scene.select_nodes(LAYER1)
    before = window.doc.undo_stack.index()
    QTest.keyClick(window.view, Qt.Key.Key_G, CTRL)
    assert window.doc.undo_stack.index() == before + 1
    (group_id,) = window.doc.graph.groups
    window.scene.groups.rebuild()
    return group_id


def test_ctrl_g_groups_the_selection_and_ctrl_shift_g_ungroups_one_undo_step_each(qtbot, window) -> None:  # noqa: ANN001
    _open(qtbot, window)
    assert [a.text() for a in window_actions(window) if "Ctrl+G" in [portable(s) for s in a.shortcuts()]]
    g = _group_layer1(qtbot, window)
    graph = window.doc.graph
    assert {n for n, grp in graph.group_of.items() if grp == g} == set(LAYER1)
    frame = window.scene.groups.items[g]
    assert frame.isVisible() and not frame.collapsed
    for n in LAYER1:  # the frame is behind its nodes and holds them
        node = window.scene.nodes[n]
        assert frame.rect.contains(node.sceneBoundingRect()) and frame.zValue() < node.zValue()
    window.doc.undo_stack.undo()
    assert not graph.groups and not graph.group_of
    window.doc.undo_stack.redo()
    assert set(graph.group_of) == set(LAYER1)
    window.scene.select_nodes(["h_lin"])
    QTest.keyClick(window.view, Qt.Key.Key_G, CTRL | SHIFT)
    assert not graph.groups and not graph.group_of
    window.doc.undo_stack.undo()
    assert set(graph.group_of) == set(LAYER1)


def test_a_frame_grows_with_a_node_whose_result_adds_a_preview_row(qtbot, window) -> None:  # noqa: ANN001
    """W1 (3 x 4) gets a row of heatmaps with its result: the frame's edge ran through them."""
    _open(qtbot, window)
    members = ["inp", "W1"]  # W1 the lower: its preview row is the frame's bottom edge
    g = window.doc.group(members)
    window.scene.groups.rebuild()
    result = _result(qtbot, window)
    frame, w1, scene = window.scene.groups.items[g], window.scene.nodes["W1"], window.scene

    def union() -> QRectF:
        box = QRectF()
        for n in members:
            box = box.united(scene.nodes[n].sceneBoundingRect())
        return box

    scene.show_result(None)  # no numbers, no previews: the boxes shrink, and the frame with them
    qtbot.waitUntil(lambda: frame.rect == QRectF(*_corners(*frame_around(*union().getCoords()))))
    short = w1.sceneBoundingRect()
    scene.show_result(result)
    assert w1.sceneBoundingRect().bottom() > short.bottom()  # the preview row
    qtbot.waitUntil(lambda: all(frame.rect.contains(scene.nodes[n].sceneBoundingRect()) for n in members))


def test_a_double_click_on_the_header_collapses_to_a_box_whose_ports_are_the_crossing_edges(qtbot, window) -> None:  # noqa: ANN001
    _open(qtbot, window)
    g = _group_layer1(qtbot, window)
    scene, graph = window.scene, window.doc.graph
    frame = scene.groups.items[g]
    header = window.view.mapFromScene(frame.rect.topRight() + QPointF(-40, 10))  # no node over it there
    assert scene.node_at(window.view.mapToScene(header)) is None
    QTest.mouseDClick(window.view.viewport(), LEFT, NO_MOD, header)
    assert graph.groups[g].collapsed
    scene.groups.rebuild()
    box = scene.groups.items[g]
    crossing_in = [e for e in graph.edges if e.dst in LAYER1 and e.src not in LAYER1]
    crossing_out = [e for e in graph.edges if e.src in LAYER1 and e.dst not in LAYER1]
    assert box.inputs == [(e.dst, e.port) for e in crossing_in] == [("h_lin", "input")]
    assert box.outputs == list(dict.fromkeys(e.src for e in crossing_out)) == ["h_pre"]
    assert (box.inputs, box.outputs) == model.boundary(graph, g)
    for n in LAYER1:  # the members are hidden and cannot be picked
        item = scene.nodes[n]
        assert not item.isVisible() and scene.node_at(item.sceneBoundingRect().center()) is None
    for e in crossing_in:  # wires end at the box's ports
        x0, y0, x1, y1 = scene.edges[e]._ends
        assert (x1, y1) == box.in_point(e.dst, e.port)
    for e in crossing_out:
        x0, y0, x1, y1 = scene.edges[e]._ends
        assert (x0, y0) == box.out_point(e.src)
    inner = [e for e in graph.edges if e.src in LAYER1 and e.dst in LAYER1]
    assert inner and all(scene.edges[e]._ends[:2] == scene.edges[e]._ends[2:] for e in inner)
    window.doc.undo_stack.undo()  # expanded again, one undo step
    scene.groups.rebuild()
    assert not graph.groups[g].collapsed and all(scene.nodes[n].isVisible() for n in LAYER1)
    assert all(scene.edges[e]._ends[:2] != scene.edges[e]._ends[2:] for e in inner)


def test_the_collapsed_box_shows_the_gradient_norm_of_its_parameters_as_torch_computes_it(qtbot, window) -> None:  # noqa: ANN001
    _open(qtbot, window)
    g = _group_layer1(qtbot, window)
    window.doc.set_collapsed(g, True)
    result = _result(qtbot, window)
    graph = window.doc.graph
    value = {n: torch.tensor(graph.nodes[n].value, dtype=torch.float64) for n in ("inp", "W1", "b1", "W2", "y_true")}
    w1, b1 = value["W1"].requires_grad_(), value["b1"].requires_grad_()
    loss = torch.nn.functional.mse_loss(torch.tanh(value["inp"] @ w1 + b1) @ value["W2"], value["y_true"])
    loss.backward()
    expected = math.sqrt(float(w1.grad.square().sum() + b1.grad.square().sum()))
    norm, leaves = param_grad_norm(graph, g, result)
    assert leaves == 2 and math.isclose(norm, expected, rel_tol=1e-5)  # float32 in the app
    box = window.scene.groups.items[g]
    assert f"{norm:.4g}" in box.norm_text and "2 parameters" in box.norm_text


def test_groups_and_the_view_are_saved_and_opened_again(qtbot, window, tmp_path: Path) -> None:  # noqa: ANN001
    _open(qtbot, window)
    g = _group_layer1(qtbot, window)
    window.doc.rename_group(g, "layer1")
    window.doc.set_collapsed(g, True)
    window.view.zoom(1.5)
    window.view.centerOn(300.0, 200.0)
    QApplication.processEvents()
    here = window.view.mapToScene(window.view.viewport().rect().center())
    path = tmp_path / "grouped.json"
    assert window._save_to(str(path))
    saved = load(path)
    assert saved.groups[g].label == "layer1" and saved.groups[g].collapsed
    assert set(saved.group_of) == set(LAYER1)
    zoom, x, y = saved.view
    assert math.isclose(zoom, window.view.transform().m11(), rel_tol=1e-3)
    assert abs(x - here.x()) < 1 and abs(y - here.y()) < 1
    window.new_document()
    assert window.open_file(str(path))
    assert math.isclose(window.view.transform().m11(), zoom, rel_tol=1e-3)  # at once: the first paint shows it
    qtbot.wait(50)  # the view is applied again once the window is laid out
    centre = window.view.mapToScene(window.view.viewport().rect().center())
    pixel = 1 / zoom  # scroll bars move in whole pixels: at this zoom one is 2.1 scene units
    assert abs(centre.x() - x) <= 1.5 * pixel and abs(centre.y() - y) <= 1.5 * pixel
    assert window.doc.graph.groups[g].collapsed and not window.scene.nodes["W1"].isVisible()
    assert loads(path.read_text()).groups == saved.groups


def test_editing_inside_a_collapsed_group_keeps_its_box_true(qtbot, window) -> None:  # noqa: ANN001
    """Deleting a member, undoing it, moving nodes and nesting a second group: the box's ports stay
    the crossing edges, and the canvas never holds a box for a group that is gone."""
    _open(qtbot, window)
    g = _group_layer1(qtbot, window)
    doc, scene = window.doc, window.scene
    doc.set_collapsed(g, True)
    doc.remove(["h_pre"])
    qtbot.wait(20)  # the layer rebuilds on the next turn of the event loop
    assert (scene.groups.items[g].inputs, scene.groups.items[g].outputs) == model.boundary(doc.graph, g)
    assert scene.groups.items[g].outputs == []  # h_lin fed only h_pre
    doc.undo_stack.undo()
    qtbot.wait(20)
    assert doc.graph.group_of["h_pre"] == g and scene.groups.items[g].outputs == ["h_pre"]
    assert not scene.nodes["h_pre"].isVisible()
    doc.move({"out": (900.0, 400.0)})
    qtbot.wait(20)
    doc.set_collapsed(g, False)
    scene.select_nodes(["W1", "b1", "h_lin", "h_pre", "h"])
    outer = doc.group(scene.selected_node_ids(), "block")
    assert doc.graph.groups[g].parent == outer and doc.graph.group_of["h"] == outer  # layer1 wrapped whole
    doc.set_collapsed(outer, True)
    assert set(scene.groups.hidden) == {"W1", "b1", "h_lin", "h_pre", "h"}
    assert all(v == outer for v in scene.groups.hidden.values())
    assert not scene.groups.items[g].isVisible() and scene.groups.items[outer].isVisible()
    doc.ungroup(outer)
    assert outer not in scene.groups.items and doc.graph.groups[g].parent is None
    assert scene.nodes["h"].isVisible()


def _drag(window, start: QPointF, end: QPointF, esc: bool = False) -> None:  # noqa: ANN001
    viewport = window.view.viewport()
    a, b = window.view.mapFromScene(start), window.view.mapFromScene(end)
    QTest.mousePress(viewport, LEFT, NO_MOD, a)
    for k in range(1, 6):  # a few frames, as a hand makes them
        QTest.mouseMove(viewport, a + (b - a) * k / 5)
    if esc:
        QTest.keyClick(window.view, Qt.Key.Key_Escape)
    QTest.mouseRelease(viewport, LEFT, NO_MOD, b)


def test_a_frame_dragged_by_its_header_or_a_collapsed_box_moves_its_nodes_in_one_undo_step(qtbot, window) -> None:  # noqa: ANN001
    _open(qtbot, window)
    g = _group_layer1(qtbot, window)
    scene, doc = window.scene, window.doc
    outside = [n for n in doc.graph.nodes if n not in LAYER1]
    before = {n: tuple(doc.graph.layout[n]) for n in doc.graph.nodes}
    frame = scene.groups.items[g]
    # At 100 % a drag of 60 scene units is 60 pixels whatever the framing's sub-pixel offset
    # (at the fitted zoom it is 28.5, which the mouse rounds).
    window.view.setTransform(QTransform())
    window.view.centerOn(frame.rect.center())
    header = frame.rect.topRight() + QPointF(-40, 10)  # no node there, and not the ▾
    assert scene.node_at(header) is None
    steps = doc.undo_stack.index()
    _drag(window, header, header + QPointF(60, 40))
    assert doc.undo_stack.index() == steps + 1 and "Move group" in doc.undo_stack.text(steps)
    for n in LAYER1:  # the document, and the items, moved by the drag
        assert doc.graph.layout[n] == (before[n][0] + 60, before[n][1] + 40)
        assert scene.nodes[n].pos() == QPointF(before[n][0] + 60, before[n][1] + 40)
    assert all(doc.graph.layout[n] == before[n] for n in outside)
    qtbot.waitUntil(lambda: frame.rect.contains(scene.nodes["W1"].sceneBoundingRect()), timeout=2000)  # it followed
    doc.undo_stack.undo()
    assert all(doc.graph.layout[n] == before[n] for n in doc.graph.nodes)

    doc.set_collapsed(g, True)
    scene.groups.rebuild()
    box = scene.groups.items[g]
    grip = box.rect.center()
    assert not box.on_button(box.mapFromScene(grip))
    old_box = QRectF(box.rect)
    steps = doc.undo_stack.index()
    _drag(window, grip, grip + QPointF(-30, 50))
    assert doc.undo_stack.index() == steps + 1
    assert all(doc.graph.layout[n] == (before[n][0] - 30, before[n][1] + 50) for n in LAYER1)
    qtbot.waitUntil(lambda: box.rect.topLeft() == old_box.topLeft() + QPointF(-30, 50), timeout=2000)  # next turn
    assert doc.graph.groups[g].collapsed  # a drag is not a toggle

    steps = doc.undo_stack.index()  # Esc during the drag: nothing moved, nothing to undo
    _drag(window, box.rect.center(), box.rect.center() + QPointF(80, 0), esc=True)
    assert doc.undo_stack.index() == steps
    assert all(doc.graph.layout[n] == (before[n][0] - 30, before[n][1] + 50) for n in LAYER1)
    assert all(scene.nodes[n].pos() == QPointF(*doc.graph.layout[n]) for n in LAYER1)


def test_frames_and_boxes_are_drawn_in_the_zoomed_out_overview_where_qt_draws_no_item(qtbot, window) -> None:  # noqa: ANN001
    from gui.canvas import groups as canvas_groups
    from gui.canvas.overview import OVERVIEW_SCALE

    _open(qtbot, window)
    g = _group_layer1(qtbot, window)
    scene, view = window.scene, window.view
    view.setTransform(QTransform.fromScale(OVERVIEW_SCALE / 2, OVERVIEW_SCALE / 2))
    view.centerOn(scene.groups.items[g].rect.center())
    assert scene.overview.on
    drawn: list[tuple[str, bool]] = []
    real = canvas_groups.GroupItem.paint_overview

    def spy(item, p) -> None:  # noqa: ANN001
        drawn.append((item.group_id, item.collapsed))
        real(item, p)

    canvas_groups.GroupItem.paint_overview = spy
    try:
        view.viewport().grab()
        assert (g, False) in drawn
        drawn.clear()
        window.doc.set_collapsed(g, True)
        scene.groups.rebuild()
        box = scene.groups.items[g]
        image = view.viewport().grab().toImage()
        assert (g, True) in drawn
        # The box is filled there, in the overview, with its header's colour (nodes are hidden).
        at = view.mapFromScene(box.rect.center())
        got, want = image.pixelColor(at.x(), at.y()), canvas_groups.FRAME.darker(160)
        assert max(abs(a - b) for a, b in zip(got.getRgb(), want.getRgb(), strict=True)) <= 2, (got, want)
    finally:
        canvas_groups.GroupItem.paint_overview = real


def test_a_click_on_the_toggle_that_wobbles_a_few_pixels_toggles_and_moves_nothing(qtbot, window) -> None:  # noqa: ANN001
    """The press on ▸ expands the box, which moves the frame away from under the mouse: it is
    still a toggle, not the start of a drag (no 'Move group' step)."""
    from PySide6.QtCore import QPoint

    _open(qtbot, window)
    g = _group_layer1(qtbot, window)
    scene, doc, view = window.scene, window.doc, window.view
    for collapsed in (False, True):
        doc.set_collapsed(g, collapsed)
        scene.groups.rebuild()
        item = scene.groups.items[g]
        button = item.rect.topLeft() + QPointF(8, 8)  # the ▾ / ▸
        assert item.on_button(item.mapFromScene(button))
        before = {n: tuple(doc.graph.layout[n]) for n in LAYER1}
        steps = doc.undo_stack.index()
        at = view.mapFromScene(button)
        QTest.mousePress(view.viewport(), LEFT, NO_MOD, at)
        for k in range(1, 4):  # a hand's jitter
            QTest.mouseMove(view.viewport(), at + QPoint(2 * k, k))
        QTest.mouseRelease(view.viewport(), LEFT, NO_MOD, at + QPoint(6, 3))
        assert doc.graph.groups[g].collapsed is not collapsed
        assert doc.undo_stack.index() == steps + 1 and "Move" not in doc.undo_stack.text(steps)
        assert {n: tuple(doc.graph.layout[n]) for n in LAYER1} == before


def test_renaming_a_group_while_zoomed_out_redraws_its_title(qtbot, window) -> None:  # noqa: ANN001
    """The overview's background is cached: a new title (or fill) must redraw the frame's place."""
    from PySide6.QtCore import QRectF

    from gui.canvas.overview import OVERVIEW_SCALE

    _open(qtbot, window)
    g = _group_layer1(qtbot, window)
    scene, view = window.scene, window.view
    view.setTransform(QTransform.fromScale(OVERVIEW_SCALE / 2, OVERVIEW_SCALE / 2))
    frame = scene.groups.items[g]
    view.centerOn(frame.rect.center())
    assert scene.overview.on
    view.viewport().repaint()
    redrawn: list[QRectF] = []
    real = scene.redraw
    scene.redraw = lambda rect: (redrawn.append(QRectF(rect)), real(rect))
    try:
        window.doc.rename_group(g, "a much longer new title")
        qtbot.waitUntil(lambda: frame.title == "a much longer new title", timeout=2000)
        assert any(r.intersects(frame.rect) for r in redrawn), "the old title stays in the cached background"
    finally:
        scene.redraw = real


def test_a_collapsed_group_opens_and_closes_from_the_edit_menu_for_the_keyboard(qtbot, window) -> None:  # noqa: ANN001
    """Without a mouse: Find node on a member hidden in a collapsed group opens the group (one
    undo step) and selects it; Edit > Collapse / expand group closes and opens it again."""
    _open(qtbot, window)
    g = _group_layer1(qtbot, window)
    window.doc.set_collapsed(g, True)
    window.scene.groups.rebuild()
    assert not window.scene.nodes["b1"].isVisible()
    finder = window.node_finder
    finder.open()
    QTest.keyClicks(finder.edit, "b1")
    QTest.keyClick(finder.edit, Qt.Key.Key_Return)
    assert window.scene.selected_node_ids() == ["b1"] and window.scene.nodes["b1"].isVisible()
    assert not window.doc.graph.groups[g].collapsed
    assert window.statusBar().currentMessage() == f"found b1; opened the collapsed group {g} it was in"
    (action,) = [a for a in window_actions(window) if a.text().replace("&", "") == "Collapse / expand group"]
    before = window.doc.undo_stack.index()
    action.trigger()  # b1 selected: its group closes
    assert window.doc.graph.groups[g].collapsed and window.doc.undo_stack.index() == before + 1
    window.scene.groups.rebuild()
    assert not window.scene.nodes["b1"].isVisible()
    window.doc.undo_stack.undo()  # one undo step: open again
    window.scene.groups.rebuild()
    assert not window.doc.graph.groups[g].collapsed and window.scene.nodes["b1"].isVisible()
    window.scene.clearSelection()
    action.trigger()
    assert window.statusBar().currentMessage() == "select a node of the group first"
