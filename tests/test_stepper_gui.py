"""The Step backward mode in the window (gui.stepper): the walk comes from the worker once, the
dock steps through it, the canvas overlay shows what Walk.state says, stepping back restores
exactly what was shown, and the status line says the chain rule by titles."""

from __future__ import annotations

from pathlib import Path

from helpers import RESULT_TIMEOUT_MS
from test_stepper import diamond

from gui.stepper import describe

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"


def walk_ready(qtbot, w) -> object:  # noqa: ANN001
    qtbot.waitUntil(lambda: w.run.current is not None and w.run.current.target == w.doc.target,
                    timeout=RESULT_TIMEOUT_MS)
    w.stepper.set_on(True)
    qtbot.waitUntil(lambda: w.stepper.walk is not None, timeout=RESULT_TIMEOUT_MS)
    return w.stepper


def shown(stepper) -> tuple:  # noqa: ANN001
    """Everything the mode shows: overlay state, current step, status, counter, buttons."""
    dock = stepper.dock
    return (dict(stepper.overlay.reached), stepper.overlay.step, dock.status.text(), dock.counter.text(),
            dock.back_button.isEnabled(), dock.step_button.isEnabled())


def test_example_01_walk_steps_forward_and_back_exactly(qtbot, window) -> None:  # noqa: ANN001
    window.open_file(str(EXAMPLES / "01_scalar_partial.json"))
    window.doc.set_target("y")
    stepper = walk_ready(qtbot, window)
    assert stepper.dock.isVisible() and stepper.overlay.scene() is window.scene
    assert stepper.dock.status.text() == "Start at y: ∂y/∂y = 1"
    seen = [shown(stepper)]
    while stepper.position < stepper.last:
        stepper.dock.step_button.click()
        seen.append(shown(stepper))
    assert "∂y/∂x = ∂(x**2)/∂x · ∂(x**2)/∂x" not in seen[-1][2]
    statuses = [s[2] for s in seen]
    assert any(t.startswith("∂y/∂x = ∂y/∂(x**2) · ∂(x**2)/∂x = 2 · 4 = 8") for t in statuses), statuses
    assert seen[-1][0]["x"] == ("8", 1)  # ∂y/∂x = 4·x at x = 2, as the engine's
    assert window.run.current.nodes["x"].grad_text == "8"
    assert "Done" in seen[-1][2]
    for k in range(len(seen) - 2, -1, -1):
        stepper.dock.back_button.click()
        assert shown(stepper) == seen[k], k


def test_diamond_status_says_the_sum_and_play_runs_to_the_end(qtbot, window) -> None:  # noqa: ANN001
    window.doc.reset(diamond())
    window.doc.set_target("y")
    stepper = walk_ready(qtbot, window)
    walk = stepper.walk
    second = [s for s in walk.steps if s.src == "x"][1]
    text = describe(second, window.doc.graph, "y", False)
    assert text.startswith("∂y/∂x += ") and f"{second.before} + {second.product} = {second.after}" in text
    stepper.dock.speed.setCurrentIndex(2)
    stepper.dock.play_button.click()
    assert stepper.timer.isActive()
    qtbot.waitUntil(lambda: stepper.position == stepper.last and not stepper.timer.isActive(), timeout=10_000)
    final = stepper.overlay.reached
    assert final["x"][1] == 2
    for n in ("x", "a", "b", "y"):
        assert final[n][0] == window.run.current.nodes[n].grad_text, n


def test_an_edit_asks_for_a_new_walk_and_off_removes_the_overlay(qtbot, window) -> None:  # noqa: ANN001
    window.doc.reset(diamond())
    window.doc.set_target("y")
    stepper = walk_ready(qtbot, window)
    first = stepper.walk
    window.doc.set_target("b")
    qtbot.waitUntil(lambda: stepper.walk is not None and stepper.walk is not first, timeout=RESULT_TIMEOUT_MS)
    assert stepper.walk.target == "b" and stepper.position == 0
    stepper.set_on(False)
    assert stepper.overlay.scene() is None and not stepper.dock.isVisible()


def test_a_vjp_walk_names_a_big_jacobian_as_a_matrix_and_ends_on_vjps(qtbot, window) -> None:  # noqa: ANN001
    """y = x * x for x of 3 elements, v = [1, 0.5, 0]: along each wire J = diag(x) (the other
    factor) has 9 entries, at most JACOBIAN_SHOWN_MAX: written out whole, a row per element of y,
    never as '[3, 3] norm …' (which reads as a vector). The last step says the partials are
    vᵀ·∂target/∂node."""
    from graph.model import Edge, Graph, Node

    g = Graph()
    g.add_node(Node("x", "tensor", value=[1.0, 2.0, 3.0], requires_grad=True))
    g.add_node(Node("y", "mul"))
    g.add_edge(Edge("x", "y", "input"))
    g.add_edge(Edge("x", "y", "other"))
    window.doc.reset(g)
    window.doc.set_target("y")
    window.grad_output_edit.setText("[1, 0.5, 0]")
    window.grad_output_edit.editingFinished.emit()
    qtbot.waitUntil(lambda: window.run.current is not None and window.run.current.grad_output is not None,
                    timeout=RESULT_TIMEOUT_MS)
    stepper = walk_ready(qtbot, window)
    first = next(s for s in stepper.walk.steps if s.edge is not None)
    text = describe(first, window.doc.graph, "y", True)
    assert "J = [[1, 0, 0], [0, 2, 0], [0, 0, 3]]" in text, text  # diag(x), x = [1, 2, 3]
    assert "[3, 3] norm" not in text
    stepper.position = stepper.last
    stepper._show()  # noqa: SLF001 - the dock's text for this position
    assert "vᵀ·∂target/∂node, as backward(gradient=v)" in stepper.dock.status.text()


def test_the_canvas_holds_back_each_partial_until_the_walk_has_made_it_whole(qtbot, window) -> None:  # noqa: ANN001
    """The walk's first step ("Start at y") showed every node's final partial already, and at
    "∂y/∂x so far = 12" x still said 36. Now a node shows its partial once every path into it
    has been walked; before that, its value alone (the summary) or "not reached yet" (full)."""
    from gui.canvas import lod
    from gui.canvas.items import WITHHELD

    window.doc.reset(diamond())
    window.doc.set_target("y")
    stepper = walk_ready(qtbot, window)
    scene, walk = window.scene, stepper.walk
    others = [n for n in window.doc.graph.nodes if n != "y" and window.run.current.nodes[n].grad_text]
    assert scene.walked == {"y"} and others
    for n in others:
        assert scene.nodes[n].partial_withheld() and lod.summary_content(scene.nodes[n])[0] == "="
    assert lod.summary_content(scene.nodes["y"])[0] == "∂"
    x_done = next(i for i, s in enumerate(walk.steps) if s.src == "x" and s.paths == s.total_paths)
    while stepper.position < stepper.last:
        stepper.dock.step_button.click()
        reached = walk.state(stepper.position)
        assert scene.walked == {n for n, (_, paths) in reached.items()
                                if paths == max(s.paths for s in walk.steps if s.src == n)}
        assert scene.nodes["x"].partial_withheld() == (stepper.position < x_done)
    assert not any(scene.nodes[n].partial_withheld() for n in others)  # done: every partial shown
    assert WITHHELD.startswith("∂ not reached yet")
    stepper.set_on(False)
    assert scene.walked is None


def test_the_current_wires_product_is_moved_off_the_nodes_where_there_is_room(qtbot, window) -> None:  # noqa: ANN001
    """The pill with the current wire's product ("4 · 3 = 12") sat just below the wire's middle,
    over a node's title or ∂ button when the wire was short: it moves up or down, a pill's height
    at a time, to where it covers no node, and stays where it was only when nothing is clear."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QFont, QFontMetricsF

    window.doc.reset(diamond())
    window.doc.set_target("y")
    stepper = walk_ready(qtbot, window)
    overlay, scene = stepper.overlay, window.scene
    font = QFont(scene.small_font)
    font.setPixelSize(13)
    fm = QFontMetricsF(font)
    text = "4 · 3 = 12"
    rects = [item.sceneBoundingRect() for item in scene.nodes.values()]
    for item in scene.nodes.values():
        mid = item.sceneBoundingRect().center()  # a "wire middle" inside a node: never left there
        center = overlay._clear_of_nodes(mid, fm, text, 1.0)
        pill = overlay._pill_rect(fm, center, text, 1.0)
        assert abs(center.x() - mid.x()) < 1e-9 and not any(r.intersects(pill) for r in rects), item.node_id
    far = QPointF(-5000.0, -5000.0)  # nothing near: on the middle itself
    assert overlay._clear_of_nodes(far, fm, text, 1.0) == far


def test_file_new_ends_the_walk_of_the_graph_it_replaced(qtbot, window) -> None:  # noqa: ANN001
    """File > New computes nothing, so no result came to replace the walk: Step ▶ went on
    stepping the old graph's walk over an empty canvas (review)."""
    window.open_file(str(EXAMPLES / "01_scalar_partial.json"))
    window.doc.set_target("y")
    stepper = walk_ready(qtbot, window)
    stepper.dock.step_button.click()
    assert stepper.position == 1 and stepper.overlay.reached
    window.new_document()
    assert not window.doc.graph.nodes
    assert stepper.walk is None and stepper.overlay.reached == {} and stepper.overlay.step is None
    assert not stepper.dock.step_button.isEnabled() and not stepper.dock.play_button.isEnabled()
    assert stepper.dock.counter.text() == "" and stepper.dock.status.text().startswith("no target")
    stepper.dock.step_button.click()
    assert stepper.walk is None and stepper.overlay.step is None


def test_removing_the_target_ends_the_walk(qtbot, window) -> None:  # noqa: ANN001
    window.doc.reset(diamond())
    window.doc.set_target("y")
    stepper = walk_ready(qtbot, window)
    stepper.dock.step_button.click()
    window.doc.remove(["y"])
    assert window.doc.target is None
    assert stepper.walk is None and stepper.overlay.step is None and stepper.dock.status.text().startswith("no target")
    window.doc.undo_stack.undo()  # the target back: its run, and a walk from its start
    qtbot.waitUntil(lambda: stepper.walk is not None, timeout=RESULT_TIMEOUT_MS)
    assert stepper.walk.target == "y" and stepper.position == 0


def test_in_a_column_of_nodes_the_wires_product_moves_sideways_off_them(qtbot, window) -> None:  # noqa: ANN001
    """Where every place above and below the wire's middle covers a node (a tall column of
    them), the pill sat over a title: it moves sideways, to the nearest clear place."""
    from PySide6.QtGui import QFont, QFontMetricsF

    from graph.model import Graph, Node

    g = Graph()
    for i in range(13):
        g.add_node(Node(f"c{i}", "tensor", value=float(i)), pos=(0.0, 0.0))
    window.doc.reset(g)
    scene = window.scene
    y = 0.0
    for i in range(13):  # stacked, each touching the next
        window.doc.move({f"c{i}": (0.0, y)})
        y += scene.nodes[f"c{i}"].height()
    font = QFont(scene.small_font)
    font.setPixelSize(13)
    fm = QFontMetricsF(font)
    text = "4 · 3 = 12"
    overlay = window.stepper.overlay
    mid = scene.nodes["c6"].sceneBoundingRect().center()
    center = overlay._clear_of_nodes(mid, fm, text, 1.0)
    pill = overlay._pill_rect(fm, center, text, 1.0)
    rects = [item.sceneBoundingRect() for item in scene.nodes.values()]
    assert not any(r.intersects(pill) for r in rects)
    assert abs(center.y() - mid.y()) < 1e-9 and abs(center.x() - mid.x()) < scene.nodes["c6"].width() + pill.width()
