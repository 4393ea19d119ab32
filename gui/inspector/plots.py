"""The result box: the shown node's value and ∂target/∂node, each drawn by an ArrayPanel.

A panel draws a scalar as a big number, a vector as bars (up to BAR_MAX entries) or a line, a
matrix as a heatmap sized to its data (gui.inspector.heatmap: gradients on a zero-centred map,
entries written in the cells of small matrices), and anything higher flattened. Titles name
nodes by their titles and say what the number is (∂y/∂W, vᵀ·∂y/∂W with v, no target). Results
arrive as plain data (autograd_bridge.compute): numpy arrays, never torch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QGroupBox, QLabel, QSizePolicy, QVBoxLayout, QWidget

from autograd_bridge.compute import PREVIEW_SIDE
from graph.naming import formula_name
from gui.inspector.heatmap import MatrixView
from gui.inspector.style import (
    BLUE,
    GREY,
    ORANGE,
    RED,
    TANGENT,
    elide,
    fmt,
    partial_name,
    shape_text,
    short,
    styled_plot,
)
from gui.titles import partial_names, tooltip

if TYPE_CHECKING:
    import pyqtgraph as pg

    from autograd_bridge.compute import ComputeResult, NodeView

NO_RESULT = "no result yet: click ∂ on a node to make it the target"
TOO_LARGE = "too large to plot"
NO_TARGET = "no target chosen: click ∂ on a node"
HOVER_HINT = "point at a cell to read its row, column and entries"
PLOT_MIN_HEIGHT, PLOT_MAX_HEIGHT = 150, 240
BAR_MAX = 64  # vectors up to this length are bars, longer ones a line
PANEL_GAP = 18  # pixels between the value and gradient panels side by side


def plottable(full: np.ndarray | None, preview: np.ndarray | None, text: str) -> tuple[np.ndarray | None, str]:
    """The full array when it was sent, else the strided sample the canvas draws, said so."""
    if full is None and preview is not None:
        return preview, f"{text} (plotted: a strided sample of {preview.size:,} entries)"
    return full, text


def sample_steps(drawn: np.ndarray | None, shape: tuple[int, ...], sampled: bool) -> tuple[int, int]:
    """Row and column steps of a strided sample of a matrix (as autograd_bridge.compute takes
    them: every ceil(n / PREVIEW_SIDE)-th); (1, 1) for an array drawn whole."""
    if not sampled or drawn is None or drawn.ndim != 2 or len(shape) != 2:
        return (1, 1)
    return (max(1, -(-shape[0] // PREVIEW_SIDE)), max(1, -(-shape[1] // PREVIEW_SIDE)))


class Heading(QLabel):
    """A panel's title on one line, shortened to the width the panel has (a long node title
    wrapped into a tall column and pushed the numbers out of view): the first of its texts that
    fits (set_texts: the whole, then shorter ones that still say what the number is), else the
    last cut with "…"; text() and the tooltip hold the whole of it."""

    def __init__(self, text: str = "") -> None:
        super().__init__()
        self._texts = [""]
        self.setTextFormat(Qt.TextFormat.PlainText)  # text from files is never markup
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens the panel
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - QLabel's
        self.set_texts([text])

    def set_texts(self, texts: list[str]) -> None:
        self._texts = texts
        self.setToolTip(tooltip(texts[:1]))
        self._fit()

    def text(self) -> str:
        return self._texts[0]

    def shown_text(self) -> str:
        return super().text()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's
        return QSize(0, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - a bold font is wider
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._fit()

    def _fit(self) -> None:
        fm, width = self.fontMetrics(), max(self.width(), 1)
        fitting = [t for t in self._texts if fm.horizontalAdvance(t) <= width]
        super().setText(fitting[0] if fitting else fm.elidedText(self._texts[-1], Qt.TextElideMode.ElideRight, width))


class ArrayPanel(QWidget):
    """A title, one drawing of an array (or a message), and a caption with shape and text."""

    def __init__(self, title: str, diverging: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.diverging = diverging  # gradients: always a zero-centred colour map
        self.kind = "empty"  # scalar | bars | line | heatmap | text
        self.body: QWidget | None = None
        self.plot_item: pg.PlotItem | None = None
        self.heatmap: MatrixView | None = None
        self.bars: pg.BarGraphItem | None = None
        self.setMinimumWidth(120)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.title = Heading(title)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        lay.addWidget(self.title)
        self.subtitle = QLabel()  # what the title does not say (the v of a vector–Jacobian product)
        self.subtitle.setTextFormat(Qt.TextFormat.PlainText)  # text from files is never markup
        self.subtitle.setWordWrap(True)
        self.subtitle.setStyleSheet(f"color: {GREY};")
        self.subtitle.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.subtitle.hide()
        lay.addWidget(self.subtitle)
        self._holder = QVBoxLayout()
        self._holder.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(self._holder)
        self.caption = QLabel()
        self.caption.setTextFormat(Qt.TextFormat.PlainText)  # text from files is never markup
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
        self.plot_item = self.heatmap = self.bars = None
        self.body, self.kind = widget, kind
        self._holder.addWidget(widget)
        widget.show()  # a layout shows a new child of a visible widget only later, from the event loop

    def show_message(self, text: str, caption: str = "") -> None:
        label = QLabel(text)
        label.setTextFormat(Qt.TextFormat.PlainText)  # text from files is never markup
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
        label.setTextFormat(Qt.TextFormat.PlainText)  # text from files is never markup
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
        import pyqtgraph as pg  # imported on first plot: the window opens without it

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
        import pyqtgraph as pg

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
        import pyqtgraph as pg

        plot = self._plot_widget("line")
        plot.plot(np.arange(a.size), np.where(np.isfinite(a), a, np.nan),
                  pen=pg.mkPen(BLUE, width=1.5), connect="finite")

    def _heatmap(self, a: np.ndarray) -> None:
        view = MatrixView(a, self.diverging, self.title.text())
        self._set_body(view, "heatmap")
        self.heatmap = view


def _rank(view: MatrixView, width: float) -> int:
    """How well a heatmap of this width writes its entries: 0 best (4 digits), worse upwards."""
    style = view.geometry_for(width).style
    return len(view.styles) if style is None else style


class ResultView(QGroupBox):
    """A note (no result, an error, stale), a caption (shape, leaf or not), the value and
    gradient panels (side by side, or stacked when a matrix's entries need the width) and, under
    heatmaps, the entry under the mouse."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Result", parent)
        lay = QVBoxLayout(self)
        self.note = QLabel()
        self.note.setTextFormat(Qt.TextFormat.PlainText)  # text from files is never markup
        self.note.setObjectName("resultNote")
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.note)
        self.caption = QLabel()
        self.caption.setTextFormat(Qt.TextFormat.PlainText)  # text from files is never markup
        self.caption.setStyleSheet(f"color: {GREY};")
        self.caption.setWordWrap(True)
        lay.addWidget(self.caption)
        self.panels = QWidget()
        self.panels_layout = QBoxLayout(QBoxLayout.Direction.LeftToRight, self.panels)
        self.panels_layout.setContentsMargins(0, 0, 0, 0)
        self.panels_layout.setSpacing(PANEL_GAP)  # a heading cut with "…" must not run into the next
        self.value_panel = ArrayPanel("value", diverging=False)
        self.grad_panel = ArrayPanel("gradient", diverging=True)
        self.panels_layout.addWidget(self.value_panel, 1)
        self.panels_layout.addWidget(self.grad_panel, 1)
        lay.addWidget(self.panels)
        self.panels.installEventFilter(self)  # its width decides side by side or stacked
        self.hover = QLabel(HOVER_HINT)
        self.hover.setTextFormat(Qt.TextFormat.PlainText)  # text from files is never markup
        self.hover.setObjectName("hover")
        self.hover.setWordWrap(True)
        self.hover.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.hover.hide()
        lay.addWidget(self.hover)
        self._steps = (1, 1)  # a strided sample's row and column steps
        # Width a vertical scroll bar would take that is not taken now (the dock sets it): the
        # choice of side by side or stacked must not flip when the bar comes and goes.
        self.scrollbar_allowance: Callable[[], int] = lambda: 0

    @property
    def stacked(self) -> bool:
        return self.panels_layout.direction() == QBoxLayout.Direction.TopToBottom

    def message(self, text: str, color: str = GREY, keep_panels: bool = False) -> None:
        self.note.setText(elide(text, 600))
        self.note.setStyleSheet(f"color: {color};")
        self.note.show()
        if not keep_panels:
            self.panels.hide()
            self.caption.hide()
            self.hover.hide()

    def mark_stale(self) -> None:
        """Say the panels shown are from before the latest edit (if any are shown)."""
        if self.panels.isVisibleTo(self):
            self.note.setText("stale: the graph changed since this result was computed; "
                              "waiting for a recompute")
            self.note.setStyleSheet(f"color: {ORANGE};")
            self.note.show()

    def show_node(self, node_id: str, r: ComputeResult | None,
                  title_of: Callable[[str], str] = str, involved: str | None = None) -> None:
        """Draw `node_id`'s value and partial from a result of the current revision (None:
        there is none); `title_of` gives a node's title (its label, else its id); `involved`
        ("feeds y[2], which fails") when the error names this node only as the input of the
        node that failed (gui.titles.involvement): the error is then not said to be its own."""
        self.show()
        self.note.hide()
        self.hover.hide()
        if r is None:
            self.message(NO_RESULT)
            return
        view: NodeView | None = r.nodes.get(node_id)
        if r.error and involved:
            self.message(f"{involved}: {r.error_of(node_id)}", ORANGE, keep_panels=view is not None)
        elif r.error and node_id in r.error_nodes:
            self.message(r.error_of(node_id), RED, keep_panels=view is not None)
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
        node = title_of(node_id)
        # Where the whole title does not fit: by its name as in ∂y/∂x ("y" for "y = 2*x**2 + 3*z").
        self.value_panel.title.set_texts([f"value of {node}", f"value of {formula_name(node)}"])
        value, text = plottable(view.value, view.value_preview, view.value_text)
        self.value_panel.show_array(value, text, view.shape)
        self._steps = sample_steps(value, view.shape, view.value is None)
        grad = self.grad_panel
        grad.subtitle.hide()
        if r.target is None:
            grad.title.setText("gradient")
            grad.show_message(NO_TARGET)
        else:
            grad.title.set_texts(partial_names(title_of(r.target), node, r.grad_output is not None)[:-1])
            if r.grad_output is not None:
                grad.subtitle.setText(f"v = {short(r.grad_output)}, the grad-output")
                grad.subtitle.setToolTip(f"a vector–Jacobian product: v weights the entries of "
                                         f"{title_of(r.target)}; not {partial_name(title_of(r.target), node)} "
                                         f"itself, which is a Jacobian")
                grad.subtitle.show()
            if view.grad_text is None:
                reason = view.no_grad_reason
                grad.show_message(f"no grad: {reason}" if reason else "no grad")
            else:
                grad.show_array(*plottable(view.grad, view.grad_preview, view.grad_text), view.shape)
        self._connect_hover()
        self.arrange()

    # ---- heatmaps: hover and layout ----

    def _heatmaps(self) -> list[MatrixView]:
        return [p.heatmap for p in (self.value_panel, self.grad_panel) if p.heatmap is not None]

    def _connect_hover(self) -> None:
        views = self._heatmaps()
        for view in views:
            view.hovered.connect(self.show_hover)
            view.set_partner(next((v for v in views if v is not view), None))
        if views:
            self.hover.setText(HOVER_HINT)
            self.hover.setStyleSheet(f"color: {GREY};")
            self.hover.show()

    def show_hover(self, cell: tuple[int, int] | None) -> None:
        """Say the entries at (row, col) of the value and gradient heatmaps; outline that cell in
        both. None: the mouse left."""
        for view in self._heatmaps():
            view.set_highlight(cell)
        if cell is None:
            self.hover.setText(HOVER_HINT)
            self.hover.setStyleSheet(f"color: {GREY};")
            return
        i, j = cell
        si, sj = self._steps
        where = (f"row {i}, column {j}" if (si, sj) == (1, 1)
                 else f"row {i * si}, column {j * sj} (sample {i}, {j} of a strided sample)")
        parts = [where]
        for panel in (self.value_panel, self.grad_panel):
            m = panel.heatmap
            if m is not None and i < m.rows and j < m.cols:
                parts.append(f"{panel.title.text()} = {float(m.array[i, j]):.6g}")
        self.hover.setText(" · ".join(parts))
        self.hover.setStyleSheet("color: #111111;")

    def eventFilter(self, watched, event) -> bool:  # noqa: ANN001, N802 - Qt's name
        if watched is self.panels and event.type() == QEvent.Type.Resize:
            self.arrange()
        return super().eventFilter(watched, event)

    def arrange(self) -> None:
        """Side by side, unless a small matrix's entries fit in its cells only at full width."""
        views = self._heatmaps()
        width = self.panels.width() - self.scrollbar_allowance()
        half = (width - self.panels_layout.spacing()) / 2
        stack = any(v.show_text and _rank(v, half) > 1 and _rank(v, width) < _rank(v, half) for v in views)
        direction = QBoxLayout.Direction.TopToBottom if stack else QBoxLayout.Direction.LeftToRight
        if direction != self.panels_layout.direction():
            self.panels_layout.setDirection(direction)

