"""The inspector's derivatives box, for the selected node x under the target y: the whole
Jacobian ∂y/∂x of a non-scalar y as a heatmap (rows y's elements, columns x's, both flattened
row-major), the Hessian ∂²y/∂x² and its diagonal under a scalar y, "differentiate again" (the
gradient ∂y/∂x as a new target: second derivatives by double backward) and the gradcheck list.

Passive: it draws the plain data of autograd_bridge.calculus_tasks and says what the user asks
through signals; gui.calculus computes on the worker and decides what is current.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from autograd_bridge.calculus_tasks import GradcheckData, NodeDerivatives, SecondDerivatives, hessian_method_text
from autograd_bridge.symbolic import formula_line, shown
from graph.safetext import visible
from gui.inspector.heatmap import MatrixView
from gui.inspector.style import GREY, RED, elide, fmt, shape_text
from gui.titles import formula_name, partial_names

GREEN = "#2a7f3f"


def element(name: str, shape: tuple[int, ...], flat: int) -> str:
    """"y[1, 2]" for entry 5 of a (2, 3) y flattened row-major; "y" for a scalar."""
    if not shape:
        return name
    return f"{name}[{', '.join(str(int(i)) for i in np.unravel_index(flat, shape))}]"


def array_text(a: np.ndarray, n: int = 60) -> str:
    """A small array as one short line of 4-significant-digit numbers."""
    if a.ndim == 0:
        return fmt(float(a))
    text = np.array2string(a, precision=4, separator=", ", threshold=12, edgeitems=3,
                           formatter={"float_kind": lambda v: fmt(float(v))})
    return elide(" ".join(text.split()), n)


def checked_text(c: object) -> str:
    """A gradcheck line for one leaf: ✓ or ✗, the largest absolute and relative errors."""
    mark = "✓" if c.passed else "✗ failed:"
    relative = "" if c.max_rel_error is None else f", relative ≤ {c.max_rel_error:.2g}"
    return f"{mark} |autograd − numerical| ≤ {c.max_abs_error:.2g}{relative}"


class ClickableMatrix(MatrixView):
    """A heatmap that also reports clicks: on a cell (row, col), or on a row's index (row, -1)."""

    clicked = Signal(object)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        pos = event.position()
        cell = self.cell_at(pos)
        if cell is None:
            g = self.geometry_for(self.width())
            i = math.floor((pos.y() - g.y0) / g.ch)
            if pos.x() < g.x0 and 0 <= i < self.rows:
                cell = (i, -1)  # the row's index, left of the grid
        if cell is not None:
            self.clicked.emit(cell)
        super().mousePressEvent(event)


def _label(wrap: bool = True) -> QLabel:
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)  # text from files is never markup
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class DerivativesView(QGroupBox):
    """Jacobian or Hessian of the selected node, differentiate again, gradcheck."""

    rowPicked = Signal(int)  # a row of the Jacobian: make that element of the target the target
    againRequested = Signal()  # differentiate the shown gradient again
    checkRequested = Signal()  # run gradcheck for the target

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Derivatives", parent)
        lay = QVBoxLayout(self)
        self.note = _label()
        self.note.setObjectName("derivativesNote")
        lay.addWidget(self.note)
        self.axes = _label()
        self.axes.setStyleSheet(f"color: {GREY};")
        lay.addWidget(self.axes)
        self._holder = QVBoxLayout()
        self._holder.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(self._holder)
        self.heatmap: ClickableMatrix | None = None
        self.cell = _label()  # the clicked cell: what it is and its number
        self.cell.setObjectName("derivativesCell")
        lay.addWidget(self.cell)
        self.pick = QPushButton()
        self.pick.clicked.connect(lambda: self._picked_row is not None and self.rowPicked.emit(self._picked_row))
        lay.addWidget(self.pick)
        self.relation = _label()  # how the canvas's vᵀ·∂y/∂x relates to J
        self.relation.setStyleSheet(f"color: {GREY};")
        lay.addWidget(self.relation)
        self.diagonal = _label()
        lay.addWidget(self.diagonal)
        buttons = QHBoxLayout()
        self.again = QPushButton("Differentiate again")
        self.again.setToolTip("Take the gradient shown as a new target: its partials are second derivatives")
        self.again.clicked.connect(self.againRequested)
        self.check = QPushButton("Check gradients")
        self.check.setToolTip("Compare autograd with central finite differences in float64 (gradcheck)")
        self.check.clicked.connect(self.checkRequested)
        buttons.addWidget(self.again)
        buttons.addWidget(self.check)
        lay.addLayout(buttons)
        self.second = _label()
        self.second.setObjectName("secondDerivatives")
        lay.addWidget(self.second)
        self.checks = _label()
        self.checks.setObjectName("gradcheck")
        lay.addWidget(self.checks)
        self.data: NodeDerivatives | None = None
        self._picked_row: int | None = None
        self._names: list[str] = ["y", "x"]
        self.clear()

    # ---- what is shown ----

    def clear(self, text: str = "") -> None:
        """Nothing computed for this node (yet): `text` says why."""
        self.data = None
        self._set_heatmap(None)
        for label in (self.axes, self.cell, self.relation, self.diagonal):
            label.hide()
        self.pick.hide()
        self.say(text)

    def say(self, text: str, color: str = GREY) -> None:
        self.note.setText(elide(text, 600))
        self.note.setStyleSheet(f"color: {color};")
        self.note.setVisible(bool(text))

    def _set_heatmap(self, a: np.ndarray | None, name: str = "") -> None:
        if self.heatmap is not None:
            self._holder.removeWidget(self.heatmap)
            self.heatmap.hide()
            self.heatmap.deleteLater()
            self.heatmap = None
        if a is not None and a.size:
            self.heatmap = ClickableMatrix(a, True, name)
            self.heatmap.clicked.connect(self._on_click)
            self._holder.addWidget(self.heatmap)
            self.heatmap.show()

    def show_node(self, d: NodeDerivatives, title_of: Callable[[str], str]) -> None:
        """Draw a NodeDerivatives (the task's result for the shown node)."""
        self.clear()
        if d.error:
            self.say(d.error, RED)
            return
        self.data = d
        y, x = formula_name(title_of(d.asked.target)), formula_name(title_of(d.node))
        self._names = [y, x]
        if d.jacobian is not None:
            rows, cols = d.jacobian.shape
            self.say(f"Jacobian ∂{y}/∂{x}: every partial of every element of {y} (torch.func.jacrev"
                     f"{'' if d.jacobian_method == 'jacrev' else ', here by one backward pass per row'})",
                     "#111111")
            self.axes.setText(f"rows: {y}'s {rows} element(s), {shape_text(d.target_shape)} flattened row-major · "
                              f"columns: {x}'s {cols} element(s), {shape_text(d.node_shape)} flattened · "
                              f"click a cell to read it, a row's index to make that element the target")
            self.axes.show()
            self._set_heatmap(d.jacobian, f"∂{y}/∂{x}")
            if d.vjp is not None:
                self.relation.setText(f"The canvas shows vᵀ·∂{y}/∂{x} = vᵀ·J: the rows of this Jacobian "
                                      f"weighted by the grad-output v and summed ({array_text(d.vjp)}).")
            else:
                self.relation.setText(f"With a grad-output v (toolbar) the canvas shows vᵀ·J, the rows weighted "
                                      f"by v and summed; pick a row to differentiate one element of {y}.")
            self.relation.show()
        elif d.hessian is not None:
            n = d.hessian.shape[0]
            y = self._names[0] = hessian_of(y, d.asked)
            how = hessian_method_text(d.hessian_method, y, x)
            self.say(f"Hessian ∂²{y}/∂{x}²: second derivatives of {y} (by {how})", "#111111")
            formula = (formula_line(y, x, visible(shown(d.formula)), d.formula_simplified, d.formula_value,
                                    d.formula_no_value, d.formula_torch) if d.formula is not None
                       else f"no formula for ∂{y}/∂{x}: {visible(d.no_formula)}" if d.no_formula else "")
            self.diagonal.setText(f"∂²{y}/∂{x}² (the diagonal, shown on the node) = {array_text(d.diagonal, 200)}"
                                  + (f"\n{formula}" if formula else ""))
            self.diagonal.show()
            if n > 1:
                self.axes.setText(f"rows and columns: {x}'s {n} elements, {shape_text(d.node_shape)} flattened "
                                  f"row-major; entry (i, j) is ∂²{y}/∂{x}[i]∂{x}[j]")
                self.axes.show()
                self._set_heatmap(d.hessian, f"∂²{y}/∂{x}²")

    def cell_text(self, i: int, j: int) -> str:
        """What entry (i, j) of the shown matrix is, with its number: "∂y[2]/∂x[0, 1] = …"."""
        d = self.data
        y, x = self._names
        if d.jacobian is not None:
            v = float(d.jacobian[i, j])
            return f"∂{element(y, d.target_shape, i)}/∂{element(x, d.node_shape, j)} = {v:.6g}"
        v = float(d.hessian[i, j])
        xi, xj = element(x, d.node_shape, i), element(x, d.node_shape, j)
        return f"∂²{y}/∂{xi}∂{xj} = {v:.6g}" if i != j else f"∂²{y}/∂{xi}² = {v:.6g}"

    def _on_click(self, cell: tuple[int, int]) -> None:
        i, j = cell
        d = self.data
        if d is None:
            return
        if j >= 0:
            self.cell.setText(self.cell_text(i, j))
            self.cell.show()
        if d.jacobian is not None:
            self._picked_row = i
            self.pick.setText(f"Make {element(self._names[0], d.target_shape, i)} the target")
            self.pick.show()
            if j < 0:
                self.rowPicked.emit(i)

    def show_second(self, s: SecondDerivatives | None, title_of: Callable[[str], str]) -> None:
        """Differentiate again: the gradient g = ∂y/∂x as the target, ∂g/∂w per node w."""
        if s is None:
            self.second.hide()
            return
        self.second.show()
        if s.error:
            self.second.setText(elide(s.error, 600))
            self.second.setStyleSheet(f"color: {RED};")
            return
        self.second.setStyleSheet("")
        self.second.setText("\n".join(second_lines(s, title_of)))

    def show_checks(self, c: GradcheckData | None, title_of: Callable[[str], str]) -> None:
        if c is None:
            self.checks.hide()
            return
        self.checks.show()
        if c.error:
            self.checks.setText(elide(f"gradcheck: {c.error}", 600))
            self.checks.setStyleSheet(f"color: {RED};")
            return
        y = formula_name(title_of(c.asked.target))
        lines = [f"gradcheck of ∂{y}/∂leaf against central differences in float64 ({c.tolerances}):"]
        lines += [f"{formula_name(title_of(k.leaf))}: {checked_text(k)}" for k in c.leaves]
        lines += [f"{formula_name(title_of(n))}: {y} does not depend on it" for n in c.unused]
        lines += [f"{formula_name(title_of(n))}: not checked, {why}" for n, why in c.no_gradient.items()]
        self.checks.setText("\n".join(lines))
        self.checks.setStyleSheet(f"color: {GREEN};" if c.passed else f"color: {RED};")


def hessian_of(y: str, asked: object) -> str:
    """What a Hessian shown under this request is of: y, or vᵀ·y with a grad-output v (the
    canvas then shows vᵀ·∂y/∂x, and the Hessian is that one's Jacobian)."""
    return f"(vᵀ·{y})" if asked.grad_output is not None else y


def second_name(s: SecondDerivatives, node: str, title_of: Callable[[str], str]) -> str:
    """∂²y/∂x∂w (∂²y/∂x² for w = x); ∂²(vᵀ·y)/… with a grad-output; ∂(∂y/∂x)/∂w for a
    non-scalar x (a Jacobian of the gradient)."""
    y = formula_name(title_of(s.asked.target))
    y = f"(vᵀ·{y})" if s.asked.grad_output is not None else y
    x, w = formula_name(title_of(s.wrt)), formula_name(title_of(node))
    if s.wrt_shape:
        return f"∂(∂{y}/∂{x})/∂{w}"
    return f"∂²{y}/∂{x}²" if node == s.wrt else f"∂²{y}/∂{x}∂{w}"


def second_lines(s: SecondDerivatives, title_of: Callable[[str], str]) -> list[str]:
    vjp = s.asked.grad_output is not None  # then the canvas's gradient is vᵀ·∂y/∂x, named so
    gradient = partial_names(title_of(s.asked.target), title_of(s.wrt), vjp)[0]
    what = "the vector–Jacobian product" if vjp else "the gradient"
    x = formula_name(title_of(s.wrt))
    lines = [f"Differentiated again: {what} {gradient} = {array_text(s.gradient)} as the target; "
             f"its partials, by double backward, with respect to {x} and the nodes not computed from {x}:"]
    for n, a in s.partials.items():
        shown = a.reshape(s.shapes[n]) if not s.wrt_shape else a
        lines.append(f"{second_name(s, n, title_of)} = {array_text(shown)}")
    for n, why in s.no_gradient.items():
        lines.append(f"{second_name(s, n, title_of)}: None ({why})")
    return lines
