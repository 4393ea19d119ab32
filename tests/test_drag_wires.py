"""A drag's wires (gui.canvas.overview.LiftedWires): while nodes are dragged, the wires touching
them are drawn by an item of their own over the cached background, so a frame redraws no other
wire; they are seen where they are at every frame and go back into the background at the drop
or on Esc. Driven with offscreen mouse events; pixels read from the view's own grab.
"""

from __future__ import annotations

from helpers import wires_drawn
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from graph.model import Edge, Graph, Node
from gui.canvas import NODE_W
from gui.canvas.style import COLORS
from gui.window import MainWindow

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier
WIRE = Edge("a", "m", "input")


def _graph() -> Graph:
    """a → m (the wire dragged), b → n far below (a wire that stays)."""
    g = Graph()
    g.add_node(Node("a", "tensor", value=2.0, requires_grad=True), pos=(0.0, 0.0))
    g.add_node(Node("m", "neg"), pos=(500.0, 60.0))
    g.add_node(Node("b", "tensor", value=3.0), pos=(0.0, 400.0))
    g.add_node(Node("n", "neg"), pos=(500.0, 400.0))
    g.add_edge(WIRE)
    g.add_edge(Edge("b", "n", "input"))
    return g


def _load(window: MainWindow) -> None:
    window.doc.reset(_graph())
    window.view.resetTransform()  # 100 %: wires drawn as curves, nodes by Qt
    window.view.centerOn(QPointF(350, 250))
    QApplication.processEvents()
    assert not window.scene.overview.on


def _wire_drawn_at(window: MainWindow, scene_pos: QPointF, color_key: str = "edge") -> bool:
    """Whether a pixel within 2 px of the point has about the wire's colour (antialiasing blends
    its edges), in the view's grab."""
    QApplication.processEvents()
    image: QImage = window.view.viewport().grab().toImage()
    c = window.view.mapFromScene(scene_pos)
    want = COLORS[color_key].getRgb()[:3]

    def near(color: tuple[int, ...]) -> bool:
        return max(abs(a - b) for a, b in zip(color[:3], want, strict=True)) <= 40

    return any(near(image.pixelColor(c + QPoint(dx, dy)).getRgb()) for dx in range(-2, 3) for dy in range(-2, 3))


def _middle(window: MainWindow, edge: Edge = WIRE) -> QPointF:
    return window.scene.edges[edge].path().pointAtPercent(0.5)


def _press_on(window: MainWindow, node_id: str) -> QPoint:
    item = window.scene.nodes[node_id]
    at = window.view.mapFromScene(item.mapToScene(QPointF(NODE_W / 2, 12)))  # the title: no port, no number
    QTest.mousePress(window.view.viewport(), LEFT, NO_MOD, at)
    return at


def test_a_dragged_nodes_wire_is_drawn_where_it_is_at_every_frame(window: MainWindow) -> None:
    _load(window)
    before = _middle(window)
    assert _wire_drawn_at(window, before)
    at = _press_on(window, "m")
    for k in range(1, 7):
        QTest.mouseMove(window.view.viewport(), at + QPoint(0, 25 * k))
        QApplication.processEvents()
    lifted = window.scene.overview.lifted
    assert {w.edge for w in lifted} == {WIRE}  # only the dragged node's wire
    now = _middle(window)
    assert now.y() > before.y() + 50
    assert _wire_drawn_at(window, now)
    assert not _wire_drawn_at(window, before)  # the old place is clean: no trail in the cache
    QTest.mouseRelease(window.view.viewport(), LEFT, NO_MOD, at + QPoint(0, 150))
    assert window.scene.overview.lifted == set()
    assert window.scene.nodes["m"].pos().y() > 60 + 100  # one Document.move: the drop took
    assert _wire_drawn_at(window, _middle(window))  # back in the background
    assert _wire_drawn_at(window, _middle(window, Edge("b", "n", "input")))


def test_a_drag_frame_redraws_no_wire_of_the_background(window: MainWindow) -> None:
    _load(window)
    with wires_drawn(window.scene) as drawn:
        at = _press_on(window, "m")
        QTest.mouseMove(window.view.viewport(), at + QPoint(0, 10))
        QApplication.processEvents()  # the lift: the background once, without the wire
        drawn.clear()
        for k in range(2, 8):
            QTest.mouseMove(window.view.viewport(), at + QPoint(0, 10 * k))
            QApplication.processEvents()
        assert drawn == []
        QTest.mouseRelease(window.view.viewport(), LEFT, NO_MOD, at + QPoint(0, 70))
        QApplication.processEvents()
        assert drawn  # the drop puts the wire back into the background


def test_esc_puts_the_wire_back_where_it_was(window: MainWindow, qtbot) -> None:
    _load(window)
    window.activateWindow()
    qtbot.waitActive(window)
    before = _middle(window)
    at = _press_on(window, "m")
    for k in range(1, 5):
        QTest.mouseMove(window.view.viewport(), at + QPoint(0, 30 * k))
    QApplication.processEvents()
    assert window.scene.overview.lifted
    QTest.keyClick(window.view, Qt.Key.Key_Escape)
    assert window.scene.overview.lifted == set() and window.doc.undo_stack.count() == 0
    assert _middle(window) == before
    assert _wire_drawn_at(window, before)
    QTest.mouseRelease(window.view.viewport(), LEFT, NO_MOD, at + QPoint(0, 120))


def test_a_group_drag_lifts_the_wires_of_its_members(window: MainWindow) -> None:
    _load(window)
    scene, doc = window.scene, window.doc
    group_id = doc.group(["b", "n"])
    scene.groups.rebuild()
    QApplication.processEvents()
    frame = scene.groups.items[group_id]
    header = window.view.mapFromScene(frame.rect.topLeft() + QPointF(40, 8))
    before = _middle(window, Edge("b", "n", "input"))
    QTest.mousePress(window.view.viewport(), LEFT, NO_MOD, header)
    for k in range(1, 5):
        QTest.mouseMove(window.view.viewport(), header + QPoint(0, 20 * k))
    QApplication.processEvents()
    assert {w.edge for w in scene.overview.lifted} == {Edge("b", "n", "input")}
    assert _wire_drawn_at(window, _middle(window, Edge("b", "n", "input")))
    assert not _wire_drawn_at(window, before)
    QTest.mouseRelease(window.view.viewport(), LEFT, NO_MOD, header + QPoint(0, 80))
    assert scene.overview.lifted == set() and doc.undo_stack.undoText().startswith("Move group")


def test_a_selected_dragged_wire_leaves_no_ghost_where_it_was(window: MainWindow) -> None:
    _load(window)
    scene = window.scene
    old = scene.edges[WIRE].path()
    scene.edges[WIRE].setSelected(True)
    scene.nodes["m"].setSelected(True)
    QApplication.processEvents()  # drawn selected, in the background
    at = _press_on(window, "m")
    for k in range(1, 7):
        QTest.mouseMove(window.view.viewport(), at + QPoint(0, 25 * k))
        QApplication.processEvents()
    assert scene.edges[WIRE].isSelected()
    assert _wire_drawn_at(window, scene.edges[WIRE].path().pointAtPercent(0.15), "edge_selected")
    assert not _wire_drawn_at(window, old.pointAtPercent(0.15), "edge_selected")
    QTest.mouseRelease(window.view.viewport(), LEFT, NO_MOD, at + QPoint(0, 150))


def test_a_wire_deleted_mid_drag_is_gone_at_once(window: MainWindow) -> None:
    _load(window)
    scene = window.scene
    at = _press_on(window, "m")
    QTest.mouseMove(window.view.viewport(), at + QPoint(0, 75))
    QApplication.processEvents()
    where = _middle(window)
    assert _wire_drawn_at(window, where)
    scene.doc.remove(["m"], [])  # what Delete does, the button still down
    QTest.mouseMove(window.view.viewport(), at + QPoint(0, 100))
    assert scene.overview.lifted == set()
    assert not _wire_drawn_at(window, where)
    QTest.mouseRelease(window.view.viewport(), LEFT, NO_MOD, at + QPoint(0, 100))


def test_in_the_overview_a_drag_frame_redraws_one_rectangle_holding_what_moved(window: MainWindow) -> None:
    window.doc.reset(_graph())
    window.view.resetTransform()
    window.view.scale(0.08, 0.08)  # the overview: nodes and wires drawn by the background
    window.view.centerOn(QPointF(350, 250))
    QApplication.processEvents()
    scene = window.scene
    assert scene.overview.on
    moved = [scene.nodes["m"], scene.nodes["n"]]
    def box(item) -> QRectF:  # noqa: ANN001 - what the overview draws of a node: its body
        return QRectF(item.x(), item.y(), NODE_W, item.height())

    before = [box(item) for item in moved]
    wires = [scene.edges[WIRE].rect(), scene.edges[Edge("b", "n", "input")].rect()]
    invalidated: list[QRectF] = []
    real = scene.invalidate
    scene.invalidate = lambda rect, *layers: (invalidated.append(QRectF(rect)), real(rect, *layers))
    try:
        for item in moved:
            item.moveBy(0, 300)
        scene.nodes_moved(moved)
    finally:
        del scene.invalidate
    assert len(invalidated) == 1  # one rectangle: Qt's raster draws many small clips slower
    (rect,) = invalidated
    for drawn in [*before, *(box(item) for item in moved), *wires,
                  scene.edges[WIRE].rect(), scene.edges[Edge("b", "n", "input")].rect()]:
        assert rect.contains(drawn), (rect, drawn)
    image = _grab_image(window)
    for old in before:
        centre = window.view.mapFromScene(old.center())
        assert image.pixelColor(centre) == COLORS["background"]  # nothing left where m and n were


def _grab_image(window: MainWindow) -> QImage:
    QApplication.processEvents()
    return window.view.viewport().grab().toImage()
