"""The Train toolbar and dock: accumulated .grad (Backward again, Zero grads) and optimiser steps
(Step, Run N steps) on the requires-grad leaves, as PyTorch does them.
(~520 lines, one piece: the toolbar, the dock and the .grad kept across steps, undo and redo.)

Everything that computes runs on the worker as a named task (gui/worker.py) with the kept
compiled graph (autograd_bridge/training.py); results come back as plain data. A run of steps
writes the leaves' new values into the document as ONE undo step (a macro of value edits):

- a leaf made by an init function becomes a literal of its new values (the status line says so);
- a run trains the target (and dtype, device) it started with: a change of target meanwhile
  (a click, a lesson step) lets it go on, and the canvas recomputes when it ends;
- a run stopped with Cancel / Esc keeps the steps it finished, as one undo step; stopped before
  its first step it changes nothing and leaves no undo step;
- an edit of the graph (or its undo) stops the run, which writes nothing (its values belong to
  another graph);
- New / Open / a lesson / Quit during a run ask first (`ask_to_leave_run`): stop it and keep
  its steps (then the usual "save changes?"), discard them, or stay.

Backward again and Zero grads change what the worker holds, so every click runs, in order.
Steps keep .grad, as torch does (STEP_RULE), and the badges show it after them; undo and redo
of the last run of steps bring its .grad back with its values (`_StepRecord`).
The plot shows one curve, for one target, labelled with it; steps for another target or after
an edit start a new curve; another document clears it.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import TYPE_CHECKING

from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QLabel,
    QMessageBox,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from autograd_bridge.training import (
    OPTIMISERS,
    START_OVER,
    WHY_ACCUMULATE,
    AccumulatedGrads,
    StepsResult,
    backward_task,
    steps_task,
    torch_words,
    zero_task,
)
from graph.errors import GraphError
from graph.safetext import visible
from gui.actions import make_action
from gui.titles import formula_name, title_by_id
from gui.train_overlay import GradBadges

if TYPE_CHECKING:
    from gui.window import MainWindow

ACCUMULATE, ZERO, STEPS = "train: backward again", "train: zero grads", "train: steps"
PLOT_EVERY_MS = 50  # the plot redraws at most this often while a run is going
STOP_WAIT_MS = 10_000  # how long leaving waits for a stopped run's steps to come back (Cancel: ~10 ms)
STEP_RULE = ("each step is optimizer.zero_grad(); loss.backward(); optimizer.step(), except a first step after "
             "Backward again: optimizer.step() alone, with that accumulated .grad (gradient accumulation). "
             ".grad stays after a step, as in torch")
IDLE_LINE = ("Backward again: one more loss.backward(); leaf .grad adds up.  Step / Run N: torch.optim on the "
             f"requires-grad leaves of a scalar target; {STEP_RULE}.")


@dataclasses.dataclass
class _StepRecord:
    """The last run of steps written: the undo index before it; graph (_graph_state) and .grad before and after."""

    at: int
    before: tuple
    after: tuple
    grads_before: AccumulatedGrads
    grads_after: AccumulatedGrads


def _number(v: float) -> str:
    return f"{v:.6g}"


class Training(QObject):
    """The window's training controls; `install` makes one."""

    runFinished = Signal()  # a run of steps ended and its outcome was written (or refused)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.badges = GradBadges(window.scene, (window.grad_output_edit.edited, window.device_box.currentTextChanged,
                                                window.dtype_box.currentTextChanged))
        self.losses: list[float] = []  # the curve plotted: its target before each step
        self.curve_target: str | None = None  # the target the curve is for
        self._curve_left: int | None = None  # the revision its last written step left: a Step from there adds to it
        self.curve_undone = False  # the curve's steps were undone (drawn grey and dashed, said so)
        self.running: str | None = None  # the target a run trains while it runs
        self._replaced_during_run = False  # New / Open / a lesson replaced the graph the run trains
        self._discarded = False  # the user chose to drop the run's steps (leaving): never written
        # What each Backward again still on its way was asked for (they run in order, each
        # answered once): its .grad are shown only if that is what is asked now.
        self._accumulates_asked: collections.deque[tuple] = collections.deque()
        # (revision, id of the worker's saved .grad it holds) after a step's values are written,
        # or their undo or redo: Backward again and Step go on from it (GradAccumulator.hold).
        self._grads_from: tuple[int, int] | None = None
        self._start_over = False  # the badges went with no new revision: the next backward() starts from None
        self._record: _StepRecord | None = None
        self._undo_index = window.doc.undo_stack.index()  # before the last undo, redo or push
        self._steps_asked: tuple | None = None  # what the run was asked with (_asked_now)
        self._plot = None  # pyqtgraph loads on first use, not with the window
        self._plot_timer = QTimer(self, singleShot=True, interval=PLOT_EVERY_MS)
        self._plot_timer.timeout.connect(self._redraw_plot)
        self._make_toolbar()
        self._make_dock()
        # A run's line waiting for the recompute of its new values, which gives the target's
        # value after the last step: (the line before that value, the line after it, the target).
        self._after_run: tuple[str, str, str] | None = None
        window.computer.taskReady.connect(self._on_task)
        window.computer.taskProgress.connect(self._on_progress)
        window.computer.resultReady.connect(self._after_result)  # after the window's show_result
        window.doc.edited.connect(self._stop_run)
        window.doc.graphReset.connect(self._on_graph_replaced)  # before its edited, which stops the run
        window.cancel_action.triggered.connect(self._stop_run)  # Cancel / Esc: also a run still waiting
        window.doc.targetChanged.connect(self._on_target_changed)
        window.doc.undo_stack.indexChanged.connect(self._on_undo_or_redo)
        for signal in (window.doc.targetChanged, window.grad_output_edit.edited,
                       window.device_box.currentTextChanged, window.dtype_box.currentTextChanged):
            signal.connect(self._forget_grads)  # as they clear the badges (changed back, the key is the same)

    # ---- widgets ----

    def _make_toolbar(self) -> None:
        w = self.w
        w.addToolBarBreak()  # a row of its own: the Run toolbar fills the first
        bar = w.addToolBar("Train")
        bar.setObjectName("Train")
        self.backward_action = make_action(w, "&Backward again", self.backward_again)
        self.backward_action.setToolTip("One more target.backward(): each requires-grad leaf's .grad "
                                        "grows by its partial (accumulates, as in PyTorch)")
        self.zero_action = make_action(w, "&Zero grads", self.zero_grads)
        self.zero_action.setToolTip("x.grad = None for every leaf: the next backward() starts from nothing")
        bar.addAction(self.backward_action)
        bar.addAction(self.zero_action)
        bar.addSeparator()
        self.optimiser_box = QComboBox()
        self.optimiser_box.addItems(OPTIMISERS)
        self.optimiser_box.setToolTip("torch.optim optimiser for Step and Run")
        self.lr_box = QDoubleSpinBox()
        self.lr_box.setDecimals(5)
        self.lr_box.setRange(1e-5, 100.0)
        self.lr_box.setSingleStep(0.01)
        self.lr_box.setValue(0.1)
        self.lr_box.setToolTip("learning rate")
        self.count_box = QSpinBox()
        self.count_box.setRange(1, 100_000)
        self.count_box.setValue(50)
        self.count_box.setToolTip("how many steps Run takes")
        self.step_action = make_action(w, "&Step", lambda: self.run_steps(1))
        self.step_action.setToolTip(f"One optimiser step on the requires-grad leaves (scalar target): {STEP_RULE}; "
                                    "undoable")
        self.run_action = make_action(w, "&Run N steps", lambda: self.run_steps(self.count_box.value()))
        self.run_action.setToolTip(f"N steps off the GUI thread, plotted; {STEP_RULE}; Cancel / Esc or an edit of "
                                   "the graph stops it; one undo step")
        for widget in (QLabel(" optimiser "), self.optimiser_box, QLabel(" lr "), self.lr_box):
            bar.addWidget(widget)
        bar.addAction(self.step_action)
        bar.addWidget(QLabel(" N "))
        bar.addWidget(self.count_box)
        bar.addAction(self.run_action)
        self.toolbar = bar
        w.run_menu.addSeparator()
        w.run_menu.addActions([self.backward_action, self.zero_action, self.step_action, self.run_action])

    def _make_dock(self) -> None:
        body = QWidget()
        self.dock_layout = QVBoxLayout(body)
        self.explain, self.summary = QLabel(WHY_ACCUMULATE), QLabel(IDLE_LINE)
        for label in (self.explain, self.summary):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            self.dock_layout.addWidget(label)
        self.dock_layout.addStretch(1)
        dock = QDockWidget("Training", self.w)
        dock.setObjectName("Training")
        dock.setWidget(body)
        self.w.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.w.tabifyDockWidget(self.w.inspector_dock, dock)
        self.w.inspector_dock.raise_()
        self.dock = dock

    @property
    def plot(self):  # noqa: ANN201 - a pyqtgraph PlotWidget
        if self._plot is None:
            import pyqtgraph as pg

            self._plot = pg.PlotWidget(background="w")
            self._plot.setMinimumHeight(220)
            self._plot.setLabel("bottom", "step")
            self._plot.showGrid(x=True, y=True, alpha=0.3)
            self._curve = self._plot.plot([], [], pen=pg.mkPen("#2f6fdf", width=2), symbol="o", symbolSize=4)
            self.dock_layout.insertWidget(2, self._plot, 1)
        return self._plot

    # ---- accumulation ----

    def _target(self, what: str) -> str | None:
        target = self.w.doc.target
        if target is None:
            self.w.say(f"{what}: set a target first (click ∂ on a node)")
        return target

    def _title(self, node_id: str) -> str:
        """A node as the canvas names it (by its title; its id once it is gone)."""
        return formula_name(title_by_id(self.w.doc.graph, node_id))

    def backward_again(self) -> None:
        target = self._target("Backward again")
        if target is None:
            return
        doc, w = self.w.doc, self.w
        self._accumulates_asked.append(self._asked_now())
        w.computer.request_task(ACCUMULATE, backward_task, doc.graph.snapshot(), doc.revision,
                                w.device(), w.dtype(), target, w.grad_output, self._saved_grads(),
                                coalesce=False)  # each click counts

    def _asked_now(self) -> tuple:
        w = self.w
        return w.doc.revision, w.doc.target, w.device(), w.dtype(), repr(w.grad_output)

    def _saved_grads(self) -> int | None:
        """What the next request's .grad goes on from: GradAccumulator.hold's grads_from."""
        if self._start_over:
            self._start_over = False
            return START_OVER
        if self._grads_from is None or self._grads_from[0] != self.w.doc.revision:
            return None  # what the worker holds for this revision, if any
        return self._grads_from[1]

    def _forget_grads(self, *_args: object) -> None:
        self._grads_from, self._start_over = None, True

    def zero_grads(self) -> None:
        revision, target = self.w.doc.revision, self.w.doc.target
        self._grads_from = None  # .grad = None: nothing saved to go on from
        self.w.computer.request_task(ZERO, zero_task, revision, target, coalesce=False)

    def _show_grads(self, grads: AccumulatedGrads | None, asked: tuple | None = None) -> None:
        if grads is None:  # lost with the compute process: it said why
            return
        if asked is not None and asked != self._asked_now():
            return  # asked with another grad-output, device or dtype: not the .grad of what is asked now
        if grads.cancelled:
            self.w.say("Backward again: cancelled; .grad is as it was")
            return
        if grads.error:
            self.w.say(f"Backward again: ⚠ {grads.error}")
            return
        if grads.revision != self.w.doc.revision or grads.target != self.w.doc.target:
            return  # the graph moved on: these .grad belong to another state
        self.badges.show(grads)
        if grads.calls == 0:
            line = "Zero grads: every leaf's .grad is None; the next backward() starts from nothing."
        else:
            calls = "1 backward() call" if grads.calls == 1 else f"{grads.calls} backward() calls"
            title = self._title(grads.target)
            line = (f"Each leaf's .grad after {calls} of {title}, never zeroed: the sum of each call's "
                    f"∂{title}/∂leaf, not one run's. x.grad accumulates until set to None or zeroed. "
                    "Step now: optimizer.step() with it, no zero_grad() first.")
        self.summary.setText(line)
        self.w.say(line)

    # ---- optimiser steps ----

    def run_steps(self, count: int) -> None:
        target = self._target("Step" if count == 1 else "Run")
        if target is None or self.running:
            return
        doc, w = self.w.doc, self.w
        self.running, self._replaced_during_run, self._discarded = target, False, False
        for action in (self.step_action, self.run_action):
            action.setEnabled(False)
        new_curve = ""
        if count > 1 or target != self.curve_target or self._curve_left != doc.revision:
            if self.losses and self.curve_target is not None:
                new_curve = f"; a new curve (the plot showed {self._title(self.curve_target)})"
            self.losses, self.curve_target = [], target
            self._curve_left, self.curve_undone = None, False
            if self._plot is not None:
                self._redraw_plot()
        kind, lr = self.optimiser_box.currentText(), self.lr_box.value()
        self._steps_asked = self._asked_now()
        # It outlives computes: a new target meanwhile waits for it (an edit stops it: _stop_run).
        w.computer.request_task(STEPS, steps_task, doc.graph.snapshot(), doc.revision, w.device(),
                                w.dtype(), target, kind, lr, count, w.grad_output, self._saved_grads(),
                                outlive_edits=True)
        self.summary.setText(f"{kind} lr={_number(lr)} training {self._title(target)}: {count} step(s). It trains "
                             "this target, dtype and device to the end; an edit of the graph or Cancel / Esc "
                             "stops it; the canvas recomputes when it ends.")
        w.say(f"{kind} lr={_number(lr)}: {count} step(s) of {self._title(target)} running (Cancel / Esc stops)"
              f"{new_curve}")

    def _stop_run(self) -> None:
        """After an edit (the run's values would belong to the graph before it), and on Cancel /
        Esc, also while the run waits behind a compute (the window's Cancel stops only what runs:
        that compute)."""
        if self.running is not None:
            self.w.computer.cancel_task(STEPS)

    def _on_graph_replaced(self) -> None:
        self._record = None  # the last document's
        if self.running is not None:
            self._replaced_during_run = True  # the curve goes when the run's outcome is told
        else:
            self._forget_curve()
            self.summary.setText(IDLE_LINE)

    def _forget_curve(self) -> None:
        """Another document: the plot and its numbers were the last one's."""
        self.losses, self.curve_target, self._curve_left, self.curve_undone = [], None, None, False
        if self._plot is not None:
            self._redraw_plot()
            self._plot.setRange(xRange=(0, 1), yRange=(0, 1))  # not the last curve's axes
            self._plot.enableAutoRange()

    def ask_to_leave_run(self) -> QMessageBox.StandardButton:
        """Yes: stop the run and keep its steps; Discard: drop them; Cancel: stay (tests replace it)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Run in progress",
                          f"A run of steps is training {self._title(self.running)} ({len(self.losses)} step(s) "
                          "done so far). Its steps are written to the graph only when it ends.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard
                          | QMessageBox.StandardButton.Cancel, self.w)
        box.button(QMessageBox.StandardButton.Yes).setText("Stop and &keep the steps")
        box.button(QMessageBox.StandardButton.Discard).setText("&Discard the steps")
        box.setDefaultButton(QMessageBox.StandardButton.Yes)
        return QMessageBox.StandardButton(box.exec())

    def settle_before_leaving(self) -> bool:
        """Before the document is dropped (New, Open, a lesson, Quit): a run in progress holds
        steps not yet written, so the document looks clean. Ask; on "keep", stop the run and wait
        for its steps to be written (then the window's save question sees them). False: stay."""
        if self.running is None:
            return True
        answer = self.ask_to_leave_run()
        if answer == QMessageBox.StandardButton.Discard:  # dropped even if the leave then fails
            self._discarded = True
            self._stop_run()
            return True
        if answer != QMessageBox.StandardButton.Yes:
            return False
        loop = QEventLoop()
        self.runFinished.connect(loop.quit)
        QTimer.singleShot(STOP_WAIT_MS, loop.quit)
        self._stop_run()
        if self.running is not None:
            loop.exec()
        self.runFinished.disconnect(loop.quit)
        if self.running is not None:
            self.w.say(f"The run did not stop within {STOP_WAIT_MS // 1000} s; nothing was left or dropped. "
                       "Try again, or Discard its steps.")
            return False
        return True

    def _on_target_changed(self, target: str | None) -> None:
        if self.running is not None and target != self.running:
            shown = f"∂{self._title(target)}/∂node" if target else "the values"
            self.w.say(f"The run goes on training {self._title(self.running)}, the target it started with; the "
                       f"canvas shows {shown} when it ends (Cancel / Esc stops it now).")

    def _on_progress(self, name: str, step: tuple[int, float]) -> None:
        if name != STEPS:
            return
        self.losses.append(step[1])
        if not self._plot_timer.isActive():
            self._plot_timer.start()

    def _redraw_plot(self) -> None:
        import pyqtgraph as pg

        plot = self.plot
        what = f"{self._title(self.curve_target) if self.curve_target else 'target'} before each step"
        # Undone, the steps' curve stays (Redo writes them again), greyed and said to be undone.
        plot.setLabel("left", what + (" (undone)" if self.curve_undone else ""))
        self._curve.setPen(pg.mkPen("#9a9a9a", width=2, style=Qt.PenStyle.DashLine) if self.curve_undone
                           else pg.mkPen("#2f6fdf", width=2))
        self._curve.setData(list(range(1, len(self.losses) + 1)), self.losses)

    def _finish_steps(self, result: StepsResult | None) -> None:
        self.running = None
        for action in (self.step_action, self.run_action):
            action.setEnabled(True)
        if result is None:  # lost with the compute process (it said why): nothing was written
            self.summary.setText("The run was lost with the compute process; nothing changed.")
        else:
            line = self._outcome(result)
            if self._replaced_during_run:
                self._forget_curve()
            else:
                self._redraw_plot()
            self.summary.setText(line)
            self.w.say(line)
        self.runFinished.emit()

    def _outcome(self, result: StepsResult) -> str:
        """What the run did, in one line, after writing its values when it may."""
        doc = self.w.doc
        what = f"{result.optimiser} lr={_number(result.lr)}"
        if result.revision != doc.revision and self._replaced_during_run:
            if result.done == 0:
                return f"{what}: another graph was opened before the run's first step, which stopped it"
            return (f"{what}: another graph was opened (File > Open, New or a lesson) during the run, which "
                    f"stopped it after {result.done} step(s); they were not kept (they were for the graph before)")
        if self._discarded:
            return f"{what}: stopped after {result.done} step(s), which were discarded, as asked; nothing changed"
        if result.revision != doc.revision:
            if result.done == 0:
                return f"{what}: the graph was edited before the run's first step, which stopped it; nothing changed"
            return (f"{what}: the graph was edited during the run, which stopped it; its {result.done} step(s) "
                    "on the graph before the edit were not written")
        if result.error:
            return f"{what}: ⚠ {result.error}"
        if result.done == 0:
            return (f"{what}: stopped before the first step; nothing changed" if result.cancelled
                    else f"{what}: {result.stopped or 'no step taken'}; nothing changed")
        before = (doc.undo_stack.index(), self._graph_state())
        try:
            made_by_init = self.write_values(result)
        except GraphError as e:
            return f"{what}: ⚠ new values refused: {e.message}"
        self._curve_left = doc.revision  # a Step from here adds to this curve
        self._keep_grads(result, before)
        ran, kept = torch_words(result, self._title)
        # Why a run stopped early comes first: a status bar shows the start of a long line.
        stopped = f" ({result.stopped})" if result.stopped else ""
        head = (f"{what}: {result.done} step(s){stopped} [{ran}]; "
                f"{self._title(result.target)} {_number(result.losses[0])} → ")
        tail = f"; {kept}; one undo step"
        if made_by_init:
            tail += f"; {', '.join(made_by_init)} made by init now hold literals of their new values"
        # The run computes the target before each step, not after the last: its value then is
        # the recompute's of the values written (none written: the result shown now holds it).
        self._after_run = (head, tail, result.target)
        if self.w.run.is_current(self.w.run.current):
            return self._after_result(self.w.run.current)
        return f"{head}… (recomputing){tail}"

    def _graph_state(self) -> tuple:
        """The graph's nodes and edges, target, grad-output, device, dtype: what .grad belongs to."""
        w = self.w
        return (tuple(w.doc.graph.nodes.values()), tuple(w.doc.graph.edges), *self._asked_now()[1:])

    def _keep_grads(self, result: StepsResult, before: tuple[int, tuple]) -> None:
        """Show .grad as the steps left it and keep their _StepRecord (not if asked for another target…)."""
        self._record = None
        if result.grads_after is None or self._steps_asked[1:] != self._asked_now()[1:]:
            return
        after = self._graph_state()
        self._record = _StepRecord(*before, after, result.grads_before, result.grads_after)
        self._show_saved(result.grads_after)

    def _show_saved(self, grads: AccumulatedGrads) -> None:
        """A saved .grad (see _keep_grads) as the graph's now; a .grad of None shows nothing."""
        self._grads_from, self._start_over = (self.w.doc.revision, grads.saved_as), False
        if grads.calls:
            self.badges.show(dataclasses.replace(grads, revision=self.w.doc.revision))

    def _on_undo_or_redo(self, index: int) -> None:
        """The undo or redo of the last steps written: their .grad before or after them comes
        back with the graph (only across them: .grad is not the graph's to keep)."""
        record, came_from, self._undo_index = self._record, self._undo_index, index
        if record is None or self.running is not None:
            return
        now = self._graph_state()
        if index == record.at < came_from and now == record.before:
            grads, when = record.grads_before, "before"
        elif came_from <= record.at < index and now == record.after:
            grads, when = record.grads_after, "after"
        else:
            return
        self._show_saved(grads)
        self.curve_undone = when == "before"
        if self._plot is not None and self.losses:
            self._redraw_plot()
        line = f"Leaf .grad as it was {when} the steps ({'None' if not grads.calls else f'{grads.calls} backward()'})"
        self.summary.setText(line + ("; Step steps with it (optimizer.step() alone)." if grads.pending else "."))

    def _after_result(self, result: object) -> str:
        """Say the run's line with the target's value after it, once computed for the graph it
        wrote (a compute that waited behind the run is for the graph before its values)."""
        if self._after_run is None or not self.w.run.is_current(result):
            return ""
        (head, tail, target), self._after_run = self._after_run, None
        view = result.nodes.get(target)
        line = head + (visible(view.value_text) if view is not None else "not computed (see the canvas)") + tail
        self.summary.setText(line)
        self.w.say(line)  # the window's own line for the recompute said something else
        return line

    def write_values(self, result: StepsResult) -> list[str]:
        """The leaves' new values as one undo step; returns the leaves that an init made."""
        doc = self.w.doc
        nodes = [dataclasses.replace(doc.graph.nodes[n], value=v, init=None) for n, v in result.values.items()]
        for node in nodes:
            node.check()  # all or nothing: refuse before the first edit
        made_by_init = [visible(n) for n in result.values if doc.graph.nodes[n].init is not None]
        steps = "1 step" if result.done == 1 else f"{result.done} steps"
        doc.undo_stack.beginMacro(f"{result.optimiser} {steps} (lr {_number(result.lr)})")
        for node in nodes:
            doc.edit_node(node, f"{result.optimiser} step")
        doc.undo_stack.endMacro()
        return made_by_init

    def _on_task(self, name: str, result: object) -> None:
        if self.w.closed:
            return
        if name == ACCUMULATE:
            self._show_grads(result, self._accumulates_asked.popleft() if self._accumulates_asked else None)
        elif name == ZERO:
            self._show_grads(result)
        elif name == STEPS:
            self._finish_steps(result)


def install(window: MainWindow) -> Training:
    """The Train toolbar and the Training dock, wired to the window's worker and document."""
    window.training = Training(window)
    return window.training
