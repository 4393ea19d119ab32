"""The text fields beside the canvas (the inspector's, the grad-output box, the palette filter),
made to behave as a desktop user expects next to a document:

- Esc takes back what was typed and not yet entered: the field shows again what it showed
  (`typingTakenBack`: a message about the typed text goes too). With nothing typed, Esc goes
  on to the window (Cancel a compute).
- Undo and Redo (Ctrl+Z, Ctrl+Shift+Z, Ctrl+Y) undo the field's own typing while it has some;
  with none, they go to the document's history, as they do from the canvas. A plain QLineEdit
  takes them and does nothing.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QLineEdit

REDO_KEYS = (QKeySequence("Ctrl+Y"),)  # the window's second Redo key, which Linux's Redo lacks


def leaves_undo_to_document(edit: QLineEdit, event: QKeyEvent) -> bool:
    """On a ShortcutOverride: Undo or Redo with nothing of the field's own to undo or redo is
    ignored, for the window's (the document's) to act; True when so. Every text field beside the
    canvas calls this (FieldEdit, the expression bar): one rule."""
    if event.matches(QKeySequence.StandardKey.Undo) and not edit.isUndoAvailable():
        event.ignore()
        return True
    redo = event.matches(QKeySequence.StandardKey.Redo) or any(
        QKeySequence(event.keyCombination()).matches(k) == QKeySequence.SequenceMatch.ExactMatch for k in REDO_KEYS)
    if redo and not edit.isRedoAvailable():
        event.ignore()
        return True
    return False


class FieldEdit(QLineEdit):
    """A QLineEdit whose `shown` text (the last the program set) is what Esc puts back."""

    typingTakenBack = Signal()  # Esc put the shown text back

    def __init__(self, text: str = "", parent=None) -> None:  # noqa: ANN001 - a QWidget
        super().__init__(text, parent)
        self.shown = text

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self.shown = text
        super().setText(text)
        self.setCursorPosition(0)  # a long value shows its beginning, not its end

    def typed(self) -> bool:
        """Whether the field holds text typed and not yet entered."""
        return self.text() != self.shown

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride:
            if event.key() == Qt.Key.Key_Escape:
                event.setAccepted(self.typed())  # the field's Esc, else the window's
                return True
            if leaves_undo_to_document(self, event):
                return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Escape and self.typed():
            super().setText(self.shown)
            self.selectAll()
            event.accept()
            self.typingTakenBack.emit()
            return
        super().keyPressEvent(event)


def enter_typing() -> str | None:
    """Enter what is typed in the focused field and not yet entered, as Enter would: before a
    save, a close, Compute or an export, so that what is written or computed is what the user
    sees. A refused value stays where it was typed, marked, as Enter leaves it; then this says
    so (None: nothing typed, or it was entered), for the caller not to go on as if it were."""
    from PySide6.QtWidgets import QAbstractSpinBox, QApplication

    from gui.canvas.editor import ValueEditor

    focused = QApplication.focusWidget()
    if isinstance(focused, FieldEdit) and focused.typed():
        focused.editingFinished.emit()
        still = focused.typed() and focused.text()
    elif isinstance(focused, ValueEditor):  # the canvas's in-place value editor
        focused.returnPressed.emit()
        still = focused.isVisible() and focused.text()  # it closes once the value is set
    else:
        if isinstance(focused, QAbstractSpinBox):  # an int attribute, entered on Enter only
            focused.interpretText()
        return None
    from gui.inspector.style import elide  # here: the inspector's form imports this module

    return f"the value typed, {elide(still, 40)}, is not valid" if still else None


def typing_entered(window) -> bool:  # noqa: ANN001 - a gui.window.MainWindow
    """Before a save: enter what is typed; False, and why said, when it was refused (then
    nothing is saved: the file would lack what the user sees typed)."""
    refused = enter_typing()
    if refused is not None:
        window.report_error("Not saved", f"{refused}: correct it and press Enter, or press Esc to take it back")
    return refused is None
