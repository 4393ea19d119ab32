"""The canvas scene: mirrors the Document through its signals, forwards the mouse to the gesture
in progress, and sends every edit back as a Document call (so an undo command).
(~800 lines, one piece: Qt's one mirror of the document; gestures, wires, overview, groups and
the flow view live in modules of their own.)

Nothing here reads state back from the items into the model. The scene rect follows the nodes
in O(1) per move; the item index is off (NoIndex, ENVIRONMENT.md: a BSP tree costs 10-34 ms per
drag frame at 5,000 nodes). Every wire, and zoomed out every node, is drawn in bulk by the
scene's background (gui.canvas.overview), which the view caches: whoever changes one calls
`redraw` for its old and new place; moves come through `nodes_moved`, once per drag frame.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Iterable, Iterator

from PySide6.QtCore import QPointF, QRectF, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QGraphicsSceneMouseEvent, QMenu, QToolTip, QWidget

from autograd_bridge.compute import ComputeResult
from graph.bulk import paused_gc
from graph.edits import box_height, grid_positions, new_node_id
from graph.layout import free_top
from graph.model import Edge, new_node
from graph.ops import OPS, TENSOR, categories
from graph.safetext import visible
from gui.canvas import style
from gui.canvas.groups import GroupItem, GroupLayer
from gui.canvas.interactions import (
    CutDrag,
    GroupDrag,
    Interaction,
    MoveDrag,
    RubberBand,
    ScrubDrag,
    WireDrag,
    scrubbable,
)
from gui.canvas.items import COLORS, PORT_R, SCENE_MARGIN, EdgeItem, NodeItem, Wire
from gui.canvas.overview import CULL_ALL, LiftedWires, Overview
from gui.canvas.spatial import NodeGrid
from gui.canvas.tiles import Tiles, stacking_key
from gui.clipboard import free_offset
from gui.document import Document
from gui.titles import op_symbol

# An edit's numbers turn grey only if its result takes longer than this: a quicker one replaces
# them without a grey flash between (and the nodes in view are painted once, not twice).
STALE_LOOK_AFTER_MS = 100
LEFT = Qt.MouseButton.LeftButton
CONTENT_SLACK = 1000.0  # scene units the content rect grows by beyond a node that left it
# Selection changes of more items than this repaint the whole overview at once (repaint_selection):
# one view's repaint costs about what a few hundred items' rects do.
MANY_SELECTED = 500


class CanvasScene(QGraphicsScene):
    """Mirrors the document; turns mouse gestures into document edits."""

    message = Signal(str)  # for the status bar
    editValueRequested = Signal(str)  # a tensor node's value is to be edited in place

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[Edge, Wire] = {}
        self.edges_at: dict[str, set[Edge]] = {}  # node id -> the edges touching it
        self.grid = NodeGrid()  # answers node_at without testing every item
        self.tiles = Tiles(self)  # the parents of the node items, by place (gui.canvas.tiles)
        self.overview = Overview()  # what the view draws when zoomed out
        self.lifted = LiftedWires(self.overview)  # a drag's wires (lift_wires)
        self.addItem(self.lifted)
        self._errors: set[str] = set()  # nodes whose error it is (ComputeResult.failed): red
        self._nonfinite: set[str] = set()  # nodes where NaN/Inf first appears
        self._drawn_selection: set = set()  # the selection the bulk drawing last drew
        self._batch: QRectF | None = None  # redraws gathered into one (_one_redraw)
        self.background_changes = 0  # counts redraws: a picture of the background drawn before is stale
        self._selection_moved = False  # since the bulk drawing last looked (repaint_selection)
        self._selection_dropped = False  # selected items removed by an edit not yet told (_selection_told_later)
        self._selected: list[QGraphicsItem] | None = None  # selectedItems() since the selection last changed
        self._selected_ids: list[str] | None = None  # its nodes' ids, in no order (selection_node_ids)
        self._selection_set_here = False  # select_nodes filled the two above before its signal
        self._selection_check = QTimer(self, singleShot=True, interval=0)
        self._selection_check.timeout.connect(self.repaint_selection)
        self.selectionChanged.connect(self._on_selection_changed)
        self._stacking = itertools.count()
        self._wire_order = itertools.count()  # Wire.order
        # Features add entries to a node's menu (gui.calculus: Differentiate again): f(menu, node_id).
        self.node_menu_extras: list = []
        self.canvas_menu_extras: list = []  # (menu, scene position) -> None: the window's actions
        self.node_edit_actions: list = []  # the Edit menu's Cut, Copy, … beside Duplicate and Delete
        # Pixel sizes (gui.canvas.style): 12-13 px on screen at 100 %, the level of detail's base.
        self.title_font = style.title_font()
        self.small_font = style.small_font()
        self.mono_font = style.mono_font()
        self.stale_text = "computing…"  # what a stale node with no number yet says
        self._stale_look = QTimer(self, singleShot=True, interval=STALE_LOOK_AFTER_MS)
        self._stale_look.timeout.connect(self._show_stale)
        self.stale_shown = False  # nodes flagged stale look it (NodeItem.looks_stale): set_stale
        self.walked: set[str] | None = None  # during a Step backward walk, the partials it has made whole
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.setBackgroundBrush(COLORS["background"])
        self.interaction: Interaction | None = None  # the gesture in progress, if any
        self.result: ComputeResult | None = None
        self._content = QRectF()  # grows to hold every node; the scene rect is this plus a margin
        self.building = False  # rebuild is making every item: none redraws its own place
        doc.nodeAdded.connect(self._on_node_added)
        doc.nodeRemoved.connect(self._on_node_removed)
        doc.nodeChanged.connect(self._on_node_changed)
        doc.nodesMoved.connect(self._on_nodes_moved)
        doc.edgeAdded.connect(self._on_edge_added)
        doc.edgeRemoved.connect(self._on_edge_removed)
        doc.graphReset.connect(self.rebuild)
        doc.edited.connect(self._tell_dropped_selection)
        doc.targetChanged.connect(self._on_target_changed)
        self.groups = GroupLayer(self)  # group frames and collapsed boxes (gui.canvas.groups)
        self.rebuild()

    # ---- mirroring the document ----

    def rebuild(self) -> None:
        self.cancel_interaction()
        self.land_wires()
        self.building = True  # no per-item redraws: everything is redrawn at the end
        for wire in self.edges.values():
            if wire.proxy is not None:
                self.removeItem(wire.proxy)
        self.tiles.clear()  # and the node items with them
        self.stale_shown = False  # the new items have not been painted at all
        self.nodes.clear()
        self.edges.clear()
        self.edges_at.clear()
        self.grid.clear()
        self.overview.load()
        self._errors.clear()
        self._nonfinite.clear()
        try:
            self._make_items()
        finally:
            self.tiles.built()
            self.overview.loaded()
            self.building = False
        self.fit_scene_rect()
        self.background_changes += 1
        self.invalidate(self.sceneRect(), QGraphicsScene.SceneLayer.BackgroundLayer)
        self.result = None
        self.groups.rebuild()

    @paused_gc  # 12,500 new objects that all live on: collecting them now finds no garbage
    def _make_items(self) -> None:
        # Document.reset gives every node a usable position; this covers a graph set any other way.
        fallback = grid_positions(self.doc.graph)
        for n in self.doc.graph.nodes:
            self._on_node_added(n, default_pos=QPointF(*fallback[n]) if n in fallback else None)
        for e in self.doc.graph.edges:
            self._on_edge_added(e)

    def _on_node_added(self, node_id: str, default_pos: QPointF | None = None) -> None:
        item = NodeItem(self, node_id)
        item.stack_order = next(self._stacking)  # later items are drawn on top of earlier ones
        if not item.placed:
            item.setPos(default_pos or QPointF(0, 0))
        item.is_target = node_id == self.doc.target
        self.nodes[node_id] = item
        self.edges_at.setdefault(node_id, set())
        self.tiles.adopt(item, self.building)  # which puts it in the scene
        self.include(item)
        self._file(item)

    def _on_node_removed(self, node_id: str) -> None:
        item = self.nodes.pop(node_id, None)
        self.edges_at.pop(node_id, None)
        self.grid.remove(node_id)
        self.overview.remove_node(node_id)
        if item is not None:
            self.overview_repaint(item.sceneBoundingRect())
            with self._selection_told_later(item):
                self.tiles.remove(item)

    def _on_node_changed(self, node_id: str) -> None:
        item = self.nodes.get(node_id)
        if item is not None:
            item.sync()
            self.update_edges_of(node_id)  # its ports may have moved in its box

    def _on_nodes_moved(self, node_ids: list[str]) -> None:
        """A move (an undo step, a layout, a drag's release): only places change, so only they
        are taken, and each edge follows once however many of its nodes moved. Each node is
        painted afresh: a cached pixmap moved by a fraction of a pixel is drawn at a whole one."""
        moved = []
        for item in map(self.nodes.get, node_ids):
            if item is not None:
                if item.take_position():
                    moved.append(item)
                item.update()
        if moved:
            self.nodes_moved(moved)

    @contextlib.contextmanager
    def _selection_told_later(self, item: QGraphicsItem) -> Iterator[None]:
        """Remove a selected item without a selectionChanged: Qt sends one per selected item
        removed, and each listener reads the whole selection (deleting 10,000 selected nodes:
        O(n²), minutes). The edit's `edited` sends one (_tell_dropped_selection)."""
        if not item.isSelected():
            yield
            return
        with QSignalBlocker(self):
            yield
        self.selection_changed_quietly()
        self._selection_dropped = True

    def _tell_dropped_selection(self) -> None:
        if self._selection_dropped:
            self._selection_dropped = False
            self.selectionChanged.emit()

    def _on_edge_added(self, edge: Edge) -> None:
        self.edges[edge] = Wire(self, edge, next(self._wire_order))
        self.edges_at[edge.src].add(edge)
        self.edges_at[edge.dst].add(edge)
        dst = self.nodes[edge.dst]
        dst.fed.add(edge.port)
        if not self.building:
            dst.update()  # the port dot fills in

    def _on_edge_removed(self, edge: Edge) -> None:
        item = self.edges.pop(edge, None)
        self.overview.remove_edge(edge)
        if item is not None:
            self.redraw(item.rect())
            if item.proxy is not None:
                with self._selection_told_later(item.proxy):
                    self.removeItem(item.proxy)
            if item in self.overview.lifted:  # a wire of a drag, deleted mid-drag (Delete, Ctrl+Z)
                self.overview.lifted.discard(item)
                self.lifted.follow()
        for n in (edge.src, edge.dst):
            self.edges_at.get(n, set()).discard(edge)
        if edge.dst in self.nodes:
            self.nodes[edge.dst].fed.discard(edge.port)
            self.nodes[edge.dst].update()

    def _on_target_changed(self, target: str | None) -> None:
        for n, item in self.nodes.items():
            if item.is_target != (n == target):
                item.is_target = n == target
                item.update()
                self.overview_repaint(item.sceneBoundingRect())

    def update_edges_of(self, node_id: str) -> None:
        for edge in self.edges_at.get(node_id, ()):
            self.edges[edge].update_path()

    def nodes_moved(self, items: list[NodeItem]) -> None:
        """These nodes were moved (a drag frame, an undo, a file): their edges (each once), the
        scene rect, the grid and the overview follow. Items send no itemChange (NodeItem)."""
        edges = set()
        with self._one_redraw():
            for item in items:
                self.include(item)
                self._file(item)
                edges.update(self.edges_at.get(item.node_id, ()))
            for edge in edges:
                self.edges[edge].update_path()
        if self.overview.lifted:
            self.lifted.follow()
        self.groups.nodes_moved()

    def node_synced(self, item: NodeItem, moved: bool) -> None:
        """The item took its node's data, and its position when `moved`."""
        if self.nodes.get(item.node_id) is not item:
            return  # still being made: _on_node_added files it
        if moved:
            self.nodes_moved([item])
        else:
            self._file(item)
            self.groups.nodes_moved()  # its box may have grown (a preview row): its frame follows

    def _file(self, item: NodeItem) -> None:
        """Keep the node's tile holding it and the overview's row of the node, and repaint what
        changed there."""
        self.tiles.follow(item)
        if not item.isVisible():
            return  # hidden in a collapsed group, whose box the overview does not draw
        changed = self.overview.set_node(item)
        if changed is not None:
            self.overview_repaint(changed)

    # ---- drawn in bulk (gui.canvas.overview): every wire, and in the overview every node ----

    def set_overview(self, on: bool) -> None:
        """Draw the nodes in one pass too (on) or item by item (off); the view decides by its
        scale (the change of scale redraws everything anyway)."""
        if on != self.overview.on:
            self.overview.on = on
            if on:
                self.land_wires()  # zoomed out mid-drag: Qt would not draw them
            self.setMinimumRenderSize(CULL_ALL if on else 0.0)
            self.redraw(self.sceneRect())  # the cached background has (or lacks) the nodes

    def lift_wires(self, node_ids: Iterable[str]) -> None:
        """A drag is about to move these nodes: their wires are drawn by self.lifted, over the
        cached background, until land_wires. Not in the overview (Qt draws no item there; its
        straight lines are cheap) nor in the gradient-flow view (its pens are the background's)."""
        if self.overview.on or self.overview.flow.on:
            return
        wires = {self.edges[e] for n in node_ids for e in self.edges_at.get(n, ())}
        self.overview.lifted = wires
        with self._one_redraw():
            for wire in wires:
                self.redraw(wire.rect())  # the background without them
        self.lifted.follow()

    def land_wires(self) -> None:
        """The drag is over: its wires go back into the background."""
        wires, self.overview.lifted = self.overview.lifted, set()
        with self._one_redraw():
            for wire in wires:
                if self.edges.get(wire.edge) is wire:  # not removed meanwhile
                    self.redraw(wire.rect())
        self.lifted.follow()

    @contextlib.contextmanager
    def _one_redraw(self) -> Iterator[None]:
        """Gather the redraws within into one rectangle: Qt's raster draws the background over a
        region of many small rectangles far slower than over one."""
        if self._batch is not None:  # inside another: it redraws the lot
            yield
            return
        self._batch = QRectF()
        try:
            yield
        finally:
            batch, self._batch = self._batch, None
            if not batch.isNull():
                self.redraw(batch)

    def redraw(self, rect: QRectF) -> None:
        """Repaint what the scene draws in bulk (the background, which the view caches) there."""
        self.background_changes += 1
        if self._batch is not None:
            self._batch = self._batch.united(rect)
        elif not self.building:
            self.invalidate(rect, QGraphicsScene.SceneLayer.BackgroundLayer)

    def overview_repaint(self, rect: QRectF) -> None:
        """Qt draws no node in the overview: whoever moves, restyles or removes one redraws its
        place."""
        if self.overview.on:
            self.redraw(rect)

    def _on_selection_changed(self) -> None:
        # Connected first (in __init__), so that every later listener reads the new selection.
        if self._selection_set_here:  # taken once: a listener's own change after it is read anew
            self._selection_set_here = False
        else:
            self._selected = self._selected_ids = None
        self._selection_moved = True
        self._selection_check.start()

    def selection_items(self) -> list[QGraphicsItem]:
        """selectedItems(), made once per change of the selection: after a Select All each call
        wraps 10,000 items (~5 ms), and the window, the calculus panel, the selection's repaint
        and every paint of the background asked for it. Whoever changes the selection with the
        scene's signals blocked calls selection_changed_quietly."""
        if self._selected is None:
            self._selected = self.selectedItems()
        return self._selected

    def selection_changed_quietly(self) -> None:
        """The selection changed while the scene's signals were blocked: forget what it was."""
        self._selected = self._selected_ids = None

    def selection_node_ids(self) -> list[str]:
        """The selected nodes' ids in no order, made once per change of the selection (as
        selection_items) for the overview's paint and every listener's count."""
        if self._selected_ids is None:
            self._selected_ids = [item.node_id for item in self.selection_items() if type(item) is NodeItem]
        return self._selected_ids

    def repaint_selection(self) -> None:
        """Qt repaints an item whose selection changed where it drew it, which for a wire (and
        a node in the overview) is nowhere: redraw what was selected or is now. Once per turn of
        the event loop however many items changed, or before a paint (the view asks)."""
        if not self._selection_moved:
            return
        self._selection_moved = False
        now = set(self.selection_items())
        changed = now.symmetric_difference(self._drawn_selection)
        # In the overview the selected nodes are drawn over the cached background: thousands
        # changed (Select All) cost less as one repaint of the view than as a rect each.
        all_nodes = self.overview.on and len(changed) > MANY_SELECTED
        if all_nodes:  # the viewports at once, not the scene: its update comes a turn later, a second paint
            for view in self.views():
                view.viewport().update()
        for item in changed:
            if type(item) is EdgeItem:
                if item.scene() is not self:
                    continue
                if item.wire in self.overview.lifted:  # drawn by the drag's item, not the background
                    self.lifted.update(item.rect())
                else:
                    self.redraw(item.rect())
            elif self.overview.on and not all_nodes and item.scene() is self:
                self.update(item.sceneBoundingRect())  # repainted, not redrawn
        self._drawn_selection = now

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:  # noqa: N802 - Qt API
        for _ in self.background_steps(painter, rect):
            pass

    def background_steps(self, painter: QPainter, rect: QRectF, step_pixels: float | None = None) -> Iterator[None]:
        """What drawBackground draws, pausing (a yield) after each piece of the wires of about
        step_pixels pixels in the overview (Overview.wire_steps): gui.canvas.zoomcache draws the
        exact picture at a wheel gesture's end so, one piece a turn of the event loop."""
        super().drawBackground(painter, rect)
        selected = self.selection_items()
        scale = painter.worldTransform().m11()
        if self.overview.on:  # Qt draws no item there: the groups' frames and boxes too are drawn here
            self.groups.paint_overview(painter, rect, collapsed=False)
        yield from self.overview.wire_steps(painter, rect, scale,
                                            [it.wire for it in selected if isinstance(it, EdgeItem)], step_pixels)
        if self.overview.on:
            self.groups.paint_overview(painter, rect, collapsed=True)
            self.overview.paint(painter, rect, self.doc.target, list(self._nonfinite), list(self._errors))

    def paint_overview_selection(self, painter: QPainter) -> None:
        """In the overview, over the cached background (the view's foreground): the selected
        nodes. Selecting repaints only their place, without drawing the wires under it again."""
        self.repaint_selection()  # a no-op unless the selection changed since the view asked
        self.overview.paint_selection(painter, self.selection_node_ids(), self.doc.target, list(self._nonfinite),
                                      list(self._errors))

    def itemsBoundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        """The nodes' and edges' bounds, as Qt's would be without the layer (whose bounds are
        every possible position); O(items), for tests and tools, not per frame."""
        rect = QRectF()
        for item in self.nodes.values():
            rect = rect.united(item.sceneBoundingRect())
        for wire in self.edges.values():
            rect = rect.united(wire.rect())
        return rect

    # ---- the scene rect follows the nodes ----

    def include(self, item: NodeItem) -> None:
        """Grow the scene rect to hold this node and file it in the grid (O(1): called whenever
        a node moves)."""
        pos = item.pos()
        self.grid.place(item.node_id, pos.x(), pos.y())
        if self.building:
            return
        rect = item.sceneBoundingRect()
        if not self._content.contains(rect):
            # Grown with room to spare: a new scene rect makes the view repaint what it caches,
            # and a node dragged past the edge would otherwise do that on every frame.
            grown = self._content.united(rect) if not self._content.isNull() else rect
            slack = max(CONTENT_SLACK, 0.25 * max(grown.width(), grown.height()))
            self._set_content(grown.adjusted(-slack, -slack, slack, slack))

    def fit_scene_rect(self) -> QRectF:
        """Shrink or grow the scene rect to the nodes' boxes, port dots included (on open and fit)."""
        box = self.overview.nodes.bounds()
        content = QRectF()
        if box is not None:
            (x0, y0, x1, y1), r = box, PORT_R + 1  # NodeItem's rect: the dots stick out of the box
            content = QRectF(QPointF(x0 - r, y0 - 1), QPointF(x1 + r, y1 + 1))
        self._set_content(content)
        return content

    def _set_content(self, content: QRectF) -> None:
        self._content = content
        base = content if not content.isNull() else QRectF(0, 0, 1, 1)
        self.setSceneRect(base.adjusted(-SCENE_MARGIN, -SCENE_MARGIN, SCENE_MARGIN, SCENE_MARGIN))

    def content_rect(self) -> QRectF:
        """Where the nodes are (maybe more: it grows with room to spare, and keeps its size after
        deletions until the next fit), without a scan."""
        return QRectF(self._content)

    # ---- results ----

    def show_walked(self, complete: set[str] | None) -> None:
        """During a Step backward walk, show only the partials it has made whole (`complete`);
        the others read "not reached yet" (NodeItem.partial_withheld): the final numbers, shown
        from the walk's first step, gave its answers away. None: every partial, as computed."""
        if complete == self.walked:
            return
        before, self.walked = self.walked, complete
        changed = set(self.nodes) if before is None or complete is None else before ^ complete
        for n in changed:
            item = self.nodes.get(n)
            if item is not None:
                item.update()

    def set_stale(self, why: str = "computing…") -> None:
        """Mark every number as not answering the graph as it is now; `why` shows on nodes that
        have no number yet. The nodes look stale STALE_LOOK_AFTER_MS later unless a result came
        first, or at once when `why` changes (a cancel: no result is coming)."""
        changed = why != self.stale_text
        self.stale_text = why
        for item in self.nodes.values():
            item.stale = True
        if changed:
            self._show_stale()
        elif not self.stale_shown and not self._stale_look.isActive():  # from the first edit not answered
            self._stale_look.start()

    def _show_stale(self) -> None:
        self._stale_look.stop()
        self.stale_shown = True
        for item in self.nodes.values():
            if item.stale:
                item.update()

    def show_result(self, result: ComputeResult | None) -> None:
        self.result = result
        self._stale_look.stop()  # the numbers are replaced: no grey look in between
        self.stale_shown = False
        errors = set(result.failed()) if result is not None else set()  # the inputs named beside: items.set_view
        nonfinite = set(result.nonfinite) if result is not None else set()
        for n in errors.symmetric_difference(self._errors) | nonfinite.symmetric_difference(self._nonfinite):
            if n in self.nodes:
                self.overview_repaint(self.nodes[n].sceneBoundingRect())
        self._errors = errors & set(self.nodes)
        self._nonfinite = nonfinite & set(self.nodes)
        # Every node, 10,000 on a big graph, on the GUI thread: what each needs, looked up once.
        views = result.nodes if result is not None else {}
        firsts = result.nonfinite if result is not None else {}
        spread = result.nonfinite_spread if result is not None else frozenset()
        target = result.target if result is not None else None
        vjp = result is not None and result.grad_output is not None
        for n, item in self.nodes.items():
            item.stale = False
            item.error = result.error_of(n) if n in errors else None
            item.nonfinite = firsts.get(n)
            # Where it spread, dimmed, so that the origin stands out; its numbers still readable.
            dimmed = n in spread and item.nonfinite is None
            if dimmed != item.dimmed:
                item.dimmed = dimmed
                item.setOpacity(0.6 if dimmed else 1.0)
            item.set_view(views.get(n), target, vjp=vjp)
        self.groups.show_result(result)
        if self.interaction is not None:
            self.interaction.result_shown()

    # ---- the mouse, forwarded to the gesture in progress ----

    def node_at(self, scene_pos: QPointF) -> NodeItem | None:
        """The topmost node whose shape holds the point, as Qt stacks them (tiles.stacking_key)."""
        near = (self.nodes[n] for n in self.grid.near(scene_pos.x(), scene_pos.y()) if n in self.nodes)
        hits = [item for item in near if item.isVisible() and item.contains(item.mapFromScene(scene_pos))]
        return max(hits, key=stacking_key, default=None)

    def _begin(self, interaction: Interaction, pos: QPointF) -> None:
        self.interaction = interaction
        interaction.start(pos)

    def cancel_interaction(self) -> bool:
        """Cancel the gesture in progress (Esc); False when there was none."""
        interaction, self.interaction = self.interaction, None
        if interaction is None:
            return False
        interaction.cancel()
        return True

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        pos, button = event.scenePos(), event.button()
        if self.interaction is not None:
            if button != self.interaction.button and event.buttons() & self.interaction.button:
                event.accept()  # one gesture at a time
                return
            # Its button is up, or pressed again: its release never came (a popup took it).
            self.cancel_interaction()
        if button == LEFT:
            if event.modifiers() & Qt.KeyboardModifier.AltModifier:
                self._begin(CutDrag(self), pos)
                event.accept()
                return
            item = self.node_at(pos)
            if item is not None:
                hit = item.port_at(item.mapFromScene(pos))
                if hit is not None and hit[0] == "out":
                    self._begin(WireDrag(self, item.node_id), pos)
                    event.accept()
                    return
                if hit is None and scrubbable(item, pos):  # a scalar leaf's number: drag to change it
                    self._begin(ScrubDrag(self, item.node_id), pos)
                    event.accept()
                    return
        self.wire_item_at(pos)
        selection = self.selectedItems()  # before Qt's press handling changes it
        super().mousePressEvent(event)
        self._after_qt_press(event, selection)

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        # Qt handles the second press of a double-click as a press: a drag may follow it.
        if self.interaction is not None:
            event.accept()
            return
        self.wire_item_at(event.scenePos())
        selection = self.selectedItems()
        super().mouseDoubleClickEvent(event)
        self._after_qt_press(event, selection)

    def _after_qt_press(self, event: QGraphicsSceneMouseEvent, selection: list) -> None:
        if not event.isAccepted():  # empty canvas: a rubber band (Qt cleared the selection, unless Ctrl)
            add = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
            self._begin(RubberBand(self, event.button(), selection, add), event.scenePos())
            event.accept()
        elif event.button() == LEFT and isinstance(grabber := self.mouseGrabberItem(), NodeItem):
            self._begin(MoveDrag(self), event.scenePos())
        elif event.button() == LEFT and isinstance(grabber, GroupItem):
            if not grabber.toggled:  # the ▾ / ▸ toggled it (judged before the toggle moved the frame)
                self._begin(GroupDrag(self, grabber.group_id), event.scenePos())

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        interaction = self.interaction
        if isinstance(interaction, RubberBand) and not event.buttons() & interaction.button:
            # Its release went elsewhere (a popup, another window): the band ends where it was,
            # as Qt's own band did, instead of following a mouse whose button is up.
            self.interaction = None
            interaction.finish(event.scenePos())
            interaction = None
        if interaction is None or interaction.passthrough:
            super().mouseMoveEvent(event)
        if interaction is not None and interaction is self.interaction:
            interaction.move(event.scenePos())

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        interaction = self.interaction
        if interaction is not None and event.button() != interaction.button:
            event.accept()  # another button, pressed during the gesture
            return
        self.interaction = None
        if interaction is None or interaction.passthrough:
            super().mouseReleaseEvent(event)
        if interaction is not None:
            interaction.finish(event.scenePos())

    def helpEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        """Tooltips: items make theirs when shown (NodeItem.toolTip), so Qt's own lookup, which
        reads a text stored in every item, finds none."""
        text = ""
        self.wire_item_at(event.scenePos())
        for item in self.items(event.scenePos()):
            if isinstance(item, NodeItem | EdgeItem):
                text = item.toolTip()
                break
        QToolTip.showText(event.screenPos(), text, event.widget())
        event.setAccepted(bool(text))

    def contextMenuEvent(self, event) -> None:  # noqa: N802, ANN001
        if self.interaction is not None and not isinstance(self.interaction, RubberBand):
            event.accept()  # no menu in the middle of a drag
            return
        self.wire_item_at(event.scenePos())
        super().contextMenuEvent(event)  # a node's or an edge's menu
        if not event.isAccepted() and self.node_at(event.scenePos()) is None:
            self.cancel_interaction()  # the press's rubber band: the menu takes the release (X11)
            self._menu = self.canvas_menu(event.scenePos())  # kept: tests look at the open menu
            self._menu.exec(event.screenPos())
            event.accept()

    # ---- selection and edits for the window and the menus ----

    def selected_node_ids(self) -> list[str]:
        """In the order the nodes were added (O(selected): the window asks on every change)."""
        nodes = self.nodes
        return sorted(self.selection_node_ids(), key=lambda n: nodes[n].stack_order)

    def only_selected_node(self) -> str | None:
        """The selected node when it is the only one (what the inspector shows), else None."""
        return self.selection_summary()[0]

    def selection_summary(self) -> tuple[str | None, int]:
        """(the selected node when it is the only one, else None; how many nodes are selected):
        asked by each listener of every selection change, so from selection_node_ids, without
        sorting a Select All's thousands."""
        ids = self.selection_node_ids()
        return (ids[0] if len(ids) == 1 else None), len(ids)

    def select_nodes(self, node_ids: list[str]) -> None:
        """Select these nodes alone, with one selectionChanged (setSelected on each item sends
        one per item, and a listener that reads the selection makes that O(n²)). The selection
        is known here, so the listeners read it without selectedItems() (10,000 nodes: ~6 ms)."""
        nodes = self.nodes
        node_ids = list(dict.fromkeys(n for n in node_ids if n in nodes))  # each once: listeners count them
        items = list(map(nodes.__getitem__, node_ids))
        with QSignalBlocker(self):
            self.clearSelection()
            for item in items:
                item.setSelected(True)
        selected = list(map(QGraphicsItem.isSelected, items))  # a hidden node (in a collapsed group) is not
        if not all(selected):
            node_ids, items = list(itertools.compress(node_ids, selected)), list(itertools.compress(items, selected))
        # Known here, so set here (also for a caller that blocked the scene's signals).
        self._selected, self._selected_ids, self._selection_moved = items, node_ids, True
        self._selection_set_here = True
        self.selectionChanged.emit()
        self._selection_set_here = False
        self.repaint_selection()  # now, not a turn later: the repaint joins Qt's, one paint

    def selected_edges(self) -> list[Edge]:
        return [e for e, item in self.edges.items() if item.isSelected()]

    def wire_at(self, pos: QPointF) -> Wire | None:
        """The wire whose curve (10 scene units wide) holds pos: of several, the latest (on top)."""
        near = QRectF(pos.x() - 6.0, pos.y() - 6.0, 12.0, 12.0)  # the stroke reaches 5 past the curve's box
        wires = self.overview.edges.shapes
        found = None
        for i in self.overview.edges.within(near).tolist():
            wire = wires[i]
            if (found is None or wire.order > found.order) and wire.hit(pos):
                found = wire
        return found

    def wire_item_at(self, pos: QPointF) -> None:
        """Make the Qt item of the wire at pos (Wire.item), so that Qt's own handling of a press,
        a menu or a tooltip there finds it among the items, under any node, as it finds a node."""
        wire = self.wire_at(pos)
        if wire is not None:
            wire.item()

    def node_menu(self, node_id: str) -> QMenu:
        """The node's context menu (built here, shown by the item, inspected by tests). As a
        right-click does, it selects the node unless it is in the selection already: its edit
        actions (Cut, Copy, Duplicate, Delete, Group) all act on the selection."""
        doc, node = self.doc, self.doc.graph.nodes[node_id]
        if node_id not in self.selected_node_ids():
            self.select_nodes([node_id])
        menu = QMenu()
        menu.addAction(f"∂  Differentiate: make {visible(node_id)} the target", lambda: doc.choose_target(node_id))
        if node.is_tensor:
            menu.addAction("Edit value in place…", lambda: self.editValueRequested.emit(node_id))
            toggle = menu.addAction("requires_grad")
            toggle.setCheckable(True)
            toggle.setChecked(node.requires_grad)
            toggle.triggered.connect(lambda on: self.set_requires_grad(node_id, on))
        for extend in self.node_menu_extras:
            extend(menu, node_id)
        menu.addSeparator()
        menu.addActions(self.node_edit_actions)
        # the window's keys for these, shown as the Edit menu shows them (text after a tab)
        menu.addAction("Duplicate\tCtrl+D", lambda: self.duplicate_nodes(self.selected_node_ids() or [node_id]))
        menu.addAction("Delete\tDel", lambda: doc.remove(self.selected_node_ids() or [node_id]))
        return menu

    def set_requires_grad(self, node_id: str, on: bool) -> None:
        node = dataclasses.replace(self.doc.graph.nodes[node_id], requires_grad=on)
        self.doc.edit_node(node, "Toggle requires_grad")

    def add_node_at(self, op: str, pos: QPointF) -> str:
        """A new node of this op at pos, or straight above or below it where that is taken (the
        palette adds each at the view's centre: a second there hid the first), named as
        graph.edits.new_node_id names it (a, b, …; mul1, …)."""
        node_id = new_node_id(self.doc.graph, op)
        node = new_node(op, node_id)
        x = round(pos.x(), 1)
        y = free_top(self.doc.graph, x, pos.y(), box_height(node, preview=True))
        self.doc.add_node(node, (x, round(y, 1)))
        return node_id

    def duplicate_nodes(self, node_ids: list[str]) -> None:
        """The menu's Duplicate: below the originals, further each time (as Ctrl+D, gui.clipboard)."""
        text = self.doc.copy_text(node_ids)
        self.doc.paste(text, free_offset(self.doc.graph, text, self.duplicate_offset(node_ids)))

    def duplicate_offset(self, node_ids: list[str]) -> tuple[float, float]:
        """Where a duplicate goes, relative to the original: just below it (the selection's
        height and a gap), a little to the right, so it never sits on the original."""
        rect = QRectF()
        for n in node_ids:
            item = self.nodes.get(n)
            if item is not None:
                r = QRectF(item.pos(), item.boundingRect().size())
                rect = rect.united(r) if not rect.isNull() else r
        return (30.0, round(rect.height(), 1) + 30.0) if not rect.isNull() else (40.0, 40.0)

    def canvas_menu(self, scene_pos: QPointF) -> QMenu:
        """The menu of the empty canvas: Add node ▸ a submenu per category (tensors first, then
        the op catalogue's), each op added where the menu was opened."""
        menu = QMenu()
        add = menu.addMenu("Add node")
        by_category: dict[str, list[str]] = {"tensors": [TENSOR]}
        for category in categories():
            by_category[category] = [name for name, spec in OPS.items() if spec.category == category]
        for category, names in by_category.items():
            sub = add.addMenu(category)
            for name in names:
                symbol = "▦" if name == TENSOR else op_symbol(OPS[name].symbol)
                sub.addAction(f"{name}   {symbol}", lambda op=name: self.add_node_at(op, scene_pos))
        for extend in self.canvas_menu_extras:
            extend(menu, scene_pos)
        return menu
