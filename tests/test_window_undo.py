"""Undo and redo in the window, offscreen with pytest-qt: every kind of edit (create, delete,
move, connect, disconnect, Alt-drag cut, value, attribute, label, rename, paste, duplicate,
auto-layout) is one undo step, and Ctrl+Z / Ctrl+Shift+Z give back the exact document each way;
the target survives a rename and comes back when the delete of its node is undone; the Undo and
Redo actions follow the stack."""

from __future__ import annotations

import dataclasses

from helpers import assert_scene_mirrors
from PySide6.QtCore import QPoint, QPointF, Qt
from window_driver import (
    CTRL,
    SHIFT,
    action_for,
    body_point,
    click,
    drag,
    drop,
    load_fixture,
    press_key,
    select_nodes,
    wire,
)

from graph.fileformat import dumps
from graph.model import Edge
from gui.window import MainWindow


def _undo_redo_exact(qtbot, w: MainWindow, edit) -> None:  # noqa: ANN001
    """`edit` is one undo step; Ctrl+Z restores the exact document, Ctrl+Shift+Z the edited one."""
    doc = w.doc
    before, index = dumps(doc.graph), doc.undo_stack.index()
    edit()
    after = dumps(doc.graph)
    assert after != before, "the edit changed nothing"
    assert doc.undo_stack.index() == index + 1 and doc.undo_stack.count() == index + 1
    assert_scene_mirrors(w)
    for _ in range(2):
        press_key(qtbot, w, Qt.Key.Key_Z, CTRL)
        assert dumps(doc.graph) == before
        assert_scene_mirrors(w)
        press_key(qtbot, w, Qt.Key.Key_Z, CTRL | SHIFT)
        assert dumps(doc.graph) == after
        assert_scene_mirrors(w)


def test_undo_redo_create(qtbot, window: MainWindow) -> None:
    load_fixture(window)
    _undo_redo_exact(qtbot, window, lambda: drop(window, "exp", QPoint(200, 500)))


def test_undo_redo_delete_node_restores_its_edges_in_order(qtbot, window: MainWindow) -> None:
    load_fixture(window)
    doc = window.doc
    # x_sq's edges are the 1st and 3rd in the list: undo must put them back there.
    assert [i for i, e in enumerate(doc.graph.edges) if "x_sq" in (e.src, e.dst)] == [0, 2]

    def delete() -> None:
        select_nodes(window, "x_sq")
        press_key(qtbot, window, Qt.Key.Key_Delete)
        assert "x_sq" not in doc.graph.nodes and len(doc.graph.edges) == 5

    _undo_redo_exact(qtbot, window, delete)


def test_undo_redo_delete_several_nodes_and_an_edge(qtbot, window: MainWindow) -> None:
    load_fixture(window)
    doc = window.doc

    def delete() -> None:
        select_nodes(window, "two", "three_z")
        edge = Edge("x_sq", "two_x_sq", "other")
        window.scene.edges[edge].setSelected(True)
        window.delete_selection()
        assert {"two", "three_z"}.isdisjoint(doc.graph.nodes)
        assert edge not in doc.graph.edges

    _undo_redo_exact(qtbot, window, delete)


def test_undo_redo_move(qtbot, window: MainWindow) -> None:
    load_fixture(window)
    _undo_redo_exact(qtbot, window,
                     lambda: drag(window, body_point(window, "y"), body_point(window, "y") + QPoint(30, 45)))


def test_undo_redo_connect(qtbot, window: MainWindow) -> None:
    load_fixture(window)

    def connect() -> None:
        wire(window, "y", "free", "input")
        assert window.doc.graph.edges[-1] == Edge("y", "free", "input")

    _undo_redo_exact(qtbot, window, connect)


def test_undo_redo_disconnect_by_selecting_the_edge(qtbot, window: MainWindow) -> None:
    load_fixture(window)
    edge = Edge("x_sq", "two_x_sq", "other")

    def disconnect() -> None:
        mid = window.view.mapFromScene(window.scene.edges[edge].path().pointAtPercent(0.5))
        click(window, mid)
        assert window.scene.selected_edges() == [edge]
        press_key(qtbot, window, Qt.Key.Key_Delete)
        assert edge not in window.doc.graph.edges and len(window.doc.graph.nodes) == 10

    _undo_redo_exact(qtbot, window, disconnect)


def test_undo_redo_alt_drag_cut(qtbot, window: MainWindow) -> None:
    load_fixture(window)
    doc, scene, view = window.doc, window.scene, window.view
    edges = [Edge("two_x_sq", "y", "input"), Edge("three_z", "y", "other")]

    def cut() -> None:
        # A vertical stroke just left of y crosses both of its input wires.
        y = scene.nodes["y"]
        x = y.pos().x() - 30
        a = view.mapFromScene(QPointF(x, -150))
        b = view.mapFromScene(QPointF(x, 350))
        drag(window, a, b, Qt.KeyboardModifier.AltModifier, steps=10)
        assert [e for e in edges if e in doc.graph.edges] == []
        assert len(doc.graph.edges) == 5

    _undo_redo_exact(qtbot, window, cut)


def test_undo_redo_value_edit(qtbot, window: MainWindow) -> None:
    load_fixture(window)
    node = dataclasses.replace(window.doc.graph.nodes["x"], value=-1.5)
    _undo_redo_exact(qtbot, window, lambda: window.doc.edit_node(node, "Edit value"))


def test_undo_redo_value_edit_of_a_vector_and_requires_grad(qtbot, window: MainWindow) -> None:
    load_fixture(window)
    node = dataclasses.replace(window.doc.graph.nodes["v"], value=[[1.0, -2.0], [0.5, 4.0]], requires_grad=True)
    _undo_redo_exact(qtbot, window, lambda: window.doc.edit_node(node))


def test_undo_redo_attribute_edit(qtbot, window: MainWindow) -> None:
    load_fixture(window)
    node = dataclasses.replace(window.doc.graph.nodes["x_sq"], attrs={"exponent": 3})
    _undo_redo_exact(qtbot, window, lambda: window.doc.edit_node(node, "Edit attrs"))


def test_undo_redo_label_edit(qtbot, window: MainWindow) -> None:
    load_fixture(window)
    node = dataclasses.replace(window.doc.graph.nodes["y"], label="the result")
    _undo_redo_exact(qtbot, window, lambda: window.doc.edit_node(node))


def test_undo_redo_rename(qtbot, window: MainWindow) -> None:
    load_fixture(window)
    doc = window.doc

    def rename() -> None:
        doc.rename("x_sq", "square")
        assert list(doc.graph.nodes).index("square") == 4
        assert Edge("x", "square", "input") == doc.graph.edges[0]
        assert Edge("square", "two_x_sq", "other") == doc.graph.edges[2]

    _undo_redo_exact(qtbot, window, rename)


def test_rename_of_the_target_keeps_it_the_target(window: MainWindow) -> None:
    load_fixture(window)
    window.doc.set_target("y")
    window.doc.rename("y", "out")
    assert window.doc.target == "out" and window.scene.nodes["out"].is_target
    assert window.doc.undo_stack.count() == 1
    window.doc.undo_stack.undo()
    assert window.doc.target == "y" and window.scene.nodes["y"].is_target
    window.doc.undo_stack.redo()
    assert window.doc.target == "out" and window.scene.nodes["out"].is_target


def test_undo_redo_paste_through_the_clipboard(qtbot, window: MainWindow) -> None:
    load_fixture(window)
    doc = window.doc

    def copy_paste() -> None:
        select_nodes(window, "x", "x_sq")
        press_key(qtbot, window, Qt.Key.Key_C, CTRL)
        assert doc.undo_stack.count() == 0  # copying is not an edit
        press_key(qtbot, window, Qt.Key.Key_V, CTRL)
        new = sorted(window.scene.selected_node_ids())
        assert len(new) == 2 and {"x", "x_sq"}.isdisjoint(new)
        assert len(doc.graph.nodes) == 12 and len(doc.graph.edges) == 8

    _undo_redo_exact(qtbot, window, copy_paste)


def test_undo_redo_duplicate(qtbot, window: MainWindow) -> None:
    load_fixture(window)
    doc = window.doc

    def duplicate() -> None:
        select_nodes(window, "three", "z", "three_z")
        press_key(qtbot, window, Qt.Key.Key_D, CTRL)
        assert len(doc.graph.nodes) == 13 and len(doc.graph.edges) == 9

    _undo_redo_exact(qtbot, window, duplicate)


def test_undo_redo_auto_layout(qtbot, window: MainWindow) -> None:
    load_fixture(window)
    _undo_redo_exact(qtbot, window, lambda: press_key(qtbot, window, Qt.Key.Key_L, CTRL))


def test_undo_and_redo_actions_follow_the_stack(window: MainWindow) -> None:
    load_fixture(window)
    doc = window.doc
    undo, redo = action_for(window, "Ctrl+Z"), action_for(window, "Ctrl+Shift+Z")
    assert action_for(window, "Ctrl+Y") is redo
    assert not undo.isEnabled() and not redo.isEnabled()
    before = dumps(doc.graph)
    node = dataclasses.replace(doc.graph.nodes["z"], value=10.0)
    doc.edit_node(node, "Edit value")
    after = dumps(doc.graph)
    assert undo.isEnabled() and "Edit value" in undo.text()
    undo.trigger()
    assert dumps(doc.graph) == before and redo.isEnabled() and not undo.isEnabled()
    redo.trigger()
    assert dumps(doc.graph) == after


def test_undoing_the_delete_of_the_target_gives_the_target_back(window) -> None:  # noqa: ANN001
    from graph.model import Graph, Node

    g = Graph()
    g.add_node(Node("a", "tensor", value=1.0, requires_grad=True))
    window.doc.reset(g)
    window.doc.set_target("a")
    window.doc.remove(["a"])
    assert window.doc.target is None
    window.doc.undo_stack.undo()
    assert window.doc.target == "a"
    window.doc.undo_stack.redo()
    assert window.doc.target is None
