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
FLAT_PX = 0.3  # a wide wire is drawn as segments that stray from its curve by at most this
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
    """wire_path(a, b) as straight segments that stray at most about FLAT_PX from the curve on
    screen at this scale: n segments stray at most 3/4 |second difference across the chord| / n²."""
    c = wire_cubic(a, b)
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = c
    chord = math.hypot(x3 - x0, y3 - y0)
    nx, ny = ((y0 - y3) / chord, (x3 - x0) / chord) if chord > 1e-9 else (0.0, 1.0)
    bend = max(abs((x0 - 2 * x1 + x2) * nx + (y0 - 2 * y1 + y2) * ny),
               abs((x1 - 2 * x2 + x3) * nx + (y1 - 2 * y2 + y3) * ny)) * scale
    n = max(2, min(64, math.ceil(math.sqrt(0.75 * bend / FLAT_PX))))
    lines = []
    px, py = x0, y0
    for i in range(1, n + 1):
        t = i / n
        u = 1 - t
        w0, w1, w2, w3 = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
        qx, qy = w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3, w0 * y0 + w1 * y1 + w2 * y2 + w3 * y3
        lines.append(QLineF(px, py, qx, qy))
        px, py = qx, qy
    return lines
