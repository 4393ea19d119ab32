"""The result box: the shown node's value and ∂target/∂node, each drawn by an ArrayPanel.

A panel draws a scalar as a big number, a vector as bars (up to BAR_MAX entries) or a line, a
matrix as a heatmap with a colour bar (gradients on a zero-centred map), and anything higher
flattened. Results arrive as plain data (autograd_bridge.compute): numpy arrays, never torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from gui.inspector.style import BLUE, GREY, ORANGE, RED, TANGENT, elide, fmt, shape_text, styled_plot

if TYPE_CHECKING:
    from autograd_bridge.compute import ComputeResult, NodeView

NO_RESULT = "no result yet: click ∂ on a node to make it the target"
TOO_LARGE = "too large to plot"
PLOT_MIN_HEIGHT, PLOT_MAX_HEIGHT = 150, 240
BAR_MAX = 64  # vectors up to this length are bars, longer ones a line


def plottable(full: np.ndarray | None, preview: np.ndarray | None, text: str) -> tuple[np.ndarray | None, str]:
    """The full array when it was sent, else the strided sample the canvas draws, said so."""
    if full is None and preview is not None:
        return preview, f"{text} (plotted: a strided sample of {preview.size:,} entries)"
    return full, text


class ArrayPanel(QWidget):
    """A title, one drawing of an array (or a message), and a caption with shape and text."""

    def __init__(self, title: str, diverging: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.diverging = diverging  # gradients: always a zero-centred colour map
        self.kind = "empty"  # scalar | bars | line | heatmap | text
        self.body: QWidget | None = None
        self.plot_item: pg.PlotItem | None = None
        self.image: pg.ImageItem | None = None
        self.colorbar: pg.ColorBarItem | None = None
        self.bars: pg.BarGraphItem | None = None
        self.setMinimumWidth(150)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.title = QLabel(title)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        lay.addWidget(self.title)
        self._holder = QVBoxLayout()
        self._holder.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(self._holder)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setStyleSheet(f"color: {GREY};")
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.caption)
        lay.addStretch(1)

    def _set_body(self, widget: QWidget, kind: str) -> None:
        if self.body is not None:
            self._holder.removeWidget(self.body)
            self.body.hide()
            self.body.deleteLater()
        self.plot_item = self.image = self.colorbar = self.bars = None
        self.body, self.kind = widget, kind
        self._holder.addWidget(widget)
        widget.show()  # a layout shows a new child of a visible widget only later, from the event loop

    def show_message(self, text: str, caption: str = "") -> None:
        label = QLabel(text)
        label.setObjectName("message")
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setMinimumHeight(40)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._set_body(label, "text")
        self._set_caption(caption)

    def _set_caption(self, text: str) -> None:
        self.caption.setText(text)
        self.caption.setVisible(bool(text))

    def show_array(self, arr: np.ndarray | None, text: str, shape: tuple[int, ...]) -> None:
        """Draw an array; `text` is the exact text form, shown where it adds something."""
        if arr is None:
            self.show_message(TOO_LARGE, f"{shape_text(shape)}: {elide(text, 200)}")
            return
        a = np.asarray(arr, dtype=np.float64)
        if a.ndim == 0 or (not shape and a.size == 1):
            v = float(a.reshape(()))
            self._scalar(v)
            self._set_caption("" if text in (fmt(v), f"{fmt(v)}.") else elide(text, 200))
            return
        if a.size == 0:
            self.show_message("empty tensor", shape_text(shape))
            return
        bad = int(np.count_nonzero(~np.isfinite(a)))
        notes = []
        if a.ndim == 1:
            if a.size <= BAR_MAX:
                self._bars(a)
            else:
                self._line(a)
        elif a.ndim == 2:
            self._heatmap(a)
        else:
            self._line(a.ravel())
            notes.append(f"{a.ndim}-D {shape_text(shape)}, shown flattened (row-major)")
        if bad:
            notes.append(f"{bad} NaN/Inf element(s) not drawn")
        notes.append(elide(text, 200))
        self._set_caption(" · ".join(notes))

    def _scalar(self, v: float) -> None:
        label = QLabel(fmt(v))
        label.setObjectName("scalar")
        font = QFont(label.font())
        font.setPointSize(max(18, font.pointSize() * 2))
        font.setBold(True)
        label.setFont(font)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setMinimumHeight(56)
        label.setToolTip(repr(v))
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._set_body(label, "scalar")

    def _plot_widget(self, kind: str) -> pg.PlotItem:
        widget = pg.PlotWidget(background="w")
        widget.setMinimumHeight(PLOT_MIN_HEIGHT)
        widget.setMaximumHeight(PLOT_MAX_HEIGHT)
        widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        plot = widget.getPlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        styled_plot(plot)
        self._set_body(widget, kind)
        self.plot_item = plot
        return plot

    def _bars(self, a: np.ndarray) -> None:
        plot = self._plot_widget("bars")
        heights = np.where(np.isfinite(a), a, 0.0)
        pos, neg = pg.mkBrush(BLUE), pg.mkBrush(TANGENT)
        self.bars = pg.BarGraphItem(x=np.arange(a.size), height=heights, width=0.8,
                                    brushes=[pos if h >= 0 else neg for h in heights], pen=None)
        plot.addItem(self.bars)
        plot.addLine(y=0, pen=pg.mkPen("#888888"))
        plot.setXRange(-0.6, a.size - 0.4, padding=0)
        if a.size <= 16:
            plot.getAxis("bottom").setTicks([[(i, str(i)) for i in range(a.size)]])

    def _line(self, a: np.ndarray) -> None:
        plot = self._plot_widget("line")
        plot.plot(np.arange(a.size), np.where(np.isfinite(a), a, np.nan),
                  pen=pg.mkPen(BLUE, width=1.5), connect="finite")

    def _heatmap(self, a: np.ndarray) -> None:
        widget = pg.GraphicsLayoutWidget()
        widget.setBackground("w")
        widget.setMinimumHeight(PLOT_MIN_HEIGHT)
        widget.setMaximumHeight(PLOT_MAX_HEIGHT)
        widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._set_body(widget, "heatmap")
        plot = self.plot_item = widget.addPlot()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        styled_plot(plot)
        plot.showGrid(x=False, y=False)
        plot.invertY(True)  # row 0 at the top, as the matrix is written
        plot.setAspectLocked(True)  # square cells
        finite = a[np.isfinite(a)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        if self.diverging or (lo < 0 < hi):
            m = max(abs(lo), abs(hi)) or 1.0
            levels, cmap = (-m, m), pg.colormap.get("CET-D1")
        else:
            levels = (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)
            cmap = pg.colormap.get("viridis")
        rows, cols = a.shape
        self.image = pg.ImageItem(np.where(np.isfinite(a), a, np.nan), axisOrder="row-major")
        self.image.setRect(QRectF(-0.5, -0.5, cols, rows))  # cell (i, j) centred on (j, i)
        plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=levels, colorMap=cmap, interactive=False, width=12,
                                        colorMapMenu=False)
        self.colorbar.setImageItem(self.image, insert_in=plot)
        self.colorbar.axis.setTextPen(pg.mkPen("#333333"))
        for name, label, n in (("left", "row", rows), ("bottom", "column", cols)):
            axis = plot.getAxis(name)
            axis.enableAutoSIPrefix(False)
            axis.setLabel(label, color="#333333")
            if n <= 12:  # one tick per row / column, on the cell centres
                axis.setTicks([[(i, str(i)) for i in range(n)]])
        plot.setXRange(-0.5, cols - 0.5, padding=0)
        plot.setYRange(-0.5, rows - 0.5, padding=0)


class ResultView(QGroupBox):
    """A note (no result, an error, stale), a caption (shape, leaf or not) and the value and
    gradient panels side by side."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Result", parent)
        lay = QVBoxLayout(self)
        self.note = QLabel()
        self.note.setObjectName("resultNote")
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.note)
        self.caption = QLabel()
        self.caption.setStyleSheet(f"color: {GREY};")
        self.caption.setWordWrap(True)
        lay.addWidget(self.caption)
        self.panels = QWidget()
        plays = QHBoxLayout(self.panels)
        plays.setContentsMargins(0, 0, 0, 0)
        self.value_panel = ArrayPanel("value", diverging=False)
        self.grad_panel = ArrayPanel("gradient", diverging=True)
        plays.addWidget(self.value_panel, 1)
        plays.addWidget(self.grad_panel, 1)
        lay.addWidget(self.panels)

    def message(self, text: str, color: str = GREY, keep_panels: bool = False) -> None:
        self.note.setText(elide(text, 600))
        self.note.setStyleSheet(f"color: {color};")
        self.note.show()
        if not keep_panels:
            self.panels.hide()
            self.caption.hide()

    def mark_stale(self) -> None:
        """Say the panels shown are from before the latest edit (if any are shown)."""
        if self.panels.isVisibleTo(self):
            self.note.setText("stale: the graph changed since this result was computed; "
                              "waiting for a recompute")
            self.note.setStyleSheet(f"color: {ORANGE};")
            self.note.show()

    def show_node(self, node_id: str, r: ComputeResult | None) -> None:
        """Draw `node_id`'s value and partial from a result of the current revision (None:
        there is none)."""
        self.show()
        self.note.hide()
        if r is None:
            self.message(NO_RESULT)
            return
        view: NodeView | None = r.nodes.get(node_id)
        if r.error and node_id in r.error_nodes:
            self.message(r.error, RED, keep_panels=view is not None)
        elif r.error:
            self.message(f"elsewhere in the graph: {r.error}", GREY, keep_panels=view is not None)
        if view is None:
            if not r.error:
                self.message("the last result holds nothing for this node")
            return
        leaf = "leaf" if view.is_leaf else "non-leaf (its .grad would be None; the partial comes from autograd.grad)"
        self.caption.setText(f"{shape_text(view.shape)} · {leaf}")
        self.caption.show()
        self.panels.show()
        self.value_panel.title.setText("value")
        self.value_panel.show_array(*plottable(view.value, view.value_preview, view.value_text), view.shape)
        self.grad_panel.title.setText(f"∂{r.target}/∂{node_id}" if r.target else "gradient")
        if view.grad_text is None:
            reason = view.no_grad_reason
            self.grad_panel.show_message(f"no grad: {reason}" if reason else "no grad")
        else:
            self.grad_panel.show_array(*plottable(view.grad, view.grad_preview, view.grad_text), view.shape)
