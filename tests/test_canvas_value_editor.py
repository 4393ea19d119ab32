"""The canvas's in-place value editor takes a typed value as the inspector's value field does:
the leaf's dtype decides (3.0 in an int64 leaf is 3, 0 / 1 in a bool leaf false / true), a long
paste is taken whole up to the field's limit and refused above it, never cut, and messages name
the node by its title."""

from __future__ import annotations

import json

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from graph.model import Graph, Node
from graph.values import VALUE_TEXT_MAX
from gui.window import MainWindow


def _load(window: MainWindow, *nodes: Node) -> list[str]:
    g = Graph()
    for i, node in enumerate(nodes):
        g.add_node(node, pos=(0.0, 160.0 * i))
    window.doc.reset(g)
    window.view.fit_graph()
    QApplication.processEvents()
    said: list[str] = []
    window.scene.message.connect(said.append)
    return said


def _type(window: MainWindow, node_id: str, text: str):  # noqa: ANN202 - the editor
    editor = window.view.edit_value(node_id)
    assert editor is not None
    editor.setText(text)
    QTest.keyClick(editor, Qt.Key.Key_Return)
    return editor


def test_a_bool_leaf_takes_zeros_and_ones_and_an_int64_leaf_whole_floats(window: MainWindow) -> None:
    _load(window, Node("mask", "tensor", value=[True, False], dtype="bool"),
          Node("k", "tensor", value=[1, 2], dtype="int64"))
    _type(window, "mask", "[0, 1]")
    assert window.doc.graph.nodes["mask"].value == [False, True]
    assert all(type(v) is bool for v in window.doc.graph.nodes["mask"].value)
    _type(window, "k", "[3.0, -4]")
    assert window.doc.graph.nodes["k"].value == [3, -4]
    assert all(type(v) is int for v in window.doc.graph.nodes["k"].value)
    window.doc.undo_stack.undo()
    assert window.doc.graph.nodes["k"].value == [1, 2]


def test_a_refusal_names_the_node_by_its_title(window: MainWindow) -> None:
    said = _load(window, Node("k", "tensor", value=[1, 2], dtype="int64", label="counts"))
    editor = _type(window, "k", "[2.5, 1]")
    assert window.doc.graph.nodes["k"].value == [1, 2] and window.doc.undo_stack.count() == 0
    assert said[-1].startswith("counts: ") and "round the value first" in said[-1]
    assert editor.isVisible()  # still open, to be corrected


def test_a_long_paste_is_taken_whole(window: MainWindow) -> None:
    _load(window, Node("w", "tensor", value=[0.0]))
    value = [0.5 + i for i in range(20_000)]  # ~180,000 characters: more than a QLineEdit's default
    _type(window, "w", json.dumps(value))
    assert window.doc.graph.nodes["w"].value == value


def test_a_paste_longer_than_the_field_is_refused_not_cut(window: MainWindow) -> None:
    said = _load(window, Node("w", "tensor", value=[0.0], label="weights"))
    editor = _type(window, "w", "[" + " " * VALUE_TEXT_MAX + "1]")
    assert window.doc.graph.nodes["w"].value == [0.0] and window.doc.undo_stack.count() == 0
    assert said[-1].startswith("weights: the field holds at most")
    assert editor.isVisible()


def test_a_value_longer_than_the_editor_holds_is_not_opened_in_it(window: MainWindow) -> None:
    value = [[0.123456789012345] * 1000] * 30  # 30,000 numbers, ~570,000 characters
    said = _load(window, Node("big", "tensor", value=value, label="table"))
    assert window.view.edit_value("big") is None
    assert said[-1].startswith("table: its value is longer than the editor holds")
    assert window.doc.graph.nodes["big"].value == value
