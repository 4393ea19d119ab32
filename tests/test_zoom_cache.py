"""A wheel gesture on a big canvas (gui.canvas.zoomcache): the notches show the picture the
gesture began with, scaled, drawing neither the scene's wires nor any node again; the exact
picture comes when the gesture ends and is what an exact drawing gives; a small canvas draws
every notch exactly. Driven with wheel events on the viewport; pixels from the view's grab.
"""

from __future__ import annotations

from helpers import wires_drawn
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

from graph.model import Edge, Graph, Node
from gui.canvas.zoomcache import SETTLE_MS, SNAPSHOT_FROM
from gui.window import MainWindow


def _graph(n: int = 80) -> Graph:
    g = Graph()
    for i in range(n):
        node = Node(f"x{i}", "tensor", value=float(i)) if i % 2 == 0 else Node(f"x{i}", "neg")
        g.add_node(node, pos=(260.0 * (i % 10), 150.0 * (i // 10)))
        if i % 2:
            g.add_edge(Edge(f"x{i - 1}", f"x{i}", "input"))
    return g


def _wheel(window: MainWindow, delta: int) -> None:
    vp = window.view.viewport()
    at = QPointF(vp.width() / 2, vp.height() / 2)
    QApplication.sendEvent(vp, QWheelEvent(at, QPointF(vp.mapToGlobal(at.toPoint())), QPoint(), QPoint(0, delta),
                                           Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
                                           Qt.ScrollPhase.NoScrollPhase, False))
    QApplication.processEvents()


def _grab(window: MainWindow) -> QImage:
    QApplication.processEvents()
    return window.view.viewport().grab().toImage()


def _show(window: MainWindow, graph: Graph, scale: float) -> None:
    window.resize(1600, 1000)
    window.doc.reset(graph)
    window.view.resetTransform()
    window.view.scale(scale, scale)
    window.view.centerOn(window.scene.itemsBoundingRect().center())
    QApplication.processEvents()


def _nodes_painted(window: MainWindow) -> int:
    """How many nodes painted themselves since _unpainted (NodeItem.paint sets `painted`)."""
    return sum(item.painted is not None for item in window.scene.nodes.values())


def _unpainted(window: MainWindow) -> None:
    for item in window.scene.nodes.values():
        item.painted = None


def _gesture_then_end(window: MainWindow) -> tuple[int, int, QImage]:
    """Three notches (how many times the wires and the nodes were drawn meanwhile), then the
    gesture's end: its picture."""
    cache = window.view.zoom_cache
    cache.timer.setInterval(60_000)  # a slow machine may take SETTLE_MS between two grabs: not here
    _grab(window)
    _unpainted(window)
    try:
        with wires_drawn(window.scene) as drawn:
            for delta in (120, 120, -120):
                _wheel(window, delta)
                _grab(window)
            assert cache.zooming and cache.timer.isActive()
            wires, nodes = len(drawn), _nodes_painted(window)
        cache.timer.timeout.emit()  # the gesture's end, as the timer gives it
        return wires, nodes, _grab(window)
    finally:
        cache.timer.setInterval(SETTLE_MS)


def _exact(window: MainWindow) -> QImage:
    """The view drawn again from nothing kept (its cached background and the nodes' pixmaps)."""
    for item in window.scene.nodes.values():
        item.update()
    window.view.resetCachedContent()
    return _grab(window)


def test_in_the_overview_notches_draw_no_wire_and_the_end_draws_exactly(window: MainWindow) -> None:
    _show(window, _graph(), 0.08)
    assert window.scene.overview.on
    wires, _, settled = _gesture_then_end(window)
    assert wires == 0
    assert settled == _exact(window)


def test_at_full_detail_a_big_canvas_repaints_no_node_until_the_end(window: MainWindow) -> None:
    _show(window, _graph(), 0.5)
    scene, view = window.scene, window.view
    assert not scene.overview.on
    seen = scene.overview.nodes.within(view.mapToScene(view.viewport().rect()).boundingRect())
    assert len(seen) >= SNAPSHOT_FROM
    wires, nodes, settled = _gesture_then_end(window)
    assert wires == 0 and nodes == 0
    assert settled == _exact(window)


def test_a_small_canvas_draws_every_notch_exactly(window: MainWindow) -> None:
    _show(window, _graph(12), 0.8)
    _grab(window)
    _unpainted(window)
    with wires_drawn(window.scene) as drawn:
        _wheel(window, 120)
        _grab(window)
        assert not window.view.zoom_cache.zooming
        assert len(drawn) >= 1 and _nodes_painted(window) >= 1


def test_the_gesture_ends_settle_ms_after_its_last_notch(window: MainWindow, qtbot) -> None:
    _show(window, _graph(), 0.08)
    cache = window.view.zoom_cache
    assert cache.timer.isSingleShot() and cache.timer.interval() == SETTLE_MS
    _wheel(window, 120)
    assert cache.zooming and cache.timer.isActive()
    qtbot.waitUntil(lambda: not cache.zooming, timeout=SETTLE_MS * 40)


def _mean(image: QImage, rect: QRect) -> tuple[float, float, float]:
    colors = [image.pixelColor(x, y) for x in range(rect.left(), rect.right(), 2)
              for y in range(rect.top(), rect.bottom(), 2)]
    return tuple(sum(getattr(c, ch)() for c in colors) / len(colors) for ch in ("redF", "greenF", "blueF"))


def test_the_scaled_picture_shows_the_nodes_where_they_are(window: MainWindow) -> None:
    _show(window, _graph(), 0.5)
    window.view.zoom_cache.timer.setInterval(60_000)  # however slow the machine: ended below
    _grab(window)
    _wheel(window, 120)
    scaled = _grab(window)
    assert window.view.zoom_cache.zooming
    window.view.zoom_cache.settle()
    exact = _grab(window)
    for n in ("x22", "x41", "x57"):
        item = window.scene.nodes[n]
        box = window.view.mapFromScene(item.sceneBoundingRect()).boundingRect()
        inner = box.adjusted(box.width() // 6, box.height() // 6, -box.width() // 6, -box.height() // 6)
        a, b = _mean(scaled, inner), _mean(exact, inner)
        assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < 0.06, (n, a, b)


def test_fit_during_a_gesture_shows_the_exact_picture(window: MainWindow) -> None:
    _show(window, _graph(), 0.08)
    window.view.zoom_cache.timer.setInterval(60_000)  # however slow the machine: Fit ends it
    _grab(window)
    _wheel(window, 120)
    assert window.view.zoom_cache.zooming
    window.view.fit_graph()
    assert not window.view.zoom_cache.zooming


def test_no_picture_for_an_empty_canvas_or_with_a_value_editor_open(window: MainWindow) -> None:
    _show(window, Graph(), 0.08)
    _wheel(window, 120)
    assert not window.view.zoom_cache.zooming  # the first-run hint stays as it is
    _show(window, _graph(), 0.5)
    editor = window.view.edit_value("x40")
    assert editor is not None and editor.isVisible()
    _wheel(window, 120)
    assert not window.view.zoom_cache.zooming  # the picture would show the editor twice
