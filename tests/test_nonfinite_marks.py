"""The node where NaN/Inf first appears is marked on the canvas (its frame and tooltip), named
by the engine's Result.nonfinite; the nodes it spread to are dimmed, not marked as its origin."""

from __future__ import annotations

import math

import torch

from autograd_bridge.compute import ComputeSession
from autograd_bridge.engine import Compiled
from graph.model import Edge, Graph, Node
from gui.canvas import COLORS, lod


def _graph() -> Graph:
    """x = -1 -> l = log(x) (NaN) -> s = sin(l) (NaN, spread) -> y = sum(s); w = 2 -> m = w * y."""
    g = Graph()
    g.add_node(Node("x", "tensor", value=[-1.0, 1.0], requires_grad=True))
    g.add_node(Node("w", "tensor", value=2.0, requires_grad=True))
    for n, op in (("l", "log"), ("s", "sin"), ("y", "sum"), ("m", "mul")):
        g.add_node(Node(n, op))
    for a, b, port in (("x", "l", "input"), ("l", "s", "input"), ("s", "y", "input"), ("w", "m", "input"),
                       ("y", "m", "other")):
        g.add_edge(Edge(a, b, port))
    return g


def test_the_engine_names_the_origin_of_a_nan_value_and_partial() -> None:
    result = Compiled(_graph()).run("m")
    # an independent check of what torch gives: log(-1) is NaN, and everything after it
    x = torch.tensor([-1.0, 1.0])
    assert math.isnan(torch.log(x)[0].item())
    origins = dict(result.nonfinite)
    assert origins["l"].startswith("value has NaN/Inf")
    assert "s" not in origins and "y" not in origins and "m" not in origins  # spread, not started there
    assert set(origins) == {"l"}  # the NaN partials of w, x... come from that value, not from backward


def test_with_every_value_finite_the_first_nonfinite_partial_is_named() -> None:
    g = Graph()  # y = 3 * sqrt(x) at x = 0: the value is 0, the partial 3/(2*sqrt(0)) is inf
    g.add_node(Node("x", "tensor", value=0.0, requires_grad=True))
    g.add_node(Node("three", "tensor", value=3.0))
    g.add_node(Node("r", "sqrt"))
    g.add_node(Node("y", "mul"))
    g.add_edge(Edge("x", "r", "input"))
    g.add_edge(Edge("r", "y", "input"))
    g.add_edge(Edge("three", "y", "other"))
    x = torch.tensor(0.0, requires_grad=True)
    (grad,) = torch.autograd.grad(3.0 * torch.sqrt(x), [x])
    assert math.isinf(grad.item())  # torch agrees the partial is inf
    origins = dict(Compiled(g).run("y").nonfinite)
    assert list(origins) == ["x"] and origins["x"].startswith("partial ∂y/∂x")


def test_the_canvas_marks_where_nan_starts(qtbot) -> None:  # noqa: ANN001
    from helpers import scene_and_view

    g = _graph()
    scene, view = scene_and_view(qtbot, g, "m")
    scene.show_result(ComputeSession().compute(scene.doc.graph, "m", scene.doc.revision))
    marked = {n for n, item in scene.nodes.items() if item.nonfinite}
    assert "l" in marked and not {"s", "y", "m", "w"} & marked
    item = scene.nodes["l"]
    assert lod.frame(item) == (COLORS["nonfinite"], 3.0)
    assert "NaN/Inf starts here" in item.toolTip()
    assert lod.frame(scene.nodes["s"])[0] != COLORS["nonfinite"]
    # where it spread (values s, y, m; the partials of x and w) is dimmed; the origin is not
    dimmed = {n for n, item in scene.nodes.items() if item.opacity() < 1.0}
    assert dimmed == {"s", "y", "m", "x", "w"}
    scene.show_result(None)  # a result without the NaN clears the mark
    assert not any(item.nonfinite for item in scene.nodes.values())
    assert all(item.opacity() == 1.0 for item in scene.nodes.values())


def test_the_overview_paints_the_origin_in_its_colour(qtbot) -> None:  # noqa: ANN001
    from helpers import scene_and_view
    from PySide6.QtWidgets import QApplication

    scene, view = scene_and_view(qtbot, _graph(), "m")
    scene.show_result(ComputeSession().compute(scene.doc.graph, "m", scene.doc.revision))
    view.resetTransform()
    view.scale(0.1, 0.1)  # far out: every node a rectangle, drawn in bulk
    view.centerOn(scene.content_rect().center())
    QApplication.processEvents()
    assert scene.overview.on
    image = view.grab().toImage()

    def colour(n: str):  # noqa: ANN202
        point = view.viewport().mapTo(view, view.mapFromScene(scene.nodes[n].sceneBoundingRect().center()))
        return image.pixelColor(point)

    assert colour("l") == COLORS["nonfinite"]
    assert colour("s") != COLORS["nonfinite"] and colour("m") == COLORS["target"]
