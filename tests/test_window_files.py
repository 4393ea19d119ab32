"""Files in the window, offscreen with pytest-qt: save and open round trips with the title and
its modified mark, positions saved as drawn, the question on closing with unsaved changes, and
every file that cannot be opened (bad JSON, an unknown op, a newer version, a cycle, a misspelt
path, …) refused or marked in one message naming it once, the open document left untouched."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from helpers import assert_scene_mirrors, new_window
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QMessageBox
from window_driver import EX01, body_point, close_message_boxes, drag, load_fixture

from gradcanvas.cli import main as cli_main
from graph.errors import GraphError
from graph.fileformat import dumps, load
from gui.window import MainWindow


def test_save_open_round_trip_title_and_modified_mark(qtbot, window: MainWindow, tmp_path: Path) -> None:
    assert window.open_file(str(EX01))
    assert window.doc.path is None  # an example opens as an untitled copy
    assert "untitled[*]" in window.windowTitle() and not window.isWindowModified()
    load_fixture(window, load(EX01))
    drag(window, body_point(window, "x"), body_point(window, "x") + QPoint(20, 20))
    assert window.isWindowModified()
    window.doc.set_target("y")  # saved with the file, and opened with it
    path = tmp_path / "my graph.json"
    assert window._save_to(str(path))
    assert window.windowTitle().startswith("my graph.json[*]") and not window.isWindowModified()
    assert load(path) == window.doc.graph

    other = new_window(qtbot, tmp_path, "other")
    assert other.open_file(str(path))
    assert (other.doc.graph.nodes, other.doc.graph.edges, other.doc.graph.layout) == (
        window.doc.graph.nodes, window.doc.graph.edges, window.doc.graph.layout)
    assert other.doc.path == str(path) and "my graph.json[*]" in other.windowTitle()
    assert not other.isWindowModified()
    assert other.doc.target == "y" and load(path).target == "y"

    node = dataclasses.replace(other.doc.graph.nodes["z"], value=7.0)
    other.doc.edit_node(node)
    assert other.isWindowModified()
    assert other.save_document()  # has a path: no dialog
    assert not other.isWindowModified()
    assert load(path).nodes["z"].value == 7.0
    # Undo past the save point marks it modified again.
    other.doc.undo_stack.undo()
    assert other.isWindowModified()


def test_nodes_without_positions_are_saved_where_they_are_drawn(window: MainWindow, tmp_path: Path) -> None:
    g = load(EX01)
    g.layout.clear()
    window.doc.reset(g)
    path = tmp_path / "g.json"
    assert window._save_to(str(path))
    saved = load(path)
    for n, item in window.scene.nodes.items():
        assert saved.position(n) == (item.pos().x(), item.pos().y())


@pytest.mark.parametrize("answer", ["Cancel", "Discard", "Save"])
def test_close_with_unsaved_changes_asks(qtbot, tmp_path: Path, answer: str) -> None:
    w = new_window(qtbot, tmp_path)
    path = tmp_path / "g.json"
    w.doc.reset(load(EX01), str(path))
    calls = []

    def ask() -> QMessageBox.StandardButton:
        calls.append(1)
        return getattr(QMessageBox.StandardButton, answer)

    w.ask_unsaved = ask
    assert w.close()  # clean: closes without asking
    assert calls == []
    w.show()
    node = dataclasses.replace(w.doc.graph.nodes["x"], value=5.0)
    w.doc.edit_node(node)
    closed = w.close()
    assert calls == [1]
    if answer == "Cancel":
        assert not closed and w.isVisible() and w.isWindowModified()
        assert not path.exists()
        w.ask_unsaved = lambda: QMessageBox.StandardButton.Discard
    elif answer == "Discard":
        assert closed and not w.isVisible() and not path.exists()
    else:
        assert closed and not w.isVisible()
        assert load(path).nodes["x"].value == 5.0


def _bad_files(tmp_path: Path) -> dict[str, Path]:
    def doc(nodes: list, edges: list) -> str:
        return json.dumps({"format": "gradcanvas", "version": 1, "nodes": nodes, "edges": edges})

    texts = {
        "bad_json": '{"format": "gradcanvas", "version": 1, "nodes": [',
        "unknown_op": doc([{"id": "a", "op": "tensor", "value": 1.0},
                           {"id": "b", "op": "frobnicate"}], [{"from": "a", "to": "b", "port": "input"}]),
        "wrong_format": json.dumps({"format": "other", "version": 1, "nodes": [], "edges": []}),
        "future_version": json.dumps({"format": "gradcanvas", "version": 99, "nodes": [], "edges": []}),
        "duplicate_id": doc([{"id": "a", "op": "tensor", "value": 1.0}, {"id": "a", "op": "tensor", "value": 2.0}],
                            []),
        "edge_to_nowhere": doc([{"id": "a", "op": "tensor", "value": 1.0}],
                               [{"from": "a", "to": "ghost", "port": "input"}]),
        "nan_value": '{"format": "gradcanvas", "version": 1, "nodes": [{"id": "a", "op": "tensor", "value": NaN}],'
                     ' "edges": []}',
        "ragged_value": doc([{"id": "a", "op": "tensor", "value": [[1.0, 2.0], [3.0]]}], []),
        "not_an_object": "[1, 2, 3]",
    }
    files = {}
    for name, text in texts.items():
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(text, encoding="utf-8")
    files["not_utf8"] = tmp_path / "not_utf8.json"
    files["not_utf8"].write_bytes(b'{"format": "\xff\xfe"}')
    files["missing"] = tmp_path / "no such file.json"
    return files


@pytest.mark.parametrize("name", ["bad_json", "unknown_op", "wrong_format", "future_version", "duplicate_id",
                                  "edge_to_nowhere", "nan_value", "ragged_value", "not_an_object", "not_utf8",
                                  "missing"])
def test_bad_file_leaves_the_open_document_untouched(window: MainWindow, tmp_path: Path, name: str) -> None:
    good = tmp_path / "good.json"
    good.write_text(EX01.read_text(encoding="utf-8"), encoding="utf-8")
    assert window.open_file(str(good))
    node = dataclasses.replace(window.doc.graph.nodes["x"], value=4.0)
    window.doc.edit_node(node)  # an unsaved edit, too
    before, title, index = dumps(window.doc.graph), window.windowTitle(), window.doc.undo_stack.index()
    path = _bad_files(tmp_path)[name]
    with pytest.raises(GraphError) as loader_error:
        load(path)
    assert window.open_file(str(path)) is False
    assert dumps(window.doc.graph) == before
    assert window.doc.path == str(good) and window.windowTitle() == title and window.isWindowModified()
    assert window.doc.undo_stack.index() == index
    # One message naming the file once: "cannot open PATH: what is wrong".
    detail = loader_error.value.message.removeprefix(f"{path}: ").removeprefix("cannot read: ")
    message = window.statusBar().currentMessage()
    assert message.startswith(f"cannot open {path}: ") and message.count(str(path)) == 1
    assert detail.casefold() in message.casefold()
    assert any(t == message for t in close_message_boxes(window))
    assert_scene_mirrors(window)


def test_a_file_with_a_cycle_opens_with_the_cycle_marked(window, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "cycle.json"
    path.write_text('{"format": "gradcanvas", "version": 1, "nodes": ['
                    '{"id": "p", "op": "neg"}, {"id": "q", "op": "sin"}, {"id": "r", "op": "exp"}], '
                    '"edges": [{"from": "p", "to": "q", "port": "input"}, {"from": "q", "to": "p", "port": "input"}, '
                    '{"from": "q", "to": "r", "port": "input"}]}')
    assert window.open_file(str(path))
    marked = {n for n, item in window.scene.nodes.items() if item.error}
    assert marked == {"p", "q"}
    assert "cycle" in window.statusBar().currentMessage()


def test_a_misspelt_path_is_named_once(window: MainWindow, tmp_path: Path) -> None:
    path = str(tmp_path / "no" / "such.json")
    assert window.open_file(path) is False
    assert window.statusBar().currentMessage() == f"cannot open {path}: no such file or directory"
    assert close_message_boxes(window) == [f"cannot open {path}: no such file or directory"]


def test_a_broken_json_file_is_named_by_the_window_and_the_cli(window: MainWindow, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"format": "gradcanvas", "version": 1, "nodes": [', encoding="utf-8")
    assert window.open_file(str(path)) is False
    message = window.statusBar().currentMessage()
    assert message.startswith(f"cannot open {path}: not valid JSON") and message.count(str(path)) == 1
    close_message_boxes(window)
    assert cli_main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: not valid JSON") and err.count(str(path)) == 1
    assert len(err.strip().splitlines()) == 1


def test_the_collector_is_off_from_the_load_until_the_new_document_is_painted(
        qtbot, window: MainWindow, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """A big open made ~100,000 long-lived objects that the collector walked several times
    (~120 ms of ~700 at 5,000 nodes), finding nothing: it is off from the load to the paint."""
    import gc

    from PySide6.QtCore import QEvent, QObject

    seen = []

    class Paints(QObject):
        def eventFilter(self, obj, event) -> bool:  # noqa: N802, ANN001 - Qt's name
            if event.type() == QEvent.Type.Paint:
                seen.append(gc.isenabled())
            return False

    paints = Paints()
    window.view.viewport().installEventFilter(paints)
    import gui.window

    loads = []
    real_load = gui.window.load
    monkeypatch.setattr(gui.window, "load", lambda path: (loads.append(gc.isenabled()), real_load(path))[1])
    assert window.open_file(str(EX01))
    assert loads == [False] and not gc.isenabled()  # off for the load and the scene's items
    qtbot.waitUntil(gc.isenabled, timeout=5000)
    assert seen and seen[0] is False  # the first paint of the new document came before it was on
    # a file that fails to load turns it back on at once
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    assert not window.open_file(str(bad))
    assert gc.isenabled()


def test_the_first_paint_of_an_opened_file_is_already_framed(qtbot, window: MainWindow, tmp_path: Path) -> None:  # noqa: ANN001
    """Fit graph ran on a timer after the first paint, so the user first saw the file at the old
    zoom, and the framed view came only after the collection that follows that paint."""
    from PySide6.QtCore import QEvent, QObject

    from benchmarks.bench_canvas import peer_graph

    path = tmp_path / "big.json"
    path.write_text(dumps(peer_graph(400)), encoding="utf-8")
    scales = []

    class Paints(QObject):
        def eventFilter(self, obj, event) -> bool:  # noqa: N802, ANN001 - Qt's name
            if event.type() == QEvent.Type.Paint:
                scales.append(window.view.transform().m11())
            return False

    paints = Paints()
    window.view.viewport().installEventFilter(paints)
    assert window.view.transform().m11() == 1.0
    assert window.open_file(str(path))
    qtbot.waitUntil(lambda: len(scales) >= 1, timeout=5000)
    qtbot.wait(50)
    framed = window.view.transform().m11()
    assert framed < 0.5  # 400 nodes do not fit at 100 %
    assert scales[0] == framed


def test_a_file_with_a_saved_view_is_first_painted_at_that_view(qtbot, window: MainWindow, tmp_path: Path) -> None:  # noqa: ANN001
    """Files the app saves keep their view (zoom, centre): opened, the first paint shows it, not
    the whole graph framed and then, after the collection, the saved view (review)."""
    from PySide6.QtCore import QEvent, QObject

    from benchmarks.bench_canvas import peer_graph

    graph = peer_graph(400)
    x, y = graph.position("n7")
    graph.view = (0.75, x + 100.0, y + 50.0)
    path = tmp_path / "viewed.json"
    path.write_text(dumps(graph), encoding="utf-8")
    seen = []

    class Paints(QObject):
        def eventFilter(self, obj, event) -> bool:  # noqa: N802, ANN001 - Qt's name
            if event.type() == QEvent.Type.Paint:
                view = window.view
                seen.append((view.transform().m11(), view.mapToScene(view.viewport().rect().center())))
            return False

    paints = Paints()
    window.view.viewport().installEventFilter(paints)
    assert window.open_file(str(path))
    qtbot.waitUntil(lambda: len(seen) >= 1, timeout=5000)
    qtbot.wait(100)
    for zoom, centre in (seen[0], seen[-1]):
        assert zoom == 0.75
        assert abs(centre.x() - (x + 100.0)) < 3 and abs(centre.y() - (y + 50.0)) < 3


def test_a_window_never_painted_turns_the_collector_back_on(qtbot, window: MainWindow,
                                                           monkeypatch) -> None:  # noqa: ANN001
    """Minimized, a window is not painted: the collector comes back after RESUME_MS anyway; and
    closing a window before its paint turns it back on."""
    import gc

    from gui import collection

    monkeypatch.setattr(collection, "RESUME_MS", 300)
    window.collection.pause()
    assert not gc.isenabled()
    qtbot.wait(200)
    window.collection.resume()  # as the paint does
    window.collection.pause()  # the next open: the first pause's timer does not end this one
    qtbot.wait(200)
    assert not gc.isenabled()
    qtbot.waitUntil(gc.isenabled, timeout=3000)
    window.collection.pause()
    assert not gc.isenabled()
    window.close()
    assert gc.isenabled()


def test_opening_shows_the_new_document_before_the_whole_collection_runs(qtbot, window: MainWindow,
                                                                          monkeypatch) -> None:  # noqa: ANN001
    """gc.collect walks every object (30-130 ms at 5,000 nodes): it ran before the new document
    was built; now it runs once the canvas has painted it, and the frozen generation holds the
    new document's objects afterwards."""
    import gc

    from PySide6.QtCore import QEvent, QObject

    order = []

    class Paints(QObject):
        def eventFilter(self, obj, event) -> bool:  # noqa: N802, ANN001 - Qt's name
            if event.type() == QEvent.Type.Paint:
                order.append("painted")
            return False

    paints = Paints()
    window.view.viewport().installEventFilter(paints)
    monkeypatch.setattr(gc, "collect", lambda *a: order.append("collect") or 0)
    gc.unfreeze()
    assert window.open_file(str(EX01))
    assert order == []  # nothing collected while the user waits
    qtbot.waitUntil(lambda: "collect" in order, timeout=5000)
    assert order.index("painted") < order.index("collect")
    assert gc.get_freeze_count() > 0
    window.open_file(str(EX01))
    window.open_file(str(EX01))  # two before a paint: one collection
    qtbot.waitUntil(lambda: order.count("collect") >= 2, timeout=5000)
    qtbot.wait(100)
    assert order.count("collect") == 2
