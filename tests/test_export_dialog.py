"""File > Export Python… (gui/export_dialog.py): the preview follows the options and Export
writes what export_text writes; File > Export canvas image… writes a PNG and an SVG that
QSvgRenderer loads and draws."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QFileDialog

from autograd_bridge.export import export_text
from gui import export_dialog

EXAMPLE = Path(__file__).resolve().parent.parent / "resources" / "examples" / "04_small_mlp.json"


def test_dialog_previews_and_writes_the_module_form(window, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    window.open_file(str(EXAMPLE))
    window.doc.set_target("loss")
    dialog = export_dialog.ExportDialog(window)
    qtbot.addWidget(dialog)
    dialog.form.setCurrentIndex(dialog.form.findData("module"))
    dialog.dtype.setCurrentText("float64")
    dialog.retain.setChecked(False)
    qtbot.waitUntil(lambda: "as an nn.Module" in dialog.preview.toPlainText(), timeout=30_000)
    qtbot.waitUntil(lambda: "float32" not in dialog.preview.toPlainText(), timeout=30_000)
    out = tmp_path / "model.py"
    dialog.path.setText(str(out))
    dialog._export()  # the worker makes the text, then the dialog writes it and closes
    qtbot.waitUntil(lambda: dialog.result() == dialog.DialogCode.Accepted, timeout=30_000)
    assert out.read_text() == export_text(window.doc.graph, "loss", None, "float64", form="module", retain_grad=False)
    assert dialog.preview.toPlainText().splitlines() == out.read_text().splitlines()[:export_dialog.PREVIEW_LINES]


def test_dialog_shows_a_refusal_in_one_line(window, qtbot) -> None:  # noqa: ANN001
    window.open_file(str(EXAMPLE))
    dialog = export_dialog.ExportDialog(window)
    qtbot.addWidget(dialog)
    dialog.device.setCurrentText("gpu0")
    qtbot.waitUntil(lambda: "device 'gpu0'" in dialog.problem.text(), timeout=30_000)
    dialog.device.setCurrentText("cpu")
    dialog.grad_output.setText("[1,")
    dialog.grad_output.editingFinished.emit()
    assert dialog.problem.text().startswith("grad-output must be JSON such as [1, 0]")  # as the toolbar says


def _drawn(image: QImage) -> int:
    """How many of a coarse grid of pixels differ from the first one: something was drawn."""
    first = image.pixelColor(0, 0)
    return sum(image.pixelColor(x, y) != first for x in range(0, image.width(), 7) for y in range(0, image.height(), 7))


def test_canvas_image_as_png_and_svg(window, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    window.open_file(str(EXAMPLE))
    for name in ("canvas.png", "canvas.svg"):
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, n=name, **k: (str(tmp_path / n), ""))
        export_dialog.export_image(window)
    png = QImage(str(tmp_path / "canvas.png"))
    whole = export_dialog.scene_rect(window.scene, False)
    assert (png.width(), png.height()) == (round(whole.width()), round(whole.height())) and _drawn(png) > 100
    svg = QSvgRenderer(str(tmp_path / "canvas.svg"))
    assert svg.isValid()
    image = QImage(800, 300, QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    svg.render(painter)
    painter.end()
    assert _drawn(image) > 100
    window.scene.select_nodes(["W1"])
    part = export_dialog.scene_rect(window.scene, True)
    assert part.width() < whole.width() / 3


def test_quick_export_without_a_target_says_so(window) -> None:  # noqa: ANN001
    window.new_document()
    window.export_dialog()
    assert "set a target first" in window.statusBar().currentMessage()


def test_two_exports_of_one_file_with_an_edit_between_write_the_newer_last(window, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    window.open_file(str(EXAMPLE))
    window.doc.set_target("loss")
    out, written = tmp_path / "twice.py", []
    export_dialog.write(window, str(out), export_dialog.Options("loss"), lambda ok: written.append(("first", ok)))
    window.doc.rename("h", "hidden")  # an edit while the first export is made
    export_dialog.write(window, str(out), export_dialog.Options("loss"), lambda ok: written.append(("second", ok)))
    qtbot.waitUntil(lambda: len(written) == 2, timeout=60_000)
    assert written == [("first", True), ("second", True)]
    assert "hidden" in out.read_text()
