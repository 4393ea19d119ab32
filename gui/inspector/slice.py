"""The slice plot: the target as a function of one scalar leaf, the others held fixed, with the
tangent whose slope is ∂target/∂leaf at the leaf's value.

It applies to a scalar leaf that requires grad while another node is the target. The curve is
computed off the GUI thread: this box asks for it (`requested`) once per (revision, leaf,
target) and draws the answer that matches what it shows now, ignoring older ones.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGroupBox, QLabel, QSizePolicy, QVBoxLayout, QWidget

from graph.errors import GraphError
from graph.naming import formula_name
from graph.safetext import visible
from gui.document import Document
from gui.inspector.style import BLUE, GREY, TANGENT, fmt, partial_name, styled_plot

if TYPE_CHECKING:
    import pyqtgraph as pg

    from autograd_bridge.compute import ComputeResult, SliceResult

# The plot takes what room the dock has left, within these bounds, so that at a 900 px window
# the form, both result panels and the whole slice plot fit without scrolling.
SLICE_MIN_HEIGHT, SLICE_MAX_HEIGHT = 150, 260
AXIS_TITLE_MAX = 16  # characters of a title on an axis (the y axis is the plot's height, ~20 of them)


class SliceView(QGroupBox):
    requested = Signal(str)  # a scalar leaf id: please call Computer.request_slice for it

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__("Target as a function of this leaf", parent)
        self.doc = doc
        self.node_id: str | None = None
        self.slice: SliceResult | None = None
        self._key: tuple | None = None  # (revision, leaf, target) last requested
        lay = QVBoxLayout(self)
        self.note = QLabel()
        self.note.setTextFormat(Qt.TextFormat.PlainText)  # text from files is never markup
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {GREY};")
        lay.addWidget(self.note)
        self._plot: pg.PlotWidget | None = None  # made on first use: pyqtgraph loads after the window shows
        self._plot_index = lay.count()
        # The legend sits under the plot, wrapped, so long titles neither clip nor cover the curve.
        self.legend = QLabel()
        self.legend.setObjectName("sliceLegend")
        self.legend.setWordWrap(True)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.legend)

    @property
    def plot(self) -> pg.PlotWidget:
        if self._plot is None:
            import pyqtgraph as pg

            self._plot = pg.PlotWidget(background="w")
            self._plot.setMinimumHeight(SLICE_MIN_HEIGHT)
            self._plot.setMaximumHeight(SLICE_MAX_HEIGHT)
            self._plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            plot = self._plot.getPlotItem()
            plot.setMenuEnabled(False)
            plot.hideButtons()
            styled_plot(plot)
            self._plot.hide()
            self.layout().insertWidget(self._plot_index, self._plot)
        return self._plot

    def _hide_plot(self) -> None:
        if self._plot is not None:
            self._plot.hide()
        self.legend.hide()

    def _title(self, node_id: str | None) -> str:
        node = self.doc.graph.nodes.get(node_id) if node_id is not None else None
        return visible(node.title if node is not None else str(node_id))

    def set_node(self, node_id: str | None) -> None:
        """Show this node from now on; nothing asked or drawn for another node counts."""
        self.node_id = node_id
        self.slice = None
        self._key = None

    def applies(self) -> bool:
        node = self.doc.graph.nodes.get(self.node_id) if self.node_id is not None else None
        target = self.doc.target
        if node is None or not node.is_tensor or not node.requires_grad or target in (None, node.id):
            return False
        try:
            return node.leaf_shape() == ()
        except GraphError:
            return False

    def _target_not_scalar(self, r: ComputeResult | None) -> bool:
        view = r.nodes.get(self.doc.target) if r is not None else None
        return view is not None and math.prod(view.shape) != 1

    def update_box(self, r: ComputeResult | None) -> None:
        """Show or hide the box for the node, target and result (of this revision, or None)."""
        if not self.applies():
            self.hide()
            self.slice = None
            return
        self.show()
        self.setTitle(f"{self._title(self.doc.target)} as a function of {self._title(self.node_id)}")
        s, target = self.slice, self.doc.target
        if s is not None and s.leaf == self.node_id and s.target == target:
            return
        self.slice = None
        self._hide_plot()
        t, leaf = self._title(target), self._title(self.node_id)
        if self._target_not_scalar(r):
            self.note.setText(f"{t} is not a scalar, so there is no curve to draw.")
        else:
            self.note.setText(f"computing {t} as a function of {leaf}…")

    def maybe_request(self, r: ComputeResult | None) -> None:
        """Ask for the curve once the result for this target (of this revision) is in."""
        if not self.applies() or self._target_not_scalar(r):
            return
        if r is None or r.target != self.doc.target or (r.error and r.target in r.error_nodes):
            return  # (an error elsewhere in the graph leaves this curve computable)
        key = (self.doc.revision, self.node_id, self.doc.target, r.device, r.dtype)
        if key != self._key:
            self._key = key
            self.requested.emit(self.node_id)

    def mark_stale(self) -> None:
        if self.slice is not None:
            self.note.setText("stale: the graph changed since this slice was computed")

    def show_slice(self, s: SliceResult | None) -> None:
        """Draw the target against the shown scalar leaf, with the tangent at its value."""
        try:
            self._show_slice(s)
        except Exception as e:  # noqa: BLE001
            self._hide_plot()
            self.note.setText(f"cannot draw the slice: {type(e).__name__}: {e}")

    def _show_slice(self, s: SliceResult | None) -> None:
        if not self.applies():
            return
        if s is None:
            if self._key is not None:  # the answer to our latest request: nothing to draw
                self.slice = None
                self._hide_plot()
                self.note.setText(f"no curve: {self._title(self.doc.target)} could not be evaluated as a "
                                  f"function of {self._title(self.node_id)} alone")
            return
        if s.leaf != self.node_id or s.target != self.doc.target or s.revision != self.doc.revision:
            return  # an answer to an older question
        self.slice = s
        t, leaf = self._title(s.target), self._title(s.leaf)
        slope_name = partial_name(t, leaf)
        xs = np.asarray(s.xs, dtype=np.float64)
        ys = np.asarray(s.ys, dtype=np.float64)
        import pyqtgraph as pg

        plot = self.plot.getPlotItem()
        plot.clear()
        plot.plot(xs, np.where(np.isfinite(ys), ys, np.nan), pen=pg.mkPen(BLUE, width=2),
                  name=f"target {t}", connect="finite")
        plot.plot(xs, s.y0 + s.slope * (xs - s.x0), pen=pg.mkPen(TANGENT, width=2, style=Qt.PenStyle.DashLine),
                  name=f"tangent, slope = {slope_name} = {fmt(s.slope)}")
        if math.isfinite(s.y0):  # a point at nan is nowhere, and numpy warns at each repaint
            plot.addItem(pg.ScatterPlotItem([s.x0], [s.y0], size=10, brush=pg.mkBrush(TANGENT),
                                            pen=pg.mkPen("#222222")))
        # Axes name the nodes as ∂y/∂x does ("h6" for "h6 = σ(h5)"); the note and legend say all.
        plot.setLabel("bottom", formula_name(leaf, AXIS_TITLE_MAX), color="#333333")
        plot.setLabel("left", formula_name(t, AXIS_TITLE_MAX), color="#333333")
        finite = np.concatenate([ys[np.isfinite(ys)], [s.y0] if math.isfinite(s.y0) else []])
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
        pad = (hi - lo) * 0.08 or max(1.0, abs(hi)) * 0.1
        plot.setYRange(lo - pad, hi + pad, padding=0)  # the tangent may leave the view; the curve not
        plot.setXRange(float(xs.min()), float(xs.max()), padding=0.02)
        self.note.setText(f"{t} at {leaf} = {fmt(s.x0)} is {fmt(s.y0)}; the other inputs are "
                          f"held fixed. Slope {slope_name} = {fmt(s.slope)}.")
        self.legend.setText(" &nbsp; ".join(
            f'<span style="color:{color}; font-weight:bold">{mark}</span>&nbsp;{html.escape(c.name())}'
            for c, color, mark in zip(self.curves(), (BLUE, TANGENT), ("━━", "╍╍"), strict=True)))
        self.plot.show()
        self.legend.show()

    def curves(self) -> list[pg.PlotDataItem]:
        """The curve and its tangent, as drawn (named as the legend names them)."""
        import pyqtgraph as pg

        return [c for c in self.plot.getPlotItem().listDataItems() if isinstance(c, pg.PlotDataItem)]
