"""The main window driven offscreen as a person drives it (pytest-qt; QTest events to the active
window's canvas), and what the tests/test_window_*.py files read back from it: the helpers and
the example-1 fixture they share. They import Qt at the top, so they live here, not in
tests/helpers.py, which every test imports (through conftest.py) and which loads Qt only
inside the helpers that need it."""

from __future__ import annotations

from pathlib import Path

from helpers import RESULT_TIMEOUT_MS
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from autograd_bridge.compute import ComputeResult
from graph.fileformat import load
from graph.model import Graph, Node
from gui.actions import portable, window_actions
from gui.canvas import NODE_W
from gui.window import MainWindow

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.json"))
EX01 = ROOT / "resources" / "examples" / "01_scalar_partial.json"

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def activate(qtbot, w: MainWindow) -> None:
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    w.view.setFocus()


def press_key(qtbot, w: MainWindow, key: Qt.Key, mod=NO_MOD) -> None:
    """A key press as a person makes it: to the focused canvas of the active window."""
    activate(qtbot, w)
    QTest.keyClick(w.view, key, mod)


def view_point(w: MainWindow, node_id: str, local: QPointF) -> QPoint:
    item = w.scene.nodes[node_id]
    p = w.view.mapFromScene(item.mapToScene(local))
    assert w.view.viewport().rect().contains(p), f"{node_id} is off screen"
    return p


def drag(w: MainWindow, a: QPoint, b: QPoint, mod=NO_MOD, steps: int = 6) -> None:
    vp = w.view.viewport()
    QTest.mousePress(vp, LEFT, mod, a)
    for i in range(1, steps + 1):
        QTest.mouseMove(vp, QPoint(round(a.x() + (b.x() - a.x()) * i / steps),
                                   round(a.y() + (b.y() - a.y()) * i / steps)))
    QTest.mouseRelease(vp, LEFT, mod, b)


def click(w: MainWindow, p: QPoint, mod=NO_MOD) -> None:
    QTest.mouseClick(w.view.viewport(), LEFT, mod, p)


def wire(w: MainWindow, src: str, dst: str, port: str) -> None:
    s, d = w.scene.nodes[src], w.scene.nodes[dst]
    drag(w, view_point(w, src, s.output_pos()), view_point(w, dst, d.input_pos(port)))


def drop(w: MainWindow, op: str, at: QPoint) -> str:
    before = set(w.doc.graph.nodes)
    data = w.palette.tree.mimeData([w.palette.item_for(op)])
    vp, copy_action = w.view.viewport(), Qt.DropAction.CopyAction
    for event in (QDragEnterEvent(at, copy_action, data, LEFT, NO_MOD),
                  QDragMoveEvent(at, copy_action, data, LEFT, NO_MOD),
                  QDropEvent(QPointF(at), copy_action, data, LEFT, NO_MOD)):
        QApplication.sendEvent(vp, event)
    (new,) = set(w.doc.graph.nodes) - before
    return new


def close_message_boxes(w: MainWindow) -> list[str]:
    texts = []
    for box in w.findChildren(QMessageBox):
        if box.isVisible():
            texts.append(box.text())
            box.close()
    return texts


def action_for(w: MainWindow, key: str) -> QAction:
    """The one action of the window that `key` (portable text) triggers."""
    (action,) = [a for a in window_actions(w) if key in [portable(s) for s in a.shortcuts()]]
    return action


def wait_result(qtbot, w: MainWindow) -> ComputeResult:
    qtbot.waitUntil(lambda: w.last_result is not None and w.last_result.revision == w.doc.revision,
                    timeout=RESULT_TIMEOUT_MS)
    return w.last_result


def fixture_graph() -> Graph:
    """Example 1 plus two loose nodes, so there are free ports to wire."""
    g = load(EX01)
    right = max(x for x, _y in g.layout.values()) + NODE_W + 80
    g.add_node(Node("free", "neg"), pos=(right, 100.0))
    g.add_node(Node("v", "tensor", value=[1.0, 2.0]), pos=(right, 300.0))
    return g


def load_fixture(w: MainWindow, graph: Graph | None = None, scale: float = 0.55) -> None:
    w.doc.reset(graph or fixture_graph())
    w.view.resetTransform()
    w.view.scale(scale, scale)
    w.view.centerOn(w.scene.itemsBoundingRect().center())
    QApplication.processEvents()


def body_point(w: MainWindow, n: str) -> QPoint:
    return view_point(w, n, QPointF(100, 60))


def select_nodes(w: MainWindow, *ids: str) -> None:
    click(w, body_point(w, ids[0]))
    for n in ids[1:]:
        click(w, body_point(w, n), SHIFT)
    assert sorted(w.scene.selected_node_ids()) == sorted(ids)
