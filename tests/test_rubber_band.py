"""The rubber band (a drag on empty canvas), driven with offscreen mouse events on the viewport:
it selects the nodes it meets and no wire that merely passes through, Ctrl adds to the
selection, it is drawn while it lasts, one selectionChanged per mouse move, and in the zoomed-out
overview the selection is drawn over the cached background (selecting redraws no wire).

Expected selections are worked out here from the graph's positions and the view's mapping.
"""

from __future__ import annotations

from helpers import wires_drawn
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from graph.model import Edge, Graph, Node
from gui.canvas import NODE_W
from gui.canvas.style import COLORS
from gui.window import MainWindow

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier
CTRL = Qt.KeyboardModifier.ControlModifier
FAR = 900.0  # a → m: a long wire with nothing under its middle


def _graph() -> Graph:
    g = Graph()
    g.add_node(Node("a", "tensor", value=2.0, requires_grad=True), pos=(0.0, 0.0))
    g.add_node(Node("b", "tensor", value=3.0), pos=(0.0, 200.0))
    g.add_node(Node("m", "neg"), pos=(FAR, 0.0))
    g.add_edge(Edge("a", "m", "input"))
    return g


def _load(window: MainWindow, scale: float = 0.5) -> None:
    window.doc.reset(_graph())
    window.view.resetTransform()
    window.view.scale(scale, scale)
    window.view.centerOn(QPointF((FAR + NODE_W) / 2, 100))
    QApplication.processEvents()


def _at(window: MainWindow, x: float, y: float) -> QPoint:
    p = window.view.mapFromScene(QPointF(x, y))
    assert window.view.viewport().rect().contains(p)
    return p


def _band(window: MainWindow, a: QPoint, b: QPoint, mod=NO_MOD, release: bool = True) -> None:
    vp = window.view.viewport()
    QTest.mousePress(vp, LEFT, mod, a)
    for i in range(1, 7):
        QTest.mouseMove(vp, QPoint(a.x() + (b.x() - a.x()) * i // 6, a.y() + (b.y() - a.y()) * i // 6))
    if release:
        QTest.mouseRelease(vp, LEFT, mod, b)


def _wire_middle(window: MainWindow) -> QPointF:
    """A point of the a → m wire halfway, from the scene's own curve of it."""
    edge = window.scene.edges[Edge("a", "m", "input")]
    return edge.path().pointAtPercent(0.5)


def test_a_band_over_a_wire_alone_selects_nothing(window: MainWindow) -> None:
    _load(window)
    mid = _wire_middle(window)
    assert window.scene.edges[Edge("a", "m", "input")].shape().contains(mid)  # Qt's band would take it
    _band(window, _at(window, mid.x() - 60, mid.y() - 60), _at(window, mid.x() + 60, mid.y() + 60))
    assert window.scene.selectedItems() == []


def test_a_band_selects_the_nodes_it_meets_and_not_their_wires(window: MainWindow) -> None:
    _load(window)
    b = window.scene.nodes["b"]
    # From left of a and b to just inside a's and b's right edge: a and b, not m, no wire.
    _band(window, _at(window, -40, -40), _at(window, NODE_W - 20, 200 + b.height() + 20))
    assert sorted(window.scene.selected_node_ids()) == ["a", "b"]
    assert window.scene.selected_edges() == []
    assert window.view.rubberBandRect().isNull()  # released: no band left


def test_ctrl_adds_the_band_to_the_selection_and_a_plain_band_replaces_it(window: MainWindow) -> None:
    _load(window)
    scene = window.scene
    scene.nodes["m"].setSelected(True)
    b = scene.nodes["b"]
    corner, below_b = _at(window, -40, 180), _at(window, NODE_W - 20, 200 + b.height() + 20)
    _band(window, corner, below_b, CTRL)
    assert sorted(scene.selected_node_ids()) == ["b", "m"]
    # Shrinking a Ctrl band gives back what it took, never what was selected before.
    vp = window.view.viewport()
    QTest.mousePress(vp, LEFT, CTRL, corner)
    QTest.mouseMove(vp, below_b)
    assert sorted(scene.selected_node_ids()) == ["b", "m"]
    QTest.mouseMove(vp, corner + QPoint(8, 8))  # past the drag distance, over no node
    assert sorted(scene.selected_node_ids()) == ["b", "m"]  # b was selected before this band
    QTest.mouseRelease(vp, LEFT, CTRL, corner + QPoint(8, 8))
    _band(window, corner, below_b)
    assert scene.selected_node_ids() == ["b"]


def test_escape_gives_back_the_selection_and_takes_the_band_away(window: MainWindow, qtbot) -> None:
    _load(window)
    window.activateWindow()
    qtbot.waitActive(window)
    scene = window.scene
    scene.nodes["m"].setSelected(True)
    b = scene.nodes["b"]
    _band(window, _at(window, -40, -40), _at(window, NODE_W - 20, 200 + b.height() + 20), release=False)
    assert sorted(scene.selected_node_ids()) == ["a", "b"]
    assert not window.view.rubberBandRect().isNull()
    QTest.keyClick(window.view, Qt.Key.Key_Escape)
    assert scene.selected_node_ids() == ["m"] and window.view.rubberBandRect().isNull()
    QTest.mouseRelease(window.view.viewport(), LEFT, NO_MOD, _at(window, NODE_W - 20, 200))


def test_the_band_is_drawn_while_it_lasts(window: MainWindow) -> None:
    _load(window)
    mid = _wire_middle(window)
    inside = _at(window, mid.x(), mid.y() + 60)  # empty canvas, no wire

    def pixel() -> QColor:
        QApplication.processEvents()
        return window.view.viewport().grab().toImage().pixelColor(inside)

    plain = pixel()
    _band(window, _at(window, mid.x() - 80, mid.y() + 20), _at(window, mid.x() + 80, mid.y() + 100), release=False)
    band = window.view.rubberBandRect()
    assert band.contains(inside)
    assert pixel() != plain  # the style's band over the canvas
    QTest.mouseRelease(window.view.viewport(), LEFT, NO_MOD, _at(window, mid.x() + 80, mid.y() + 100))
    assert pixel() == plain


def test_one_selection_change_per_mouse_move(window: MainWindow) -> None:
    g = Graph()
    for i in range(12):
        g.add_node(Node(f"x{i}", "tensor", value=float(i)), pos=(0.0, 120.0 * i))
    window.doc.reset(g)
    window.view.fit_graph()
    QApplication.processEvents()
    scene, view = window.scene, window.view
    changes: list[None] = []

    def changed() -> None:  # touches no Qt object: Qt may send one while the window goes
        changes.append(None)

    scene.selectionChanged.connect(changed)
    try:
        vp = view.viewport()
        QTest.mousePress(vp, LEFT, NO_MOD, view.mapFromScene(QPointF(-60, -60)))
        changes.clear()
        QTest.mouseMove(vp, view.mapFromScene(QPointF(NODE_W + 60, 120.0 * 11 + 60)))  # all 12 at once
        assert len(changes) == 1 and len(scene.selected_node_ids()) == 12
    finally:
        scene.selectionChanged.disconnect(changed)


def _zoomed_out(window: MainWindow) -> None:
    """40 nodes, tensors wired to negs, zoomed out far enough for the overview."""
    g = Graph()
    for i in range(40):
        node = Node(f"x{i}", "tensor", value=float(i)) if i % 2 == 0 else Node(f"x{i}", "neg")
        g.add_node(node, pos=(300.0 * (i % 8), 200.0 * (i // 8)))
        if i % 2:
            g.add_edge(Edge(f"x{i - 1}", f"x{i}", "input"))
    window.doc.reset(g)
    window.view.resetTransform()
    window.view.scale(0.1, 0.1)
    window.view.centerOn(QPointF(1100, 450))
    QApplication.processEvents()
    assert window.scene.overview.on


def _color_at(window: MainWindow, node_id: str) -> QColor:
    QApplication.processEvents()
    item = window.scene.nodes[node_id]
    image: QImage = window.view.viewport().grab().toImage()
    return image.pixelColor(window.view.mapFromScene(item.sceneBoundingRect().center()))


def test_in_the_overview_the_band_selection_is_drawn_and_undrawn(window: MainWindow) -> None:
    _zoomed_out(window)
    scene = window.scene
    plain = _color_at(window, "x0")
    assert plain != COLORS["selected"]
    _band(window, window.view.mapFromScene(QPointF(-100, -100)), window.view.mapFromScene(QPointF(NODE_W + 20, 60)))
    assert scene.selected_node_ids() == ["x0"]
    assert _color_at(window, "x0") == COLORS["selected"]
    assert _color_at(window, "x1") != COLORS["selected"]
    scene.clearSelection()
    assert _color_at(window, "x0") == plain  # the cached background never had the selection


def test_selecting_in_the_overview_redraws_no_wire(window: MainWindow) -> None:
    _zoomed_out(window)
    scene = window.scene
    with wires_drawn(scene) as drawn:
        QApplication.processEvents()
        drawn.clear()
        scene.nodes["x3"].setSelected(True)
        assert _color_at(window, "x3") == COLORS["selected"]
        assert drawn == []


def test_a_band_whose_release_went_elsewhere_stops_where_it_was(window: MainWindow) -> None:
    """A popup or another window took the release: the next move comes with no button down."""
    _load(window)
    scene, vp = window.scene, window.view.viewport()
    b = scene.nodes["b"]
    QTest.mousePress(vp, LEFT, NO_MOD, _at(window, -40, -40))
    QTest.mouseMove(vp, _at(window, NODE_W - 20, 40))
    assert scene.selected_node_ids() == ["a"]
    far = _at(window, FAR + NODE_W + 20, 200 + b.height() + 20)  # over every node
    QApplication.sendEvent(vp, QMouseEvent(QEvent.Type.MouseMove, QPointF(far), QPointF(vp.mapToGlobal(far)),
                                           Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, NO_MOD))
    assert scene.selected_node_ids() == ["a"]
    assert scene.interaction is None and window.view.rubberBandRect().isNull()
