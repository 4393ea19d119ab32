"""An edit's numbers look stale (grey, "stale") only if its result is slow: every node is marked
stale at once (the flag), but repainted grey STALE_LOOK_AFTER_MS later, unless a result came
first; a cancel's "cancelled" shows at once. Paints are read at 100 % from NodeItem.painted,
which a node's paint sets: with its cache, Qt calls it only for a node asked to repaint."""

from __future__ import annotations

import dataclasses

from helpers import make_graph, scene_and_view
from PySide6.QtWidgets import QApplication

from graph.model import Node
from gui.canvas.scene import STALE_LOOK_AFTER_MS


def _painted(scene, view, qtbot=None, wait_ms: int = 0) -> dict[str, bool]:  # noqa: ANN001
    """Wait (the event loop runs: the view may paint), then repaint the view: the nodes whose paint
    ran meanwhile, each with whether it looks stale (what its paint drew)."""
    for item in scene.nodes.values():
        item.painted = None
    if wait_ms:
        qtbot.wait(wait_ms)
    QApplication.processEvents()  # the items' repaints are gathered there (Qt's dirty items)
    view.viewport().repaint()
    return {n: item.looks_stale() for n, item in scene.nodes.items() if item.painted is not None}


def _shown(qtbot):  # noqa: ANN001, ANN202
    graph = make_graph([Node("x", "tensor", value=[1.0, 2.0], requires_grad=True), Node("s", "sin"),
                        Node("y", "sum")], [("x", "s", "input"), ("s", "y", "input")])
    scene, view = scene_and_view(qtbot, graph, target="y")
    view.resetTransform()
    view.centerOn(scene.nodes["s"])
    assert _painted(scene, view) == {"x": False, "s": False, "y": False}  # all three at full detail
    assert _painted(scene, view) == {}  # each node's cache is valid: a repaint paints none
    return scene, view


def test_a_result_sooner_than_the_delay_replaces_the_numbers_with_no_grey_between(qtbot) -> None:  # noqa: ANN001
    scene, view = _shown(qtbot)
    scene.set_stale()
    assert all(item.stale for item in scene.nodes.values())  # what the numbers are, at once
    assert _painted(scene, view) == {}  # not repainted grey
    scene.show_result(None)  # the answer, before the delay
    assert _painted(scene, view) == {"x": False, "s": False, "y": False}  # repainted once, with it
    assert _painted(scene, view, qtbot, STALE_LOOK_AFTER_MS + 100) == {}


def test_the_edited_node_repainted_at_once_is_not_grey_either(qtbot) -> None:  # noqa: ANN001
    # What an edit does: the node changes (its item repaints), then every node is flagged stale.
    scene, view = _shown(qtbot)
    doc = scene.doc
    doc.edit_node(dataclasses.replace(doc.graph.nodes["x"], value=[3.0, 4.0]))
    scene.set_stale()
    assert scene.nodes["x"].stale
    assert _painted(scene, view) == {"x": False}
    scene.show_result(None)
    assert _painted(scene, view, qtbot, STALE_LOOK_AFTER_MS + 100) == {"x": False, "s": False, "y": False}


def test_a_slow_result_turns_the_numbers_grey_after_the_delay(qtbot) -> None:  # noqa: ANN001
    scene, view = _shown(qtbot)
    scene.set_stale()
    assert _painted(scene, view, qtbot, STALE_LOOK_AFTER_MS + 100) == {"x": True, "s": True, "y": True}
    scene.set_stale()  # a second edit before the result: already grey, nothing to repaint
    assert _painted(scene, view, qtbot, STALE_LOOK_AFTER_MS + 100) == {}


def test_a_cancel_turns_the_numbers_grey_at_once(qtbot) -> None:  # noqa: ANN001
    scene, view = _shown(qtbot)
    scene.set_stale("cancelled: F5 computes")
    assert _painted(scene, view) == {"x": True, "s": True, "y": True}
