"""File > Import Python…: a function of tensors or an nn.Module class from a .py file becomes nodes
of the current document, as one undo step.

The dialog lists the file's top-level functions and nn.Module classes by reading it with `ast`
(listing never runs it), and the classes whose base comes from another file, marked as such;
importing runs the file, as torch.fx tracing does, and the dialog says so. The import
(autograd_bridge.file_tasks.import_task) runs in the worker (Computer.request_task), in a
throwaway process of its own: the user's code never runs where the app's computes run.

The result joins the current document, to the right of what is there (ids that clash are
renamed, as a paste renames them), so Undo takes it back in one step and a model can be imported
beside a hand-built graph; File > New first gives it a document of its own. An empty document
takes the import's target too.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from autograd_bridge.file_tasks import import_task
from autograd_bridge.fx_script import Definitions, list_definitions  # ast only: no torch, nothing run
from graph.errors import GraphError
from graph.safetext import visible
from gui.document import SetTarget

if TYPE_CHECKING:
    from gui.window import MainWindow

TASK = "import.python"
GAP = 400.0  # between what the document holds and the imported nodes, in scene units
RUNS_CODE = ("Importing runs this file's code (tracing executes it, as torch.fx does): "
             "import only files you trust. Listing what it defines did not run it.")


class ImportDialog(QDialog):
    """Pick one definition of the file; optional inputs as NAME=SHAPE."""

    def __init__(self, parent: QWidget, path: str, found: Definitions) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import Python")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"From {visible(os.path.basename(path))}, import:"))
        self.choices = QListWidget()
        rows = [(f"function  {visible(n)}", ("function", n)) for n in found.functions]
        rows += [(f"nn.Module  {visible(n)}   (built as {visible(n)}(), called on example_inputs())", ("module", n))
                 for n in found.modules]
        rows += [(f"class  {visible(n)}({visible(found.bases[n])})   (a base from another file: an nn.Module?)",
                  ("module", n)) for n in found.classes]
        for text, data in rows:
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, data)
            self.choices.addItem(item)
        self.choices.setCurrentRow(0)
        self.choices.itemDoubleClicked.connect(self.accept)
        # Wide enough for its rows (up to a limit), so that each says what it is.
        self.choices.setMinimumWidth(min(self.choices.sizeHintForColumn(0) + 40, 900))
        layout.addWidget(self.choices)
        if found.classes:
            unsure = QLabel("A class whose base comes from another file may be an nn.Module: the file's own "
                            "lines cannot tell. Import runs the file, and imports it if it is one.")
            unsure.setWordWrap(True)
            layout.addWidget(unsure)
        layout.addWidget(QLabel("Inputs (optional, seeded randn), e.g.  x=2,3  y=4:"))
        self.inputs = QLineEdit()
        self.inputs.setPlaceholderText("defaults of the function, or the file's example_inputs()")
        layout.addWidget(self.inputs)
        warning = QLabel(RUNS_CODE)
        warning.setWordWrap(True)
        layout.addWidget(warning)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import (runs the file)")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def chosen(self) -> tuple[str, str] | None:
        item = self.choices.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None


class PythonImporter(QObject):
    """One per window: asks, runs the import on the worker, adds the result to the document."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.last_dir = ""
        self.what = ""  # what the import whose result came is, for messages
        self.asked: list[str] = []  # what each import asked and not yet answered is, in order
        window.computer.taskReady.connect(self._on_task)

    def ask(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.w, "Import Python", self.last_dir,
                                              "Python files (*.py);;All files (*)")
        if path:
            self.ask_file(path)

    def ask_file(self, path: str) -> None:
        """The definitions of a chosen (or dropped) file, listed without running it; the import
        runs it only once the user picks one and accepts."""
        self.last_dir = os.path.dirname(path)

        try:
            found = list_definitions(path)
        except GraphError as e:
            self.w.report_error("Cannot import", e.message)
            return
        if not found.functions and not found.modules and not found.classes:
            self.w.report_error("Cannot import", f"{visible(os.path.basename(path))} defines no top-level function "
                                "or nn.Module class")
            return
        dialog = ImportDialog(self.w, path, found)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.chosen() is not None:
            kind, name = dialog.chosen()
            self.start(path, name if kind == "function" else None, name if kind == "module" else None,
                       dialog.inputs.text().replace(";", " ").split())

    def start(self, path: str, function: str | None = None, module: str | None = None,
              inputs: list[str] = ()) -> None:
        """Import on the worker thread; the document changes when it is done."""
        what = function or module or ""
        self.asked.append(what)
        self.w.say(f"importing {what} from {os.path.basename(path)} (running it)…")
        # Every import asked runs, in order (coalesce=False), and answers once: asked[0] is whose answer comes.
        self.w.computer.request_task(TASK, import_task, path, function, module, list(inputs), outlive_edits=True,
                                     coalesce=False)

    def _on_task(self, name: str, result: object) -> None:
        if name != TASK:
            return
        self.what = self.asked.pop(0) if self.asked else ""
        if result is None:  # cancelled, or the worker's process stopped
            self.w.say(f"import of {self.what} stopped: nothing imported")
            return
        status, value = result
        if status == "error":
            self.w.report_error("Cannot import", value, f"cannot import {self.what}: {value}")
            return
        self.add(value)

    def add(self, imported) -> None:  # noqa: ANN001 - an autograd_bridge.fx_import.Imported
        """The imported nodes join the document to the right of its nodes, in one undo step."""
        from graph.fileformat import dumps

        doc = self.w.doc
        was_empty = not doc.graph.nodes
        right = max((x for x, _y in doc.graph.layout.values()), default=None)
        offset = (0.0, 0.0) if right is None else (right + GAP, 0.0)
        doc.undo_stack.beginMacro(f"Import {self.what}")
        try:
            new_ids = doc.paste(dumps(imported.graph), offset)
            sink = new_ids[list(imported.graph.nodes).index(imported.sink)]
            if was_empty:  # part of the step: undo and redo of the import take the target along
                doc.undo_stack.push(SetTarget(doc, doc.target, sink))
        finally:
            doc.undo_stack.endMacro()
        self.w.scene.select_nodes(new_ids)
        self.w.view.fit_graph()
        notes = "; ".join(imported.notes)
        self.w.say(f"imported {self.what}: {len(new_ids)} nodes, target {sink}" + (f" ({notes})" if notes else ""))


def importer(window: MainWindow) -> PythonImporter:
    """The window's importer, made on first use."""
    found = window.findChild(PythonImporter)
    return found if found is not None else PythonImporter(window)
