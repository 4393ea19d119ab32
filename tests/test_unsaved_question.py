"""The unsaved-changes question names the file it is about, as plain text (a file name is never
read as markup), and its buttons answer as they say."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox


@pytest.mark.parametrize(("name", "shown"), [(None, "the untitled graph"), ("mine.json", "“mine.json”"),
                                             ("<b>bold.json", "“<b>bold.json”")])
def test_the_question_names_the_file(qtbot, window, tmp_path: Path, name: str | None, shown: str) -> None:  # noqa: ANN001
    w = window
    if name is not None:
        w.doc.path = str(tmp_path / name)
    seen = {}

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, answer)
            return
        seen["text"], seen["format"] = box.text(), box.textFormat()
        box.button(QMessageBox.StandardButton.Cancel).click()

    QTimer.singleShot(0, answer)
    assert w._ask_unsaved() == QMessageBox.StandardButton.Cancel  # noqa: SLF001 - the real dialog
    assert seen == {"text": f"Save the changes to {shown} first?", "format": Qt.TextFormat.PlainText}
