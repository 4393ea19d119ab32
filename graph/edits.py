"""Graph edits that need no Qt, as pure functions: new ids, paste, rename, layout.

Each returns what should change; it never changes the graph it is given. The Qt Document
(gui/document.py) turns the answer into undo commands.
"""

from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass

import networkx as nx

from graph.errors import CycleError, GraphError, ValueSpecError
from graph.fileformat import dumps, loads
from graph.model import MAX_ID_LENGTH, Edge, Graph, Node, check_node_id

GRID = (240.0, 170.0)  # the spacing of the default grid and of auto-layout
POS_LIMIT = 1e7  # a position beyond this (or not finite) is not usable: the node goes on the grid
WRAP_MIN_GENERATIONS = 30  # auto-layout wraps a longer chain of generations into bands


def usable_pos(pos: tuple[float, float] | None) -> bool:
    """Whether a node can be drawn where pos says (files may hold 1e308 or worse)."""
    return pos is not None and all(math.isfinite(v) and abs(v) <= POS_LIMIT for v in pos)


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


@dataclass(frozen=True)
class Paste:
    """What pasting a fragment adds: nodes (renamed where ids clash) with their places, and edges."""

    nodes: list[tuple[Node, tuple[float, float]]]
    edges: list[Edge]


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
    nodes = []
    for n, node in fragment.nodes.items():
        x, y = fragment.position(n) if usable_pos(fragment.position(n)) else (0.0, 0.0)
        nodes.append((dataclasses.replace(node, id=ids[n]), (x + offset[0], y + offset[1])))
    return Paste(nodes, [Edge(ids[e.src], ids[e.dst], e.port) for e in fragment.edges])


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


def layered_positions(graph: Graph, spacing: tuple[float, float] = GRID) -> dict[str, tuple[float, float]]:
    """Columns by networkx topological generations; rows keep file order. Empty for a graph
    with a cycle (it has no generations).

    A long chain of generations (a 2,000-op chain is 2,000 columns, 480,000 units wide) is
    wrapped into bands, one below the other, so the layout stays roughly square.
    """
    g = graph.to_networkx()
    if not nx.is_directed_acyclic_graph(g):
        return {}
    rank = {n: i for i, n in enumerate(graph.nodes)}
    generations = [sorted(gen, key=rank.__getitem__) for gen in nx.topological_generations(g)]
    if not generations:
        return {}
    tallest = max(len(gen) for gen in generations)
    per_band = len(generations)
    band_h = (tallest + 1) * spacing[1]  # a free row between bands
    if len(generations) > WRAP_MIN_GENERATIONS and len(generations) * spacing[0] > 4 * band_h:
        per_band = max(WRAP_MIN_GENERATIONS // 2,
                       math.ceil(math.sqrt(len(generations) * band_h / spacing[0])))
    moves = {}
    for i, generation in enumerate(generations):
        band, col = divmod(i, per_band)
        for row, n in enumerate(generation):
            moves[n] = (col * spacing[0], band * band_h + row * spacing[1])
    return moves
