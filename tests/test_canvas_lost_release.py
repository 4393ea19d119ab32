"""A gesture whose button release never reaches the canvas (a popup menu took it, as the empty
canvas's right-click menu does on X11) must not leave the canvas deaf to the next click.

Offscreen, as X11 does it: the right press, then the context-menu event (offscreen Qt sends none
itself), whose menu runs until closed; the release goes to the open menu (a window of its own),
so the canvas never sees it, and QTest learns the button is up, so the next press says so.
(tests/test_x11.py checks the same with a real mouse.)
"""

from __future__ import annotations

from helpers import scene_and_view
from PySide6.QtCore import QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QWidget

from graph.model import Edge, Graph, Node
from gui.canvas import NODE_W

LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton
NO_MOD = Qt.KeyboardModifier.NoModifier


def _graph() -> Graph:
    g = Graph()
    g.add_node(Node("a", "tensor", value=2.0, requires_grad=True), pos=(0.0, 0.0))
    g.add_node(Node("n", "neg"), pos=(NODE_W + 80.0, 0.0))
    g.add_edge(Edge("a", "n", "input"))
    return g


def _on(scene, view, node_id: str) -> QPoint:  # noqa: ANN001
    item = scene.nodes[node_id]
    return view.mapFromScene(item.mapToScene(QPointF(60, 40)))


def _empty(scene, view) -> QPoint:  # noqa: ANN001
    point = view.mapFromScene(scene.itemsBoundingRect().bottomLeft() + QPointF(20, 80))
    assert scene.node_at(view.mapToScene(point)) is None and view.viewport().rect().contains(point)
    return point


def _right_press(view, at: QPoint, seen: list[str], choose: str | None = None) -> None:  # noqa: ANN001
    """Right-press the viewport at `at`: a menu that opens gets the release, then Esc (or, with
    `choose`, the action of that text in Add node ▸ tensors); `seen` gets what popup was open."""

    def in_menu() -> None:
        menu = QApplication.activePopupWidget()
        seen.append(type(menu).__name__)
        if menu is None:
            return
        QTest.mouseRelease(menu, RIGHT, NO_MOD, QPoint(1, 1))  # where X11 delivers it: the menu
        if choose is None:
            QTest.keyClick(menu, Qt.Key.Key_Escape)
            return
        (add,) = [a for a in menu.actions() if a.text() == "Add node"]
        (tensors,) = [a for a in add.menu().actions() if a.text() == "tensors"]
        (action,) = [a for a in tensors.menu().actions() if a.text().startswith(choose)]
        action.trigger()
        menu.close()

    QTimer.singleShot(0, in_menu)
    vp = view.viewport()
    QTest.mousePress(vp, RIGHT, NO_MOD, at)
    QApplication.sendEvent(vp, QContextMenuEvent(QContextMenuEvent.Reason.Mouse, at, vp.mapToGlobal(at)))
    QApplication.processEvents()  # in_menu has run, with or without a menu


def test_a_left_click_after_the_canvas_menu_closed_with_esc_selects(qtbot) -> None:  # noqa: ANN001
    scene, view = scene_and_view(qtbot, _graph())
    vp = view.viewport()
    seen: list[str] = []
    _right_press(view, _empty(scene, view), seen)
    assert seen == ["QMenu"] and QApplication.activePopupWidget() is None
    assert scene.interaction is None
    for _ in range(2):
        scene.clearSelection()
        QTest.mouseClick(vp, LEFT, NO_MOD, _on(scene, view, "n"))
        assert scene.selected_node_ids() == ["n"]


def test_a_left_click_after_adding_a_node_from_the_canvas_menu_selects(qtbot) -> None:  # noqa: ANN001
    scene, view = scene_and_view(qtbot, _graph())
    vp = view.viewport()
    seen: list[str] = []
    _right_press(view, _empty(scene, view), seen, choose="tensor")
    assert seen == ["QMenu"] and len(scene.doc.graph.nodes) == 3
    QTest.mouseClick(vp, LEFT, NO_MOD, _on(scene, view, "a"))
    assert scene.selected_node_ids() == ["a"]


def _drag_a_wire_from_a(scene, view):  # noqa: ANN001, ANN202 - the WireDrag under way
    """Left press on a's output port, moved over empty canvas, the button still held."""
    vp, item = view.viewport(), scene.nodes["a"]
    QTest.mousePress(vp, LEFT, NO_MOD, view.mapFromScene(item.mapToScene(item.output_pos())))
    QTest.mouseMove(vp, _empty(scene, view))
    return scene.interaction


def test_a_press_of_another_button_ends_a_gesture_whose_release_was_lost(qtbot) -> None:  # noqa: ANN001
    """A wire dragged, its release lost (it went to another window): the next press, of another
    button, finds the left button up, so the wire goes and the press acts (here: the canvas menu)."""
    scene, view = scene_and_view(qtbot, _graph())
    drag = _drag_a_wire_from_a(scene, view)
    assert type(drag).__name__ == "WireDrag"
    elsewhere = QWidget()
    qtbot.addWidget(elsewhere)
    elsewhere.show()
    QTest.mouseRelease(elsewhere, LEFT, NO_MOD, QPoint(1, 1))  # the release the canvas never sees
    seen: list[str] = []
    _right_press(view, _empty(scene, view), seen)
    assert seen == ["QMenu"], "the right-click found the canvas still in the lost drag"
    assert scene.interaction is None and drag.wire.scene() is None  # the dragged wire is gone
    assert list(scene.doc.graph.edges) == [Edge("a", "n", "input")]


def test_a_press_of_another_button_while_the_gesture_button_is_held_is_ignored(qtbot) -> None:  # noqa: ANN001
    """One gesture at a time still: a right press during a left wire drag opens no menu and
    leaves the drag going; the left release then ends it."""
    scene, view = scene_and_view(qtbot, _graph())
    vp = view.viewport()
    drag = _drag_a_wire_from_a(scene, view)
    seen: list[str] = []
    _right_press(view, _empty(scene, view), seen)
    QTest.mouseRelease(vp, RIGHT, NO_MOD, _empty(scene, view))
    assert seen == ["NoneType"] and scene.interaction is drag
    QTest.mouseRelease(vp, LEFT, NO_MOD, _empty(scene, view))
    assert scene.interaction is None
