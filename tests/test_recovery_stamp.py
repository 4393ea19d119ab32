"""After a crash recovery, Save still knows the file as the crashed window last read it
(gui.recovery keeps gui.file_guard's stamp beside the document): a file another program changed
meanwhile is not overwritten without asking; an unchanged one is saved at once."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import new_window
from PySide6.QtWidgets import QMessageBox
from test_reload_on_focus import _changed_by_another_program, _file

from graph.fileformat import load
from graph.model import Graph, Node
from gui.file_guard import CANCEL, file_stamp
from gui.recovery import encode


def test_the_autosave_keeps_the_files_stamp_beside_the_document(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    _file(path, 1.0)
    w = new_window(qtbot, tmp_path)
    w.autosave.folder = tmp_path / "recovery"
    w.autosave.file = w.autosave.folder / w.autosave.file.name
    assert w.open_file(str(path))
    w.doc.add_node(Node("y", "neg"), (300.0, 0.0))
    w.autosave.save_now()
    w.autosave.flush()
    raw = json.loads(w.autosave.file.read_text(encoding="utf-8"))
    assert raw["path"] == str(path) and tuple(raw["stamp"]) == file_stamp(path)


def _recovered(qtbot, tmp_path: Path, path: Path, graph: Graph):  # noqa: ANN202 - a MainWindow
    """A window that recovered `graph` edited, from a recovery file written while `path` was as
    it is now."""
    folder = tmp_path / "recovery"
    folder.mkdir()
    graph.add_node(Node("y", "neg"), pos=(300.0, 0.0))
    (folder / "1-crashed.json").write_text(encode(graph, str(path), file_stamp(path)), encoding="utf-8")
    w = new_window(qtbot, tmp_path)
    w.autosave.folder = folder
    w.ask_recover = lambda found: QMessageBox.StandardButton.Yes
    assert w.offer_recovery() and w.doc.path == str(path)
    return w


def test_save_after_recovery_asks_when_another_program_changed_the_file(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    g = _file(path, 1.0)
    w = _recovered(qtbot, tmp_path, path, g.copy())
    _changed_by_another_program(path, 5.0)  # meanwhile
    asked = []
    w.ask_overwrite = lambda p: asked.append(p) or CANCEL
    assert not w.save_document()
    assert asked == [str(path)] and load(str(path)).nodes["x"].value == 5.0  # theirs kept


def test_save_after_recovery_of_an_unchanged_file_writes_it(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    g = _file(path, 1.0)
    w = _recovered(qtbot, tmp_path, path, g.copy())
    w.ask_overwrite = lambda p: (_ for _ in ()).throw(AssertionError("asked"))
    assert w.save_document()
    assert "y" in load(str(path)).nodes
