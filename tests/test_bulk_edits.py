"""Edits of many nodes at once (a delete of the selection, a paste, and their undo) are one edit
each: one `edited`, one selectionChanged, and the graph back exactly on undo. One signal per node,
each listener reading the whole selection or graph, made deleting all of 10,000 nodes take
minutes (benchmarks: `python -m benchmarks.bench_canvas`). And a graph with thousands of errors
gets a status bar line of a few hundred characters, not all of them (laid out on every edit)."""

from __future__ import annotations

import random

import pytest
from helpers import RESULT_TIMEOUT_MS, fresh_paint, on_screen, scene_and_view
from test_canvas_zoom import _wires_at_their_ports
from test_graph_edits import _random_dag

from graph.model import Graph, Node
from gui.canvas import CanvasScene
from gui.canvas.scene import MANY_SELECTED
from gui.status_message import STATUS_MAX, status_line, whole_message


def _count(signal) -> list:  # noqa: ANN001 - a Qt signal instance
    seen: list = []
    signal.connect(lambda *args: seen.append(args))
    return seen


def _scene_matches_the_document(scene: CanvasScene) -> None:
    graph = scene.doc.graph
    assert set(scene.nodes) == set(graph.nodes)
    assert set(scene.edges) == set(graph.edges)
    _wires_at_their_ports(scene)


@pytest.mark.parametrize("seed", range(3))
def test_deleting_many_selected_nodes_is_one_edit_one_selection_change_and_one_undo_step(qtbot, seed: int) -> None:  # noqa: ANN001
    r = random.Random(seed)
    graph = _random_dag(seed)
    target = list(graph.nodes)[-1]
    scene, _view = scene_and_view(qtbot, graph, target)
    doc = scene.doc
    original = doc.graph.copy()
    chosen = [target, *r.sample(list(doc.graph.nodes)[:-1], 24)]
    scene.select_nodes(chosen)
    edited, selection, targets = _count(doc.edited), _count(scene.selectionChanged), _count(doc.targetChanged)
    doc.remove(chosen)
    assert len(edited) == 1 and len(selection) == 1 and targets == [(None,)]
    assert scene.selected_node_ids() == [] and not set(chosen) & set(doc.graph.nodes)
    assert doc.undo_stack.count() == 1 and doc.undo_stack.undoText() == "Delete 25 node(s)"
    _scene_matches_the_document(scene)
    doc.undo_stack.undo()
    assert len(edited) == 2 and doc.target == target
    assert doc.graph == original and doc.graph.all_inputs() == original.all_inputs()
    assert [doc.graph.consumers_of(n) for n in doc.graph.nodes] == [original.consumers_of(n) for n in original.nodes]
    _scene_matches_the_document(scene)
    doc.undo_stack.redo()
    assert len(edited) == 3 and doc.target is None and not set(chosen) & set(doc.graph.nodes)
    _scene_matches_the_document(scene)


def test_a_paste_is_one_edit_and_its_undo_gives_back_the_graph(qtbot) -> None:  # noqa: ANN001
    scene, _view = scene_and_view(qtbot, _random_dag(7))
    doc = scene.doc
    original = doc.graph.copy()
    text = doc.copy_text(list(doc.graph.nodes)[5:25])
    edited = _count(doc.edited)
    pasted = doc.paste(text)
    assert len(pasted) == 20 and len(edited) == 1 and doc.undo_stack.count() == 1
    assert all(n in scene.nodes for n in pasted)
    _scene_matches_the_document(scene)
    doc.undo_stack.undo()
    assert len(edited) == 2 and doc.graph == original
    _scene_matches_the_document(scene)
    doc.undo_stack.redo()
    assert len(edited) == 3 and set(pasted) <= set(doc.graph.nodes)
    _scene_matches_the_document(scene)


def test_a_paste_of_no_nodes_is_no_edit_and_no_undo_step(qtbot) -> None:  # noqa: ANN001
    scene, _view = scene_and_view(qtbot, _random_dag(4))
    doc = scene.doc
    edited, revision = _count(doc.edited), doc.revision
    assert doc.paste(doc.copy_text([])) == []
    assert edited == [] and doc.revision == revision and doc.undo_stack.count() == 0


def test_a_status_line_is_cut_after_whole_parts_and_says_how_many_are_left() -> None:
    parts = [f"unconnected input: n{i}.input" for i in range(100)]
    line = status_line("; ".join(parts), limit=100)
    shown = line.split("; … and ")[0].split("; ")
    assert shown == parts[:len(shown)] and len(shown) >= 2
    assert line.endswith(f"; … and {100 - len(shown)} more") and len(line) <= 100 + len("; … and 100 more")
    assert status_line("no parts " * 20, limit=50) == ("no parts " * 20)[:47] + "…"  # at a word's end
    assert status_line("short; enough", limit=50) == "short; enough"


def test_a_status_line_shows_the_parts_that_fit_else_the_first_part_cut_short() -> None:
    text = "; ".join(["alpha", "beta", "gamma", "delta, the longest part"])
    def within(n: int):  # noqa: ANN202 - a fits predicate: at most n characters
        return lambda line: len(line) <= n
    assert status_line(text, fits=within(100)) == text
    assert status_line(text, fits=within(len("alpha; beta; … and 2 more"))) == "alpha; beta; … and 2 more"
    assert status_line(text, fits=within(len("alpha; … and 3 more"))) == "alpha; … and 3 more"
    assert status_line(text, fits=within(len("alp…; … and 3 more"))) == "alp…; … and 3 more"
    assert status_line("one long part without separators", fits=within(8)) == "one lon…"  # "one…" would lose too much
    assert status_line("one long part without separators", fits=within(17)) == "one long part…"  # not "… wi…"
    bracketed = "3 × (zero_grad(); backward()); loss 1 → 0; one undo step"  # "; " in brackets: one part
    assert status_line(bracketed, fits=within(45)) == "3 × (zero_grad(); backward()); … and 2 more"


def test_a_cut_messages_tooltip_lists_its_parts_escaped() -> None:
    assert whole_message("bad <b>x</b>; ok & fine; c\x1b", parts=2) == (
        "<qt>bad &lt;b&gt;x&lt;/b&gt;<br>ok &amp; fine<br>… and 1 more</qt>")
    assert whole_message("one (a; b)") == "<qt>one (a; b)</qt>"


def test_the_status_bar_of_a_graph_with_thousands_of_errors_is_one_short_line(qtbot, window) -> None:  # noqa: ANN001
    graph = Graph()
    for i in range(2000):
        graph.add_node(Node(f"n{i}", "neg"), pos=(300.0 * (i % 40), 150.0 * (i // 40)))
    window._replace_document(graph, None)  # noqa: SLF001
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("⚠"), timeout=RESULT_TIMEOUT_MS)
    bar = window.statusBar()
    for width in (1400, 700):  # fitted again when the window is resized
        window.resize(width, 900)
        qtbot.waitUntil(lambda w=width: bar.width() <= w)
        line = bar.currentMessage()
        assert line.startswith("⚠ unconnected input: n0.input")
        shown = line.split("; … and ")[0].count("; ") + 1
        assert line.endswith(f"; … and {2000 - shown:,} more") and len(line) <= STATUS_MAX + 30
        # The whole line is on screen, left of the target label: "… and N more" is seen.
        assert bar.fontMetrics().horizontalAdvance(line) <= bar.width() - window.status.sizeHint().width()
    assert 1 <= shown < 5  # 700 px hold a few parts of ~28 characters, not ten
    tip = bar.toolTip().removeprefix("<qt>").removesuffix("</qt>").split("<br>")  # the rest a hover away
    assert tip == ["⚠ " * (i == 0) + f"unconnected input: n{i}.input" for i in range(30)] + ["… and 1,970 more"]


@pytest.mark.parametrize("count", [3, MANY_SELECTED + 100])
def test_in_the_overview_selecting_and_deselecting_many_nodes_shows_exactly_that(qtbot, count: int) -> None:  # noqa: ANN001
    graph = Graph()
    for i in range(MANY_SELECTED + 200):
        graph.add_node(Node(f"n{i}", "tensor", value=float(i)), pos=(300.0 * (i % 30), 150.0 * (i // 30)))
    scene, view = scene_and_view(qtbot, graph, size=(900, 600))
    view.fit_graph()
    assert scene.overview.on
    on_screen(view)
    chosen = list(scene.nodes)[:count]
    scene.select_nodes(chosen)
    assert on_screen(view) == fresh_paint(view)
    scene.select_nodes(list(scene.nodes)[-count:])  # the first deselected, others selected
    assert on_screen(view) == fresh_paint(view)
    scene.clearSelection()
    assert on_screen(view) == fresh_paint(view)


def test_the_only_selected_node_is_the_one_selected_node_alone(qtbot) -> None:  # noqa: ANN001
    scene, _view = scene_and_view(qtbot, _random_dag(2))
    ids = list(scene.nodes)
    assert scene.only_selected_node() is None
    scene.select_nodes([ids[5]])
    assert scene.only_selected_node() == ids[5] == scene.selected_node_ids()[0]
    scene.select_nodes([ids[5], ids[9]])
    assert scene.only_selected_node() is None
    scene.select_nodes(ids)
    assert scene.only_selected_node() is None
    assert scene.selection_summary() == (None, len(ids))


def test_the_inspector_says_how_many_nodes_are_selected_when_it_shows_none(window) -> None:  # noqa: ANN001
    """An import selects all its nodes: the inspector said "Select a node" as if none were."""
    from gui.inspector.dock import NO_NODE

    for i in range(3):
        window.doc.add_node(Node(f"n{i}", "tensor", value=float(i)), (300.0 * i, 0.0))
    scene, title = window.scene, window.inspector.title
    scene.select_nodes(["n0", "n2"])
    assert title.text() == "2 nodes selected: click one to inspect it."
    scene.select_nodes(["n1"])
    assert window.inspector.node_id == "n1" and title.text().startswith("n1")
    scene.clearSelection()
    assert title.text() == NO_NODE
