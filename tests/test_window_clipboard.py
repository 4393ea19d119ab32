"""The clipboard between windows, offscreen with pytest-qt: nodes copied in one window paste into
another with their inner edges, offset, as one undo step (ids kept in an empty document), and
plain text that is not a graph is refused without an edit."""

from __future__ import annotations

import copy
from pathlib import Path

from helpers import assert_scene_mirrors, new_window
from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QGuiApplication
from window_driver import CTRL, activate, load_fixture, press_key, select_nodes

from graph.fileformat import dumps, loads
from graph.model import Edge, Graph
from gui.window import MainWindow


def test_copy_in_one_window_paste_in_another(qtbot, tmp_path: Path) -> None:
    w1 = new_window(qtbot, tmp_path, "one")
    w2 = new_window(qtbot, tmp_path, "two")
    load_fixture(w1)
    load_fixture(w2)
    original = copy.deepcopy(w2.doc.graph)
    copied = ["x", "x_sq", "two", "two_x_sq"]
    activate(qtbot, w1)
    select_nodes(w1, *copied)
    press_key(qtbot, w1, Qt.Key.Key_C, CTRL)
    data = QGuiApplication.clipboard().mimeData()
    assert data.hasFormat("application/x-gradcanvas+json")
    fragment = loads(bytes(data.data("application/x-gradcanvas+json")).decode("utf-8"))
    assert list(fragment.nodes) == [n for n in w1.doc.graph.nodes if n in copied]
    # Only the edges among the copied nodes: not two_x_sq → y.
    assert fragment.edges == [e for e in w1.doc.graph.edges if e.src in copied and e.dst in copied]
    assert len(fragment.edges) == 3

    press_key(qtbot, w2, Qt.Key.Key_V, CTRL)
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
    load_fixture(window)
    before = dumps(window.doc.graph)
    data = QMimeData()
    data.setText('{"format": "gradcanvas", "version": 1, "nodes": [{"id": "q", "op": "nope"}], "edges": []}')
    QGuiApplication.clipboard().setMimeData(data)
    window.paste()
    assert dumps(window.doc.graph) == before and window.doc.undo_stack.count() == 0
    assert window.statusBar().currentMessage().startswith("cannot paste")
