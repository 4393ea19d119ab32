"""The canvas at scale: what the bulk drawing (gui.canvas.overview, wires) shows and repaints.

Zoomed out far enough that every node is a flat rectangle, the view draws all nodes and wires in
one pass, and Qt draws no item; at any zoom the scene draws every wire under the nodes in one
pass, and Qt never paints an EdgeItem. These tests check the pixels of both, that edges are still
hit, selected and deleted like items, and that a change repaints the old and the new place (the
view caches what the scene draws: a missed repaint leaves a stale picture). Speed is measured in
benchmarks/bench_canvas.py, not here.
"""

from __future__ import annotations

import math

import pytest
from helpers import scene_and_view
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QContextMenuEvent, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QGraphicsItem, QGraphicsSceneHelpEvent, QMenu, QToolTip

from benchmarks.bench_canvas import peer_graph
from graph.model import Edge, Graph, Node
from gui.canvas import COLORS, NODE_W, CanvasScene, CanvasView, EdgeItem, items, lod
from gui.canvas import scene as scene_module
from gui.canvas.overview import OVERVIEW_SCALE
from gui.canvas.wires import WIRE_W, flat_lines, wire_path, wire_pen

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier


class Paints(QObject):
    """The regions the viewport repaints."""

    def __init__(self) -> None:
        super().__init__()
        self.regions: list = []

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Paint:
            self.regions.append(event.region())
        return False

    def covered(self, rect: QRect) -> bool:
        return any(r.contains(rect) for r in self.regions)


def _canvas(qtbot, graph: Graph, size: tuple[int, int] = (1000, 700)) -> tuple[CanvasScene, CanvasView]:
    return scene_and_view(qtbot, graph, size=size)


def _grid(n: int = 12) -> Graph:
    """n add nodes in rows of four, each fed by the one before."""
    g = Graph()
    for i in range(n):
        g.add_node(Node(f"n{i}", "add"), pos=((i % 4) * 300.0, (i // 4) * 200.0))
        if i:
            g.add_edge(Edge(f"n{i - 1}", f"n{i}", "input"))
    return g


def _at(view: CanvasView, scale: float) -> None:
    view.resetTransform()
    view.scale(scale, scale)
    view.centerOn(view.scene().content_rect().center())
    QApplication.processEvents()


def _pixel(view: CanvasView, image: QImage, scene_point: QPointF) -> QColor:
    """The grabbed view's pixel at a scene point (the grab includes the view's frame)."""
    return image.pixelColor(view.viewport().mapTo(view, view.mapFromScene(scene_point)))


def _near(view: CanvasView, image: QImage, scene_point: QPointF) -> list[QColor]:
    """The grabbed pixels within one pixel of a scene point (a one-pixel line may fall on either
    side of where the point rounds to)."""
    c = view.viewport().mapTo(view, view.mapFromScene(scene_point))
    return [image.pixelColor(c + QPoint(dx, dy)) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]


def _viewport_rect(view: CanvasView, scene_rect: QRectF) -> QRect:
    return view.mapFromScene(scene_rect).boundingRect()


def _settle() -> None:
    for _ in range(3):
        QApplication.processEvents()


# ---- when the view draws in one pass ----

def test_the_overview_is_on_exactly_where_every_node_draws_its_flat_rectangle(qtbot) -> None:
    scene, view = _canvas(qtbot, _grid())
    below = scene.overview.below()
    assert below == pytest.approx(lod.shape_below(100.0))  # the scene's tallest node: an add, 100 units
    assert below >= OVERVIEW_SCALE  # no node of any op is taller than the one that sets that
    for h in (82.0, 100.0, 130.0):  # just below a node's threshold no summary (its title alone), at it SUMMARY
        assert lod.level_for(lod.shape_below(h) * 0.999, h) == lod.TITLE
        assert lod.level_for(lod.shape_below(h), h) == lod.SUMMARY
    for scale, on in ((below * 0.99, True), (below, False), (0.05, True), (1.0, False)):
        _at(view, scale)
        assert scene.overview.on is on, scale
        assert scene.minimumRenderSize() == (pytest.approx(1e30) if on else 0.0)


def test_in_the_overview_qt_paints_no_item_and_the_view_draws_every_node_in_its_colour(qtbot) -> None:
    scene, view = _canvas(qtbot, _grid())
    scene.nodes["n1"].setSelected(True)
    scene.doc.set_target("n5")
    _at(view, 0.25)
    for item in scene.nodes.values():
        item.painted = None
    image = view.grab().toImage()
    assert scene.overview.on
    assert all(item.painted is None for item in scene.nodes.values())  # no NodeItem.paint ran
    expected = {"n0": COLORS["op"], "n1": COLORS["selected"], "n5": COLORS["target"], "n11": COLORS["op"]}
    for n, color in expected.items():
        assert _pixel(view, image, scene.nodes[n].sceneBoundingRect().center()) == color, n
    # The wire n0 -> n1 runs straight from port to port, between the two boxes.
    a = scene.nodes["n0"].mapToScene(scene.nodes["n0"].output_pos())
    b = scene.nodes["n1"].mapToScene(scene.nodes["n1"].input_pos("input"))
    assert any(c != COLORS["background"] for c in _near(view, image, (a + b) / 2))


def test_a_wire_dragged_in_the_overview_is_drawn(qtbot) -> None:
    scene, view = _canvas(qtbot, _grid())
    _at(view, 0.24)
    assert scene.overview.on
    start = view.mapFromScene(scene.nodes["n11"].mapToScene(scene.nodes["n11"].output_pos()))
    vp = view.viewport()
    QTest.mousePress(vp, LEFT, NO_MOD, start)
    end = start + QPoint(0, 60)  # below the last row: empty canvas
    for i in range(1, 4):
        QTest.mouseMove(vp, start + QPoint(0, 20 * i))
    drag = scene.interaction
    assert drag is not None
    image = view.grab().toImage()
    mid = drag.wire.path().pointAtPercent(0.5)
    assert any(c != COLORS["background"] for c in _near(view, image, mid))  # the wire is there, drawn by the view
    QTest.mouseRelease(vp, LEFT, NO_MOD, end)
    assert scene.interaction is None


# ---- repaints where something changed (the view caches what the scene draws) ----

@pytest.mark.parametrize("scale", [0.2, 0.6])
def test_dragging_a_node_repaints_where_it_was_and_where_it_is(qtbot, scale: float) -> None:
    scene, view = _canvas(qtbot, _grid())
    _at(view, scale)
    item = scene.nodes["n5"]
    before = item.sceneBoundingRect()
    paints = Paints()
    view.viewport().installEventFilter(paints)
    start = view.mapFromScene(item.mapToScene(QPointF(NODE_W / 2, 50)))
    vp = view.viewport()
    QTest.mousePress(vp, LEFT, NO_MOD, start)
    for i in range(1, 4):
        QTest.mouseMove(vp, start + QPoint(15 * i, 10 * i))
        _settle()
    QTest.mouseRelease(vp, LEFT, NO_MOD, start + QPoint(45, 30))
    _settle()
    after = item.sceneBoundingRect()
    assert after.topLeft() != before.topLeft()
    for rect in (before, after):
        assert paints.covered(_viewport_rect(view, rect).adjusted(1, 1, -1, -1)), rect
    # What is on screen: the node where it is now, the background where it was.
    image = view.grab().toImage()
    assert _pixel(view, image, after.center()) != COLORS["background"]
    assert _pixel(view, image, QPointF(before.left() + 3, before.bottom() - 3)) == COLORS["background"]
    # Its wires follow it.
    edge = scene.edges[Edge("n4", "n5", "input")]
    assert edge.path().pointAtPercent(1.0) == item.mapToScene(item.input_pos("input"))


@pytest.mark.parametrize("scale", [0.2, 0.6])
def test_selecting_a_node_or_a_wire_repaints_it(qtbot, scale: float) -> None:
    scene, view = _canvas(qtbot, _grid())
    _at(view, scale)
    _settle()
    paints = Paints()
    view.viewport().installEventFilter(paints)
    drawn = []
    draw = scene.drawBackground
    scene.drawBackground = lambda p, rect: (drawn.append(QRectF(rect)), draw(p, rect))
    wire = scene.edges[Edge("n5", "n6", "input")]
    wire.setSelected(True)  # alone: nothing else asks for a paint
    _settle()
    assert paints.covered(_viewport_rect(view, wire.rect()).adjusted(1, 1, -1, -1))
    assert any(r.contains(wire.rect()) for r in drawn)  # the cached background was redrawn there
    paints.regions.clear()
    scene.clearSelection()
    scene.nodes["n9"].setSelected(True)
    _settle()
    assert paints.covered(_viewport_rect(view, wire.rect()).adjusted(1, 1, -1, -1))  # no longer selected
    assert paints.covered(_viewport_rect(view, scene.nodes["n9"].sceneBoundingRect()).adjusted(2, 2, -2, -2))


# ---- wires: drawn by the scene, an item for the mouse where the mouse is ----

def test_wires_are_never_painted_by_qt_but_are_hit_selected_and_deleted(qtbot) -> None:
    scene, view = _canvas(qtbot, _grid())
    _at(view, 1.0)
    assert not any(isinstance(item, EdgeItem) for item in scene.items())  # none made for a new scene
    edge = Edge("n1", "n2", "input")
    wire = scene.edges[edge]
    mid = wire.path().pointAtPercent(0.5)
    assert scene.wire_at(mid) is wire and scene.wire_at(mid + QPointF(0, 40)) is None
    view.centerOn(mid)
    QTest.mouseClick(view.viewport(), LEFT, NO_MOD, view.mapFromScene(mid))
    assert wire.proxy is not None and scene.selectedItems() == [wire.proxy]  # made at the press
    assert wire.proxy.flags() & QGraphicsItem.GraphicsItemFlag.ItemHasNoContents
    assert scene.selected_edges() == [edge] and wire.isSelected()
    image = view.grab().toImage()
    assert COLORS["edge_selected"] in _near(view, image, mid)  # drawn by the scene, as selected
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Delete)
    assert edge not in scene.doc.graph.edges and edge not in scene.edges


def _click(view: CanvasView, at: QPointF) -> None:
    view.centerOn(at)
    QTest.mouseClick(view.viewport(), LEFT, NO_MOD, view.mapFromScene(at))


def test_where_wires_cross_the_later_one_is_clicked_named_and_given_the_menu(qtbot, monkeypatch) -> None:  # noqa: ANN001
    """As when every wire was an item (later items over earlier ones), whichever wires were
    clicked before: a wire's item is made only when the mouse finds it (Wire.item)."""
    g = Graph()
    for n, pos in (("a", (0.0, 0.0)), ("b", (0.0, 400.0)), ("c", (500.0, 0.0)), ("d", (500.0, 400.0))):
        g.add_node(Node(n, "add"), pos=pos)
    first, later = Edge("a", "d", "input"), Edge("b", "c", "input")
    g.add_edge(first)
    g.add_edge(later)
    scene, view = _canvas(qtbot, g)
    _at(view, 1.0)
    pa, pb = scene.edges[first].path(), scene.edges[later].path()
    crossing = min((pa.pointAtPercent(t / 1000) for t in range(1000)),
                   key=lambda p: min((p - pb.pointAtPercent(s / 400)).manhattanLength() for s in range(400)))
    assert scene.edges[first].hit(crossing) and scene.edges[later].hit(crossing)
    _click(view, crossing)
    assert scene.selected_edges() == [later]
    _click(view, pb.pointAtPercent(0.15))
    _click(view, pa.pointAtPercent(0.15))  # the earlier wire's item is now the newer item
    assert scene.selected_edges() == [first]
    _click(view, crossing)
    assert scene.selected_edges() == [later] and scene.wire_at(crossing) is scene.edges[later]
    help_event = QGraphicsSceneHelpEvent(QEvent.Type.GraphicsSceneHelp)
    help_event.setScenePos(crossing)
    help_event.setScreenPos(view.viewport().mapToGlobal(view.mapFromScene(crossing)))
    scene.helpEvent(help_event)
    assert QToolTip.text().startswith("b → c.input"), QToolTip.text()
    QToolTip.hideText()
    menus = []

    class Menu(QMenu):  # records its first entry instead of opening
        def exec(self, *_args: object) -> None:
            menus.append(self.actions()[0].text() if self.actions() else "")

    monkeypatch.setattr(items, "QMenu", Menu)  # an edge's menu
    monkeypatch.setattr(scene_module, "QMenu", Menu)  # the canvas's, were the wire missed
    at = view.mapFromScene(crossing)  # Qt finds the items under the event's global position
    menu_event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, at, view.viewport().mapToGlobal(at))
    QApplication.sendEvent(view.viewport(), menu_event)
    assert menus == ["Delete edge b → c.input"], menus


def test_a_wire_item_follows_its_wire_and_goes_with_the_scene(qtbot) -> None:
    scene, view = _canvas(qtbot, _grid())
    _at(view, 1.0)
    edge = Edge("n4", "n5", "input")
    wire = scene.edges[edge]
    _click(view, wire.path().pointAtPercent(0.5))
    assert wire.isSelected()
    scene.clearSelection()
    x, y = scene.doc.graph.position("n5")
    scene.doc.move({"n5": (x + 120.0, y + 90.0)})
    QApplication.processEvents()
    assert wire.proxy.rect() == wire.rect()
    _click(view, wire.path().pointAtPercent(0.5))  # where the wire is now
    assert scene.selected_edges() == [edge]
    scene.doc.reset(_grid())
    QApplication.processEvents()
    assert not any(isinstance(item, EdgeItem) for item in scene.items())  # the old items went with the old wires


def test_a_wire_is_drawn_at_any_zoom_with_the_pen_that_zoom_calls_for(qtbot) -> None:
    scene, view = _canvas(qtbot, _grid())
    wire = scene.edges[Edge("n1", "n2", "input")]
    for scale in (0.5, 1.0, 2.0, 3.5):
        _at(view, scale)
        view.centerOn(wire.path().pointAtPercent(0.5))
        image = view.grab().toImage()
        assert any(c != COLORS["background"] for c in _near(view, image, wire.path().pointAtPercent(0.5))), scale
        assert wire_pen(False, scale).isCosmetic() == (WIRE_W * scale <= 1.25)


def test_a_wide_wire_is_drawn_as_segments_that_stay_on_its_curve() -> None:
    for a, b in ((QPointF(0, 0), QPointF(300, 200)), (QPointF(0, 0), QPointF(9000, 150)),
                 (QPointF(500, 0), QPointF(0, 400))):  # a short S, a long flat one, one back to the left
        path = wire_path(a, b)
        ctrl = [(path.elementAt(i).x, path.elementAt(i).y) for i in range(4)]

        def at(t: float, ctrl: list = ctrl) -> tuple[float, float]:
            u = 1 - t
            w = (u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t)
            return (sum(wi * p[0] for wi, p in zip(w, ctrl, strict=True)),
                    sum(wi * p[1] for wi, p in zip(w, ctrl, strict=True)))

        for scale in (1.0, 4.0):
            lines = flat_lines((a.x(), a.y(), b.x(), b.y()), scale)
            assert lines[0].p1() == a and lines[-1].p2() == b
            assert all(p.p2() == q.p1() for p, q in zip(lines, lines[1:], strict=False))
            coarse = [at(k / 2000) for k in range(2001)]
            for line in lines:  # each segment's middle is near the curve, on screen
                mid = (line.center().x(), line.center().y())
                k = min(range(2001), key=lambda k, mid=mid: math.dist(mid, coarse[k]))
                near = min(math.dist(mid, at(min(1.0, max(0.0, (k - 1 + j / 500) / 2000)))) for j in range(1001))
                assert near * scale <= 0.5, (a, b, scale, near * scale)


def test_tooltips_are_made_when_shown(qtbot) -> None:
    scene, view = _canvas(qtbot, _grid())
    _at(view, 1.0)
    item = scene.nodes["n3"]
    for where, text in ((item.sceneBoundingRect().center(), "n3 (add)"),
                        (scene.edges[Edge("n0", "n1", "input")].path().pointAtPercent(0.5), "n0 → n1.input")):
        event = QGraphicsSceneHelpEvent(QEvent.Type.GraphicsSceneHelp)
        event.setScenePos(where)
        event.setScreenPos(view.viewport().mapToGlobal(view.mapFromScene(where)))
        scene.helpEvent(event)
        assert event.isAccepted() and QToolTip.text().startswith(text)
    assert item.toolTip().startswith("n3 (add)")


# ---- the benchmark's workload ----

def test_the_peer_workload_is_the_peer_benchmarks_graph() -> None:
    g = peer_graph(5000)
    assert len(g.nodes) == 5000 and len(g.edges) == 7498  # ../shared/peers/README.md: 7,498 wires
    cols = math.ceil(math.sqrt(5000))
    assert g.position("n0") == (0.0, 0.0) and g.position(f"n{cols + 1}") == (250.0, 150.0)
    assert all(g.nodes[n].op == "add" for n in g.nodes)
    other = [e for e in g.edges if e.port == "other"]
    assert all(int(e.dst[1:]) % 2 == 1 and int(e.dst[1:]) - 2 * cols <= int(e.src[1:]) <= int(e.dst[1:]) - 2
               for e in other)


def test_select_nodes_selects_them_alone_with_one_signal(qtbot) -> None:
    scene, _ = _canvas(qtbot, _grid())
    scene.nodes["n0"].setSelected(True)
    signals = []

    def seen() -> None:
        signals.append(scene.selected_node_ids())

    scene.selectionChanged.connect(seen)
    scene.select_nodes(["n7", "n2", "n11"])
    scene.selectionChanged.disconnect(seen)
    assert signals == [["n2", "n7", "n11"]]  # once, in the order the nodes were added
    assert scene.selected_node_ids() == ["n2", "n7", "n11"]


def test_a_result_that_makes_a_node_taller_can_end_the_overview_at_the_same_zoom(qtbot) -> None:
    """A big tensor's value gets a preview row: its node is taller and keeps its summary to a
    smaller zoom, so the overview (all nodes SHAPE) ends there, without a change of zoom."""
    from autograd_bridge.compute import ComputeSession

    g = Graph()
    g.add_node(Node("w", "tensor", value=[[float(i + j) for j in range(8)] for i in range(8)],
                    requires_grad=True), pos=(0.0, 0.0))
    g.add_node(Node("s", "sin"), pos=(300.0, 0.0))
    g.add_edge(Edge("w", "s", "input"))
    scene, view = _canvas(qtbot, g)
    before = scene.overview.below()
    scale = before * 0.95
    _at(view, scale)
    assert scene.overview.on
    scene.show_result(ComputeSession().compute(scene.doc.graph, "s", scene.doc.revision))
    item = scene.nodes["w"]
    assert scene.overview.below() < scale < before  # the preview row made it taller
    item.painted = None
    image = view.grab().toImage()
    assert not scene.overview.on
    assert item.painted is not None and item.painted[0] == lod.SUMMARY  # the item draws itself again
    assert _pixel(view, image, item.sceneBoundingRect().center()) != COLORS["leaf_grad"]  # not a flat rect


def test_preview_pictures_are_made_when_drawn_not_per_result(qtbot) -> None:  # noqa: ANN001
    """A result sizes every node's box for its preview row at once, but makes the pictures only
    for the nodes drawn at full detail (they cost ~0.4 ms each: 750 ms for 2,000 nodes)."""
    from autograd_bridge.compute import ComputeSession

    g = Graph()
    g.add_node(Node("x", "tensor", init={"fn": "randn", "shape": [64], "seed": 0}, requires_grad=True),
               pos=(0.0, 0.0))
    g.add_node(Node("t", "tanh"), pos=(300.0, 0.0))
    g.add_node(Node("far", "sin"), pos=(90_000.0, 90_000.0))
    g.add_node(Node("y", "sum"), pos=(600.0, 0.0))
    for a, b in (("x", "t"), ("t", "far"), ("far", "y")):
        g.add_edge(Edge(a, b, "input"))
    scene, view = scene_and_view(qtbot, g, "y")
    before = scene.nodes["t"].height()
    scene.show_result(ComputeSession().compute(scene.doc.graph, "y", scene.doc.revision))
    assert scene.nodes["t"].height() > before  # the preview row is there at once
    assert all(item._preview_images is None for item in scene.nodes.values())  # noqa: SLF001
    _at(view, 1.0)
    view.centerOn(scene.nodes["t"])
    view.grab()
    assert scene.nodes["t"]._preview_images is not None  # noqa: SLF001 - drawn: made
    assert scene.nodes["t"]._previews[0] is not None  # noqa: SLF001
    assert scene.nodes["far"]._preview_images is None  # noqa: SLF001 - off screen: not made
