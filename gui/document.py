"""The open document: one Graph, one QUndoStack, and signals the scene redraws from.

The model changes only here, only through undo commands (orange-canvas style): each command
calls the small primitives below, and every primitive emits the signal that describes it.
Views never write to the graph and never read state back from graphics items. Nodes are frozen:
an edit swaps in a new Node, which is what lets the compute worker take a cheap snapshot.

`revision` is semantic: it moves on when something a computation reads changes (nodes, edges),
never for layout (moves, auto-layout), so dragging a node starts no compute and greys nothing.
The edits that need no Qt (ids, paste, rename; graph.layout: layout) are pure functions in graph.edits.
"""

from __future__ import annotations

import dataclasses
import itertools
import weakref

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from graph import edits, groups, layout
from graph.edits import GRID
from graph.groups import Group
from graph.model import Edge, Graph, Node, check_label
from graph.naming import formula_name
from gui.titles import title_by_id

# Revisions are unique across every document of the process, so a revision alone names one
# state of one document (the compute worker caches by it).
_REVISIONS = itertools.count(1)
TARGET_COMMAND = 1  # QUndoCommand.id of SetTarget: only commands of one id merge


class Document(QObject):
    nodeAdded = Signal(str)
    nodeRemoved = Signal(str)
    nodeChanged = Signal(str)  # data other than position: value, attrs, label, flags
    nodesMoved = Signal(list)  # node ids, layout only: never a new revision; once per move (a layout moves thousands)
    edgeAdded = Signal(object)
    edgeRemoved = Signal(object)
    graphReset = Signal()  # the whole graph was replaced (new / open)
    edited = Signal()  # after a semantic change; `revision` has moved on
    targetChanged = Signal(object)  # node id or None
    renaming = Signal(str, str)  # old id, new id: sent inside the rename's undo step, before its commands
    removing = Signal(list)  # node ids a delete removes: sent inside its undo step, before its commands
    groupsChanged = Signal()  # groups or who is in them (never a new revision: nothing computes them)

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

    def _insert_node(self, node: Node, index: int | None = None, pos: tuple[float, float] | None = None) -> None:
        self.graph.add_node(node, index, pos)
        self.nodeAdded.emit(node.id)
        self._bump()

    def _insert_nodes(self, nodes: list[tuple[Node, tuple[float, float] | None]], edges: list[Edge]) -> None:
        """Many nodes and the edges among them, at the end, as one edit (a paste)."""
        for node, pos in nodes:
            self.graph.add_node(node, pos=pos)
            self.nodeAdded.emit(node.id)
        for e in edges:
            self.graph.add_edge(e)
            self.edgeAdded.emit(e)
        self._bump()

    def _remove_nodes(self, node_ids: list[str]) -> tuple:
        """Nodes and their edges as one edit, in one pass (graph.remove_nodes)."""
        gone = set(node_ids)
        for e in [e for e in self.graph.edges if e.src in gone or e.dst in gone]:
            self.edgeRemoved.emit(e)
        info = self.graph.remove_nodes(node_ids)
        for _i, node in info[0]:
            self.nodeRemoved.emit(node.id)
        if self.target in gone:
            self.set_target(None)
        self._bump()
        return info

    def _restore_nodes(self, info: tuple) -> None:
        self.graph.restore_nodes(info)
        for _i, node in info[0]:
            self.nodeAdded.emit(node.id)
        for _i, e in info[1]:
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
        self.graph.replace_node(node)
        self.nodeChanged.emit(node.id)
        self._bump()

    def _set_positions(self, positions: dict[str, tuple[float, float] | None]) -> None:
        """Layout only: no new revision, so nothing recomputes and no overlay goes stale."""
        for node_id, pos in positions.items():
            self.graph.set_position(node_id, pos)
        self.nodesMoved.emit(list(positions))

    def _set_groups(self, new: dict[str, Group], of: dict[str, str | None]) -> None:
        """Groups only: the whole dict of groups, and the nodes whose group changes (None: none)."""
        self.graph.groups = dict(new)
        for n, g in of.items():
            if g is None:
                self.graph.group_of.pop(n, None)
            else:
                self.graph.group_of[n] = g
        self.groupsChanged.emit()

    # ---- whole-document operations (not undoable: they start a new history) ----

    def reset(self, graph: Graph, path: str | None = None) -> None:
        """Start over with this graph (new / open); the history starts empty and clean.

        Nodes whose file gives no usable position get one on a grid here, in the model, before
        anything is drawn or undoable. This is not an edit: there is nothing to undo and the
        document is not modified by it; it only means that saving writes positions the file did
        not have. Doing it here (not at save time) keeps every write after this point inside the
        undo stack.
        """
        for n, pos in edits.grid_positions(graph).items():
            graph.set_position(n, pos)
        saved_target = graph.target
        self.graph = graph
        self.path = path
        self.target = graph.target = None
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.graphReset.emit()
        self.targetChanged.emit(None)
        self._bump()
        if saved_target is not None:  # the file's own target, once everything is drawn
            self.set_target(saved_target)

    def set_target(self, node_id: str | None) -> None:
        if node_id is not None and node_id not in self.graph.nodes:
            node_id = None
        self.graph.target = node_id  # a saved file keeps what was being differentiated
        if node_id != self.target:
            self.target = node_id
            self.targetChanged.emit(node_id)

    def choose_target(self, node_id: str | None) -> None:
        """The user's choice of target (∂ on a node, Ctrl+T, Clear target): an undo step, since
        the file keeps the target. Clicks in a row make one step (SetTarget.mergeWith)."""
        if node_id is not None and node_id not in self.graph.nodes:
            node_id = None
        if node_id != self.target:
            self.undo_stack.push(SetTarget(self, self.target, node_id))

    # ---- undoable edits: each is one entry in the undo stack ----

    def add_node(self, node: Node, pos: tuple[float, float] | None = None) -> None:
        node.check()
        self.undo_stack.push(_AddNode(self, node, pos=pos))

    def remove(self, node_ids: list[str], edges: list[Edge] = ()) -> None:
        """Delete nodes (with their edges) and loose edges, as one undo step."""
        gone, present = set(node_ids), set(self.graph.edges)  # sets: a delete of all 10,000 must not be O(n²)
        node_ids = [n for n in self.graph.nodes if n in gone]
        edges = [e for e in edges if e in present and e.src not in gone and e.dst not in gone]
        if not node_ids and not edges:
            return
        what = f"Delete {len(node_ids)} node(s)" if node_ids else f"Delete {len(edges)} edge(s)"
        self.undo_stack.beginMacro(what)
        self.removing.emit(node_ids)  # what is kept for them outside the graph goes, in this step
        for e in edges:
            self.undo_stack.push(_Disconnect(self, e))
        if node_ids:
            self.undo_stack.push(_RemoveNodes(self, node_ids))
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
        """Place nodes (one undo step); layout, so the revision stays and nothing recomputes."""
        old = {n: self.graph.position(n) for n in moves if n in self.graph.nodes}
        new = {n: (round(p[0], 1), round(p[1], 1)) for n, p in moves.items() if n in old}
        if any(old[n] != new[n] for n in new):
            self.undo_stack.push(_Move(self, old, new, text))

    def edit_node(self, node: Node, text: str = "Edit") -> None:
        """Replace a node's data (same id); node.check() must pass (it is asked here)."""
        old = self.graph.nodes[node.id]
        if old != node:
            node.check()
            self.undo_stack.push(_Replace(self, old, node, text))

    def preview_node(self, node: Node) -> None:
        """Show a node's new data at once, with no undo step: a gesture's live preview (scrubbing
        a value). The gesture ends with commit_preview, or previews the node it began from."""
        node.check()
        self._replace_node(node)

    def commit_preview(self, start: Node, text: str = "Edit") -> None:
        """One undo step from `start` (the node before the preview began) to the node there now."""
        now = self.graph.nodes[start.id]
        if now != start:
            self.undo_stack.push(_Replace(self, start, now, text))

    def rename(self, old_id: str, new_id: str) -> None:
        """Change a node's id, keeping its place, its edges and the target."""
        if new_id == old_id:
            return
        plan = edits.plan_rename(self.graph, old_id, new_id)
        was_target = self.target == old_id
        pos = self.graph.position(old_id)
        group = self.graph.group_of.get(old_id)
        self.undo_stack.beginMacro(f"Rename {old_id} to {new_id}")
        self.renaming.emit(old_id, new_id)  # what is kept for it outside the graph follows, in this step
        if was_target:  # undone last, once old_id exists again
            self.undo_stack.push(_Retarget(self, on_undo=old_id))
        self.undo_stack.push(_RemoveNodes(self, [old_id]))
        self.undo_stack.push(_AddNode(self, plan.node, plan.index, pos))
        for i, e in plan.new_edges:
            self.undo_stack.push(_Connect(self, e, i))
        if group is not None:  # the new id keeps the old one's group
            self.undo_stack.push(_Groups(self, "Group", self.graph.groups, {new_id: None},
                                         self.graph.groups, {new_id: group}))
        if was_target:  # done last, once new_id exists
            self.undo_stack.push(_Retarget(self, on_redo=new_id))
        self.undo_stack.endMacro()

    def paste(self, text: str, offset: tuple[float, float] = (40.0, 40.0)) -> list[str]:
        """Add the nodes and edges of a file-format fragment, renaming ids that clash.

        Raises FileFormatError for a fragment that does not load, GraphError for one wired in
        a cycle (graph.edits.plan_paste).
        """
        plan = edits.plan_paste(self.graph, text, offset)
        if not plan.nodes:  # nothing to add: no undo step, no edit
            return []
        self.undo_stack.beginMacro(f"Paste {len(plan.nodes)} node(s)")
        self.undo_stack.push(_AddNodes(self, plan.nodes, plan.edges))
        if plan.groups:  # the copied nodes' groups come along
            new = {**self.graph.groups, **{g.id: g for g in plan.groups}}
            self.undo_stack.push(_Groups(self, "Paste groups", self.graph.groups, dict.fromkeys(plan.group_of),
                                         new, plan.group_of))
        self.undo_stack.endMacro()
        return [node.id for node, _pos in plan.nodes]

    # ---- groups (graph.groups): layout-like, so no new revision ----

    def _push_groups(self, text: str, new: dict[str, Group], of: dict[str, str | None]) -> None:
        old_of = {n: self.graph.group_of.get(n) for n in of}
        if new != self.graph.groups or old_of != of:
            self.undo_stack.push(_Groups(self, text, self.graph.groups, old_of, new, of))

    def group(self, node_ids: list[str], label: str | None = None) -> str | None:
        """Put these nodes in a new group (Ctrl+G); returns its id (None: no nodes)."""
        chosen = set(node_ids)
        node_ids = [n for n in self.graph.nodes if n in chosen]
        if not node_ids:
            return None
        group_id = groups.new_group_id(self.graph)
        self._push_groups(f"Group {len(node_ids)} node(s)", *groups.plan_group(self.graph, node_ids, group_id, label))
        return group_id

    def ungroup(self, group_id: str) -> None:
        """Dissolve a group (Ctrl+Shift+G): its nodes and groups move up to its parent."""
        if group_id in self.graph.groups:
            self._push_groups(f"Ungroup {group_id}", *groups.plan_ungroup(self.graph, group_id))

    def rename_group(self, group_id: str, label: str | None) -> None:
        """Raises ValueSpecError for a label the file would refuse (graph.model.check_label)."""
        check_label(label)
        new = {**self.graph.groups, group_id: dataclasses.replace(self.graph.groups[group_id], label=label or None)}
        self._push_groups(f"Rename group {group_id}", new, {})

    def set_collapsed(self, group_id: str, collapsed: bool) -> None:
        group = self.graph.groups[group_id]
        new = {**self.graph.groups, group_id: dataclasses.replace(group, collapsed=collapsed)}
        self._push_groups(f"{'Collapse' if collapsed else 'Expand'} {group_id}", new, {})

    def copy_text(self, node_ids: list[str]) -> str:
        """The selected nodes and the edges among them, in the file format."""
        return edits.copy_text(self.graph, node_ids)

    def auto_layout(self, spacing: tuple[float, float] = GRID) -> list[str]:
        """Columns by topological generations (graph.layout.layered_positions), one undo step;
        what the layout could not do, for the status bar."""
        notes: list[str] = []
        moves = layout.layered_positions(self.graph, spacing, notes)
        if moves:
            self.move(moves, "Auto-layout")
        return notes


class DocCommand(QUndoCommand):
    """An undo step of a Document, holding the document weakly: the document's undo stack owns
    its commands, so a strong reference back makes a cycle only Python's cyclic GC can free, and
    it tears the stack down in an order Qt does not expect (a crash in ~QUndoCommand)."""

    @property
    def doc(self) -> Document:
        return self._doc()

    @doc.setter
    def doc(self, doc: Document) -> None:
        self._doc = weakref.ref(doc)


class _AddNode(DocCommand):
    def __init__(self, doc: Document, node: Node, index: int | None = None,
                 pos: tuple[float, float] | None = None) -> None:
        super().__init__(f"Add {node.op} {node.id}")
        self.doc, self.node, self.index, self.pos = doc, node, index, pos

    def redo(self) -> None:
        self.doc._insert_node(self.node, self.index, self.pos)

    def undo(self) -> None:
        self.doc._remove_nodes([self.node.id])


class _AddNodes(DocCommand):
    """Nodes and the edges among them (a paste), appended: undone by removing the nodes."""

    def __init__(self, doc: Document, nodes: list[tuple[Node, tuple[float, float] | None]], edges: list[Edge]) -> None:
        super().__init__(f"Add {len(nodes)} node(s)")
        self.doc, self.nodes, self.edges = doc, nodes, edges

    def redo(self) -> None:
        self.doc._insert_nodes(self.nodes, self.edges)

    def undo(self) -> None:
        self.doc._remove_nodes([node.id for node, _pos in self.nodes])


class _RemoveNodes(DocCommand):
    def __init__(self, doc: Document, node_ids: list[str]) -> None:
        super().__init__(f"Delete {node_ids[0]}" if len(node_ids) == 1 else f"Delete {len(node_ids)} node(s)")
        self.doc, self.node_ids, self.info, self.was_target = doc, node_ids, None, None

    def redo(self) -> None:
        self.was_target = self.doc.target if self.doc.target in self.node_ids else None
        self.info = self.doc._remove_nodes(self.node_ids)

    def undo(self) -> None:
        self.doc._restore_nodes(self.info)
        if self.was_target is not None:  # undoing a delete gives the target back too
            self.doc.set_target(self.was_target)


class _Connect(DocCommand):
    def __init__(self, doc: Document, edge: Edge, index: int | None = None) -> None:
        super().__init__(f"Connect {edge.src} → {edge.dst}.{edge.port}")
        self.doc, self.edge, self.index = doc, edge, index

    def redo(self) -> None:
        self.doc._insert_edge(self.edge, self.index)

    def undo(self) -> None:
        self.doc._remove_edge(self.edge)


class _Disconnect(DocCommand):
    def __init__(self, doc: Document, edge: Edge) -> None:
        super().__init__(f"Disconnect {edge.src} → {edge.dst}.{edge.port}")
        self.doc, self.edge, self.index = doc, edge, None

    def redo(self) -> None:
        self.index = self.doc._remove_edge(self.edge)

    def undo(self) -> None:
        self.doc._insert_edge(self.edge, self.index)


class _Move(DocCommand):
    def __init__(self, doc: Document, old: dict, new: dict, text: str) -> None:
        super().__init__(f"{text} {len(new)} node(s)" if text == "Move" else text)
        self.doc, self.old, self.new = doc, old, new

    def redo(self) -> None:
        self.doc._set_positions(self.new)

    def undo(self) -> None:
        self.doc._set_positions(self.old)


class _Replace(DocCommand):
    def __init__(self, doc: Document, old: Node, new: Node, text: str) -> None:
        super().__init__(f"{text} {new.id}")
        self.doc, self.old, self.new = doc, old, new

    def redo(self) -> None:
        self.doc._replace_node(self.new)

    def undo(self) -> None:
        self.doc._replace_node(self.old)


class SetTarget(DocCommand):
    """The target becomes `new` (None: no target), `old` again on undo. Pushed right after
    another SetTarget, it merges into it (one step for a run of clicks), unless that one is
    where the document was saved: then it stays its own step, so undo can get back there."""

    def __init__(self, doc: Document, old: str | None, new: str | None) -> None:
        # Named as the canvas names it (y[2], not its id select1), as the grad-output's step is.
        super().__init__(f"Target {formula_name(title_by_id(doc.graph, new))}" if new is not None else "Clear target")
        self.doc, self.old, self.new = doc, old, new
        stack = doc.undo_stack
        self.mergeable = stack.index() != stack.cleanIndex()  # what the one before it is

    def id(self) -> int:
        return TARGET_COMMAND

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not (isinstance(other, SetTarget) and other.mergeable):
            return False
        self.new = other.new
        self.setText(other.text())
        self.setObsolete(self.new == self.old)  # back where it began: no step at all
        return True

    def redo(self) -> None:
        self.doc.set_target(self.new)

    def undo(self) -> None:
        self.doc.set_target(self.old)


class _Retarget(DocCommand):
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


class _Groups(DocCommand):
    """Groups from one state to another: the whole dict of groups, and the nodes that move."""

    def __init__(self, doc: Document, text: str, old: dict, old_of: dict, new: dict, new_of: dict) -> None:
        super().__init__(text)
        self.doc, self.old, self.old_of, self.new, self.new_of = doc, dict(old), old_of, dict(new), new_of

    def redo(self) -> None:
        self.doc._set_groups(self.new, self.new_of)

    def undo(self) -> None:
        self.doc._set_groups(self.old, self.old_of)
