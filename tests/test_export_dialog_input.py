"""File > Export Python…: a grad-output the toolbar's box refuses is refused by the dialog in
the same one line (one parser: graph.values.parse_tensor_text), never a traceback. The
preview then shows nothing (not the last options' preview, nor one still being made), and
Export writes nothing and says why."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import RESULT_TIMEOUT_MS

from gui import export_dialog

EXAMPLE = Path(__file__).resolve().parent.parent / "resources" / "examples" / "02_matmul_vector.json"
REFUSED = ["9" * 5000, "[" * 100_000 + "]" * 100_000, "[1,", "NaN", "[1, [2]]", "[true]", '"2"']


def _toolbar_refusal(window, text: str) -> str:  # noqa: ANN001 - a gui.window.MainWindow
    """What the toolbar's grad-output box says of this text."""
    said: list[str] = []
    window.grad_output_edit.refused.connect(said.append)
    window.grad_output_edit.setText(text)
    window.grad_output_edit.editingFinished.emit()
    window.grad_output_edit.refused.disconnect(said.append)
    window.grad_output_edit.setText("")
    window.grad_output_edit.editingFinished.emit()
    assert len(said) == 1
    return said[0]


@pytest.mark.parametrize("text", REFUSED, ids=["5000 digits", "deep", "not JSON", "NaN", "ragged", "bool", "string"])
def test_a_refused_grad_output_says_why_blanks_the_preview_and_is_not_exported(window, qtbot, tmp_path: Path,
                                                                                text: str) -> None:  # noqa: ANN001
    window.open_file(str(EXAMPLE))
    dialog = export_dialog.ExportDialog(window)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.preview.toPlainText().startswith("# GradCanvas export"), timeout=RESULT_TIMEOUT_MS)
    dialog.grad_output.setText(text)
    dialog.grad_output.editingFinished.emit()
    said = _toolbar_refusal(window, text)
    assert dialog.problem.text() == said and "\n" not in said and said.startswith("grad-output")
    assert dialog.preview.toPlainText() == ""
    dialog._on_task(export_dialog.PREVIEW_TASK, ("ok", "# an older preview"))  # one still being made
    assert dialog.preview.toPlainText() == ""
    out = tmp_path / "out.py"
    dialog.path.setText(str(out))
    dialog._export()  # what the Export button calls
    assert dialog.problem.text() == said and dialog.result() != dialog.DialogCode.Accepted
    window.computer.wait(RESULT_TIMEOUT_MS)
    assert not out.exists()
    dialog.grad_output.setText("")  # fixed: the preview comes back, the problem goes
    dialog.grad_output.editingFinished.emit()
    assert dialog.problem.text() == ""
    qtbot.waitUntil(lambda: dialog.preview.toPlainText().startswith("# GradCanvas export"), timeout=RESULT_TIMEOUT_MS)


def test_export_without_a_file_name_says_so(window, qtbot) -> None:  # noqa: ANN001
    window.open_file(str(EXAMPLE))
    dialog = export_dialog.ExportDialog(window)
    qtbot.addWidget(dialog)
    dialog.path.setText("  ")
    dialog._export()
    assert dialog.problem.text() == "give the file to export to (.py or .ipynb)"
