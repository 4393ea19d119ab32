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
    """The wire as straight segments within FLAT_PX of the curve on screen at this scale: the
    curve halved (de Casteljau) until each piece is that flat (_pieces)."""
    return [QLineF(x0, y0, x1, y1) for x0, y0, x1, y1, _ in _pieces(ends, scale)]


def _pieces(ends: Ends, scale: float) -> list[tuple[float, float, float, float, float]]:
    """flat_lines' segments as (x0, y0, x1, y1, the curve's t at the segment's end).

    A piece strays from its chord's line at most 3/4 of its inner control points' distance to
    it, and along it past the chord's ends as far as the piece's projection reaches (a wire
    looping back, a short one to the left: _past_ends): their sum must stay within FLAT_PX on
    screen."""
    px = FLAT_PX / max(scale, 1e-6)
    pieces = []
    stack = [(cubic(ends), 0, 1.0)]
    while stack:  # depth first, first half first: the segments come in order
        c, depth, t_end = stack.pop()
        (x0, y0), (x1, y1), (x2, y2), (x3, y3) = c
        dx, dy = x3 - x0, y3 - y0
        chord = math.hypot(dx, dy)
        if chord > 1e-9:
            # Beside the chord within 3/4 of the control points' distance to its line, and past
            # its ends only where their projections onto it (s1, s2) are past them.
            s1 = ((x1 - x0) * dx + (y1 - y0) * dy) / (chord * chord)
            s2 = ((x2 - x0) * dx + (y2 - y0) * dy) / (chord * chord)
            beside = max(abs(dx * (y1 - y0) - dy * (x1 - x0)), abs(dx * (y2 - y0) - dy * (x2 - x0))) / chord
            past = 0.0 if 0.0 <= s1 <= 1.0 and 0.0 <= s2 <= 1.0 else chord * _past_ends(s1, s2)
            flat = 0.75 * beside + past <= px
        else:  # a loop: its chord is a point
            flat = max(math.hypot(x1 - x0, y1 - y0), math.hypot(x2 - x0, y2 - y0)) <= px
        if flat or depth >= 12:
            pieces.append((x0, y0, x3, y3, t_end))
        else:
            first, second = _halves(c)
            stack += [(second, depth + 1, t_end), (first, depth + 1, t_end - 0.5 ** (depth + 1))]
    return pieces


@lru_cache(maxsize=2048)  # about what a zoomed-in view shows at two zooms; a few MB
def shape_lines(dx: float, dy: float, octave: int) -> list[QLineF]:
    """flat_lines of a wire from (0, 0) to (dx, dy), fine enough up to a zoom of 2^octave. A
    wire's segments depend only on where its end is from its start: wires of one shape (a row of
    neighbours, both ends of a dragged pair) share them, drawn with the painter moved to each
    wire's start. Shared: not to be changed.

    A wire going right by STRETCHED_FROM or more (most of them) is one curve stretched: its
    control points are (0, 0), (dx/2, 0), (dx/2, dy), (dx, dy), so it is (dx·X(t), dy·Y(t)) for
    X = 1.5·t·(1 − t) + t³, Y = t²·(3 − 2t). Its segments take their t from the curve a little
    wider and taller (_bucket; cached): shrinking a curve along an axis brings no point further
    from its chords. Each segment then costs two products, where halving the
    curve costs ~4 µs a segment (a wire whose end is being dragged misses the cache each frame)."""
    if not STRETCHED_FROM <= dx <= 1e12 or not abs(dy) <= 1e12:  # NaN, inf: no stretching either
        return flat_lines((0.0, 0.0, dx, dy), 2.0 ** octave)
    unit = _stretched(_bucket(dx), _bucket(abs(dy)), octave)
    lines = []
    x, y = 0.0, 0.0
    for ux, uy in unit:
        nx, ny = dx * ux, dy * uy
        lines.append(QLineF(x, y, nx, ny))
        x, y = nx, ny
    return lines


STRETCHED_FROM = 80.0  # from here cubic()'s control points are half the width out: one shape


@lru_cache(maxsize=4096)
def _stretched(width: float, height: float, octave: int) -> tuple[tuple[float, float], ...]:
    """(X(t), Y(t)) at the end of each segment fine enough for the stretched curve of this width
    and height (and every narrower, flatter one) at a zoom of 2^octave."""
    ts = [t for *_, t in _pieces((0.0, 0.0, width, height), 2.0 ** octave)]
    return tuple((1.5 * t * (1.0 - t) + t * t * t, t * t * (3.0 - 2.0 * t)) for t in ts)


def _past_ends(s1: float, s2: float) -> float:
    """How far past [0, 1] the cubic with coefficients 0, s1, s2, 1 (a piece's projection onto
    its chord, in chords) reaches: its extremes are where its derivative, a quadratic, is 0."""
    d0, d1, d2 = s1, s2 - s1, 1.0 - s2
    a, b, c = d0 - 2.0 * d1 + d2, 2.0 * (d1 - d0), d0
    if abs(a) > 1e-12:
        disc = b * b - 4.0 * a * c
        roots = [] if disc < 0 else [(-b + sign * math.sqrt(disc)) / (2.0 * a) for sign in (1.0, -1.0)]
    else:
        roots = [-c / b] if abs(b) > 1e-12 else []
    past = 0.0
    for t in roots:
        if 0.0 < t < 1.0:
            u = 1.0 - t
            at = 3.0 * u * u * t * s1 + 3.0 * u * t * t * s2 + t * t * t
            past = max(past, -at, at - 1.0)
    return past


def _bucket(v: float) -> float:
    """v rounded up to a power of 2^(1/4): a curve at most ~19% wider or taller than the wire's,
    whose segments are as many as the wire's own within ~10%."""
    return 2.0 ** (math.ceil(4.0 * math.log2(v)) / 4.0) if v > 1.0 else 1.0


def _halves(c: Cubic) -> tuple[Cubic, Cubic]:
    """de Casteljau at t = 1/2."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = c
    ax, ay, bx, by, cx, cy = (x0 + x1) / 2, (y0 + y1) / 2, (x1 + x2) / 2, (y1 + y2) / 2, (x2 + x3) / 2, (y2 + y3) / 2
    dx, dy, ex, ey = (ax + bx) / 2, (ay + by) / 2, (bx + cx) / 2, (by + cy) / 2
    mx, my = (dx + ex) / 2, (dy + ey) / 2
    return ((x0, y0), (ax, ay), (dx, dy), (mx, my)), ((mx, my), (ex, ey), (cx, cy), (x3, y3))
