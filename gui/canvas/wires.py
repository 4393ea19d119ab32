"""The curve of a wire, its box, its pens, and how a wide one is drawn fast.

Measured (Qt 6.11 raster, antialiased): a 1,600 px cubic costs 150 µs with a scaled pen of any
width, 27 µs with a one-pixel cosmetic pen, and 28 µs as 16 straight segments with the scaled
pen (drawLines); and a stroke costs its whole length whatever the clip, so a wire across a
zoomed-in canvas (tens of thousands of pixels) costs 370 µs, as segments the pixels on screen.
So a thin wire is drawn with the cosmetic pen, and a wide one as segments (made once per
doubling of the zoom: EdgeItem keeps them).
"""

from __future__ import annotations

import math

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import QPainterPath, QPen

from gui.canvas.style import COLORS

WIRE_W, SELECTED_W = 1.6, 2.4  # scene units: the pens' widths at 100 %
FLAT_PX = 0.35  # how far a wide wire's segments may stray from its curve, in screen pixels
Point = tuple[float, float]
Cubic = tuple[Point, Point, Point, Point]


def _pen(color_key: str, width: float) -> QPen:
    pen = QPen(COLORS[color_key], width)
    pen.setCapStyle(Qt.PenCapStyle.FlatCap)
    return pen


def _cosmetic(color_key: str, px: float) -> QPen:
    pen = _pen(color_key, px)
    pen.setCosmetic(True)
    return pen


THIN = _cosmetic("edge", 1.0)
WIDE = _pen("edge", WIRE_W)
SELECTED = _pen("edge_selected", SELECTED_W)


def wire_pen(selected: bool, scale: float) -> QPen:
    """The pen for a wire at this zoom: the scaled one, or one screen pixel (cosmetic: Qt strokes
    a curve with it about ten times faster) where the scaled one would be about that thin."""
    if selected:
        return SELECTED
    return THIN if WIRE_W * scale <= 1.25 else WIDE


def _dx(a: QPointF, b: QPointF) -> float:
    """How far the curve's control points sit right of a and left of b."""
    dx = max(40.0, abs(b.x() - a.x()) * 0.5)
    if b.x() < a.x():  # a wire back to the left (e.g. to the next band of a wrapped layout):
        dx = min(dx, 150.0)  # a short loop out of the port, not a swing as wide as the canvas
    return dx


def wire_cubic(a: QPointF, b: QPointF) -> Cubic:
    dx = _dx(a, b)
    return (a.x(), a.y()), (a.x() + dx, a.y()), (b.x() - dx, b.y()), (b.x(), b.y())


def wire_path(a: QPointF, b: QPointF) -> QPainterPath:
    """The curve of a wire from an output dot at a to an input port at b."""
    (_, _), (x1, y1), (x2, y2), _ = wire_cubic(a, b)
    path = QPainterPath(a)
    path.cubicTo(QPointF(x1, y1), QPointF(x2, y2), b)
    return path


def wire_bounds(a: QPointF, b: QPointF) -> QRectF:
    """The box of wire_path(a, b)'s control points, which holds the curve."""
    x0, y0, x1, y1 = _box(wire_cubic(a, b))
    return QRectF(QPointF(x0, y0), QPointF(x1, y1))


def _box(c: Cubic) -> tuple[float, float, float, float]:
    xs, ys = [p[0] for p in c], [p[1] for p in c]
    return min(xs), min(ys), max(xs), max(ys)


def flat_lines(a: QPointF, b: QPointF, scale: float) -> list[QLineF]:
    """wire_path(a, b) as straight segments within FLAT_PX of the curve on screen at this scale:
    halved (de Casteljau) until each piece's control points are that close to its chord (the
    piece lies in their hull, and strays at most 3/4 of their distance)."""
    tol = FLAT_PX / max(scale, 1e-6) / 0.75
    lines = []
    stack = [(wire_cubic(a, b), 0)]
    while stack:  # depth first, first half first: the segments come in order
        c, depth = stack.pop()
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = c
        dx, dy = x3 - x0, y3 - y0
        chord = math.hypot(dx, dy)
        if chord > 1e-9:
            off = max(abs(dx * (y1 - y0) - dy * (x1 - x0)), abs(dx * (y2 - y0) - dy * (x2 - x0))) / chord
        else:
            off = max(math.hypot(x1 - x0, y1 - y0), math.hypot(x2 - x0, y2 - y0))
        if off <= tol or depth >= 12:
            lines.append(QLineF(x0, y0, x3, y3))
        else:
            first, second = _halves(c)
            stack += [(second, depth + 1), (first, depth + 1)]
    return lines


def _halves(c: Cubic) -> tuple[Cubic, Cubic]:
    """de Casteljau at t = 1/2."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = c
    ax, ay, bx, by, cx, cy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 + x2) / 2, (y1 + y2) / 2, (x2 + x3) / 2, (y2 + y3) / 2
    dx, dy, ex, ey = (ax + bx) / 2, (ay + by) / 2, (bx + cx) / 2, (by + cy) / 2
    mx, my = (dx + ex) / 2, (dy + ey) / 2
    return ((x0, y0), (ax, ay), (dx, dy), (mx, my)), ((mx, my), (ex, ey), (cx, cy), (x3, y3))
