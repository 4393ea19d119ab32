"""Semantic zoom: what a node draws at a given on-screen scale, so that no text is ever drawn
smaller than MIN_TEXT_PX (12 px) on screen.

- FULL: everything (header with badge and ∂ button, ports, value and gradient lines), where the
  smallest font of that drawing is at least 12 px on screen: scale ≥ 12 / 12 = 1.
- SUMMARY: the node's title and ONE big number (the gradient, named ∂y/∂x where that fits, if
  there is one, else the value; the target's value, its ∂y/∂y = 1 being no news), or a colour
  swatch for a tensor, in fonts scaled up so that they are 12–20 px on screen; where two lines
  of 12 px fit, the value stands above the gradient (a lesson opens fitted, and its text
  speaks of values).
  Used wherever those fonts still fit the node's box.
- TITLE: a node too short for SUMMARY's two lines: its title, on its header colour (beside
  taller nodes that still show their summary, a short one is never a blank box), and a ∂ where
  it shows a partial.
- SHAPE: a flat rectangle, nothing else (the cheap path, drawn for thousands of nodes).

The level is chosen in NodeItem.paint from the painter's transform. Nodes use
DeviceCoordinateCache: Qt drops that cache when the item's device transform changes by more
than a translation (QGraphicsScenePrivate::drawItemHelper), so a zoom repaints each node at its
new level; tests/test_canvas_zoom.py checks it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen

from graph.safetext import visible
from graph.values import INLINE_MAX
from gui.canvas.labels import fitted_title, partial_row_names
from gui.canvas.style import COLORS, MIN_TEXT_PX, MONO_PX, SMALL_PX, TITLE_PX, small_font, title_font
from gui.titles import title_of

if TYPE_CHECKING:
    from gui.canvas.items import NodeItem

FULL, SUMMARY, TITLE, SHAPE = "full", "summary", "title", "shape"
SUMMARY_TITLE_PX = 14.0  # on screen, where the node is tall enough; never below MIN_TEXT_PX
SUMMARY_NUMBER_PX = 20.0
LINE = 1.25  # a line of text is this many times its font's pixel size
TWO_LINES = 1.1  # ... in the summary's two number lines (digits, no descenders to leave room for)
PAD = 4.0  # scene units around the summary's text


def full_min_scale() -> float:
    """The smallest scale at which every font of the full drawing is ≥ MIN_TEXT_PX on screen."""
    return MIN_TEXT_PX / min(TITLE_PX, SMALL_PX, MONO_PX)


@dataclass(frozen=True)
class Summary:
    """Font pixel sizes (scene units) of the summary's title and number, and the header's height."""

    title_px: int
    number_px: int

    @property
    def header_h(self) -> float:
        return LINE * self.title_px + PAD


@lru_cache(maxsize=512)  # asked three times per node per paint, with the same few arguments
def summary_layout(scale: float, height: float) -> Summary | None:
    """The summary's fonts at this scale, or None when even 12 px on screen would not fit a
    node this tall. Sizes are whole pixels rounded up, so never below 12 px on screen."""
    if scale <= 0:
        return None
    avail = (height - 2 * PAD) / LINE
    lowest = math.ceil(MIN_TEXT_PX / scale)
    title = math.ceil(SUMMARY_TITLE_PX / scale)
    number = math.ceil(SUMMARY_NUMBER_PX / scale)
    if title + number > avail:
        number = math.floor(avail - title)
        if number < lowest:
            title = lowest
            number = math.floor(avail - title)
            if number < lowest:
                return None
    return Summary(title, number)


@lru_cache(maxsize=512)
def title_line_px(scale: float, height: float) -> int | None:
    """TITLE's font size (scene units): one line of at least MIN_TEXT_PX on screen, up to
    SUMMARY_TITLE_PX, that fits the node's height; None when even 12 px would not fit."""
    if scale <= 0:
        return None
    px = min(math.ceil(SUMMARY_TITLE_PX / scale), math.floor((height - 2 * PAD) / LINE))
    return px if px >= math.ceil(MIN_TEXT_PX / scale) else None


def level_for(scale: float, height: float) -> str:
    if scale >= full_min_scale():
        return FULL
    if summary_layout(scale, height) is not None:
        return SUMMARY
    return TITLE if title_line_px(scale, height) is not None else SHAPE


def text_px_on_screen(level: str, scale: float, height: float) -> float | None:
    """The smallest text drawn at this level, in on-screen pixels (None: no text at all)."""
    if level == FULL:
        return min(TITLE_PX, SMALL_PX, MONO_PX) * scale
    if level == SUMMARY:
        lay = summary_layout(scale, height)
        return min(lay.title_px, lay.number_px) * scale
    if level == TITLE:
        return title_line_px(scale, height) * scale
    return None


@cache
def _title_font(px: int) -> QFont:
    return title_font(px)


@cache
def _number_font(px: int) -> QFont:
    font = small_font(px)
    font.setBold(True)
    return font


def shape_below(height: float) -> float:
    """The scale below which a node this tall draws no summary (TITLE, then SHAPE): summary_layout
    needs two lines of at least MIN_TEXT_PX on screen, ceil(12 / scale) <= floor(avail / 2) scene
    units each. Below it for the scene's tallest node the overview draws every node as SHAPE."""
    return MIN_TEXT_PX / math.floor((height - 2 * PAD) / LINE / 2)


def head_key(item: NodeItem) -> str:
    """The COLORS key of the node's header: an op, a leaf with requires_grad, a constant leaf."""
    node = item.node
    if not node.is_tensor:
        return "op"
    return "leaf_grad" if node.requires_grad else "leaf_const"


def head_color(item: NodeItem):  # noqa: ANN201 - a QColor
    return COLORS[head_key(item)]


# What a node's frame shows, the first that applies winning. A selected node that has one of
# these keeps it and gets the selection ring inside it (paint_selection): Del and Ctrl+X act on
# what is seen selected, the target and a node with an error too.
FRAME_MARKS = ("error", "nonfinite", "target")
RING_GAP = 3.5  # screen pixels between the frame's middle and the selection ring's
INVOLVED = QColor(229, 72, 77, 150)  # a thin frame: an input a failing node's error names


def frame(item: NodeItem) -> tuple[QColor, float]:
    """The node's frame, colour and width, by what matters most (FRAME_MARKS): an error, where
    NaN/Inf first appears, the target; else the selection; else, on an input a failing node
    names, a thin faded red; else a thin line of its header colour."""
    flags = (item.error, item.nonfinite, item.is_target)
    for flag, key in zip(flags, FRAME_MARKS, strict=True):
        if flag:
            return COLORS[key], 3.0
    if item.isSelected():
        return COLORS["selected"], 3.0
    if item.involved:
        return INVOLVED, 1.5
    return head_color(item).lighter(130), 1.0


def needs_ring(item: NodeItem) -> bool:
    """Whether the selection is drawn as a ring: the frame shows another mark."""
    return bool(item.error or item.nonfinite or item.is_target) and item.isSelected()


def paint_selection(item: NodeItem, p: QPainter, scale: float) -> None:
    """The selection ring, just inside a frame that shows another mark, 2 px wide on screen at
    any zoom (in SHAPE, round the filled rectangle's edge)."""
    pen = QPen(COLORS["selected"], 2.0)
    pen.setCosmetic(True)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    level = level_for(scale, item.height())
    inset = RING_GAP / scale if level != SHAPE else 1.0 / scale
    ring = QRectF(0, 0, item.width(), item.height()).adjusted(inset, inset, -inset, -inset)
    radius = max(0.0, corner_radius(item) - inset) if level == FULL else 0.0
    p.drawRoundedRect(ring, radius, radius)


def corner_radius(item: NodeItem) -> float:
    """The full drawing's corners: leaves round, ops square, visibly different."""
    return 9.0 if item.node.is_tensor else 3.0


def paint_shape(item: NodeItem, p: QPainter) -> None:
    """The cheapest drawing: one filled rectangle, in the colour that matters most."""
    color, width = frame(item)
    p.fillRect(QRectF(0, 0, item.width(), item.height()), color if width >= 3.0 else head_color(item))


def text_pad(item: NodeItem, scale: float) -> float:
    """Scene units left and right of a summary's or title's text: PAD, or clear of the selection
    ring where one is drawn (a selected target's ring crossed its first letter)."""
    return max(PAD, (RING_GAP + 3.0) / scale) if needs_ring(item) else PAD


def _framed_box(item: NodeItem, p: QPainter, fill: QColor) -> QRectF:
    """The node's box filled with `fill` inside its frame (frame(), in screen pixels whatever
    the zoom): SUMMARY's and TITLE's ground. Returns the box."""
    rect = QRectF(0, 0, item.width(), item.height())
    pen = QPen(*frame(item))
    pen.setCosmetic(True)
    p.setPen(pen)
    p.setBrush(fill)
    p.drawRect(rect)
    return rect


def paint_title(item: NodeItem, p: QPainter, scale: float) -> None:
    """TITLE: the box in its header colour, framed as the summary is, with the title in it, and
    at its right end a ∂ in the partial's colour where the node shows one: beside a weight's
    summary, a bias drawn as its title alone read as having no gradient."""
    rect = _framed_box(item, p, head_color(item))
    font = _title_font(title_line_px(scale, item.height()))
    p.setFont(font)
    pad = text_pad(item, scale)
    inner = rect.adjusted(pad, 0, -pad, 0)
    marker, _text, color = summary_content(item)
    if marker.endswith("∂"):
        p.setPen(color)
        p.drawText(inner, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, "∂")
        inner.setRight(inner.right() - QFontMetricsF(font).horizontalAdvance("∂ "))
    p.setPen(COLORS["text"])
    p.drawText(inner, Qt.AlignmentFlag.AlignVCenter,
               fitted_title(QFontMetricsF(font), title_of(item.node), inner.width()))


def summary_content(item: NodeItem) -> tuple[str, str, object]:
    """(marker, text, colour) of the summary's one number: ("∂", "8", grad colour) for a partial,
    ("=", "[14, 22]", text colour) for a value written out; text "" where only a swatch
    (item.swatch) can stand for a tensor too big to write out. ("⚠", message, ...) for an error;
    ("", "", ...) when there is nothing to show."""
    view = item.view
    if view is None:
        if item.error:
            return "⚠", visible(item.error), COLORS["error"]
        return ("", "…", COLORS["dim_text"]) if item.looks_stale() else ("", "", COLORS["dim_text"])
    shows_grad = item.view_target is not None and view.grad_text is not None and not item.partial_withheld()
    marker = ("vᵀ·∂" if item.view_vjp else "∂") if shows_grad else "="
    color = COLORS["dim_text"] if item.looks_stale() else COLORS["grad_text"] if shows_grad else COLORS["text"]
    if item.swatch is not None and math.prod(view.shape) > INLINE_MAX:
        return marker, "", color
    text = view.grad_text if shows_grad else view.value_text
    return marker, visible(item.without_shape(text)), color


def summary_value(item: NodeItem) -> str:
    """The node's value as the summary writes it beside a partial ("17", "[14, 22]"), without
    its shape; "" where there is none to write (a tensor too big: its swatch is the partial's)."""
    view = item.view
    if view is None or not view.value_text or (item.swatch is not None and math.prod(view.shape) > INLINE_MAX):
        return ""
    return visible(item.without_shape(view.value_text))


def _number_fitted(line_in: Callable[[QFontMetricsF, float], str], size: int, smallest: int,
                   width: float) -> tuple[QFont, QFontMetricsF, str]:
    """(font, metrics, line) for a summary number line: `line_in(fm, shrink)` written in the
    number font of `size` px, shrunk to fit `width`, down to `smallest` px (12 on screen)."""
    font = _number_font(size)
    fm = QFontMetricsF(font)
    line = line_in(fm, min(1.0, smallest / size))
    if fm.horizontalAdvance(line) > width:  # shrink to fit, down to 12 px on screen
        size = max(smallest, math.floor(size * width / fm.horizontalAdvance(line)))
        font = _number_font(size)
        fm = QFontMetricsF(font)
    return font, fm, line


def _draw_number(p: QPainter, rect: QRectF, font: QFont, fm: QFontMetricsF, line: str, color: QColor,
                 width: float) -> None:
    p.setFont(font)
    p.setPen(color)
    p.drawText(rect, Qt.AlignmentFlag.AlignVCenter, fm.elidedText(line, Qt.TextElideMode.ElideRight, width))


def summary_line(item: NodeItem, marker: str, text: str, fm: QFontMetricsF, width: float,
                 shrink: float = 1.0) -> str:
    """The summary's number with what it is: a partial named by the titles (∂y/∂x = 8), in this
    font or one down to `shrink` times it (the caller shrinks to fit), the titles shortened
    ("∂a…/∂W… = 8") only where the whole names do not fit even then: "∂y/∂a…" in big type
    beside a node titled "a" read as its partial; else by its marker alone (∂ 8; the status
    bar names it)."""
    line = f"{marker} {text}".strip()
    if text and marker.endswith("∂"):
        for name in partial_row_names(item.target_title(), item.node.title, item.view_vjp):  # down to "∂a…/∂W…"
            named = f"{name} = {text}"
            if fm.horizontalAdvance(named) * shrink <= width:  # measured once: this runs for every node drawn
                return named
    return line


def summary_button(item: NodeItem, lay: Summary, pad: float) -> QRectF:
    """The ∂ button at the summary level: square, the header's height less a margin, at its
    right, its ∂ in the title's font (≥ 12 px on screen); it holds the full level's DIFF_BTN."""
    side = lay.header_h - 4
    return QRectF(item.width() - pad - side, 2, side, side)


def paint_diff_button(item: NodeItem, p: QPainter, rect: QRectF, font: QFont, cosmetic: bool = False) -> None:
    """The ∂ button (click: this node becomes the target), filled in the target's colour on it."""
    pen = QPen(COLORS["text"], 1)
    pen.setCosmetic(cosmetic)  # one pixel on screen at any zoom
    p.setPen(pen)
    p.setBrush(COLORS["target"] if item.is_target else QColor(0, 0, 0, 90))
    radius = min(4.0, rect.height() / 5)
    p.drawRoundedRect(rect, radius, radius)
    p.setFont(font)
    p.drawText(rect, Qt.AlignmentFlag.AlignCenter, "∂")


def paint_summary(item: NodeItem, p: QPainter, scale: float) -> None:
    lay = summary_layout(scale, item.height())
    width, height = item.width(), item.height()
    head = head_color(item)
    _framed_box(item, p, COLORS["body"])
    header = QRectF(0, 0, width, lay.header_h)
    p.fillRect(header.adjusted(1, 1, -1, 0), head)
    pad = text_pad(item, scale)
    inner = width - 2 * pad
    font = _title_font(lay.title_px)
    button = item.diff_button = summary_button(item, lay, pad)  # where a click makes it the target
    paint_diff_button(item, p, button, font, cosmetic=True)
    p.setPen(COLORS["text"])
    p.drawText(header.adjusted(pad, 0, -pad, 0), Qt.AlignmentFlag.AlignVCenter,
               fitted_title(QFontMetricsF(font), title_of(item.node), button.left() - 2 * pad))
    marker, text, color = summary_content(item)
    row = QRectF(pad, lay.header_h, inner, height - lay.header_h - PAD)
    if not marker and not text:
        return
    smallest = math.ceil(MIN_TEXT_PX / scale)  # 12 px on screen

    def number_line(fm: QFontMetricsF, shrink: float) -> str:
        return summary_line(item, marker, text, fm, inner, shrink)

    value = summary_value(item) if text and marker.endswith("∂") else ""
    two = min(lay.number_px, math.floor(row.height() / (2 * TWO_LINES)))  # px of each of two lines
    if value and two >= smallest:  # room for the value above the partial: a lesson's "y = 17" shows
        upper, lower = QRectF(row.x(), row.y(), inner, row.height() / 2), row.adjusted(0, row.height() / 2, 0, 0)
        font, fm, line = _number_fitted(lambda _fm, _shrink: f"= {value}", two, smallest, inner)
        _draw_number(p, upper, font, fm, line, COLORS["dim_text"] if item.looks_stale() else COLORS["text"], inner)
        _draw_number(p, lower, *_number_fitted(number_line, two, smallest, inner), color, inner)
        return
    # One line, on the node the shown partials are of, with no grad-output: ∂y/∂y = 1 holds by
    # definition, its value is the news (with a grad-output the partial is v, and may be the swatch).
    if value and item.view_target == item.node_id and not item.view_vjp:
        marker, text, color = "=", value, COLORS["dim_text"] if item.looks_stale() else COLORS["text"]
    font, fm, line = _number_fitted(number_line, lay.number_px, smallest, inner)
    if text and fm.horizontalAdvance(line) > inner and item.swatch is not None:
        text = ""  # a small tensor whose numbers do not fit even at 12 px: its colours instead
    if text:
        _draw_number(p, row, font, fm, line, color, inner)
        return
    p.setFont(font)
    p.setPen(color)
    mark_w = fm.horizontalAdvance(marker + " ")
    p.drawText(row, Qt.AlignmentFlag.AlignVCenter, marker)
    swatch = QRectF(row.x() + mark_w, row.y() + 2, row.width() - mark_w, row.height() - 4)
    p.drawImage(swatch, item.swatch)
    p.setPen(QPen(COLORS["dim_text"], 0))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawRect(swatch)
