"""`gradcanvas FILE` after a crash (gui.app.start_window): the autosaved changes are offered first;
recovered changes to FILE itself are what the window then shows (reopening FILE would ask to
save them and, answered Discard, throw the work just recovered away); a recovered document of
another file is followed by FILE, asked about as any open over unsaved changes is."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox

from graph.fileformat import save
from graph.model import Graph, Node
from gui.recovery import encode


def _graph(*ids: str) -> Graph:
    g = Graph()
    for k, n in enumerate(ids):
        g.add_node(Node(n, "tensor", value=float(k)), pos=(200.0 * k, 0.0))
    return g


def _crashed_with(tmp_path: Path, graph: Graph, path: Path) -> None:
    """A recovery file no running window holds (its lock is free): what a killed session leaves."""
    folder = tmp_path / "recovery"
    folder.mkdir()
    (folder / "1234-crashed.json").write_text(encode(graph, str(path)), encoding="utf-8")


def _start(qtbot, tmp_path: Path, file: str):  # noqa: ANN001, ANN202 - a MainWindow
    """start_window(file) with Yes to the recovery offer; the window, and the unsaved-changes
    questions it asked (answered Discard) once its start had run."""
    from gui.app import start_window

    w = start_window(file, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), str(tmp_path / "recovery"))
    qtbot.addWidget(w)
    offered, asked = [], []
    w.ask_recover = lambda found: offered.append(found.path) or QMessageBox.StandardButton.Yes
    w.ask_unsaved = lambda: asked.append(w.doc.path) or QMessageBox.StandardButton.Discard
    qtbot.waitUntil(lambda: bool(offered), timeout=10_000)  # the start (offer, then open) has run
    QApplication.processEvents()
    return w, offered, asked


def test_recovered_changes_to_the_file_named_at_start_are_kept(qtbot, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    mine = tmp_path / "b.json"
    save(_graph("a"), mine)
    _crashed_with(tmp_path, _graph("a", "added_before_the_crash"), mine)
    monkeypatch.chdir(tmp_path)
    w, offered, asked = _start(qtbot, tmp_path, "./b.json")  # as typed: relative, not as recorded
    assert offered == [str(mine)] and asked == []  # no "save the changes first?" about what was just recovered
    assert sorted(w.doc.graph.nodes) == ["a", "added_before_the_crash"]
    assert w.doc.path == str(mine) and w.isWindowModified()  # the file lacks them until saved
    w.close()


def test_the_file_named_at_start_is_found_through_a_link(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    mine = tmp_path / "b.json"
    save(_graph("a"), mine)
    _crashed_with(tmp_path, _graph("a", "kept"), mine)
    link = tmp_path / "link.json"
    os.symlink(mine, link)
    w, _offered, asked = _start(qtbot, tmp_path, str(link))
    assert asked == [] and "kept" in w.doc.graph.nodes
    w.close()


def test_a_recovered_other_document_is_asked_about_before_the_file_opens(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    mine, other = tmp_path / "b.json", tmp_path / "c.json"
    save(_graph("a"), mine)
    save(_graph("c"), other)
    _crashed_with(tmp_path, _graph("c", "unsaved"), other)
    w, offered, asked = _start(qtbot, tmp_path, str(mine))
    assert offered == [str(other)] and asked == [str(other)]  # its changes: save them first?
    assert list(w.doc.graph.nodes) == ["a"] and w.doc.path == str(mine)  # Discard: FILE opened
    w.close()
