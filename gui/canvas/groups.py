"""Groups on the canvas (graph.groups): an expanded group is a labelled frame behind its nodes; a
collapsed one is a single box standing for them, with the group's inputs and outputs as ports
(the edges that cross its boundary are drawn to it) and the gradient norm of its parameters
(the requires-grad leaves inside) from the current result. A click on the header's ▾ / ▸ or a
double-click on the header toggles it (Document.set_collapsed: one undo step).

One GroupItem per group (imported models have one per module: hundreds, not thousands). The
frames follow the nodes once per drag frame, and cost nothing when the graph has no groups.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsSceneMouseEvent, QGraphicsView, QStyleOptionGraphicsItem, QWidget

from graph import groups as model
from graph.edits import FRAME_HEADER, FRAME_PAD, HEADER_H, NODE_W, PORT_H, PORT_R, frame_around
from graph.fileformat import ZOOM_RANGE
from graph.model import Edge, Graph
from graph.safetext import visible
from gui.canvas.labels import fitted_title
from gui.canvas.style import COLORS

if TYPE_CHECKING:
    from autograd_bridge.compute import ComputeResult
    from gui.canvas.scene import CanvasScene

BUTTON_W = 22.0  # the ▾ / ▸ at the left of a header
NORM_H = 36.0  # the collapsed box's gradient-norm rows (two lines)
LABEL_SCALE = 0.8  # below this zoom a box's port names are left out (as nodes drop detail)
FRAME = QColor("#7c8fd6")
FRAME_FILL = QColor(124, 143, 214, 26)


def param_grad_norm(graph: Graph, group_id: str, result: ComputeResult | None,
                    within: list[str] | None = None) -> tuple[float | None, int]:
    """The 2-norm of the gradients of every requires-grad leaf in the group (nested groups
    included; `within`, if given, lists those nodes) as one vector, and how many leaves that
    is. None: no result, or a leaf's gradient is missing from it (not computed, or too large
    to keep)."""
    inside = model.nodes_within(graph, group_id) if within is None else within
    leaves = [n for n in inside if graph.nodes[n].is_tensor and graph.nodes[n].requires_grad]
    if result is None or not leaves:
        return None, len(leaves)
    total = 0.0
    for n in leaves:
        view = result.nodes.get(n)
        if view is None or view.grad is None:
            return None, len(leaves)
        total += float(np.sum(np.square(view.grad, dtype=np.float64)))
    return math.sqrt(total), len(leaves)


def _sized(font: QFont, scale: float, room: float) -> QFont:
    """The font at least 12 px on screen (as nodes' text is, gui.canvas.lod) where the row's
    height allows it."""
    sized = QFont(font)
    sized.setPixelSize(max(1, int(min(room * 0.8, max(font.pixelSize(), 12.0 / scale)))))
    return sized


def _header_text(p: QPainter, rect: QRectF, text: str) -> None:
    """A frame's or box's title, ended with "…" where it would be cut at the edge."""
    text = fitted_title(p.fontMetrics(), text, int(rect.width()))
    p.drawText(rect, Qt.AlignmentFlag.AlignBottom, text)


class GroupItem(QGraphicsItem):
    """One group: a frame (expanded) or a box with ports (collapsed)."""

    def __init__(self, layer: GroupLayer, group_id: str) -> None:
        super().__init__()
        self.layer, self.group_id = layer, group_id
        self.rect = QRectF()
        self.collapsed = False
        self.title = ""
        self.inputs: list[tuple[str, str]] = []  # collapsed: (node, port) inside fed from outside
        self.outputs: list[str] = []  # collapsed: nodes inside that feed one outside
        self.norm_text = ""
        self.toggled = False  # the last press was on the ▾ / ▸
        self.nested = False  # in another group's frame: its title may grow up only to that frame's band
        self.setAcceptedMouseButtons(Qt.MouseButton.LeftButton)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        # a frame's title may grow up out of its band, zoomed out (paint)
        grow = 3 * FRAME_HEADER * 1.3  # and a box's title and norm out of theirs
        wide = 2 * self.rect.width() if self.collapsed else 0.0  # ... and wider than the box
        return self.rect.adjusted(-PORT_R - 1, -1 - grow, PORT_R + 1 + wide, 1 + (grow if self.collapsed else 0.0))

    def header(self) -> QRectF:
        return QRectF(self.rect.x(), self.rect.y(), self.rect.width(), FRAME_HEADER)

    def shape(self) -> QPainterPath:
        """Only the header of a frame takes the mouse (a rubber band may start inside it); all
        of a collapsed box does."""
        path = QPainterPath()
        path.addRect(self.rect if self.collapsed else self.header())
        return path

    def title_band(self, scale: float) -> tuple[QFont, QRectF]:
        """A frame's title font and where it is drawn. Zoomed out, the title keeps 12 px on
        screen and grows up out of its band; a nested frame's only into the padding below its
        parent's band (else the two titles overlap)."""
        room = FRAME_HEADER + FRAME_PAD if self.nested else 3 * FRAME_HEADER
        font = _sized(self.layer.scene.title_font, scale, room)
        band = self.header()
        band.setTop(min(band.top(), max(band.bottom() - room, band.bottom() - 1.3 * font.pixelSize())))
        return font, band

    def set_geometry(self, rect: QRectF) -> None:
        if rect != self.rect:
            self.layer.scene.overview_repaint(self.rect.united(rect))  # drawn in bulk there
            self.prepareGeometryChange()
            self.rect = rect
        self.update()

    def paint_overview(self, p: QPainter) -> None:
        """This frame or box in the overview, where Qt draws no item: its outline, the box filled
        (the painter's pen is a one-pixel one; its title is drawn by GroupLayer.paint_overview)."""
        p.setBrush(FRAME.darker(160) if self.collapsed else FRAME_FILL)
        p.drawRect(self.rect)

    def in_point(self, node_id: str, port: str) -> tuple[float, float]:
        i = self.inputs.index((node_id, port)) if (node_id, port) in self.inputs else 0
        return self.rect.x(), self.rect.y() + HEADER_H + (i + 0.5) * PORT_H

    def out_point(self, node_id: str) -> tuple[float, float]:
        i = self.outputs.index(node_id) if node_id in self.outputs else 0
        return self.rect.right(), self.rect.y() + HEADER_H + (i + 0.5) * PORT_H

    def paint(self, p: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        scene = self.layer.scene
        scale = p.worldTransform().m11() or 1.0
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if not self.collapsed:
            p.setPen(QPen(FRAME, 1.5))
            p.setBrush(FRAME_FILL)
            p.drawRoundedRect(self.rect, 8, 8)
            font, band = self.title_band(scale)
            p.setFont(font)
            p.setPen(FRAME.lighter(130))
            _header_text(p, band.adjusted(8, 0, -6, -2), f"▾  {self.title}")
            return
        p.setPen(QPen(FRAME, 2.0))
        p.setBrush(COLORS["body"])
        p.drawRoundedRect(self.rect, 6, 6)
        head = QRectF(self.rect.x(), self.rect.y(), self.rect.width(), HEADER_H)
        p.setBrush(FRAME.darker(160))
        p.drawRoundedRect(head, 6, 6)
        font = _sized(scene.title_font, scale, 3 * FRAME_HEADER)
        p.setFont(font)
        p.setPen(COLORS["text"])
        head.setTop(min(head.top(), head.bottom() - 1.3 * font.pixelSize()))  # zoomed out: grows up
        head.setWidth(3 * head.width())
        _header_text(p, head.adjusted(8, 0, -6, -2), f"▸  {self.title}")
        p.setFont(scene.small_font)
        labels = scale >= LABEL_SCALE
        for n, port in self.inputs:
            x, y = self.in_point(n, port)
            self._port(p, x, y, visible(f"{n}.{port}") if labels else "", left=True)
        for n in self.outputs:
            x, y = self.out_point(n)
            self._port(p, x, y, visible(n) if labels else "", left=False)
        font = _sized(scene.mono_font, scale, 3 * FRAME_HEADER)
        p.setFont(font)
        p.setPen(COLORS["grad_text"])
        row = QRectF(self.rect.x() + 8, self.rect.bottom() - NORM_H, 3 * self.rect.width(), NORM_H)
        row.setBottom(max(row.bottom(), row.top() + 2.6 * font.pixelSize()))  # zoomed out: grows down
        p.drawText(row, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft, self.norm_text)

    def _port(self, p: QPainter, x: float, y: float, text: str, left: bool) -> None:
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QBrush(COLORS["port"]))
        p.drawEllipse(QPointF(x, y), PORT_R, PORT_R)
        p.setPen(COLORS["dim_text"])
        half = self.rect.width() / 2 - 10
        box = QRectF(x + 9 if left else x - 9 - half, y - PORT_H / 2, half, PORT_H)
        align = Qt.AlignmentFlag.AlignLeft if left else Qt.AlignmentFlag.AlignRight
        p.drawText(box, align | Qt.AlignmentFlag.AlignVCenter, text)

    def on_button(self, pos: QPointF) -> bool:
        return pos.y() - self.rect.y() <= max(FRAME_HEADER, HEADER_H) and pos.x() - self.rect.x() <= BUTTON_W

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802 - Qt API
        event.accept()  # no rubber band from a header or a box
        self.toggled = self.on_button(event.pos())  # read by the scene: a toggle is no drag
        if self.toggled:
            self.layer.toggle(self.group_id)


class _DoubleClicks(QObject):
    """A double-click on a group's header or box toggles it. The view answers a double-click on
    empty canvas itself (the op search), before the scene sees it: so this looks first."""

    def __init__(self, view: QGraphicsView) -> None:
        super().__init__(view)  # owned by the view: it ends with it

    def eventFilter(self, _obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() != QEvent.Type.MouseButtonDblClick or event.button() != Qt.MouseButton.LeftButton:
            return False
        view = self.parent()
        scene = view.scene()
        pos = view.mapToScene(event.position().toPoint())
        if scene.node_at(pos) is not None:
            return False
        item = next((it for it in scene.items(pos) if isinstance(it, GroupItem)), None)
        if item is None or item.on_button(item.mapFromScene(pos)):  # the button's press toggled it
            return item is not None
        item.layer.toggle(item.group_id)
        return True


class GroupLayer(QObject):
    """Keeps one GroupItem per group, hides the nodes of collapsed groups, and tells wires where
    a collapsed group stands for their ends (reroute). A child of the scene: Qt ends its signal
    connections with it, not Python's collector."""

    def __init__(self, scene: CanvasScene) -> None:
        super().__init__(scene)
        self.scene = scene
        self.items: dict[str, GroupItem] = {}
        self.hidden: dict[str, str] = {}  # node id -> the collapsed group whose box stands for it
        self._members: dict[str, list[str]] = {}
        self._order: list[str] = []  # deepest groups first: a frame holds its nested ones
        self._kids: dict[str | None, list[str]] = {}  # graph.groups.children_map, as of the last rebuild
        self._inside: dict[str, list[str]] = {}  # graph.groups.within_map, as of the last rebuild
        self.result: ComputeResult | None = None
        self._relayout = QTimer(self, singleShot=True, interval=0)
        self._relayout.timeout.connect(self.relayout)
        self._rebuild = QTimer(self, singleShot=True, interval=0)
        self._rebuild.timeout.connect(self.rebuild)
        doc = scene.doc
        doc.groupsChanged.connect(self.rebuild)
        for signal in (doc.nodeAdded, doc.nodeRemoved, doc.edgeAdded, doc.edgeRemoved):
            signal.connect(self._schedule)  # a collapsed box's ports may change

    def _schedule(self, *_args: object) -> None:
        if self.items or self.scene.doc.graph.groups:
            self._rebuild.start()

    def toggle(self, group_id: str) -> None:
        group = self.scene.doc.graph.groups.get(group_id)
        if group is not None:
            self.scene.doc.set_collapsed(group_id, not group.collapsed)

    def rebuild(self) -> None:
        """Groups, who is hidden and every box's ports, from the document."""
        self._rebuild.stop()
        scene, graph = self.scene, self.scene.doc.graph
        for g in [g for g in self.items if g not in graph.groups]:
            gone = self.items.pop(g)
            scene.overview_repaint(gone.rect)
            scene.removeItem(gone)
        for g in graph.groups:
            if g not in self.items:
                item = self.items[g] = GroupItem(self, g)
                scene.addItem(item)
        old_hidden, self.hidden = self.hidden, model.shown_as(graph)
        self._members = {g: [] for g in graph.groups}
        for n, g in graph.group_of.items():
            if n in scene.nodes:
                self._members[g].append(n)
        depth = {g: len(model.ancestors(graph, g)) for g in graph.groups}
        self._order = sorted(graph.groups, key=lambda g: -depth[g])
        # Each for every group at once: per group they would cost O(groups) each.
        self._kids, self._inside = model.children_map(graph), model.within_map(graph)
        ports = model.boundaries(graph, [g for g, group in graph.groups.items() if group.collapsed])
        for g, item in self.items.items():
            group = graph.groups[g]
            if (item.collapsed, item.title) != (group.collapsed, visible(group.title)):
                scene.overview_repaint(item.rect)  # drawn in bulk there: a new title or fill
            item.collapsed, item.title = group.collapsed, visible(group.title)
            item.nested = depth[g] > 1  # ancestors() counts the group itself
            item.inputs, item.outputs = ports.get(g, ([], []))
            item.setZValue(1.0 if group.collapsed else -2.0 + depth[g] * 1e-3)
        for n in old_hidden.keys() ^ self.hidden.keys():
            node_item = scene.nodes.get(n)
            if node_item is None:
                continue
            node_item.setVisible(n not in self.hidden)
            if n in self.hidden:
                scene.overview.remove_node(n)
                scene.overview_repaint(node_item.sceneBoundingRect())
            else:
                scene.node_synced(node_item, moved=False)  # back into the overview
        self._norms()
        self.relayout()

    def relayout(self) -> None:
        """Frames around their nodes and nested frames, boxes at their nodes' mean position; then
        the wires whose ends a box stands for."""
        self._relayout.stop()
        if not self.items:
            return
        graph, nodes = self.scene.doc.graph, self.scene.nodes
        rects: dict[str, QRectF] = {}
        for g in self._order:
            item = self.items[g]
            boxes = [nodes[n].sceneBoundingRect() for n in self._members[g] if n in nodes]  # one may be going
            boxes += [rects[c] for c in self._kids.get(g, []) if c in rects]
            if not boxes:  # nothing in it on the canvas: nothing to draw
                if item.isVisible():
                    self.scene.overview_repaint(item.rect)
                item.setVisible(False)
                continue
            if item.collapsed:  # where its nodes are on average: the space they leave free
                rows = max(1, len(item.inputs), len(item.outputs))
                at = [nodes[n].pos() for n in self._within(g)]  # some: a box above is one of them, or holds some
                x, y = sum(q.x() for q in at) / len(at), sum(q.y() for q in at) / len(at)
                rect = QRectF(x, y, NODE_W, HEADER_H + rows * PORT_H + NORM_H + 4)
            else:
                box = boxes[0]
                for r in boxes[1:]:
                    box = box.united(r)
                x0, y0, x1, y1 = frame_around(box.left(), box.top(), box.right(), box.bottom())
                rect = QRectF(x0, y0, x1 - x0, y1 - y0)
            rects[g] = rect
            item.set_geometry(rect)
            shown = not any(graph.groups[a].collapsed for a in model.ancestors(graph, g)[1:])
            if shown != item.isVisible():
                self.scene.overview_repaint(rect)
            item.setVisible(shown)
        self._reroute_wires()

    def paint_overview(self, p: QPainter, rect: QRectF, collapsed: bool) -> None:
        """The frames (collapsed False: under the wires) or the boxes (True: over them, as the
        items lie) meeting rect, in the overview; each title in 12 px on screen where the frame
        is big enough there to hold a line of it, and where it would not lie over the title of a
        frame around it (zoomed out, a nested frame's title band is a pixel or two below its
        parent's: "blocks.0" and "blocks.0.ln" were drawn over each other)."""
        shown = [it for it in self.items.values()
                 if it.collapsed == collapsed and it.isVisible() and it.rect.intersects(rect)]
        if not shown:
            return
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setPen(QPen(FRAME, 0))
        for item in shown:
            item.paint_overview(p)
        to_screen = p.worldTransform()
        p.resetTransform()  # titles in screen pixels
        font = QFont(self.scene.title_font)
        font.setPixelSize(12)
        p.setFont(font)
        p.setPen(FRAME.lighter(130))
        written: list[QRectF] = []
        for item in sorted(shown, key=QGraphicsItem.zValue):  # outer frames first (relayout's z)
            box = to_screen.mapRect(item.rect)
            if box.width() >= 40 and box.height() >= 18:  # else the title would lie over other nodes
                line = QRectF(box.x() + 4, box.y() + 1, box.width() - 8, 15)
                text = fitted_title(p.fontMetrics(), item.title, int(line.width()))
                line.setWidth(p.fontMetrics().horizontalAdvance(text))
                if not any(line.intersects(w) for w in written):
                    p.drawText(line, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, text)
                    written.append(line)
        p.restore()

    def _within(self, group_id: str) -> list[str]:
        return [n for n in self._inside.get(group_id, []) if n in self.scene.nodes]

    def _reroute_wires(self) -> None:
        scene = self.scene
        edges: set[Edge] = set()
        for n in self.hidden:
            edges.update(scene.edges_at.get(n, ()))
        edges.update(getattr(self, "_rerouted", ()))  # those that pointed at a box before
        self._rerouted = {e for e in edges if e.src in self.hidden or e.dst in self.hidden}
        for e in edges:
            if e in scene.edges:
                scene.edges[e].update_path()

    def reroute(self, edge: Edge, ends: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        """A wire's ends, with a collapsed group's box standing for the nodes it hides: an edge
        inside one box shrinks to a point under it."""
        if not self.hidden:
            return ends
        src_box, dst_box = self.hidden.get(edge.src), self.hidden.get(edge.dst)
        if src_box is None and dst_box is None:
            return ends
        x0, y0, x1, y1 = ends
        if src_box == dst_box:
            c = self.items[src_box].rect.center()
            return c.x(), c.y(), c.x(), c.y()
        if src_box is not None:
            x0, y0 = self.items[src_box].out_point(edge.src)
        if dst_box is not None:
            x1, y1 = self.items[dst_box].in_point(edge.dst, edge.port)
        return x0, y0, x1, y1

    def nodes_moved(self) -> None:
        if self.items:
            self._relayout.start()

    def show_result(self, result: ComputeResult | None) -> None:
        self.result = result
        if self.items:
            self._norms()

    def _norms(self) -> None:
        graph = self.scene.doc.graph
        for g, item in self.items.items():
            if not item.collapsed:
                continue
            norm, leaves = param_grad_norm(graph, g, self.result, self._inside.get(g))
            if not leaves:
                item.norm_text = "no parameters"
            elif norm is None:
                item.norm_text = f"‖∇θ‖ ?\n{leaves} parameter{'s' * (leaves > 1)}"
            else:  # two lines: one would run out of the box
                item.norm_text = f"‖∇θ‖ = {norm:.4g}\n{leaves} parameter{'s' * (leaves > 1)}"
            item.update()


# ---- the window: Edit > Group (Ctrl+G), Ungroup (Ctrl+Shift+G), Rename group; the saved view ----

def install(window) -> None:  # noqa: ANN001
    """Keep the view (zoom and centre) in the document's graph, so that Save writes it, and
    open a file where its view says (after the window's own fit)."""
    view = window.view
    view.viewport().installEventFilter(_DoubleClicks(view))
    _ViewKeeper(window)


class _ViewKeeper(QObject):
    """The view in the graph (a child of the window: Qt ends its connections with it)."""

    def __init__(self, window) -> None:  # noqa: ANN001
        super().__init__(window)
        self.view, self.doc = window.view, window.doc
        self.pending: tuple[float, float, float] | None = None  # a file's view, until the window has fitted
        self.doc.graphReset.connect(self.restore)
        for bar in (self.view.horizontalScrollBar(), self.view.verticalScrollBar()):
            bar.valueChanged.connect(self.remember)

    def remember(self) -> None:
        if self.pending is not None or not self.doc.graph.nodes:
            return
        view = self.view
        centre = view.mapToScene(view.viewport().rect().center())
        # five significant digits (round(zoom, 4) made a far zoomed-out view 0.0), kept in the
        # range the loader reads
        zoom = min(max(float(f"{view.transform().m11():.5g}"), ZOOM_RANGE[0]), ZOOM_RANGE[1])
        self.doc.graph.view = (zoom, round(centre.x(), 1), round(centre.y(), 1))

    def restore(self) -> None:
        self.pending = self.doc.graph.view
        if self.pending is not None:
            if self.view.isVisible():
                self._show(self.pending)  # now, so that the first paint shows it (Open does not fit such a file)
            # and again after any fit queued behind this (a lesson's) and once a window opening at start is laid out
            QTimer.singleShot(0, self, lambda: QTimer.singleShot(0, self, self.apply))

    def apply(self) -> None:
        if self.pending is None:
            return
        shown, self.pending = self.pending, None
        self._show(shown)
        self.remember()

    def _show(self, shown: tuple[float, float, float]) -> None:
        zoom, x, y = shown
        self.view.resetTransform()
        self.view.scale(zoom, zoom)
        self.view.centerOn(x, y)
