"""Undo and Redo pressed in the expression bar (gui.expression_bar): the bar's own typing while
it has some, else the document's, as in the inspector's fields (gui.fields). A plain QLineEdit
took Ctrl+Z with nothing to undo, and Enter's clear() was an undo step of its own: after Enter
the first Ctrl+Z brought the line back, the second emptied it, the rest did nothing.
Real X11 keys: tests/x11_driver.py's "expression undone" and "expression redone" steps."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from window_driver import activate

from gui.window import MainWindow

CTRL = Qt.KeyboardModifier.ControlModifier


def _focused_bar(qtbot, window: MainWindow):  # noqa: ANN001, ANN202 - the bar's line edit
    activate(qtbot, window)
    edit = window.expression_bar.edit
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=5000)
    return edit


def test_after_enter_undo_and_redo_in_the_bar_are_the_documents(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    doc = window.doc
    edit = _focused_bar(qtbot, window)
    QTest.keyClicks(edit, "y = 2*a")
    QTest.keyClick(edit, Qt.Key.Key_Return)
    added = set(doc.graph.nodes)
    assert {"y", "a"} <= added and edit.text() == "" and edit.hasFocus(), window.expression_bar.message.text()
    index = doc.undo_stack.index()
    QTest.keyClick(edit, Qt.Key.Key_Z, CTRL)
    assert not doc.graph.nodes and doc.undo_stack.index() == index - 1 and edit.text() == ""
    QTest.keyClick(edit, Qt.Key.Key_Y, CTRL)  # offscreen's Redo (Ctrl+Shift+Z under xcb: the X11 test)
    assert set(doc.graph.nodes) == added and doc.undo_stack.index() == index and edit.text() == ""


def test_undo_in_the_bar_takes_its_own_typing_first(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    doc = window.doc
    edit = _focused_bar(qtbot, window)
    QTest.keyClicks(edit, "y = 2*a")
    QTest.keyClick(edit, Qt.Key.Key_Return)
    QTest.keyClicks(edit, "z = y")
    index = doc.undo_stack.index()
    QTest.keyClick(edit, Qt.Key.Key_Z, CTRL)  # the typing, not the document
    assert edit.text() == "" and doc.undo_stack.index() == index and "y" in doc.graph.nodes
    QTest.keyClick(edit, Qt.Key.Key_Y, CTRL)  # the typing back
    assert edit.text() == "z = y" and doc.undo_stack.index() == index
    QTest.keyClick(edit, Qt.Key.Key_Z, CTRL)
    QTest.keyClick(edit, Qt.Key.Key_Z, CTRL)  # nothing typed left: the expression
    assert edit.text() == "" and doc.undo_stack.index() == index - 1 and not doc.graph.nodes


def test_a_refused_line_stays_with_its_typing_to_undo(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    doc = window.doc
    edit = _focused_bar(qtbot, window)
    index = doc.undo_stack.index()
    QTest.keyClicks(edit, "w = foo(x)")
    QTest.keyClick(edit, Qt.Key.Key_Return)
    assert edit.text() == "w = foo(x)" and "foo" in window.expression_bar.message.text()
    QTest.keyClick(edit, Qt.Key.Key_Z, CTRL)
    assert edit.text() == "" and doc.undo_stack.index() == index


def test_the_message_beside_the_bar_goes_with_its_line(qtbot, window: MainWindow) -> None:  # noqa: ANN001
    """"added 2 node(s)" and a refusal describe the last line entered: once its nodes are undone,
    or its typing taken back to an empty bar, they are no longer shown."""
    message = window.expression_bar.message
    edit = _focused_bar(qtbot, window)
    QTest.keyClicks(edit, "y = 2*a")
    QTest.keyClick(edit, Qt.Key.Key_Return)
    assert message.text().startswith("added")
    QTest.keyClick(edit, Qt.Key.Key_Z, CTRL)  # the document's undo: the nodes go
    assert not window.doc.graph.nodes and message.text() == ""
    QTest.keyClicks(edit, "z = y*")
    QTest.keyClick(edit, Qt.Key.Key_Return)
    assert "not Python syntax" in message.text() and edit.text() == "z = y*"
    QTest.keyClick(edit, Qt.Key.Key_Z, CTRL)  # the typing taken back: an empty bar
    assert edit.text() == "" and message.text() == ""
