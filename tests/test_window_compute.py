"""Compute results on the canvas, offscreen with pytest-qt: the ∂ button computes off the GUI
thread and the overlays show the engine's values and gradients; an edit marks them stale and
recomputes, results for an old revision or target are dropped, the worker's snapshot is not
touched by later edits; errors mark the nodes the engine names and reach the status bar until
fixed (or File > New); a graph built with the mouse computes.

Expected numbers come from the engine (autograd_bridge) or plain torch, computed here.
"""

from __future__ import annotations

import copy
import dataclasses
import threading
from pathlib import Path

import pytest
import torch
from helpers import THREAD_ONLY
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from window_driver import CTRL, EX01, EXAMPLES, activate, body_point, click, drop, view_point, wait_result, wire

from autograd_bridge.compute import ComputeResult, ComputeSession, NodeView
from autograd_bridge.engine import Compiled
from autograd_bridge.formatting import tensor_text
from graph.errors import GraphError
from graph.fileformat import load
from graph.model import Edge, Graph, Node
from gui.canvas import DIFF_BTN
from gui.window import MainWindow


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
    click(window, view_point(window, target, DIFF_BTN.center()))
    assert window.doc.target == target and item.is_target
    assert window.last_result is None  # the click returned before any result
    result = wait_result(qtbot, window)
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
    result = wait_result(qtbot, window)
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
    wait_result(qtbot, window)
    node = dataclasses.replace(window.doc.graph.nodes["x"], value=-3.0)
    window.doc.edit_node(node)
    assert all(item.stale for item in window.scene.nodes.values())
    result = wait_result(qtbot, window)
    assert all(not item.stale for item in window.scene.nodes.values())
    x = torch.tensor(-3.0, requires_grad=True)
    y = 2 * x ** 2 + 3 * torch.tensor(3.0)
    y.backward()
    assert result.nodes["x"].grad_text == tensor_text(x.grad) == window.scene.nodes["x"].view.grad_text
    assert window.scene.nodes["y"].view.value_text == tensor_text(y)


def test_stale_results_are_dropped(qtbot, window: MainWindow) -> None:
    window.open_file(str(EX01))
    shown = wait_result(qtbot, window)
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
    result = wait_result(qtbot, window)
    assert result.error == engine_error.value.message
    failed = engine_error.value.node_ids[0]  # the inputs named beside it keep their values (gui.titles.involvement)
    for n, item in window.scene.nodes.items():
        assert item.error == (engine_error.value.message if n == failed else None), n
        below = n in graph.descendants(failed)  # left out because of it: they say so
        assert item.involved == (f"feeds {failed}, which fails" if n in bad - {failed}
                                 else f"not computed: it depends on {failed}, which fails" if below else None), n
        assert not item.stale
    assert engine_error.value.message in window.statusBar().currentMessage()
    assert engine_error.value.message in window.scene.nodes[failed].toolTip()
    assert window.isVisible()
    window.grab()  # error borders paint without raising


def test_fixing_the_error_clears_the_marks(qtbot, window: MainWindow) -> None:
    graph, target = _error_graphs()["missing_input"]
    graph.add_node(Node("k", "tensor", value=4.0), pos=(0.0, 160.0))
    window.doc.reset(graph)
    window.doc.set_target(target)
    assert wait_result(qtbot, window).error
    assert window.scene.nodes["m"].error
    window.doc.connect(Edge("k", "m", "other"))
    result = wait_result(qtbot, window)
    assert result.error is None
    assert all(item.error is None for item in window.scene.nodes.values())
    assert window.scene.nodes["x"].view.grad_text == tensor_text(torch.tensor(4.0))
    assert window.scene.nodes["m"].view.value_text == tensor_text(torch.tensor(8.0))


# ---- a graph built with the mouse, drawn to a PNG ----

def test_graph_built_with_the_mouse_computes_and_renders(qtbot, window: MainWindow) -> None:
    doc = window.doc
    window.view.centerOn(0, 0)
    a = drop(window, "tensor", QPoint(120, 150))
    b = drop(window, "tensor", QPoint(120, 400))
    m = drop(window, "mul", QPoint(420, 220))
    s = drop(window, "sin", QPoint(420, 470))
    wire(window, a, m, "input")
    wire(window, b, m, "other")
    wire(window, m, s, "input")
    assert doc.graph.edges == [Edge(a, m, "input"), Edge(b, m, "other"), Edge(m, s, "input")]
    for n, v in ((a, 1.5), (b, -2.0)):
        node = dataclasses.replace(doc.graph.nodes[n], value=v)
        doc.edit_node(node)
    click(window, view_point(window, s, DIFF_BTN.center()))
    assert doc.target == s
    wait_result(qtbot, window)
    click(window, body_point(window, m))  # the inspector shows m
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
    assert doc.undo_stack.count() == 10  # 4 drops, 3 wires, 2 value edits, the target
    window.grab().save("/tmp/gui_test.png")


def test_a_snapshot_taken_for_the_worker_does_not_change_when_the_document_is_edited(window) -> None:  # noqa: ANN001

    window.doc.reset(load(EX01))
    snap = window.doc.graph.snapshot()
    edited = dataclasses.replace(window.doc.graph.nodes["x"], value=5.0)
    window.doc.edit_node(edited)
    window.doc.remove(["z"])
    assert snap.nodes["x"].value == 2.0 and "z" in snap.nodes
    assert window.doc.graph.nodes["x"].value == 5.0 and "z" not in window.doc.graph.nodes


def test_new_clears_the_old_graphs_error_from_the_status_bar(qtbot, window: MainWindow) -> None:
    graph, target = _error_graphs()["missing_input"]
    window.doc.reset(graph)
    window.doc.set_target(target)
    assert wait_result(qtbot, window).error
    assert window.statusBar().currentMessage() and window.status.text()
    activate(qtbot, window)
    QTest.keyClick(window.view, Qt.Key.Key_N, CTRL)  # File > New
    assert not window.doc.graph.nodes
    assert window.statusBar().currentMessage() == "" and window.status.text() == ""
    QApplication.processEvents()
    assert window.statusBar().currentMessage() == ""
