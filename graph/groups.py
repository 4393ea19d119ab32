"""Groups: named sets of nodes, drawn as one collapsible box (an nn.Module on import, a selection
grouped by hand). Pure Python, like graph.model.

A group has an id (the same rule as node ids, in a namespace of its own), an optional label, an
optional parent group (groups nest as a tree) and a collapsed flag. Which nodes it holds is kept
by the graph (`Graph.group_of`: node id -> the innermost group holding it), so a node is in at
most one group directly, and in every ancestor of that group through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from graph.errors import ValueSpecError
from graph.safetext import visible
from graph.values import _short

if TYPE_CHECKING:
    from graph.model import Graph

MAX_GROUPS = 50_000  # more than any model needs (an imported ResNet-50 has about 150 modules)
MAX_GROUP_DEPTH = 32  # nesting levels; the module tree of real networks is far shallower


@dataclass(frozen=True)
class Group:
    id: str
    label: str | None = None
    parent: str | None = None
    collapsed: bool = False

    @property
    def title(self) -> str:
        """What the canvas shows as the group's name."""
        return self.label or self.id


def check_groups(graph: Graph) -> None:
    """The rules between groups: parents exist, no cycle of parents, nesting at most
    MAX_GROUP_DEPTH deep, members are nodes. Raises ValueSpecError naming the group."""
    if len(graph.groups) > MAX_GROUPS:
        raise ValueSpecError(f"{len(graph.groups):,} groups: at most {MAX_GROUPS:,} are allowed")
    for group in graph.groups.values():
        if group.parent is not None and group.parent not in graph.groups:
            raise ValueSpecError(f"group {visible(group.id)}: field 'parent': no group {_short(group.parent)}")
    depth: dict[str, int] = {}
    for start in graph.groups:
        chain: list[str] = []
        g: str | None = start
        while g is not None and g not in depth:
            if g in chain:
                cycle = " → ".join(visible(c) for c in [*chain[chain.index(g):], g])
                raise ValueSpecError(f"group {visible(g)}: field 'parent': the parents make a cycle ({cycle})")
            chain.append(g)
            g = graph.groups[g].parent
        base = 0 if g is None else depth[g]
        for i, c in enumerate(reversed(chain)):
            depth[c] = base + i + 1
            if depth[c] > MAX_GROUP_DEPTH:
                raise ValueSpecError(f"group {visible(c)}: nested more than {MAX_GROUP_DEPTH} groups deep")
    for node_id, gid in graph.group_of.items():
        if node_id not in graph.nodes:
            raise ValueSpecError(f"group {visible(gid)}: field 'members': no node {_short(node_id)}")
        if gid not in graph.groups:
            raise ValueSpecError(f"node {visible(node_id)} is in no group {_short(gid)}")


def ancestors(graph: Graph, group_id: str) -> list[str]:
    """The group and its parents, innermost first."""
    chain = []
    g: str | None = group_id
    while g is not None:
        chain.append(g)
        g = graph.groups[g].parent
    return chain


def children(graph: Graph, group_id: str | None) -> list[str]:
    """The groups directly inside group_id (None: the top-level groups), in the graph's order."""
    return [g for g, group in graph.groups.items() if group.parent == group_id]


def members(graph: Graph, group_id: str) -> list[str]:
    """The nodes directly in the group, in node order."""
    return [n for n in graph.nodes if graph.group_of.get(n) == group_id]


def nodes_within(graph: Graph, group_id: str) -> set[str]:
    """Every node in the group or in a group nested in it."""
    inside = {group_id}
    for g in graph.groups:  # a group's parents may come after it in order: walk each chain
        if group_id in ancestors(graph, g):
            inside.add(g)
    return {n for n, g in graph.group_of.items() if g in inside}


def within_map(graph: Graph) -> dict[str, list[str]]:
    """nodes_within for every group at once, in one pass over the nodes (each in node order):
    what a caller asking about many groups uses, not nodes_within per group (O(groups²))."""
    inside: dict[str, list[str]] = {g: [] for g in graph.groups}
    for n in graph.nodes:
        g = graph.group_of.get(n)
        while g is not None:
            inside[g].append(n)
            g = graph.groups[g].parent
    return inside


def children_map(graph: Graph) -> dict[str | None, list[str]]:
    """children for every group at once (None: the top level), each in the graph's order; a
    group with no children has no entry (use .get(g, []))."""
    kids: dict[str | None, list[str]] = {}
    for g, group in graph.groups.items():
        kids.setdefault(group.parent, []).append(g)
    return kids


def common_group(graph: Graph, node_ids: list[str]) -> str | None:
    """The innermost group holding every one of the nodes (None: the top level)."""
    chains = [ancestors(graph, graph.group_of[n]) if n in graph.group_of else [] for n in node_ids]
    if not chains:
        return None
    shared = set(chains[0]).intersection(*chains[1:])
    return next((g for g in chains[0] if g in shared), None)


def new_group_id(graph: Graph, stem: str = "group") -> str:
    k = 1
    while f"{stem}{k}" in graph.groups:
        k += 1
    return f"{stem}{k}"


def plan_group(graph: Graph, node_ids: list[str], group_id: str, label: str | None = None
               ) -> tuple[dict[str, Group], dict[str, str | None]]:
    """Group these nodes: the new groups (in order) and the nodes whose group changes.

    The new group goes where the nodes have their innermost common group. A group nested there
    whose every node is chosen moves into the new group whole (select a layer, Ctrl+G: it is
    wrapped); every other chosen node moves into the new group directly.
    """
    chosen = set(node_ids)
    parent = common_group(graph, node_ids)
    groups = dict(graph.groups)
    groups[group_id] = Group(group_id, label, parent)
    moved_groups = set()
    within = within_map(graph)
    for g in children(graph, parent):
        inside = set(within[g])
        if inside and inside <= chosen:
            groups[g] = Group(g, graph.groups[g].label, group_id, graph.groups[g].collapsed)
            moved_groups.add(g)
    of: dict[str, str | None] = {}
    for n in node_ids:
        g = graph.group_of.get(n)
        if g is not None and any(a in moved_groups for a in ancestors(graph, g)):
            continue  # moves with its group
        of[n] = group_id
    return groups, of


def plan_ungroup(graph: Graph, group_id: str) -> tuple[dict[str, Group], dict[str, str | None]]:
    """Dissolve a group: its nodes and nested groups move up to its parent."""
    parent = graph.groups[group_id].parent
    groups = {g: (Group(g, group.label, parent, group.collapsed) if group.parent == group_id else group)
              for g, group in graph.groups.items() if g != group_id}
    return groups, {n: parent for n in members(graph, group_id)}


def shown_as(graph: Graph) -> dict[str, str]:
    """Node id -> the collapsed group whose box stands for it (its outermost collapsed group),
    for every node hidden in a collapsed group."""
    hidden = {}
    for n, g in graph.group_of.items():
        box = next((a for a in reversed(ancestors(graph, g)) if graph.groups[a].collapsed), None)
        if box is not None:
            hidden[n] = box
    return hidden


def boundary(graph: Graph, group_id: str) -> tuple[list[tuple[str, str]], list[str]]:
    """What a collapsed group shows as ports: its inputs, the (node, port) inside fed from
    outside, in edge order; its outputs, the nodes inside that feed a node outside, in node
    order. Together they are the edges that cross its boundary."""
    return boundaries(graph, [group_id])[group_id]


def boundaries(graph: Graph, group_ids: list[str]) -> dict[str, tuple[list[tuple[str, str]], list[str]]]:
    """boundary for several groups in one pass over the edges: an edge crosses the boundary of
    each group holding one of its ends and not the other."""
    wanted = set(group_ids)
    holding: dict[str, set[str]] = {}  # node -> the wanted groups it is within
    for n, g in graph.group_of.items():
        chain = {a for a in ancestors(graph, g) if a in wanted}
        if chain:
            holding[n] = chain
    inputs: dict[str, list[tuple[str, str]]] = {g: [] for g in wanted}
    feeds_out: dict[str, set[str]] = {g: set() for g in wanted}
    nobody: set[str] = set()
    for e in graph.edges:
        at_src, at_dst = holding.get(e.src, nobody), holding.get(e.dst, nobody)
        for g in at_dst - at_src:
            inputs[g].append((e.dst, e.port))
        for g in at_src - at_dst:
            feeds_out[g].add(e.src)
    rank = {n: i for i, n in enumerate(graph.nodes)} if any(feeds_out.values()) else {}
    return {g: (inputs[g], sorted(feeds_out[g], key=rank.__getitem__)) for g in group_ids}
