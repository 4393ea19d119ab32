"""The canvas, driven with real (offscreen) mouse and keyboard events on the view's viewport.

Every check reads the document (doc.graph, the undo stack) or the scene's items; expected ids,
reasons and positions are computed here from the graph and the view's own mapping.
"""

from __future__ import annotations

import pytest
from helpers import assert_scene_mirrors, delete_at_teardown
from PySide6.QtCore import QEvent, QMimeData, QObject, QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QDragEnterEvent, QDragMoveEvent, QDropEvent, QKeyEvent, QKeySequence, QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from graph.fileformat import dumps
from graph.model import Edge, Graph, Node
from graph.ops import OPS
from gui.canvas import DIFF_BTN, NODE_W, CanvasScene, CanvasView, CutDrag, EdgeItem, MoveDrag, NodeItem, WireDrag
from gui.canvas.overview import LiftedWires
from gui.document import Document
from gui.window import MainWindow

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier
STEP = NODE_W + 80.0  # horizontal distance between the test graph's columns


# ---- helpers ----

def _graph() -> Graph:
    """a, b: scalar leaves; m = a * ?; n = -m.  Only a → m.input and m → n.input are wired."""
    g = Graph()
    g.add_node(Node("a", "tensor", value=2.0, requires_grad=True), pos=(0.0, 0.0))
    g.add_node(Node("b", "tensor", value=3.0), pos=(0.0, 160.0))
    g.add_node(Node("m", "mul"), pos=(STEP, 0.0))
    g.add_node(Node("n", "neg"), pos=(2 * STEP, 0.0))
    g.add_edge(Edge("a", "m", "input"))
    g.add_edge(Edge("m", "n", "input"))
    return g


def _load(window: MainWindow, graph: Graph, scale: float = 0.8) -> None:
    window.doc.reset(graph)
    window.view.resetTransform()
    window.view.scale(scale, scale)
    window.view.centerOn(window.scene.itemsBoundingRect().center())
    QApplication.processEvents()


def _vp(window: MainWindow, node_id: str, local: QPointF) -> QPoint:
    """A point in item-local coordinates of a node, in viewport pixels."""
    item = window.scene.nodes[node_id]
    p = window.view.mapFromScene(item.mapToScene(local))
    assert window.view.viewport().rect().contains(p), f"{node_id} is off screen"
    return p


def _out(window: MainWindow, n: str) -> QPoint:
    return _vp(window, n, window.scene.nodes[n].output_pos())


def _in(window: MainWindow, n: str, port: str) -> QPoint:
    return _vp(window, n, window.scene.nodes[n].input_pos(port))


def _body(window: MainWindow, n: str) -> QPoint:
    return _vp(window, n, QPointF(100, 60))


def _lerp(a: QPoint, b: QPoint, t: float) -> QPoint:
    return QPoint(round(a.x() + (b.x() - a.x()) * t), round(a.y() + (b.y() - a.y()) * t))


def _press_and_move(window: MainWindow, a: QPoint, b: QPoint, mod=NO_MOD, steps: int = 6) -> None:
    vp = window.view.viewport()
    QTest.mousePress(vp, LEFT, mod, a)
    for i in range(1, steps + 1):
        QTest.mouseMove(vp, _lerp(a, b, i / steps))


def _drag(window: MainWindow, a: QPoint, b: QPoint, mod=NO_MOD, steps: int = 6) -> None:
    _press_and_move(window, a, b, mod, steps)
    QTest.mouseRelease(window.view.viewport(), LEFT, mod, b)


def _temporary_items(scene: CanvasScene) -> list:
    """Items a gesture drew (a wire being dragged, a cutting line): none once it is over. The
    tiles holding the nodes (gui.canvas.tiles) and the item that draws a drag's wires
    (gui.canvas.overview) are always there."""
    tiles = set(scene.tiles.tiles.values())
    return [item for item in scene.items()
            if not isinstance(item, NodeItem | EdgeItem | LiftedWires) and item not in tiles]


def _messages(window: MainWindow) -> list[str]:
    got: list[str] = []
    window.scene.message.connect(got.append)
    return got


# ---- drop from the palette ----

def _drop(window: MainWindow, data: QMimeData, at: QPoint) -> tuple[bool, bool]:
    vp = window.view.viewport()
    copy = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(at, copy, data, LEFT, NO_MOD)
    QApplication.sendEvent(vp, enter)
    move = QDragMoveEvent(at, copy, data, LEFT, NO_MOD)
    QApplication.sendEvent(vp, move)
    accepted = move.isAccepted()
    drop = QDropEvent(QPointF(at), copy, data, LEFT, NO_MOD)
    QApplication.sendEvent(vp, drop)
    return accepted, drop.isAccepted()


@pytest.mark.parametrize("op", ["tensor", "matmul", "mse_loss"])
def test_drop_from_palette_adds_that_op_where_dropped_as_one_undo_step(window: MainWindow, op: str) -> None:
    _load(window, _graph(), scale=0.7)
    doc = window.doc
    before, ids_before = dumps(doc.graph), set(doc.graph.nodes)
    data = window.palette.tree.mimeData([window.palette.item_for(op)])
    at = QPoint(333, 457)
    accepted, dropped = _drop(window, data, at)
    assert accepted and dropped
    new = set(doc.graph.nodes) - ids_before
    assert len(new) == 1
    node = doc.graph.nodes[new.pop()]
    assert node.op == op
    expected = window.view.mapToScene(at)
    assert doc.graph.position(node.id) == pytest.approx((expected.x(), expected.y()), abs=2.0)
    item = window.scene.nodes[node.id]
    assert (window.view.mapFromScene(item.pos()) - at).manhattanLength() <= 3
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert dumps(doc.graph) == before and node.id not in window.scene.nodes
    doc.undo_stack.redo()
    assert doc.graph.nodes[node.id].op == op and node.id in window.scene.nodes


def test_drop_of_a_foreign_payload_is_refused(window: MainWindow) -> None:
    _load(window, _graph())
    before = dumps(window.doc.graph)
    data = QMimeData()
    data.setText("matmul")
    accepted, dropped = _drop(window, data, QPoint(300, 300))
    assert not accepted and not dropped
    assert dumps(window.doc.graph) == before and window.doc.undo_stack.count() == 0


# ---- wiring with the mouse ----

def test_drag_from_output_port_to_input_port_connects(window: MainWindow) -> None:
    _load(window, _graph())
    doc = window.doc
    msgs = _messages(window)
    before = dumps(doc.graph)
    _press_and_move(window, _out(window, "b"), _in(window, "m", "other"))
    drag = window.scene.interaction
    assert isinstance(drag, WireDrag) and drag.src == "b"
    assert "m.other" in drag.label.text()  # the wire says where it will land
    QTest.mouseRelease(window.view.viewport(), LEFT, NO_MOD, _in(window, "m", "other"))
    assert doc.graph.edges[-1] == Edge("b", "m", "other")
    assert len(doc.graph.edges) == 3
    assert window.scene.interaction is None and _temporary_items(window.scene) == []  # the wire is gone
    assert any("connected" in m for m in msgs)
    assert window.scene.nodes["m"].fed == {"input", "other"}
    edge_item = window.scene.edges[Edge("b", "m", "other")]
    m = window.scene.nodes["m"]
    assert edge_item.path().pointAtPercent(1.0) == m.mapToScene(m.input_pos("other"))
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert dumps(doc.graph) == before
    assert_scene_mirrors(window)


def test_wire_dropped_on_a_node_body_takes_its_first_free_port(window: MainWindow) -> None:
    _load(window, _graph())
    _drag(window, _out(window, "b"), _body(window, "m"))
    assert Edge("b", "m", "other") in window.doc.graph.edges


@pytest.mark.parametrize(("src", "dst", "port", "words"), [
    ("n", "m", "other", "cycle"),  # m → n already: n → m closes a loop
    ("b", "m", "input", "already fed"),  # a feeds m.input
    ("m", "m", "other", "itself"),
])
def test_refused_wires_add_nothing_and_say_why(window: MainWindow, src: str, dst: str, port: str,
                                               words: str) -> None:
    _load(window, _graph())
    doc = window.doc
    reason = doc.graph.edge_refusal(src, dst, port)
    assert reason is not None and words in reason
    msgs = _messages(window)
    before = dumps(doc.graph)
    end = _in(window, dst, port)
    _press_and_move(window, _out(window, src), end)
    drag = window.scene.interaction
    assert isinstance(drag, WireDrag)
    assert reason in drag.label.text()  # while hovering the refused port
    QTest.mouseRelease(window.view.viewport(), LEFT, NO_MOD, end)
    assert dumps(doc.graph) == before
    assert doc.undo_stack.count() == 0
    assert any(reason in m for m in msgs), msgs
    assert window.scene.interaction is None and _temporary_items(window.scene) == []
    assert reason in window.statusBar().currentMessage()


def test_wire_dropped_on_empty_canvas_adds_nothing(window: MainWindow) -> None:
    _load(window, _graph())
    before = dumps(window.doc.graph)
    start = _out(window, "b")
    _drag(window, start, start + QPoint(60, 120))
    assert dumps(window.doc.graph) == before and window.doc.undo_stack.count() == 0
    assert window.scene.interaction is None and _temporary_items(window.scene) == []


# ---- moving and selecting ----

def test_mouse_move_is_one_undo_command_and_undo_puts_it_back(window: MainWindow) -> None:
    _load(window, _graph(), scale=1.0)
    doc, scene = window.doc, window.scene
    old = doc.graph.position("m")
    start = _body(window, "m")
    _drag(window, start, start + QPoint(40, 90), steps=8)
    new = doc.graph.position("m")
    assert new == pytest.approx((old[0] + 40, old[1] + 90), abs=0.6)
    assert doc.undo_stack.count() == 1
    # The wires follow the node.
    m = scene.nodes["m"]
    assert scene.edges[Edge("a", "m", "input")].path().pointAtPercent(1.0) == m.mapToScene(m.input_pos("input"))
    assert scene.edges[Edge("m", "n", "input")].path().pointAtPercent(0.0) == m.mapToScene(m.output_pos())
    doc.undo_stack.undo()
    assert doc.graph.position("m") == old
    assert (m.pos().x(), m.pos().y()) == old
    assert scene.edges[Edge("m", "n", "input")].path().pointAtPercent(0.0) == m.mapToScene(m.output_pos())
    doc.undo_stack.redo()
    assert doc.graph.position("m") == new


def test_moving_a_selection_moves_all_of_it_in_one_step(window: MainWindow) -> None:
    _load(window, _graph(), scale=1.0)
    doc = window.doc
    old = {n: doc.graph.position(n) for n in ("a", "b")}
    QTest.mouseClick(window.view.viewport(), LEFT, NO_MOD, _body(window, "a"))
    QTest.mouseClick(window.view.viewport(), LEFT, Qt.KeyboardModifier.ShiftModifier, _body(window, "b"))
    start = _body(window, "b")
    _drag(window, start, start + QPoint(-30, 25))
    for n in ("a", "b"):
        assert doc.graph.position(n) == pytest.approx((old[n][0] - 30, old[n][1] + 25), abs=0.6)
    assert doc.graph.position("m") == (STEP, 0.0)
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert {n: doc.graph.position(n) for n in ("a", "b")} == old


def test_a_drag_that_follows_a_double_click_is_one_move_too(window: MainWindow) -> None:
    """Qt handles the second press of a double-click as a press: the drag after it moves the
    node, and the document must move with it (it once stayed behind)."""
    _load(window, _graph(), scale=1.0)
    doc, vp = window.doc, window.view.viewport()
    old = doc.graph.position("m")  # an op node: a double-click on it opens no editor
    start = _body(window, "m")

    def send(kind: QEvent.Type, at: QPoint, button: Qt.MouseButton, buttons: Qt.MouseButton) -> None:
        QApplication.sendEvent(vp, QMouseEvent(kind, QPointF(at), QPointF(vp.mapToGlobal(at)), button, buttons,
                                               NO_MOD))

    QTest.mouseClick(vp, LEFT, NO_MOD, start)
    send(QEvent.Type.MouseButtonDblClick, start, LEFT, LEFT)
    for i in range(1, 5):
        send(QEvent.Type.MouseMove, start + QPoint(10 * i, 5 * i), Qt.MouseButton.NoButton, LEFT)
    send(QEvent.Type.MouseButtonRelease, start + QPoint(40, 20), LEFT, Qt.MouseButton.NoButton)
    assert doc.graph.position("m") == pytest.approx((old[0] + 40, old[1] + 20), abs=0.6)
    assert doc.undo_stack.count() == 1
    assert_scene_mirrors(window)


def test_plain_click_selects_one_shift_click_adds_and_toggles(window: MainWindow) -> None:
    _load(window, _graph())
    vp, scene = window.view.viewport(), window.scene
    shift = Qt.KeyboardModifier.ShiftModifier
    QTest.mouseClick(vp, LEFT, NO_MOD, _body(window, "a"))
    assert scene.selected_node_ids() == ["a"]
    QTest.mouseClick(vp, LEFT, shift, _body(window, "m"))
    assert sorted(scene.selected_node_ids()) == ["a", "m"]
    QTest.mouseClick(vp, LEFT, shift, _body(window, "n"))
    assert sorted(scene.selected_node_ids()) == ["a", "m", "n"]
    QTest.mouseClick(vp, LEFT, shift, _body(window, "a"))  # toggles a off
    assert sorted(scene.selected_node_ids()) == ["m", "n"]
    QTest.mouseClick(vp, LEFT, NO_MOD, _body(window, "b"))  # a plain click starts over
    assert scene.selected_node_ids() == ["b"]
    assert window.doc.undo_stack.count() == 0  # selecting is not an edit


def test_rubber_band_selects_the_nodes_inside(window: MainWindow) -> None:
    _load(window, _graph())
    scene, view = window.scene, window.view
    # From above-left of a to below-right of m (and below b): a, b and m are inside, n is not.
    b = scene.nodes["b"]
    start = view.mapFromScene(QPointF(-30, -30))
    end = view.mapFromScene(QPointF(STEP + NODE_W + 20, 160 + b.height() + 20))
    assert not scene.node_at(view.mapToScene(start)) and not scene.node_at(view.mapToScene(end))
    _drag(window, start, end, steps=10)
    assert sorted(scene.selected_node_ids()) == ["a", "b", "m"]
    assert window.doc.undo_stack.count() == 0


def test_click_on_empty_canvas_clears_selection(window: MainWindow) -> None:
    _load(window, _graph())
    window._select_all()
    assert len(window.scene.selected_node_ids()) == 4
    QTest.mouseClick(window.view.viewport(), LEFT, NO_MOD, window.view.mapFromScene(QPointF(400, 300)))
    assert window.scene.selected_node_ids() == []


# ---- disconnecting ----

def test_select_edge_and_press_delete_disconnects(window: MainWindow, qtbot) -> None:
    _load(window, _graph())
    doc, scene, view = window.doc, window.scene, window.view
    before = dumps(doc.graph)
    edge = Edge("a", "m", "input")
    mid = view.mapFromScene(scene.edges[edge].path().pointAtPercent(0.5))
    QTest.mouseClick(view.viewport(), LEFT, NO_MOD, mid)
    assert scene.selected_edges() == [edge] and scene.selected_node_ids() == []
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Delete)
    assert edge not in doc.graph.edges and edge not in scene.edges
    assert set(doc.graph.nodes) == {"a", "b", "m", "n"}
    assert "input" not in scene.nodes["m"].fed
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert dumps(doc.graph) == before
    assert_scene_mirrors(window)


def test_alt_drag_across_an_edge_cuts_it(window: MainWindow) -> None:
    _load(window, _graph())
    doc, scene, view = window.doc, window.scene, window.view
    msgs = _messages(window)
    before = dumps(doc.graph)
    edge = Edge("m", "n", "input")
    mid = scene.edges[edge].path().pointAtPercent(0.5)
    a = view.mapFromScene(mid + QPointF(0, -70))
    b = view.mapFromScene(mid + QPointF(5, 70))
    assert scene.node_at(view.mapToScene(a)) is None
    _drag(window, a, b, Qt.KeyboardModifier.AltModifier)
    assert doc.graph.edges == [Edge("a", "m", "input")]
    assert scene.interaction is None and _temporary_items(scene) == []  # the cutting line is gone
    assert any("cut 1" in m for m in msgs)
    assert all(w.proxy is None or w.proxy.scene() is scene for w in scene.edges.values())
    assert doc.graph.position("m") == (STEP, 0.0)  # nothing moved
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert dumps(doc.graph) == before
    assert_scene_mirrors(window)


def test_alt_drag_that_crosses_nothing_changes_nothing(window: MainWindow) -> None:
    _load(window, _graph())
    before = dumps(window.doc.graph)
    a = window.view.mapFromScene(QPointF(100, 300))
    _drag(window, a, a + QPoint(80, 40), Qt.KeyboardModifier.AltModifier)
    assert dumps(window.doc.graph) == before and window.doc.undo_stack.count() == 0


# ---- Esc: cancels the gesture in progress, else goes on to the window ----

class _KeySpy(QObject):
    """Records the keys that reach a widget (through propagation from its children too)."""

    def __init__(self, widget) -> None:  # noqa: ANN001
        super().__init__()
        self.keys: list[int] = []
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802, ANN001
        if event.type() == QEvent.Type.KeyPress:
            self.keys.append(event.key())
        return False


@pytest.fixture
def active(window: MainWindow, qtbot) -> MainWindow:
    """The window, active: keys go where the focus is and window shortcuts work (under xcb too)."""
    window.activateWindow()
    qtbot.waitActive(window)
    return window


def _idle(window: MainWindow) -> None:
    """No compute running: while one runs, Esc with no gesture is the window's Cancel."""
    window.computer.wait()
    QApplication.processEvents()  # the worker's "done" reaches the window
    assert not window.computer.computing and not window.cancel_action.isEnabled()


def _esc(window: MainWindow) -> _KeySpy:
    """Press Esc on the canvas; the spy says whether it went on to the window."""
    assert QApplication.focusWidget() is window.view  # where a press on the canvas puts the focus
    spy = _KeySpy(window)
    QTest.keyClick(window.view, Qt.Key.Key_Escape)
    return spy


def test_escape_cancels_a_wire_drag(active: MainWindow) -> None:
    window = active
    _load(window, _graph())
    doc, scene = window.doc, window.scene
    before = dumps(doc.graph)
    end = _in(window, "m", "other")
    _press_and_move(window, _out(window, "b"), end)
    assert isinstance(scene.interaction, WireDrag) and _temporary_items(scene)
    assert doc.graph.edge_refusal("b", "m", "other") is None  # the release would have connected
    spy = _esc(window)
    assert scene.interaction is None and _temporary_items(scene) == []  # the wire is gone at once
    assert Qt.Key.Key_Escape not in spy.keys  # the canvas took the key
    QTest.mouseMove(window.view.viewport(), end + QPoint(2, 1))  # the button is still down
    assert _temporary_items(scene) == []
    QTest.mouseRelease(window.view.viewport(), LEFT, NO_MOD, end)
    assert dumps(doc.graph) == before and doc.undo_stack.count() == 0
    assert_scene_mirrors(window)


def test_escape_cancels_a_move_mid_drag_and_the_next_drag_starts_clean(active: MainWindow) -> None:
    window = active
    _load(window, _graph(), scale=1.0)
    doc, scene, vp = window.doc, window.scene, window.view.viewport()
    before = dumps(doc.graph)
    QTest.mouseClick(vp, LEFT, NO_MOD, _body(window, "a"))
    QTest.mouseClick(vp, LEFT, Qt.KeyboardModifier.ShiftModifier, _body(window, "m"))
    old = {n: (item.pos().x(), item.pos().y()) for n, item in scene.nodes.items()}
    start = _body(window, "m")
    _press_and_move(window, start, start + QPoint(40, 90), steps=8)
    assert isinstance(scene.interaction, MoveDrag)
    for n in ("a", "m"):  # the selection follows the mouse, in the scene only
        assert (scene.nodes[n].pos().x(), scene.nodes[n].pos().y()) == pytest.approx(
            (old[n][0] + 40, old[n][1] + 90), abs=0.6)
    spy = _esc(window)
    assert Qt.Key.Key_Escape not in spy.keys
    assert scene.interaction is None
    assert {n: (item.pos().x(), item.pos().y()) for n, item in scene.nodes.items()} == old
    m = scene.nodes["m"]  # the wires came back with it
    assert scene.edges[Edge("a", "m", "input")].path().pointAtPercent(1.0) == m.mapToScene(m.input_pos("input"))
    assert scene.edges[Edge("m", "n", "input")].path().pointAtPercent(0.0) == m.mapToScene(m.output_pos())
    QTest.mouseMove(vp, start + QPoint(70, 120))  # the button is still down: nothing follows it now
    QTest.mouseRelease(vp, LEFT, NO_MOD, start + QPoint(70, 120))
    assert {n: (item.pos().x(), item.pos().y()) for n, item in scene.nodes.items()} == old
    assert dumps(doc.graph) == before and doc.undo_stack.count() == 0
    assert sorted(scene.selected_node_ids()) == ["a", "m"]  # cancelling is not a click
    assert_scene_mirrors(window)
    # Qt forgot the cancelled drag: the next one moves only what it drags, by the mouse's delta.
    start = _body(window, "n")
    _drag(window, start, start + QPoint(-20, 30))
    assert doc.graph.position("n") == pytest.approx((old["n"][0] - 20, old["n"][1] + 30), abs=0.6)
    assert all(doc.graph.position(n) == old[n] for n in ("a", "b", "m"))
    assert doc.undo_stack.count() == 1
    assert_scene_mirrors(window)


def test_escape_cancels_an_alt_cut(active: MainWindow) -> None:
    window = active
    _load(window, _graph())
    doc, scene, view = window.doc, window.scene, window.view
    before = dumps(doc.graph)
    mid = scene.edges[Edge("m", "n", "input")].path().pointAtPercent(0.5)
    a, b = view.mapFromScene(mid + QPointF(0, -70)), view.mapFromScene(mid + QPointF(5, 70))
    alt = Qt.KeyboardModifier.AltModifier
    _press_and_move(window, a, b, alt)
    assert isinstance(scene.interaction, CutDrag) and _temporary_items(scene)
    spy = _esc(window)
    assert Qt.Key.Key_Escape not in spy.keys
    assert scene.interaction is None and _temporary_items(scene) == []  # the cutting line is gone
    QTest.mouseRelease(view.viewport(), LEFT, alt, b)  # released across the edge: it stays
    assert dumps(doc.graph) == before and doc.undo_stack.count() == 0
    assert_scene_mirrors(window)


def test_escape_cancels_a_rubber_band_and_gives_the_selection_back(active: MainWindow) -> None:
    window = active
    _load(window, _graph())
    scene, view = window.scene, window.view
    QTest.mouseClick(view.viewport(), LEFT, NO_MOD, _body(window, "n"))
    assert scene.selected_node_ids() == ["n"]
    b = scene.nodes["b"]
    start = view.mapFromScene(QPointF(-30, -30))
    end = view.mapFromScene(QPointF(STEP + NODE_W + 20, 160 + b.height() + 20))
    _press_and_move(window, start, end, steps=10)
    assert sorted(scene.selected_node_ids()) == ["a", "b", "m"]
    assert not view.rubberBandRect().isNull()
    spy = _esc(window)
    assert Qt.Key.Key_Escape not in spy.keys
    assert scene.selected_node_ids() == ["n"] and view.rubberBandRect().isNull()
    QTest.mouseMove(view.viewport(), end + QPoint(-5, 5))  # the button is still down: no band now
    QTest.mouseRelease(view.viewport(), LEFT, NO_MOD, end + QPoint(-5, 5))
    assert scene.selected_node_ids() == ["n"] and view.rubberBandRect().isNull()
    assert window.doc.undo_stack.count() == 0


def test_escape_with_no_gesture_goes_on_to_the_window(active: MainWindow) -> None:
    window = active
    _load(window, _graph())
    _idle(window)
    assert window.scene.interaction is None
    window.view.setFocus()
    spy = _esc(window)
    assert spy.keys == [Qt.Key.Key_Escape]  # ignored by the canvas, so the window gets it
    event = QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Escape, NO_MOD)
    QApplication.sendEvent(window.view, event)
    assert not event.isAccepted()
    # After a finished gesture there is nothing to cancel either.
    _drag(window, _body(window, "m"), _body(window, "m") + QPoint(10, 10))
    assert window.scene.interaction is None
    assert _esc(window).keys == [Qt.Key.Key_Escape]


def test_a_window_shortcut_on_escape_waits_for_the_gesture(active: MainWindow) -> None:
    window = active
    """A window-wide Esc action (as a compute Cancel will be) fires only when no gesture is in
    progress: during a drag the canvas claims the key first."""
    _load(window, _graph())
    _idle(window)  # else the window's own Cancel holds Esc too
    fired: list[bool] = []
    action = QAction("cancel", window)
    action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
    action.triggered.connect(lambda: fired.append(True))
    window.addAction(action)
    window.view.setFocus()
    _press_and_move(window, _out(window, "b"), _in(window, "m", "other"))
    QTest.keyClick(window.view, Qt.Key.Key_Escape)
    assert window.scene.interaction is None and fired == []
    QTest.mouseRelease(window.view.viewport(), LEFT, NO_MOD, _in(window, "m", "other"))
    assert window.doc.undo_stack.count() == 0
    QTest.keyClick(window.view, Qt.Key.Key_Escape)
    assert fired == [True]


# ---- the ∂ button ----

def test_click_on_the_diff_button_sets_the_target(window: MainWindow) -> None:
    _load(window, _graph())
    QTest.mouseClick(window.view.viewport(), LEFT, NO_MOD, _vp(window, "n", DIFF_BTN.center()))
    assert window.doc.target == "n"
    assert window.scene.nodes["n"].is_target and not window.scene.nodes["m"].is_target
    # The file keeps the target: choosing one is a change, and one undo step.
    assert window.doc.undo_stack.count() == 1 and window.isWindowModified()
    assert window.doc.undo_stack.undoText() == "Target n"
    window.doc.undo_stack.undo()
    assert window.doc.target is None and not window.isWindowModified()


# ---- Tab search ----

def test_tab_opens_search_and_choosing_adds_the_op_there(window: MainWindow, qtbot) -> None:
    _load(window, _graph())
    view, doc = window.view, window.doc
    cursor = QPoint(420, 520)
    QTest.mouseMove(view.viewport(), cursor)
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Tab)
    qtbot.waitUntil(window.search.isVisible, timeout=5000)
    expected = view.mapToScene(cursor)
    assert window.search.scene_pos == expected or (
        (window.search.scene_pos - expected).manhattanLength() < 3)
    window.search.edit.setText("sigm")
    assert window.search.current_op() == "sigmoid"
    QTest.keyClick(window.search.edit, Qt.Key.Key_Return)
    assert not window.search.isVisible()
    new = [n for n in doc.graph.nodes.values() if n.op == "sigmoid"]
    assert len(new) == 1
    assert doc.graph.position(new[0].id) == pytest.approx((expected.x(), expected.y()), abs=1.0)
    assert doc.undo_stack.count() == 1


def test_double_click_on_empty_canvas_opens_search_there(window: MainWindow, qtbot) -> None:
    _load(window, _graph())
    at = window.view.mapFromScene(QPointF(STEP, 300))
    assert window.scene.node_at(window.view.mapToScene(at)) is None
    QTest.mouseDClick(window.view.viewport(), LEFT, NO_MOD, at)
    qtbot.waitUntil(window.search.isVisible, timeout=5000)
    assert window.search.scene_pos == window.view.mapToScene(at)
    window.search.hide()
    assert window.doc.undo_stack.count() == 0


def test_escape_closes_search_without_adding(window: MainWindow, qtbot) -> None:
    _load(window, _graph())
    before = dumps(window.doc.graph)
    window.view.setFocus()
    QTest.keyClick(window.view, Qt.Key.Key_Tab)
    qtbot.waitUntil(window.search.isVisible, timeout=5000)
    QTest.keyClick(window.search.edit, Qt.Key.Key_Escape)
    assert not window.search.isVisible()
    assert dumps(window.doc.graph) == before


# ---- scale ----

def test_two_thousand_node_chain_builds_draws_and_moves(qtbot) -> None:
    ops = ["neg", "sin", "tanh", "exp", "abs", "sigmoid", "cos"]
    assert all(op in OPS for op in ops)
    g = Graph()
    g.add_node(Node("x0", "tensor", value=0.1, requires_grad=True), pos=(0.0, 0.0))
    for i in range(1, 2000):
        g.add_node(Node(f"x{i}", ops[i % len(ops)]), pos=((i % 50) * 240.0, (i // 50) * 170.0))
        g.add_edge(Edge(f"x{i - 1}", f"x{i}", "input"))
    doc = Document()
    doc.reset(g)
    scene = CanvasScene(doc)
    delete_at_teardown(doc, scene)
    view = CanvasView(scene)
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    qtbot.waitExposed(view)
    assert len(scene.nodes) == 2000 and len(scene.edges) == 1999
    view.fit_graph()
    frame = view.grab()
    assert not frame.isNull() and frame.width() == view.width()
    # Select 50 nodes and drag one of them: all 50 move, as one undo step.
    chosen = [f"x{i}" for i in range(0, 2000, 40)]
    for n in chosen:
        scene.nodes[n].setSelected(True)
    view.resetTransform()
    view.centerOn(scene.nodes["x40"].sceneBoundingRect().center())
    start = view.mapFromScene(scene.nodes["x40"].mapToScene(QPointF(100, 60)))
    old = {n: doc.graph.position(n) for n in chosen}
    vp = view.viewport()
    QTest.mousePress(vp, LEFT, NO_MOD, start)
    for i in range(1, 6):
        QTest.mouseMove(vp, start + QPoint(10 * i, 6 * i))
    QTest.mouseRelease(vp, LEFT, NO_MOD, start + QPoint(50, 30))
    assert doc.undo_stack.count() == 1
    for n in chosen:
        assert doc.graph.position(n) == pytest.approx((old[n][0] + 50, old[n][1] + 30), abs=0.6)
    assert doc.graph.position("x1") == (240.0, 0.0)
    view.fit_graph()
    assert not view.grab().isNull()
    doc.undo_stack.undo()
    assert {n: doc.graph.position(n) for n in chosen} == old


# ---- in-place value editing and the context menu ----

def test_double_click_on_a_tensor_edits_its_value_in_place(window: MainWindow, qtbot) -> None:
    _load(window, _graph())
    doc = window.doc
    QTest.mouseDClick(window.view.viewport(), LEFT, NO_MOD, _body(window, "a"))
    editor = window.view.value_editor
    assert editor is not None and editor.isVisible()
    assert editor.text() == "2.0"
    editor.setText("[1.5, -2]")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert doc.graph.nodes["a"].value == [1.5, -2]
    assert doc.undo_stack.count() == 1 and doc.undo_stack.text(0).startswith("Edit value")
    doc.undo_stack.undo()
    assert doc.graph.nodes["a"].value == 2.0


@pytest.mark.parametrize("text", ["[1, [2]]", "NaN", "abc", "[true]", "\"2\"", "1e39"])
def test_in_place_editor_refuses_bad_values_and_keeps_the_document(window: MainWindow, text: str) -> None:
    _load(window, _graph())
    doc = window.doc
    msgs = _messages(window)
    before = dumps(doc.graph)
    editor = window.view.edit_value("a")
    editor.setText(text)
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert dumps(doc.graph) == before and doc.undo_stack.count() == 0
    assert msgs and msgs[-1].startswith("a: ")
    assert editor.isVisible()  # still open, to be corrected


def test_escape_closes_the_in_place_editor_without_a_change(window: MainWindow) -> None:
    _load(window, _graph())
    before = dumps(window.doc.graph)
    editor = window.view.edit_value("b")
    editor.setText("99")
    spy = _KeySpy(window)
    QTest.keyClick(editor, Qt.Key.Key_Escape)
    assert not editor.isVisible()
    assert dumps(window.doc.graph) == before
    assert spy.keys == []  # the editor keeps Esc: it goes no further


def test_context_menu_actions_target_toggle_duplicate_delete(window: MainWindow) -> None:
    _load(window, _graph())
    doc, scene = window.doc, window.scene

    menus = []  # the menus must outlive their actions

    def action(node_id: str, starts: str):
        menus.append(scene.node_menu(node_id))
        found = [a for a in menus[-1].actions() if a.text().startswith(starts)]
        assert len(found) == 1, [a.text() for a in menus[-1].actions()]
        return found[0]

    action("n", "∂").trigger()
    assert doc.target == "n"
    toggle = action("b", "requires_grad")
    assert toggle.isCheckable() and not toggle.isChecked()
    toggle.trigger()
    assert doc.graph.nodes["b"].requires_grad is True
    action("a", "Duplicate").trigger()
    assert "a_2" in doc.graph.nodes and doc.graph.nodes["a_2"].value == doc.graph.nodes["a"].value
    action("m", "Delete").trigger()
    assert "m" not in doc.graph.nodes and all("m" not in (e.src, e.dst) for e in doc.graph.edges)
    menus.append(scene.node_menu("n"))
    assert not [a for a in menus[-1].actions() if a.text().startswith("Edit value")]  # ops: no value
    for _ in range(3):
        doc.undo_stack.undo()
    assert doc.graph.nodes["b"].requires_grad is False and "m" in doc.graph.nodes and "a_2" not in doc.graph.nodes
