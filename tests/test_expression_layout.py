"""Where the expression bar puts what it adds: compact for a 1,000-term sum, never overlapping,
inputs left of the ops that use them; and below the nodes already there."""

import math

import pytest

from graph.edits import NODE_W, box_height
from graph.expressions import plan_expressions
from graph.model import Graph, Node

SMALL = ["y = 2*x**2 + 3*z", "y = sin(x) * exp(x)", "y = 2*x**2 + 3*z\nw = sin(y) + y", "y = a*b\nu = c+d",
         "y = cat(a, b, c, d, e, f, g, h) + sin(a)"]


def _boxes(text: str, graph: Graph | None = None) -> dict[str, tuple[float, float, float, float]]:
    """Each added node's box (left, top, right, bottom), as the canvas draws it at its tallest."""
    plan = plan_expressions(graph or Graph(), text)
    return {node.id: (x, y, x + NODE_W, y + box_height(node, preview=True)) for node, (x, y) in plan.nodes}


def _overlapping(boxes: dict[str, tuple[float, float, float, float]]) -> list[tuple[str, str]]:
    by_left = sorted(boxes.items(), key=lambda item: item[1][0])
    found = []
    for i, (a, (_left, top, right, bottom)) in enumerate(by_left):
        for b, (left_b, top_b, _right_b, bottom_b) in by_left[i + 1:]:
            if left_b >= right:
                break
            if top_b < bottom and top < bottom_b:
                found.append((a, b))
    return found


@pytest.mark.parametrize("op", ["+", "*", "-"])
def test_a_1000_term_line_is_compact_and_nothing_overlaps(op: str) -> None:
    boxes = _boxes("y = " + f" {op} ".join(f"a{i}" for i in range(1, 1001)))
    assert len(boxes) == 1999
    # As compact as the boxes allow, within a factor: each side at most twice the side of the
    # square their areas would fill edge to edge (~7,300 px for these 1,999 boxes). One column
    # per depth made it ~280,000 px wide and ~150,000 px tall.
    side = math.sqrt(sum((r - x) * (b - y) for x, y, r, b in boxes.values()))
    width = max(b[2] for b in boxes.values()) - min(b[0] for b in boxes.values())
    height = max(b[3] for b in boxes.values()) - min(b[1] for b in boxes.values())
    assert width <= 2 * side and height <= 2 * side, (width, height, side)
    assert not _overlapping(boxes)
    # Each term stands beside the op it feeds: a column to its left, within a row.
    plan = plan_expressions(Graph(), "y = " + f" {op} ".join(f"a{i}" for i in range(1, 1001)))
    terms = {node.id for node, _pos in plan.nodes if node.is_tensor}
    for edge in plan.edges:
        if edge.src in terms:
            src, dst = boxes[edge.src], boxes[edge.dst]
            assert 0 < dst[0] - src[0] <= 2 * NODE_W and abs(dst[1] - src[1]) <= src[3] - src[1] + dst[3] - dst[1]


@pytest.mark.parametrize("text", SMALL)
def test_small_lines_read_left_to_right_without_overlaps(text: str) -> None:
    boxes = _boxes(text)
    assert not _overlapping(boxes)
    for edge in plan_expressions(Graph(), text).edges:
        assert boxes[edge.src][2] < boxes[edge.dst][0], edge  # the input's right edge left of its op


def test_the_terms_of_a_small_line_stand_where_they_are_written() -> None:
    """y = 2*x**2 + 3*z: the line's node at the right, level with its first term; each part's
    inputs in the order of its ports, top to bottom, and 2*x**2 above 3*z."""
    boxes = _boxes("y = 2*x**2 + 3*z")
    top = {n: b[1] for n, b in boxes.items()}
    assert top["y"] == top["mul1"] == top["c2"] == min(top.values())  # y = mul1 + mul2, mul1 = 2 * pow1
    assert top["mul1"] < top["mul2"] and top["c2"] < top["pow1"] and top["c3"] < top["z"]
    assert top["x"] == top["pow1"]  # x**2 straight from x
    assert boxes["y"][0] == max(b[0] for b in boxes.values())


def test_a_line_using_existing_nodes_places_only_its_own() -> None:
    graph = Graph()
    graph.add_node(Node("x", "tensor", value=1.0, requires_grad=True), pos=(0.0, 0.0))
    boxes = _boxes("w = sin(x) + x", graph)
    assert set(boxes) == {"sin1", "w"}
    assert boxes["sin1"][2] < boxes["w"][0] and not _overlapping(boxes)


def test_the_bar_adds_below_the_bottom_of_the_nodes_there(window) -> None:  # noqa: ANN001
    """A tall node (cat of 12 tensors, 310 px) at the bottom: the new nodes start below its
    bottom, not 200 px below its top."""
    doc = window.doc
    doc.add_node(Node("x", "tensor", value=1.0, requires_grad=True), (0.0, 0.0))
    doc.add_node(Node("big", "cat", attrs={"num_inputs": 12}), (300.0, 100.0))
    assert window.expression_bar.add_text("y = sin(x) * exp(x) + 2*x**2")
    items = window.scene.nodes
    added = [n for n in doc.graph.nodes if n not in ("x", "big")]
    for n in added:
        rect = items[n].sceneBoundingRect()
        for other in doc.graph.nodes:
            if other != n:
                assert not rect.intersects(items[other].sceneBoundingRect()), (n, other)
