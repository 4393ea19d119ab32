"""The main window: canvas in the centre, palette / inspector / undo-history docks, toolbar
with device and dtype, File / Edit / View menus, status bar. (~520 lines, one piece: the window's
own wiring; each feature beyond it installs itself from its own module in one line.)"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QUndoView,
)

from autograd_bridge.compute import ComputeResult, SliceResult
from graph.errors import CycleError, GraphError
from graph.fileformat import LessonNotGraphError, load
from graph.model import Graph
from graph.safetext import visible
from gui import clipboard
from gui.actions import EXAMPLES_DIR, build_menus, build_toolbar
from gui.calculus import install as install_calculus
from gui.canvas import CanvasScene, CanvasView
from gui.canvas.flowview import install as install_flow
from gui.canvas.groups import install as install_groups
from gui.canvas.keyboard import install as install_keyboard
from gui.collection import ReplacementCollection
from gui.document import Document
from gui.expression_bar import install as install_expression_bar
from gui.fields import enter_typing, typing_entered
from gui.file_drop import install as install_file_drop
from gui.file_drop import is_lesson, open_lesson
from gui.file_guard import absolute, file_stamp
from gui.file_guard import install as install_file_guard
from gui.help import ShortcutSheet, about_text, grad_output_hint
from gui.inspector import Inspector
from gui.layout_state import install as install_layout
from gui.lessons import install as install_lessons
from gui.memory import MemoryLimit
from gui.palette import NodeSearch, Palette
from gui.recent import install as install_recent
from gui.recovery import Autosave, Found, claim_orphan
from gui.runstate import RunState
from gui.status_message import StatusMessage
from gui.stepper import install as install_stepper
from gui.titles import formula_name, partial_names, title_by_id
from gui.train import install as install_training
from gui.worker import Computer

# Edits made in one pass of the event loop are computed once; no longer wait than that, since
# the worker keeps only the newest pending request, so a burst of edits costs at most two runs.
RECOMPUTE_DELAY_MS = 0
STATUS_TITLE_MAX = 40  # characters of a target's title in a status line


def _fitting(names: list[str], limit: int) -> str:
    """The longest of these names (longest first) within limit characters, else the shortest."""
    return next((n for n in names if len(n) <= limit), names[-1])


def _open_error(path: str, message: str) -> str:
    """'cannot open PATH: what is wrong', naming the path once (the loader's messages start with it)."""
    detail = message.removeprefix(f"{path}: ")
    if detail.startswith("cannot read: "):  # an OSError's text: "No such file or directory"
        detail = detail.removeprefix("cannot read: ")
        detail = detail[:1].lower() + detail[1:]
    return f"cannot open {path}: {detail}"


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, recovery_dir: str | Path | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings("GradCanvas", "GradCanvas")
        self.doc = Document(self)
        self.scene = CanvasScene(self.doc, self)
        self.view = CanvasView(self.scene, self)
        self.collection = ReplacementCollection(self.view)  # the garbage collector while a document is replaced
        self.setCentralWidget(self.view)
        self.computer = Computer(self)
        self.run = RunState()  # what is asked now and the last result drawn
        # The grad-output typed for each target, kept while the app runs (a new document starts over).
        self.shortcut_sheet: ShortcutSheet | None = None
        self.about_box: QMessageBox | None = None
        # Ask before discarding changes, and whether to recover a crashed session's document;
        # tests replace these with stubs that answer.
        self.ask_unsaved = self._ask_unsaved
        self.ask_recover = self._ask_recover
        self.memory = MemoryLimit(self, self.settings)  # the limit each run is checked against
        self.closed = False  # closed for good: results still arriving are dropped
        self.autosave = Autosave(self.doc, lambda: self.grad_output, recovery_dir, self)

        self._make_docks()
        self._make_actions()
        build_toolbar(self)  # device, dtype, Fit / Layout / Clear target, grad-output
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.statusBar().addPermanentWidget(self.status)
        self.message = StatusMessage(self.statusBar(), [self.status])
        self.search = NodeSearch(self)
        self.search.chosen.connect(self._add_in_view)

        self.recompute_timer = QTimer(self)
        self.recompute_timer.setSingleShot(True)
        self.recompute_timer.setInterval(RECOMPUTE_DELAY_MS)
        self.recompute_timer.timeout.connect(self.recompute)

        self.doc.edited.connect(self._on_edited)
        self.doc.targetChanged.connect(self._on_target_changed)
        self.doc.undo_stack.cleanChanged.connect(self._update_title)
        self.computer.resultReady.connect(self.show_result)
        self.computer.sliceReady.connect(self._on_slice)
        self.computer.said.connect(self.say)
        self.computer.computingChanged.connect(self._computing_changed)
        self.scene.message.connect(self.say)
        self.scene.selectionChanged.connect(self._on_selection)
        self.view.dropOp.connect(self.scene.add_node_at)
        self.view.searchRequested.connect(self.open_search)
        self.palette.opActivated.connect(self._add_at_centre)
        self.inspector.sliceRequested.connect(self._request_slice)
        install_training(self)  # the Train toolbar and dock: .grad accumulation, optimiser steps
        install_lessons(self)  # File > Lessons and the Lesson dock beside the canvas (issue 12)
        install_flow(self)  # View > Gradient flow: wires by the gradient along them, the legend
        install_calculus(self)  # Jacobians, Hessians, differentiate again, gradcheck (issue 10)
        install_expression_bar(self)  # y = 2*x**2 + 3*z adds nodes and edges (issue 11)
        install_stepper(self)  # View > Step backward: the chain rule one wire at a time (issue 12)
        install_groups(self)  # Edit > Group / Ungroup; the view kept in the file (issue 11)
        install_file_guard(self)  # Save asks before writing over a file another program changed
        install_keyboard(self)  # Edit > Find node (Ctrl+F); the arrows walk the selection (the view's)
        install_file_drop(self)  # a .json graph or lesson dropped from a file manager opens
        self.resize(1400, 900)
        install_layout(self)  # last: View toggles for every dock and toolbar; the layout kept on close
        self._update_title()
        self.say("Drag ops from the palette, wire output → input, click ∂ on a node.")

    # ---- construction ----

    def _make_docks(self) -> None:
        self.palette = Palette(self)
        self.inspector = Inspector(self.doc, self, self.run.is_current)
        self.history = QUndoView(self.doc.undo_stack)
        self.history.setEmptyLabel("<opened>")
        for title, widget, area in (("Palette", self.palette, Qt.DockWidgetArea.LeftDockWidgetArea),
                                    ("Inspector", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea),
                                    ("History", self.history, Qt.DockWidgetArea.LeftDockWidgetArea)):
            dock = QDockWidget(title, self)
            dock.setObjectName(title)
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            setattr(self, f"{title.lower()}_dock", dock)
        self.resizeDocks([self.palette_dock, self.inspector_dock], [230, 380], Qt.Orientation.Horizontal)

    def _make_actions(self) -> None:
        build_menus(self)  # File, Edit, View, Help: every shortcut by gui.actions' one rule
        install_recent(self)  # File > Open Recent (gui.recent)

    def _on_grad_output_edited(self, value: object) -> None:
        self.grad_output = value
        self.autosave.changed()
        self.schedule_recompute()

    def _restore_grad_output(self, target: str | None) -> None:
        """The grad-output kept for this target, and a word in the status bar when the target is
        known not to be a scalar and has none."""
        self.grad_output = self.grad_output_edit.show_target(target)
        view = self.run.result.nodes.get(target) if self.run.result is not None and target else None
        if view is not None and view.shape and self.grad_output is None:
            self.say(grad_output_hint(formula_name(title_by_id(self.doc.graph, target)), view.shape))

    # ---- computing ----

    def _on_edited(self) -> None:
        self._update_title()
        self.schedule_recompute()

    @property
    def last_result(self) -> ComputeResult | None:
        return self.run.result

    @property
    def grad_output(self) -> object:
        return self.run.grad_output

    @grad_output.setter
    def grad_output(self, value: object) -> None:
        self.run.grad_output = value

    def _sync_run(self) -> None:
        """RunState follows what is asked now, so a result computed for anything else is dropped."""
        self.run.target, self.run.revision = self.doc.target, self.doc.revision
        self.run.device, self.run.dtype = self.device(), self.dtype()

    def _on_target_changed(self, target: str | None) -> None:
        self._restore_grad_output(target)
        self.schedule_recompute()  # with no target, values alone: they never vanish

    def schedule_recompute(self) -> None:
        self._sync_run()
        if not self.doc.graph.nodes:  # nothing to compute: no line may say stale or what is shown
            self.status.clear()
            self.statusBar().clearMessage()
            return
        self.scene.set_stale()
        self.status.setText("stale: recomputing…")
        self.recompute_timer.start()

    def dtype(self) -> str | None:
        """The toolbar's dtype: None keeps each node's own."""
        dtype = self.dtype_box.currentText()
        return None if dtype == "per node" else dtype

    def device(self) -> str:
        return self.device_box.currentText() or "cpu"

    def recompute(self) -> None:
        self._sync_run()
        if not self.doc.graph.nodes:
            return
        self.status.setText("computing…")
        self.computer.request(self.doc.graph, self.doc.target, self.doc.revision, self.device(), self.dtype(),
                              self.grad_output, self.memory.for_run(self.doc.revision))

    def cancel_compute(self) -> None:
        if self.computer.cancel():
            self.status.setText("cancelling…")

    def _computing_changed(self, running: bool) -> None:
        if not running and self.status.text() == "cancelling…":  # a task's end (a compute's result says more)
            self.status.setText("cancelled")

    def show_result(self, result: ComputeResult) -> None:
        """Draw a result, unless what is asked has moved on since it was computed."""
        self.device_box.probe()  # torch is loaded now: cuda / mps may join cpu in the list
        if result.cancelled:
            if self.run.is_current(result):  # cancelled by hand, not by a newer edit
                self.status.setText("cancelled: stale")
                self.scene.set_stale("cancelled: F5 computes")
                self.say("Computing cancelled: the canvas shows the last result, marked stale. "
                         "Compute (F5) runs it again.")
            return
        if result.over_budget is not None and self.run.is_current(result) and self.memory.over_budget(result):
            self.recompute()  # the user chose to run it over the limit
            return
        if not self.run.accept(result):
            return  # stale: a newer request is queued or running
        self.scene.show_result(result)
        self.inspector.show_result(result)
        target = title_by_id(self.doc.graph, result.target)  # named as on the canvas
        # Shortened as inside ∂y/∂x: a long label must not push the status bar's other half away.
        what = f"target {formula_name(target, STATUS_TITLE_MAX)}" if target is not None else "values (no target)"
        if result.error:
            self.status.setText(visible(f"{what}: partly computed") if result.nodes else "error")
            self.say(f"⚠ {result.error}")
        else:
            self.status.setText(visible(f"{what} on {result.device}"))
            vjp = result.grad_output is not None  # then every partial shown is vᵀ·∂target/∂node
            self.say("; ".join(result.notes) if result.notes else
                     f"{_fitting(partial_names(target, 'node', vjp), 2 * STATUS_TITLE_MAX)} shown on every node"
                     f"{' (v: the grad-output)' if vjp else ''}" if target is not None else
                     "values shown; click ∂ on a node to make it the target and see every partial")

    def _request_slice(self, leaf: str) -> None:
        if self.doc.target is not None:
            self.computer.request_slice(self.doc.graph, self.doc.target, leaf, self.doc.revision,
                                        self.device(), self.dtype())

    def _on_slice(self, s: SliceResult | None) -> None:
        if s is None or self.run.slice_is_current(s):
            self.inspector.show_slice(s)

    # ---- selection, clipboard ----

    def _on_selection(self) -> None:
        self.inspector.set_node(*self.scene.selection_summary())  # it holds the last result

    def _select_all(self) -> None:
        self.scene.select_nodes(list(self.scene.nodes))  # one selectionChanged, not one per node

    def _target_selected(self) -> None:
        selected = self.scene.selected_node_ids()
        if selected:
            self.doc.choose_target(selected[0])

    def delete_selection(self) -> None:
        self.doc.remove(self.scene.selected_node_ids(), self.scene.selected_edges())

    def copy(self) -> None:
        clipboard.copy(self)

    def cut(self) -> None:
        self.copy()
        self.delete_selection()

    def paste(self) -> None:  # each paste of the same clipboard one step further (gui.clipboard)
        clipboard.paste(self)

    def _paste_text(self, text: str) -> None:
        clipboard.paste_text(self, text)

    def duplicate(self) -> None:
        clipboard.duplicate(self)

    def _add_at_centre(self, op: str) -> None:
        self._add_in_view(op, self.view.mapToScene(self.view.viewport().rect().center()))

    def _add_in_view(self, op: str, pos: QPointF) -> None:
        """A node added by the palette or Tab-search, scrolled into view: the free place found
        for it (CanvasScene.add_node_at) may be past the view's edge."""
        item = self.scene.nodes.get(self.scene.add_node_at(op, pos))
        if item is not None:
            self.view.ensureVisible(item.sceneBoundingRect(), 20, 20)

    def open_search(self, scene_pos: QPointF) -> None:
        self.search.open_at(self.view.viewport().mapToGlobal(self.view.mapFromScene(scene_pos)), scene_pos)

    # ---- help ----

    def show_shortcuts(self) -> None:
        """The shortcut sheet (F1), regenerated from the actions each time; non-modal."""
        if self.shortcut_sheet is None:
            self.shortcut_sheet = ShortcutSheet(self)
        self.shortcut_sheet.refresh()
        self.shortcut_sheet.show()
        self.shortcut_sheet.raise_()
        self.shortcut_sheet.activateWindow()

    def show_about(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "About GradCanvas", about_text(),
                          QMessageBox.StandardButton.Ok, self)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.destroyed.connect(lambda _=None: setattr(self, "about_box", None))
        self.about_box = box
        box.open()  # non-modal to the app: never blocks

    # ---- files ----

    def say(self, text: str) -> None:
        """A status bar message, fitted to the bar; ids, labels and paths in it are escaped."""
        self.message.say(text)

    def report_error(self, title: str, message: str, status: str | None = None) -> None:
        """Status bar (`status`, else title: message) plus a non-modal message box (never blocks,
        so scripts and tests go on); the text is escaped and never read as markup."""
        self.say(status or f"{title}: {message}")
        if self.isVisible():
            box = QMessageBox(QMessageBox.Icon.Warning, title, visible(message), QMessageBox.StandardButton.Ok, self)
            box.setTextFormat(Qt.TextFormat.PlainText)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()

    def _update_title(self) -> None:
        name = visible(Path(self.doc.path).name) if self.doc.path else "untitled"
        self.setWindowTitle(f"{name}[*] — GradCanvas")
        self.setWindowModified(not self.doc.undo_stack.isClean())

    def unsaved_question(self) -> str:
        """The question asked before the document is dropped, naming its file."""
        name = f"“{visible(Path(self.doc.path).name)}”" if self.doc.path else "the untitled graph"
        return f"Save the changes to {name} first?"

    def _ask_unsaved(self) -> QMessageBox.StandardButton:
        buttons = QMessageBox.StandardButton
        box = QMessageBox(QMessageBox.Icon.Question, "Unsaved changes", self.unsaved_question(),
                          buttons.Save | buttons.Discard | buttons.Cancel, self)
        box.setTextFormat(Qt.TextFormat.PlainText)  # a file name is never read as markup
        box.setDefaultButton(buttons.Save)
        return buttons(box.exec())

    def maybe_save(self) -> bool:
        """True when it is fine to drop the current document."""
        if not self.training.settle_before_leaving():  # a run's steps are not in the document yet
            return False
        refused = enter_typing()  # a value typed and not entered is a change too
        if self.doc.undo_stack.isClean() and refused is None:
            return True
        answer = self.ask_unsaved()
        if answer == QMessageBox.StandardButton.Save:
            return self.save_document()
        return answer == QMessageBox.StandardButton.Discard

    def _replace_document(self, graph: Graph, path: str | None) -> None:
        """The document becomes this graph (new, open, recover)."""
        self.collection.pause()
        self.doc.reset(graph, path)
        # A whole collection costs 30-130 ms at 5,000 nodes: the new document is shown first.
        self.collection.collect_after_paint()

    def new_document(self) -> None:
        if self.maybe_save():
            self._replace_document(Graph(), None)
            self._update_title()
            self.statusBar().clearMessage()  # the old graph's error or note is not this one's
            self.status.clear()

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open graph", "",
                                              "GradCanvas graphs (*.json);;All files (*)")
        if path:
            self.open_file(path)

    def open_file(self, path: str, ask: bool = True) -> bool:
        """Open a file; one that fails to load leaves the current document untouched. ask=False:
        the user already chose to drop unsaved changes (gui.file_guard's reload)."""
        if ask and is_lesson(path):  # in the Lesson dock, which asks as maybe_save does
            return open_lesson(self, path)
        if ask and not self.maybe_save():
            return False
        self.computer.warm_up()  # the compute process imports torch while the file loads and draws
        self.collection.pause()  # what the load makes lives on too
        try:
            seen, graph = file_stamp(path), load(path)  # the file as read: a later change is someone else's
        except LessonNotGraphError:  # one too big for is_lesson to read: the lesson loader says so
            self.collection.resume()
            return open_lesson(self, path)
        except GraphError as e:
            self.collection.resume()
            message = _open_error(path, e.message)
            self.report_error("Cannot open", message, status=message)
            return False
        example = Path(path).resolve().parent == EXAMPLES_DIR
        file_target = graph.target
        self._replace_document(graph, None if example else absolute(path))  # examples open as untitled copies
        if not example:
            self.recent.add(path)
            self.file_guard.read(absolute(path), seen)
        sinks = graph.sinks()
        if self.doc.target is None and (file_target is not None or len(sinks) == 1):
            self.doc.set_target(file_target or sinks[0])  # the file's target, else the only sink
        self._update_title()
        if graph.view is None:  # a file's saved view is shown instead (gui.canvas.groups)
            if self.isVisible():  # framed now, so that the first paint is the framed one: the collection
                self.view.fit_graph()  # after that paint (gui.collection) would delay a second one
            QTimer.singleShot(0, self.view.fit_graph)  # and again once a window opening at start is laid out
        self.say(f"opened {Path(path).name}")
        try:
            graph.topological_order()
        except CycleError as e:  # it loads (files are data), but cannot run until the cycle is cut
            self.scene.show_result(ComputeResult(self.doc.revision, None, error=e.message, error_nodes=e.node_ids))
            self.say(
                f"opened {Path(path).name}, but ⚠ {e.message}: Alt-drag across an edge to cut it")
        return True

    def save_document(self) -> bool:
        if not typing_entered(self):
            return False
        if self.doc.path is None:
            return self.save_as()
        return self.file_guard.save(self.doc.path)  # asks first if another program changed the file

    def save_as(self) -> bool:
        if not typing_entered(self):  # before the dialog takes the focus (the canvas's editor would close)
            return False
        dialog = QFileDialog(self, "Save graph", self.doc.path or str(Path.home() / "graph.json"),
                             "GradCanvas graphs (*.json)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("json")  # "name" saves as name.json (which Open lists), asked about if it exists
        return self._save_to(dialog.selectedFiles()[0]) if dialog.exec() else False

    def _save_to(self, path: str) -> bool:
        return self.file_guard.save_to(path)  # gui.file_guard: the path made absolute, the file remembered

    def export_dialog(self) -> None:  # Ctrl+E's file-name-only export; File > Export Python… asks more
        from gui.export_dialog import quick_export

        quick_export(self)

    # ---- crash recovery (gui.recovery) ----

    def _ask_recover(self, found: Found) -> QMessageBox.StandardButton:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(found.saved_at))
        name = visible(found.path) if found.path else "an untitled graph"
        return QMessageBox.question(
            self, "Recover unsaved changes",
            f"GradCanvas did not close normally. Recover the changes to {name} autosaved at {when}?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard,
            QMessageBox.StandardButton.Yes)

    def offer_recovery(self) -> bool:
        """At start: offer the newest document a crashed window autosaved; True if restored.
        Restored, it is as it was (graph, positions, target, grad-output, its path), marked
        modified, with an empty history; declined, its recovery file is removed."""
        skipped: list[str] = []
        found = claim_orphan(self.autosave.folder, skipped)
        if skipped:
            self.say(f"a recovery file could not be read: {skipped[0]}")
        if found is None:
            return False
        if self.ask_recover(found) != QMessageBox.StandardButton.Yes:
            found.discard()
            return False
        self._replace_document(found.graph, found.path)  # target and grad-output come back as from a file
        self.file_guard.read(found.path, found.stamp)  # Save asks if the file changed since the crash
        self.doc.undo_stack.resetClean()  # modified: the user's file (if any) lacks these changes
        self.autosave.adopt(found)
        self._update_title()
        QTimer.singleShot(0, self.view.fit_graph)
        self.say("recovered the autosaved changes" + (f" to {found.path}" if found.path else ""))
        return True

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        if self.maybe_save():
            self.autosave.close()  # closed cleanly: nothing to recover
            self.collection.resume()  # a window closed before its paint leaves the collector on
            if not self.closed:  # a running compute is not waited for: its result is dropped
                self.closed = True
                self.computer.resultReady.disconnect(self.show_result)
                self.computer.sliceReady.disconnect(self._on_slice)
                self.recompute_timer.stop()  # nor is a compute asked for any more
                self.computer.close()  # and its process, if it has one
            event.accept()
        else:
            event.ignore()
