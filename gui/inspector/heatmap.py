"""A matrix drawn as a heatmap sized to its data: square-ish cells, row and column indices, the
entries written in the cells of small matrices, a labelled colour bar under it, and the cell
under the mouse reported (`hovered`) so the result box can say its row, column and number.

Painted with QPainter (the colour maps are pyqtgraph's), so its size is exact: the height
follows the width it is given (heightForWidth) and the matrix's aspect, within bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from gui.inspector.style import fmt

TEXT_MAX = 8  # matrices up to TEXT_MAX x TEXT_MAX write their entries in the cells
CELL_MAX = 56  # widest cell (px)
CELL_MAX_PLAIN = 28  # widest cell of a matrix without text
CELL_MAX_H = 40  # tallest cell with text: wide text cells need not be square
GRID_MIN_H, GRID_MAX_H = 22, 300  # the drawn matrix's height stays within these (px)
PAD = 4
BAR_H = 10
NAN_COLOR = QColor(200, 200, 200)


def levels_for(a: np.ndarray, diverging: bool) -> tuple[tuple[float, float], str]:
    """The colour scale's (low, high) and pyqtgraph colour map name: zero-centred (CET-D1) for
    gradients and for values of both signs, viridis over [min, max] otherwise."""
    finite = a[np.isfinite(a)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if diverging or (lo < 0 < hi):
        m = max(abs(lo), abs(hi)) or 1.0
        return (-m, m), "CET-D1"
    return ((lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)), "viridis"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _split(style: str) -> tuple[str, int]:
    fmt_spec, _, exp = style.partition("@")
    return fmt_spec, int(exp or 0)


def scale_note(style: str | None) -> str:
    """"×10⁻²" for a style that writes entries in units of 10⁻², else ""."""
    exp = _split(style)[1] if style else 0
    return f"×10{str(exp).translate(_SUPERSCRIPT)}" if exp else ""


def cell_text(v: float, style: str) -> str:
    """One entry as a cell shows it: "g4" is 4 significant digits, "f2" 2 decimals, "f2@-3" 2
    decimals in units of 10⁻³."""
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    spec, exp = _split(style)
    text = f"{v / 10.0 ** exp:.{spec[1:]}{spec[0]}}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"


def cell_styles(a: np.ndarray) -> list[str]:
    """Ways to write the entries, best first: 4, 3, 2 significant digits each, then one number
    of decimals for all (3, then 2 significant digits of the largest entry), for very small or
    large entries in units of a power of ten."""
    finite = np.abs(a[np.isfinite(a)])
    top = float(finite.max()) if finite.size else 0.0
    mag = math.floor(math.log10(top)) if top > 0 else 0
    if -1 <= mag <= 2:
        return ["g4", "g3", "g2"] + [f"f{max(0, sig - 1 - mag)}" for sig in (3, 2)]
    return ["g4", "g3", "g2", f"f2@{mag}", f"f1@{mag}"]


@dataclass
class Geometry:
    """Where the grid sits for a given widget width."""

    x0: float  # grid's top-left
    y0: float
    cw: float  # one cell
    ch: float
    style: int | None  # index into MatrixView.styles of how cells write entries; None: no text
    height: int  # the whole widget


class MatrixView(QWidget):
    """One 2-D array as a heatmap. `hovered` carries (row, col) of the cell under the mouse, or
    None when it leaves; `set_highlight` outlines a cell (the other panel's hover)."""

    hovered = Signal(object)

    def __init__(self, a: np.ndarray, diverging: bool, scale_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.array = np.asarray(a, dtype=np.float64)
        assert self.array.ndim == 2 and self.array.size
        self.rows, self.cols = self.array.shape
        self.levels, self.cmap_name = levels_for(self.array, diverging)
        self.scale_name = scale_name
        self.highlight: tuple[int, int] | None = None
        self.partner: MatrixView | None = None  # the other panel's heatmap of the same shape: same cells
        self._hover: tuple[int, int] | None = None
        self.show_text = self.rows <= TEXT_MAX and self.cols <= TEXT_MAX
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        self.small = font
        self.fm = QFontMetricsF(font)
        import pyqtgraph as pg  # imported on first plot: the window opens without it

        self._lut = pg.colormap.get(self.cmap_name).getLookupTable(nPts=256, alpha=False, mode="byte")
        self._colors = self._color_indices()
        self._image = self._make_image()
        self._bar_rgb = np.ascontiguousarray(self._lut.astype(np.uint8)[None, :, :])
        self._bar = QImage(self._bar_rgb.data, 256, 1, 3 * 256, QImage.Format.Format_RGB888)
        self.styles = cell_styles(self.array) if self.show_text else []
        self._text_w = [self._widest_text(st) for st in self.styles]
        self.setMouseTracking(True)
        sp = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        sp.setHeightForWidth(True)
        self.setSizePolicy(sp)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, False)

    # ---- colours ----

    def _color_indices(self) -> np.ndarray:
        lo, hi = self.levels
        with np.errstate(invalid="ignore"):
            t = (self.array - lo) / (hi - lo)
        idx = np.clip(np.nan_to_num(t, nan=0.0, posinf=1.0, neginf=0.0) * 255, 0, 255).astype(np.int64)
        return idx

    def cell_color(self, i: int, j: int) -> QColor:
        if not np.isfinite(self.array[i, j]):
            return NAN_COLOR
        r, g, b = (int(c) for c in self._lut[self._colors[i, j]])
        return QColor(r, g, b)

    def _make_image(self) -> QImage:
        rgb = self._lut[self._colors]  # rows x cols x 3
        rgba = np.empty((self.rows, self.cols, 4), dtype=np.uint8)
        rgba[..., :3] = rgb
        rgba[..., 3] = 255
        rgba[~np.isfinite(self.array)] = (NAN_COLOR.red(), NAN_COLOR.green(), NAN_COLOR.blue(), 255)
        self._rgba = np.ascontiguousarray(rgba)  # the QImage shares this buffer: keep it alive
        return QImage(self._rgba.data, self.cols, self.rows, 4 * self.cols, QImage.Format.Format_RGBA8888)

    # ---- geometry ----

    def _widest_text(self, style: str) -> float:
        return max(self.fm.horizontalAdvance(cell_text(float(v), style)) for v in self.array.ravel())

    def _gutter(self) -> float:
        notes = [scale_note(st) for st in self.styles if "@" in st]  # written above the row indices
        return max(self.fm.horizontalAdvance(t) for t in [str(self.rows - 1), *notes]) + 2 * PAD

    def _header(self) -> float:
        return self.fm.height() + 2

    def _bar_area(self) -> float:
        return PAD + 2 + self.fm.height() + 2 + BAR_H + 2 + self.fm.height() + PAD

    def preferred_width(self) -> float:
        """The width at which small matrices' cells hold their text at 4 digits (others: their
        widest cells), for the result box to choose side by side or stacked."""
        cell = self._text_w[0] + 2 * PAD if self.show_text else CELL_MAX_PLAIN
        return self._gutter() + self.cols * min(max(cell, 20.0), CELL_MAX) + PAD

    def text_fits(self, width: float) -> bool:
        """Whether, at this width, the cells hold their entries in some style."""
        return self.geometry_for(width).style is not None

    def _style_for(self, cw: float) -> int | None:
        return next((k for k, w in enumerate(self._text_w) if w + 6 <= cw), None)

    def _cell_width(self, avail: float) -> tuple[float, int | None]:
        """(cell width, style of the text written) for this much room for the grid."""
        if self.show_text:
            cw = min(avail / self.cols, CELL_MAX)
            style = self._style_for(cw)
            if style is not None:
                return min(cw, max(self._text_w[style] + 3 * PAD, 24.0)), style
        return min(avail / self.cols, CELL_MAX_PLAIN if not self.show_text else CELL_MAX), None

    def geometry_for(self, width: float) -> Geometry:
        avail = max(1.0, width - self._gutter() - PAD)
        cw, style = self._cell_width(avail)
        partner = self.partner
        if partner is not None and partner.array.shape == self.array.shape:
            # Value and gradient share their cell size, so the same entry sits at the same place.
            cw = min(max(cw, partner._cell_width(max(1.0, width - partner._gutter() - PAD))[0]),
                     avail / self.cols)
            if self.show_text:
                style = self._style_for(cw)
        ch = min(cw, CELL_MAX_H) if style is not None else cw
        ch = max(self.fm.height() + 4, ch) if style is not None else ch
        ch = min(max(ch, GRID_MIN_H / self.rows), GRID_MAX_H / self.rows)  # square-ish, within bounds
        grid_w = cw * self.cols
        x0 = self._gutter() + max(0.0, (avail - grid_w) / 2)
        y0 = self._header()
        height = math.ceil(y0 + ch * self.rows + self._bar_area())
        return Geometry(x0, y0, cw, ch, style, height)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt's name
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt's name
        return self.geometry_for(width).height

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        w = math.ceil(self.preferred_width())
        return QSize(w, self.heightForWidth(w))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        w = 120
        return QSize(w, self.heightForWidth(w))

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt's name
        super().resizeEvent(event)
        self.fit_height()

    def fit_height(self) -> None:
        """Take the height the current width needs (layouts that ignore heightForWidth too)."""
        h = self.heightForWidth(self.width())
        if self.height() != h or self.minimumHeight() != h or self.maximumHeight() != h:
            self.setFixedHeight(h)
        self.update()

    def set_partner(self, view: MatrixView | None) -> None:
        """Share cell sizes with the other panel's heatmap of the same shape."""
        self.partner = view
        self.fit_height()

    def grid_rect(self) -> QRectF:
        g = self.geometry_for(self.width())
        return QRectF(g.x0, g.y0, g.cw * self.cols, g.ch * self.rows)

    def cell_rect(self, i: int, j: int) -> QRectF:
        g = self.geometry_for(self.width())
        return QRectF(g.x0 + j * g.cw, g.y0 + i * g.ch, g.cw, g.ch)

    def cell_at(self, pos: QPointF) -> tuple[int, int] | None:
        g = self.geometry_for(self.width())
        j = math.floor((pos.x() - g.x0) / g.cw)
        i = math.floor((pos.y() - g.y0) / g.ch)
        return (i, j) if 0 <= i < self.rows and 0 <= j < self.cols else None

    def cell_texts(self) -> list[list[str]] | None:
        """The entries as written in the cells now (None: too small for text)."""
        g = self.geometry_for(self.width())
        if g.style is None:
            return None
        return [[cell_text(float(v), self.styles[g.style]) for v in row] for row in self.array]

    # ---- mouse ----

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        self._set_hover(self.cell_at(event.position()))
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:  # noqa: ANN001, N802 - Qt's name
        self._set_hover(None)
        super().leaveEvent(event)

    def _set_hover(self, cell: tuple[int, int] | None) -> None:
        if cell != self._hover:
            self._hover = cell
            self.set_highlight(cell)
            self.hovered.emit(cell)

    def set_highlight(self, cell: tuple[int, int] | None) -> None:
        if cell != self.highlight:
            self.highlight = cell
            self.update()

    # ---- painting ----

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        g = self.geometry_for(self.width())
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("white"))
        p.setFont(self.small)
        grid = QRectF(g.x0, g.y0, g.cw * self.cols, g.ch * self.rows)
        p.drawImage(grid, self._image)  # one pixel per cell, scaled without smoothing
        if min(g.cw, g.ch) >= 10:  # thin white lines between cells
            p.setPen(QPen(QColor(255, 255, 255, 200), 1))
            for j in range(1, self.cols):
                x = g.x0 + j * g.cw
                p.drawLine(QPointF(x, g.y0), QPointF(x, grid.bottom()))
            for i in range(1, self.rows):
                y = g.y0 + i * g.ch
                p.drawLine(QPointF(g.x0, y), QPointF(grid.right(), y))
        if g.style is not None:
            note = scale_note(self.styles[g.style])
            if note:  # the unit of the written entries, in the corner above the row indices
                p.setPen(QColor("#111111"))
                p.drawText(QRectF(0, 0, g.x0 - 2, g.y0), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                           note)
            for i in range(self.rows):
                for j in range(self.cols):
                    c = self.cell_color(i, j)
                    light = 0.299 * c.red() + 0.587 * c.green() + 0.114 * c.blue() > 140
                    p.setPen(QColor("#111111") if light else QColor("white"))
                    p.drawText(self.cell_rect(i, j), Qt.AlignmentFlag.AlignCenter,
                               cell_text(float(self.array[i, j]), self.styles[g.style]))
        self._paint_indices(p, g)
        if self.highlight is not None:
            i, j = self.highlight
            if 0 <= i < self.rows and 0 <= j < self.cols:
                p.setPen(QPen(QColor("#111111"), 2))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(self.cell_rect(i, j).adjusted(1, 1, -1, -1))
        self._paint_bar(p, g, grid)
        p.end()

    def _every(self, cell: float, label_w: float) -> int:
        """Label every k-th index (k = 1, 2, 5, 10, 20, 50, …) so labels do not overlap."""
        need = max(1, math.ceil((label_w + 4) / max(cell, 0.01)))
        k = 1
        while k < need:
            k = k * 5 // 2 if str(k).startswith("2") else k * 2  # 1, 2, 5, 10, 20, 50, …
        return k

    def _paint_indices(self, p: QPainter, g: Geometry) -> None:
        p.setPen(QColor("#555555"))
        fh = self.fm.height()
        step = self._every(g.cw, self.fm.horizontalAdvance(str(self.cols - 1)))
        for j in range(0, self.cols, step):
            p.drawText(QRectF(g.x0 + j * g.cw - 20 + g.cw / 2, 0, 40, fh), Qt.AlignmentFlag.AlignCenter, str(j))
        step = self._every(g.ch, fh)
        for i in range(0, self.rows, step):
            p.drawText(QRectF(0, g.y0 + i * g.ch + g.ch / 2 - fh / 2, g.x0 - PAD, fh),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, str(i))

    def _paint_bar(self, p: QPainter, g: Geometry, grid: QRectF) -> None:
        fh = self.fm.height()
        left = grid.left()
        width = max(grid.width(), min(self.width() - PAD - left, 160.0))
        y = grid.bottom() + PAD + 2
        p.setPen(QColor("#444444"))
        name_left = min(left, self._gutter())
        name_w = self.width() - PAD - name_left
        note = scale_note(self.styles[g.style]) if g.style is not None else ""
        name = f"colour: {self.scale_name}" + (f" · entries {note}" if note else "")
        p.drawText(QRectF(name_left, y, name_w, fh), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                   self.fm.elidedText(name, Qt.TextElideMode.ElideRight, name_w))
        y += fh + 2
        p.drawImage(QRectF(left, y, width, BAR_H), self._bar)
        p.setPen(QPen(QColor("#888888"), 1))
        p.drawRect(QRectF(left, y, width, BAR_H))
        y += BAR_H + 2
        lo, hi = self.levels
        p.setPen(QColor("#333333"))
        ticks = [(0.0, fmt(lo), 0.0), (1.0, fmt(hi), 1.0)]  # (where, text, how much of it left of the tick)
        if lo < 0 < hi:
            ticks.append(((0 - lo) / (hi - lo), "0", 0.5))
        for t, text, before in ticks:
            x = left + t * width
            tw = self.fm.horizontalAdvance(text) + 2
            p.drawText(QRectF(x - before * tw, y, tw, fh), Qt.AlignmentFlag.AlignCenter, text)
            p.drawLine(QPointF(x, y - 2), QPointF(x, y - 2 - BAR_H / 2))
