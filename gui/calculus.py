"""The window's derivatives beyond .grad (issue 10): the Jacobian or Hessian of the selected node
in the inspector, clicking a Jacobian row to make that element the target, "Differentiate again"
and "Check gradients", with their marks on the canvas's leaves. `install(window)` wires it.

Everything is computed on the worker (Computer.request_task, autograd_bridge.calculus_tasks);
every result says what it was computed for (`Asked`), and is shown only while that is what the
window asks now (RunState): an edit, a new target, grad-output, device or dtype drop it and the
marks it put on the canvas.

"Differentiate again" keeps the graph as it is: the gradient ∂y/∂x becomes the target of a
second-order pass (double backward, create_graph) whose partials ∂(∂y/∂x)/∂w are shown in the
inspector and on the leaves, each named as the second derivative it is. A catalogue op holding
torch.autograd.grad would also do, but would need the code generator to emit autograd calls
inside the forward that every torch.func path (vmap, meta shapes) runs.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QToolBar
from shiboken6 import isValid

from autograd_bridge import calculus_tasks as tasks
from autograd_bridge.symbolic import formula_line, shown
from graph.edits import box_height, new_node_id
from graph.layout import free_top
from graph.model import Edge, Node
from graph.safetext import visible
from gui.document import SetTarget
from gui.inspector.derivatives import array_text, element, hessian_of, second_name
from gui.titles import formula_name, partial_names, title_of

if TYPE_CHECKING:
    from gui.window import MainWindow

NODE, CHECK, AGAIN = "calculus.node", "calculus.gradcheck", "calculus.again"  # task names
PICK_OFFSET = (260.0, 0.0)  # where a select picking one element goes, from what it selects,
# or the free place nearest there (graph.layout.free_top)


def gradcheck_status(data: tasks.GradcheckData, title: Callable[[str], str],
                     canvas_nonfinite: Collection[str] = frozenset()) -> str:
    """The status bar's one line for a gradcheck (in float64, whatever the canvas's dtype): which
    leaves fail, else that every leaf checked agrees, naming those not checked (no gradient:
    grad's table says None) and those whose partial on the canvas holds NaN/Inf
    (`canvas_nonfinite`) where float64's agrees: float32 overflows exp(100)."""
    if data.error:
        return f"gradcheck: ⚠ {data.error}"
    failing = ", ".join(formula_name(title(c.leaf)) for c in data.leaves if not c.passed)
    unchecked = ", ".join(formula_name(title(n)) for n in data.no_gradient)
    not_checked = f" ({unchecked} not checked: no gradient, see the inspector)" if unchecked else ""
    if failing:
        nan = (f"; {formula_name(title(data.nonfinite))} holds NaN or Inf, which never agree"
               if data.nonfinite is not None else "")
        return f"gradcheck in float64: ✗ autograd disagrees with finite differences for {failing}{nan}{not_checked}"
    checked = "every leaf" if not unchecked else ", ".join(formula_name(title(c.leaf)) for c in data.leaves)
    unseen = [c.leaf for c in data.leaves if c.leaf in canvas_nonfinite]
    if unseen:  # first, so that a narrow bar cuts the rest, not this
        y = formula_name(title(data.asked.target))
        names = ", ".join(f"∂{y}/∂{formula_name(title(n))}" for n in unseen)
        return (f"gradcheck in float64: ✓ for {checked}, but on the canvas {names} hold"
                f"{'s' if len(unseen) == 1 else ''} NaN/Inf: the canvas's dtype overflows or rounds there, "
                f"float64 does not{not_checked}")
    return f"gradcheck in float64: ✓ autograd agrees with central finite differences for {checked}{not_checked}"


class Calculus(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.doc = window.doc
        self.panel = window.inspector.derivatives
        self.node: str | None = None  # the node the inspector shows
        self.node_result: tasks.NodeDerivatives | None = None
        self.checks: tasks.GradcheckData | None = None
        self.second: tasks.SecondDerivatives | None = None
        self._marked: set[str] = set()  # nodes whose marks this module set
        window.computer.taskReady.connect(self._on_task)
        window.computer.resultReady.connect(self._on_result)  # after the window took it (RunState)
        window.scene.selectionChanged.connect(self._on_selection)
        self.doc.edited.connect(self.forget)
        self.doc.targetChanged.connect(self.forget)
        self.doc.graphReset.connect(self.forget)
        self.panel.rowPicked.connect(self.pick_row)
        self.panel.againRequested.connect(lambda: self.differentiate_again(self.node))
        self.panel.checkRequested.connect(self.check_gradients)
        window.scene.node_menu_extras.append(self._extend_menu)
        self.check_action = QAction("Check &gradients", window)
        self.check_action.setToolTip("gradcheck: autograd against central finite differences in float64, "
                                     "per requires-grad leaf")
        self.check_action.triggered.connect(self.check_gradients)
        bar = window.findChild(QToolBar, "Run")
        if bar is not None:
            bar.addAction(self.check_action)
        window.run_menu.addSeparator()
        window.run_menu.addAction(self.check_action)

    # ---- what is asked now ----

    def asked(self) -> tasks.Asked | None:
        run = self.w.run
        if run.target is None or self.w.closed:
            return None
        return tasks.Asked(run.revision, run.target, run.device, run.dtype, run.grad_output)

    def is_current(self, data: object) -> bool:
        return data is not None and data.asked == self.asked() and self.w.run.current is not None

    def can_differentiate_again(self, node: str) -> bool:
        """Whether the canvas shows a gradient ∂target/∂node to take as a new target: the panel's
        button and the node's menu item alike."""
        asked, run = self.asked(), self.w.run.current
        view = run.nodes.get(node) if run is not None else None
        return asked is not None and node != asked.target and view is not None and view.grad_text is not None

    def _gradient_name(self, node: str) -> str:
        """∂y/∂x as the canvas names it: vᵀ·∂y/∂x with a grad-output v (a vector–Jacobian product)."""
        asked = self.asked()
        return partial_names(self._title(asked.target), self._title(node), asked.grad_output is not None)[0]

    def _title(self, node_id: str) -> str:
        node = self.doc.graph.nodes.get(node_id)
        return title_of(node) if node is not None else node_id

    def _request(self, name: str, fn: object, *args: object) -> None:
        self.w.computer.request_task(name, fn, self.doc.graph.snapshot(), self.asked(), *args)

    # ---- following the window ----

    def forget(self, *_args: object) -> None:
        """The graph or target changed: every derivative shown was for another state."""
        self.node_result = self.checks = self.second = None
        self._update_marks()
        if self.node is not None:
            self.panel.clear("waiting for the compute…")
            self.panel.show_checks(None, self._title)
            self.panel.show_second(None, self._title)

    def _on_result(self, _result: object) -> None:
        for name in ("node_result", "checks", "second"):
            if getattr(self, name) is not None and not self.is_current(getattr(self, name)):
                setattr(self, name, None)
        self._update_marks()
        self._show_node()

    def _on_selection(self) -> None:
        if not isValid(self.w.scene):  # the window is being destroyed
            return
        node = self.w.scene.only_selected_node()
        if node != self.node:
            self.node, self.node_result = node, None
            self._update_marks()
            self._show_node()

    def _show_node(self) -> None:
        """Ask for the shown node's Jacobian or Hessian when the canvas's result is current."""
        node, asked, panel = self.node, self.asked(), self.panel
        if node is None or node not in self.doc.graph.nodes:
            panel.hide()
            return
        panel.show()
        panel.show_checks(self.checks, self._title)
        panel.show_second(self.second if self.second is not None and self.second.wrt == node else None, self._title)
        panel.again.setEnabled(self.can_differentiate_again(node))
        panel.check.setEnabled(asked is not None)
        if asked is None:
            panel.clear("no target: click ∂ on a node to see Jacobians and second derivatives")
        elif node == asked.target:
            panel.clear(f"{formula_name(self._title(node))} is the target: select a node it depends on to see "
                        "the Jacobian (a non-scalar target) or the Hessian (a scalar one)")
        elif self.w.run.current is None:
            panel.clear("waiting for the compute…")
        elif self.node_result is not None and self.node_result.node == node and self.is_current(self.node_result):
            panel.show_node(self.node_result, self._title)
            self._formula_in_result(self.node_result)
        else:
            panel.clear("computing…")
            self._request(NODE, tasks.node_derivatives, node)

    def _on_task(self, name: str, data: object) -> None:
        if name not in (NODE, CHECK, AGAIN) or data is None or data.cancelled or data.asked != self.asked():
            return  # another feature's, cancelled, or for a state left behind
        if name == NODE:
            if data.node == self.node:
                self.node_result = data
                self.panel.show_node(data, self._title)
                self._formula_in_result(data)
        elif name == CHECK:
            self.checks = data
            self.panel.show_checks(data, self._title)
            self.w.say(gradcheck_status(data, self._title, self._canvas_nonfinite()))
        else:
            self.second = data
            self.panel.show_second(data if data.wrt == self.node else None, self._title)
            self.w.say(f"differentiate again: ⚠ {data.error}" if data.error else
                       f"differentiated again: {second_name(data, data.wrt, self._title)} and the other second "
                       "derivatives shown on the leaves and in the inspector")
        self._update_marks()

    def _formula_in_result(self, d: tasks.NodeDerivatives) -> None:
        """The partial's formula beside its value, in the Result box's caption: ∂y/∂x = 4·x."""
        if d.formula is None:
            return
        caption = self.w.inspector.result_box.caption
        y, x = formula_name(self._title(d.asked.target)), formula_name(self._title(d.node))
        extra = formula_line(y, x, visible(shown(d.formula)), d.formula_simplified)
        if d.formula_value is None:  # beside a nan, "∂y/∂x = 1" reads as a contradiction
            extra += " (no value here)"
        if caption.isVisibleTo(self.w.inspector) and extra not in caption.text():
            caption.setText(f"{caption.text()} · {extra}")

    # ---- marks on the canvas ----

    def marks(self) -> dict[str, list[tuple[str, str]]]:
        """Node id -> its marks: the gradcheck badge, ∂²y/∂x² of the shown node, second derivatives."""
        out: dict[str, list[tuple[str, str]]] = {}
        c = self.checks
        if c is not None and c.error is None:
            canvas_nonfinite = self._canvas_nonfinite()
            for k in c.leaves:
                mark = "✓" if k.passed else "✗"  # short: a pill on the node; the inspector has the rest
                rel = "" if k.max_rel_error is None else f", rel {k.max_rel_error:.1g}"
                if k.passed and k.leaf in canvas_nonfinite:  # not a plain ✓ beside an inf (the status says why)
                    out.setdefault(k.leaf, []).append((f"✓ float64 only, err {k.max_abs_error:.1g}", "info"))
                    continue
                text = f"{mark} err {k.max_abs_error:.1g}{rel}"
                out.setdefault(k.leaf, []).append((text, "ok" if k.passed else "fail"))
        d = self.node_result
        if d is not None and d.diagonal is not None and d.node == self.node:
            y, x = hessian_of(formula_name(self._title(d.asked.target)), d.asked), formula_name(self._title(d.node))
            diag = "diag " if d.diagonal.size > 1 else ""  # only the Hessian's diagonal, not all of it
            out.setdefault(d.node, []).append((f"{diag}∂²{y}/∂{x}² = {array_text(d.diagonal)}", "info"))
        s = self.second
        if s is not None and s.error is None:
            for n, a in s.partials.items():
                shown = a.reshape(s.shapes[n]) if not s.wrt_shape else a
                mark = (f"{second_name(s, n, self._title)} = {array_text(shown)}", "info")
                if mark not in out.get(n, []):  # ∂²y/∂x² may be shown already, from the Hessian
                    out.setdefault(n, []).append(mark)
        return out

    def _canvas_nonfinite(self) -> frozenset[str]:
        """The nodes whose value or partial on the canvas holds NaN/Inf, for the checked target."""
        run, c = self.w.run.current, self.checks
        if run is None or c is None or run.target != c.asked.target:
            return frozenset()
        return run.nonfinite_spread

    def _update_marks(self) -> None:
        marks = self.marks()
        items = self.w.scene.nodes
        for n in self._marked | set(marks):
            item = items.get(n)
            if item is not None and item.marks != marks.get(n, []):
                item.marks = marks.get(n, [])
                item.update()
        self._marked = set(marks)

    # ---- the user's requests ----

    def check_gradients(self) -> None:
        if self.asked() is None:
            self.w.say("Check gradients: set a target first (click ∂ on a node)")
            return
        self.w.say("checking gradients against central finite differences…")
        self._request(CHECK, tasks.check_gradients)

    def differentiate_again(self, node: str | None) -> None:
        asked = self.asked()
        if asked is None or node is None:
            self.w.say("Differentiate again: set a target and select a node whose gradient is shown")
            return
        self.w.say(f"differentiating {self._gradient_name(node)} again…")
        self._request(AGAIN, tasks.differentiate_again, node)

    def _extend_menu(self, menu: QMenu, node_id: str) -> None:
        if self.can_differentiate_again(node_id):
            menu.addAction(f"∂² Differentiate again: {self._gradient_name(node_id)} as the target",
                           lambda: self.differentiate_again(node_id))
        menu.addAction("Check gradients (gradcheck)", self.check_gradients)

    def pick_row(self, row: int) -> None:
        """Make element `row` (flattened) of the target the target, with one `select` per
        dimension (reusing any identical select already there), as one undo step."""
        d = self.node_result
        if d is None or d.jacobian is None or not self.is_current(d):
            return
        target = d.asked.target
        index = [int(i) for i in np.unravel_index(row, d.target_shape)]
        name = element(formula_name(self._title(target)), d.target_shape, row)
        stack = self.doc.undo_stack
        stack.beginMacro(f"Pick {name} as the target")
        current = target
        for i in index:
            current = self._select_of(current, i)
        stack.push(SetTarget(self.doc, target, current))
        stack.endMacro()
        self.w.scene.clearSelection()

    def _select_of(self, source: str, index: int) -> str:
        """A select(source, dim=0, index) node: one already there, else a new one placed beside it."""
        graph = self.doc.graph
        for c in graph.consumers_of(source):
            node = graph.nodes[c]
            if node.op == "select" and node.spec.resolved_attrs(node.attrs) == {"dim": 0, "index": index}:
                return c
        node_id = new_node_id(graph, "select")
        pos = graph.position(source) or (0.0, 0.0)
        label = f"{formula_name(self._title(source))}[{index}]"
        node = Node(node_id, "select", attrs={"dim": 0, "index": index}, label=label)
        x = pos[0] + PICK_OFFSET[0]
        self.doc.add_node(node, (x, free_top(graph, x, pos[1] + PICK_OFFSET[1], box_height(node, True))))
        self.doc.connect(Edge(source, node_id, "input"))
        return node_id


def install(window: MainWindow) -> Calculus:
    """Wire the derivatives beyond .grad into a MainWindow (one line in its __init__)."""
    window.calculus = Calculus(window)
    return window.calculus


