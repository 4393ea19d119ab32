"""Text typed and not yet entered, and what the user's choices change (issue 9's "nothing is
lost"): a Save, a close, Compute (F5) or an export enters what is typed in the focused field (an
inspector field, the canvas's value editor, the grad-output box) first; Esc takes typing back;
the target and the grad-output are changes to the document (the file keeps them), so choosing
them marks it modified and is undone; Save As adds .json; an export asks before it replaces a
file and never writes over the graph's own file. Expected values are the typed ones, read back
from the saved file."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import RESULT_TIMEOUT_MS, row_error
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox
from window_driver import EX01, action_for, activate, wait_result

from graph.fileformat import load, save
from gui.export_dialog import ExportDialog
from gui.fields import FieldEdit
from gui.window import MainWindow


def _saved_copy(window: MainWindow, tmp_path: Path, target: str | None = "y") -> Path:
    path = tmp_path / "g.json"
    g = load(EX01)
    g.target = target
    save(g, path)
    assert window.open_file(str(path))
    return path


def _type_in_inspector(qtbot, window: MainWindow, node_id: str, field: str, text: str) -> FieldEdit:
    window.scene.select_nodes([node_id])
    edit = window.inspector.rows[field].editor
    activate(qtbot, window)
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=5000)
    edit.selectAll()
    qtbot.keyClicks(edit, text)
    return edit


def test_save_enters_the_value_typed_in_the_inspector(qtbot, window: MainWindow, tmp_path: Path) -> None:
    path = _saved_copy(window, tmp_path)
    _type_in_inspector(qtbot, window, "x", "value", "7")
    assert window.doc.graph.nodes["x"].value == 2.0  # typed, not entered
    window.save_document()
    assert load(path).nodes["x"].value == 7 and not window.isWindowModified()


def test_closing_asks_about_a_value_typed_and_not_entered(qtbot, window: MainWindow, tmp_path: Path) -> None:
    path = _saved_copy(window, tmp_path)
    _type_in_inspector(qtbot, window, "z", "value", "5")
    asked = []
    window.ask_unsaved = lambda: asked.append(1) or QMessageBox.StandardButton.Save
    window.close()
    assert asked and load(path).nodes["z"].value == 5


def test_save_enters_the_canvas_value_editor(qtbot, window: MainWindow, tmp_path: Path) -> None:
    path = _saved_copy(window, tmp_path)
    activate(qtbot, window)
    window.view.edit_value("x")
    editor = window.view.value_editor
    qtbot.waitUntil(editor.hasFocus, timeout=5000)
    editor.selectAll()
    qtbot.keyClicks(editor, "[3]")
    window.save_document()
    assert load(path).nodes["x"].value == [3]
    assert not editor.isVisible()


def test_compute_enters_what_is_typed_first(qtbot, window: MainWindow, tmp_path: Path) -> None:
    _saved_copy(window, tmp_path)
    wait_result(qtbot, window)
    _type_in_inspector(qtbot, window, "x", "value", "3")
    action_for(window, "F5").trigger()
    result = wait_result(qtbot, window)
    assert window.doc.graph.nodes["x"].value == 3
    assert result.nodes["y"].value.item() == 2 * 3 ** 2 + 3 * 3  # y = 2x² + 3z, z = 3


def test_esc_takes_back_what_was_typed_and_otherwise_goes_to_the_window(qtbot, window: MainWindow,
                                                                        tmp_path: Path) -> None:
    _saved_copy(window, tmp_path)
    edit = _type_in_inspector(qtbot, window, "x", "label", "typo")
    qtbot.keyClick(edit, Qt.Key.Key_Escape)
    assert edit.text() == "" and edit.hasFocus()
    edit.clearFocus()
    assert window.doc.graph.nodes["x"].label is None and not window.isWindowModified()


def test_esc_takes_back_a_refused_value_and_its_error(qtbot, window: MainWindow, tmp_path: Path) -> None:
    """"2." entered is refused, in red under the field; Esc puts back the node's value, and the
    red message about the typed text goes with it."""
    _saved_copy(window, tmp_path)
    edit = _type_in_inspector(qtbot, window, "x", "value", "2.")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert edit.text() == "2." and row_error(window.inspector, "value")  # refused, still typed
    qtbot.keyClick(edit, Qt.Key.Key_Escape)
    assert edit.text() == edit.shown and not edit.typed() and window.doc.graph.nodes["x"].value == 2.0
    assert row_error(window.inspector, "value") == ""


def test_target_and_grad_output_are_changes_the_file_keeps(qtbot, window: MainWindow, tmp_path: Path) -> None:
    path = _saved_copy(window, tmp_path)
    assert window.doc.target == "y" and not window.isWindowModified()
    window.doc.choose_target("x_sq")
    assert window.isWindowModified() and window.doc.undo_stack.undoText() == "Target (x**2)"  # its label, as the canvas
    window.doc.choose_target("two_x_sq")  # a run of clicks is one step
    assert window.doc.undo_stack.count() == 1 and window.doc.undo_stack.undoText() == "Target (2*x**2)"
    box = window.grad_output_edit
    box.setFocus()
    box.setText("")
    qtbot.keyClicks(box, "2")
    box.editingFinished.emit()
    assert window.doc.undo_stack.undoText() == "Grad-output of (2*x**2)" and window.grad_output == 2  # its title
    window.save_document()
    saved = json.loads(path.read_text())
    assert saved["target"] == "two_x_sq" and saved["grad_output"] == 2
    window.doc.undo_stack.undo()
    assert window.grad_output is None and box.text() == "" and window.isWindowModified()
    window.doc.undo_stack.undo()
    assert window.doc.target == "y" and window.doc.undo_stack.index() == 0


def test_the_status_bar_says_a_vector_jacobian_product_is_one(qtbot, window: MainWindow, tmp_path: Path) -> None:
    path = tmp_path / "v.json"
    save(load(EX01.parent / "03_vector_element.json"), path)
    window.open_file(str(path))
    window.doc.choose_target("y")
    window.grad_output_edit.setText("[1, 0.5]")
    window.grad_output_edit.editingFinished.emit()
    qtbot.waitUntil(lambda: window.last_result is not None and window.last_result.grad_output is not None,
                    timeout=RESULT_TIMEOUT_MS)
    assert window.statusBar().currentMessage() == "vᵀ·∂y/∂node shown on every node (v: the grad-output)"


def test_save_as_adds_json(qtbot, window: MainWindow, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    def choose(dialog: QFileDialog) -> int:
        dialog.selectFile(str(tmp_path / "noext"))
        return 1

    monkeypatch.setattr(QFileDialog, "exec", choose)
    window.doc.reset(load(EX01))
    assert window.save_as()
    assert (tmp_path / "noext.json").exists() and window.doc.path.endswith("noext.json")


def test_an_export_asks_before_replacing_and_never_writes_over_the_graph(qtbot, window: MainWindow,
                                                                         tmp_path: Path) -> None:
    path = _saved_copy(window, tmp_path)
    dialog = ExportDialog(window)
    assert dialog.path.text() == str(tmp_path / "g.py")  # beside the graph, not where the app started
    mine = tmp_path / "g.py"
    mine.write_text("# mine\n")
    asked = []
    dialog.ask_replace = lambda p: asked.append(p) or False
    dialog._export()
    assert asked == [str(mine)] and mine.read_text() == "# mine\n"
    dialog.path.setText(str(path))
    dialog._export()
    assert "own file" in dialog.problem.text() and json.loads(path.read_text())["format"] == "gradcanvas"
    dialog.reject()
    QApplication.processEvents()


def _vector_target_with_grad_output(window: MainWindow, tmp_path: Path) -> Path:
    path = tmp_path / "v.json"
    g = load(EX01.parent / "03_vector_element.json")
    g.target, g.grad_output = "y", [0.5, -3]
    save(g, path)
    assert window.open_file(str(path))
    assert window.grad_output == [0.5, -3] and not window.isWindowModified()
    return path


def test_undoing_a_delete_or_a_rename_of_the_target_brings_its_grad_output_back(qtbot, window: MainWindow,
                                                                               tmp_path: Path) -> None:
    _vector_target_with_grad_output(window, tmp_path)
    box, stack = window.grad_output_edit, window.doc.undo_stack
    window.doc.remove(["y"])
    stack.undo()
    window.doc.choose_target("y")
    assert window.grad_output == [0.5, -3] and box.text() == "[0.5, -3]"
    window.doc.rename("y", "sq")
    assert window.doc.target == "sq" and window.grad_output == [0.5, -3]
    stack.undo()
    assert window.doc.target == "y" and window.grad_output == [0.5, -3] and not window.isWindowModified()
    window.doc.remove(["y"])  # deleted: a new node given its id starts without one
    window.doc.add_node(load(EX01.parent / "03_vector_element.json").nodes["y"], (0.0, 300.0))
    window.doc.choose_target("y")
    assert window.grad_output is None


def test_after_enter_ctrl_z_in_the_grad_output_box_is_the_documents(qtbot, window: MainWindow,
                                                                    tmp_path: Path) -> None:
    _vector_target_with_grad_output(window, tmp_path)
    box = window.grad_output_edit
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, "[1, 1]")
    assert box.isUndoAvailable()  # its own typing, until entered
    box.editingFinished.emit()
    assert window.grad_output == [1, 1] and not box.isUndoAvailable()


def test_a_refused_typed_value_is_neither_saved_nor_dropped_without_a_word(qtbot, window: MainWindow,
                                                                            tmp_path: Path) -> None:
    path = _saved_copy(window, tmp_path)
    _type_in_inspector(qtbot, window, "x", "value", "[1, ")
    assert not window.save_document()
    assert "Not saved" in window.statusBar().currentMessage() and load(path).nodes["x"].value == 2.0
    asked = []
    window.ask_unsaved = lambda: asked.append(1) or QMessageBox.StandardButton.Cancel
    assert not window.maybe_save() and asked  # asked, though the document itself is unchanged


def test_going_back_to_the_saved_target_is_no_change(window: MainWindow, tmp_path: Path) -> None:
    _saved_copy(window, tmp_path)
    window.doc.choose_target("x_sq")
    window.doc.choose_target("y")
    assert not window.isWindowModified() and window.doc.undo_stack.count() == 0


def test_quick_export_refuses_the_graphs_own_file_and_a_relative_name_goes_beside_it(
        window: MainWindow, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from gui.export_dialog import quick_export

    path = _saved_copy(window, tmp_path)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(path), ""))
    quick_export(window)
    assert json.loads(path.read_text())["format"] == "gradcanvas" and "own file" in window.statusBar().currentMessage()
    dialog = ExportDialog(window)
    dialog.path.setText("rel.py")
    written = []
    monkeypatch.setattr("gui.export_dialog.write", lambda w, p, *a, **k: written.append(p))
    dialog._export()
    assert written == [str(tmp_path / "rel.py")]
    dialog.reject()
