"""The inspector dock: edit the selected node, and see its value and ∂target/∂node.

Three parts, each in its own module: the form (gui.inspector.form), the result panels
(gui.inspector.plots) and the slice plot (gui.inspector.slice). This widget lays them out,
follows the document's signals and tells each part which node it shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QFrame, QGroupBox, QScrollArea, QVBoxLayout, QWidget

from graph.safetext import visible
from gui.document import Document
from gui.inspector.derivatives import DerivativesView
from gui.inspector.form import NodeForm, Row, node_title
from gui.inspector.plots import Heading, ResultView
from gui.inspector.slice import SliceView
from gui.inspector.style import RED
from gui.titles import involvement

if TYPE_CHECKING:
    from autograd_bridge.compute import ComputeResult, SliceResult

NO_NODE = "Select a node on the canvas to inspect it."


class Inspector(QWidget):
    """Edit one node's data and see its value and partial; lives in a QDockWidget."""

    sliceRequested = Signal(str)  # a scalar leaf id: please call Computer.request_slice for it

    def __init__(self, doc: Document, parent: QWidget | None = None,
                 is_current: Callable[[ComputeResult], bool] | None = None) -> None:
        super().__init__(parent)
        self.doc = doc
        # In the window, RunState.is_current decides; alone (tests), a result of the document's
        # revision is current.
        self.is_current = is_current or (lambda r: r.revision == doc.revision)
        self.node_id: str | None = None
        self.result: ComputeResult | None = None
        self._build_ui()
        self.form.renamed.connect(self._on_renamed)
        self.slice_box.requested.connect(self.sliceRequested)
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

        self.title = Heading()  # one line, cut with … (the whole on hover): a long label wrapped into many
        font = self.title.font()
        font.setBold(True)
        font.setPointSize(font.pointSize() + 2)
        self.title.setFont(font)
        lay.addWidget(self.title)

        self.form_box = QGroupBox("Node")
        self.form = NodeForm(self.doc)
        QVBoxLayout(self.form_box).addWidget(self.form)
        lay.addWidget(self.form_box)

        self.result_box = ResultView()
        bar = self.scroll.verticalScrollBar()
        self.result_box.scrollbar_allowance = lambda: 0 if bar.isVisible() else bar.sizeHint().width()
        lay.addWidget(self.result_box)
        # The parts tests and the window reach through the inspector.
        self.result_note, self.result_caption = self.result_box.note, self.result_box.caption
        self.panels = self.result_box.panels
        self.value_panel, self.grad_panel = self.result_box.value_panel, self.result_box.grad_panel

        self.slice_box = SliceView(self.doc)
        self.slice_note = self.slice_box.note
        lay.addWidget(self.slice_box)
        # Jacobian / Hessian / formula / gradcheck of the shown node: gui.calculus fills it from
        # the worker. Below the slice plot, which must fit the dock at 900 px with the result.
        self.derivatives = DerivativesView()
        self.derivatives.hide()
        lay.addWidget(self.derivatives)
        lay.addStretch(1)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        hint = super().sizeHint()
        hint.setWidth(max(hint.width(), 400))
        return hint

    @property
    def slice_plot(self):  # noqa: ANN201 - a pyqtgraph PlotWidget, made on first use
        return self.slice_box.plot

    @property
    def rows(self) -> dict[str, Row]:
        """The form's rows: field name ("value", "init.shape", "attr.dim", …) -> Row."""
        return self.form.rows

    # ---- choosing the node ----

    def set_node(self, node_id: str | None, selected: int = 1) -> None:
        """Show this node; with None, say how to choose one (`selected` nodes are selected)."""
        if node_id is not None and node_id not in self.doc.graph.nodes:
            node_id = None
        if node_id != self.node_id:
            self.form.flush_focused_edit()  # typed text goes to the node it was typed for
        self.node_id = node_id
        self.slice_box.set_node(node_id)
        self.form.show_node(node_id)
        if node_id is None:
            self.title.setText(NO_NODE if selected < 2 else f"{selected:,} nodes selected: click one to inspect it.")
            self.form_box.hide()
            self.result_box.hide()
            self.slice_box.hide()
            self.derivatives.hide()
            return
        self.title.setText(node_title(self.doc.graph.nodes[node_id]))
        self.form_box.show()
        self._render_result()
        self.slice_box.update_box(self._fresh())
        self.slice_box.maybe_request(self._fresh())

    def _on_renamed(self, new_id: str) -> None:
        self.node_id = new_id  # the same node under its new name: nothing typed is pending
        self.set_node(new_id)

    # ---- document signals ----

    def _on_node_changed(self, node_id: str) -> None:
        if node_id == self.node_id:
            self.form.refresh()
            self.title.setText(node_title(self.doc.graph.nodes[node_id]))
            self.slice_box.update_box(self._fresh())

    def _on_node_removed(self, node_id: str) -> None:
        if node_id == self.node_id and not self.form.renaming:
            self.set_node(None)

    def _on_graph_reset(self) -> None:
        self.result = None
        self.set_node(None)

    def _on_target_changed(self, _target: object) -> None:
        if self.node_id is not None:
            self._render_result()
            self.slice_box.update_box(self._fresh())
            self.slice_box.maybe_request(self._fresh())

    def _on_edited(self) -> None:
        r = self.result
        if self.node_id is None or r is None or self.is_current(r):
            return
        self.result_box.mark_stale()
        self.slice_box.mark_stale()

    # ---- results ----

    def show_result(self, result: ComputeResult | None) -> None:
        """Draw the shown node's value and partial from a compute result (None: no result)."""
        self.result = result
        try:
            self._render_result()
        except Exception as e:  # noqa: BLE001 - a result that cannot be drawn is described instead
            self.result_box.message(f"cannot draw this result: {type(e).__name__}: {e}", RED)
        self.slice_box.maybe_request(self._fresh())

    def show_slice(self, s: SliceResult | None) -> None:
        """Draw the target against the shown scalar leaf, with the tangent at its value."""
        self.slice_box.show_slice(s)

    def _fresh(self) -> ComputeResult | None:
        r = self.result
        return r if r is not None and self.is_current(r) else None

    def _render_result(self) -> None:
        if self.node_id is None:
            self.result_box.hide()
        else:
            fresh = self._fresh()
            self.result_box.show_node(self.node_id, fresh, self._title_of,
                                      involvement(self.doc.graph, self.node_id, fresh))

    def _title_of(self, node_id: str) -> str:
        """The title the canvas shows for a node (its label, else its id)."""
        node = self.doc.graph.nodes.get(node_id)
        return visible(node.title if node is not None else node_id)
