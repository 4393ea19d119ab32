"""Every listener of a selection change reads the selection (the window's inspector, the
calculus panel, the overview's repaint, each paint of the background): after a Select All of
10,000 nodes each read wrapped 10,000 items, three and more times per change. The scene now
reads it once per change (CanvasScene.selection_items) and forgets it at every change, also at
those made with its signals blocked (a Select All, a band, a delete); a selection the scene
makes itself (select_nodes: Select All) it knows, and reads no more."""

from __future__ import annotations

import gc
from pathlib import Path

from graph.fileformat import load
from graph.model import Edge, Graph, Node

MLP = Path(__file__).resolve().parent.parent / "resources" / "examples" / "04_small_mlp.json"


def _chain(n: int) -> Graph:
    g = Graph()
    g.add_node(Node("x", "tensor", value=[1.0, 2.0], requires_grad=True))
    for i in range(n):
        g.add_node(Node(f"n{i}", "neg"))
        g.add_edge(Edge("x" if i == 0 else f"n{i - 1}", f"n{i}", "input"))
    return g


def test_a_select_all_reads_no_selection_and_every_reader_sees_it(qtbot, window) -> None:  # noqa: ANN001
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
    assert reads == []  # select_nodes knows what it selected
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


def test_the_selection_select_nodes_knows_is_the_one_qt_holds_with_nodes_hidden(qtbot, window) -> None:  # noqa: ANN001
    """Qt does not select a hidden item: nodes inside a collapsed group stay unselected after a
    Select All, and the selection the scene tells its listeners says so too."""
    w = window
    graph = load(MLP)
    w.doc.reset(graph)
    qtbot.waitUntil(gc.isenabled)
    scene = w.scene
    group_id = w.doc.group(["W1", "b1", "h_lin"])
    w.doc.set_collapsed(group_id, True)
    scene.groups.rebuild()
    assert not scene.nodes["W1"].isVisible()
    counts = []
    scene.selectionChanged.connect(lambda: counts.append(scene.selection_summary()[1]))
    w._select_all()
    held = {item.node_id for item in scene.selectedItems() if hasattr(item, "node_id")}
    shown = set(graph.nodes) - {"W1", "b1", "h_lin"}
    assert held == shown
    assert set(scene.selection_node_ids()) == shown and set(scene.selection_items()) == set(scene.selectedItems())
    assert counts == [len(shown)]
    assert w.inspector.title.text().startswith(f"{len(shown)} nodes selected")


def test_selecting_a_node_twice_over_counts_it_once(qtbot, window) -> None:  # noqa: ANN001
    w = window
    w.doc.reset(_chain(3))
    qtbot.waitUntil(gc.isenabled)
    scene = w.scene
    scene.select_nodes(["x", "n0", "x", "n1"])
    assert sorted(scene.selection_node_ids()) == ["n0", "n1", "x"] and scene.selection_summary() == (None, 3)
    assert len(scene.selection_items()) == 3


def test_select_nodes_with_the_scenes_signals_blocked_leaves_no_stale_selection(qtbot, window) -> None:  # noqa: ANN001
    """What select_nodes knows is read at once or dropped: with the signals blocked it was left
    for the next change, which then read a selection that was no longer there."""
    from PySide6.QtCore import QSignalBlocker

    w = window
    w.doc.reset(_chain(3))
    qtbot.waitUntil(gc.isenabled)
    scene = w.scene
    with QSignalBlocker(scene):
        scene.select_nodes(["n0", "n1"])
    assert sorted(scene.selection_node_ids()) == ["n0", "n1"]
    scene.clearSelection()  # Qt's own change, signalled
    scene.nodes["x"].setSelected(True)
    assert scene.selection_node_ids() == ["x"] and scene.selection_summary() == ("x", 1)
