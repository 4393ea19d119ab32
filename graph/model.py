"""The document: nodes, edges, the layout, and the structural questions asked of them.
(~570 lines, one piece: Node, Edge, Graph and CheckedGraph keep one set of invariants together.)

Pure Python: no Qt, no torch (networkx only in `to_networkx`, imported there). Nodes keep the
order they were added in, which is the order files list them and the order generated code
names them.

Nodes are frozen values: an edit makes a new Node (`dataclasses.replace`) and swaps it in, so a
compute can hold a cheap snapshot. Where a node is drawn is layout, not computation: positions
live in `Graph.layout`, beside the nodes, and no computation reads them.

The graph keeps its adjacency (inputs per node, consumers per node) up to date on every add and
remove, so connecting, refusing a wire or walking upstream never rebuilds anything; `validate()`
orders the nodes once from those maps (Kahn's algorithm), which also finds any cycle.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import re
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from graph.bulk import paused_gc
from graph.errors import CycleError, MissingInputError, ValueSpecError
from graph.groups import Group
from graph.ops import DEFAULT_DTYPE, DTYPES, FLOAT_DTYPES, OPS, TENSOR, OpSpec, leaf_dtype
from graph.values import _is_number, _short, check_attr, init_shape, literal_shape

if TYPE_CHECKING:
    from collections.abc import Iterable

    import networkx as nx

MAX_ID_LENGTH = 200
MAX_LABEL_LENGTH = 1000


_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def has_surrogate(text: str) -> bool:
    """A lone surrogate (only reachable through a \\uD800-style escape) cannot be saved as UTF-8."""
    return _SURROGATE.search(text) is not None


def check_node_id(node_id: object) -> str:
    """The rule for ids: the loader, rename and paste all use it."""
    if not isinstance(node_id, str) or not node_id:
        raise ValueSpecError(f"node id must be a non-empty string, not {_short(node_id)}")
    if len(node_id) > MAX_ID_LENGTH:
        raise ValueSpecError(f"node id {node_id[:40]!r}… is longer than {MAX_ID_LENGTH} characters")
    if _CONTROL.search(node_id):
        raise ValueSpecError(f"node id {node_id!r} contains control characters")
    if has_surrogate(node_id):
        raise ValueSpecError(f"node id {node_id!r} is not valid Unicode (a lone surrogate)")
    return node_id


def check_label(label: object) -> str | None:
    if label is None:
        return None
    if not isinstance(label, str) or has_surrogate(label):
        raise ValueSpecError("label must be a string of valid Unicode")
    if len(label) > MAX_LABEL_LENGTH:
        raise ValueSpecError(f"label is longer than {MAX_LABEL_LENGTH:,} characters")
    return label


def check_position(pos: object) -> tuple[float, float]:
    """[x, y] with two finite numbers (a file may hold any; drawing them is the GUI's concern)."""
    if not isinstance(pos, list | tuple) or len(pos) != 2 or not (_is_number(pos[0]) and _is_number(pos[1])):
        raise ValueSpecError("pos must be [x, y] with two finite numbers")
    return (pos[0], pos[1])


@dataclass(frozen=True)
class Node:
    id: str
    op: str  # TENSOR or a name from graph.ops.OPS
    # Tensor nodes: exactly one of value / init.
    value: object = None
    init: dict | None = None
    requires_grad: bool = False
    dtype: str = DEFAULT_DTYPE
    # Op nodes: only the attributes set explicitly; defaults come from the catalogue.
    attrs: dict[str, object] = field(default_factory=dict)
    label: str | None = None

    @property
    def is_tensor(self) -> bool:
        return self.op == TENSOR

    @property
    def spec(self) -> OpSpec:
        return OPS[self.op]

    @property
    def title(self) -> str:
        """What the canvas shows as the node's name."""
        return self.label or self.id

    def resolved_attrs(self) -> dict[str, object]:
        return self.spec.resolved_attrs(self.attrs) if not self.is_tensor else {}

    @property
    def ports(self) -> tuple[str, ...]:
        """The input ports: its op's, or as many as a variadic op's node says (cat's tensors.0,
        tensors.1, …: OpSpec.ports); a tensor has none. Remembered, as leaf_shape: the canvas
        asks for them several times per node it draws, and opening a file draws thousands."""
        ports = self.__dict__.get("_ports")
        if ports is None:
            ports = self.__dict__["_ports"] = () if self.is_tensor else self.spec.ports(self.attrs)
        return ports

    def leaf_shape(self, dtype: str | None = None) -> tuple[int, ...]:
        """Shape of a tensor node, computed without torch (and remembered: nodes are frozen).

        Its numbers are checked against the range of `dtype` (default: the node's own dtype;
        an override reaches floating leaves only: graph.ops.leaf_dtype).
        """
        dtype = leaf_dtype(self.dtype, dtype)
        memo = self.__dict__.setdefault("_shapes", {})
        if dtype not in memo:
            memo[dtype] = (init_shape(self.init, dtype) if self.init is not None
                           else literal_shape(self.value, dtype=dtype))
        return memo[dtype]

    def check(self, dtype: str | None = None) -> None:
        """Every rule for a node's fields: id, op, label, dtype, value or init, attributes.

        Raises ValueSpecError naming this node. A tensor's numbers must fit its dtype, or
        `dtype` where one overrides it. The loader and every edit call this; a node that
        passed is remembered, so asking again costs nothing.
        """
        key = leaf_dtype(self.dtype, dtype)
        if key in self.__dict__.get("_checked", ()):
            return
        try:
            check_node_id(self.id)
        except ValueSpecError as e:
            raise ValueSpecError(e.message, [self.id] if isinstance(self.id, str) else [], "id") from None
        field = "label"
        try:
            check_label(self.label)
            if self.is_tensor:
                field = "dtype"
                if self.dtype not in DTYPES:
                    raise ValueSpecError(f"dtype must be one of {', '.join(DTYPES)}, not {_short(self.dtype)}")
                field = "requires_grad"
                if not isinstance(self.requires_grad, bool):
                    raise ValueSpecError("requires_grad must be true or false")
                if self.requires_grad and self.dtype not in FLOAT_DTYPES:  # as torch refuses it
                    raise ValueSpecError(f"only floating point tensors can require gradients: "
                                         f"{self.id} is {self.dtype}")
                field = "value" if self.init is None else "init"
                if (self.value is None) == (self.init is None):
                    raise ValueSpecError("a tensor node needs exactly one of 'value' or 'init'")
                self.leaf_shape(key)
            else:
                field = "op"
                if self.op not in OPS:
                    raise ValueSpecError(f"unknown op {_short(self.op)}")
                field = "attrs"
                for name, v in self.attrs.items():
                    attr = self.spec.attr(name)
                    if attr is None:
                        raise ValueSpecError(f"{self.op} has no attribute '{name}'")
                    check_attr(attr, v)
                for attr in self.spec.attrs:
                    if attr.required and attr.name not in self.attrs:
                        raise ValueSpecError(f"{self.op} needs the attribute '{attr.name}'")
                self.spec.check_port_count(self.attrs)
        except ValueSpecError as e:
            raise ValueSpecError(f"{self.id}: {e.message}", [self.id], field) from None
        self.__dict__.setdefault("_checked", set()).add(key)


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    port: str


@dataclass(frozen=True)
class CheckedGraph:
    """A graph that passed `Graph.validate()`: data, DAG and connections. Code generation
    takes it as it is; nothing checks it again. It shares the (frozen) nodes of the graph it
    came from and keeps its own maps, so later edits to that graph do not reach it."""

    nodes: dict[str, Node]
    order: tuple[str, ...]  # topological; ties keep file order
    inputs: dict[str, dict[str, str]]  # node -> {port: source}
    consumers: dict[str, tuple[str, ...]]  # node -> the nodes it feeds
    target: str | None = None  # the file's target and grad-output, if it names them
    grad_output: object = None
    seed: int = 0  # the graph's seed for random ops (Graph.seed)
    # Its groups (graph.groups), copies: an nn.Module export names its submodules after them.
    groups: dict[str, Group] = field(default_factory=dict)
    group_of: dict[str, str] = field(default_factory=dict)

    def inputs_of(self, node_id: str) -> dict[str, str]:
        return self.inputs[node_id]

    def all_inputs(self) -> dict[str, dict[str, str]]:
        return self.inputs

    def sinks(self) -> list[str]:
        return [n for n in self.nodes if not self.consumers[n]]

    @property
    def edge_count(self) -> int:
        return sum(len(ports) for ports in self.inputs.values())


class Graph:
    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self._edges: list[Edge] = []  # in file order; changed only through add/remove_edge
        self.layout: dict[str, tuple[float, float]] = {}  # where nodes are drawn
        # What was being differentiated (kept in the file; no computation reads it from here).
        self.target: str | None = None
        self.grad_output: object = None
        # Seeds torch's generator for random ops (dropout), so every run gives the same numbers.
        self.seed = 0
        self.groups: dict[str, Group] = {}  # graph.groups: named, nested sets of nodes
        self.group_of: dict[str, str] = {}  # node id -> the innermost group holding it
        self.view: tuple[float, float, float] | None = None  # (zoom, centre x, centre y) when saved
        self._inputs: dict[str, dict[str, str]] = {}  # dst -> {port: src}
        self._consumers: dict[str, dict[Edge, None]] = {}  # src -> its out-edges, in order

    def copy(self) -> Graph:
        """An independent copy (nodes are frozen, so they are shared)."""
        part = self.snapshot()
        part.layout = dict(self.layout)
        part.target, part.grad_output, part.seed = self.target, self.grad_output, self.seed
        part.groups, part.group_of, part.view = dict(self.groups), dict(self.group_of), self.view
        return part

    def snapshot(self) -> Graph:
        """The structure without the layout, sharing the frozen nodes: cheap enough per compute."""
        part = Graph()
        part.nodes = dict(self.nodes)
        part._edges = list(self._edges)
        part._inputs = {n: dict(ports) for n, ports in self._inputs.items()}
        part._consumers = {n: dict(out) for n, out in self._consumers.items()}
        part.seed = self.seed  # computed: random ops read it
        return part

    @property
    def edges(self) -> list[Edge]:
        """The edges in file order. Read-only: add_edge / remove_edge keep the adjacency true."""
        return self._edges

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Graph) and list(self.nodes.values()) == list(other.nodes.values())
                and self.edges == other.edges and self.layout == other.layout
                and (self.target, self.grad_output, self.seed) == (other.target, other.grad_output, other.seed)
                and list(self.groups.values()) == list(other.groups.values()) and self.group_of == other.group_of)

    # ---- editing (the GUI wraps each of these in an undo command) ----

    def add_node(self, node: Node, index: int | None = None,
                 pos: tuple[float, float] | None = None) -> None:
        if node.id in self.nodes:
            raise ValueError(f"duplicate node id {node.id!r}")
        if index is None or index >= len(self.nodes):
            self.nodes[node.id] = node  # the common case, without rebuilding the dict
        else:
            items = list(self.nodes.items())
            items.insert(index, (node.id, node))
            self.nodes = dict(items)
        self._inputs[node.id] = {}
        self._consumers[node.id] = {}
        if pos is not None:
            self.layout[node.id] = pos

    def replace_node(self, node: Node) -> Node:
        """Swap in new data for an existing id; return the old node."""
        old = self.nodes[node.id]
        self.nodes[node.id] = node
        return old

    def remove_node(self, node_id: str) -> tuple[int, Node, list[tuple[int, Edge]], tuple | None, str | None]:
        """Remove a node, its edges and its group membership; return what `restore_node` needs:
        (index, node, [(index, edge)], position, group)."""
        if node_id not in self.nodes:
            raise ValueError(f"no node {node_id!r}")
        [(index, node)], edges, layout, group_of = self.remove_nodes([node_id])
        return index, node, edges, layout.get(node_id), group_of.get(node_id)

    def restore_node(self, info: tuple) -> None:
        index, node, edges, pos = info[:4]
        group = info[4] if len(info) > 4 else None
        self.restore_nodes(([(index, node)], edges, {} if pos is None else {node.id: pos},
                            {} if group is None else {node.id: group}))

    def remove_nodes(self, node_ids: list[str]) -> tuple:
        """Remove these nodes with their edges and group memberships, in one pass over the nodes
        and one over the edges however many go (a node at a time is a pass each: deleting all
        of 10,000 took minutes); return what `restore_nodes` needs."""
        gone = set(node_ids)
        nodes = [(i, node) for i, (n, node) in enumerate(self.nodes.items()) if n in gone]
        edges = [(i, e) for i, e in enumerate(self._edges) if e.src in gone or e.dst in gone]
        for _i, e in edges:
            self._unlink(e)
        if edges:
            self._edges = [e for e in self._edges if e.src not in gone and e.dst not in gone]
        for _i, node in nodes:
            del self.nodes[node.id], self._inputs[node.id], self._consumers[node.id]
        layout = {node.id: self.layout.pop(node.id) for _i, node in nodes if node.id in self.layout}
        group_of = {node.id: self.group_of.pop(node.id) for _i, node in nodes if node.id in self.group_of}
        return nodes, edges, layout, group_of

    def restore_nodes(self, info: tuple) -> None:
        """Put back what `remove_nodes` took, each node and edge at its old index."""
        nodes, edges, layout, group_of = info
        kept = list(self.nodes.items())
        self.nodes.clear()
        self.nodes.update(_put_back(kept, [(i, (node.id, node)) for i, node in nodes]))
        for _i, node in nodes:
            self._inputs[node.id], self._consumers[node.id] = {}, {}
        self._edges = _put_back(self._edges, edges)
        for _i, e in edges:
            self._inputs[e.dst][e.port] = e.src
        sources = {e.src: {} for _i, e in edges}  # their out-edges again in edge order
        for e in self._edges:
            if e.src in sources:
                sources[e.src][e] = None
        self._consumers.update(sources)
        self.layout.update(layout)
        self.group_of.update(group_of)

    def add_edge(self, edge: Edge, index: int | None = None) -> None:
        """Add an edge; both ends must exist and the port must be free (see edge_refusal)."""
        if edge.src not in self.nodes or edge.dst not in self.nodes:
            raise ValueError(f"edge {edge}: both ends must be nodes of the graph")
        if edge.port in self._inputs[edge.dst]:
            raise ValueError(f"edge {edge}: {edge.dst}.{edge.port} is already fed")
        self.edges.insert(len(self.edges) if index is None else index, edge)
        self._inputs[edge.dst][edge.port] = edge.src
        self._consumers[edge.src][edge] = None

    def remove_edge(self, edge: Edge) -> int:
        index = self.edges.index(edge)
        del self.edges[index]
        self._unlink(edge)
        return index

    def _unlink(self, edge: Edge) -> None:
        self._inputs[edge.dst].pop(edge.port, None)
        self._consumers[edge.src].pop(edge, None)

    # ---- layout: where nodes are drawn; nothing computed reads it ----

    def position(self, node_id: str) -> tuple[float, float] | None:
        """Where the node is drawn; None when it has no place yet."""
        return self.layout.get(node_id)

    def set_position(self, node_id: str, pos: tuple[float, float] | None) -> None:
        if pos is None:
            self.layout.pop(node_id, None)
        else:
            self.layout[node_id] = pos

    # ---- structure: answered from the maps kept above, never by a rebuild ----

    def inputs_of(self, node_id: str) -> dict[str, str]:
        """port -> source node id for the node's connected input ports."""
        return dict(self._inputs[node_id])

    def consumers_of(self, node_id: str) -> list[str]:
        """The nodes this one feeds, in edge order (a node fed twice appears once)."""
        return list(dict.fromkeys(e.dst for e in self._consumers[node_id]))

    def all_inputs(self) -> dict[str, dict[str, str]]:
        """node id -> {port: source id} for every node."""
        return {n: dict(self._inputs[n]) for n in self.nodes}

    def to_networkx(self) -> nx.MultiDiGraph:
        import networkx as nx  # here: loading a file, validating and the CLI need no networkx

        g = nx.MultiDiGraph()
        g.add_nodes_from(self.nodes)
        g.add_edges_from((e.src, e.dst, e.port) for e in self.edges)
        return g

    def sinks(self) -> list[str]:
        return [n for n in self.nodes if not self._consumers[n]]

    def topological_order(self) -> list[str]:
        """Node ids in an order where every node follows its inputs; ties keep file order
        (Kahn's algorithm over the maps kept above, taking the first ready node in file order,
        as networkx's lexicographical_topological_sort would).

        Raises CycleError naming the nodes on a cycle, in edge order.
        """
        ids = list(self.nodes)
        rank = {n: i for i, n in enumerate(ids)}
        waiting = {n: len(self._inputs[n]) for n in ids}  # input edges from nodes not yet placed
        ready = [i for i, n in enumerate(ids) if not waiting[n]]  # ranks, ascending: a heap
        order = []
        while ready:
            n = ids[heapq.heappop(ready)]
            order.append(n)
            for e in self._consumers[n]:
                waiting[e.dst] -= 1
                if not waiting[e.dst]:
                    heapq.heappush(ready, rank[e.dst])
        if len(order) < len(ids):
            cycle = self._cycle_among({n for n in ids if waiting[n]}, rank)
            raise CycleError("cycle: " + " → ".join([*cycle, cycle[0]]), cycle)
        return order

    def _cycle_among(self, left: set[str], rank: dict[str, int]) -> list[str]:
        """A cycle among nodes that each have an input from another of them (what Kahn's
        algorithm leaves): walk up inputs inside `left` until a node repeats. In edge order,
        starting from its first node in file order."""
        n = next(m for m in self.nodes if m in left)
        path, at = [], {}
        while n not in at:
            at[n] = len(path)
            path.append(n)
            n = next(s for s in self._inputs[n].values() if s in left)
        cycle = path[at[n]:][::-1]  # walked against the edges
        first = min(range(len(cycle)), key=lambda i: rank[cycle[i]])
        return cycle[first:] + cycle[:first]

    def _walk(self, starts: Iterable[str], step) -> set[str]:  # noqa: ANN001 - node id -> neighbour ids
        """The nodes reached from any of `starts` (a start only if reached from one)."""
        seen: set[str] = set()
        todo = deque(starts)
        while todo:
            for m in step(todo.popleft()):
                if m not in seen:
                    seen.add(m)
                    todo.append(m)
        return seen

    def ancestors(self, node_id: str) -> set[str]:
        return self._walk([node_id], lambda n: self._inputs[n].values()) - {node_id}

    def descendants(self, node_id: str) -> set[str]:
        return self.reached_from([node_id]) - {node_id}

    def reached_from(self, node_ids: Iterable[str]) -> set[str]:
        """Every node a path of edges leads to from any of these, in one walk (one of them only
        where another, or a cycle, leads to it)."""
        return self._walk(node_ids, lambda n: (e.dst for e in self._consumers[n]))

    def reaches(self, start: str, goal: str) -> bool:
        """Whether a path of edges leads from start to goal (a walk downstream that stops there)."""
        seen, todo = {start}, [start]
        while todo:
            for e in self._consumers[todo.pop()]:
                if e.dst == goal:
                    return True
                if e.dst not in seen:
                    seen.add(e.dst)
                    todo.append(e.dst)
        return start == goal

    def upstream(self, node_id: str) -> set[str]:
        """The node and everything it depends on: no edge may run from it into one of these."""
        return self.ancestors(node_id) | {node_id}

    def edge_refusal(self, src: str, dst: str, port: str, upstream: set[str] | None = None) -> str | None:
        """Why the edge src → dst.port may not be added, or None if it may.

        upstream: `self.upstream(src)` when the caller already has it (a wire drag asks on
        every mouse move and computes it once).
        """
        if src not in self.nodes or dst not in self.nodes:
            return "both ends must be nodes of the graph"
        if src == dst:
            return f"{src} cannot feed itself"
        node = self.nodes[dst]
        if node.is_tensor:
            return f"{dst} is a tensor and has no inputs"
        if port not in node.ports:
            return f"{dst} ({node.op}) has no input port '{port}'"
        fed = self._inputs[dst].get(port)
        if fed is not None:
            return f"{dst}.{port} is already fed by {fed}"
        if dst in upstream if upstream is not None else self.reaches(dst, src):
            return f"{src} depends on {dst}: the edge would make a cycle"
        return None

    def missing_inputs(self, node_ids: list[str] | None = None) -> list[tuple[str, str]]:
        """(node, port) for every unconnected input port."""
        missing = []
        for node_id in node_ids if node_ids is not None else self.nodes:
            node = self.nodes[node_id]
            if not node.is_tensor:
                fed, optional = self._inputs[node_id], node.spec.optional_inputs  # unfed: None
                missing += [(node_id, p) for p in node.ports if p not in fed and p not in optional]
        return missing

    def incomplete(self) -> set[str]:
        """Nodes that cannot be computed yet: an input is unconnected here or upstream."""
        missing = {n for n, _p in self.missing_inputs()}
        return missing | self.reached_from(missing)

    def without(self, node_ids: set[str]) -> Graph:
        """A copy without these nodes and their edges (layout included), keeping the groups
        that hold a node left (and their parents)."""
        part = Graph()
        for n, node in self.nodes.items():
            if n not in node_ids:
                part.add_node(node, pos=self.layout.get(n))
                if n in self.group_of:
                    part.group_of[n] = self.group_of[n]
        kept = {g for n in part.group_of.values() for g in _chain(self.groups, n)}
        part.groups = {g: group for g, group in self.groups.items() if g in kept}
        for e in self.edges:
            if e.src not in node_ids and e.dst not in node_ids:
                part.add_edge(e)
        return part

    def check_connected(self, node_ids: list[str] | None = None) -> None:
        """Raise MissingInputError naming every op node with an unconnected required port."""
        missing = self.missing_inputs(node_ids)
        if missing:
            where = ", ".join(f"{n}.{p}" for n, p in missing)
            raise MissingInputError(f"unconnected input: {where}",
                                    list(dict.fromkeys(n for n, _ in missing)))

    @paused_gc
    def validate(self) -> CheckedGraph:
        """Check data, DAG and connections, once; return the checked graph code generation takes."""
        for node in self.nodes.values():
            node.check()
        order = self.topological_order()
        self.check_connected()
        return CheckedGraph(dict(self.nodes), tuple(order), self.all_inputs(),
                            {n: tuple({e.dst: None for e in out}) for n, out in self._consumers.items()},
                            self.target, self.grad_output, self.seed, dict(self.groups), dict(self.group_of))


def _chain(groups: dict[str, Group], group_id: str) -> list[str]:
    """The group and its parents (graph.groups.ancestors, on the dict alone)."""
    chain = [group_id]
    while groups[chain[-1]].parent is not None:
        chain.append(groups[chain[-1]].parent)
    return chain


def new_node(op: str, node_id: str) -> Node:
    """A node as the palette creates it: a scalar leaf that requires grad, or an op whose
    required attributes start at their catalogue values."""
    if op == TENSOR:
        return Node(node_id, TENSOR, value=1.0, requires_grad=True)
    attrs = {a.name: copy.deepcopy(a.default) for a in OPS[op].attrs if a.required}
    return Node(node_id, op, attrs=attrs)


def _put_back(kept: list, taken: list[tuple[int, object]]) -> list:
    """`kept` with each taken item back at its index (`taken` in rising index order)."""
    merged, rest = [], iter(kept)
    for i, item in taken:
        merged.extend(itertools.islice(rest, i - len(merged)))
        merged.append(item)
    merged.extend(rest)
    return merged
