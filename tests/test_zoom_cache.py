"""A wheel gesture on a big canvas (gui.canvas.zoomcache): the notches show the picture the
gesture began with, scaled, drawing neither the scene's wires nor any node again; the exact
picture comes when the gesture ends and is what an exact drawing gives; a small canvas draws
every notch exactly. Driven with wheel events on the viewport; pixels from the view's grab.
"""

from __future__ import annotations

import os

import pytest
from helpers import RESULT_TIMEOUT_MS, fresh_paint, on_screen, wires_drawn
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QImage, QPainter, QWheelEvent
from PySide6.QtWidgets import QApplication

from autograd_bridge.flows import EdgeFlow, FlowResult
from graph.model import Edge, Graph, Node
from gui.canvas import zoomcache
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


def _show(window: MainWindow, graph: Graph, scale: float, size: tuple[int, int] = (1600, 1000)) -> None:
    window.resize(*size)
    window.doc.reset(graph)
    window.computer.wait(RESULT_TIMEOUT_MS)  # its result shown now, not in the middle of a gesture
    for _ in range(3):  # the result is shown a turn or two after it arrives
        QApplication.processEvents()
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
        _until_settled(window)
        return wires, nodes, _grab(window)
    finally:
        cache.timer.setInterval(SETTLE_MS)


def _on_screen(window: MainWindow) -> QImage:
    """The viewport as last painted, where `_grab` paints it again."""
    return on_screen(window.view)


def _until_settled(window: MainWindow) -> int:
    """Turns of the event loop until the gesture's picture gives way to the exact one (drawn in
    pieces in the overview, a turn each)."""
    for turns in range(10_000):
        if not window.view.zoom_cache.zooming:
            return turns
        QApplication.processEvents()
    raise AssertionError("the exact picture never came")


def _exact(window: MainWindow) -> QImage:
    """The view drawn again from nothing kept (its cached background and the nodes' pixmaps)."""
    return fresh_paint(window.view)


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


# ---- the overview's exact picture, drawn in pieces at the gesture's end ----

def _pieces_gesture(window: MainWindow, monkeypatch, size: tuple[int, int] = (1600, 1000)) -> None:  # noqa: ANN001
    """A notch in the overview, with pieces of 40 wire pixels; the gesture's end begun."""
    monkeypatch.setattr(zoomcache, "STEP_PIXELS", 40.0)
    _show(window, _graph(), 0.08, size)
    assert window.scene.overview.on
    window.view.zoom_cache.timer.setInterval(60_000)  # ended below, however slow the machine
    _grab(window)
    _wheel(window, 120)
    _wheel(window, 120)
    assert window.view.zoom_cache.zooming and window.scene.overview.on
    window.view.zoom_cache.timer.timeout.emit()


# (1500, 901): the viewport's last row half covered by the scene's edge, where a painter with
# the view's antialiasing (not the plain one Qt caches the background with) leaves it unfilled
@pytest.mark.parametrize("size", [(1600, 1000), (1011, 777), (1500, 901)])
def test_the_exact_overview_comes_in_pieces_and_is_what_an_exact_drawing_gives(window: MainWindow, monkeypatch,  # noqa: ANN001
                                                                                 size: tuple[int, int]) -> None:
    _pieces_gesture(window, monkeypatch, size)
    cache = window.view.zoom_cache
    assert cache.zooming and cache.exact is not None  # nothing drawn in the emit's turn yet
    with wires_drawn(window.scene) as drawn:
        turns = _until_settled(window)
        settled = _grab(window)
        assert len(drawn) == 1  # the pieces' one drawing; the view's paint used its picture
    assert turns >= 3  # a turn of the event loop a piece
    assert cache.exact is None  # shown once, not kept
    assert settled == _exact(window)


def test_a_change_while_the_pieces_are_drawn_gives_the_exact_picture_at_once(window: MainWindow,
                                                                               monkeypatch) -> None:  # noqa: ANN001
    _pieces_gesture(window, monkeypatch)
    QApplication.processEvents()
    x, y = window.doc.graph.position("x41")
    window.doc.move({"x41": (x + 300.0, y + 200.0)})  # its box and wires move in the background
    with wires_drawn(window.scene) as drawn:
        _until_settled(window)
        settled = _grab(window)
        assert len(drawn) == 1  # drawn whole by the view, not from the stale pieces
    assert settled == _exact(window)


def test_a_notch_while_the_pieces_are_drawn_drops_them(window: MainWindow, monkeypatch) -> None:  # noqa: ANN001
    _pieces_gesture(window, monkeypatch)
    QApplication.processEvents()
    cache = window.view.zoom_cache
    assert cache.exact is not None and not cache.exact.done
    _wheel(window, -120)  # the gesture goes on
    assert cache.zooming and cache.exact is None
    cache.timer.timeout.emit()
    _until_settled(window)
    assert _grab(window) == _exact(window)


@pytest.mark.parametrize("size", [(1300, 900), (1800, 1100)])  # smaller; larger (the same transform)
def test_a_resize_while_the_pieces_are_drawn_gives_the_exact_picture(window: MainWindow, monkeypatch,  # noqa: ANN001
                                                                    size: tuple[int, int]) -> None:
    _pieces_gesture(window, monkeypatch)
    QApplication.processEvents()
    window.resize(*size)
    _until_settled(window)
    assert _grab(window) == _exact(window)


def test_the_pieces_hold_every_wire_once_in_order_each_within_its_pixels(window: MainWindow) -> None:
    _show(window, _graph(), 0.08)
    overview, scale = window.scene.overview, 0.08
    shown = overview.edges.within(window.scene.sceneRect())
    assert len(shown) == 40
    d = overview.edges.data
    pixels = {i: max(d[i, 2] - d[i, 0], d[i, 3] - d[i, 1]) * scale + 1.0 for i in shown.tolist()}
    largest = max(pixels.values())
    for step in (1.0, 30.0, 100.0, 1e9):
        pieces = overview._pieces(shown, scale, step)
        assert [i for piece in pieces for i in piece] == shown.tolist()
        assert all(piece for piece in pieces)
        # a piece ends where its pixels first pass a multiple of step: at most step and one line
        assert all(sum(pixels[i] for i in piece) <= step + largest for piece in pieces), step
        if step == 1e9:
            assert len(pieces) == 1
        if step == 30.0:
            assert len(pieces) >= sum(pixels.values()) / (30.0 + largest)
    assert overview._pieces(shown, scale, None) == [shown.tolist()]


@pytest.mark.parametrize("scale", [0.08, 0.5])  # the overview's lines; full detail's curves
@pytest.mark.parametrize("flows", [False, True])
def test_the_background_drawn_in_pieces_is_the_background_drawn_whole(window: MainWindow, flows: bool,
                                                                      scale: float) -> None:
    """CanvasScene.background_steps with pieces of a few pixels against drawBackground, in the
    overview and at full detail, with the gradient-flow view off and on (its wires one pen per
    code)."""
    _show(window, _graph(), scale)
    scene = window.scene
    assert scene.overview.on == (scale < 0.1)
    if flows:
        edges = list(window.doc.graph.edges)
        state = scene.overview.flow
        state.on = True
        state.set_result(FlowResult(0, "x79", flows={e: EdgeFlow(10.0 ** (i % 9 - 4), (), "") for i, e
                                                     in enumerate(edges)}))
        scene.overview.flow_changed()
        assert len({state.code(e) for e in edges}) >= 4
    transform = window.view.viewportTransform()
    rect = window.view.mapToScene(window.view.viewport().rect()).boundingRect()

    def drawn(pieces: bool) -> tuple[QImage, int]:
        image = QImage(window.view.viewport().size(), QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(0)
        p = QPainter(image)
        p.setTransform(transform)
        turns = 0
        if pieces:
            turns = sum(1 for _ in scene.background_steps(p, rect, 20.0))
        else:
            scene.drawBackground(p, rect)
        p.end()
        return image, turns

    whole, _ = drawn(False)
    in_pieces, turns = drawn(True)
    assert turns >= 3
    assert in_pieces == whole


# ---- at full detail: the exact picture revealed a band of the viewport at a time ----

def _reveal_gesture(window: MainWindow, monkeypatch) -> None:  # noqa: ANN001
    """A notch at full detail, with bands of 5 nodes; the gesture's end begun."""
    monkeypatch.setattr(zoomcache, "NODES_PER_BAND", 5)
    _show(window, _graph(), 0.5)
    assert not window.scene.overview.on
    cache = window.view.zoom_cache
    cache.timer.setInterval(60_000)  # ended below, however slow the machine
    _grab(window)
    _wheel(window, 120)
    assert cache.zooming
    cache.timer.timeout.emit()
    while cache.reveal is None and cache.zooming:  # the wires first, in pieces (ExactPicture)
        cache._step()


def test_at_full_detail_the_wires_come_in_pieces_before_the_nodes_and_their_paint_draws_none(
        window: MainWindow, monkeypatch) -> None:  # noqa: ANN001
    """At full detail the background too is drawn in pieces, a turn each, before the first band:
    that band's paint puts the picture in the view's cache instead of drawing every wire in view
    (18-27 ms on a slow machine, where a notch leaves the overview)."""
    monkeypatch.setattr(zoomcache, "STEP_PIXELS", 40.0)
    _show(window, _graph(), 0.5)
    cache = window.view.zoom_cache
    cache.timer.setInterval(60_000)
    _grab(window)
    _wheel(window, 120)
    assert cache.zooming and not window.scene.overview.on
    _unpainted(window)
    with wires_drawn(window.scene) as drawn:
        cache.timer.timeout.emit()
        pieces = 0
        while cache.reveal is None:
            assert cache.zooming and cache.exact is not None
            assert _nodes_painted(window) == 0  # the gesture's picture stays while the wires come
            QApplication.processEvents()
            pieces += 1
        assert pieces >= 3 and cache.exact.done
        assert len(drawn) == 1  # the pieces' one drawing
        _until_settled(window)
        assert len(drawn) == 1  # the first band's paint used the picture: no wire drawn again
    assert cache.exact is None and cache.reveal is None
    assert _on_screen(window) == _exact(window)


def test_at_full_detail_the_exact_picture_comes_a_band_at_a_time(window: MainWindow, monkeypatch) -> None:  # noqa: ANN001
    _reveal_gesture(window, monkeypatch)
    cache, scene = window.view.zoom_cache, window.scene
    reveal = cache.reveal
    assert reveal is not None and len(reveal.bands) >= 4
    assert reveal.bands[0].height() == 1  # the background's turn
    t = window.view.viewportTransform()
    height = window.view.viewport().height()
    top = {n: int(min(max(item.y() * t.m22() + t.dy(), 1), height)) for n, item in scene.nodes.items()}
    rows = [[n for n, y in top.items() if band.top() <= y <= band.bottom()] for band in reveal.bands[1:]]
    assert all(len(r) <= 5 or len({scene.nodes[n].y() for n in r}) == 1 for r in rows), rows  # or one row
    in_view = set(scene.overview.nodes.within(window.view.mapToScene(window.view.viewport().rect()).boundingRect())
                  .tolist())
    painted_per_turn = []
    ever = set()
    while cache.zooming:
        _unpainted(window)
        QApplication.processEvents()
        now = {n for n, item in scene.nodes.items() if item.painted is not None}
        painted_per_turn.append(len(now))
        ever |= {scene.overview.nodes.index[n] for n in now}
    assert len(painted_per_turn) >= 4
    # a band paints the nodes whose tops are in it (5, or a row of 10), and those of the row
    # above reaching into it
    assert max(painted_per_turn) <= 10 + 10, painted_per_turn
    assert ever >= in_view  # every node in view drew itself at the new scale
    assert _on_screen(window) == _exact(window)


def test_a_pan_while_bands_are_revealed_gives_the_exact_picture(window: MainWindow, monkeypatch) -> None:  # noqa: ANN001
    _reveal_gesture(window, monkeypatch)
    QApplication.processEvents()
    cache = window.view.zoom_cache
    assert cache.reveal is not None and cache.reveal.bands
    bar = window.view.horizontalScrollBar()
    bar.setValue(bar.value() + 37)
    _until_settled(window)
    assert cache.reveal is None
    assert _on_screen(window) == _exact(window)


@pytest.mark.parametrize(("scale", "dx"), [(0.5, 40.0), (1.3, 17.7)])
def test_a_node_moved_by_the_document_is_painted_afresh_at_its_new_place(window: MainWindow, scale: float,
                                                                       dx: float) -> None:
    """An undo of a move, a layout: the node's cached pixmap, moved by a fraction of a pixel,
    would be drawn at a whole one (at 0.5, 30.1 units down is 15.05 px)."""
    _show(window, _graph(), scale)
    _grab(window)
    x, y = window.doc.graph.position("x0")
    window.doc.move({"x0": (x + dx, y + 30.1)})
    QApplication.processEvents()
    assert _on_screen(window) == _exact(window)


@pytest.mark.parametrize("node", ["x0", "x79"])  # in the first band; in the last
def test_a_change_while_bands_are_revealed_shows_when_they_are(window: MainWindow, monkeypatch, node: str) -> None:  # noqa: ANN001
    _reveal_gesture(window, monkeypatch)
    QApplication.processEvents()
    QApplication.processEvents()
    x, y = window.doc.graph.position(node)
    window.doc.move({node: (x + 40.0, y + 30.0)})
    _until_settled(window)
    assert _on_screen(window) == _exact(window)


def test_a_notch_while_bands_are_revealed_goes_on_with_the_gesture(window: MainWindow, monkeypatch) -> None:  # noqa: ANN001
    _reveal_gesture(window, monkeypatch)
    QApplication.processEvents()
    cache = window.view.zoom_cache
    _wheel(window, -120)
    assert cache.zooming and cache.reveal is None
    cache.timer.timeout.emit()
    _until_settled(window)
    assert _on_screen(window) == _exact(window)


def test_a_paint_across_the_revealed_edge_leaves_no_part_of_the_gesture_picture(window: MainWindow,
                                                                               monkeypatch) -> None:  # noqa: ANN001
    _reveal_gesture(window, monkeypatch)
    QApplication.processEvents()
    QApplication.processEvents()
    cache = window.view.zoom_cache
    shown = cache.reveal.shown.boundingRect()
    assert cache.reveal.bands and shown.height() > 20
    window.view.viewport().repaint(QRect(0, shown.bottom() - 10, 300, 20))  # half revealed, half not
    _until_settled(window)
    assert _on_screen(window) == _exact(window)


def test_a_change_after_the_last_piece_before_its_paint_gives_the_exact_picture(window: MainWindow,
                                                                               monkeypatch) -> None:  # noqa: ANN001
    _pieces_gesture(window, monkeypatch)
    cache = window.view.zoom_cache
    for _ in range(10_000):
        if cache.exact is None or cache.exact.done:
            break
        cache._step()  # the pieces, without the event loop: no paint in between
    assert cache.exact is not None and cache.exact.done and not cache.zooming
    x, y = window.doc.graph.position("x41")
    window.doc.move({"x41": (x + 300.0, y + 200.0)})
    assert _on_screen(window) == _exact(window)


CLOSE_WHILE_PIECES = """
import os, sys, tempfile
sys.path[:0] = [{root!r}, {tests!r}]
os.environ["GRADCANVAS_RECOVERY_DIR"] = tempfile.mkdtemp()
from PySide6.QtCore import QSettings, QTimer
from gui import app
from gui.canvas import zoomcache
from gui.qtapp import application
import test_zoom_cache as t

zoomcache.STEP_PIXELS = 40.0
qapp = application()
w = app.start_window(None, QSettings(os.path.join(tempfile.mkdtemp(), "s.ini"), QSettings.Format.IniFormat),
                     tempfile.mkdtemp())
w.ask_recover = lambda _found: 0

def gesture():
    t._show(w, t._graph(), 0.08)
    w.computer.wait(60_000)  # no compute at the close: leave() returns, and Python ends as usual
    t._wheel(w, -120)
    w.view.zoom_cache.timer.timeout.emit()
    QTimer.singleShot(0, close)

turns = []

def close():  # a turn after the one that made the image: a piece drawn, more to come
    exact = w.view.zoom_cache.exact
    if exact is not None and exact.image is not None and not exact.done:
        turns.append(1)
    if len(turns) < 2 and exact is not None and not exact.done:
        QTimer.singleShot(0, close)
        return
    print("PENDING", len(turns) == 2 and not exact.done, flush=True)
    w.close()

QTimer.singleShot(0, gesture)
print("LEFT", app.leave(w, qapp.exec()), flush=True)
"""


def test_closing_the_app_while_pieces_are_pending_ends_cleanly(tmp_path) -> None:  # noqa: ANN001
    """As the app runs (gui.app: start_window, the event loop, leave), closed between two pieces:
    an image still being painted on at exit was a segmentation fault."""
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).resolve().parent
    script = tmp_path / "close_while_pieces.py"
    script.write_text(CLOSE_WHILE_PIECES.format(root=str(tests.parent), tests=str(tests)), encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert "PENDING True" in proc.stdout, proc.stdout + proc.stderr[-2000:]
    assert proc.returncode == 0 and "LEFT 0" in proc.stdout, (proc.returncode, proc.stderr[-2000:])
