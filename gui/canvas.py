"""The canvas: one QGraphicsItem per node (level of detail in paint), edges as path items.

The scene mirrors the Document through its signals and sends every edit back as a Document
call (and so an undo command). Settings follow ENVIRONMENT.md: NoIndex, BoundingRectViewportUpdate,
DeviceCoordinateCache on nodes, DontSavePainterState, DontAdjustForAntialiasing.
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QKeySequence,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsSceneMouseEvent,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QLineEdit,
    QMenu,
    QStyleOptionGraphicsItem,
    QWidget,
)

from graph.errors import GraphError
from graph.model import Edge, new_node
from graph.values import literal_shape, parse_finite_json
from gui.compute import ComputeResult, NodeView
from gui.document import Document, grid_positions, usable_pos
from gui.palette import MIME_OP

NODE_W = 220.0
HEADER_H = 26.0
PORT_H = 18.0
OVERLAY_H = 38.0
PREVIEW_H = 30.0
PORT_R = 5.0
DIFF_BTN = QRectF(NODE_W - 26, 4, 22, 18)  # the ∂ button in the header

COLORS = {
    "leaf_grad": QColor("#2a7f62"),  # a leaf with requires_grad: where .grad lands
    "leaf_const": QColor("#6b6f76"),  # a constant leaf
    "op": QColor("#34506e"),
    "body": QColor("#20242b"),
    "text": QColor("#e8eaed"),
    "dim_text": QColor("#9aa0a6"),
    "grad_text": QColor("#ffb86b"),
    "target": QColor("#ff8c1a"),
    "error": QColor("#e5484d"),
    "selected": QColor("#f5d90a"),
    "edge": QColor("#8a94a6"),
    "edge_selected": QColor("#f5d90a"),
    "port": QColor("#c9d1d9"),
    "refused": QColor("#e5484d"),
    "ok": QColor("#46c46e"),
    "background": QColor("#15181d"),
    "nonfinite": QColor("#d946ef"),  # NaN / inf entries in a preview
}
SCENE_MARGIN = 50_000.0  # how far past the nodes the view can scroll
MIN_ZOOM, MAX_ZOOM = 0.05, 4.0


def _preview_image(a: np.ndarray | None, width: int, height: int) -> QImage | None:
    """A tiny heatmap (2-D and up) or sparkline (1-D) of a tensor too big to write out.

    NaN and ±inf entries are drawn in their own colour (a cell, or a tick on the sparkline),
    and the colour scale is taken from the finite entries only.
    """
    if a is None or a.size <= 8:
        return None
    a = np.asarray(a, dtype=np.float64)
    img = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    if a.ndim <= 1:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        ys = a.reshape(-1)[::max(1, a.size // width)]
        ok = np.isfinite(ys)
        lo, hi = (float(ys[ok].min()), float(ys[ok].max())) if ok.any() else (0.0, 1.0)
        span = hi - lo or 1.0
        run: list[QPointF] = []

        def flush() -> None:
            p.setPen(QPen(COLORS["dim_text"], 1.2))
            if len(run) > 1:
                p.drawPolyline(QPolygonF(run))
            elif run:
                p.drawPoint(run[0])
            run.clear()

        for i, v in enumerate(ys):
            x = i * (width - 1) / max(1, len(ys) - 1)
            if ok[i]:
                run.append(QPointF(x, height - 2 - (v - lo) / span * (height - 4)))
            else:
                flush()
                p.setPen(QPen(COLORS["nonfinite"], 1.5))
                p.drawLine(QPointF(x, 0), QPointF(x, height))
        flush()
    else:
        m = a.reshape(a.shape[0], -1)
        rows = np.linspace(0, m.shape[0] - 1, min(m.shape[0], height)).astype(int)
        cols = np.linspace(0, m.shape[1] - 1, min(m.shape[1], width)).astype(int)
        m = m[np.ix_(rows, cols)]
        ok = np.isfinite(m)
        peak = float(np.abs(m[ok]).max()) if ok.any() else 0.0
        v = np.clip(np.where(ok, m, 0.0) / (peak or 1.0), -1.0, 1.0)  # diverging: blue < 0 < red
        r = np.where(v >= 0, 1.0, 1.0 + v)
        g = 1.0 - np.abs(v)
        b = np.where(v >= 0, 1.0 - v, 1.0)
        bad = COLORS["nonfinite"]
        rgb = np.stack([np.where(ok, c, alt / 255) for c, alt in ((r, bad.red()), (g, bad.green()),
                                                                  (b, bad.blue()))], axis=-1)
        rgb = np.round(rgb * 255).astype(np.uint32)
        argb = np.ascontiguousarray((0xFF << 24) | (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2])
        buf = argb.tobytes()  # QImage does not copy it: keep it alive until drawn
        cells = QImage(buf, m.shape[1], m.shape[0], m.shape[1] * 4, QImage.Format.Format_RGB32)
        p.drawImage(QRectF(0, 0, width, height), cells)
    p.end()
    return img


def _first_fitting(fm: QFontMetricsF, width: float, texts: list[str]) -> str:
    """The first text that fits the width, else the last (which the caller elides)."""
    for text in texts:
        if fm.horizontalAdvance(text) <= width:
            return text
    return texts[-1]


class NodeItem(QGraphicsItem):
    """One node: header (name, op, ∂ button), ports labelled with torch argument names,
    and the overlay (value and ∂target/∂node)."""

    def __init__(self, canvas: CanvasScene, node_id: str) -> None:
        super().__init__()
        self.canvas = canvas
        self.node_id = node_id
        self.view: NodeView | None = None
        self.stale = False
        self.is_target = False
        self.error: str | None = None
        self.fed: set[str] = set()  # input ports with an edge, kept by the scene
        self._previews: tuple[QImage | None, QImage | None] = (None, None)
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setAcceptHoverEvents(True)
        self.sync()

    @property
    def node(self):  # noqa: ANN201 - graph.model.Node
        return self.canvas.doc.graph.nodes[self.node_id]

    def _relayout(self) -> None:
        """Cache the geometry Qt asks for many times per frame (boundingRect, shape)."""
        node = self.node
        self.inputs: tuple[str, ...] = () if node.is_tensor else node.spec.inputs
        has_preview = any(img is not None for img in self._previews)
        height = HEADER_H + max(1, len(self.inputs)) * PORT_H + OVERLAY_H + (PREVIEW_H if has_preview else 0)
        if getattr(self, "_height", None) != height:
            self.prepareGeometryChange()
        self._height = height
        self._bounds = QRectF(-PORT_R - 1, -1, NODE_W + 2 * PORT_R + 2, height + 2)
        self._shape: QPainterPath | None = None  # made on the first hit test

    def height(self) -> float:
        return self._height

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return self._bounds

    def shape(self) -> QPainterPath:
        if self._shape is None:
            # The body plus the port dots, which sit on the left and right edges: without them
            # the outer half of every dot (and the output dot's centre) is not part of the node.
            path = QPainterPath()
            path.addRect(QRectF(0, 0, NODE_W, self._height))
            dots = QPainterPath()
            for c in (self.output_pos(), *(self.input_pos(p) for p in self.inputs)):
                dots.addEllipse(c, PORT_R + 1, PORT_R + 1)
            self._shape = path.united(dots)
        return self._shape

    # ---- ports ----

    def input_pos(self, port: str) -> QPointF:
        i = self.inputs.index(port) if port in self.inputs else 0
        return QPointF(0, HEADER_H + (i + 0.5) * PORT_H)

    def output_pos(self) -> QPointF:
        return QPointF(NODE_W, HEADER_H + 0.5 * PORT_H)

    def port_at(self, local: QPointF) -> tuple[str, str] | None:
        """("out", "") or ("in", port name) when local is on a port."""
        hit = PORT_R + 5
        if QLineF(local, self.output_pos()).length() <= hit:
            return ("out", "")
        for port in self.inputs:
            if QLineF(local, self.input_pos(port)).length() <= hit:
                return ("in", port)
        return None

    # ---- state from the document and the results ----

    def sync(self) -> None:
        node = self.node
        self._relayout()
        self._leaf_shape_text = ""  # a leaf's shape before any result; computed here, not per paint
        if node.is_tensor:
            try:
                self._leaf_shape_text = str(list(node.leaf_shape()))
            except GraphError:  # a bad value is reported elsewhere
                self._leaf_shape_text = "?"
        if usable_pos(node.pos):  # an absurd one (1e308) keeps the place the scene gave it
            self.setPos(QPointF(*node.pos))
        tip = [f"{node.id} ({node.op})"]
        if node.label:
            tip.append(node.label)
        if not node.is_tensor:
            tip.append(node.spec.rule)
        if self.error:
            tip.append("⚠ " + self.error)
        self.setToolTip("\n".join(tip))
        self.update()

    def set_view(self, view: NodeView | None) -> None:
        self.view = view
        if view is None:
            self._previews = (None, None)
        else:
            value = view.value_preview if view.value_preview is not None else view.value
            grad = view.grad_preview if view.grad_preview is not None else view.grad
            self._previews = (_preview_image(value, 80, 24), _preview_image(grad, 80, 24))
        self._relayout()
        self.update()

    # ---- painting, with level of detail ----

    def paint(self, p: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        node = self.node
        lod = option.levelOfDetailFromTransform(p.worldTransform())
        rect = QRectF(0, 0, NODE_W, self.height())
        head = COLORS["op"] if not node.is_tensor else (
            COLORS["leaf_grad"] if node.requires_grad else COLORS["leaf_const"])
        if lod < 0.2:  # tiny: a flat rectangle
            p.fillRect(rect, COLORS["target"] if self.is_target else head)
            return
        border = (COLORS["error"] if self.error else COLORS["target"] if self.is_target
                  else COLORS["selected"] if self.isSelected() else head.lighter(130))
        p.setPen(QPen(border, 3.0 if (self.is_target or self.error or self.isSelected()) else 1.0))
        p.setBrush(COLORS["body"])
        radius = 9.0 if node.is_tensor else 3.0  # leaves round, ops square: visibly different
        p.drawRoundedRect(rect, radius, radius)
        p.fillRect(QRectF(1.5, 1.5, NODE_W - 3, HEADER_H - 2), head)
        title = node.label or node.id
        p.setPen(COLORS["text"])
        p.setFont(self.canvas.title_font)
        kind = "leaf" if node.is_tensor else node.spec.symbol
        if lod < 0.45:  # small: the title only
            p.drawText(QRectF(6, 0, NODE_W - 12, HEADER_H), Qt.AlignmentFlag.AlignVCenter, title)
            return
        fm = QFontMetricsF(self.canvas.title_font)
        p.drawText(QRectF(6, 0, NODE_W - 70, HEADER_H), Qt.AlignmentFlag.AlignVCenter,
                   fm.elidedText(title, Qt.TextElideMode.ElideRight, NODE_W - 72))
        p.setFont(self.canvas.small_font)
        p.setPen(COLORS["dim_text"].lighter(140))
        p.drawText(QRectF(NODE_W - 100, 0, 70, HEADER_H),
                   Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, kind)
        # The ∂ button: click to make this node the target.
        p.setPen(QPen(COLORS["text"], 1))
        p.setBrush(COLORS["target"] if self.is_target else QColor(0, 0, 0, 90))
        p.drawRoundedRect(DIFF_BTN, 4, 4)
        p.setFont(self.canvas.title_font)
        p.drawText(DIFF_BTN, Qt.AlignmentFlag.AlignCenter, "∂")
        # Ports, labelled with torch's argument names.
        p.setFont(self.canvas.small_font)
        fed = self.fed
        for port in self.inputs:
            c = self.input_pos(port)
            p.setPen(QPen(COLORS["port"], 1.2))
            p.setBrush(COLORS["port"] if port in fed else COLORS["body"])
            p.drawEllipse(c, PORT_R, PORT_R)
            p.setPen(COLORS["dim_text"])
            p.drawText(QRectF(c.x() + 9, c.y() - PORT_H / 2, 90, PORT_H), Qt.AlignmentFlag.AlignVCenter, port)
        out = self.output_pos()
        p.setPen(QPen(COLORS["port"], 1.2))
        p.setBrush(COLORS["port"])
        p.drawEllipse(out, PORT_R, PORT_R)
        p.setPen(COLORS["dim_text"])
        shape_text = self._shape_text()
        p.drawText(QRectF(NODE_W - 120, out.y() - PORT_H / 2, 110, PORT_H),
                   Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, shape_text)
        self._paint_overlay(p)

    def _shape_text(self) -> str:
        return str(list(self.view.shape)) if self.view is not None else self._leaf_shape_text

    def _paint_overlay(self, p: QPainter) -> None:
        top = HEADER_H + max(1, len(self.inputs)) * PORT_H
        p.setPen(QPen(COLORS["dim_text"].darker(160), 1))
        p.drawLine(QPointF(6, top + 1), QPointF(NODE_W - 6, top + 1))
        fm = QFontMetricsF(self.canvas.mono_font)
        target = self.canvas.doc.target
        view = self.view
        font = QFont(self.canvas.mono_font)
        font.setItalic(self.stale)
        p.setFont(font)
        if view is None:
            p.setPen(COLORS["dim_text"])
            msg = "computing…" if self.stale else ("click ∂ to differentiate" if target is None else "")
            p.drawText(QRectF(8, top + 3, NODE_W - 16, 16), Qt.AlignmentFlag.AlignVCenter, msg)
            return
        width = NODE_W - 16
        p.setPen(COLORS["dim_text"] if self.stale else COLORS["text"])
        p.drawText(QRectF(8, top + 3, width, 16), Qt.AlignmentFlag.AlignVCenter,
                   fm.elidedText(self.value_line(fm, width), Qt.TextElideMode.ElideRight, width))
        if view.grad_text is not None:
            p.setPen(COLORS["dim_text"] if self.stale else COLORS["grad_text"])
            text = self.grad_line(fm, width)
        else:
            p.setPen(COLORS["dim_text"])
            text = f"no grad: {view.no_grad_reason}"
        p.drawText(QRectF(8, top + 19, width, 16), Qt.AlignmentFlag.AlignVCenter,
                   fm.elidedText(text, Qt.TextElideMode.ElideRight, width))
        for i, img in enumerate(self._previews):
            if img is not None:
                p.drawImage(QPointF(10 + i * 95, top + OVERLAY_H + 2), img)
        if self.stale:
            p.setPen(COLORS["target"])
            p.drawText(QRectF(8, top + 3, NODE_W - 16, 16), Qt.AlignmentFlag.AlignRight, "stale")

    def _without_shape(self, text: str) -> str:
        """"norm 7.356e4" from "[2000, 2000] norm 7.356e4": the shape is on the port row already."""
        shape = "[" + ", ".join(str(d) for d in self.view.shape) + "] "
        return text[len(shape):] if text.startswith(shape) else text

    def value_line(self, fm: QFontMetricsF, width: float) -> str:
        text = self.view.value_text
        return _first_fitting(fm, width, [f"= {text}", f"= {self._without_shape(text)}"])

    def grad_line(self, fm: QFontMetricsF, width: float) -> str:
        """∂target/∂node = …, with the names (then the shape) dropped when they would push the
        numbers out."""
        text, target = self.view.grad_text, self.canvas.doc.target
        return _first_fitting(fm, width, [f"∂{target}/∂{self.node_id} = {text}", f"∂/∂{self.node_id} = {text}",
                                          f"∂ = {text}", f"∂ = {self._without_shape(text)}"])

    # ---- interaction ----

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: object) -> object:  # noqa: N802
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            self.canvas.update_edges_of(self.node_id)
            self.canvas.include(self)
        return super().itemChange(change, value)

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and DIFF_BTN.contains(event.pos()):
            self.canvas.doc.set_target(self.node_id)
            event.accept()
            return
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            # Shift-click adds to (or removes from) the selection.
            self.setSelected(not self.isSelected())
            event.accept()
            return
        super().mousePressEvent(event)

    def contextMenuEvent(self, event) -> None:  # noqa: N802, ANN001
        if not self.isSelected():
            self.scene().clearSelection()
            self.setSelected(True)
        self.canvas.node_menu(self.node_id).exec(event.screenPos())

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            # The press already toggled this item; Qt's default release would select it alone.
            event.accept()
            return
        super().mouseReleaseEvent(event)


class EdgeItem(QGraphicsPathItem):
    def __init__(self, canvas: CanvasScene, edge: Edge) -> None:
        super().__init__()
        self.canvas, self.edge = canvas, edge
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(-1)
        self.setToolTip(f"{edge.src} → {edge.dst}.{edge.port}")
        self._shape: QPainterPath | None = None
        self._bounds = QRectF()
        self.update_path()

    def update_path(self) -> None:
        src, dst = self.canvas.nodes.get(self.edge.src), self.canvas.nodes.get(self.edge.dst)
        if src is None or dst is None:
            return
        path = wire_path(src.mapToScene(src.output_pos()), dst.mapToScene(dst.input_pos(self.edge.port)))
        self.prepareGeometryChange()
        self._shape = None
        # The curve lies inside its control points; the margin covers the pen's width.
        self._bounds = path.controlPointRect().adjusted(-3, -3, 3, 3)
        self.setPath(path)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API; cheaper than Qt's stroke-based one
        return self._bounds

    def contextMenuEvent(self, event) -> None:  # noqa: N802, ANN001
        menu = QMenu()
        menu.addAction(f"Delete edge {self.edge.src} → {self.edge.dst}.{self.edge.port}",
                       lambda: self.canvas.doc.disconnect([self.edge]))
        menu.exec(event.screenPos())

    def shape(self) -> QPainterPath:
        if self._shape is None:  # a stroke is costly: make it once per path, when first hit-tested
            stroker = QPainterPathStroker()
            stroker.setWidth(10)
            self._shape = stroker.createStroke(self.path())
        return self._shape

    def paint(self, p: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        color = COLORS["edge_selected"] if self.isSelected() else COLORS["edge"]
        p.setPen(QPen(color, 2.4 if self.isSelected() else 1.6))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(self.path())


def wire_path(a: QPointF, b: QPointF) -> QPainterPath:
    dx = max(40.0, abs(b.x() - a.x()) * 0.5)
    if b.x() < a.x():  # a wire back to the left (e.g. to the next band of a wrapped layout):
        dx = min(dx, 150.0)  # a short loop out of the port, not a swing as wide as the canvas
    path = QPainterPath(a)
    path.cubicTo(QPointF(a.x() + dx, a.y()), QPointF(b.x() - dx, b.y()), b)
    return path


class CanvasScene(QGraphicsScene):
    """Mirrors the document; turns mouse gestures into document edits."""

    message = Signal(str)  # for the status bar
    editValueRequested = Signal(str)  # a tensor node's value is to be edited in place

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[Edge, EdgeItem] = {}
        self.edges_at: dict[str, set[Edge]] = {}  # node id -> the edges touching it
        self.title_font = QFont()
        self.title_font.setPointSizeF(10)
        self.title_font.setBold(True)
        self.small_font = QFont()
        self.small_font.setPointSizeF(8)
        self.mono_font = QFont("DejaVu Sans Mono")
        self.mono_font.setStyleHint(QFont.StyleHint.Monospace)
        self.mono_font.setPointSizeF(8.0)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.setBackgroundBrush(COLORS["background"])
        self._wire: QGraphicsPathItem | None = None  # the edge being dragged
        self._wire_label: QGraphicsSimpleTextItem | None = None
        self._wire_from: str | None = None
        self._wire_upstream: set[str] | None = None  # graph.upstream(_wire_from), once per drag
        self._cut: QGraphicsPathItem | None = None  # the cutting line (Alt-drag)
        self._press_positions: dict[str, QPointF] = {}
        self.result: ComputeResult | None = None
        self._content = QRectF()  # grows to hold every node; the scene rect is this plus a margin
        self._building = False
        doc.nodeAdded.connect(self._on_node_added)
        doc.nodeRemoved.connect(self._on_node_removed)
        doc.nodeChanged.connect(self._on_node_changed)
        doc.nodeMoved.connect(self._on_node_changed)
        doc.edgeAdded.connect(self._on_edge_added)
        doc.edgeRemoved.connect(self._on_edge_removed)
        doc.graphReset.connect(self.rebuild)
        doc.targetChanged.connect(self._on_target_changed)
        self.rebuild()

    # ---- mirroring the document ----

    def rebuild(self) -> None:
        self.clear_wire()
        for item in [*self.edges.values(), *self.nodes.values()]:
            self.removeItem(item)
        self.nodes.clear()
        self.edges.clear()
        self.edges_at.clear()
        # Document.reset gives every node a usable position; this covers a graph set any other way.
        fallback = grid_positions(self.doc.graph)
        self._building = True
        for n in self.doc.graph.nodes:
            self._on_node_added(n, default_pos=QPointF(*fallback[n]) if n in fallback else None)
        for e in self.doc.graph.edges:
            self._on_edge_added(e)
        self._building = False
        self.fit_scene_rect()
        self.result = None

    def _on_node_added(self, node_id: str, default_pos: QPointF | None = None) -> None:
        item = NodeItem(self, node_id)
        if not usable_pos(self.doc.graph.nodes[node_id].pos):
            item.setPos(default_pos or QPointF(0, 0))
        item.is_target = node_id == self.doc.target
        self.nodes[node_id] = item
        self.edges_at.setdefault(node_id, set())
        self.addItem(item)
        self.include(item)

    # ---- the scene rect follows the nodes ----

    def include(self, item: NodeItem) -> None:
        """Grow the scene rect to hold this node (O(1): called whenever a node moves)."""
        if self._building:
            return
        rect = item.sceneBoundingRect()
        if not self._content.contains(rect):
            self._set_content(self._content.united(rect) if not self._content.isNull() else rect)

    def fit_scene_rect(self) -> QRectF:
        """Shrink or grow the scene rect to the nodes (O(nodes): on open and fit only)."""
        content = QRectF()
        for item in self.nodes.values():
            content = content.united(item.sceneBoundingRect()) if not content.isNull() else item.sceneBoundingRect()
        self._set_content(content)
        return content

    def _set_content(self, content: QRectF) -> None:
        self._content = content
        base = content if not content.isNull() else QRectF(0, 0, 1, 1)
        self.setSceneRect(base.adjusted(-SCENE_MARGIN, -SCENE_MARGIN, SCENE_MARGIN, SCENE_MARGIN))

    def content_rect(self) -> QRectF:
        """Where the nodes are (maybe a little more, after deletions), without a scan."""
        return QRectF(self._content)

    def _on_node_removed(self, node_id: str) -> None:
        item = self.nodes.pop(node_id, None)
        self.edges_at.pop(node_id, None)
        if item is not None:
            self.removeItem(item)

    def _on_node_changed(self, node_id: str) -> None:
        item = self.nodes.get(node_id)
        if item is not None:
            item.sync()
            self.update_edges_of(node_id)

    def _on_edge_added(self, edge: Edge) -> None:
        item = EdgeItem(self, edge)
        self.edges[edge] = item
        self.addItem(item)
        self.edges_at[edge.src].add(edge)
        self.edges_at[edge.dst].add(edge)
        self.nodes[edge.dst].fed.add(edge.port)
        self.nodes[edge.dst].update()  # the port dot fills in

    def _on_edge_removed(self, edge: Edge) -> None:
        item = self.edges.pop(edge, None)
        if item is not None:
            self.removeItem(item)
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

    def update_edges_of(self, node_id: str) -> None:
        for edge in self.edges_at.get(node_id, ()):
            self.edges[edge].update_path()

    # ---- results ----

    def set_stale(self) -> None:
        for item in self.nodes.values():
            if not item.stale:
                item.stale = True
                item.update()

    def show_result(self, result: ComputeResult | None) -> None:
        self.result = result
        errors = set(result.error_nodes) if result is not None and result.error else set()
        for n, item in self.nodes.items():
            item.stale = False
            item.error = result.error if n in errors else None
            item.set_view(result.nodes.get(n) if result is not None else None)
            item.sync()

    # ---- gestures ----

    def node_at(self, scene_pos: QPointF) -> NodeItem | None:
        for item in self.items(scene_pos):
            if isinstance(item, NodeItem):
                return item
        return None

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        pos = event.scenePos()
        if event.button() == Qt.MouseButton.LeftButton:
            if event.modifiers() & Qt.KeyboardModifier.AltModifier:
                self._cut = QGraphicsPathItem()
                self._cut.setPen(QPen(COLORS["refused"], 1.5, Qt.PenStyle.DashLine))
                self._cut.setPath(QPainterPath(pos))
                self.addItem(self._cut)
                event.accept()
                return
            item = self.node_at(pos)
            if item is not None:
                hit = item.port_at(item.mapFromScene(pos))
                if hit is not None and hit[0] == "out":
                    self._start_wire(item.node_id, pos)
                    event.accept()
                    return
            self._press_positions = {n: it.pos() for n, it in self.nodes.items() if it.isSelected()}
        super().mousePressEvent(event)
        self._press_positions.update({n: it.pos() for n, it in self.nodes.items() if it.isSelected()})

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        pos = event.scenePos()
        if self._cut is not None:
            path = self._cut.path()
            path.lineTo(pos)
            self._cut.setPath(path)
            return
        if self._wire is not None:
            self._drag_wire(pos)
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        pos = event.scenePos()
        if self._cut is not None:
            cut_shape = self._cut.path()
            self.removeItem(self._cut)
            self._cut = None
            reach = cut_shape.boundingRect().adjusted(-1, -1, 1, 1)  # a straight cut has no area
            crossed = [e for e, item in self.edges.items()
                       if item.boundingRect().intersects(reach)  # cheap test first, at thousands of edges
                       and (item.path().intersects(cut_shape) or _polyline_crosses(cut_shape, item.path()))]
            if crossed:
                self.doc.disconnect(crossed)
                self.message.emit(f"cut {len(crossed)} edge(s)")
            return
        if self._wire is not None:
            self._finish_wire(pos)
            return
        super().mouseReleaseEvent(event)
        moves = {n: (self.nodes[n].pos().x(), self.nodes[n].pos().y())
                 for n, p in self._press_positions.items()
                 if n in self.nodes and self.nodes[n].pos() != p}
        self._press_positions = {}
        if moves:
            self.doc.move(moves)

    # ---- wiring ----

    def _start_wire(self, src: str, pos: QPointF) -> None:
        self._wire_from = src
        self._wire_upstream = self.doc.graph.upstream(src)  # once per drag, not per mouse move
        self._wire = QGraphicsPathItem()
        self._wire.setZValue(10)
        self.addItem(self._wire)
        self._wire_label = QGraphicsSimpleTextItem()
        self._wire_label.setZValue(11)
        self._wire_label.setFont(self.small_font)
        self.addItem(self._wire_label)
        self._drag_wire(pos)

    def _target_port(self, pos: QPointF) -> tuple[str, str] | None:
        item = self.node_at(pos)
        if item is None:
            return None
        hit = item.port_at(item.mapFromScene(pos))
        if hit is not None and hit[0] == "in":
            return item.node_id, hit[1]
        # Dropped on a node body: its first free input port.
        free = [p for p in item.inputs if p not in item.fed]
        return (item.node_id, free[0]) if free else (item.node_id, item.inputs[0]) if item.inputs else (
            item.node_id, "input")

    def wire_refusal(self, pos: QPointF) -> tuple[tuple[str, str] | None, str | None]:
        target = self._target_port(pos)
        if target is None or self._wire_from is None:
            return None, None
        return target, self.doc.graph.edge_refusal(self._wire_from, target[0], target[1], self._wire_upstream)

    def _drag_wire(self, pos: QPointF) -> None:
        src = self.nodes[self._wire_from]
        start = src.mapToScene(src.output_pos())
        target, reason = self.wire_refusal(pos)
        end = pos
        if target is not None and reason is None:
            dst = self.nodes[target[0]]
            end = dst.mapToScene(dst.input_pos(target[1]))
        color = COLORS["refused"] if reason else COLORS["ok"] if target else COLORS["edge"]
        self._wire.setPen(QPen(color, 2.0, Qt.PenStyle.DashLine if reason else Qt.PenStyle.SolidLine))
        self._wire.setPath(wire_path(start, end))
        self._wire_label.setBrush(QBrush(color))
        self._wire_label.setText(f"✕ {reason}" if reason else (f"→ {target[0]}.{target[1]}" if target else ""))
        self._wire_label.setPos(pos + QPointF(12, 8))

    def _finish_wire(self, pos: QPointF) -> None:
        target, reason = self.wire_refusal(pos)
        src = self._wire_from
        self.clear_wire()
        if target is None:
            return
        if reason is not None:
            self.message.emit(f"edge refused: {reason}")
            return
        self.doc.connect(Edge(src, target[0], target[1]))
        self.message.emit(f"connected {src} → {target[0]}.{target[1]}")

    def clear_wire(self) -> None:
        for item in (self._wire, self._wire_label):
            if item is not None and item.scene() is self:
                self.removeItem(item)
        self._wire = self._wire_label = self._wire_from = self._wire_upstream = None

    # ---- selection helpers for the window ----

    def selected_node_ids(self) -> list[str]:
        return [n for n, item in self.nodes.items() if item.isSelected()]

    def selected_edges(self) -> list[Edge]:
        return [e for e, item in self.edges.items() if item.isSelected()]

    def node_menu(self, node_id: str) -> QMenu:
        """The node's context menu (built here, shown by the item, inspected by tests)."""
        doc, node = self.doc, self.doc.graph.nodes[node_id]
        menu = QMenu()
        menu.addAction(f"∂  Differentiate: make {node_id} the target", lambda: doc.set_target(node_id))
        if node.is_tensor:
            menu.addAction("Edit value in place…", lambda: self.editValueRequested.emit(node_id))
            toggle = menu.addAction("requires_grad")
            toggle.setCheckable(True)
            toggle.setChecked(node.requires_grad)
            toggle.triggered.connect(lambda on: self.set_requires_grad(node_id, on))
        menu.addSeparator()
        menu.addAction("Duplicate", lambda: doc.paste(doc.copy_text([node_id])))
        menu.addAction("Delete", lambda: doc.remove([node_id]))
        return menu

    def set_requires_grad(self, node_id: str, on: bool) -> None:
        node = copy.deepcopy(self.doc.graph.nodes[node_id])
        node.requires_grad = on
        self.doc.edit_node(node, "Toggle requires_grad")

    def set_value_text(self, node_id: str, text: str) -> str | None:
        """Set a tensor's literal value from JSON text; return why it was refused, or None."""
        try:
            value = parse_finite_json(text, "value")
            literal_shape(value)
        except GraphError as e:
            return f"{node_id}: {e.message}"
        node = copy.deepcopy(self.doc.graph.nodes[node_id])
        node.value, node.init = value, None
        try:
            self.doc.edit_node(node, "Edit value")  # checks the value against the node's dtype
        except GraphError as e:
            return f"{node_id}: {e.message.removeprefix(node_id + ': ')}"
        return None

    def add_node_at(self, op: str, pos: QPointF) -> str:
        node_id = self.doc.unique_id(op if op != "tensor" else "x")
        self.doc.add_node(new_node(op, node_id, (round(pos.x(), 1), round(pos.y(), 1))))
        return node_id


def _polyline_crosses(cut: QPainterPath, wire: QPainterPath) -> bool:
    """Whether the cut stroke crosses the wire (sampled segments, cheap and exact enough)."""
    cut_pts = [cut.elementAt(i) for i in range(cut.elementCount())]
    segs = [QLineF(QPointF(a.x, a.y), QPointF(b.x, b.y)) for a, b in zip(cut_pts, cut_pts[1:], strict=False)]
    wire_pts = [wire.pointAtPercent(t / 24) for t in range(25)]
    for a, b in zip(wire_pts, wire_pts[1:], strict=False):
        w = QLineF(a, b)
        for s in segs:
            if s.intersects(w)[0] == QLineF.IntersectionType.BoundedIntersection:
                return True
    return False


class _ValueEditor(QLineEdit):
    """The in-place value editor; closes on Escape or when focus leaves it."""

    def close_editor(self) -> None:
        self.hide()
        self.deleteLater()

    def keyPressEvent(self, event) -> None:  # noqa: N802, ANN001
        if event.key() == Qt.Key.Key_Escape:
            self.close_editor()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802, ANN001
        super().focusOutEvent(event)
        self.close_editor()


class CanvasView(QGraphicsView):
    """Zoom on the wheel, pan with the middle button or space-drag, Ctrl+0 fits the graph."""

    dropOp = Signal(str, QPointF)  # a palette item dropped at a scene position
    searchRequested = Signal(QPointF)  # Tab / double-click on empty canvas

    def __init__(self, scene: CanvasScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self._scene = scene  # keep a Python reference (ENVIRONMENT.md)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.BoundingRectViewportUpdate)
        self.setOptimizationFlags(QGraphicsView.OptimizationFlag.DontSavePainterState
                                  | QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setAcceptDrops(True)
        # No fixed scene rect: the scene's follows its nodes (CanvasScene.include).
        self._pan_from: QPointF | None = None
        self._space = False
        self.value_editor: QLineEdit | None = None
        scene.editValueRequested.connect(self.edit_value)

    # ---- zoom and pan ----

    def zoom(self, factor: float) -> None:
        """Zoom in up to 4x; out down to 0.05x, or as far as it takes to see every node."""
        scale = self.transform().m11() * factor
        content = self._scene.content_rect()
        vp = self.viewport().rect()
        fit = min(vp.width() / max(1.0, content.width()), vp.height() / max(1.0, content.height())) * 0.8
        if (factor > 1 and scale <= MAX_ZOOM) or (factor < 1 and scale >= min(MIN_ZOOM, fit)):
            self.scale(factor, factor)

    def wheelEvent(self, event) -> None:  # noqa: N802, ANN001
        self.zoom(math.pow(1.0015, event.angleDelta().y()))

    def fit_graph(self) -> None:
        rect = self._scene.fit_scene_rect()
        if rect.isEmpty():
            self.resetTransform()
            self.centerOn(0, 0)
            return
        self.fitInView(rect.adjusted(-40, -40, 40, 40), Qt.AspectRatioMode.KeepAspectRatio)
        if self.transform().m11() > 1.2:
            self.resetTransform()
            self.scale(1.2, 1.2)
            self.centerOn(rect.center())

    def mousePressEvent(self, event) -> None:  # noqa: N802, ANN001
        if event.button() == Qt.MouseButton.MiddleButton or (
                self._space and event.button() == Qt.MouseButton.LeftButton):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802, ANN001
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802, ANN001
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802, ANN001
        pos = self.mapToScene(event.position().toPoint())
        item = self._scene.node_at(pos)
        if event.button() == Qt.MouseButton.LeftButton:
            if item is None:
                self.searchRequested.emit(pos)
                return
            if item.node.is_tensor and item.port_at(item.mapFromScene(pos)) is None:
                self.edit_value(item.node_id)
                return
        super().mouseDoubleClickEvent(event)

    def edit_value(self, node_id: str) -> QLineEdit | None:
        """A line edit over the node's value line: Enter sets the value, Escape cancels."""
        item = self._scene.nodes.get(node_id)
        if item is None:
            return None
        node = item.node
        if node.init is not None:
            self._scene.message.emit(f"{node_id} is made by init '{node.init['fn']}': edit it in the inspector")
            return None
        top = HEADER_H + max(1, len(item.inputs)) * PORT_H
        rect = self.mapFromScene(item.mapRectToScene(QRectF(4, top + 2, NODE_W - 8, 18))).boundingRect()
        editor = _ValueEditor(self.viewport())
        editor.setText(json.dumps(node.value))
        editor.setGeometry(rect.adjusted(0, -3, 0, 3))
        editor.setToolTip("a number or nested list, e.g. [[1, 2], [3, 4]]; Enter sets it, Escape cancels")

        def commit() -> None:
            reason = self._scene.set_value_text(node_id, editor.text()) if node_id in self._scene.nodes else None
            if reason is None:
                editor.close_editor()
            else:
                editor.setStyleSheet("border: 2px solid #e5484d;")
                self._scene.message.emit(reason)

        editor.returnPressed.connect(commit)
        editor.show()
        editor.setFocus()
        editor.selectAll()
        self.value_editor = editor
        return editor

    def keyPressEvent(self, event) -> None:  # noqa: N802, ANN001
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        if event.key() == Qt.Key.Key_Tab:
            cursor = self.viewport().mapFromGlobal(self.cursor().pos())  # viewport, not view, coords
            inside = self.viewport().rect().contains(cursor)
            pos = self.mapToScene(cursor if inside else self.viewport().rect().center())
            self.searchRequested.emit(pos)
            return
        if event.matches(QKeySequence.StandardKey.Delete) or event.key() == Qt.Key.Key_Backspace:
            self._scene.doc.remove(self._scene.selected_node_ids(), self._scene.selected_edges())
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802, ANN001
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            return
        super().keyReleaseEvent(event)

    def focusNextPrevChild(self, forward: bool) -> bool:  # noqa: N802
        return False  # Tab opens the search popup instead of moving focus

    # ---- drops from the palette ----

    def dragEnterEvent(self, event) -> None:  # noqa: N802, ANN001
        if event.mimeData().hasFormat(MIME_OP):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802, ANN001
        if event.mimeData().hasFormat(MIME_OP):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802, ANN001
        data = event.mimeData()
        if not data.hasFormat(MIME_OP):
            event.ignore()
            return
        op = bytes(data.data(MIME_OP)).decode("utf-8", "replace")
        self.dropOp.emit(op, self.mapToScene(event.position().toPoint()))
        event.acceptProposedAction()

