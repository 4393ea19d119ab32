"""After a crash recovery, Save still knows the file as the crashed window last read it
(gui.recovery keeps gui.file_guard's stamp beside the document): a file another program changed
meanwhile is not overwritten without asking; an unchanged one is saved at once."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from helpers import new_window
from PySide6.QtWidgets import QMessageBox

from graph.fileformat import load, save
from graph.model import Graph, Node
from gui.file_guard import CANCEL, file_stamp
from gui.recovery import encode


def _saved_graph(path: Path) -> Graph:
    g = Graph()
    g.add_node(Node("x", "tensor", value=1.0, requires_grad=True), pos=(0.0, 0.0))
    save(g, str(path))
    return g


def test_the_autosave_keeps_the_files_stamp_beside_the_document(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    _saved_graph(path)
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
    g = _saved_graph(path)
    w = _recovered(qtbot, tmp_path, path, g.copy())
    time.sleep(0.01)
    path.write_text(path.read_text(encoding="utf-8").replace("1.0", "5.0"), encoding="utf-8")  # meanwhile
    os.utime(path, ns=(time.time_ns(), time.time_ns()))
    asked = []
    w.ask_overwrite = lambda p: asked.append(p) or CANCEL
    assert not w.save_document()
    assert asked == [str(path)] and load(str(path)).nodes["x"].value == 5.0  # theirs kept


def test_save_after_recovery_of_an_unchanged_file_writes_it(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    g = _saved_graph(path)
    w = _recovered(qtbot, tmp_path, path, g.copy())
    w.ask_overwrite = lambda p: (_ for _ in ()).throw(AssertionError("asked"))
    assert w.save_document()
    assert "y" in load(str(path)).nodes
