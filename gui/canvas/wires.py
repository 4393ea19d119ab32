"""The curve of a wire, its box, its pens, and how a wide one is drawn fast.

Measured (Qt 6.11 raster, antialiased): a 1,600 px cubic costs 150 µs with a scaled pen of any
width, 27 µs with a one-pixel cosmetic pen, and 28 µs as 16 straight segments with the scaled
pen (drawLines); and a stroke costs its whole length whatever the clip, so a wire across a
zoomed-in canvas (tens of thousands of pixels) costs 370 µs, as segments the pixels on screen.
So a thin wire is drawn with the cosmetic pen, and a wide one as segments (made once per
shape of wire and doubling of the zoom: shape_lines).
"""

from __future__ import annotations

import math
from functools import lru_cache

from PySide6.QtCore import QLineF, QPointF, Qt
from PySide6.QtGui import QPainterPath, QPen

from gui.canvas.style import COLORS

WIRE_W, SELECTED_W = 1.6, 2.4  # scene units: the pens' widths at 100 %
FLAT_PX = 0.35  # how far a wide wire's segments may stray from its curve, in screen pixels
Point = tuple[float, float]
Cubic = tuple[Point, Point, Point, Point]
Ends = tuple[float, float, float, float]  # the output dot's x, y, then the input port's


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


def cubic(ends: Ends) -> Cubic:
    """The control points of the wire from an output dot at (ax, ay) to an input port at (bx, by)."""
    ax, ay, bx, by = ends
    dx = max(40.0, abs(bx - ax) * 0.5)
    if bx < ax:  # a wire back to the left (e.g. to the next band of a wrapped layout):
        dx = min(dx, 150.0)  # a short loop out of the port, not a swing as wide as the canvas
    return (ax, ay), (ax + dx, ay), (bx - dx, by), (bx, by)


def curve(ends: Ends) -> QPainterPath:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = cubic(ends)
    path = QPainterPath(QPointF(x0, y0))
    path.cubicTo(x1, y1, x2, y2, x3, y3)
    return path


def wire_path(a: QPointF, b: QPointF) -> QPainterPath:
    """The curve of a wire from an output dot at a to an input port at b."""
    return curve((a.x(), a.y(), b.x(), b.y()))


def box(ends: Ends) -> tuple[float, float, float, float]:
    """(left, top, right, bottom) of the curve's control points, which hold it."""
    (x0, y0), (x1, _), (x2, _), (x3, y3) = cubic(ends)
    return min(x0, x1, x2, x3), min(y0, y3), max(x0, x1, x2, x3), max(y0, y3)


def flat_lines(ends: Ends, scale: float) -> list[QLineF]:
    """The wire as straight segments within FLAT_PX of the curve on screen at this scale:
    halved (de Casteljau) until each piece's control points are that close to its chord (the
    piece lies in their hull, and strays at most 3/4 of their distance)."""
    tol = FLAT_PX / max(scale, 1e-6) / 0.75
    lines = []
    stack = [(cubic(ends), 0)]
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


@lru_cache(maxsize=2048)  # about what a zoomed-in view shows at two zooms; a few MB
def shape_lines(dx: float, dy: float, octave: int) -> list[QLineF]:
    """flat_lines of a wire from (0, 0) to (dx, dy), fine enough up to a zoom of 2^octave. A
    wire's segments depend only on where its end is from its start: wires of one shape (a row of
    neighbours, both ends of a dragged pair) share them, drawn with the painter moved to each
    wire's start. Shared: not to be changed."""
    return flat_lines((0.0, 0.0, dx, dy), 2.0 ** octave)


def _halves(c: Cubic) -> tuple[Cubic, Cubic]:
    """de Casteljau at t = 1/2."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = c
    ax, ay, bx, by, cx, cy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 + x2) / 2, (y1 + y2) / 2, (x2 + x3) / 2, (y2 + y3) / 2
    dx, dy, ex, ey = (ax + bx) / 2, (ay + by) / 2, (bx + cx) / 2, (by + cy) / 2
    mx, my = (dx + ex) / 2, (dy + ey) / 2
    return ((x0, y0), (ax, ay), (dx, dy), (mx, my)), ((mx, my), (ex, ey), (cx, cy), (x3, y3))
