"""Layout is not computation, gestures rebuild nothing, numbers keep the name they were
computed for: checked in the real window at 2,000 nodes, with offscreen mouse events."""

from __future__ import annotations

import pytest
from helpers import RESULT_TIMEOUT_MS
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QFontMetricsF
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from test_structure import REBUILDS, _counting

from autograd_bridge.compute import ComputeResult
from graph.edits import GRID
from graph.fileformat import load
from graph.model import Edge, Graph, Node
from gui.titles import formula_name
from gui.window import MainWindow

LEFT = Qt.MouseButton.LeftButton
NO_MOD = Qt.KeyboardModifier.NoModifier
N = 2000


def _big_chain() -> Graph:
    """x0 → neg → … → x1999 on a 50-column grid, plus a loose add node beside the last one."""
    g = Graph()
    g.add_node(Node("x0", "tensor", value=0.5, requires_grad=True), pos=(0.0, 0.0))
    for i in range(1, N):
        g.add_node(Node(f"x{i}", "neg"), pos=((i % 50) * GRID[0], (i // 50) * GRID[1]))
        g.add_edge(Edge(f"x{i - 1}", f"x{i}", "input"))
    last = g.position(f"x{N - 1}")
    g.add_node(Node("loose", "add"), pos=(last[0] + 300.0, last[1]))
    return g


def _computed(qtbot, window: MainWindow, graph: Graph, target: str) -> ComputeResult:
    window.doc.reset(graph)
    window.doc.set_target(target)
    qtbot.waitUntil(lambda: window.last_result is not None, timeout=RESULT_TIMEOUT_MS)
    window.computer.wait(RESULT_TIMEOUT_MS)
    QApplication.processEvents()
    return window.last_result


def test_moving_and_laying_out_start_no_compute_and_grey_nothing(qtbot, window: MainWindow) -> None:
    result = _computed(qtbot, window, _big_chain(), f"x{N - 1}")
    assert result.error is None or result.error_nodes == ("loose",)  # loose is not wired yet
    assert len(result.nodes) == N
    requests, revision = window.computer.requests, window.doc.revision
    moved = {f"x{i}": (window.doc.graph.position(f"x{i}")[0] + 50, 9000.0 + i) for i in range(0, N, N // 50)}
    assert len(moved) == 50
    window.doc.move(moved)
    window.scene.nodes["x5"].setSelected(True)  # selection is not computation either
    window.doc.undo_stack.undo()
    window.doc.undo_stack.redo()
    before = dict(window.doc.graph.layout)
    window.doc.auto_layout()
    QApplication.processEvents()
    assert window.doc.graph.layout != before  # the layout really changed
    assert window.doc.undo_stack.count() == 2
    assert window.computer.requests == requests and window.doc.revision == revision
    assert not window.recompute_timer.isActive()
    assert not any(item.stale for item in window.scene.nodes.values())
    assert window.run.current is result  # still the current answer
    # The control: one semantic edit does start a compute.
    window.doc.connect(Edge(f"x{N - 1}", "loose", "input"))
    assert window.doc.revision != revision and window.recompute_timer.isActive()


def test_a_wire_drag_and_its_connect_rebuild_nothing(qtbot, window: MainWindow,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    _computed(qtbot, window, _big_chain(), f"x{N - 1}")
    window.recompute_timer.setInterval(600_000)  # no compute may start while we count
    view, scene = window.view, window.scene
    view.resetTransform()
    view.centerOn(scene.nodes[f"x{N - 1}"].sceneBoundingRect().center() + QPointF(150, 0))
    QApplication.processEvents()
    src, dst = scene.nodes[f"x{N - 1}"], scene.nodes["loose"]
    a = view.mapFromScene(src.mapToScene(src.output_pos()))
    b = view.mapFromScene(dst.mapToScene(dst.input_pos("input")))
    assert view.viewport().rect().contains(a) and view.viewport().rect().contains(b)
    calls = _counting(monkeypatch, Graph, REBUILDS)
    vp = view.viewport()
    QTest.mousePress(vp, LEFT, NO_MOD, a)
    for t in (0.25, 0.5, 0.75, 1.0):
        QTest.mouseMove(vp, a + (b - a) * t)
    QTest.mouseRelease(vp, LEFT, NO_MOD, b)
    assert window.doc.graph.inputs_of("loose") == {"input": f"x{N - 1}"}
    assert calls == dict.fromkeys(REBUILDS, 0)


def test_a_partial_is_only_ever_shown_under_the_target_it_was_computed_for(
        qtbot, window: MainWindow, examples_dir) -> None:
    graph = load(examples_dir / "01_scalar_partial.json")
    first = _computed(qtbot, window, graph, "y")
    window.recompute_timer.setInterval(600_000)  # hold the new target's result back
    other = next(n for n in graph.nodes if n != "y" and not graph.nodes[n].is_tensor)
    window.doc.set_target(other)
    item = window.scene.nodes["x"]
    fm = QFontMetricsF(window.scene.mono_font)
    assert item.view is not None and item.view_target == "y"
    line = item.grad_line(fm, 10_000)
    assert line.startswith("∂y/∂x") and f"∂{other}/" not in line  # the old number, its own name
    assert item.stale
    assert window.run.current is None and not window.run.is_current(first)
    window.recompute()
    qtbot.waitUntil(lambda: window.last_result is not None and window.last_result.target == other,
                    timeout=RESULT_TIMEOUT_MS)
    # Named by the target's title, as the user sees it (x**2, not the id x_sq).
    title = formula_name(graph.nodes[other].title)
    assert item.view_target == other and item.grad_line(fm, 10_000).startswith(f"∂{title}/∂x")


def test_node_at_answers_as_qt_does(qtbot, window: MainWindow) -> None:
    """The grid behind node_at gives the node Qt's own hit test gives, overlaps and moves included."""
    import random

    from gui.canvas import NodeItem

    g = Graph()
    rng = random.Random(3)
    for i in range(120):  # crowded: many overlaps, and every tenth node far away
        node = Node(f"n{i}", "tensor", value=1.0) if i % 3 == 0 else Node(f"n{i}", rng.choice(["neg", "add"]))
        near = (rng.uniform(-600, 600), rng.uniform(-400, 400))
        g.add_node(node, pos=near if i % 10 else (rng.uniform(-1e5, 1e5), 0.0))
    window.doc.reset(g)
    scene = window.scene

    def qt_node_at(p: QPointF) -> NodeItem | None:
        return next((item for item in scene.items(p) if isinstance(item, NodeItem)), None)

    def check() -> None:
        for _ in range(400):
            p = QPointF(rng.uniform(-900, 900), rng.uniform(-600, 600))
            assert scene.node_at(p) is qt_node_at(p), p
        for item in scene.nodes.values():  # on each node's own ports too
            for local in (item.output_pos(), *(item.input_pos(port) for port in item.inputs)):
                p = item.mapToScene(local)
                assert scene.node_at(p) is qt_node_at(p), (item.node_id, p)

    check()
    window.doc.move({f"n{i}": (rng.uniform(-600, 600), rng.uniform(-400, 400)) for i in range(0, 120, 3)})
    window.doc.remove([f"n{i}" for i in range(1, 120, 7)])
    window.doc.undo_stack.undo()
    check()
