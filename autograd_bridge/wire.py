"""What crosses the pipe between the GUI process and its compute process, kept cheap to pickle.

Pure Python + numpy: no torch, no Qt (the GUI process imports this and never torch).

Graphs go as deltas. `GraphSender` (GUI side) remembers what the receiver holds and sends only
the nodes added or replaced since, the ids removed and the edges spliced; nodes are frozen and
an edit swaps in a new Node object, so "changed" is found by `is`, never by comparing fields.
`GraphReceiver` (compute side) applies them in order and refuses one that does not follow what it
holds, so the sender can start again with a full message. A message carries what
`Graph.snapshot()` carries: nodes, edges and seed (no layout, target or groups).

Results go as columns. A 10,000-node ComputeResult is 10,000 NodeView dataclasses holding
~20,000 small (mostly 0-d) arrays: pickled as they are, loading them costs ~190 ms of the GUI
thread. `encode_result` sends each field as one list, and each array field as a few stacked
blocks (one per shape and dtype); `decode_result` hands back views of those blocks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from operator import attrgetter

import numpy as np

from autograd_bridge.compute import ComputeResult, NodeView
from graph.bulk import paused_gc
from graph.model import Edge, Graph, Node

# A node or edge as a tuple of its fields (Node(*row) makes it again): no dataclass reduce.
_node_row = attrgetter(*(f.name for f in dataclasses.fields(Node)))
_edge_row = attrgetter(*(f.name for f in dataclasses.fields(Edge)))

# Past this many nodes changed or removed (as a share of the graph), a full message is sent.
FULL_SHARE = 0.5
# A receiver removes up to this many nodes and edges in place; past it, it builds anew.
IN_PLACE_REMOVALS = 64


@dataclass(frozen=True)
class FullGraph:
    seq: int  # this message's number; the next delta names it as its base
    nodes: list[tuple]  # _node_row per node, in order
    edges: list[tuple]  # _edge_row per edge, in order
    seed: int


@dataclass(frozen=True)
class GraphDelta:
    base: int  # the seq of the graph this applies to
    seq: int
    nodes: list[tuple]  # added or replaced nodes' rows; added ones go at the end ...
    removed: list[str]  # ... after these ids are removed
    order: list[str] | None  # every node id in order, when the above does not give it
    edges: tuple[int, int, list[tuple]] | None  # (start, stop, rows): edges[start:stop] = rows
    seed: int


class GraphSender:
    """GUI side: `message(graph)` makes the receiver's graph equal to `graph.snapshot()`. It
    reads only the graph's nodes, edges and seed, and keeps copies of the first two: the
    document itself may be passed, no snapshot needed.

    Each message is assumed delivered and applied; when the receiver refused one, or the
    compute process was restarted, call `reset()` and the next message is a full one.
    """

    def __init__(self) -> None:
        self._seq = 0
        self._nodes: dict[str, Node] | None = None  # what the receiver holds; None: unknown
        self._edges: list[Edge] = []

    def reset(self) -> None:
        self._nodes = None

    def message(self, graph: Graph) -> FullGraph | GraphDelta:
        nodes, edges = graph.nodes, graph.edges
        delta = self._delta(nodes, edges, graph.seed) if self._nodes is not None else None
        self._seq += 1
        self._nodes, self._edges = dict(nodes), list(edges)
        if delta is None:
            return FullGraph(self._seq, list(map(_node_row, nodes.values())),
                             list(map(_edge_row, edges)), graph.seed)
        return GraphDelta(self._seq - 1, self._seq, *delta)

    def _delta(self, nodes: dict[str, Node], edges: list[Edge], seed: int) -> tuple | None:
        """The fields of a GraphDelta after self._seq (seqs aside), or None when most nodes
        changed."""
        old = self._nodes
        changed = [node for n, node in nodes.items() if old.get(n) is not node]
        added = [node.id for node in changed if node.id not in old]
        removed = [n for n in old if n not in nodes] if len(nodes) - len(added) != len(old) else []
        if len(changed) + len(removed) > FULL_SHARE * max(len(nodes), 1):
            return None
        order = None  # the receiver removes, then appends what is added: is that the order?
        if changed or removed:
            kept = [n for n in old if n in nodes] if removed else list(old)
            if list(nodes) != kept + added:
                order = list(nodes)
        return (list(map(_node_row, changed)), removed, order, _splice(self._edges, edges), seed)


def _splice(old: list[Edge], new: list[Edge]) -> tuple[int, int, list[tuple]] | None:
    """(start, stop, rows) such that old[start:stop] = rows gives new; None when equal.
    The common head and tail are kept, so one edge added or removed sends at most one."""
    if new == old:  # list == tries `is` first: snapshots share the Edge objects
        return None
    start = 0
    limit = min(len(old), len(new))
    while start < limit and (old[start] is new[start] or old[start] == new[start]):
        start += 1
    tail = 0
    while tail < limit - start and (old[-1 - tail] is new[-1 - tail] or old[-1 - tail] == new[-1 - tail]):
        tail += 1
    return start, len(old) - tail, list(map(_edge_row, new[start:len(new) - tail]))


class GraphReceiver:
    """Compute side: `apply(message)` returns the graph the sender sent.

    The graph returned is kept and edited in place by the next delta: a caller that keeps it
    past that takes a `snapshot()`. A message that does not follow what is held raises
    ValueError; after that only a full message is taken.
    """

    def __init__(self) -> None:
        self._seq: int | None = None  # the seq of the graph held; None: none, or unknown
        self._graph = Graph()

    @paused_gc
    def apply(self, message: FullGraph | GraphDelta) -> Graph:
        if isinstance(message, FullGraph):
            self._seq = None
            self._graph = _built([Node(*row) for row in message.nodes],
                                 [Edge(*row) for row in message.edges], message.seed)
        elif isinstance(message, GraphDelta):
            if message.base != self._seq:
                held = "none" if self._seq is None else f"graph {self._seq}"
                raise ValueError(f"graph delta {message.seq} applies to graph {message.base}, "
                                 f"but this receiver holds {held}: send a full graph")
            self._seq = None  # until it applied
            try:
                self._apply(message)
            except (KeyError, ValueError) as e:
                raise ValueError(f"graph delta {message.seq} does not apply: {e}") from None
        else:
            raise ValueError(f"not a graph message: {type(message).__name__}")
        self._seq = message.seq
        return self._graph

    def _apply(self, delta: GraphDelta) -> None:
        graph = self._graph
        graph.seed = delta.seed
        new_nodes = [Node(*row) for row in delta.nodes]
        start, stop, rows = delta.edges if delta.edges is not None else (len(graph.edges),) * 2 + ([],)
        if not 0 <= start <= stop <= len(graph.edges):
            raise ValueError(f"edges {start}:{stop} of {len(graph.edges)}")
        added_edges = [Edge(*row) for row in rows]
        in_place = (delta.order is None and (not added_edges or stop == len(graph.edges))
                    and len(delta.removed) + stop - start <= IN_PLACE_REMOVALS)
        if not in_place:
            nodes = dict(graph.nodes)
            for n in delta.removed:
                del nodes[n]
            nodes.update((node.id, node) for node in new_nodes)
            if delta.order is not None:
                ordered = {n: nodes[n] for n in delta.order}
                if len(ordered) != len(nodes) or len(delta.order) != len(nodes):
                    raise ValueError(f"an order of {len(delta.order)} ids for {len(nodes)} nodes")
                nodes = ordered
            self._graph = _built(nodes.values(), [*graph.edges[:start], *added_edges, *graph.edges[stop:]],
                                 delta.seed)
            return
        for e in graph.edges[start:stop][::-1]:
            graph.remove_edge(e)
        for n in delta.removed:
            graph.remove_node(n)
        for node in new_nodes:
            if node.id in graph.nodes:
                graph.replace_node(node)
            else:
                graph.add_node(node)
        for e in added_edges:
            graph.add_edge(e)


def _built(nodes: object, edges: list[Edge], seed: int) -> Graph:
    """A graph made through its own add_node / add_edge, so its adjacency maps are its own."""
    graph = Graph()
    for node in nodes:
        graph.add_node(node)
    for e in edges:
        graph.add_edge(e)
    graph.seed = seed
    return graph


# ---- results ----

_VIEW_FIELDS = tuple(f.name for f in dataclasses.fields(NodeView))
_ARRAY_FIELDS = ("value", "grad", "value_preview", "grad_preview")
_RESULT_FIELDS = tuple(f.name for f in dataclasses.fields(ComputeResult) if f.name != "nodes")


@dataclass(frozen=True)
class EncodedResult:
    fields: dict[str, object]  # every ComputeResult field but nodes, as it is
    ids: list[str]  # the nodes, in order
    columns: dict[str, object]  # NodeView field -> a list, or _Blocks for array fields


@dataclass(frozen=True)
class _Blocks:
    """One column of arrays or None: the arrays of each (shape, dtype) stacked into one block."""

    count: int
    blocks: list[tuple[np.ndarray, np.ndarray]]  # (positions in the column, stacked arrays)


def encode_result(result: ComputeResult) -> EncodedResult:
    """The result as a few lists and stacked arrays (the compute side's work)."""
    views = list(result.nodes.values())
    columns: dict[str, object] = {}
    for name in _VIEW_FIELDS:
        column = list(map(attrgetter(name), views))
        columns[name] = _stacked(column) if name in _ARRAY_FIELDS else column
    return EncodedResult({name: getattr(result, name) for name in _RESULT_FIELDS},
                         list(result.nodes), columns)


@paused_gc  # ~20,000 new objects, all kept: a collection would find nothing
def decode_result(message: EncodedResult) -> ComputeResult:
    """The ComputeResult `encode_result` was given: the same fields; arrays of the same shape,
    dtype and values (views of the stacked blocks; a 0-d array stays a 0-d array)."""
    if not isinstance(message, EncodedResult):
        raise ValueError(f"not an encoded result: {type(message).__name__}")
    columns = [_unstacked(c) if isinstance(c, _Blocks) else c
               for c in (message.columns[name] for name in _VIEW_FIELDS)]
    result = ComputeResult(**message.fields)
    result.nodes = dict(zip(message.ids, map(NodeView, *columns), strict=True))
    return result


def _stacked(arrays: list[np.ndarray | None]) -> _Blocks:
    where: dict[tuple, list[int]] = {}
    for i, a in enumerate(arrays):
        if a is not None:
            where.setdefault((a.shape, a.dtype), []).append(i)
    return _Blocks(len(arrays), [(np.array(at, dtype=np.int64), np.stack([arrays[i] for i in at], dtype=dtype))
                                 for (_shape, dtype), at in where.items()])  # dtype: stack makes '>f8' native


def _unstacked(column: _Blocks) -> list[np.ndarray | None]:
    out: list[np.ndarray | None] = [None] * column.count
    for at, block in column.blocks:
        for j, i in enumerate(at.tolist()):
            out[i] = block[j, ...]  # with the ellipsis a 0-d entry is an array, not a scalar
    return out
