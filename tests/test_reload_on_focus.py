"""When the app becomes active again and another program changed the document's file, the window
offers to reload it (gui.file_guard.offer_reload): Reload replaces the document without the
"save changes?" question (the offer said what is lost); Keep leaves it, is not asked again for
that version of the file, and Save still asks before overwriting."""

from __future__ import annotations

import os
import time
from pathlib import Path

from helpers import new_window
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

from graph.fileformat import load, save
from graph.model import Graph, Node
from gui.file_guard import CANCEL


def _file(path: Path, value: float) -> Graph:
    """A one-leaf graph (x = value) saved to path."""
    g = Graph()
    g.add_node(Node("x", "tensor", value=value, requires_grad=True), pos=(0.0, 0.0))
    save(g, str(path))
    return g


def _changed_by_another_program(path: Path, value: float) -> None:
    _file(path, value)
    later = time.time_ns() + 1_000_000_000  # a new mtime even where the clock is coarse
    os.utime(path, ns=(later, later))


def _activate() -> None:
    QGuiApplication.instance().applicationStateChanged.emit(Qt.ApplicationState.ApplicationActive)


def _opened(qtbot, tmp_path: Path):  # noqa: ANN202 - a MainWindow
    path = tmp_path / "mine.json"
    _file(path, 1.0)
    w = new_window(qtbot, tmp_path)
    assert w.open_file(str(path))
    return w, path


def test_reload_replaces_an_edited_document_with_the_files_new_version(qtbot, tmp_path: Path) -> None:
    w, path = _opened(qtbot, tmp_path)
    w.doc.add_node(Node("y", "neg"), (300.0, 0.0))  # unsaved work the offer says is lost
    _changed_by_another_program(path, 5.0)
    asked = []
    w.ask_reload = lambda p, modified: asked.append((p, modified)) or True
    w.ask_unsaved = lambda: (_ for _ in ()).throw(AssertionError("asked twice"))
    _activate()
    assert asked == [(str(path), True)]
    assert w.doc.graph.nodes["x"].value == 5.0 and "y" not in w.doc.graph.nodes
    assert w.doc.undo_stack.isClean()
    _activate()
    assert len(asked) == 1  # the file is as read now: nothing to offer


def test_keep_is_not_asked_again_for_that_version_and_save_still_asks(qtbot, tmp_path: Path) -> None:
    w, path = _opened(qtbot, tmp_path)
    _changed_by_another_program(path, 5.0)
    asked = []
    w.ask_reload = lambda p, modified: asked.append(modified) or False
    _activate()
    _activate()
    assert asked == [False] and w.doc.graph.nodes["x"].value == 1.0  # kept, asked once
    overwrite = []
    w.ask_overwrite = lambda p: overwrite.append(p) or CANCEL
    w.doc.add_node(Node("y", "neg"), (300.0, 0.0))
    assert not w.save_document() and overwrite == [str(path)]
    assert load(str(path)).nodes["x"].value == 5.0  # theirs kept
    _changed_by_another_program(path, 7.0)  # a newer version: offered again
    _activate()
    assert asked == [False, True]


def test_an_unchanged_file_or_an_untitled_document_is_never_offered(qtbot, tmp_path: Path) -> None:
    w, _path = _opened(qtbot, tmp_path)
    w.ask_reload = lambda p, modified: (_ for _ in ()).throw(AssertionError("offered"))
    _activate()
    w.new_document()
    _activate()


def test_a_change_seen_during_a_run_is_offered_when_the_run_ends(qtbot, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """Activated while a Run N steps goes: no question then (the run writes when it ends); the
    offer comes once the run has ended."""
    w, path = _opened(qtbot, tmp_path)
    monkeypatch.setattr(QGuiApplication, "applicationState", lambda: Qt.ApplicationState.ApplicationActive)
    asked = []
    w.ask_reload = lambda p, modified: asked.append(modified) or False
    w.training.running = "x"  # a run in progress, as Training.run_steps marks it
    _changed_by_another_program(path, 5.0)
    _activate()
    assert asked == [] and w.file_guard.pending
    w.training.running = None
    w.training.runFinished.emit()
    qtbot.waitUntil(lambda: asked == [False], timeout=5000)
    assert not w.file_guard.pending
