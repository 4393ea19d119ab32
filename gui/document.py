"""The open document: one Graph, one QUndoStack, and signals the scene redraws from.

The model changes only here, only through undo commands (orange-canvas style): each command
calls the small primitives below, and every primitive emits the signal that describes it.
Views never write to the graph and never read state back from graphics items. A node's data
is never changed in place: an edit swaps in a new Node (only `pos` is set in place), which is
what lets the compute worker take a cheap `Graph.snapshot()`.
"""

from __future__ import annotations

import copy
import itertools
import math
import re

import networkx as nx
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from graph.errors import CycleError, GraphError, ValueSpecError
from graph.fileformat import MAX_ID_LENGTH, check_node_id, dumps, loads
from graph.model import Edge, Graph, Node

GRID = (240.0, 170.0)  # the spacing of the default grid and of auto-layout
POS_LIMIT = 1e7  # a position beyond this (or not finite) is not usable: the node goes on the grid
WRAP_MIN_GENERATIONS = 30  # auto-layout wraps a longer chain of generations into bands


def usable_pos(pos: tuple[float, float] | None) -> bool:
    """Whether a node can be drawn where pos says (files may hold 1e308 or worse)."""
    return pos is not None and all(math.isfinite(v) and abs(v) <= POS_LIMIT for v in pos)


def grid_positions(graph: Graph) -> dict[str, tuple[float, float]]:
    """Places for the nodes without a usable position: a square-ish grid (ceil(sqrt(n))
    columns), below the nodes that do have one."""
    todo = [n for n, node in graph.nodes.items() if not usable_pos(node.pos)]
    if not todo:
        return {}
    placed = [node.pos for node in graph.nodes.values() if usable_pos(node.pos)]
    top = max(y for _x, y in placed) + 2 * GRID[1] if placed else 0.0
    left = min(x for x, _y in placed) if placed else 0.0
    cols = math.ceil(math.sqrt(len(todo)))
    return {n: (left + (i % cols) * GRID[0], top + (i // cols) * GRID[1]) for i, n in enumerate(todo)}


# Revisions are unique across every document of the process, so a revision alone names one
# state of one document (the compute worker caches by it).
_REVISIONS = itertools.count(1)


class Document(QObject):
    nodeAdded = Signal(str)
    nodeRemoved = Signal(str)
    nodeChanged = Signal(str)  # data other than position: value, attrs, label, flags
    nodeMoved = Signal(str)
    edgeAdded = Signal(object)
    edgeRemoved = Signal(object)
    graphReset = Signal()  # the whole graph was replaced (new / open)
    edited = Signal()  # after any change; `revision` has moved on
    targetChanged = Signal(object)  # node id or None

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.graph = Graph()
        self.undo_stack = QUndoStack(self)
        self.revision = next(_REVISIONS)
        self.path: str | None = None
        self.target: str | None = None

    # ---- primitives: the only code that writes to self.graph ----

    def _bump(self) -> None:
        self.revision = next(_REVISIONS)
        self.edited.emit()

    def _insert_node(self, node: Node, index: int | None = None) -> None:
        self.graph.add_node(copy.deepcopy(node), index)
        self.nodeAdded.emit(node.id)
        self._bump()

    def _remove_node(self, node_id: str) -> tuple[int, Node, list[tuple[int, Edge]]]:
        edges = [e for e in self.graph.edges if node_id in (e.src, e.dst)]
        for e in edges:
            self.edgeRemoved.emit(e)
        info = self.graph.remove_node(node_id)
        self.nodeRemoved.emit(node_id)
        if self.target == node_id:
            self.set_target(None)
        self._bump()
        return info

    def _restore_node(self, info: tuple[int, Node, list[tuple[int, Edge]]]) -> None:
        index, node, edges = info
        self.graph.restore_node(index, node, edges)
        self.nodeAdded.emit(node.id)
        for _i, e in edges:
            self.edgeAdded.emit(e)
        self._bump()

    def _insert_edge(self, edge: Edge, index: int | None = None) -> None:
        self.graph.add_edge(edge, index)
        self.edgeAdded.emit(edge)
        self._bump()

    def _remove_edge(self, edge: Edge) -> int:
        index = self.graph.remove_edge(edge)
        self.edgeRemoved.emit(edge)
        self._bump()
        return index

    def _replace_node(self, node: Node) -> None:
        """Same id, new data (value, attrs, label, requires_grad, dtype)."""
        self.graph.nodes[node.id] = copy.deepcopy(node)
        self.nodeChanged.emit(node.id)
        self._bump()

    def _set_positions(self, positions: dict[str, tuple[float, float] | None]) -> None:
        """Many nodes move as one change: one revision, not one per node (a layout of 2,000)."""
        for node_id, pos in positions.items():
            self.graph.nodes[node_id].pos = pos
            self.nodeMoved.emit(node_id)
        self._bump()

    # ---- whole-document operations (not undoable: they start a new history) ----

    def reset(self, graph: Graph, path: str | None = None) -> None:
        """Start over with this graph (new / open); the history starts empty and clean.

        Nodes whose file gives no usable position get one on a grid here, in the model, before
        anything is drawn or undoable. This is not an edit: there is nothing to undo and the
        document is not modified by it; it only means that saving writes positions the file did
        not have. Doing it here (not at save time) keeps every write after this point inside the
        undo stack.
        """
        for n, pos in grid_positions(graph).items():
            graph.nodes[n].pos = pos
        self.graph = graph
        self.path = path
        self.target = None
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.graphReset.emit()
        self.targetChanged.emit(None)
        self._bump()

    def set_target(self, node_id: str | None) -> None:
        if node_id is not None and node_id not in self.graph.nodes:
            node_id = None
        if node_id != self.target:
            self.target = node_id
            self.targetChanged.emit(node_id)

    # ---- undoable edits: each is one entry in the undo stack ----

    def add_node(self, node: Node, pos: tuple[float, float] | None = None) -> None:
        if pos is not None:
            node = copy.deepcopy(node)
            node.pos = pos
        self.undo_stack.push(_AddNode(self, node))

    def remove(self, node_ids: list[str], edges: list[Edge] = ()) -> None:
        """Delete nodes (with their edges) and loose edges, as one undo step."""
        node_ids = [n for n in self.graph.nodes if n in set(node_ids)]
        edges = [e for e in edges
                 if e in self.graph.edges and e.src not in node_ids and e.dst not in node_ids]
        if not node_ids and not edges:
            return
        what = f"Delete {len(node_ids)} node(s)" if node_ids else f"Delete {len(edges)} edge(s)"
        self.undo_stack.beginMacro(what)
        for e in edges:
            self.undo_stack.push(_Disconnect(self, e))
        for n in node_ids:
            self.undo_stack.push(_RemoveNode(self, n))
        self.undo_stack.endMacro()

    def connect(self, edge: Edge) -> str | None:
        """Add an edge, or return the reason it is refused (the rule lives in graph/)."""
        reason = self.graph.edge_refusal(edge.src, edge.dst, edge.port)
        if reason is None:
            self.undo_stack.push(_Connect(self, edge))
        return reason

    def disconnect(self, edges: list[Edge]) -> None:
        edges = [e for e in edges if e in self.graph.edges]
        if not edges:
            return
        self.undo_stack.beginMacro(f"Cut {len(edges)} edge(s)")
        for e in edges:
            self.undo_stack.push(_Disconnect(self, e))
        self.undo_stack.endMacro()

    def move(self, moves: dict[str, tuple[float, float]], text: str = "Move") -> None:
        old = {n: self.graph.nodes[n].pos for n in moves if n in self.graph.nodes}
        new = {n: (round(p[0], 1), round(p[1], 1)) for n, p in moves.items() if n in old}
        if any(old[n] != new[n] for n in new):
            self.undo_stack.push(_Move(self, old, new, text))

    def edit_node(self, node: Node, text: str = "Edit") -> None:
        """Replace a node's data (same id); node.check() must pass first."""
        old = self.graph.nodes[node.id]
        if old != node:
            node.check()
            self.undo_stack.push(_Replace(self, old, node, text))

    def rename(self, old_id: str, new_id: str) -> None:
        """Change a node's id, keeping its place, its edges and the target."""
        if new_id == old_id:
            return
        check_node_id(new_id)  # the loader's rule, so a renamed graph always reopens
        if new_id in self.graph.nodes:
            raise ValueSpecError(f"there is already a node {new_id!r}", [new_id])
        was_target = self.target == old_id
        node = copy.deepcopy(self.graph.nodes[old_id])
        index = list(self.graph.nodes).index(old_id)
        edges = [(i, e) for i, e in enumerate(self.graph.edges) if old_id in (e.src, e.dst)]
        node.id = new_id
        self.undo_stack.beginMacro(f"Rename {old_id} to {new_id}")
        if was_target:  # undone last, once old_id exists again
            self.undo_stack.push(_Retarget(self, on_undo=old_id))
        self.undo_stack.push(_RemoveNode(self, old_id))
        self.undo_stack.push(_AddNode(self, node, index))
        for i, e in edges:
            renamed = Edge(new_id if e.src == old_id else e.src, new_id if e.dst == old_id else e.dst, e.port)
            self.undo_stack.push(_Connect(self, renamed, i))
        if was_target:  # done last, once new_id exists
            self.undo_stack.push(_Retarget(self, on_redo=new_id))
        self.undo_stack.endMacro()

    def paste(self, text: str, offset: tuple[float, float] = (40.0, 40.0)) -> list[str]:
        """Add the nodes and edges of a file-format fragment, renaming ids that clash.

        Raises FileFormatError for a fragment that does not load (it is validated like a file),
        and GraphError for one whose edges form a cycle (the rule every edit follows).
        """
        fragment = loads(text)
        try:
            fragment.topological_order()
        except CycleError as e:
            raise GraphError(f"the pasted nodes are wired in a {e.message}", e.node_ids) from None
        ids = {}
        for n in fragment.nodes:
            ids[n] = self.unique_id(n, taken=set(ids.values()))
        self.undo_stack.beginMacro(f"Paste {len(fragment.nodes)} node(s)")
        for node in fragment.nodes.values():
            node = copy.deepcopy(node)
            node.id = ids[node.id]
            x, y = node.pos if usable_pos(node.pos) else (0.0, 0.0)
            node.pos = (x + offset[0], y + offset[1])
            self.undo_stack.push(_AddNode(self, node))
        for e in fragment.edges:
            self.undo_stack.push(_Connect(self, Edge(ids[e.src], ids[e.dst], e.port)))
        self.undo_stack.endMacro()
        return list(ids.values())

    def copy_text(self, node_ids: list[str]) -> str:
        """The selected nodes and the edges among them, in the file format."""
        return dumps(self.graph.without(set(self.graph.nodes) - set(node_ids)))

    def auto_layout(self, spacing: tuple[float, float] = GRID) -> None:
        """Columns by networkx topological generations; rows keep file order.

        A long chain of generations (a 2,000-op chain is 2,000 columns, 480,000 units wide) is
        wrapped into bands, one below the other, so the layout stays roughly square.
        """
        g = self.graph.to_networkx()
        if not nx.is_directed_acyclic_graph(g):
            return
        rank = {n: i for i, n in enumerate(self.graph.nodes)}
        generations = [sorted(gen, key=rank.__getitem__) for gen in nx.topological_generations(g)]
        if not generations:
            return
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
        self.move(moves, "Auto-layout")

    def unique_id(self, base: str, taken: set[str] = frozenset()) -> str:
        """base, or base with a number that makes it new; never longer than the loader allows."""
        if len(base) <= MAX_ID_LENGTH and base not in self.graph.nodes and base not in taken:
            return base
        stem = re.sub(r"_\d+$", "", base) or "n"
        n = 2
        while True:
            suffix = f"_{n}"
            candidate = stem[:MAX_ID_LENGTH - len(suffix)] + suffix
            if candidate not in self.graph.nodes and candidate not in taken:
                return candidate
            n += 1


class _AddNode(QUndoCommand):
    def __init__(self, doc: Document, node: Node, index: int | None = None) -> None:
        super().__init__(f"Add {node.op} {node.id}")
        self.doc, self.node, self.index = doc, copy.deepcopy(node), index

    def redo(self) -> None:
        self.doc._insert_node(self.node, self.index)

    def undo(self) -> None:
        self.doc._remove_node(self.node.id)


class _RemoveNode(QUndoCommand):
    def __init__(self, doc: Document, node_id: str) -> None:
        super().__init__(f"Delete {node_id}")
        self.doc, self.node_id, self.info, self.was_target = doc, node_id, None, False

    def redo(self) -> None:
        self.was_target = self.doc.target == self.node_id
        self.info = self.doc._remove_node(self.node_id)

    def undo(self) -> None:
        self.doc._restore_node(self.info)
        if self.was_target:  # undoing a delete gives the target back too
            self.doc.set_target(self.node_id)


class _Connect(QUndoCommand):
    def __init__(self, doc: Document, edge: Edge, index: int | None = None) -> None:
        super().__init__(f"Connect {edge.src} → {edge.dst}.{edge.port}")
        self.doc, self.edge, self.index = doc, edge, index

    def redo(self) -> None:
        self.doc._insert_edge(self.edge, self.index)

    def undo(self) -> None:
        self.doc._remove_edge(self.edge)


class _Disconnect(QUndoCommand):
    def __init__(self, doc: Document, edge: Edge) -> None:
        super().__init__(f"Disconnect {edge.src} → {edge.dst}.{edge.port}")
        self.doc, self.edge, self.index = doc, edge, None

    def redo(self) -> None:
        self.index = self.doc._remove_edge(self.edge)

    def undo(self) -> None:
        self.doc._insert_edge(self.edge, self.index)


class _Move(QUndoCommand):
    def __init__(self, doc: Document, old: dict, new: dict, text: str) -> None:
        super().__init__(f"{text} {len(new)} node(s)" if text == "Move" else text)
        self.doc, self.old, self.new = doc, old, new

    def redo(self) -> None:
        self.doc._set_positions(self.new)

    def undo(self) -> None:
        self.doc._set_positions(self.old)


class _Replace(QUndoCommand):
    def __init__(self, doc: Document, old: Node, new: Node, text: str) -> None:
        super().__init__(f"{text} {new.id}")
        self.doc, self.old, self.new = doc, copy.deepcopy(old), copy.deepcopy(new)

    def redo(self) -> None:
        self.doc._replace_node(self.new)

    def undo(self) -> None:
        self.doc._replace_node(self.old)


class _Retarget(QUndoCommand):
    """Inside a macro: set the target when the macro is redone (on_redo) or undone (on_undo)."""

    def __init__(self, doc: Document, on_redo: str | None = None, on_undo: str | None = None) -> None:
        super().__init__("Target")
        self.doc, self.on_redo, self.on_undo = doc, on_redo, on_undo

    def redo(self) -> None:
        if self.on_redo is not None:
            self.doc.set_target(self.on_redo)

    def undo(self) -> None:
        if self.on_undo is not None:
            self.doc.set_target(self.on_undo)
