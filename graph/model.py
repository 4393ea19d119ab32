"""The document: nodes, edges and the structural questions asked of them.

Pure Python plus networkx: no Qt, no torch. Nodes keep the order they were added in, which is
the order files list them and the order generated code names them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import networkx as nx

from graph.errors import CycleError, MissingInputError, ValueSpecError
from graph.ops import DEFAULT_DTYPE, OPS, TENSOR, OpSpec
from graph.values import check_attr, init_shape, literal_shape


@dataclass
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
    pos: tuple[float, float] | None = None
    label: str | None = None

    @property
    def is_tensor(self) -> bool:
        return self.op == TENSOR

    @property
    def spec(self) -> OpSpec:
        return OPS[self.op]

    def resolved_attrs(self) -> dict[str, object]:
        return self.spec.resolved_attrs(self.attrs) if not self.is_tensor else {}

    def leaf_shape(self, dtype: str | None = None) -> tuple[int, ...]:
        """Shape of a tensor node, computed without torch.

        Its numbers are checked against the range of `dtype` (default: the node's own dtype).
        """
        dtype = dtype or self.dtype
        if self.init is not None:
            return init_shape(self.init, dtype)
        return literal_shape(self.value, dtype=dtype)

    def check(self, dtype: str | None = None) -> None:
        """Raise ValueSpecError (naming this node) if its data is not valid.

        A tensor's numbers must fit its dtype, or `dtype` where one overrides it.
        """
        try:
            if self.is_tensor:
                if (self.value is None) == (self.init is None):
                    raise ValueSpecError("a tensor node needs exactly one of 'value' or 'init'")
                self.leaf_shape(dtype)
            else:
                for name, v in self.attrs.items():
                    attr = self.spec.attr(name)
                    if attr is None:
                        raise ValueSpecError(f"{self.op} has no attribute '{name}'")
                    check_attr(attr, v)
                for attr in self.spec.attrs:
                    if attr.required and attr.name not in self.attrs:
                        raise ValueSpecError(f"{self.op} needs the attribute '{attr.name}'")
        except ValueSpecError as e:
            raise ValueSpecError(f"{self.id}: {e.message}", [self.id]) from None


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    port: str


class Graph:
    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self.edges: list[Edge] = []

    def copy(self) -> Graph:
        return copy.deepcopy(self)

    def snapshot(self) -> Graph:
        """A copy of the structure sharing the Node objects: cheap enough to take per compute.

        Valid because an editor never changes a node's data in place; it swaps in a new Node
        (gui.document: only `pos`, which no computation reads, is set in place).
        """
        part = Graph()
        part.nodes = dict(self.nodes)
        part.edges = list(self.edges)
        return part

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Graph) and list(self.nodes.values()) == list(other.nodes.values())
                and self.edges == other.edges)

    # ---- editing (the GUI wraps each of these in an undo command) ----

    def add_node(self, node: Node, index: int | None = None) -> None:
        if node.id in self.nodes:
            raise ValueError(f"duplicate node id {node.id!r}")
        if index is None or index >= len(self.nodes):
            self.nodes[node.id] = node  # the common case, without rebuilding the dict
            return
        items = list(self.nodes.items())
        items.insert(index, (node.id, node))
        self.nodes = dict(items)

    def remove_node(self, node_id: str) -> tuple[int, Node, list[tuple[int, Edge]]]:
        """Remove a node and its edges; return what `restore_node` needs to undo it."""
        index = list(self.nodes).index(node_id)
        removed = [(i, e) for i, e in enumerate(self.edges) if node_id in (e.src, e.dst)]
        self.edges = [e for e in self.edges if node_id not in (e.src, e.dst)]
        return index, self.nodes.pop(node_id), removed

    def restore_node(self, index: int, node: Node, edges: list[tuple[int, Edge]]) -> None:
        self.add_node(node, index)
        for i, e in edges:
            self.edges.insert(i, e)

    def add_edge(self, edge: Edge, index: int | None = None) -> None:
        self.edges.insert(len(self.edges) if index is None else index, edge)

    def remove_edge(self, edge: Edge) -> int:
        index = self.edges.index(edge)
        del self.edges[index]
        return index

    def position(self, node_id: str) -> tuple[float, float] | None:
        """Where the node is drawn (layout, not computation); None when it has no place yet."""
        return self.nodes[node_id].pos

    # ---- structure ----

    def inputs_of(self, node_id: str) -> dict[str, str]:
        """port -> source node id for the node's connected input ports."""
        return {e.port: e.src for e in self.edges if e.dst == node_id}

    def all_inputs(self) -> dict[str, dict[str, str]]:
        """node id -> {port: source id} for every node, in one pass over the edges."""
        inputs: dict[str, dict[str, str]] = {n: {} for n in self.nodes}
        for e in self.edges:
            inputs[e.dst][e.port] = e.src
        return inputs

    def to_networkx(self) -> nx.MultiDiGraph:
        g = nx.MultiDiGraph()
        g.add_nodes_from(self.nodes)
        g.add_edges_from((e.src, e.dst, e.port) for e in self.edges)
        return g

    def sinks(self) -> list[str]:
        fed = {e.src for e in self.edges}
        return [n for n in self.nodes if n not in fed]

    def topological_order(self) -> list[str]:
        """Node ids in an order where every node follows its inputs; ties keep file order.

        Raises CycleError naming the nodes on a cycle.
        """
        g = self.to_networkx()
        if not nx.is_directed_acyclic_graph(g):
            cycle = [u for u, _v, *_ in nx.find_cycle(g)]
            raise CycleError("cycle: " + " → ".join([*cycle, cycle[0]]), cycle)
        rank = {n: i for i, n in enumerate(self.nodes)}
        return list(nx.lexicographical_topological_sort(g, key=rank.__getitem__))

    def ancestors(self, node_id: str) -> set[str]:
        return nx.ancestors(self.to_networkx(), node_id)

    def upstream(self, node_id: str) -> set[str]:
        """The node and everything it depends on: no edge may run from it into one of these."""
        return nx.ancestors(self.to_networkx(), node_id) | {node_id}

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
        if port not in node.spec.inputs:
            return f"{dst} ({node.op}) has no input port '{port}'"
        fed = self.inputs_of(dst).get(port)
        if fed is not None:
            return f"{dst}.{port} is already fed by {fed}"
        if dst in (upstream if upstream is not None else self.upstream(src)):
            return f"{src} depends on {dst}: the edge would make a cycle"
        return None

    def missing_inputs(self, node_ids: list[str] | None = None) -> list[tuple[str, str]]:
        """(node, port) for every unconnected input port."""
        missing = []
        inputs = self.all_inputs()
        for node_id in node_ids if node_ids is not None else self.nodes:
            node = self.nodes[node_id]
            if not node.is_tensor:
                missing += [(node_id, p) for p in node.spec.inputs if p not in inputs[node_id]]
        return missing

    def incomplete(self) -> set[str]:
        """Nodes that cannot be computed yet: an input is unconnected here or upstream."""
        g = self.to_networkx()
        out: set[str] = set()
        for n in dict.fromkeys(n for n, _p in self.missing_inputs()):
            out |= {n, *nx.descendants(g, n)}
        return out

    def without(self, node_ids: set[str]) -> Graph:
        """A copy without these nodes and their edges."""
        part = Graph()
        for n, node in self.nodes.items():
            if n not in node_ids:
                part.add_node(copy.deepcopy(node))
        part.edges = [e for e in self.edges if e.src not in node_ids and e.dst not in node_ids]
        return part

    def check_connected(self, node_ids: list[str] | None = None) -> None:
        """Raise MissingInputError naming every op node with an unconnected required port."""
        missing = self.missing_inputs(node_ids)
        if missing:
            where = ", ".join(f"{n}.{p}" for n, p in missing)
            raise MissingInputError(f"unconnected input: {where}",
                                    list(dict.fromkeys(n for n, _ in missing)))

    def validate(self) -> list[str]:
        """Check data, DAG and connections; return the topological order."""
        for node in self.nodes.values():
            node.check()
        order = self.topological_order()
        self.check_connected()
        return order


def new_node(op: str, node_id: str, pos: tuple[float, float] | None = None) -> Node:
    """A node as the palette creates it: a scalar leaf that requires grad, or an op whose
    required attributes start at their catalogue values."""
    if op == TENSOR:
        return Node(node_id, TENSOR, value=1.0, requires_grad=True, pos=pos)
    attrs = {a.name: copy.deepcopy(a.default) for a in OPS[op].attrs if a.required}
    return Node(node_id, op, attrs=attrs, pos=pos)
