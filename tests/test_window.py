"""The main window, offscreen with pytest-qt: undo/redo of every edit, clipboard, files, compute
results drawn on the canvas, errors, the render command and start-up.

Expected numbers come from the engine (autograd_bridge) or plain torch, computed here.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from helpers import RESULT_TIMEOUT_MS, THREAD_ONLY, assert_scene_mirrors, new_window
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QDragEnterEvent, QDragMoveEvent, QDropEvent, QGuiApplication, QImage, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from autograd_bridge.compute import ComputeResult, ComputeSession, NodeView
from autograd_bridge.engine import Compiled
from autograd_bridge.formatting import tensor_text
from gradcanvas.cli import main as cli_main
from graph.errors import GraphError
from graph.fileformat import dumps, load, loads
from graph.model import Edge, Graph, Node
from gui.actions import CANVAS_KEYS, assign_shortcuts, key_sequences, portable, shortcut_clashes, window_actions
from gui.canvas import DIFF_BTN, NODE_W
from gui.help import GESTURES, shortcut_rows
from gui.window import MainWindow

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.json"))
EX01 = ROOT / "resources" / "examples" / "01_scalar_partial.json"

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier
CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


# ---- helpers ----

def _activate(qtbot, w: MainWindow) -> None:
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    w.view.setFocus()


def _key(qtbot, w: MainWindow, key: Qt.Key, mod=NO_MOD) -> None:
    """A key press as a person makes it: to the focused canvas of the active window."""
    _activate(qtbot, w)
    QTest.keyClick(w.view, key, mod)


def _vp(w: MainWindow, node_id: str, local: QPointF) -> QPoint:
    item = w.scene.nodes[node_id]
    p = w.view.mapFromScene(item.mapToScene(local))
    assert w.view.viewport().rect().contains(p), f"{node_id} is off screen"
    return p


def _drag(w: MainWindow, a: QPoint, b: QPoint, mod=NO_MOD, steps: int = 6) -> None:
    vp = w.view.viewport()
    QTest.mousePress(vp, LEFT, mod, a)
    for i in range(1, steps + 1):
        QTest.mouseMove(vp, QPoint(round(a.x() + (b.x() - a.x()) * i / steps),
                                   round(a.y() + (b.y() - a.y()) * i / steps)))
    QTest.mouseRelease(vp, LEFT, mod, b)


def _click(w: MainWindow, p: QPoint, mod=NO_MOD) -> None:
    QTest.mouseClick(w.view.viewport(), LEFT, mod, p)


def _wire(w: MainWindow, src: str, dst: str, port: str) -> None:
    s, d = w.scene.nodes[src], w.scene.nodes[dst]
    _drag(w, _vp(w, src, s.output_pos()), _vp(w, dst, d.input_pos(port)))


def _drop(w: MainWindow, op: str, at: QPoint) -> str:
    before = set(w.doc.graph.nodes)
    data = w.palette.tree.mimeData([w.palette.item_for(op)])
    vp, copy_action = w.view.viewport(), Qt.DropAction.CopyAction
    for event in (QDragEnterEvent(at, copy_action, data, LEFT, NO_MOD),
                  QDragMoveEvent(at, copy_action, data, LEFT, NO_MOD),
                  QDropEvent(QPointF(at), copy_action, data, LEFT, NO_MOD)):
        QApplication.sendEvent(vp, event)
    (new,) = set(w.doc.graph.nodes) - before
    return new


def _close_message_boxes(w: MainWindow) -> list[str]:
    texts = []
    for box in w.findChildren(QMessageBox):
        if box.isVisible():
            texts.append(box.text())
            box.close()
    return texts


def _action_for(w: MainWindow, key: str) -> QAction:
    """The one action of the window that `key` (portable text) triggers."""
    (action,) = [a for a in window_actions(w) if key in [portable(s) for s in a.shortcuts()]]
    return action


def _wait_result(qtbot, w: MainWindow) -> ComputeResult:
    qtbot.waitUntil(lambda: w.last_result is not None and w.last_result.revision == w.doc.revision,
                    timeout=RESULT_TIMEOUT_MS)
    return w.last_result


def _fixture_graph() -> Graph:
    """Example 1 plus two loose nodes, so there are free ports to wire."""
    g = load(EX01)
    right = max(x for x, _y in g.layout.values()) + NODE_W + 80
    g.add_node(Node("free", "neg"), pos=(right, 100.0))
    g.add_node(Node("v", "tensor", value=[1.0, 2.0]), pos=(right, 300.0))
    return g


def _load_fixture(w: MainWindow, graph: Graph | None = None, scale: float = 0.55) -> None:
    w.doc.reset(graph or _fixture_graph())
    w.view.resetTransform()
    w.view.scale(scale, scale)
    w.view.centerOn(w.scene.itemsBoundingRect().center())
    QApplication.processEvents()


def _body(w: MainWindow, n: str) -> QPoint:
    return _vp(w, n, QPointF(100, 60))


# ---- undo / redo of every edit kind ----

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
        _key(qtbot, w, Qt.Key.Key_Z, CTRL)
        assert dumps(doc.graph) == before
        assert_scene_mirrors(w)
        _key(qtbot, w, Qt.Key.Key_Z, CTRL | SHIFT)
        assert dumps(doc.graph) == after
        assert_scene_mirrors(w)


def _select(w: MainWindow, *ids: str) -> None:
    _click(w, _body(w, ids[0]))
    for n in ids[1:]:
        _click(w, _body(w, n), SHIFT)
    assert sorted(w.scene.selected_node_ids()) == sorted(ids)


def test_undo_redo_create(qtbot, window: MainWindow) -> None:
    _load_fixture(window)
    _undo_redo_exact(qtbot, window, lambda: _drop(window, "exp", QPoint(200, 500)))


def test_undo_redo_delete_node_restores_its_edges_in_order(qtbot, window: MainWindow) -> None:
    _load_fixture(window)
    doc = window.doc
    # x_sq's edges are the 1st and 3rd in the list: undo must put them back there.
    assert [i for i, e in enumerate(doc.graph.edges) if "x_sq" in (e.src, e.dst)] == [0, 2]

    def delete() -> None:
        _select(window, "x_sq")
        _key(qtbot, window, Qt.Key.Key_Delete)
        assert "x_sq" not in doc.graph.nodes and len(doc.graph.edges) == 5

    _undo_redo_exact(qtbot, window, delete)


def test_undo_redo_delete_several_nodes_and_an_edge(qtbot, window: MainWindow) -> None:
    _load_fixture(window)
    doc = window.doc

    def delete() -> None:
        _select(window, "two", "three_z")
        edge = Edge("x_sq", "two_x_sq", "other")
        window.scene.edges[edge].setSelected(True)
        window.delete_selection()
        assert {"two", "three_z"}.isdisjoint(doc.graph.nodes)
        assert edge not in doc.graph.edges

    _undo_redo_exact(qtbot, window, delete)


def test_undo_redo_move(qtbot, window: MainWindow) -> None:
    _load_fixture(window)
    _undo_redo_exact(qtbot, window, lambda: _drag(window, _body(window, "y"), _body(window, "y") + QPoint(30, 45)))


def test_undo_redo_connect(qtbot, window: MainWindow) -> None:
    _load_fixture(window)

    def connect() -> None:
        _wire(window, "y", "free", "input")
        assert window.doc.graph.edges[-1] == Edge("y", "free", "input")

    _undo_redo_exact(qtbot, window, connect)


def test_undo_redo_disconnect_by_selecting_the_edge(qtbot, window: MainWindow) -> None:
    _load_fixture(window)
    edge = Edge("x_sq", "two_x_sq", "other")

    def disconnect() -> None:
        mid = window.view.mapFromScene(window.scene.edges[edge].path().pointAtPercent(0.5))
        _click(window, mid)
        assert window.scene.selected_edges() == [edge]
        _key(qtbot, window, Qt.Key.Key_Delete)
        assert edge not in window.doc.graph.edges and len(window.doc.graph.nodes) == 10

    _undo_redo_exact(qtbot, window, disconnect)


def test_undo_redo_alt_drag_cut(qtbot, window: MainWindow) -> None:
    _load_fixture(window)
    doc, scene, view = window.doc, window.scene, window.view
    edges = [Edge("two_x_sq", "y", "input"), Edge("three_z", "y", "other")]

    def cut() -> None:
        # A vertical stroke just left of y crosses both of its input wires.
        y = scene.nodes["y"]
        x = y.pos().x() - 30
        a = view.mapFromScene(QPointF(x, -150))
        b = view.mapFromScene(QPointF(x, 350))
        _drag(window, a, b, Qt.KeyboardModifier.AltModifier, steps=10)
        assert [e for e in edges if e in doc.graph.edges] == []
        assert len(doc.graph.edges) == 5

    _undo_redo_exact(qtbot, window, cut)


def test_undo_redo_value_edit(qtbot, window: MainWindow) -> None:
    _load_fixture(window)
    node = dataclasses.replace(window.doc.graph.nodes["x"], value=-1.5)
    _undo_redo_exact(qtbot, window, lambda: window.doc.edit_node(node, "Edit value"))


def test_undo_redo_value_edit_of_a_vector_and_requires_grad(qtbot, window: MainWindow) -> None:
    _load_fixture(window)
    node = dataclasses.replace(window.doc.graph.nodes["v"], value=[[1.0, -2.0], [0.5, 4.0]], requires_grad=True)
    _undo_redo_exact(qtbot, window, lambda: window.doc.edit_node(node))


def test_undo_redo_attribute_edit(qtbot, window: MainWindow) -> None:
    _load_fixture(window)
    node = dataclasses.replace(window.doc.graph.nodes["x_sq"], attrs={"exponent": 3})
    _undo_redo_exact(qtbot, window, lambda: window.doc.edit_node(node, "Edit attrs"))


def test_undo_redo_label_edit(qtbot, window: MainWindow) -> None:
    _load_fixture(window)
    node = dataclasses.replace(window.doc.graph.nodes["y"], label="the result")
    _undo_redo_exact(qtbot, window, lambda: window.doc.edit_node(node))


def test_undo_redo_rename(qtbot, window: MainWindow) -> None:
    _load_fixture(window)
    doc = window.doc

    def rename() -> None:
        doc.rename("x_sq", "square")
        assert list(doc.graph.nodes).index("square") == 4
        assert Edge("x", "square", "input") == doc.graph.edges[0]
        assert Edge("square", "two_x_sq", "other") == doc.graph.edges[2]

    _undo_redo_exact(qtbot, window, rename)


def test_rename_of_the_target_keeps_it_the_target(window: MainWindow) -> None:
    _load_fixture(window)
    window.doc.set_target("y")
    window.doc.rename("y", "out")
    assert window.doc.target == "out" and window.scene.nodes["out"].is_target
    assert window.doc.undo_stack.count() == 1
    window.doc.undo_stack.undo()
    assert window.doc.target == "y" and window.scene.nodes["y"].is_target
    window.doc.undo_stack.redo()
    assert window.doc.target == "out" and window.scene.nodes["out"].is_target


def test_undo_redo_paste_through_the_clipboard(qtbot, window: MainWindow) -> None:
    _load_fixture(window)
    doc = window.doc

    def copy_paste() -> None:
        _select(window, "x", "x_sq")
        _key(qtbot, window, Qt.Key.Key_C, CTRL)
        assert doc.undo_stack.count() == 0  # copying is not an edit
        _key(qtbot, window, Qt.Key.Key_V, CTRL)
        new = sorted(window.scene.selected_node_ids())
        assert len(new) == 2 and {"x", "x_sq"}.isdisjoint(new)
        assert len(doc.graph.nodes) == 12 and len(doc.graph.edges) == 8

    _undo_redo_exact(qtbot, window, copy_paste)


def test_undo_redo_duplicate(qtbot, window: MainWindow) -> None:
    _load_fixture(window)
    doc = window.doc

    def duplicate() -> None:
        _select(window, "three", "z", "three_z")
        _key(qtbot, window, Qt.Key.Key_D, CTRL)
        assert len(doc.graph.nodes) == 13 and len(doc.graph.edges) == 9

    _undo_redo_exact(qtbot, window, duplicate)


def test_undo_redo_auto_layout(qtbot, window: MainWindow) -> None:
    _load_fixture(window)
    _undo_redo_exact(qtbot, window, lambda: _key(qtbot, window, Qt.Key.Key_L, CTRL))


def test_undo_and_redo_actions_follow_the_stack(window: MainWindow) -> None:
    _load_fixture(window)
    doc = window.doc
    undo, redo = _action_for(window, "Ctrl+Z"), _action_for(window, "Ctrl+Shift+Z")
    assert _action_for(window, "Ctrl+Y") is redo
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


# ---- clipboard between two windows ----

def test_copy_in_one_window_paste_in_another(qtbot, tmp_path: Path) -> None:
    w1 = new_window(qtbot, tmp_path, "one")
    w2 = new_window(qtbot, tmp_path, "two")
    _load_fixture(w1)
    _load_fixture(w2)
    original = copy.deepcopy(w2.doc.graph)
    copied = ["x", "x_sq", "two", "two_x_sq"]
    _activate(qtbot, w1)
    _select(w1, *copied)
    _key(qtbot, w1, Qt.Key.Key_C, CTRL)
    data = QGuiApplication.clipboard().mimeData()
    assert data.hasFormat("application/x-gradcanvas+json")
    fragment = loads(bytes(data.data("application/x-gradcanvas+json")).decode("utf-8"))
    assert list(fragment.nodes) == [n for n in w1.doc.graph.nodes if n in copied]
    # Only the edges among the copied nodes: not two_x_sq → y.
    assert fragment.edges == [e for e in w1.doc.graph.edges if e.src in copied and e.dst in copied]
    assert len(fragment.edges) == 3

    _key(qtbot, w2, Qt.Key.Key_V, CTRL)
    doc = w2.doc
    new_ids = [n for n in doc.graph.nodes if n not in original.nodes]
    assert len(new_ids) == 4
    for n, node in original.nodes.items():  # nothing of the target document changed
        assert doc.graph.nodes[n] == node
    assert doc.graph.edges[:len(original.edges)] == original.edges
    ids = dict(zip(fragment.nodes, new_ids, strict=True))  # pasted in fragment order
    for old, new in ids.items():
        pasted, src = doc.graph.nodes[new], fragment.nodes[old]
        assert pasted.op == src.op and pasted.value == src.value and pasted.attrs == src.attrs
        src_pos = fragment.position(old)
        assert doc.graph.position(new) == (src_pos[0] + 40, src_pos[1] + 40)
    assert doc.graph.edges[len(original.edges):] == [Edge(ids[e.src], ids[e.dst], e.port) for e in fragment.edges]
    assert sorted(w2.scene.selected_node_ids()) == sorted(new_ids)
    assert_scene_mirrors(w2)
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert dumps(doc.graph) == dumps(original)

    # Into an empty document the ids do not clash and are kept.
    w2.doc.reset(Graph())
    w2.paste()
    assert list(w2.doc.graph.nodes) == list(fragment.nodes)
    assert w2.doc.graph.edges == fragment.edges


def test_paste_of_plain_text_that_is_not_a_graph_is_refused(window: MainWindow) -> None:
    _load_fixture(window)
    before = dumps(window.doc.graph)
    data = QMimeData()
    data.setText('{"format": "gradcanvas", "version": 1, "nodes": [{"id": "q", "op": "nope"}], "edges": []}')
    QGuiApplication.clipboard().setMimeData(data)
    window.paste()
    assert dumps(window.doc.graph) == before and window.doc.undo_stack.count() == 0
    assert window.statusBar().currentMessage().startswith("cannot paste")


# ---- files, title, closing ----

def test_save_open_round_trip_title_and_modified_mark(qtbot, window: MainWindow, tmp_path: Path) -> None:
    assert window.open_file(str(EX01))
    assert window.doc.path is None  # an example opens as an untitled copy
    assert "untitled[*]" in window.windowTitle() and not window.isWindowModified()
    _load_fixture(window, load(EX01))
    _drag(window, _body(window, "x"), _body(window, "x") + QPoint(20, 20))
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
    assert any(t == message for t in _close_message_boxes(window))
    assert_scene_mirrors(window)


# ---- computing: the ∂ button, overlays, staleness, errors ----

def _expected(graph: Graph, target: str) -> dict[str, tuple[str, str | None, str | None]]:
    """node id → (value text, grad text, no-grad reason), from the engine."""
    compiled = Compiled(graph)
    result = compiled.run(target)
    return {n: (tensor_text(result.values[n]),
                None if result.grads[n] is None else tensor_text(result.grads[n]),
                result.no_grad_reason(n, compiled)) for n in graph.nodes}


@THREAD_ONLY
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_diff_button_computes_off_the_gui_thread_and_overlays_match_the_engine(
        qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, example: Path) -> None:
    threads = []
    real_compute = ComputeSession.compute

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        threads.append(threading.get_ident())
        return real_compute(*args, **kwargs)

    monkeypatch.setattr(ComputeSession, "compute", spy)
    assert window.open_file(str(example))
    window.doc.set_target(None)
    QApplication.processEvents()  # the fit scheduled by open_file
    graph = load(example)
    (target,) = graph.sinks()
    item = window.scene.nodes[target]
    window.view.centerOn(item)
    _click(window, _vp(window, target, DIFF_BTN.center()))
    assert window.doc.target == target and item.is_target
    assert window.last_result is None  # the click returned before any result
    result = _wait_result(qtbot, window)
    assert threads and all(t != threading.get_ident() for t in threads)
    assert result.error is None and result.target == target
    assert window.statusBar().currentMessage()
    expected = _expected(graph, target)
    for n, (value_text, grad_text, reason) in expected.items():
        view = window.scene.nodes[n].view
        assert view is not None, n
        assert view.value_text == value_text, n
        assert view.grad_text == grad_text, n
        if grad_text is None:
            assert reason and view.no_grad_reason == reason, n
        assert not window.scene.nodes[n].stale and window.scene.nodes[n].error is None
    assert window.scene.nodes[target].view.grad_text == "1"  # ∂t/∂t
    if example.name != "03_vector_element.json":  # every other example has a constant leaf
        assert any(window.scene.nodes[n].view.grad_text is None for n in graph.nodes)


def test_example_two_partials_agree_with_plain_torch(qtbot, window: MainWindow) -> None:
    window.open_file(str(EXAMPLES[1]))
    result = _wait_result(qtbot, window)
    assert result.target == "y"
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    x_row = x.reshape(1, -1)
    x_row.retain_grad()
    y = torch.sum(2.0 * (x_row @ torch.tensor([[3.0, 4.0], [5.0, 6.0]])))
    y.backward()
    assert torch.equal(x.grad, torch.tensor([14.0, 22.0]))
    assert window.scene.nodes["x"].view.grad_text == tensor_text(x.grad)
    assert window.scene.nodes["x_row"].view.grad_text == tensor_text(x_row.grad)
    assert window.scene.nodes["y"].view.value_text == tensor_text(y)
    assert window.scene.nodes["w"].view.grad_text is None
    assert window.scene.nodes["w"].view.no_grad_reason


def test_an_edit_marks_overlays_stale_and_recomputes(qtbot, window: MainWindow) -> None:
    window.open_file(str(EX01))
    _wait_result(qtbot, window)
    node = dataclasses.replace(window.doc.graph.nodes["x"], value=-3.0)
    window.doc.edit_node(node)
    assert all(item.stale for item in window.scene.nodes.values())
    result = _wait_result(qtbot, window)
    assert all(not item.stale for item in window.scene.nodes.values())
    x = torch.tensor(-3.0, requires_grad=True)
    y = 2 * x ** 2 + 3 * torch.tensor(3.0)
    y.backward()
    assert result.nodes["x"].grad_text == tensor_text(x.grad) == window.scene.nodes["x"].view.grad_text
    assert window.scene.nodes["y"].view.value_text == tensor_text(y)


def test_stale_results_are_dropped(qtbot, window: MainWindow) -> None:
    window.open_file(str(EX01))
    shown = _wait_result(qtbot, window)
    views = {n: item.view for n, item in window.scene.nodes.items()}
    fake_view = NodeView((), True, "999", "999", None, None, None)
    fake = {n: fake_view for n in window.doc.graph.nodes}
    old = ComputeResult(window.doc.revision - 1, window.doc.target, dict(fake))
    window.show_result(old)
    assert window.last_result is shown
    assert {n: item.view for n, item in window.scene.nodes.items()} == views
    other_target = ComputeResult(window.doc.revision, "x", dict(fake))
    window.show_result(other_target)
    assert window.last_result is shown and window.scene.nodes["y"].view is views["y"]
    # The same result, for the current revision and target, is drawn: the check above can fail.
    current = ComputeResult(window.doc.revision, window.doc.target, dict(fake))
    window.show_result(current)
    assert window.last_result is current and window.scene.nodes["y"].view.value_text == "999"


def _error_graphs() -> dict[str, tuple[Graph, str]]:
    missing = Graph()
    missing.add_node(Node("x", "tensor", value=2.0, requires_grad=True), pos=(0.0, 0.0))
    missing.add_node(Node("m", "mul"), pos=(260.0, 0.0))
    for _e in [Edge("x", "m", "input")]:
        missing.add_edge(_e)
    shapes = Graph()
    shapes.add_node(Node("A", "tensor", value=[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True),
                    pos=(0.0, 0.0))
    shapes.add_node(Node("B", "tensor", value=[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]), pos=(0.0, 160.0))
    shapes.add_node(Node("AB", "matmul"), pos=(260.0, 0.0))
    shapes.add_node(Node("s", "sum"), pos=(520.0, 0.0))
    for _e in [Edge("A", "AB", "input"), Edge("B", "AB", "other"), Edge("AB", "s", "input")]:
        shapes.add_edge(_e)
    vector = Graph()
    vector.add_node(Node("v", "tensor", value=[1.0, 2.0], requires_grad=True), pos=(0.0, 0.0))
    vector.add_node(Node("n", "neg"), pos=(260.0, 0.0))
    for _e in [Edge("v", "n", "input")]:
        vector.add_edge(_e)
    return {"missing_input": (missing, "m"), "shape_mismatch": (shapes, "s"), "non_scalar_target": (vector, "n")}


@pytest.mark.parametrize("name", ["missing_input", "shape_mismatch", "non_scalar_target"])
def test_errors_mark_the_offending_nodes_and_reach_the_status_bar(qtbot, window: MainWindow, name: str) -> None:
    graph, target = _error_graphs()[name]
    with pytest.raises(GraphError) as engine_error:
        Compiled(copy.deepcopy(graph)).run(target)
    bad = set(engine_error.value.node_ids)
    assert bad, "the engine names the nodes"
    window.doc.reset(graph)
    window.doc.set_target(target)
    result = _wait_result(qtbot, window)
    assert result.error == engine_error.value.message
    for n, item in window.scene.nodes.items():
        assert item.error == (engine_error.value.message if n in bad else None), n
        assert not item.stale
    assert engine_error.value.message in window.statusBar().currentMessage()
    assert engine_error.value.message in window.scene.nodes[sorted(bad)[0]].toolTip()
    assert window.isVisible()
    window.grab()  # error borders paint without raising


def test_fixing_the_error_clears_the_marks(qtbot, window: MainWindow) -> None:
    graph, target = _error_graphs()["missing_input"]
    graph.add_node(Node("k", "tensor", value=4.0), pos=(0.0, 160.0))
    window.doc.reset(graph)
    window.doc.set_target(target)
    assert _wait_result(qtbot, window).error
    assert window.scene.nodes["m"].error
    window.doc.connect(Edge("k", "m", "other"))
    result = _wait_result(qtbot, window)
    assert result.error is None
    assert all(item.error is None for item in window.scene.nodes.values())
    assert window.scene.nodes["x"].view.grad_text == tensor_text(torch.tensor(4.0))
    assert window.scene.nodes["m"].view.value_text == tensor_text(torch.tensor(8.0))


# ---- a graph built with the mouse, drawn to a PNG ----

def test_graph_built_with_the_mouse_computes_and_renders(qtbot, window: MainWindow) -> None:
    doc = window.doc
    window.view.centerOn(0, 0)
    a = _drop(window, "tensor", QPoint(120, 150))
    b = _drop(window, "tensor", QPoint(120, 400))
    m = _drop(window, "mul", QPoint(420, 220))
    s = _drop(window, "sin", QPoint(420, 470))
    _wire(window, a, m, "input")
    _wire(window, b, m, "other")
    _wire(window, m, s, "input")
    assert doc.graph.edges == [Edge(a, m, "input"), Edge(b, m, "other"), Edge(m, s, "input")]
    for n, v in ((a, 1.5), (b, -2.0)):
        node = dataclasses.replace(doc.graph.nodes[n], value=v)
        doc.edit_node(node)
    _click(window, _vp(window, s, DIFF_BTN.center()))
    assert doc.target == s
    _wait_result(qtbot, window)
    _click(window, _body(window, m))  # the inspector shows m
    ta = torch.tensor(1.5, requires_grad=True)
    tb = torch.tensor(-2.0, requires_grad=True)
    tm = ta * tb
    tm.retain_grad()
    ts = torch.sin(tm)
    ts.backward()
    views = {n: window.scene.nodes[n].view for n in (a, b, m, s)}
    assert views[a].grad_text == tensor_text(ta.grad)
    assert views[b].grad_text == tensor_text(tb.grad)
    assert views[m].grad_text == tensor_text(tm.grad)
    assert views[s].value_text == tensor_text(ts)
    assert doc.undo_stack.count() == 9  # 4 drops, 3 wires, 2 value edits
    window.grab().save("/tmp/gui_test.png")


# ---- gradcanvas render ----

def test_render_command_writes_a_png_of_that_size(qtbot, tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    assert cli_main(["render", str(EXAMPLES[3]), "-o", str(out), "--size", "800x600"]) == 0
    image = QImage(str(out))
    assert not image.isNull()
    assert (image.width(), image.height()) == (800, 600)
    colours = {image.pixel(x, y) for x in range(0, 800, 7) for y in range(0, 600, 7)}
    assert len(colours) > 20


@pytest.mark.parametrize("size", ["10x10", "800", "axb", "800x600x3", "99999x600"])
def test_render_command_refuses_a_bad_size(tmp_path: Path, capsys: pytest.CaptureFixture[str], size: str) -> None:
    out = tmp_path / "out.png"
    assert cli_main(["render", str(EX01), "-o", str(out), "--size", size]) == 1
    assert not out.exists()
    err = capsys.readouterr().err
    assert err.startswith("error:") and "--size" in err and "Traceback" not in err


# ---- start-up ----

STARTUP = """
import sys, time
from PySide6.QtCore import QSettings
from gui.app import application
app = application()
from gui.window import MainWindow
w = MainWindow(QSettings(sys.argv[1], QSettings.Format.IniFormat))
w.show()
def heavy():
    return [m for m in ("torch", "pyqtgraph", "networkx") if m in sys.modules]
print("shown", w.isVisible(), heavy(), flush=True)
probed = []
w.computer.devicesReady.connect(probed.append)
deadline = time.monotonic() + 1.0  # an empty window left alone loads neither
while time.monotonic() < deadline:
    app.processEvents()
    w.computer.wait(20)
print("idle", heavy(), probed, flush=True)
if sys.argv[2] == "popup":
    w.device_box.showPopup()  # opening the device list asks the worker to look
else:
    w.open_file(sys.argv[2])  # the first compute imports torch; the devices come with it
deadline = time.monotonic() + 60
while not probed and time.monotonic() < deadline:
    app.processEvents()
    w.computer.wait(20)
print("later", "torch" in sys.modules, probed, w.device_box.devices(), flush=True)
w.device_box.hidePopup()
w.close()
"""


@pytest.mark.parametrize("how", ["popup", "open"])
def test_window_shows_before_torch_pyqtgraph_and_networkx_are_imported(tmp_path: Path, how: str) -> None:
    # The thread worker loads torch in the window's process (the compute process never does:
    # tests/test_compute_process.py).
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT), "GRADCANVAS_COMPUTE": "thread"}
    arg = "popup" if how == "popup" else str(EX01)
    proc = subprocess.run([sys.executable, "-c", STARTUP, str(tmp_path / "s.ini"), arg], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split("\n")
    assert "shown True []" in lines
    assert "idle [] []" in lines  # nothing looks for devices until it is needed
    later = next(line for line in lines if line.startswith("later "))
    assert later.startswith("later True [['cpu'"), proc.stdout  # torch does arrive, with the devices
    assert later.endswith("['cpu']") or "cuda" in later or "mps" in later


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


def test_grad_output_field_gives_a_non_scalar_target_its_vector(window, qtbot) -> None:  # noqa: ANN001
    graph = load(ROOT / "resources" / "examples" / "03_vector_element.json")
    window.doc.reset(graph)
    window.doc.set_target("y")  # y = x**2 has shape [2]
    window.recompute()
    qtbot.waitUntil(lambda: window.last_result is not None and window.last_result.error is not None, timeout=30_000)
    assert "select an element, reduce it, or give a grad-output" in window.last_result.error
    assert window.scene.nodes["y"].error

    window.grad_output_edit.setText("[1, NaN]")  # refused, nothing recomputed
    window.grad_output_edit.editingFinished.emit()
    assert window.grad_output is None and "NaN" in window.statusBar().currentMessage()

    window.grad_output_edit.setText("[0.5, -3]")
    window.grad_output_edit.editingFinished.emit()
    window.recompute()
    qtbot.waitUntil(lambda: window.last_result is not None and window.last_result.grad_output == [0.5, -3]
                    and not window.last_result.error, timeout=30_000)
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x ** 2).backward(gradient=torch.tensor([0.5, -3.0]))
    assert window.last_result.nodes["x"].grad.tolist() == x.grad.tolist()
    assert window.scene.nodes["y"].error is None

    window.doc.set_target("y1")  # another target (a scalar): its own, empty, grad-output
    assert window.grad_output is None and window.grad_output_edit.text() == ""
    window.doc.set_target("y")  # back: the vector typed for y is still there
    assert window.grad_output == [0.5, -3] and window.grad_output_edit.text() == "[0.5, -3]"
    qtbot.waitUntil(lambda: window.last_result is not None and window.last_result.target == "y"
                    and window.last_result.grad_output == [0.5, -3], timeout=30_000)
    window.doc.set_target("x")  # a vector with no grad-output yet: the status bar says what to type
    assert window.grad_output_edit.text() == "" and window.grad_output is None
    message = window.statusBar().currentMessage()
    assert message.startswith("target x has shape [2]") and "grad-output" in message and "[1, 0]" in message
    window.grad_output_edit.setText("[0, 1]")
    window.grad_output_edit.editingFinished.emit()
    window.doc.set_target("y")
    assert window.grad_output_edit.text() == "[0.5, -3]"
    window.doc.set_target("x")
    assert window.grad_output_edit.text() == "[0, 1]" and window.grad_output == [0, 1]
    window.grad_output_edit.setText("")  # emptied: forgotten for x
    window.grad_output_edit.editingFinished.emit()
    window.doc.set_target("y")
    window.doc.set_target("x")
    assert window.grad_output_edit.text() == "" and window.grad_output is None

    window.new_document()  # a new document starts with no kept grad-outputs
    window.doc.reset(load(ROOT / "resources" / "examples" / "03_vector_element.json"))
    window.doc.set_target("y")
    assert window.grad_output_edit.text() == "" and window.grad_output is None


def test_a_snapshot_taken_for_the_worker_does_not_change_when_the_document_is_edited(window) -> None:  # noqa: ANN001

    window.doc.reset(load(EX01))
    snap = window.doc.graph.snapshot()
    edited = dataclasses.replace(window.doc.graph.nodes["x"], value=5.0)
    window.doc.edit_node(edited)
    window.doc.remove(["z"])
    assert snap.nodes["x"].value == 2.0 and "z" in snap.nodes
    assert window.doc.graph.nodes["x"].value == 5.0 and "z" not in window.doc.graph.nodes


# ---- shortcuts: one rule, no clashes, a sheet generated from the actions ----

def test_no_two_actions_share_a_key_sequence(window: MainWindow) -> None:
    """Offscreen here; tests/test_x11.py runs the same check under xcb, whose bindings differ."""
    assert shortcut_clashes(window) == {}
    with_keys = [a for a in window_actions(window) if a.shortcuts()]
    assert len(with_keys) >= 20  # menus, undo stack and help are all seen
    # The check can fail: a second action on Ctrl+Z, or one on a key the canvas handles itself.
    extra = QAction("another undo", window)
    extra.setShortcut(QKeySequence("Ctrl+Z"))
    window.view.addAction(QAction("tab thief", window.view, shortcut=QKeySequence("Tab")))
    window.addAction(extra)
    clashes = shortcut_clashes(window)
    assert set(clashes) == {"Ctrl+Z", "Tab"}
    assert sorted(clashes["Ctrl+Z"]) == ["Undo", "another undo"]


def test_each_action_has_its_platform_keys_plus_its_extra_ones_once(window: MainWindow) -> None:
    S = QKeySequence.StandardKey  # noqa: N806
    redo = _action_for(window, "Ctrl+Y")
    keys = [portable(s) for s in redo.shortcuts()]
    assert len(keys) == len(set(keys))
    assert {"Ctrl+Y", "Ctrl+Shift+Z"} <= set(keys)
    assert set(keys) >= {portable(s) for s in QKeySequence.keyBindings(S.Redo)}
    for standard, key in ((S.Undo, "Ctrl+Z"), (S.Copy, "Ctrl+C"), (S.Paste, "Ctrl+V"), (S.Cut, "Ctrl+X"),
                          (S.Save, "Ctrl+S"), (S.HelpContents, "F1")):
        action = _action_for(window, key)
        have = [portable(s) for s in action.shortcuts()]
        assert len(have) == len(set(have)), key
        assert set(have) >= {portable(s) for s in QKeySequence.keyBindings(standard)}, key
    assert _action_for(window, "Ctrl+D").text() == "&Duplicate"
    assert _action_for(window, "Ctrl+Q").text() == "&Quit"  # offscreen binds no Quit key: added


def test_the_shortcut_rule_dedupes_and_gives_way(qtbot) -> None:  # noqa: ANN001
    S = QKeySequence.StandardKey  # noqa: N806
    seqs = [portable(s) for s in key_sequences(S.Redo, "Ctrl+Shift+Z", "Ctrl+Y", "Ctrl+Y")]
    assert len(seqs) == len(set(seqs)) and seqs[0] == portable(QKeySequence.keyBindings(S.Redo)[0])
    assert "Tab" not in [portable(s) for s in key_sequences("Tab", "F2", taken=CANVAS_KEYS)]
    # A key another action names itself beats a platform binding (X11's Delete has Ctrl+D).
    redo, other, tab = QAction("redo"), QAction("other"), QAction("tab")
    assign_shortcuts([(redo, (S.Redo,)), (other, ("Ctrl+Shift+Z",)), (tab, ("Tab", "F3"))])
    assert "Ctrl+Shift+Z" not in [portable(s) for s in redo.shortcuts()]
    assert [portable(s) for s in other.shortcuts()] == ["Ctrl+Shift+Z"]
    assert [portable(s) for s in tab.shortcuts()] == ["F3"]  # the canvas keeps Tab
    with pytest.raises(ValueError, match="Ctrl\\+K"):
        assign_shortcuts([(QAction("a"), ("Ctrl+K",)), (QAction("b"), ("Ctrl+K",))])


def test_ctrl_y_and_ctrl_shift_z_both_redo(qtbot, window: MainWindow) -> None:
    _load_fixture(window)
    stack = window.doc.undo_stack
    window.doc.edit_node(dataclasses.replace(window.doc.graph.nodes["z"], value=10.0))
    for redo_key, mod in ((Qt.Key.Key_Y, CTRL), (Qt.Key.Key_Z, CTRL | SHIFT)):
        _key(qtbot, window, Qt.Key.Key_Z, CTRL)
        assert stack.index() == 0 and window.doc.graph.nodes["z"].value == 3.0
        _key(qtbot, window, redo_key, mod)
        assert stack.index() == 1 and window.doc.graph.nodes["z"].value == 10.0


def _native(key: str) -> str:
    return QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)


def test_f1_shows_a_shortcut_sheet_generated_from_the_actions(qtbot, window: MainWindow) -> None:
    menus = [plain for plain in (a.text().replace("&", "") for a in window.menuBar().actions())]
    assert menus[-1] == "Help"
    help_texts = [a.text() for a in window.menuBar().actions()[-1].menu().actions() if not a.isSeparator()]
    assert help_texts == ["&Keyboard shortcuts", "&About GradCanvas"]
    _key(qtbot, window, Qt.Key.Key_F1)
    sheet = window.shortcut_sheet
    assert sheet is not None and sheet.isVisible() and not sheet.isModal()
    text = sheet.text()
    rows = shortcut_rows(window)
    assert {menu for menu, _t, _k in rows} >= {"File", "Edit", "View", "Help"}
    for _menu, action_text, keys in rows:
        assert action_text in text
        for k in keys:
            assert k in text, (action_text, k)
    for key, name in (("Ctrl+Z", "Undo"), ("Ctrl+Shift+Z", "Redo"), ("Ctrl+Y", "Redo"), ("Ctrl+C", "Copy"),
                      ("Ctrl+V", "Paste"), ("Ctrl+D", "Duplicate"), ("Del", "Delete"), ("F1", "Keyboard shortcuts"),
                      ("Ctrl+T", "Make selected node the target")):
        assert any(name in t and _native(key) in k for _m, t, k in rows), key
    for gesture, what in GESTURES:
        assert gesture in text and what in text
    for word in ("Tab", "double-click", "Alt-drag", "Space", "middle-drag", "wheel", "Esc"):
        assert word in text
    # Generated, not written: a changed shortcut shows the next time the sheet opens.
    _action_for(window, "Ctrl+L").setShortcut(QKeySequence("Ctrl+Shift+F7"))
    assert _native("Ctrl+Shift+F7") not in text
    sheet.close()
    _key(qtbot, window, Qt.Key.Key_F1)
    assert _native("Ctrl+Shift+F7") in window.shortcut_sheet.text()
    QTest.keyClick(window.shortcut_sheet.browser, Qt.Key.Key_Escape)
    assert not window.shortcut_sheet.isVisible()


def test_about_does_not_block_and_names_the_version(window: MainWindow) -> None:
    from importlib.metadata import version

    (about,) = [a for a in window_actions(window) if a.text() == "&About GradCanvas"]
    about.trigger()  # returns at once: the box is window-modal, opened with open()
    box = window.about_box
    assert box is not None and box.isVisible() and box.windowTitle() == "About GradCanvas"
    assert f"GradCanvas {version('gradcanvas')}" in box.text() and "PySide6" in box.text()
    import torch  # the test's process has it; the window names it from metadata, never importing it

    assert f"torch {torch.__version__}" in box.text()
    box.close()


# ---- small things: the status after New, one clear message for a file that cannot be opened ----

def test_new_clears_the_old_graphs_error_from_the_status_bar(qtbot, window: MainWindow) -> None:
    graph, target = _error_graphs()["missing_input"]
    window.doc.reset(graph)
    window.doc.set_target(target)
    assert _wait_result(qtbot, window).error
    assert window.statusBar().currentMessage() and window.status.text()
    _activate(qtbot, window)
    QTest.keyClick(window.view, Qt.Key.Key_N, CTRL)  # File > New
    assert not window.doc.graph.nodes
    assert window.statusBar().currentMessage() == "" and window.status.text() == ""
    QApplication.processEvents()
    assert window.statusBar().currentMessage() == ""


def test_a_misspelt_path_is_named_once(window: MainWindow, tmp_path: Path) -> None:
    path = str(tmp_path / "no" / "such.json")
    assert window.open_file(path) is False
    assert window.statusBar().currentMessage() == f"cannot open {path}: no such file or directory"
    assert _close_message_boxes(window) == [f"cannot open {path}: no such file or directory"]


def test_a_broken_json_file_is_named_by_the_window_and_the_cli(window: MainWindow, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"format": "gradcanvas", "version": 1, "nodes": [', encoding="utf-8")
    assert window.open_file(str(path)) is False
    message = window.statusBar().currentMessage()
    assert message.startswith(f"cannot open {path}: not valid JSON") and message.count(str(path)) == 1
    _close_message_boxes(window)
    assert cli_main(["check", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: not valid JSON") and err.count(str(path)) == 1
    assert len(err.strip().splitlines()) == 1


def test_a_saved_file_reopens_with_its_target_and_grad_output(qtbot, window: MainWindow, tmp_path: Path) -> None:
    window.doc.reset(load(ROOT / "resources" / "examples" / "03_vector_element.json"))
    window.doc.set_target("y")
    window.grad_output_edit.setText("[0.5, -3]")
    window.grad_output_edit.editingFinished.emit()
    path = tmp_path / "vjp.json"
    assert window._save_to(str(path))
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert (saved["target"], saved["grad_output"]) == ("y", [0.5, -3])

    other = new_window(qtbot, tmp_path, "other")
    assert other.open_file(str(path))
    assert other.doc.target == "y"  # not the only sink, y1: the file's own target
    assert other.grad_output_edit.text() == "[0.5, -3]" and other.grad_output == [0.5, -3]
    other.doc.set_target("y1")
    assert other.grad_output_edit.text() == ""
    other.doc.set_target("y")
    assert other.grad_output_edit.text() == "[0.5, -3]"
    result = _wait_result(qtbot, other)
    assert result.target == "y" and result.grad_output == [0.5, -3]
    other.computer.wait(RESULT_TIMEOUT_MS)


def test_file_export_uses_the_toolbars_grad_output(window, qtbot, monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
                                                   tmp_path: Path) -> None:
    from PySide6.QtWidgets import QFileDialog

    window.doc.reset(load(ROOT / "resources" / "examples" / "03_vector_element.json"))
    window.doc.set_target("y")  # a vector: the script needs y.backward(gradient=v)
    window.grad_output_edit.setText("[1, 0.5]")
    window.grad_output_edit.editingFinished.emit()
    out = tmp_path / "vjp.py"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "Python (*.py)"))
    window.export_dialog()
    qtbot.waitUntil(out.exists, timeout=RESULT_TIMEOUT_MS)  # made by the worker
    printed = subprocess.run([sys.executable, str(out)], capture_output=True, text=True, timeout=120)
    assert printed.returncode == 0, printed.stderr
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x ** 2).backward(gradient=torch.tensor([1.0, 0.5]))
    assert f"x.grad = {x.grad}" in printed.stdout


def test_a_grad_output_follows_its_node_through_a_rename_and_goes_with_it(window, qtbot) -> None:  # noqa: ANN001
    window.doc.reset(load(ROOT / "resources" / "examples" / "03_vector_element.json"))
    window.doc.set_target("y")
    window.grad_output_edit.setText("[1, 0]")
    window.grad_output_edit.editingFinished.emit()
    window.doc.rename("y", "sq")
    assert window.doc.target == "sq" and window.grad_output == [1, 0]
    assert window.grad_output_edit.text() == "[1, 0]"
    qtbot.waitUntil(lambda: window.run.current is not None, timeout=RESULT_TIMEOUT_MS)
    assert window.run.current.error is None and window.run.current.grad_output == [1, 0]
    window.doc.remove(["sq"])  # deleted: a new node that reuses the id starts without one
    window.doc.add_node(Node("sq", "neg"), (0.0, 300.0))
    window.doc.connect(Edge("x", "sq", "input"))
    window.doc.set_target("sq")
    assert window.grad_output is None and window.grad_output_edit.text() == ""


def test_render_keeps_the_files_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gui.render
    from graph.fileformat import save

    g = load(ROOT / "resources" / "examples" / "03_vector_element.json")  # its only sink is y1
    g.target, g.grad_output = "y", [1, 0]
    path = tmp_path / "t.json"
    save(g, path)
    seen = {}
    real = gui.render.save_png_atomic

    def spy(image, out):  # noqa: ANN001, ANN202 - what the window held when it was drawn
        window = next(w for w in QApplication.topLevelWidgets()
                      if isinstance(w, MainWindow) and w.doc.path == str(path))
        seen["target"], seen["result"] = window.doc.target, window.run.result
        return real(image, out)

    monkeypatch.setattr(gui.render, "save_png_atomic", spy)
    gui.render.render_window(str(path), str(tmp_path / "t.png"), None, (1000, 700))
    assert seen["target"] == "y" and seen["result"].grad_output == [1, 0] and seen["result"].error is None
