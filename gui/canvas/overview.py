"""The zoomed-out canvas, drawn in one pass: below OVERVIEW_SCALE every node draws its flat
rectangle (lod.SHAPE, whatever its height), so the view draws all of them, and every wire as a
straight line from port to port, from the arrays kept here, instead of asking Qt to draw
5,000 node items one by one (a Python paint and boundingRect call each, and a node's cached
pixmap thrown away at every zoom step). Wires are never Qt items there or anywhere (items.Wire:
an edge item is made only where the mouse finds a wire).

How Qt is kept away from the items without taking them out of the scene (they still answer hit
tests, hold the selection and are dragged by Qt): every node item is a child of a tile that
says it holds its children (ItemContainsChildrenInShape, gui.canvas.tiles). In the overview the
view sets the scene's minimumRenderSize above anything's size on screen (CULL_ALL), so that Qt
skips each tile, and with it every child, in one test, in C++; hit tests and selection ignore
minimumRenderSize. The view's drawForeground then calls `Overview.paint` for the exposed rect.

Arrays: one row per node (its box and colour code) and per edge (its segment, and its code in
the gradient-flow view: gui.canvas.flowstyle), updated in place when a node moves, so that the
rows under an exposed rect (or a press: CanvasScene.wire_at) are found by numpy in
microseconds, and the wires of one code are drawn with one pen.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from graph.edits import HEADER_H, NODE_W, OVERLAY_H, PORT_H, PREVIEW_H
from graph.ops import OPS
from gui.canvas import flowstyle, lod
from gui.canvas.flowstate import FlowState
from gui.canvas.style import COLORS
from gui.canvas.wires import SELECTED, wire_pen

if TYPE_CHECKING:
    from gui.canvas.items import NodeItem, Wire

# The tallest box any node can have (most input rows, and a preview): below the scale where it
# loses its summary (lod.shape_below) no node has one, and the overview draws every node as
# SHAPE. A scene whose nodes are all shorter has its own, higher, threshold (Overview.below).
MAX_BOX_H = HEADER_H + max(1, *(len(s.inputs) for s in OPS.values())) * PORT_H + OVERLAY_H + PREVIEW_H
OVERVIEW_SCALE = lod.shape_below(MAX_BOX_H)
CULL_ALL = 1e30  # a minimumRenderSize larger than anything on screen: Qt draws no item
HEADS = ("op", "leaf_grad", "leaf_const")  # colour codes 0, 1, 2 of a node's rectangle


def _dim(color: QColor, into: QColor, t: float) -> QColor:
    """color mixed with `into` (t = 0: color, 1: into): a solid colour, cheaper to draw than alpha."""
    return QColor(*(round(a + (b - a) * t) for a, b in zip(color.getRgb()[:3], into.getRgb()[:3], strict=True)))


EDGE_PEN = QPen(_dim(COLORS["edge"], COLORS["background"], 0.5), 0)  # 0: one pixel at any zoom
SELECTED_EDGE_PEN = QPen(COLORS["edge_selected"], 2)
SELECTED_EDGE_PEN.setCosmetic(True)


# Drawing order of the flow codes: least visible first, highlighted last (on top).
FLOW_ORDER = [flowstyle.NO_FLOW, *range(flowstyle.FIRST_BIN, flowstyle.CODES), flowstyle.VANISHING,
              flowstyle.EXPLODING, flowstyle.NONFINITE]


def _draw_lines(p: QPainter, wires: list[Wire], pen: QPen) -> None:
    """Wires as straight lines, port to port (the overview)."""
    p.setPen(pen)
    p.drawLines([w.line for w in wires])


def _draw_curves(p: QPainter, wires: list[Wire], pen: QPen, scale: float) -> None:
    """Wires as curves with this pen: a cosmetic one strokes the path, a scaled one draws the
    curve's straight segments (gui.canvas.wires: far faster for a wide pen)."""
    p.setPen(pen)
    if pen.isCosmetic():
        for w in wires:
            p.drawPath(w.path())
        return
    octave = math.ceil(math.log2(scale))  # segments made for 2^octave hold up to it
    for w in wires:
        x, y = w.start()
        p.translate(x, y)
        p.drawLines(w.segments(octave))
        p.translate(-x, -y)


class LiftedWires(QGraphicsItem):
    """The wires of the nodes a drag moves, drawn by this item until the drop instead of by the
    cached background: a frame then repaints them over that cache, where redrawing the
    background under them would draw every other wire there too (hundreds, on a big graph)."""

    def __init__(self, overview: Overview) -> None:
        super().__init__()
        self.overview = overview
        self.setZValue(-3.0)  # under group frames (-2 and up) and nodes: where the background's wires are
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)  # exposedRect
        self._rect = QRectF()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return self._rect

    def follow(self) -> None:
        """The lifted wires moved: repaint where they were and where they are."""
        rect = QRectF()
        for wire in self.overview.lifted:
            rect = rect.united(wire.rect())
        self.prepareGeometryChange()
        self._rect = rect
        self.update()

    def include(self, rect: QRectF) -> None:
        """One lifted wire moved within rect (follow, at the end of a frame, fits the bounds again)."""
        if not self._rect.contains(rect):
            self.prepareGeometryChange()
            self._rect = self._rect.united(rect)
        self.update(rect)

    def paint(self, p: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        exposed = option.exposedRect
        shown = [w for w in self.overview.lifted if w.rect().intersects(exposed)]
        scale = p.worldTransform().m11()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setBrush(Qt.BrushStyle.NoBrush)
        for chosen in (False, True):  # the selected ones over the rest, as wire_steps draws them
            group = [w for w in shown if w.isSelected() == chosen]
            if group:
                _draw_curves(p, group, wire_pen(chosen, scale), scale)


class _Rows:
    """Keyed rows of `width` floats, with one Qt object per row (the QRectF or QLineF drawn);
    add, update and remove in O(1) (removal moves the last row into the hole)."""

    def __init__(self, width: int) -> None:
        self.keys: list = []
        self.index: dict = {}
        self.shapes: list = []
        self.data = np.zeros((256, width))
        self.pending: list | None = None  # rows of a batch (load), made into the array at its end

    def __len__(self) -> int:
        return len(self.keys)

    def set(self, key: object, shape: object, row: tuple[float, ...]) -> tuple[float, ...] | None:
        """Set the row; return the row it replaced (None for a new key)."""
        if self.pending is not None:  # a batch of new keys into empty rows (load)
            self.index[key] = len(self.keys)
            self.keys.append(key)
            self.shapes.append(shape)
            self.pending.append(row)
            return None
        i = self.index.get(key)
        old = None
        if i is None:
            i = len(self.keys)
            self.index[key] = i
            self.keys.append(key)
            self.shapes.append(shape)
            if i == len(self.data):
                self.data = np.concatenate([self.data, np.zeros_like(self.data)])
        else:
            self.shapes[i] = shape
            old = tuple(self.data[i].tolist())
        self.data[i] = row
        return old

    def remove(self, key: object) -> None:
        i = self.index.pop(key, None)
        if i is None:
            return
        last = len(self.keys) - 1
        if i != last:
            moved = self.keys[last]
            self.keys[i], self.shapes[i], self.index[moved] = moved, self.shapes[last], i
            self.data[i] = self.data[last]
        self.keys.pop()
        self.shapes.pop()

    def clear(self) -> None:
        self.keys.clear()
        self.index.clear()
        self.shapes.clear()

    def load(self) -> None:
        """Begin a batch of rows (into empty rows): they become the array at once at `loaded`,
        not one numpy assignment each."""
        assert not self.keys
        self.pending = []

    def loaded(self) -> None:
        rows, self.pending = self.pending or [], None
        width = self.data.shape[1]
        self.data = np.zeros((max(256, 2 * len(rows)), width))
        if rows:
            self.data[:len(rows)] = np.array(rows, dtype=float)

    def bounds(self) -> tuple[float, float, float, float] | None:
        """(left, top, right, bottom) of all rows' boxes; None when there are none."""
        if not self.keys:
            return None
        d = self.data[:len(self.keys)]
        return float(d[:, 0].min()), float(d[:, 1].min()), float(d[:, 2].max()), float(d[:, 3].max())

    def keys_within(self, rect: QRectF) -> list:
        """The keys of the rows whose box meets rect."""
        keys = self.keys
        return [keys[i] for i in self.within(rect).tolist()]

    def within(self, rect: QRectF) -> np.ndarray:
        """Rows whose box (columns x0, y0, x1, y1) meets rect."""
        d = self.data[:len(self.keys)]
        return np.flatnonzero((d[:, 2] >= rect.left()) & (d[:, 0] <= rect.right())
                              & (d[:, 3] >= rect.top()) & (d[:, 1] <= rect.bottom()))


class Overview:
    """The arrays the bulk drawing reads (every node's box and colour, every wire's box), kept up
    to date by the scene; and the drawing itself (`paint`, `wire_steps`)."""

    def __init__(self) -> None:
        self.nodes = _Rows(5)  # x0, y0, x1, y1, head colour code; the QRectF drawn
        # The curve's box (it holds the straight line too) and its flow code; the Wire.
        self.edges = _Rows(5)
        self.heights: Counter[float] = Counter()  # of the nodes' boxes: the tallest sets `below`
        self.on = False
        self.lifted: set[Wire] = set()  # drawn by LiftedWires for now, not with the rest
        self.flow = FlowState()  # the gradient-flow view: each wire's code, shown when flow.on

    def clear(self) -> None:
        self.nodes.clear()
        self.edges.clear()
        self.heights.clear()

    def load(self) -> None:
        """Begin filing a whole graph (CanvasScene.rebuild): rows are made into arrays at `loaded`."""
        self.clear()
        self.flow.forget()
        self.nodes.load()
        self.edges.load()

    def loaded(self) -> None:
        self.nodes.loaded()
        self.edges.loaded()

    def below(self) -> float:
        """The scale below which no node of this scene shows its summary: the overview's, which
        draws every node as SHAPE (a short node's TITLE goes with it)."""
        return lod.shape_below(max(self.heights)) if self.heights else OVERVIEW_SCALE

    # ---- kept up to date ----

    def set_node(self, item: NodeItem) -> QRectF | None:
        """File the node's box and colour; return what to repaint (its old and new box) when
        either changed, else None."""
        x, y, h = item.x(), item.y(), item.height()
        rect = QRectF(x, y, NODE_W, h)
        row = (x, y, x + NODE_W, y + h, float(HEADS.index(lod.head_key(item))))
        old = self.nodes.set(item.node_id, rect, row)
        if old == row:
            return None
        self._count_height(old, -1)
        self._count_height(row, 1)
        return rect if old is None else rect.united(QRectF(QPointF(old[0], old[1]), QPointF(old[2], old[3])))

    def remove_node(self, node_id: str) -> None:
        i = self.nodes.index.get(node_id)
        if i is not None:
            self._count_height(tuple(self.nodes.data[i].tolist()), -1)
        self.nodes.remove(node_id)

    def _count_height(self, row: tuple[float, ...] | None, n: int) -> None:
        if row is not None:
            h = row[3] - row[1]
            self.heights[h] += n
            if not self.heights[h]:
                del self.heights[h]

    def set_edge(self, item: Wire, box: tuple[float, float, float, float]) -> None:
        self.edges.set(item.edge, item, (*box, self.flow.code(item.edge)))

    def flow_changed(self) -> None:
        """File every wire's flow code again (new flows, or thresholds): one pass at a result."""
        if self.edges.pending is None and self.edges.keys:
            code = self.flow.code
            self.edges.data[:len(self.edges.keys), 4] = [code(k) for k in self.edges.keys]

    def remove_edge(self, edge: object) -> None:
        self.edges.remove(edge)

    # ---- drawing ----

    def wire_steps(self, p: QPainter, rect: QRectF, scale: float, selected: list[Wire],
                   step_pixels: float | None = None) -> Iterator[None]:
        """Draw every wire meeting rect, under the nodes (the scene's background): curves as
        wires.py draws them, or, in the overview, one-pixel straight lines; selected ones over
        the rest. With step_pixels, the wires come in pieces of about that many pixels, a yield
        after each (_pieces); otherwise in one."""
        items = self.edges.shapes
        shown = self.edges.within(rect)
        if self.lifted:  # a drag's wires are drawn by LiftedWires
            lifted = self.lifted
            shown = shown[[items[i] not in lifted for i in shown.tolist()]]
            selected = [w for w in selected if w not in lifted]
        if self.flow.on:
            yield from self._flow_steps(p, shown, scale, selected, step_pixels)
            return
        if self.on:
            for piece in self._pieces(shown, scale, step_pixels):
                p.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # again after each yield: a
                p.setPen(EDGE_PEN)  # piece's painter may be begun anew (zoomcache.ExactPicture)
                p.drawLines([w.line for w in (items if len(piece) == len(items) else map(items.__getitem__, piece))])
                yield
            if selected:
                p.setPen(SELECTED_EDGE_PEN)
                p.drawLines([w.line for w in selected])
            return
        for piece in self._pieces(shown, scale, step_pixels):
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)  # again after each yield, as above
            p.setBrush(Qt.BrushStyle.NoBrush)
            wires = items if len(piece) == len(items) else [items[i] for i in piece]
            _draw_curves(p, wires, wire_pen(False, scale), scale)
            yield
        if selected:
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            p.setBrush(Qt.BrushStyle.NoBrush)
            _draw_curves(p, selected, wire_pen(True, scale), scale)

    def _pieces(self, shown: np.ndarray, scale: float, step_pixels: float | None) -> list[list[int]]:
        """The rows shown, in order, cut where the wires' pixels reach step_pixels (their boxes'
        longer side on screen: what no straight line between two of its corners exceeds, and
        about what a curve's costs); one piece without step_pixels."""
        if step_pixels is None or len(shown) == 0:
            return [shown.tolist()]
        d = self.edges.data[shown]
        pixels = np.cumsum(np.maximum(d[:, 2] - d[:, 0], d[:, 3] - d[:, 1]) * scale + 1.0)
        cuts = np.searchsorted(pixels, np.arange(step_pixels, pixels[-1], step_pixels))
        return [piece.tolist() for piece in np.split(shown, cuts) if len(piece)]

    def _flow_steps(self, p: QPainter, shown: np.ndarray, scale: float, selected: list[Wire],
                    step_pixels: float | None) -> Iterator[None]:
        """The gradient-flow view: the wires of each code with its pen (gui.canvas.flowstyle),
        least first, so that the highlighted ones lie on top; selected ones over all."""
        items = self.edges.shapes
        codes = self.edges.data[shown, 4].astype(np.int64)
        for code in FLOW_ORDER:
            mine = shown[codes == code]
            if not len(mine):
                continue
            for piece in self._pieces(mine, scale, step_pixels):
                p.setRenderHint(QPainter.RenderHint.Antialiasing, not self.on)  # after each yield (wire_steps)
                if self.on:
                    _draw_lines(p, [items[i] for i in piece], flowstyle.OVERVIEW[code])
                else:
                    p.setBrush(Qt.BrushStyle.NoBrush)
                    _draw_curves(p, [items[i] for i in piece], flowstyle.pen(code, scale), scale)
                yield
        p.setRenderHint(QPainter.RenderHint.Antialiasing, not self.on)
        p.setBrush(Qt.BrushStyle.NoBrush)
        if selected:
            if self.on:
                _draw_lines(p, selected, SELECTED_EDGE_PEN)
            else:
                _draw_curves(p, selected, SELECTED, scale)

    def paint(self, p: QPainter, rect: QRectF, target: str | None, nonfinite: list[str], errors: list[str]) -> None:
        """In the overview: every node meeting rect as a rectangle, in the colours
        lod.paint_shape uses (over the wires), and the marks, least first, so that the first of
        lod.FRAME_MARKS wins. Not the selection (paint_selection, in the view's foreground):
        selecting redraws none of this, which the view caches as its background."""
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setPen(Qt.PenStyle.NoPen)
        rects = self.nodes.shapes
        shown = self.nodes.within(rect)
        codes = self.nodes.data[shown, 4]
        for code, key in enumerate(HEADS):
            mine = shown[codes == code].tolist()
            if mine:
                p.setBrush(COLORS[key])
                p.drawRects(rects if len(mine) == len(rects) else [rects[i] for i in mine])
        marked = _marked(target, nonfinite, errors)
        for key in reversed(lod.FRAME_MARKS):
            self._fill(p, key, marked[key])

    def paint_selection(self, p: QPainter, selected_nodes: list[str], target: str | None,
                        nonfinite: list[str], errors: list[str]) -> None:
        """Over paint's drawing: the selected nodes. A selected node showing a mark keeps it and
        gets the selection ring inside, as lod.paint_shape and lod.paint_selection draw it nearer."""
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setPen(Qt.PenStyle.NoPen)
        # Select All: the selected ids are distinct, so as many as there are nodes are all of them
        self._fill(p, "selected", selected_nodes, every=len(selected_nodes) == len(self.nodes))
        marked = _marked(target, nonfinite, errors)
        chosen = set(selected_nodes) if any(marked.values()) else set()  # not 10,000 ids for no mark
        rects, index = self.nodes.shapes, self.nodes.index
        pixel = 1.0 / p.worldTransform().m11()
        for key in reversed(lod.FRAME_MARKS):  # a few nodes at most: the marks are few
            ringed = [rects[i] for n in marked[key] if n in chosen and (i := index.get(n)) is not None]
            if ringed:  # filled twice, not outlined: a fill and a line round pixels differently
                p.setBrush(COLORS["selected"])
                p.drawRects(ringed)
                p.setBrush(COLORS[key])
                p.drawRects([r.adjusted(pixel, pixel, -pixel, -pixel) for r in ringed])

    def _fill(self, p: QPainter, key: str, ids: list[str], every: bool = False) -> None:
        """The nodes' rectangles filled in the key's colour; every: ids are all the nodes."""
        rects, index = self.nodes.shapes, self.nodes.index
        boxes = rects if every else [rects[i] for n in ids if (i := index.get(n)) is not None]
        if boxes:
            p.setBrush(COLORS[key])
            p.drawRects(boxes)


def _marked(target: str | None, nonfinite: list[str], errors: list[str]) -> dict[str, list[str]]:
    """The nodes each of lod.FRAME_MARKS marks."""
    return {"error": errors, "nonfinite": nonfinite, "target": [target] if target else []}
