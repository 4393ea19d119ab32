"""The inspector's value field and long values: a pasted literal is taken whole up to the field's
length (gui.inspector.form.VALUE_TEXT_MAX) and a longer one refused saying so, never cut short in
silence (QLineEdit's default length, 32,767, cut a 100,000-character paste and the error then
spoke of column 32,768); a value from a file too long for the field is not shown in it and
survives every edit of the node's other rows and every save as it is."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

from helpers import row_error
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from graph.fileformat import load, save
from graph.limits import MAX_DIMS
from graph.model import Graph, Node
from gui.fields import enter_typing
from gui.inspector.form import LITERAL_MAX, TOO_LONG, VALUE_TEXT_MAX, value_text


def _open_leaf(qtbot, w, tmp_path: Path, value: object) -> Path:  # noqa: ANN001 - pytest-qt, a MainWindow
    """A file holding one literal leaf x, opened, x shown in the inspector."""
    g = Graph()
    g.add_node(Node("x", "tensor", value=value, requires_grad=True), pos=(0.0, 0.0))
    path = tmp_path / "long.json"
    save(g, path)
    assert w.open_file(str(path), ask=False)
    w.inspector.set_node("x")
    return path


def _paste_and_enter(qtbot, edit, text: str) -> None:  # noqa: ANN001
    """Replace the field's text by a paste from the clipboard, as Ctrl+V does; then Enter."""
    QApplication.clipboard().setText(text)
    edit.setFocus()
    edit.selectAll()
    edit.paste()
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def test_a_pasted_literal_of_100000_characters_is_taken_whole(qtbot, window, tmp_path: Path) -> None:  # noqa: ANN001
    _open_leaf(qtbot, window, tmp_path, 2.0)
    text = json.dumps([0.5] * 20_000)
    assert len(text) == 100_000
    edit = window.inspector.rows["value"].editor
    _paste_and_enter(qtbot, edit, text)
    assert row_error(window.inspector, "value") == ""
    assert edit.text() == text
    assert window.doc.graph.nodes["x"].value == [0.5] * 20_000


def test_a_text_longer_than_the_field_holds_is_refused_saying_so(qtbot, window, tmp_path: Path) -> None:  # noqa: ANN001
    _open_leaf(qtbot, window, tmp_path, 2.0)
    text = json.dumps([0.5] * (VALUE_TEXT_MAX // 5 + 1000))  # valid JSON, longer than the field
    edit = window.inspector.rows["value"].editor
    QApplication.clipboard().setText(text)
    edit.setFocus()
    edit.selectAll()
    edit.paste()  # the field keeps what fits: said at once, before Enter
    assert row_error(window.inspector, "value") == TOO_LONG
    assert TOO_LONG == f"the field holds at most {VALUE_TEXT_MAX:,} characters: use an init (randn, zeros, …) or a file"
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert row_error(window.inspector, "value") == TOO_LONG  # not "Expecting ',' delimiter at column …"
    assert window.doc.graph.nodes["x"].value == 2.0 and window.doc.undo_stack.count() == 0


def test_the_longest_literal_the_form_makes_fits_the_field(qtbot, window, tmp_path: Path) -> None:  # noqa: ANN001
    """LITERAL_MAX elements (an init turned into a literal), each number as long as json.dumps
    writes any, nested MAX_DIMS deep: the field shows it all."""
    for number in (-2.2250738585072014e-308, -(2**63), False):
        value: object = [number] * LITERAL_MAX
        for _ in range(MAX_DIMS - 1):
            value = [[v] for v in value]  # shape (LITERAL_MAX, 1, 1, …): the most brackets
        assert value_text(value, LITERAL_MAX) == json.dumps(value)
    _open_leaf(qtbot, window, tmp_path, 2.0)
    insp = window.inspector  # its rows are made again when the form changes kind
    insp.rows["mode"].editor.setCurrentIndex(1)
    insp.rows["init.fn"].editor.setCurrentText("ones")
    shape = insp.rows["init.shape"].editor
    shape.setText(json.dumps([LITERAL_MAX]))
    shape.editingFinished.emit()
    insp.rows["mode"].editor.setCurrentIndex(0)  # back to a literal of LITERAL_MAX ones
    edit = insp.rows["value"].editor
    assert window.doc.graph.nodes["x"].value == [1.0] * LITERAL_MAX
    assert edit.text() == json.dumps([1.0] * LITERAL_MAX) and not edit.isReadOnly()


def test_a_value_of_20000_numbers_from_a_file_shows_whole_and_survives_other_edits(
        qtbot, window, tmp_path: Path) -> None:  # noqa: ANN001
    rng = random.Random(0)
    numbers = [round(rng.uniform(-1, 1), 6) for _ in range(20_000)]
    path = _open_leaf(qtbot, window, tmp_path, numbers)
    rows = window.inspector.rows
    assert rows["value"].editor.text() == json.dumps(numbers) and len(json.dumps(numbers)) > 32_767
    rows["value"].editor.setFocus()  # the field focused, nothing typed: a save enters nothing
    assert enter_typing() is None and window.save_document()
    qtbot.keyClicks(rows["label"].editor, "weights")
    qtbot.keyClick(rows["label"].editor, Qt.Key.Key_Return)
    assert window.save_document()
    assert load(path).nodes["x"].value == numbers and load(path).nodes["x"].label == "weights"


def test_a_value_longer_than_the_field_from_a_file_is_kept_as_it_is(qtbot, window, tmp_path: Path) -> None:  # noqa: ANN001
    numbers = [0.123456789] * 100_000  # 1,300,000 characters
    path = _open_leaf(qtbot, window, tmp_path, numbers)
    rows = window.inspector.rows
    value = rows["value"]
    assert value.editor.isReadOnly() and value.editor.text() == ""
    assert value.editor.placeholderText() == "(not shown: see below)"
    assert value.hint.text() == ("shape (100000) · not shown, more than the field's 420,000 characters, and kept "
                                 "as it is; to change it, use an init (randn, zeros, …) or a file")
    # The other rows' edits, the value field focused and left, a save: the value is never touched.
    qtbot.keyClicks(rows["label"].editor, "big")
    qtbot.keyClick(rows["label"].editor, Qt.Key.Key_Return)
    value.editor.setFocus()
    qtbot.keyClicks(value.editor, "[1")  # read-only: nothing goes in
    window.inspector.form.flush_focused_edit()
    assert enter_typing() is None
    rows["requires_grad"].editor.setFocus()
    rows["requires_grad"].editor.setChecked(False)
    rows["dtype"].editor.setCurrentText("float64")
    assert row_error(window.inspector, "value") == ""
    assert window.doc.graph.nodes["x"].value == numbers and window.doc.graph.nodes["x"].dtype == "float64"
    assert window.save_document()
    assert load(path).nodes["x"].value == numbers and load(path).nodes["x"].label == "big"
    window.doc.undo_stack.undo()  # the dtype: still not shown, still kept
    assert value.editor.isReadOnly() and window.doc.graph.nodes["x"].value == numbers
    assert window.doc.undo_stack.count() == 3  # label, requires_grad, dtype: nothing of the value
    # A short value again (here from the document): the field shows it and takes typing.
    window.doc.edit_node(replace(window.doc.graph.nodes["x"], value=[1.0, 2.0]), "Edit value")
    assert not value.editor.isReadOnly() and value.editor.text() == "[1.0, 2.0]"
    assert value.hint.text() == "shape (2)" and value.editor.placeholderText() == ""
