"""The canvas without a mouse (gui.canvas.keyboard): the arrows walk the selection from node to
node and keep it in view, Shift+arrow adds to it, Ctrl/Alt+arrow pans; Find node (Ctrl+F)
selects and centres a node by its title or id. The selection reaches the inspector, Ctrl+T,
Ctrl+D and Del as a click's does. (Under X11 too: tests/test_x11.py.)"""

from __future__ import annotations

from helpers import delete_at_teardown
from PySide6.QtCore import QRectF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from window_driver import CTRL, EX01, SHIFT, activate, press_key

from graph.model import Graph, Node
from gui.actions import shortcut_owners
from gui.canvas.keyboard import find_rows, nearest_to, neighbour
from gui.help import sheet_html
from gui.window import MainWindow

RIGHT, LEFT, UP, DOWN = Qt.Key.Key_Right, Qt.Key.Key_Left, Qt.Key.Key_Up, Qt.Key.Key_Down
ALT = Qt.KeyboardModifier.AltModifier


def opened(qtbot, w: MainWindow) -> MainWindow:  # noqa: ANN001
    """Example 1 open, fitted, nothing selected, the canvas focused."""
    assert w.open_file(str(EX01))
    QApplication.processEvents()  # the Fit open_file asks for, before a test zooms
    w.scene.select_nodes([])
    activate(qtbot, w)
    return w


def visible_rect(w: MainWindow) -> QRectF:
    return w.view.mapToScene(w.view.viewport().rect()).boundingRect()


def test_an_arrow_with_nothing_selected_selects_the_node_nearest_the_centre(qtbot, window: MainWindow) -> None:
    w = opened(qtbot, window)
    middle = w.view.mapToScene(w.view.viewport().rect().center())
    press_key(qtbot, w, RIGHT)
    (picked,) = w.scene.selected_node_ids()
    assert picked == nearest_to(w.scene, middle)
    assert w.inspector.node_id == picked  # as a click shows it


def test_arrows_walk_the_graph_node_by_node(qtbot, window: MainWindow) -> None:
    w = opened(qtbot, window)
    w.scene.select_nodes(["x"])
    walked = []
    for key in (RIGHT, RIGHT, RIGHT, LEFT, UP, LEFT, DOWN):
        press_key(qtbot, w, key)
        walked.append(w.scene.selected_node_ids())
    # x → x**2 → 2*x**2 → y, then back to the layer before it, up, left, down the first column.
    assert walked[:3] == [["x_sq"], ["two_x_sq"], ["y"]]
    assert walked[3] in (["two_x_sq"], ["three_z"])
    assert walked[-2:] == [["x"], ["z"]], walked
    assert w.inspector.node_id == "z"
    press_key(qtbot, w, LEFT)  # nothing that way: it stays, and says so
    assert w.scene.selected_node_ids() == ["z"]
    assert w.statusBar().currentMessage() == "no node to the left of z"


def test_the_walk_is_by_direction_then_by_distance_across() -> None:
    from PySide6.QtWidgets import QGraphicsView

    from gui.canvas.scene import CanvasScene
    from gui.document import Document

    g = Graph()
    for node_id, pos in (("a", (0, 0)), ("near_but_high", (300, -400)), ("ahead", (600, 0)), ("behind", (-300, 0))):
        g.add_node(Node(node_id, "tensor", value=1.0))
        g.layout[node_id] = pos
    doc = Document()
    doc.reset(g)
    scene = CanvasScene(doc)
    delete_at_teardown(doc, scene)
    _view = QGraphicsView(scene)
    assert neighbour(scene, "a", 1, 0) == "ahead"  # straight ahead beats nearer but far to the side
    assert neighbour(scene, "a", -1, 0) == "behind"
    assert neighbour(scene, "a", 0, -1) == "near_but_high"
    assert neighbour(scene, "a", 0, 1) is None


def test_the_view_follows_the_walk_at_the_same_zoom(qtbot, window: MainWindow) -> None:
    w = opened(qtbot, window)
    w.view.resetTransform()
    w.view.scale(2.5, 2.5)
    w.scene.select_nodes(["x"])
    w.view.centerOn(w.scene.nodes["x"])
    QApplication.processEvents()
    assert not visible_rect(w).contains(w.scene.nodes["y"].sceneBoundingRect())
    for _ in range(3):
        press_key(qtbot, w, RIGHT)
        (n,) = w.scene.selected_node_ids()
        assert visible_rect(w).contains(w.scene.nodes[n].sceneBoundingRect()), n
    assert n == "y" and w.view.transform().m11() == 2.5


def test_shift_arrow_adds_and_ctrl_or_alt_arrow_pans(qtbot, window: MainWindow) -> None:
    w = opened(qtbot, window)
    w.view.resetTransform()
    w.view.scale(2.5, 2.5)
    w.scene.select_nodes(["x"])
    press_key(qtbot, w, RIGHT, SHIFT)
    assert w.scene.selected_node_ids() == ["x", "x_sq"]
    press_key(qtbot, w, DOWN)  # walks on from the node added last
    assert w.scene.selected_node_ids() == ["three"]
    bar = w.view.horizontalScrollBar()
    for mod in (CTRL, ALT):
        before = bar.value()
        press_key(qtbot, w, RIGHT, mod)
        assert bar.value() > before, mod
        assert w.scene.selected_node_ids() == ["three"]


def test_a_walked_to_node_is_the_one_ctrl_t_ctrl_d_and_del_act_on(qtbot, window: MainWindow) -> None:
    w = opened(qtbot, window)
    w.scene.select_nodes(["x"])
    press_key(qtbot, w, RIGHT)
    press_key(qtbot, w, Qt.Key.Key_T, CTRL)
    assert w.doc.target == "x_sq"
    count = len(w.doc.graph.nodes)
    press_key(qtbot, w, Qt.Key.Key_D, CTRL)
    assert len(w.doc.graph.nodes) == count + 1
    press_key(qtbot, w, Qt.Key.Key_Delete)
    assert len(w.doc.graph.nodes) == count


def test_arrows_in_the_value_editor_move_its_cursor(qtbot, window: MainWindow) -> None:
    w = opened(qtbot, window)
    w.scene.select_nodes(["x"])
    editor = w.view.edit_value("x")
    editor.setFocus()
    qtbot.waitUntil(editor.hasFocus)
    editor.setCursorPosition(0)
    for key in (RIGHT, DOWN, UP, LEFT, RIGHT):
        QTest.keyClick(editor, key)
    assert editor.cursorPosition() == 1 and editor.isVisible()
    assert w.scene.selected_node_ids() == ["x"]


def test_find_ranks_exact_then_prefix_then_contains() -> None:
    g = Graph()
    for node_id, op, label in (("three_z", "mul", "3*z"), ("z", "tensor", None), ("three", "tensor", None),
                               ("x_sq", "pow", "x**2")):
        g.add_node(Node(node_id, op, label=label))
    assert find_rows(g, "three") == ["three", "three_z"]
    assert find_rows(g, "Z") == ["z", "three_z"]
    assert find_rows(g, "x**") == ["x_sq"]  # by its label
    assert find_rows(g, "pow") == ["x_sq"]  # by its op
    assert find_rows(g, "") == list(g.nodes)
    assert find_rows(g, "nothing") == []


def test_ctrl_f_finds_selects_and_centres_a_node(qtbot, window: MainWindow) -> None:
    w = opened(qtbot, window)
    w.view.resetTransform()
    w.view.scale(2.0, 2.0)
    w.view.centerOn(w.scene.nodes["x"])
    press_key(qtbot, w, Qt.Key.Key_F, CTRL)
    finder = w.node_finder
    assert finder.isVisible() and finder.edit.hasFocus()
    QTest.keyClicks(finder.edit, "2*x")
    assert finder.current_id() == "two_x_sq"
    QTest.keyClick(finder.edit, Qt.Key.Key_Return)
    assert not finder.isVisible()
    assert w.scene.selected_node_ids() == ["two_x_sq"] and w.inspector.node_id == "two_x_sq"
    centre = w.view.mapFromScene(w.scene.nodes["two_x_sq"].sceneBoundingRect().center())
    assert (centre - w.view.viewport().rect().center()).manhattanLength() <= 2
    assert w.view.transform().m11() == 2.0
    assert w.statusBar().currentMessage() == "found 2*x**2"
    # No match says so; Esc closes and changes nothing.
    press_key(qtbot, w, Qt.Key.Key_F, CTRL)
    QTest.keyClicks(finder.edit, "qqq")
    assert finder.list.count() == 0 and "qqq" in finder.note.text() and finder.note.isVisible()
    QTest.keyClick(finder.edit, Qt.Key.Key_Escape)
    assert not finder.isVisible() and w.scene.selected_node_ids() == ["two_x_sq"]


def test_ctrl_f_in_a_text_field_is_left_to_it_but_the_menu_opens_find(qtbot, window: MainWindow) -> None:
    w = opened(qtbot, window)
    w.scene.select_nodes(["x"])
    field = w.inspector.rows["label"].editor
    field.setFocus()
    qtbot.waitUntil(field.hasFocus)
    QTest.keyClick(field, Qt.Key.Key_F, CTRL)
    assert not w.node_finder.isVisible() and field.hasFocus()
    (action,) = [a for a in w.findChildren(type(w.fit_action)) if a.text() == "&Find node…"]
    action.trigger()  # Edit > Find node…, clicked
    assert w.node_finder.isVisible()
    w.node_finder.hide()


def test_the_keys_are_in_the_edit_menu_and_the_shortcut_sheet(window: MainWindow) -> None:
    edit = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Edit")
    texts = [a.text().replace("&", "") for a in edit.actions()]
    assert texts.index("Find node…") == texts.index("Select All") + 1
    sheet = sheet_html(window)
    assert "Find node…" in sheet and "Ctrl+F" in sheet
    for words in ("arrow", "Shift+arrow", "Ctrl+arrow"):
        assert words in sheet, words
    owners = shortcut_owners(window)  # the arrows are the canvas's: no action may take them
    for key in ("Left", "Right", "Up", "Down"):
        assert owners[key] == ["canvas: select the nearest node that way"], key
