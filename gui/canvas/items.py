"""What the canvas draws: one NodeItem per node (level of detail in paint), one Wire per edge
(an EdgeItem where Qt must find it). (~590 lines, one piece: they share one set of bounds,
cache and paint rules.)

Items only draw and report clicks on themselves; gestures live in gui.canvas.interactions. The
levels of detail (full, summary, shape) are in gui.canvas.lod, the words on a node in
gui.canvas.labels, colours and fonts in gui.canvas.style, the preview pictures in
gui.canvas.previews. Settings follow ENVIRONMENT.md: DeviceCoordinateCache on nodes (not on
edges), cached shapes. Node and edge items are rect items whose rect is their bounds, so that Qt reads the
bounds of every item (every frame, every hit test) in C++; neither has an itemChange override or
a stored tooltip (whoever moves a node tells the scene; tooltips are made when shown). Zoomed out,
the view draws them all in one pass instead (gui.canvas.overview).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsSceneMouseEvent,
    QMenu,
    QStyleOptionGraphicsItem,
    QWidget,
)

from autograd_bridge.compute import NodeView
from graph.edits import (
    HEADER_H,
    NODE_W,
    OVERLAY_H,
    PORT_H,
    PORT_R,
    PREVIEW_H,
    box_height,
    input_port_y,
    input_port_ys,
    output_port_y,
    usable_pos,
)
from graph.errors import GraphError
from graph.model import Edge
from graph.safetext import visible
from graph.values import INLINE_MAX
from gui.canvas import labels, lod, wires
from gui.canvas.previews import heatmap, preview_image
from gui.canvas.style import COLORS
from gui.canvas.wires import wire_path
from gui.titles import involvement, title_of, tooltip

if TYPE_CHECKING:
    from gui.canvas.scene import CanvasScene

__all__ = ["COLORS", "DIFF_BTN", "HEADER_H", "NODE_W", "OVERLAY_H", "PORT_H", "PORT_R", "PREVIEW_H",
           "EdgeItem", "NodeItem", "Wire", "preview_image", "wire_path"]

DIFF_BTN = QRectF(NODE_W - 26, 4, 22, 18)  # the ∂ button in the header
WITHHELD = "∂ not reached yet (Step backward)"  # a partial a Step backward walk has not yet made whole

NO_PEN = QPen(Qt.PenStyle.NoPen)
MOVABLE_SELECTABLE = QGraphicsItem.GraphicsItemFlag.ItemIsMovable | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
# A wire is found, selected and given a menu, but never painted by Qt (EdgeItem).
SELECTABLE_NO_CONTENTS = (QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                          | QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
DEVICE_CACHE = QGraphicsItem.CacheMode.DeviceCoordinateCache
SCENE_MARGIN = 50_000.0  # how far past the nodes the view can scroll
MIN_ZOOM, MAX_ZOOM = 0.05, 4.0


def _first_fitting(fm: QFontMetricsF, width: float, texts: list[str]) -> str:
    """The first text that fits the width, else the last (which the caller elides)."""
    for text in texts:
        if fm.horizontalAdvance(text) <= width:
            return text
    return texts[-1]


class NodeItem(QGraphicsRectItem):
    """One node: header (name, op, ∂ button), ports labelled with torch argument names,
    and the overlay (value and ∂target/∂node). A rect item whose rect is its bounds, so that Qt
    reads them in C++ (it asks every item on every frame and hit test), not through Python."""

    def __init__(self, canvas: CanvasScene, node_id: str) -> None:
        super().__init__()
        self.setPen(NO_PEN)  # the rect item's pen would widen its bounds; paint is ours
        self.canvas = canvas
        self.node_id = node_id
        self.view: NodeView | None = None
        self.view_target: str | None = None  # the target the view's partial was computed for
        self.view_vjp = False  # the partial is vᵀ·J: the result was computed with a grad-output
        self._swatch: QImage | None = None  # a tensor's colours for the summary level (lod)
        self._swatch_of: np.ndarray | None = None  # what it is made from, on first use
        self.painted: tuple[str, float | None] | None = None  # (level, smallest text px on screen)
        self.diff_button = DIFF_BTN  # the ∂ button as last painted: a click there makes this the target
        self.stale = False
        self.is_target = False
        self.error: str | None = None
        self.involved: str | None = None  # "feeds c, which fails": an input a failing node's error names
        self.nonfinite: str | None = None  # NaN/Inf first appears here: what (a value, a partial)
        self.dimmed = False  # NaN/Inf spread here from elsewhere: drawn at 60 % opacity
        self.fed: set[str] = set()  # input ports with an edge, kept by the scene
        # Derivative marks on a leaf's port row (gui.calculus sets them): (text, kind), kind one
        # of "ok", "fail", "info" — a gradcheck badge, ∂²y/∂x², a second derivative.
        self.marks: list[tuple[str, str]] = []
        # The value's and the gradient's arrays that get a preview picture (too big to write out);
        # the pictures are made when first drawn, not for every node on every result.
        self._preview_of: tuple[np.ndarray | None, np.ndarray | None] = (None, None)
        self._preview_images: tuple[QImage | None, QImage | None] | None = None
        # No ItemSendsGeometryChanges: whoever moves a node tells the scene (CanvasScene.nodes_moved),
        # once per frame for a drag, instead of Qt calling a Python itemChange per item per change.
        self.setFlags(MOVABLE_SELECTABLE)
        self.setCacheMode(DEVICE_CACHE)
        self.sync()

    @property
    def node(self):  # noqa: ANN201 - graph.model.Node
        return self.canvas.doc.graph.nodes[self.node_id]

    def _relayout(self) -> None:
        """Cache the geometry Qt asks for many times per frame (boundingRect, shape)."""
        node = self.node
        self.inputs: tuple[str, ...] = node.ports  # a cat node's own count of them
        has_preview = self._has_preview()
        self._height = height = box_height(node, has_preview)
        self.out_y = output_port_y(node)
        self._in_y = input_port_ys(node)
        self.setRect(QRectF(-PORT_R - 1, -1, NODE_W + 2 * PORT_R + 2, height + 2))  # the port dots stick out
        self._shape: QPainterPath | None = None  # made on the first hit test

    def height(self) -> float:
        return self._height

    def width(self) -> float:
        return NODE_W

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

    def in_y(self, port: str) -> float:
        """The input port's height in the box."""
        y = self._in_y.get(port)
        return input_port_y(self.node, port) if y is None else y

    def input_pos(self, port: str) -> QPointF:
        return QPointF(0, self.in_y(port))

    def output_pos(self) -> QPointF:
        return QPointF(NODE_W, self.out_y)

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
        self.canvas.node_synced(self, self.take_position())
        self.update()

    def take_position(self) -> bool:
        """Go to the node's place in the document; whether that moved the item. The scene is told
        by whoever calls (sync, or the scene itself for a move of many)."""
        pos = self.canvas.doc.graph.position(self.node_id)
        self.placed = usable_pos(pos)  # an absurd one (1e308) keeps the place the scene gave it
        moved = self.placed and (pos[0] != self.x() or pos[1] != self.y())
        if moved:
            self.setPos(pos[0], pos[1])
        return moved

    def toolTip(self) -> str:  # noqa: N802 - Qt's name; made when shown (CanvasScene.helpEvent), not per node
        node = self.node
        tip = [f"{node.id} ({node.op})"]
        if node.label:
            tip.append(node.label)
        if not node.is_tensor:
            tip.append(f"local derivative: {node.spec.rule}")
        tip += [text for text, _kind in self.marks]
        if self.error:
            tip.append("⚠ " + self.error)
        if self.involved:
            tip.append(self.involved)
        if self.nonfinite:
            tip.append("NaN/Inf starts here: " + self.nonfinite)
        return tooltip(tip)

    def set_view(self, view: NodeView | None, target: str | None = None, vjp: bool = False) -> None:
        """Show a result's view of this node; `target` is what its partial was computed for,
        the only name the partial is ever shown under, and `vjp` says it was computed with a
        grad-output (a vector–Jacobian product)."""
        self.view, self.view_target, self.view_vjp = view, target, vjp and target is not None
        # The scene marks the node that fails; an input the error names beside it keeps its
        # value and says what it feeds (gui.titles.involvement), never red itself.
        self.involved = involvement(self.canvas.doc.graph, self.node_id, self.canvas.result)
        self._swatch = self._swatch_of = None
        had_preview = self._has_preview()
        self._preview_images = None
        if view is None:
            self._preview_of = (None, None)
        else:
            value = view.value_preview if view.value_preview is not None else view.value
            grad = view.grad_preview if view.grad_preview is not None else view.grad
            self._preview_of = (value if value is not None and value.size > INLINE_MAX else None,
                                grad if grad is not None and grad.size > INLINE_MAX else None)
            shown = grad if target is not None and view.grad_text is not None else value
            if shown is not None and math.prod(view.shape) > 1:
                self._swatch_of = shown  # made when the summary level first draws it, not per result
        if self._has_preview() != had_preview:
            self._relayout()  # a preview row came or went: the box's height changed
            self.canvas.node_synced(self, False)  # the overview's row holds the height, not the numbers
        self.update()

    def _has_preview(self) -> bool:
        value, grad = self._preview_of
        return value is not None or grad is not None

    @property
    def _previews(self) -> tuple[QImage | None, QImage | None]:
        if self._preview_images is None:
            self._preview_images = tuple(preview_image(a, 80, 24) for a in self._preview_of)
        return self._preview_images

    @property
    def swatch(self) -> QImage | None:
        if self._swatch is None and self._swatch_of is not None:
            self._swatch = heatmap(self._swatch_of)
        return self._swatch

    # ---- painting, with level of detail (gui.canvas.lod) ----

    def paint(self, p: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        scale = option.levelOfDetailFromTransform(p.worldTransform())
        level = lod.level_for(scale, self._height)
        self.painted = (level, lod.text_px_on_screen(level, scale, self._height))
        self.diff_button = DIFF_BTN  # the summary draws its own, bigger (lod.summary_button)
        if level == lod.SHAPE:
            lod.paint_shape(self, p)
        elif level == lod.SUMMARY:
            lod.paint_summary(self, p, scale)
        elif level == lod.TITLE:
            lod.paint_title(self, p, scale)
        else:
            self._paint_full(p)
        if lod.needs_ring(self):
            lod.paint_selection(self, p, scale)

    def _paint_full(self, p: QPainter) -> None:
        node = self.node
        rect = QRectF(0, 0, NODE_W, self.height())
        head = lod.head_color(self)
        p.setPen(QPen(*lod.frame(self)))
        p.setBrush(COLORS["body"])
        radius = lod.corner_radius(self)
        p.drawRoundedRect(rect, radius, radius)
        p.fillRect(QRectF(1.5, 1.5, NODE_W - 3, HEADER_H - 2), head)
        # The header: title, then the badge (symbol and the attributes that matter: "xⁿ n=2").
        canvas = self.canvas
        badge = labels.badge(node)
        small = QFontMetricsF(canvas.small_font)
        badge_w = min(small.horizontalAdvance(badge) + 2, 120.0)
        title_w = DIFF_BTN.left() - 8 - badge_w - 6
        p.setPen(COLORS["text"])
        p.setFont(canvas.title_font)
        p.drawText(QRectF(6, 0, title_w, HEADER_H), Qt.AlignmentFlag.AlignVCenter,
                   labels.fitted_title(QFontMetricsF(canvas.title_font), title_of(node), title_w))
        p.setFont(canvas.small_font)
        p.setPen(COLORS["dim_text"].lighter(140))
        p.drawText(QRectF(DIFF_BTN.left() - 4 - badge_w, 0, badge_w, HEADER_H),
                   Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                   small.elidedText(badge, Qt.TextElideMode.ElideRight, badge_w))
        # The ∂ button: click to make this node the target.
        lod.paint_diff_button(self, p, DIFF_BTN, canvas.title_font)
        # Ports, labelled with torch's argument names.
        p.setFont(canvas.small_font)
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
        p.drawText(QRectF(NODE_W - 120, out.y() - PORT_H / 2, 110, PORT_H),
                   Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, self._shape_text())
        if self.marks and not self.inputs:
            self._paint_marks(p, NODE_W - 14 - p.fontMetrics().horizontalAdvance(self._shape_text()))
        self._paint_overlay(p)

    def _paint_marks(self, p: QPainter, right: float) -> None:
        """The marks as pills on the left of a leaf's port row (free: a leaf has no inputs)."""
        fm = QFontMetricsF(self.canvas.small_font)
        x, y = 8.0, HEADER_H + 2
        for text, kind in self.marks:
            room = right - x - 6
            if room < 24:
                break
            shown = fm.elidedText(text, Qt.TextElideMode.ElideRight, room)
            w = fm.horizontalAdvance(shown) + 6
            color = COLORS["error"] if kind == "fail" else COLORS["ok"] if kind == "ok" else COLORS["grad_text"]
            p.setPen(QPen(color, 1))
            p.setBrush(QColor(color.red(), color.green(), color.blue(), 40))
            p.drawRoundedRect(QRectF(x, y, w, PORT_H - 4), 4, 4)
            p.setPen(COLORS["text"] if kind != "fail" else color.lighter(130))
            p.drawText(QRectF(x, y, w, PORT_H - 4), Qt.AlignmentFlag.AlignCenter, shown)
            x += w + 4

    def _shape_text(self) -> str:
        return str(list(self.view.shape)) if self.view is not None else self._leaf_shape_text

    def looks_stale(self) -> bool:
        """Painted grey and marked "stale": its numbers are (the flag, set at an edit), and the
        scene shows it (CanvasScene.set_stale: only once a result is slow in coming)."""
        return self.stale and self.canvas.stale_shown

    def partial_withheld(self) -> bool:
        """A Step backward walk has not yet made this node's partial whole (CanvasScene.show_walked)."""
        walked = self.canvas.walked
        return walked is not None and self.node_id not in walked

    def shows_partial(self) -> bool:
        """Whether the overlay has a gradient line: only under a target (values come without)."""
        return self.view is not None and self.view_target is not None

    def _paint_overlay(self, p: QPainter) -> None:
        top = HEADER_H + max(1, len(self.inputs)) * PORT_H
        p.setPen(QPen(COLORS["dim_text"].darker(160), 1))
        p.drawLine(QPointF(6, top + 1), QPointF(NODE_W - 6, top + 1))
        fm = QFontMetricsF(self.canvas.mono_font)
        view = self.view
        stale = self.looks_stale()
        font = QFont(self.canvas.mono_font)
        font.setItalic(stale)
        p.setFont(font)
        width = NODE_W - 16
        if view is None:
            p.setPen(COLORS["error"] if self.error and not stale else COLORS["dim_text"])
            msg = (self.canvas.stale_text if stale else visible(f"⚠ {self.error}") if self.error
                   else visible(self.involved) if self.involved  # not computed: what it depends on fails
                   else "" if self.canvas.result is not None
                   else "click ∂ to differentiate" if self.canvas.doc.target is None else "")
            p.drawText(QRectF(8, top + 3, width, 16), Qt.AlignmentFlag.AlignVCenter,
                       fm.elidedText(msg, Qt.TextElideMode.ElideRight, width))
            return
        p.setPen(COLORS["dim_text"] if stale else COLORS["text"])
        p.drawText(QRectF(8, top + 3, width, 16), Qt.AlignmentFlag.AlignVCenter,
                   fm.elidedText(self.value_line(fm, width), Qt.TextElideMode.ElideRight, width))
        if self.shows_partial():  # with no target, the value alone: no "no grad" noise
            if self.partial_withheld():
                p.setPen(COLORS["dim_text"])
                text = WITHHELD
            elif view.grad_text is not None:
                p.setPen(COLORS["dim_text"] if stale else COLORS["grad_text"])
                text = self.grad_line(fm, width)
            else:
                p.setPen(COLORS["dim_text"])  # on the partial's line, the reason alone says there is none
                reason = visible(view.no_grad_reason)
                text = _first_fitting(fm, width, [f"no grad: {reason}", reason])
            p.drawText(QRectF(8, top + 19, width, 16), Qt.AlignmentFlag.AlignVCenter,
                       fm.elidedText(text, Qt.TextElideMode.ElideRight, width))
        for i, img in enumerate(self._previews):
            if img is not None:
                p.drawImage(QPointF(10 + i * 95, top + OVERLAY_H + 2), img)
        if stale:
            p.setPen(COLORS["target"])
            p.drawText(QRectF(8, top + 3, NODE_W - 16, 16), Qt.AlignmentFlag.AlignRight, "stale")

    def without_shape(self, text: str) -> str:
        """"norm 7.356e4" from "[2000, 2000] norm 7.356e4": the shape is on the port row already."""
        shape = "[" + ", ".join(str(d) for d in self.view.shape) + "] "
        return text[len(shape):] if text.startswith(shape) else text

    def value_line(self, fm: QFontMetricsF, width: float) -> str:
        text = visible(self.view.value_text)
        return _first_fitting(fm, width, [f"= {text}", f"= {self.without_shape(text)}"])

    def target_title(self) -> str:
        """The title of the node the shown partial was computed for (its id if it is gone)."""
        node = self.canvas.doc.graph.nodes.get(self.view_target)
        return node.title if node is not None else str(self.view_target)

    def grad_line(self, fm: QFontMetricsF, width: float) -> str:
        """∂y/∂x = … in the titles the user sees (vᵀ·∂y/∂x for a vector–Jacobian product);
        shortened titles, then the shape, are dropped when they would push the numbers out."""
        text = visible(self.view.grad_text)
        names = labels.partial_row_names(self.target_title(), self.node.title, self.view_vjp)
        lines = [f"{name} = {t}" for name in names for t in dict.fromkeys((text, self.without_shape(text)))]
        if fm.horizontalAdvance(lines[-1]) <= width:
            return _first_fitting(fm, width, lines)
        # No line fits whole: the longest names that leave the first number whole, the rest of
        # the numbers cut by the caller ("∂add/∂fc2.bias = [-0.0267, …", not "∂a…/∂f… = [-0.0267, -0.1…").
        short = self.without_shape(text)
        first = short[:short.index(", ") + 1] if ", " in short else short
        return next((f"{name} = {short}" for name in names if fm.horizontalAdvance(f"{name} = {first} …") <= width),
                    lines[-1])

    # ---- interaction ----

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self.diff_button.contains(event.pos()):
            self.canvas.doc.choose_target(self.node_id)
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


class Wire:
    """One edge: a curve from the source's output dot to the destination's input port. Not a Qt
    item: the scene draws all wires under the nodes in one pass (CanvasScene.drawBackground,
    gui.canvas.overview, from their boxes kept there), and a wire becomes an item (EdgeItem)
    only where Qt must find it: under a press, a menu or a tooltip (CanvasScene.wire_at), so
    that Qt selects it as any item. Opening a file makes no Qt item per wire (7,500 at 5,000
    nodes: ~45 % of the scene's build). The curve is made when first drawn or hit-tested, not
    on every move of a dragged node."""

    __slots__ = ("_ends", "_octave", "_path", "_rect", "_shape", "canvas", "edge", "line", "order", "proxy")

    def __init__(self, canvas: CanvasScene, edge: Edge, order: int) -> None:
        self.canvas, self.edge = canvas, edge
        self.order = order  # later wires lie over earlier ones, for the mouse (wire_at, EdgeItem's z)
        self.proxy: EdgeItem | None = None  # the item Qt finds, selects and gives a menu, once asked for
        self.line = QLineF()  # port to port: the overview draws this
        self._rect = QRectF()
        self._ends: wires.Ends = (0.0, 0.0, 0.0, 0.0)
        self._path: QPainterPath | None = None
        self._shape: QPainterPath | None = None
        self._octave: int | None = None  # the zoom octave of the segments last drawn (a wide pen's)
        self.update_path()

    def rect(self) -> QRectF:
        """The curve's box, with a margin for the pen's width (the scene's coordinates)."""
        return self._rect

    def update_path(self) -> None:
        canvas, edge = self.canvas, self.edge
        src, dst = canvas.nodes.get(edge.src), canvas.nodes.get(edge.dst)
        if src is None or dst is None:
            return
        ends = (src.x() + NODE_W, src.y() + src.out_y, dst.x(), dst.y() + dst.in_y(edge.port))  # the layer is the scene
        ends = self._ends = canvas.groups.reroute(edge, ends)  # to a collapsed group's box
        self.line = QLineF(*ends)
        self._path = self._shape = None
        x0, y0, x1, y1 = wires.box(ends)
        old = self._rect
        new = self._rect = QRectF(x0 - 3, y0 - 3, x1 - x0 + 6, y1 - y0 + 6)  # the margin covers the pen's width
        if self.proxy is not None:
            self.proxy.setRect(new)
        canvas.overview.set_edge(self, (x0, y0, x1, y1))
        if canvas.building:
            return  # the whole scene is redrawn when it is built
        changed = new.united(old) if not old.isEmpty() else new
        if self in canvas.overview.lifted:  # a drag's wire: drawn by the scene's LiftedWires
            canvas.lifted.include(changed)
        else:
            canvas.redraw(changed)

    def isSelected(self) -> bool:  # noqa: N802 - as a Qt item's
        return self.proxy is not None and self.proxy.isSelected()

    def setSelected(self, selected: bool) -> None:  # noqa: N802 - as a Qt item's
        if selected or self.proxy is not None:
            self.item().setSelected(selected)

    def item(self) -> EdgeItem:
        """The Qt item of this wire (made on first use, then kept with the wire)."""
        if self.proxy is None:
            self.proxy = EdgeItem(self)
            self.canvas.addItem(self.proxy)
        return self.proxy

    def toolTip(self) -> str:  # noqa: N802 - as NodeItem.toolTip
        """The wire, and the gradient flowing along it (gui.canvas.flowstate), view on or off."""
        canvas = self.canvas
        flow = canvas.overview.flow.lines(self.edge, canvas.doc.graph, canvas.result)
        return tooltip([f"{self.edge.src} → {self.edge.dst}.{self.edge.port}", *flow])

    def path(self) -> QPainterPath:
        if self._path is None:
            self._path = wires.curve(self._ends)
        return self._path

    def start(self) -> tuple[float, float]:
        return self._ends[0], self._ends[1]

    def segments(self, octave: int) -> list[QLineF]:
        """The curve as straight segments from (0, 0), fine enough up to a zoom of 2^octave
        (wires.shape_lines; drawn with the painter moved to `start`). Those made for the octave
        above serve too (zooming back and forth across a power of two)."""
        if self._octave is None or not octave <= self._octave <= octave + 1:
            self._octave = octave
        ax, ay, bx, by = self._ends
        return wires.shape_lines(bx - ax, by - ay, self._octave)

    def shape(self) -> QPainterPath:
        """What a press or a tooltip finds: the curve, 10 scene units wide."""
        if self._shape is None:  # a stroke is costly: make it once per path, when first hit-tested
            stroker = QPainterPathStroker()
            stroker.setWidth(10)
            self._shape = stroker.createStroke(self.path())
        return self._shape

    def hit(self, pos: QPointF) -> bool:
        return self._rect.contains(pos) and self.shape().contains(pos)


class EdgeItem(QGraphicsRectItem):
    """A wire as Qt finds it: hit-tested, selectable, with its menu. Qt never paints it
    (ItemHasNoContents: the scene draws the wires). A rect item whose rect is the wire's box
    (Qt reads it in C++, as for NodeItem); made for a wire when first needed (Wire.item)."""

    def __init__(self, wire: Wire) -> None:
        super().__init__(wire.rect())
        self.wire, self.edge = wire, wire.edge
        self.setPen(NO_PEN)
        self.setFlags(SELECTABLE_NO_CONTENTS)
        # Between group frames (-2 and up) and nodes (0), later wires over earlier ones whatever
        # order their items were made in: Qt's choice where wires cross is CanvasScene.wire_at's.
        self.setZValue(-1.0 + wire.order / (wire.order + 1.0))

    def toolTip(self) -> str:  # noqa: N802 - Qt's name, as NodeItem.toolTip
        return self.wire.toolTip()

    def shape(self) -> QPainterPath:
        return self.wire.shape()

    def contextMenuEvent(self, event) -> None:  # noqa: N802, ANN001
        edge, canvas = self.edge, self.wire.canvas
        menu = QMenu()
        menu.addAction(visible(f"Delete edge {edge.src} → {edge.dst}.{edge.port}"),
                       lambda: canvas.doc.disconnect([edge]))
        menu.exec(event.screenPos())
