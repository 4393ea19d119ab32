"""How the canvas looks: colours and fonts, in one place.

Fonts have pixel sizes, not point sizes: at 100 % zoom a 12 px font is 12 px tall on screen
whatever the display's DPI, so the level of detail (gui.canvas.lod) can tell how tall text
will be from the zoom alone.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont

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
MIN_TEXT_PX = 12.0  # no text is drawn smaller than this on screen (semantic zoom)
TITLE_PX = 13  # the node's title, bold
SMALL_PX = 12  # port names, shapes, the header badge
MONO_PX = 12  # the value and gradient lines
MONO_FAMILY = "DejaVu Sans Mono"


def title_font(px: float = TITLE_PX) -> QFont:
    font = QFont()
    font.setPixelSize(max(1, round(px)))
    font.setBold(True)
    return font


def small_font(px: float = SMALL_PX) -> QFont:
    font = QFont()
    font.setPixelSize(max(1, round(px)))
    return font


def mono_font(px: float = MONO_PX) -> QFont:
    font = QFont(MONO_FAMILY)
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPixelSize(max(1, round(px)))
    return font
