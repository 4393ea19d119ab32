"""How the gradient-flow view draws a wire: the norm of the gradient flowing along it (see
autograd_bridge.flows) as one of a few codes, each with its colour and width.

A wire's code, from its norm n and the two thresholds (`Thresholds`):
  NO_FLOW      no gradient flows (its source does not require grad, or the target does not
               depend on its destination): thin and dim
  VANISHING    n below the vanishing threshold (default 1e-6 × the largest flow), or 0
  EXPLODING    n above the exploding threshold (default 1e3 × the median flow)
  NONFINITE    n is NaN or Inf
  FIRST_BIN +k the rest, in BINS bins of log10(n) between the smallest and the largest of them:
               colour from dark blue to yellow, width from 1 to 3.5 times a plain wire's

Codes, not one pen per wire, so that the scene draws all wires of a code with one pen (a few
pen changes per frame, as without the view). Qt-free apart from the pens.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPen

from gui.canvas.style import COLORS
from gui.canvas.wires import WIRE_W

NO_FLOW, VANISHING, EXPLODING, NONFINITE, FIRST_BIN = 0, 1, 2, 3, 4
BINS = 8
CODES = FIRST_BIN + BINS
# The ramp of the bins, small to large (viridis' ends and middle: readable on the dark canvas).
RAMP = [QColor("#3b528b"), QColor("#21918c"), QColor("#5ec962"), QColor("#fde725")]
HIGHLIGHT = {NO_FLOW: QColor("#3a404a"), VANISHING: QColor("#7dd3fc"), EXPLODING: QColor("#ff3b30"),
             NONFINITE: COLORS["nonfinite"]}
NAMES = {NO_FLOW: "no gradient flows", VANISHING: "vanishing", EXPLODING: "exploding",
         NONFINITE: "NaN/Inf"}
VANISH_FACTOR, EXPLODE_FACTOR = 1e-6, 1e3  # the defaults: × the largest flow, × the median flow


def ramp(t: float) -> QColor:
    """The colour at t in [0, 1] along RAMP."""
    t = min(1.0, max(0.0, t)) * (len(RAMP) - 1)
    i = min(int(t), len(RAMP) - 2)
    f = t - i
    a, b = RAMP[i].getRgbF()[:3], RAMP[i + 1].getRgbF()[:3]
    return QColor.fromRgbF(*(x + (y - x) * f for x, y in zip(a, b, strict=True)))


def colour(code: int) -> QColor:
    if code >= FIRST_BIN:
        return ramp((code - FIRST_BIN) / (BINS - 1))
    return HIGHLIGHT[code]


def width(code: int) -> float:
    """A wire's width at 100 %, in scene units."""
    if code >= FIRST_BIN:
        return WIRE_W * (1.0 + 2.5 * (code - FIRST_BIN) / (BINS - 1))
    return WIRE_W * {NO_FLOW: 0.6, VANISHING: 1.0, EXPLODING: 4.0, NONFINITE: 4.0}[code]


def _pen(code: int, w: float, cosmetic: bool) -> QPen:
    pen = QPen(colour(code), w)
    pen.setCapStyle(Qt.PenCapStyle.FlatCap)
    pen.setCosmetic(cosmetic)
    return pen


SCALED = [_pen(c, width(c), False) for c in range(CODES)]
THIN = [_pen(c, 1.0, True) for c in range(CODES)]  # one screen pixel (cosmetic: fast for curves)
# Zoomed out (the overview's straight lines): 1 or 2 screen pixels (width 0: Qt's hairline, as
# the overview's plain EDGE_PEN). Measured, 15,000 lines in one call: ~14 ms at width 0 or 1.
OVERVIEW = [_pen(c, 0.0 if round(width(c) / WIRE_W * 0.5) <= 1 else 2.0, True) for c in range(CODES)]


def pen(code: int, scale: float) -> QPen:
    """The pen of a wire of this code at this zoom: scaled, or one cosmetic pixel where the
    scaled one would be about that thin (as wires.wire_pen)."""
    return THIN[code] if width(code) * scale <= 1.25 else SCALED[code]


@dataclass
class Thresholds:
    """The two thresholds as factors (editable in the legend) and what they come to for a run."""

    vanish_factor: float = VANISH_FACTOR  # × the largest finite flow
    explode_factor: float = EXPLODE_FACTOR  # × the median finite flow
    vanish: float = 0.0  # absolute, for the last classify
    explode: float = math.inf
    low: float = 0.0  # the colour scale's ends: the smallest and largest norm in the bins
    high: float = 0.0


def classify(norms: np.ndarray, t: Thresholds) -> np.ndarray:
    """The code of each norm (NO_FLOW is the caller's: every norm here is of a flowing
    gradient). Sets t's absolute thresholds and the colour scale's ends."""
    codes = np.full(len(norms), NO_FLOW, dtype=np.int8)
    finite = np.isfinite(norms)
    codes[~finite] = NONFINITE
    good = norms[finite]
    largest = float(good.max()) if len(good) else 0.0
    median = float(np.median(good)) if len(good) else 0.0
    t.vanish, t.explode = t.vanish_factor * largest, t.explode_factor * median
    vanishing = finite & ((norms < t.vanish) | (norms == 0))
    exploding = finite & ~vanishing & (norms > t.explode)
    codes[vanishing], codes[exploding] = VANISHING, EXPLODING
    middle = finite & ~vanishing & ~exploding
    t.low, t.high = 0.0, 0.0
    if middle.any():
        logs = np.log10(norms[middle])
        lo, hi = float(logs.min()), float(logs.max())
        t.low, t.high = 10.0 ** lo, 10.0 ** hi
        span = hi - lo
        k = np.full(len(logs), BINS - 1) if span <= 0 else np.round((logs - lo) / span * (BINS - 1))
        codes[middle] = FIRST_BIN + k.astype(np.int8)
    return codes
