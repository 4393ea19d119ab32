"""The inspector dock: edit the selected node, and see its value and ∂target/∂node.

The form is built from the op catalogue (one editor per attribute kind) and never writes to
the graph itself: every accepted edit is a new Node (`dataclasses.replace`) handed to `Document.edit_node`
(or `Document.rename`), so it is one undo step. Input the model would refuse is caught here and
shown in red under its field; nothing is pushed and no exception leaves a slot. When the
document says the node changed (an edit, an undo), the form reloads from the model with its
handlers switched off, so a refresh never pushes a command.

Results arrive as plain data (`gui.compute`): this module draws numpy arrays with pyqtgraph and
never imports torch.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from graph.errors import GraphError
from graph.inits import INITS, resolved_init
from graph.inits import default_init as default_init
from graph.model import Node
from graph.ops import DTYPES, Attr
from graph.values import init_shape, parse_param_text, parse_tensor_text
from gui.compute import ComputeResult, NodeView, SliceResult
from gui.document import Document

NO_RESULT = "no result yet: click ∂ on a node to make it the target"
TOO_LARGE = "too large to plot"
NO_NODE = "Select a node on the canvas to inspect it."
INT_RANGE = 1_000_000
PLOT_MIN_HEIGHT, PLOT_MAX_HEIGHT = 150, 240
BAR_MAX = 64  # vectors up to this length are bars, longer ones a line
LITERAL_MAX = 10_000  # an init turned into a literal may hold at most this many elements
MODES = ("literal value", "init (generated)")

_RED = "#c0392b"
_GREY = "#666666"
_ORANGE = "#b9770e"
_BLUE = "#1f77b4"
_TANGENT = "#d62728"


class _Refused(Exception):
    """Input the form does not accept; the message is shown under the field."""


def _nest(flat: list[float], shape: tuple[int, ...]) -> object:
    if not shape:
        return flat[0]
    step = math.prod(shape[1:])
    return [_nest(flat[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])]


def init_as_literal(init: dict) -> tuple[object, bool]:
    """The values an init spec makes, as a nested list, and whether they are exact.

    Deterministic initialisers are computed in plain Python by their InitSpec; random ones
    become zeros of the same shape (their values are only known by running torch).
    """
    shape = init_shape(init)
    n = math.prod(shape)
    if n > LITERAL_MAX:
        raise _Refused(f"the init makes {n:,} elements; a literal value holds at most {LITERAL_MAX:,}: "
                       "make the shape smaller first")
    spec = INITS[init["fn"]]
    if spec.values is None:
        return _nest([0.0] * n, shape), False
    return _nest(spec.values(resolved_init(init), shape), shape), True


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def _shape_text(shape: tuple[int, ...]) -> str:
    return "scalar ()" if not shape else "shape (" + ", ".join(map(str, shape)) + ")"


def _elide(text: str, n: int = 400) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


# ---- small widgets ----

class _Row(QWidget):
    """One editor with an optional grey hint and a red message under it."""

    def __init__(self, editor: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(1)
        lay.addWidget(editor)
        self.hint = QLabel()
        self.hint.setStyleSheet(f"color: {_GREY};")
        self.hint.setWordWrap(True)
        self.hint.hide()
        lay.addWidget(self.hint)
        self.error = QLabel()
        self.error.setObjectName("error")
        self.error.setStyleSheet(f"color: {_RED};")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        lay.addWidget(self.error)

    def show_error(self, message: str) -> None:
        self.error.setText(_elide(message))
        self.error.show()

    def clear_error(self) -> None:
        self.error.clear()
        self.error.hide()

    def set_hint(self, text: str) -> None:
        self.hint.setText(text)
        self.hint.setVisible(bool(text))


def _styled_plot(plot: pg.PlotItem) -> None:
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen("#555555"))
        axis.setTextPen(pg.mkPen("#333333"))
    plot.showGrid(x=True, y=True, alpha=0.25)


def _plottable(full: np.ndarray | None, preview: np.ndarray | None, text: str) -> tuple[np.ndarray | None, str]:
    """The full array when it was sent, else the strided sample the canvas draws, said so."""
    if full is None and preview is not None:
        return preview, f"{text} (plotted: a strided sample of {preview.size:,} entries)"
    return full, text


class _ArrayPanel(QWidget):
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
        self.caption.setStyleSheet(f"color: {_GREY};")
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
            self.show_message(TOO_LARGE, f"{_shape_text(shape)}: {_elide(text, 200)}")
            return
        a = np.asarray(arr, dtype=np.float64)
        if a.ndim == 0 or (not shape and a.size == 1):
            v = float(a.reshape(()))
            self._scalar(v)
            self._set_caption("" if text in (_fmt(v), f"{_fmt(v)}.") else _elide(text, 200))
            return
        if a.size == 0:
            self.show_message("empty tensor", _shape_text(shape))
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
            notes.append(f"{a.ndim}-D {_shape_text(shape)}, shown flattened (row-major)")
        if bad:
            notes.append(f"{bad} NaN/Inf element(s) not drawn")
        notes.append(_elide(text, 200))
        self._set_caption(" · ".join(notes))

    def _scalar(self, v: float) -> None:
        label = QLabel(_fmt(v))
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
        _styled_plot(plot)
        self._set_body(widget, kind)
        self.plot_item = plot
        return plot

    def _bars(self, a: np.ndarray) -> None:
        plot = self._plot_widget("bars")
        heights = np.where(np.isfinite(a), a, 0.0)
        pos, neg = pg.mkBrush(_BLUE), pg.mkBrush(_TANGENT)
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
                  pen=pg.mkPen(_BLUE, width=1.5), connect="finite")

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
        _styled_plot(plot)
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


# ---- the inspector ----

class Inspector(QWidget):
    """Edit one node's data and see its value and partial; lives in a QDockWidget."""

    sliceRequested = Signal(str)  # a scalar leaf id: please call Computer.request_slice for it

    def __init__(self, doc: Document, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        self.node_id: str | None = None
        self.result: ComputeResult | None = None
        self.slice: SliceResult | None = None
        self.rows: dict[str, _Row] = {}  # field name -> row of the current form
        self._form: QWidget | None = None
        self._form_key: tuple | None = None
        self._refreshing = False
        self._renaming = False
        self._slice_key: tuple | None = None  # (revision, leaf, target) last requested
        self._build_ui()
        doc.nodeChanged.connect(self._on_node_changed)
        doc.nodeRemoved.connect(self._on_node_removed)
        doc.graphReset.connect(self._on_graph_reset)
        doc.targetChanged.connect(self._on_target_changed)
        doc.edited.connect(self._on_edited)
        self.set_node(None)

    # ---- layout ----

    def _build_ui(self) -> None:
        self.setMinimumWidth(320)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(self.scroll)
        content = QWidget()
        content.setMinimumWidth(300)
        self.scroll.setWidget(content)
        lay = QVBoxLayout(content)
        lay.setContentsMargins(8, 8, 8, 8)

        self.title = QLabel()
        font = self.title.font()
        font.setBold(True)
        font.setPointSize(font.pointSize() + 2)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.title)

        self.form_box = QGroupBox("Node")
        self._form_holder = QVBoxLayout(self.form_box)
        lay.addWidget(self.form_box)

        self.result_box = QGroupBox("Result")
        rlay = QVBoxLayout(self.result_box)
        self.result_note = QLabel()
        self.result_note.setObjectName("resultNote")
        self.result_note.setWordWrap(True)
        self.result_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        rlay.addWidget(self.result_note)
        self.result_caption = QLabel()
        self.result_caption.setStyleSheet(f"color: {_GREY};")
        self.result_caption.setWordWrap(True)
        rlay.addWidget(self.result_caption)
        self.panels = QWidget()
        plays = QHBoxLayout(self.panels)
        plays.setContentsMargins(0, 0, 0, 0)
        self.value_panel = _ArrayPanel("value", diverging=False)
        self.grad_panel = _ArrayPanel("gradient", diverging=True)
        plays.addWidget(self.value_panel, 1)
        plays.addWidget(self.grad_panel, 1)
        rlay.addWidget(self.panels)
        lay.addWidget(self.result_box)

        self.slice_box = QGroupBox("Target as a function of this leaf")
        slay = QVBoxLayout(self.slice_box)
        self.slice_note = QLabel()
        self.slice_note.setWordWrap(True)
        self.slice_note.setStyleSheet(f"color: {_GREY};")
        slay.addWidget(self.slice_note)
        self.slice_plot = pg.PlotWidget(background="w")
        self.slice_plot.setMinimumHeight(220)
        plot = self.slice_plot.getPlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        _styled_plot(plot)
        # The legend must exist before the first plot() call, or its entries are missing.
        plot.addLegend(offset=(8, 8), labelTextColor="#222222", brush=pg.mkBrush(255, 255, 255, 220),
                       pen=pg.mkPen("#bbbbbb"))
        slay.addWidget(self.slice_plot)
        lay.addWidget(self.slice_box)
        lay.addStretch(1)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        hint = super().sizeHint()
        hint.setWidth(max(hint.width(), 400))
        return hint

    # ---- choosing the node ----

    def set_node(self, node_id: str | None) -> None:
        if node_id is not None and node_id not in self.doc.graph.nodes:
            node_id = None
        if node_id != self.node_id:
            self._flush_focused_edit()
        self.node_id = node_id
        self._form_key = None
        self.slice = None
        self._slice_key = None
        if node_id is None:
            self._drop_form()
            self.title.setText(NO_NODE)
            self.form_box.hide()
            self.result_box.hide()
            self.slice_box.hide()
            return
        self.form_box.show()
        self._refresh_form()
        self._render_result()
        self._update_slice_box()
        self._maybe_request_slice()

    def _node(self) -> Node | None:
        return self.doc.graph.nodes.get(self.node_id) if self.node_id is not None else None

    # ---- document signals ----

    def _on_node_changed(self, node_id: str) -> None:
        if node_id == self.node_id:
            self._refresh_form()
            self._update_slice_box()

    def _on_node_removed(self, node_id: str) -> None:
        if node_id == self.node_id and not self._renaming:
            self.set_node(None)

    def _on_graph_reset(self) -> None:
        self.result = None
        self.set_node(None)

    def _on_target_changed(self, _target: object) -> None:
        if self.node_id is not None:
            self._render_result()
            self._update_slice_box()
            self._maybe_request_slice()

    def _on_edited(self) -> None:
        r = self.result
        if self.node_id is None or r is None or r.revision == self.doc.revision:
            return
        if self.panels.isVisibleTo(self):
            self.result_note.setText("stale: the graph changed since this result was computed; "
                                     "waiting for a recompute")
            self.result_note.setStyleSheet(f"color: {_ORANGE};")
            self.result_note.show()
        if self.slice is not None:
            self.slice_note.setText("stale: the graph changed since this slice was computed")

    # ---- the form ----

    def _flush_focused_edit(self) -> None:
        """Text typed into the shown node's form but not yet entered is committed to that node
        now, as leaving the field would do, before the form goes."""
        focused = self.focusWidget()
        if (isinstance(focused, QLineEdit) and self._form is not None and self._form.isAncestorOf(focused)
                and not focused.isReadOnly()):
            focused.editingFinished.emit()

    def _drop_form(self) -> None:
        form, self._form, self.rows = self._form, None, {}  # handlers of the old form now do nothing
        if form is not None:
            self._form_holder.removeWidget(form)
            form.hide()  # moves focus away: the old editors' editingFinished finds no rows
            form.deleteLater()  # a slot of one of its editors may still be running

    @staticmethod
    def _key(node: Node) -> tuple:
        if node.is_tensor:
            return (node.id, node.op, node.init is None, (node.init or {}).get("fn"))
        return (node.id, node.op)

    def _refresh_form(self) -> None:
        node = self._node()
        if node is None:
            return
        if self._key(node) != self._form_key:
            self._build_form(node)
            self._form_key = self._key(node)
        self._load(node)

    def _add_row(self, form: QFormLayout, key: str, label: str, editor: QWidget,
                 tip: str = "") -> QWidget:
        row = _Row(editor)
        editor.setObjectName(key)
        if tip:
            editor.setToolTip(tip)
        form.addRow(label, row)
        self.rows[key] = row
        return editor

    def _build_form(self, node: Node) -> None:
        self._drop_form()
        self._form = QWidget()
        form = QFormLayout(self._form)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)

        id_edit = self._add_row(form, "id", "id", QLineEdit(), "the node's unique name; Enter renames")
        id_edit.editingFinished.connect(self._on_id_edited)
        label_edit = self._add_row(form, "label", "label", QLineEdit(), "free text shown on the canvas")
        label_edit.setPlaceholderText("(none)")
        label_edit.editingFinished.connect(self._on_label_edited)
        if node.is_tensor:
            self._build_tensor_rows(form, node)
        else:
            self._build_op_rows(form, node)
        self._form_holder.addWidget(self._form)
        self._form.show()

    def _build_tensor_rows(self, form: QFormLayout, node: Node) -> None:
        mode = self._add_row(form, "mode", "data", QComboBox(),
                             "a literal value typed here, or values generated by an initialiser")
        mode.addItems(MODES)
        mode.currentIndexChanged.connect(self._on_mode_changed)
        if node.init is None:
            value = self._add_row(form, "value", "value", QLineEdit(),
                                  "JSON: a number, or a nested list such as [[1, 2], [3, 4]]")
            value.editingFinished.connect(self._on_value_edited)
        else:
            fn = self._add_row(form, "init.fn", "init", QComboBox(), "the initialiser")
            fn.addItems(list(INITS))
            fn.currentIndexChanged.connect(self._on_init_fn_changed)
            for p in INITS[node.init["fn"]].params:
                edit = self._add_row(form, f"init.{p.name}", f"  {p.name}", QLineEdit(),
                                     f"{p.kind}{'' if p.required else ', optional'}: {p.doc}".rstrip(": "))
                edit.setPlaceholderText("required" if p.required else f"default: {json.dumps(p.default)}")
                edit.editingFinished.connect(lambda n=p.name, k=p.kind, r=p.required: self._on_init_param(n, k, r))
        grad = self._add_row(form, "requires_grad", "", QCheckBox("requires grad"),
                             "track ∂target/∂this tensor (a leaf of the autograd graph)")
        grad.toggled.connect(self._on_requires_grad)
        dtype = self._add_row(form, "dtype", "dtype", QComboBox())
        dtype.addItems(list(DTYPES))
        dtype.currentIndexChanged.connect(self._on_dtype_changed)

    def _build_op_rows(self, form: QFormLayout, node: Node) -> None:
        spec = node.spec
        symbol = f"{spec.symbol}   " if spec.symbol != spec.name else ""
        info = QLabel(f"{symbol}{spec.function}({', '.join(spec.inputs)})\n{spec.rule}")
        info.setWordWrap(True)
        info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        info.setStyleSheet(f"color: {_GREY};")
        self._add_row(form, "op", "op", info, f"category: {spec.category}")
        for attr in spec.attrs:
            tip = f"{attr.kind}{', required' if attr.required else ''}: {attr.doc}".rstrip(": ")
            if attr.kind in ("int", "dim"):
                editor = QSpinBox()
                editor.setRange(-INT_RANGE, INT_RANGE)
                editor.setKeyboardTracking(False)  # one edit per Enter / arrow click, not per key
                editor.valueChanged.connect(lambda _v, a=attr: self._on_attr(a))
            elif attr.kind == "bool":
                editor = QCheckBox(attr.name)
                editor.toggled.connect(lambda _v, a=attr: self._on_attr(a))
            elif attr.kind == "choice":
                editor = QComboBox()
                editor.addItems(list(attr.choices))
                editor.currentIndexChanged.connect(lambda _v, a=attr: self._on_attr(a))
            else:  # number, optional_number, ints, dims
                editor = QLineEdit()
                if attr.kind == "dims":
                    editor.setPlaceholderText("null: all dimensions")
                elif attr.kind == "optional_number":
                    editor.setPlaceholderText("null: none")
                editor.editingFinished.connect(lambda a=attr: self._on_attr(a))
            self._add_row(form, f"attr.{attr.name}", "" if attr.kind == "bool" else attr.name,
                          editor, tip)

    def _load(self, node: Node) -> None:
        """Show the model's data; handlers are off while this runs."""
        self._refreshing = True
        try:
            op = ("tensor (leaf)" if node.is_tensor else node.op if node.spec.symbol == node.op
                  else f"{node.op}  {node.spec.symbol}")
            self.title.setText(f"{node.id}  ·  {op}")
            for row in self.rows.values():
                row.clear_error()
            self.rows["id"].editor.setText(node.id)
            self.rows["label"].editor.setText(node.label or "")
            if node.is_tensor:
                self._load_tensor(node)
            else:
                for name, v in node.resolved_attrs().items():
                    editor = self.rows[f"attr.{name}"].editor
                    attr = node.spec.attr(name)
                    if attr.kind in ("int", "dim"):
                        editor.setValue(int(v))
                    elif attr.kind == "bool":
                        editor.setChecked(bool(v))
                    elif attr.kind == "choice":
                        editor.setCurrentIndex(max(0, editor.findText(str(v))))
                    else:
                        editor.setText(json.dumps(v))
        finally:
            self._refreshing = False

    def _load_tensor(self, node: Node) -> None:
        self.rows["mode"].editor.setCurrentIndex(0 if node.init is None else 1)
        try:
            shape_hint = _shape_text(node.leaf_shape())
        except GraphError:
            shape_hint = ""
        if node.init is None:
            self.rows["value"].editor.setText(json.dumps(node.value))
            self.rows["value"].set_hint(shape_hint)
        else:
            fn = self.rows["init.fn"]
            fn.editor.setCurrentIndex(max(0, fn.editor.findText(node.init["fn"])))
            fn.set_hint(f"makes {shape_hint}" if shape_hint else "")
            for name in (p.name for p in INITS[node.init["fn"]].params):
                v = node.init.get(name)
                self.rows[f"init.{name}"].editor.setText("" if name not in node.init else json.dumps(v))
        self.rows["requires_grad"].editor.setChecked(node.requires_grad)
        dtype = self.rows["dtype"].editor
        dtype.setCurrentIndex(max(0, dtype.findText(node.dtype)))

    # ---- edits: each builds a copy and hands it to the document ----

    def _commit(self, key: str, what: str, change: Callable[[Node], Node], revert: bool = False) -> None:
        """Push the node `change` makes from the shown one (dataclasses.replace: nodes are never
        changed in place); show why if it is refused."""
        if self._refreshing or self.node_id is None or key not in self.rows:
            return
        row = self.rows[key]
        try:
            node = change(self.doc.graph.nodes[self.node_id])
            node.check()
            self.doc.edit_node(node, f"Edit {what}")
        except Exception as e:  # noqa: BLE001 - whatever went wrong is shown, never raised
            if isinstance(e, GraphError):
                message = e.message
            elif isinstance(e, _Refused):
                message = str(e)
            else:
                message = f"not accepted: {type(e).__name__}: {e}"
            if revert:  # a combo box or check box: show the model's state again
                self._refresh_form()
            row = self.rows.get(key, row)
            row.show_error(message)
        else:
            row.clear_error()

    def _on_id_edited(self) -> None:
        if self._refreshing or self.node_id is None:
            return
        row = self.rows["id"]
        old, new = self.node_id, row.editor.text()
        if new == old:
            row.clear_error()
            return
        try:  # the document checks the id (the loader's rule, and no duplicates)
            self._renaming = True
            try:
                self.doc.rename(old, new)
            finally:
                self._renaming = False
        except Exception as e:  # noqa: BLE001
            row.show_error(e.message if isinstance(e, GraphError) else str(e))
            return
        self.node_id = new  # the same node under its new name: nothing typed is pending
        self.set_node(new)

    def _on_label_edited(self) -> None:
        text = self.rows["label"].editor.text() if "label" in self.rows else ""

        def change(node: Node) -> Node:  # Node.check holds the label rule
            return replace(node, label=text if text.strip() else None)

        self._commit("label", "label", change)

    def _on_value_edited(self) -> None:
        text = self.rows["value"].editor.text() if "value" in self.rows else ""

        def change(node: Node) -> Node:
            return replace(node, value=parse_tensor_text(text, "value"), init=None)

        self._commit("value", "value", change)

    def _on_mode_changed(self, index: int) -> None:
        random = []

        def change(node: Node) -> Node:
            if index == 1 and node.init is None:
                return replace(node, init=default_init("randn", node.leaf_shape()), value=None)
            if index == 0 and node.init is not None:
                value, exact = init_as_literal(node.init)
                random.append(not exact)
                return replace(node, value=value, init=None)
            return node

        self._commit("mode", "data", change, revert=True)
        if any(random) and "value" in self.rows:
            row = self.rows["value"]
            row.set_hint(f"{row.hint.text()} · the random values are only known by running: "
                         "they became zeros")

    def _on_init_fn_changed(self, index: int) -> None:
        fn = list(INITS)[index]

        def change(node: Node) -> Node:
            if node.init is not None and node.init.get("fn") != fn:
                return replace(node, init=default_init(fn, node.leaf_shape()))
            return node

        self._commit("init.fn", "init", change, revert=True)

    def _on_init_param(self, name: str, kind: str, required: bool) -> None:
        key = f"init.{name}"
        text = self.rows[key].editor.text() if key in self.rows else ""

        def change(node: Node) -> Node:
            init = dict(node.init or {})
            if not text.strip():
                if required:
                    raise _Refused(f"init parameter '{name}' is required")
                init.pop(name, None)
            else:
                init[name] = parse_param_text(kind, text, f"init parameter '{name}'")
            init_shape(init)
            return replace(node, init=init)

        self._commit(key, f"init {name}", change)

    def _on_requires_grad(self, checked: bool) -> None:
        def change(node: Node) -> Node:
            return replace(node, requires_grad=bool(checked))

        self._commit("requires_grad", "requires_grad", change, revert=True)

    def _on_dtype_changed(self, index: int) -> None:
        def change(node: Node) -> Node:
            return replace(node, dtype=DTYPES[index])

        self._commit("dtype", "dtype", change, revert=True)

    def _on_attr(self, attr: Attr) -> None:
        key = f"attr.{attr.name}"
        if key not in self.rows:
            return
        editor = self.rows[key].editor
        what = f"attribute '{attr.name}'"

        def change(node: Node) -> Node:
            if isinstance(editor, QSpinBox):
                v: object = editor.value()
            elif isinstance(editor, QCheckBox):
                v = editor.isChecked()
            elif isinstance(editor, QComboBox):
                v = editor.currentText()
            else:
                v = parse_param_text(attr.kind, editor.text(), what)
            attrs = dict(node.attrs)
            if not attr.required and v == attr.default and type(v) is type(attr.default):
                attrs.pop(attr.name, None)  # only explicit settings are stored
            else:
                attrs[attr.name] = v
            return replace(node, attrs=attrs)

        self._commit(key, attr.name, change, revert=not isinstance(editor, QLineEdit))

    # ---- results ----

    def show_result(self, result: ComputeResult | None) -> None:
        """Draw the shown node's value and partial from a compute result (None: no result)."""
        self.result = result
        try:
            self._render_result()
        except Exception as e:  # noqa: BLE001 - a result that cannot be drawn is described instead
            self._result_message(f"cannot draw this result: {type(e).__name__}: {e}", _RED)
        self._maybe_request_slice()

    def _fresh(self) -> ComputeResult | None:
        r = self.result
        return r if r is not None and r.revision == self.doc.revision else None

    def _result_message(self, text: str, color: str = _GREY, keep_panels: bool = False) -> None:
        self.result_note.setText(_elide(text, 600))
        self.result_note.setStyleSheet(f"color: {color};")
        self.result_note.show()
        if not keep_panels:
            self.panels.hide()
            self.result_caption.hide()

    def _render_result(self) -> None:
        node_id = self.node_id
        if node_id is None:
            self.result_box.hide()
            return
        self.result_box.show()
        self.result_note.hide()
        r = self._fresh()
        if r is None:
            self._result_message(NO_RESULT)
            return
        view: NodeView | None = r.nodes.get(node_id)
        if r.error and node_id in r.error_nodes:
            self._result_message(r.error, _RED, keep_panels=view is not None)
        elif r.error:
            self._result_message(f"elsewhere in the graph: {r.error}", _GREY,
                                 keep_panels=view is not None)
        if view is None:
            if not r.error:
                self._result_message("the last result holds nothing for this node")
            return
        leaf = "leaf" if view.is_leaf else "non-leaf (its .grad would be None; the partial comes from autograd.grad)"
        self.result_caption.setText(f"{_shape_text(view.shape)} · {leaf}")
        self.result_caption.show()
        self.panels.show()
        self.value_panel.title.setText("value")
        self.value_panel.show_array(*_plottable(view.value, view.value_preview, view.value_text), view.shape)
        self.grad_panel.title.setText(f"∂{r.target}/∂{node_id}" if r.target else "gradient")
        if view.grad_text is None:
            reason = view.no_grad_reason
            self.grad_panel.show_message(f"no grad: {reason}" if reason else "no grad")
        else:
            self.grad_panel.show_array(*_plottable(view.grad, view.grad_preview, view.grad_text), view.shape)

    # ---- the slice plot ----

    def _slice_applies(self) -> bool:
        node = self._node()
        target = self.doc.target
        if node is None or not node.is_tensor or not node.requires_grad or target in (None, node.id):
            return False
        try:
            return node.leaf_shape() == ()
        except GraphError:
            return False

    def _target_not_scalar(self) -> bool:
        r = self._fresh()
        view = r.nodes.get(self.doc.target) if r is not None else None
        return view is not None and math.prod(view.shape) != 1

    def _update_slice_box(self) -> None:
        if not self._slice_applies():
            self.slice_box.hide()
            self.slice = None
            return
        self.slice_box.show()
        s, target = self.slice, self.doc.target
        if s is not None and s.leaf == self.node_id and s.target == target:
            return
        self.slice = None
        self.slice_plot.hide()
        if self._target_not_scalar():
            self.slice_note.setText(f"{target} is not a scalar, so there is no curve to draw.")
        else:
            self.slice_note.setText(f"computing {target} as a function of {self.node_id}…")

    def _maybe_request_slice(self) -> None:
        if not self._slice_applies() or self._target_not_scalar():
            return
        r = self._fresh()
        if r is None or r.target != self.doc.target or r.error:
            return
        key = (self.doc.revision, self.node_id, self.doc.target)
        if key != self._slice_key:
            self._slice_key = key
            self.sliceRequested.emit(self.node_id)

    def show_slice(self, s: SliceResult | None) -> None:
        """Draw the target against the shown scalar leaf, with the tangent at its value."""
        try:
            self._show_slice(s)
        except Exception as e:  # noqa: BLE001
            self.slice_plot.hide()
            self.slice_note.setText(f"cannot draw the slice: {type(e).__name__}: {e}")

    def _show_slice(self, s: SliceResult | None) -> None:
        if not self._slice_applies():
            return
        if s is None:
            if self._slice_key is not None:  # the answer to our latest request: nothing to draw
                self.slice = None
                self.slice_plot.hide()
                self.slice_note.setText(f"no curve: {self.doc.target} could not be evaluated as a "
                                        f"function of {self.node_id} alone")
            return
        if s.leaf != self.node_id or s.target != self.doc.target or s.revision != self.doc.revision:
            return  # an answer to an older question
        self.slice = s
        xs = np.asarray(s.xs, dtype=np.float64)
        ys = np.asarray(s.ys, dtype=np.float64)
        plot = self.slice_plot.getPlotItem()
        plot.clear()
        plot.plot(xs, np.where(np.isfinite(ys), ys, np.nan), pen=pg.mkPen(_BLUE, width=2),
                  name=f"target {s.target}", connect="finite")
        plot.plot(xs, s.y0 + s.slope * (xs - s.x0), pen=pg.mkPen(_TANGENT, width=2, style=Qt.PenStyle.DashLine),
                  name=f"tangent, slope = ∂{s.target}/∂{s.leaf} = {_fmt(s.slope)}")
        plot.addItem(pg.ScatterPlotItem([s.x0], [s.y0], size=10, brush=pg.mkBrush(_TANGENT),
                                        pen=pg.mkPen("#222222")))
        plot.setLabel("bottom", s.leaf, color="#333333")
        plot.setLabel("left", s.target, color="#333333")
        finite = np.concatenate([ys[np.isfinite(ys)], [s.y0] if math.isfinite(s.y0) else []])
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
        pad = (hi - lo) * 0.08 or max(1.0, abs(hi)) * 0.1
        plot.setYRange(lo - pad, hi + pad, padding=0)  # the tangent may leave the view; the curve not
        plot.setXRange(float(xs.min()), float(xs.max()), padding=0.02)
        self.slice_note.setText(f"{s.target} at {s.leaf} = {_fmt(s.x0)} is {_fmt(s.y0)}; "
                                f"the other inputs are held fixed. Slope ∂{s.target}/∂{s.leaf} = "
                                f"{_fmt(s.slope)}.")
        self.slice_plot.show()
