"""The gradient-flow view in the window: the View menu's and the Run toolbar's toggle, the legend,
and asking the worker for the flows (autograd_bridge.flows.flow_task) of the run the canvas
shows: when the view is turned on, when a new result arrives while it is on, and when a wire's
tooltip finds none (the tooltip is shown again when they come).

`install(window)` is the one call the window makes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QCursor
from PySide6.QtWidgets import QToolTip

from autograd_bridge.compute import ComputeResult
from autograd_bridge.flows import FlowResult, flow_task
from gui.canvas.flowlegend import FlowLegend
from gui.canvas.flowstate import answers
from gui.runstate import run_key
from gui.titles import formula_name

if TYPE_CHECKING:
    from gui.window import MainWindow

FLOWS = "flows"  # the worker task's name


class FlowView(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.scene = window.scene
        self.state = window.scene.overview.flow
        self.state.request = self.request
        self.asked: tuple | None = None  # what the last request was for: each run is asked for once
        self.action = QAction("&Gradient flow", window)
        self.action.setCheckable(True)
        self.action.setToolTip("Colour and thicken each wire by the norm of the gradient flowing along it")
        self.action.toggled.connect(self.set_on)
        window.view_menu.addSeparator()
        window.view_menu.addAction(self.action)
        window.run_toolbar.addAction(self.action)
        self.legend = FlowLegend(window.view, self.state, self.thresholds_edited)
        self.legend.hide()
        # After the window's own slot (connected earlier): the result is drawn and current by then.
        window.computer.resultReady.connect(self._on_result)
        window.computer.taskReady.connect(self._on_task)

    def set_on(self, on: bool) -> None:
        if self.action.isChecked() != on:
            self.action.setChecked(on)  # toggled calls back here
            return
        self.state.on = on
        self.legend.setVisible(on)
        if on:
            self.request()
            self.legend.raise_()
        self._refresh()
        self.scene.redraw(self.scene.sceneRect())

    def shown(self) -> ComputeResult | None:
        """The run the canvas shows, if it answers the document as it is now."""
        result = self.w.run.current
        if result is None or result is not self.scene.result or result.revision != self.w.doc.revision:
            return None
        return result

    def request(self) -> None:
        """Ask the worker for the flows of the run shown (once per run)."""
        shown = self.shown()
        if shown is None or shown.target is None or answers(self.state.result, shown):
            return
        key = run_key(shown)
        if key == self.asked:
            return
        self.asked = key
        self.w.computer.request_task(FLOWS, flow_task, self.w.doc.graph.snapshot(), shown.revision,
                                     shown.target, shown.device, shown.dtype, shown.grad_output)

    def _on_result(self, result: ComputeResult) -> None:
        if result is not self.scene.result:
            return
        if result.target is None and self.state.result is not None:  # no target: no gradient flows
            self.state.forget()
            self.scene.overview.flow_changed()
            self.scene.redraw(self.scene.sceneRect())
        if self.state.on:
            self.request()
        self._refresh()

    def _on_task(self, name: str, flows: FlowResult) -> None:
        if name != FLOWS:
            return
        if flows is None:  # lost with the compute process (it said why): asked again when wanted
            self.asked = None
            return
        shown = self.shown()
        if flows.cancelled or not answers(flows, shown):
            if self.asked == run_key(flows):
                self.asked = None  # asked again when wanted (a tooltip, a new result, F5)
            if flows.cancelled and self.state.on:
                self.legend.refresh(self.legend.title.text(), "cancelled: F5 computes again")
            return
        self.state.set_result(flows)
        self.scene.overview.flow_changed()
        if self.state.on:
            self.scene.redraw(self.scene.sceneRect())
        self._refresh()
        self._retip()

    def thresholds_edited(self) -> None:
        self.state.classify()
        self.scene.overview.flow_changed()
        self.scene.redraw(self.scene.sceneRect())
        self._refresh()

    def _refresh(self) -> None:
        if not self.state.on:
            return
        shown, flows = self.scene.result, self.state.result
        title, status = "Gradient flow along each wire", ""
        if shown is None or shown.target is None or shown.target not in self.w.doc.graph.nodes:
            status = "no target: click ∂ on a node"
        else:
            v = "vᵀ·" if shown.grad_output is not None else ""
            title = f"Gradient flow: ‖{v}∂{formula_name(self.w.doc.graph.nodes[shown.target].title)}/∂·‖ per wire"
            if not answers(flows, shown):
                status = "computing…" if flows is None else "computing… (the wires show the last run)"
            elif flows.error:
                status = flows.error
        self.legend.refresh(title, status)

    def _retip(self) -> None:
        """A wire's tooltip that said "computing…" is shown again with the flow."""
        if not QToolTip.isVisible() or "computing" not in QToolTip.text():
            return
        view = self.w.view
        pos = view.mapToScene(view.viewport().mapFromGlobal(QCursor.pos()))
        wire = self.scene.wire_at(pos)
        if wire is not None:
            QToolTip.showText(QCursor.pos(), wire.toolTip(), view.viewport())


def install(window: MainWindow) -> FlowView:
    """The gradient-flow view of a window (its toggle, legend and requests)."""
    window.flow_view = FlowView(window)
    return window.flow_view
