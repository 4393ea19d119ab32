"""File > Export Python… and File > Export canvas image….

The Python dialog asks for everything the export takes (autograd_bridge.export): target,
grad-output, device, dtype, whether intermediates get retain_grad() and are printed, the form
(script, function, nn.Module) and the file (.py, or .ipynb for a notebook), and previews the
first lines; the export itself is made by the worker too (it compiles and shapes the graph
with torch: autograd_bridge.file_tasks), then written here. `write` is the one place an export
is written: the dialog and the quick Ctrl+E path both call it.

The canvas image is the whole scene, or the selected nodes' area, as PNG or SVG (QSvgGenerator).
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QBuffer, QIODevice, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontDatabase, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from autograd_bridge.file_tasks import PREVIEW_LINES, export_task
from autograd_bridge.file_tasks import ExportOptions as Options
from graph.atomicwrite import same_file, write_bytes_atomic
from graph.errors import GraphError
from graph.safetext import visible
from graph.values import parse_tensor_text
from gui.fields import enter_typing

PREVIEW_TASK, EXPORT_TASK = "export preview", "export"  # an export's name ends with its number
FORMS = ("script", "function", "module")  # autograd_bridge.export.FORMS (not imported: it loads torch)
FORM_TITLES = {"script": "script (prints every partial)", "function": "function forward(…)",
               "module": "nn.Module (parameters)"}
DEVICES = ("cpu", "cuda", "mps")
IMAGE_MARGIN = 24


_exports = 0  # exports asked for so far: their task names
OWN_FILE = "that is this graph's own file: choose another name for the script"


def write(window, path: str, options: Options, then: Callable[[bool], None] | None = None) -> None:  # noqa: ANN001
    """Export the window's graph to path: the text is made by the worker (it needs torch), then
    written here atomically; errors go to the window in one line. `then(written)` after."""
    global _exports
    _exports += 1
    name = f"{EXPORT_TASK} {_exports}"  # one name per export: two of one file are two tasks, in order

    def on_task(task: str, result: tuple[str, str] | None) -> None:
        if task != name:
            return
        window.computer.taskReady.disconnect(on_task)
        written = _write_text(window, path, result)
        if then is not None:
            then(written)

    window.computer.taskReady.connect(on_task)
    window.computer.request_task(name, export_task, window.doc.graph, options, path, outlive_edits=True)
    window.say(f"exporting {path}…")


def _write_text(window, path: str, result: tuple[str, str] | None) -> bool:  # noqa: ANN001
    from graph.fileformat import write_text_atomic

    if result is None:
        window.report_error("Cannot export", "the export was stopped before it finished; nothing was written")
        return False
    status, text = result
    if status == "error":
        window.report_error("Cannot export", text)
        return False
    try:
        write_text_atomic(path, text)
    except OSError as e:
        window.report_error("Cannot export", f"{path}: {e.strerror or e}")
        return False
    window.say(f"exported {path}")
    return True


def default_path(window) -> str:  # noqa: ANN001
    """Where an export goes unless the user says otherwise: beside the graph's file, named after
    it; an untitled graph's in the home folder. Never the folder the app was started from, which
    may be anyone's project."""
    doc_path = window.doc.path
    return str(Path(doc_path).with_suffix(".py") if doc_path else Path.home() / "graph.py")


def quick_export(window) -> None:  # noqa: ANN001
    """Ctrl+E's old path, kept for the tests and the impatient: ask a file name only, export the
    script with the toolbar's target, grad-output and dtype. The file dialog asks before it
    replaces a file."""
    enter_typing()  # the grad-output typed in the toolbar
    if window.doc.target is None:
        window.say("export: set a target first (click ∂ on a node)")
        return
    path, _ = QFileDialog.getSaveFileName(window, "Export", default_path(window), "Python (*.py);;Notebook (*.ipynb)")
    if path and window.doc.path is not None and same_file(path, window.doc.path):
        window.report_error("Cannot export", OWN_FILE)
        return
    if path:
        write(window, path, Options(window.doc.target, window.grad_output, window.dtype()))


class ExportDialog(QDialog):
    def __init__(self, window) -> None:  # noqa: ANN001 - a gui.window.MainWindow
        super().__init__(window)
        self.w = window
        self.setWindowTitle("Export Python")
        graph = window.doc.graph
        self.target = QComboBox()
        for n in graph.nodes:
            self.target.addItem(visible(n), n)
        if window.doc.target is not None:
            self.target.setCurrentIndex(self.target.findData(window.doc.target))
        self.grad_output = QLineEdit("" if window.grad_output is None else json.dumps(window.grad_output))
        self.grad_output.setPlaceholderText("none: a scalar target; else e.g. [1, 0]")
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setEditable(True)  # cuda:1 too; the export refuses anything else in one line
        self.dtype = QComboBox()
        self.dtype.addItems(["per node", "float32", "float64"])
        self.dtype.setCurrentText(window.dtype() or "per node")
        self.retain = QCheckBox("intermediates get retain_grad() and their .grad is printed")
        self.retain.setChecked(True)
        self.form = QComboBox()
        for f in FORMS:
            self.form.addItem(FORM_TITLES[f], f)
        self.path = QLineEdit(default_path(window))
        self.confirmed: str | None = None  # a path whose replacing the file dialog confirmed
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path)
        row.addWidget(browse)
        path_row = QWidget()
        path_row.setLayout(row)
        row.setContentsMargins(0, 0, 0, 0)

        form = QFormLayout()
        form.addRow("Target", self.target)
        form.addRow("Grad-output", self.grad_output)
        form.addRow("Device", self.device)
        form.addRow("Dtype", self.dtype)
        form.addRow("", self.retain)
        form.addRow("Form", self.form)
        form.addRow("File (.py or .ipynb)", path_row)
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.preview.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.preview.setMinimumSize(640, 300)
        self.preview.setPlaceholderText("no preview: see the problem below")
        self.previewing = False  # a preview is asked for what the fields say now
        self.problem = QLabel("")
        self.problem.setStyleSheet("color: #b00020")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._export)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel(f"Preview (the first {PREVIEW_LINES} lines)"))
        layout.addWidget(self.preview)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)

        window.computer.taskReady.connect(self._on_task)
        for signal in (self.target.currentIndexChanged, self.device.currentTextChanged, self.dtype.currentIndexChanged,
                       self.retain.toggled, self.form.currentIndexChanged, self.grad_output.editingFinished,
                       self.path.editingFinished):
            signal.connect(self.refresh)
        self.refresh()

    def options(self) -> Options | None:
        """What the fields say; None (and the reason shown) when the grad-output is refused, as
        the toolbar's grad-output box refuses it (gui.grad_output: the one parser of typed values)."""
        text = self.grad_output.text().strip()
        try:
            grad_output = parse_tensor_text(text, "grad-output", example="[1, 0]") if text else None
        except GraphError as e:
            self.problem.setText(visible(e.message))
            return None
        dtype = self.dtype.currentText()
        return Options(self.target.currentData(), grad_output, None if dtype == "per node" else dtype,
                       self.form.currentData(), self.device.currentText().strip(), self.retain.isChecked())

    def refresh(self) -> None:
        options = self.options()
        if options is None or options.target is None:
            self._no_preview()
            return
        self.previewing = True
        self.problem.setText("")
        self.preview.setPlainText("making the preview…")
        self.w.computer.request_task(PREVIEW_TASK, export_task, self.w.doc.graph, options, self.path.text(),
                                     PREVIEW_LINES)

    def _no_preview(self) -> None:
        """The fields ask for nothing that can be exported: an older preview is not shown as if
        it were of them, nor one still being made."""
        self.previewing = False
        self.preview.setPlainText("")

    def _on_task(self, name: str, result: object) -> None:
        if name != PREVIEW_TASK or result is None or not self.previewing:
            return
        status, text = result
        if status == "ok":
            self.preview.setPlainText(text)
        else:
            self.preview.setPlainText("")
            self.problem.setText(visible(text))

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text(), "Python (*.py);;Notebook (*.ipynb)")
        if path:
            self.path.setText(path)
            self.confirmed = path
            self.refresh()

    def _export(self) -> None:
        options, path = self.options(), os.path.expanduser(self.path.text().strip())
        if options is None:  # refused: options() says why
            self._no_preview()
            return
        if not path:
            self.problem.setText("give the file to export to (.py or .ipynb)")
            return
        if not os.path.isabs(path):  # beside the graph, as the default is; never where the app started
            path = str(Path(default_path(self.w)).parent / path)
        if self.w.doc.path is not None and same_file(path, self.w.doc.path):
            self.problem.setText(OWN_FILE)
            return
        if path != self.confirmed and Path(path).exists() and not self.ask_replace(path):
            return
        write(self.w, path, options, lambda written: written and self.accept())

    def ask_replace(self, path: str) -> bool:
        """Whether to replace an existing file (a test replaces this)."""
        answer = QMessageBox.question(self, "Replace file", f"{visible(path)} already exists. Replace it?",
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                                      QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    def done(self, result: int) -> None:
        self.w.computer.taskReady.disconnect(self._on_task)
        super().done(result)


def ask(window) -> None:  # noqa: ANN001
    enter_typing()  # the grad-output typed in the toolbar, a value in the inspector
    if not window.doc.graph.nodes:
        window.say("export: the graph is empty")
        return
    ExportDialog(window).open()


# ---- the canvas as an image ----

def scene_rect(scene, selection_only: bool) -> QRectF:  # noqa: ANN001 - a gui.canvas.CanvasScene
    """The area drawn: the selected items' (if asked and any), else every item's, with a margin."""
    items = scene.selectedItems() if selection_only else []
    rect = QRectF()
    for item in items:
        rect = rect.united(item.sceneBoundingRect())
    if rect.isEmpty():
        rect = scene.itemsBoundingRect()
    return rect.adjusted(-IMAGE_MARGIN, -IMAGE_MARGIN, IMAGE_MARGIN, IMAGE_MARGIN)


def save_image(scene, path: str, selection_only: bool = False) -> None:  # noqa: ANN001
    """PNG (at the scene's scale, white behind) or SVG (vectors, by QSvgGenerator) by the suffix.
    Encoded in memory, then written atomically (graph.atomicwrite): a write that fails, on a full
    disk say, raises OSError and leaves an older file as it was."""
    source = scene_rect(scene, selection_only)
    size = QSize(max(1, round(source.width())), max(1, round(source.height())))
    target = QRectF(0, 0, size.width(), size.height())
    encoded = QBuffer()
    encoded.open(QIODevice.OpenModeFlag.WriteOnly)
    image_format = Path(path).suffix[1:].upper() or "PNG"
    if image_format == "SVG":
        device = QSvgGenerator()
        device.setOutputDevice(encoded)
        device.setSize(size)
        device.setViewBox(target)
        device.setTitle("GradCanvas graph")
    else:
        device = QImage(size, QImage.Format.Format_ARGB32)
        device.fill(QColor("white"))
    painter = QPainter(device)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    scene.render(painter, target, source, Qt.AspectRatioMode.KeepAspectRatio)
    painter.end()
    if isinstance(device, QImage) and not device.save(encoded, image_format):
        raise OSError(errno.EINVAL, f"cannot encode the image as {image_format}: use .png or .svg")
    write_bytes_atomic(path, bytes(encoded.data()))


def export_image(window) -> None:  # noqa: ANN001
    path, _ = QFileDialog.getSaveFileName(window, "Export canvas image", "graph.png", "PNG (*.png);;SVG (*.svg)")
    if not path:
        return
    selection_only = bool(window.scene.selected_node_ids())
    try:
        save_image(window.scene, path, selection_only)
    except OSError as e:
        window.report_error("Cannot export", f"{visible(path)}: {e.strerror or e}")
        return
    window.say(f"exported {'the selection' if selection_only else 'the canvas'} to {visible(path)}")
