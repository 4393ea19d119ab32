"""Every listener of a selection change reads the selection (the window's inspector, the
calculus panel, the overview's repaint, each paint of the background): after a Select All of
10,000 nodes each read wrapped 10,000 items, three and more times per change. The scene now
reads it once per change (CanvasScene.selection_items) and forgets it at every change, also at
those made with its signals blocked (a Select All, a band, a delete)."""

from __future__ import annotations

import gc

from graph.model import Edge, Graph, Node


def _chain(n: int) -> Graph:
    g = Graph()
    g.add_node(Node("x", "tensor", value=[1.0, 2.0], requires_grad=True))
    for i in range(n):
        g.add_node(Node(f"n{i}", "neg"))
        g.add_edge(Edge("x" if i == 0 else f"n{i - 1}", f"n{i}", "input"))
    return g


def test_a_select_all_reads_the_selection_once_and_every_reader_sees_it(qtbot, window) -> None:  # noqa: ANN001
    w = window
    w.doc.reset(_chain(40))
    qtbot.waitUntil(gc.isenabled)  # painted (gui.collection)
    scene = w.scene
    reads = []
    real = scene.selectedItems

    def counted() -> list:
        reads.append(1)
        return real()

    scene.selectedItems = counted
    w._select_all()  # Ctrl+A
    qtbot.wait(50)  # the repaints it leaves for the next turns
    assert len(reads) == 1
    assert scene.selection_summary() == (None, 41) and len(scene.selected_node_ids()) == 41
    assert w.inspector.title.text().startswith("41 nodes selected")

    # each change is read anew: one node selected, then that node deleted
    scene.select_nodes(["n3"])
    assert scene.selection_summary() == ("n3", 1) and scene.selected_node_ids() == ["n3"]
    w.delete_selection()
    assert "n3" not in w.doc.graph.nodes
    assert scene.selection_summary() == (None, 0) and scene.selected_node_ids() == []
    w.doc.undo_stack.undo()
    assert "n3" in w.doc.graph.nodes
    assert set(scene.selected_node_ids()) == {item.node_id for item in real() if hasattr(item, "node_id")}
