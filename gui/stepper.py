"""Step backward: watch the gradient travel from the target to the leaves, one wire at a time.

View > Step backward (and the Run toolbar) turns the mode on: the worker computes the whole walk
once (autograd_bridge.stepper.walk_task: every number from torch), then the Step backward dock
plays it — Play / Pause, Step, Step back, a speed — and says each step in words:
"∂y/∂b = ∂y/∂h · ∂h/∂b = 0.42 · 1 = 0.42". The canvas shows it through an overlay item drawn
over the nodes (StepOverlay): the current node framed, the current wire thick with its numbers,
and on every node reached so far its partial so far (Σ2 where two paths have added up).

What is shown at a position is Walk.state(position): stepping back shows exactly what was there.
`install(window)` is the one call the window makes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyleOptionGraphicsItem,
    QVBoxLayout,
    QWidget,
)

from autograd_bridge.compute import ComputeResult
from autograd_bridge.stepper import Step, Walk, walk_task
from graph.model import Graph
from gui.canvas.items import NODE_W, NodeItem
from gui.runstate import run_key
from gui.titles import formula_name, partial_names

if TYPE_CHECKING:
    from gui.window import MainWindow

STEPS = "step backward"  # the worker task's name
SPEEDS = (("slow (2 s a step)", 2000), ("normal (1 s)", 1000), ("fast (0.3 s)", 300))
CURRENT = QColor(255, 170, 40)  # the node and wire being processed
REACHED = QColor(120, 200, 255)  # a partial known so far
PILL_PX = 13  # the overlay's text height on screen
LABEL_MAX = 34  # characters of a number on the canvas before it is shortened
WIRE_LABEL_MAX = 48  # characters of the current wire's product


def _short(text: str, limit: int = LABEL_MAX) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def describe(step: Step, graph: Graph, target: str, vjp: bool) -> str:
    """The step in words, by node titles: the chain rule on this wire, with its numbers."""
    def title(n: str) -> str:
        return graph.nodes[n].title if n in graph.nodes else n

    def partial(n: str) -> str:
        return partial_names(title(target), title(n), vjp)[0]

    if step.edge is None:
        if vjp:
            return f"Start at {formula_name(title(target))}: {partial(target)} = v = {step.after} (the grad-output)"
        return f"Start at {formula_name(title(target))}: {partial(target)} = 1"
    local_name = f"∂{formula_name(title(step.node))}/∂{formula_name(title(step.src))}"
    if sum(e.src == step.src and e.dst == step.node for e in graph.edges) > 1:  # x*x: one factor's share
        local_name += f" via {step.edge.port}"
    local = step.local if step.local is not None else "J (too large to show)"
    if step.local_is_jacobian and step.local is not None:
        local = f"J = {local}"
    chain = f"{partial(step.node)} · {local_name} = {step.incoming} · {local} = {step.product}"
    if step.total_paths == 1:
        return f"{partial(step.src)} = {chain}"
    into = f"path {step.paths} of {step.total_paths} into {formula_name(title(step.src))}"
    if step.paths == 1:  # a share of the partial, not yet the partial
        return f"{into}: {chain}; {partial(step.src)} so far = {step.after}"
    whole = "" if step.paths < step.total_paths else " (every path in: the whole partial)"
    return f"{partial(step.src)} += {chain}; {into}: {step.before} + {step.product} = {step.after}{whole}"


class StepOverlay(QGraphicsItem):
    """Drawn over the nodes: the partials reached so far, the current node and wire."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.w = window
        self.reached: dict[str, tuple[str, int]] = {}
        self.step: Step | None = None
        self.setZValue(10_000)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._rect = QRectF()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return self._rect

    def show_state(self, reached: dict[str, tuple[str, int]], step: Step | None) -> None:
        self.prepareGeometryChange()
        self.reached, self.step = reached, step
        self._rect = self.w.scene.content_rect().adjusted(-80, -80, 80, 80)
        self.update()

    def _item(self, n: str) -> NodeItem | None:
        return self.w.scene.nodes.get(n)

    def paint(self, p: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        # Sized in screen pixels: the numbers stay readable when the canvas is zoomed out.
        px = 1.0 / max(p.worldTransform().m11(), 1e-6)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        scene = self.w.scene
        font = QFont(scene.small_font)
        font.setPixelSize(max(1, round(PILL_PX * px)))
        p.setFont(font)
        fm = QFontMetricsF(font)
        step = self.step
        if step is not None and step.edge is not None and step.edge in scene.edges:
            edge_item = scene.edges[step.edge]
            p.setPen(QPen(CURRENT, 4 * px))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(edge_item.path())
            mid = edge_item.path().pointAtPercent(0.5)
            text = f"{step.incoming} · {step.local or 'J'} = {step.product}"
            if len(text) > WIRE_LABEL_MAX and step.local_is_jacobian:  # the matrix is in the dock's line
                text = f"{step.incoming} · J = {step.product}"
            text = _short(text, WIRE_LABEL_MAX)
            self._pill(p, fm, self._clear_of_nodes(mid, fm, text, px), text, CURRENT, px, True)
        if step is not None and (item := self._item(step.node)) is not None:
            p.setPen(QPen(CURRENT, 4 * px))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(QRectF(item.pos(), item.rect().size()).adjusted(-4 * px, -4 * px, 4 * px, 4 * px),
                              6 * px, 6 * px)
        for n, (text, paths) in self.reached.items():
            item = self._item(n)
            if item is None:
                continue
            sum_mark = f"Σ{paths} paths: " if paths > 1 else ""
            current = step is not None and n == step.src
            anchor = QPointF(item.pos().x() + NODE_W / 2, item.pos().y() - 14 * px)
            self._pill(p, fm, anchor, f"{sum_mark}∂ = {_short(text)}", CURRENT if current else REACHED, px, current)

    def _clear_of_nodes(self, mid: QPointF, fm: QFontMetricsF, text: str, px: float) -> QPointF:
        """Where the current wire's product goes: on the wire's middle, else moved up or down a
        pill's height at a time to where it covers no node (it hid a title, "v = 3*x", and a ∂
        button), else also sideways, nearest first; where every place tried covers a node, the
        one covering least of them (it stayed just below the middle, over a title)."""
        scene = self.w.scene
        step_y = fm.height() + 6 * px
        pill = self._pill_rect(fm, mid, text, px)
        step_x = (NODE_W + pill.width()) / 4 + 6 * px  # two steps clear a node the middle is in
        reach = pill.adjusted(-3 * step_x, -6 * step_y, 3 * step_x, 6 * step_y)  # every place tried
        near = [scene.nodes[n].sceneBoundingRect() for n in scene.overview.nodes.keys_within(reach)]  # by numpy
        upright = [QPointF(0, k * step_y) for k in (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6)]
        sideways = sorted((QPointF(j * step_x, k * step_y) for j in (-3, -2, -1, 1, 2, 3) for k in range(-6, 7)),
                          key=lambda o: math.hypot(o.x(), o.y()))
        covered = []
        for offset in (*upright, *sideways):
            pill = self._pill_rect(fm, mid + offset, text, px)
            area = sum((r & pill).width() * (r & pill).height() for r in near if r.intersects(pill))
            if area == 0:
                return mid + offset
            covered.append((area, len(covered), offset))
        return mid + min(covered)[2]

    @staticmethod
    def _pill_rect(fm: QFontMetricsF, center: QPointF, text: str, px: float) -> QRectF:
        w, h = fm.horizontalAdvance(text) + 12 * px, fm.height() + 4 * px
        return QRectF(center.x() - w / 2, center.y() - h / 2, w, h)

    @classmethod
    def _pill(cls, p: QPainter, fm: QFontMetricsF, center: QPointF, text: str, color: QColor, px: float,
              strong: bool) -> None:
        rect = cls._pill_rect(fm, center, text, px)
        p.setPen(QPen(color, (2 if strong else 1) * px))
        p.setBrush(QColor(20, 20, 26, 235))
        p.drawRoundedRect(rect, 5 * px, 5 * px)
        p.setPen(color.lighter(115) if strong else QColor(230, 230, 235))
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


class StepperDock(QDockWidget):
    """The controls and the status line."""

    def __init__(self, stepper: Stepper) -> None:
        super().__init__("Step backward", stepper.w)
        self.setObjectName("StepBackward")
        body = QWidget()
        layout = QVBoxLayout(body)
        self.back_button = QPushButton("◀ Step back")
        self.play_button = QPushButton("▶ Play")
        self.step_button = QPushButton("Step ▶")
        self.speed = QComboBox()
        for text, ms in SPEEDS:
            self.speed.addItem(text, ms)
        self.speed.setCurrentIndex(1)
        self.counter = QLabel()
        buttons = QHBoxLayout()
        for widget in (self.back_button, self.play_button, self.step_button, self.speed):
            buttons.addWidget(widget)
        buttons.addWidget(self.counter, 1, Qt.AlignmentFlag.AlignRight)
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setStyleSheet("font-size: 14px;")
        layout.addLayout(buttons)
        layout.addWidget(self.status, 1)
        self.setWidget(body)
        self.back_button.clicked.connect(stepper.step_back)
        self.step_button.clicked.connect(stepper.step)
        self.play_button.clicked.connect(stepper.toggle_play)
        self.speed.currentIndexChanged.connect(stepper.speed_changed)
        self.stepper = stepper

    def closeEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        super().closeEvent(event)
        self.stepper.set_on(False)  # closing the dock ends the mode


class Stepper(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.walk: Walk | None = None
        self.position = 0
        self.asked: tuple | None = None
        self.overlay = StepOverlay(window)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.action = QAction("Step &backward", window)
        self.action.setCheckable(True)
        self.action.setToolTip("Walk backward from the target one wire at a time: the chain rule on every edge")
        self.action.toggled.connect(self.set_on)
        window.view_menu.addAction(self.action)
        window.run_toolbar.addAction(self.action)
        self.dock = StepperDock(self)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.dock)
        self.dock.hide()
        window.computer.resultReady.connect(self._on_result)
        window.computer.taskReady.connect(self._on_task)
        window.doc.edited.connect(self._drop_stale_walk)
        window.doc.targetChanged.connect(self._drop_stale_walk)

    # ---- on and off ----

    @property
    def on(self) -> bool:
        return self.action.isChecked()

    def set_on(self, on: bool) -> None:
        if self.action.isChecked() != on:
            self.action.setChecked(on)  # toggled calls back here
            return
        self.dock.setVisible(on)
        if on:
            if self.overlay.scene() is None:
                self.w.scene.addItem(self.overlay)
            self.request()
        else:
            self.pause()
            if self.overlay.scene() is not None:
                self.overlay.scene().removeItem(self.overlay)
        self._show()

    # ---- the walk, from the worker ----

    def shown(self) -> ComputeResult | None:
        result = self.w.run.current
        if result is None or result is not self.w.scene.result or result.revision != self.w.doc.revision:
            return None
        return result

    def _waiting_text(self) -> str:
        if self.w.doc.target is None:
            return "no target: make a node the target (its ∂ button, or Ctrl+T) to walk back from it"
        return "waiting for the run (press F5 to compute)"

    def request(self) -> None:
        shown = self.shown()
        if shown is None:
            self.walk = None
            self._show(self._waiting_text())
            return
        key = run_key(shown)
        if key == self.asked or (self.walk is not None and run_key(self.walk) == key):
            return
        self.asked = key
        self.walk, self.position = None, 0
        self.pause()
        self._show("computing the walk…")
        self.w.computer.request_task(STEPS, walk_task, self.w.doc.graph.snapshot(), shown.revision,
                                     shown.target, shown.device, shown.dtype, shown.grad_output)

    def _on_result(self, result: ComputeResult) -> None:
        if self.on and result is self.w.scene.result:
            self.request()

    def _drop_stale_walk(self, *_: object) -> None:
        """An edit, a new target, a new graph: the walk of the graph as it was is not stepped
        on. Most edits bring a result, and with it a new walk; File > New and a removed target
        bring none, and the old walk went on stepping over an empty canvas."""
        walk = self.walk
        if walk is not None and (walk.revision != self.w.doc.revision or walk.target != self.w.doc.target):
            self.walk, self.position = None, 0
            self.pause()
            self._show(self._waiting_text())

    def _on_task(self, name: str, walk: Walk) -> None:
        if name != STEPS:
            return
        if walk is None:  # lost with the compute process (it said why): asked again when wanted
            self.asked = None
            return
        if self.asked == run_key(walk):
            self.asked = None
        shown = self.shown()
        if walk.cancelled or shown is None or run_key(walk) != run_key(shown):
            self._show("cancelled: turn Step backward off and on to walk again" if walk.cancelled else None)
            return
        self.walk, self.position = walk, 0
        self._show()

    # ---- moving ----

    @property
    def last(self) -> int:
        return len(self.walk.steps) - 1 if self.walk is not None and self.walk.steps else 0

    def step(self) -> None:
        if self.walk is not None and self.position < self.last:
            self.position += 1
            self._show()
        elif self.timer.isActive():
            self.pause()

    def step_back(self) -> None:
        if self.walk is not None and self.position > 0:
            self.position -= 1
            self._show()

    def toggle_play(self) -> None:
        if self.timer.isActive():
            self.pause()
        elif self.walk is not None and self.walk.steps:
            if self.position >= self.last:
                self.position = 0  # played to the end: play again from the start
                self._show()
            self.timer.start(self.dock.speed.currentData())
            self.dock.play_button.setText("⏸ Pause")

    def pause(self) -> None:
        self.timer.stop()
        self.dock.play_button.setText("▶ Play")

    def speed_changed(self) -> None:
        if self.timer.isActive():
            self.timer.start(self.dock.speed.currentData())

    def _tick(self) -> None:
        self.step()
        if self.position >= self.last:
            self.pause()

    # ---- showing ----

    def _show(self, why: str | None = None) -> None:
        walk = self.walk
        dock = self.dock
        has_steps = walk is not None and bool(walk.steps)
        for button in (dock.back_button, dock.play_button, dock.step_button):
            button.setEnabled(has_steps)
        # While the walk is shown, the canvas holds back the partials it has not yet made whole.
        self.w.scene.show_walked(walk.complete(self.position) if has_steps and self.on else None)
        if not has_steps:
            self.overlay.show_state({}, None)
            dock.counter.setText("")
            dock.status.setText(why or (walk.error if walk is not None and walk.error else "no walk"))
            return
        step = walk.steps[self.position]
        self.overlay.show_state(walk.state(self.position), step)
        dock.back_button.setEnabled(self.position > 0)
        dock.step_button.setEnabled(self.position < self.last)
        dock.counter.setText(f"step {self.position + 1} of {len(walk.steps)}")
        text = describe(step, self.w.doc.graph, walk.target, walk.grad_output is not None)
        if self.position == self.last:
            text += ("\nDone: every partial on the canvas is vᵀ·∂target/∂node, as backward(gradient=v) gives it."
                     if walk.grad_output is not None else
                     "\nDone: every partial on the canvas is ∂target/∂node, as backward() gives it.")
        dock.status.setText(text)


def install(window: MainWindow) -> Stepper:
    """The Step backward mode of a window (its toggle, dock and canvas overlay)."""
    window.stepper = Stepper(window)
    return window.stepper
