"""Graph edits that need no Qt, as pure functions: new ids, paste, rename; and the node box the
canvas draws, which the layout (graph.layout) places.

Each returns what should change; it never changes the graph it is given. The Qt Document
(gui/document.py) turns the answer into undo commands.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from dataclasses import dataclass, field

from graph.errors import CycleError, GraphError, ValueSpecError
from graph.fileformat import dumps, loads
from graph.groups import Group
from graph.model import MAX_ID_LENGTH, Edge, Graph, Node, check_node_id
from graph.ops import TENSOR

GRID = (240.0, 170.0)  # the spacing of the default grid; auto-layout's smallest pitch
POS_LIMIT = 1e7  # a position beyond this (or not finite) is not usable: the node goes on the grid

# A node's box as the canvas draws it (gui.canvas.items reads these): auto-layout needs its size
# and where its ports sit to keep wires off other nodes.
NODE_W = 220.0
HEADER_H = 26.0
PORT_H = 18.0
OVERLAY_H = 38.0
PREVIEW_H = 30.0  # the heatmap / sparkline row under a tensor too big to write out
PORT_R = 5.0
# A group's frame around its nodes (gui.canvas.groups draws it): margin, and the title band above.
FRAME_PAD = 14.0
FRAME_HEADER = 24.0
LEAF_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def frame_around(x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
    """The frame of a group whose nodes (and nested frames) cover x0..x1, y0..y1: FRAME_PAD
    around, and the title band above."""
    return x0 - FRAME_PAD, y0 - FRAME_PAD - FRAME_HEADER, x1 + FRAME_PAD, y1 + FRAME_PAD


def usable_pos(pos: tuple[float, float] | None) -> bool:
    """Whether a node can be drawn where pos says (files may hold 1e308 or worse)."""
    if pos is None:
        return False
    x, y = pos
    return -POS_LIMIT <= x <= POS_LIMIT and -POS_LIMIT <= y <= POS_LIMIT  # False for NaN and ±inf


def grid_positions(graph: Graph) -> dict[str, tuple[float, float]]:
    """Places for the nodes without a usable position: a square-ish grid (ceil(sqrt(n))
    columns), below the nodes that do have one."""
    todo = [n for n in graph.nodes if not usable_pos(graph.position(n))]
    if not todo:
        return {}
    placed = [graph.position(n) for n in graph.nodes if usable_pos(graph.position(n))]
    top = max(y for _x, y in placed) + 2 * GRID[1] if placed else 0.0
    left = min(x for x, _y in placed) if placed else 0.0
    cols = math.ceil(math.sqrt(len(todo)))
    return {n: (left + (i % cols) * GRID[0], top + (i // cols) * GRID[1]) for i, n in enumerate(todo)}


def unique_id(graph: Graph, base: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """base, or base with a number that makes it new; never longer than the loader allows."""
    if len(base) <= MAX_ID_LENGTH and base not in graph.nodes and base not in taken:
        return base
    stem = re.sub(r"_\d+$", "", base) or "n"
    n = 2
    while True:
        suffix = f"_{n}"
        candidate = stem[:MAX_ID_LENGTH - len(suffix)] + suffix
        if candidate not in graph.nodes and candidate not in taken:
            return candidate
        n += 1


def new_node_id(graph: Graph, op: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A short id that reads well for a new node: leaves a, b, c, … z, then a2 … z2, a3 …;
    ops their name and a counter, mul1, mul2, …; ids in use (in graph or taken) are skipped."""
    used = graph.nodes.keys() | taken
    if op == TENSOR:
        for round_ in itertools.count(1):
            for letter in LEAF_LETTERS:
                candidate = letter if round_ == 1 else f"{letter}{round_}"
                if candidate not in used:
                    return candidate
    stem = op[:MAX_ID_LENGTH - 12]
    return next(f"{stem}{k}" for k in itertools.count(1) if f"{stem}{k}" not in used)


def box_height(node: Node, preview: bool) -> float:
    """The height of a node's box on the canvas (gui.canvas.items draws it this tall); with
    `preview`, room for the preview row a large tensor gets."""
    ports = max(1, len(node.ports))
    return HEADER_H + ports * PORT_H + OVERLAY_H + (PREVIEW_H if preview else 0.0)


def node_height(graph: Graph, node_id: str, preview: bool = True) -> float:
    """box_height of a graph's node; auto-layout assumes the preview row, so that a result
    never makes nodes overlap."""
    return box_height(graph.nodes[node_id], preview)


def output_port_y(_node: Node) -> float:
    """The output dot's height in the node's box."""
    return HEADER_H + 0.5 * PORT_H


def input_port_y(node: Node, port: str) -> float:
    """An input port's height in the node's box."""
    inputs = node.ports
    return _port_row_y(inputs.index(port) if port in inputs else 0)


def input_port_ys(node: Node) -> dict[str, float]:
    """Every input port's height in the node's box (input_port_y of each, in one pass)."""
    return {port: _port_row_y(i) for i, port in enumerate(node.ports)}


def _port_row_y(i: int) -> float:
    return HEADER_H + (i + 0.5) * PORT_H


def wire_segment(graph: Graph, edge: Edge, positions: dict[str, tuple[float, float]]
                 ) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1): the straight line from an edge's output dot to its input port."""
    (xs, ys), (xd, yd) = positions[edge.src], positions[edge.dst]
    return (xs + NODE_W, ys + output_port_y(graph.nodes[edge.src]),
            xd, yd + input_port_y(graph.nodes[edge.dst], edge.port))


def segment_hits_box(seg: tuple[float, float, float, float], box: tuple[float, float, float, float],
                     clearance: float = 0.0) -> bool:
    """Whether a straight segment passes through (or within clearance of) a box (x, y, w, h)."""
    x0, y0, x1, y1 = seg
    if x1 < x0:
        x0, y0, x1, y1 = x1, y1, x0, y0
    bx, by, bw, bh = box
    lo_x, hi_x = max(x0, bx - clearance), min(x1, bx + bw + clearance)
    if lo_x > hi_x:
        return False
    if x1 == x0:
        ys = (y0, y1)
    else:
        slope = (y1 - y0) / (x1 - x0)
        ys = (y0 + (lo_x - x0) * slope, y0 + (hi_x - x0) * slope)
    return max(ys) >= by - clearance and min(ys) <= by + bh + clearance


@dataclass(frozen=True)
class Paste:
    """What pasting a fragment adds: nodes (renamed where ids clash) with their places, edges,
    and the groups of the copied nodes (renamed where ids clash) with who is in which."""

    nodes: list[tuple[Node, tuple[float, float]]]
    edges: list[Edge]
    groups: list[Group] = field(default_factory=list)
    group_of: dict[str, str] = field(default_factory=dict)  # pasted node id -> pasted group id


def paste_positions(fragment: Graph) -> dict[str, tuple[float, float]]:
    """Where a pasted fragment's nodes go, before the paste's offset: their own positions; where
    any lacks one (text written by hand, or by another tool), as Auto-layout lays them out, not
    every node on one spot."""
    spots = {n: fragment.position(n) for n in fragment.nodes}
    if all(map(usable_pos, spots.values())):
        return spots
    from graph.layout import layered_positions  # imports this module: here, not at the top

    return {**dict.fromkeys(fragment.nodes, (0.0, 0.0)), **layered_positions(fragment)}


def plan_paste(graph: Graph, text: str, offset: tuple[float, float] = (40.0, 40.0)) -> Paste:
    """The nodes and edges of a file-format fragment, ids renamed where they clash with graph.

    Raises FileFormatError for a fragment that does not load (it is validated like a file),
    and GraphError for one whose edges form a cycle (the rule every edit follows).
    """
    fragment = loads(text)
    try:
        fragment.topological_order()
    except CycleError as e:
        raise GraphError(f"the pasted nodes are wired in a {e.message}", e.node_ids) from None
    ids: dict[str, str] = {}
    for n in fragment.nodes:
        ids[n] = unique_id(graph, n, taken=set(ids.values()))
    spots = paste_positions(fragment)
    nodes = []
    for n, node in fragment.nodes.items():
        x, y = spots[n]
        nodes.append((dataclasses.replace(node, id=ids[n]), (x + offset[0], y + offset[1])))
    gids: dict[str, str] = {}
    for g in fragment.groups:
        gids[g] = unique_group_id(graph, g, taken=set(gids.values()))
    groups = [dataclasses.replace(g, id=gids[g.id], parent=gids.get(g.parent)) for g in fragment.groups.values()]
    return Paste(nodes, [Edge(ids[e.src], ids[e.dst], e.port) for e in fragment.edges], groups,
                 {ids[n]: gids[g] for n, g in fragment.group_of.items()})


def unique_group_id(graph: Graph, base: str, taken: set[str]) -> str:
    """base, or base with a number that makes it new among graph's groups and taken."""
    stem, n, candidate = re.sub(r"_\d+$", "", base) or "g", 2, base
    while candidate in graph.groups or candidate in taken:
        suffix = f"_{n}"
        candidate, n = stem[:MAX_ID_LENGTH - len(suffix)] + suffix, n + 1
    return candidate


def copy_text(graph: Graph, node_ids: list[str]) -> str:
    """The given nodes and the edges among them, in the file format."""
    return dumps(graph.without(set(graph.nodes) - set(node_ids)))


@dataclass(frozen=True)
class Rename:
    """A node under a new id at the same place in file order, and its edges at their indexes."""

    node: Node
    index: int
    old_edges: list[tuple[int, Edge]]
    new_edges: list[tuple[int, Edge]]


def plan_rename(graph: Graph, old_id: str, new_id: str) -> Rename:
    """Raises ValueSpecError when new_id breaks the id rule or is taken."""
    check_node_id(new_id)  # the loader's rule, so a renamed graph always reopens
    if new_id in graph.nodes:
        raise ValueSpecError(f"there is already a node {new_id!r}", [new_id])
    old_edges = [(i, e) for i, e in enumerate(graph.edges) if old_id in (e.src, e.dst)]

    def renamed(e: Edge) -> Edge:
        return Edge(new_id if e.src == old_id else e.src, new_id if e.dst == old_id else e.dst, e.port)

    return Rename(dataclasses.replace(graph.nodes[old_id], id=new_id), list(graph.nodes).index(old_id),
                  old_edges, [(i, renamed(e)) for i, e in old_edges])
