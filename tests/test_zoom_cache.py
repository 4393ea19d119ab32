"""The overview's wheel gesture (gui.canvas.zoomcache): the notches show the last exact picture
scaled, without drawing the scene again; the exact picture comes when the gesture ends and is
what an exact drawing gives; a drawing of a part drops the kept picture; at full detail every
notch is exact. Driven with wheel events on the viewport; pixels from the view's own grab.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QWheelEvent
from PySide6.QtWidgets import QApplication

from graph.model import Edge, Graph, Node
from gui.canvas.zoomcache import SETTLE_MS
from gui.window import MainWindow


def _graph() -> Graph:
    g = Graph()
    for i in range(60):
        node = Node(f"x{i}", "tensor", value=float(i)) if i % 2 == 0 else Node(f"x{i}", "neg")
        g.add_node(node, pos=(300.0 * (i % 10), 200.0 * (i // 10)))
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


def _spy(window: MainWindow) -> list[object]:
    """Every exact drawing of the wires (the scene's background) from now on."""
    drawn: list[object] = []
    overview = window.scene.overview
    real = overview.paint_wires
    overview.paint_wires = lambda *a: (drawn.append(a[1]), real(*a))
    return drawn


def _grab(window: MainWindow) -> QImage:
    QApplication.processEvents()
    return window.view.viewport().grab().toImage()


def _zoomed_out(window: MainWindow, scale: float = 0.08) -> None:
    window.doc.reset(_graph())
    window.view.resetTransform()
    window.view.scale(scale, scale)
    window.view.centerOn(QPointF(1400, 500))
    QApplication.processEvents()


def test_notches_scale_the_last_picture_and_the_end_draws_it_exactly(window: MainWindow) -> None:
    _zoomed_out(window)
    view = window.view
    assert window.scene.overview.on
    timer = view.zoom_cache.timer
    timer.setInterval(60_000)  # a slow machine may take SETTLE_MS between two grabs: not here
    drawn = _spy(window)
    try:
        _grab(window)
        assert view.zoom_cache.image is not None  # the exact picture of the whole viewport, kept
        drawn.clear()
        for delta in (120, 120, -120):
            _wheel(window, delta)
            _grab(window)
        assert drawn == [] and view.zoom_cache.zooming  # three notches, no exact drawing
        assert timer.isActive()
        timer.timeout.emit()  # the gesture's end, as the timer gives it
        settled = _grab(window)
        assert len(drawn) == 1  # once, at the end of the gesture
        # What an exact drawing at this scale gives, with nothing kept from before.
        view.zoom_cache.image = None
        view.resetCachedContent()
        assert _grab(window) == settled
    finally:
        del window.scene.overview.paint_wires
        timer.setInterval(SETTLE_MS)


def test_the_gesture_ends_settle_ms_after_its_last_notch(window: MainWindow, qtbot) -> None:
    _zoomed_out(window)
    cache = window.view.zoom_cache
    assert cache.timer.isSingleShot() and cache.timer.interval() == SETTLE_MS
    _wheel(window, 120)
    assert cache.zooming and cache.timer.isActive()
    qtbot.waitUntil(lambda: not cache.zooming, timeout=SETTLE_MS * 40)


def test_the_scaled_picture_shows_the_nodes_where_they_are(window: MainWindow) -> None:
    _zoomed_out(window)
    _grab(window)
    _wheel(window, 120)
    image = _grab(window)
    item = window.scene.nodes["x22"]
    centre = window.view.mapFromScene(item.sceneBoundingRect().center())
    assert image.pixelColor(centre) == _exact_pixel(window, centre)


def _exact_pixel(window: MainWindow, at: QPoint):  # noqa: ANN202 - a QColor
    window.view.zoom_cache.settle()
    return _grab(window).pixelColor(at)


def test_drawing_a_part_drops_the_kept_picture(window: MainWindow) -> None:
    _zoomed_out(window)
    _grab(window)
    assert window.view.zoom_cache.image is not None
    window.scene.redraw(window.scene.nodes["x0"].sceneBoundingRect())
    _grab(window)
    assert window.view.zoom_cache.image is None  # it would show the scene as it was
    drawn = _spy(window)
    try:
        _wheel(window, 120)
        _grab(window)
        assert len(drawn) == 1  # nothing kept: the first notch is drawn exactly
    finally:
        del window.scene.overview.paint_wires


def test_at_full_detail_every_notch_is_exact(window: MainWindow) -> None:
    window.doc.reset(_graph())
    window.view.resetTransform()
    QApplication.processEvents()
    assert not window.scene.overview.on
    drawn = _spy(window)
    try:
        _grab(window)
        drawn.clear()
        for delta in (120, -120):
            _wheel(window, delta)
            _grab(window)
        assert len(drawn) == 2
    finally:
        del window.scene.overview.paint_wires
