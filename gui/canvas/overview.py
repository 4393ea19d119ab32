"""The zoomed-out canvas, drawn in one pass: below OVERVIEW_SCALE every node draws its flat
rectangle (lod.SHAPE, whatever its height), so the view draws all of them, and every wire as a
straight line from port to port, from the arrays kept here, instead of asking Qt to draw
12,500 items one by one (a Python paint and boundingRect call each, and a node's cached pixmap
thrown away at every zoom step).

How Qt is kept away from the items without taking them out of the scene (they still answer hit
tests, hold the selection and are dragged by Qt): every node and edge item is a child of one
`Layer` item that says it holds its children (ItemContainsChildrenInShape). In the overview the
view sets the scene's minimumRenderSize above the layer's size on screen, so that Qt skips the
layer, and with it every child, in one test, in C++; hit tests and selection ignore
minimumRenderSize. The view's drawForeground then calls `Overview.paint` for the exposed rect.

Arrays: one row per node (its box and colour code) and per edge (its segment), updated in place
when a node moves, so that the rows under an exposed rect are found by numpy in microseconds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from graph.edits import HEADER_H, NODE_W, OVERLAY_H, PORT_H, PREVIEW_H
from graph.ops import OPS
from gui.canvas import lod
from gui.canvas.style import COLORS

if TYPE_CHECKING:
    from gui.canvas.items import NodeItem

# The tallest box any node can have (most input rows, and a preview): below this node's SHAPE
# scale every node draws SHAPE, which is what the overview draws.
MAX_BOX_H = HEADER_H + max(1, *(len(s.inputs) for s in OPS.values())) * PORT_H + OVERLAY_H + PREVIEW_H
OVERVIEW_SCALE = lod.shape_below(MAX_BOX_H)
CULL_ALL = 1e30  # a minimumRenderSize larger than anything on screen: Qt draws no item
# Holds every node (a usable position is within POS_LIMIT = 1e7) and stays within int pixels at
# MAX_ZOOM: Qt clips a child's repaints to its parent's rect in whole pixels, and an overflow
# there loses them.
LAYER_RECT = QRectF(-2e7, -2e7, 4e7, 4e7)
HEADS = ("op", "leaf_grad", "leaf_const")  # colour codes 0, 1, 2 of a node's rectangle


def _dim(color: QColor, into: QColor, t: float) -> QColor:
    """color mixed with `into` (t = 0: color, 1: into): a solid colour, cheaper to draw than alpha."""
    return QColor(*(round(a + (b - a) * t) for a, b in zip(color.getRgb()[:3], into.getRgb()[:3], strict=True)))


EDGE_PEN = QPen(_dim(COLORS["edge"], COLORS["background"], 0.35), 0)  # 0: one pixel at any zoom
SELECTED_EDGE_PEN = QPen(COLORS["edge_selected"], 2)
SELECTED_EDGE_PEN.setCosmetic(True)


class Layer(QGraphicsItem):
    """The parent of every node and edge item: it draws nothing and holds them all."""

    def __init__(self) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemHasNoContents)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemContainsChildrenInShape)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return LAYER_RECT

    def paint(self, p: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        pass


class _Rows:
    """Keyed rows of `width` floats, with one Qt object per row (the QRectF or QLineF drawn);
    add, update and remove in O(1) (removal moves the last row into the hole)."""

    def __init__(self, width: int) -> None:
        self.keys: list = []
        self.index: dict = {}
        self.shapes: list = []
        self.data = np.zeros((256, width))

    def __len__(self) -> int:
        return len(self.keys)

    def set(self, key: object, shape: object, row: tuple[float, ...]) -> tuple[float, ...] | None:
        """Set the row; return the row it replaced (None for a new key)."""
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

    def within(self, rect: QRectF) -> np.ndarray:
        """Rows whose box (columns x0, y0, x1, y1) meets rect."""
        d = self.data[:len(self.keys)]
        return np.flatnonzero((d[:, 2] >= rect.left()) & (d[:, 0] <= rect.right())
                              & (d[:, 3] >= rect.top()) & (d[:, 1] <= rect.bottom()))


class Overview:
    """What the overview draws, kept up to date by the scene (node moved, added, restyled...)."""

    def __init__(self) -> None:
        self.nodes = _Rows(5)  # x0, y0, x1, y1, head colour code
        self.edges = _Rows(4)  # the segment's box
        self.on = False

    def clear(self) -> None:
        self.nodes.clear()
        self.edges.clear()

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
        return rect if old is None else rect.united(QRectF(QPointF(old[0], old[1]), QPointF(old[2], old[3])))

    def remove_node(self, node_id: str) -> None:
        self.nodes.remove(node_id)

    def set_edge(self, edge: object, a: QPointF, b: QPointF) -> None:
        ax, ay, bx, by = a.x(), a.y(), b.x(), b.y()
        self.edges.set(edge, QLineF(ax, ay, bx, by), (min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)))

    def remove_edge(self, edge: object) -> None:
        self.edges.remove(edge)

    # ---- drawing ----

    def paint(self, p: QPainter, rect: QRectF, selected_nodes: list[str], selected_edges: list[object],
              target: str | None, errors: list[str]) -> None:
        """Draw every wire and node meeting rect (scene units; the painter maps the scene):
        wires as one-pixel lines, nodes as rectangles in the colours lod.paint_shape uses."""
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        lines = self.edges.shapes
        shown = self.edges.within(rect)
        p.setPen(EDGE_PEN)
        p.drawLines(lines if len(shown) == len(lines) else [lines[i] for i in shown.tolist()])
        picked = [lines[i] for e in selected_edges if (i := self.edges.index.get(e)) is not None]
        if picked:
            p.setPen(SELECTED_EDGE_PEN)
            p.drawLines(picked)
        p.setPen(Qt.PenStyle.NoPen)
        rects = self.nodes.shapes
        shown = self.nodes.within(rect)
        codes = self.nodes.data[shown, 4]
        for code, key in enumerate(HEADS):
            mine = shown[codes == code].tolist()
            if mine:
                p.setBrush(COLORS[key])
                p.drawRects(rects if len(mine) == len(rects) else [rects[i] for i in mine])
        # Then the colours that win over the head's: selected, then target, then error.
        for ids, key in ((selected_nodes, "selected"), ([target] if target else [], "target"), (errors, "error")):
            boxes = [rects[i] for n in ids if (i := self.nodes.index.get(n)) is not None]
            if boxes:
                p.setBrush(COLORS[key])
                p.drawRects(boxes)
