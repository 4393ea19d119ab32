"""Saving the document to its file without losing anybody's work.

The document's path is absolute (os.path.abspath: a symlink stays as the user named it), so a
path given relative to the folder the app was started from still names the same file after a
crash recovery started elsewhere. The window remembers the file as it last read or wrote it
(inode, size, mtime): Save asks before writing over a file another program changed since —
Overwrite, Save As… or Cancel (window.ask_overwrite; tests replace it with a stub that answers).
The autosave keeps that stamp beside the document, so after a crash recovery Save still knows.
A file deleted meanwhile is just written again: nothing of anybody's is lost by that.
When the app becomes active again and the file changed meanwhile, it offers to reload it (once
per version of the file: "Keep this version" is not asked again until the file changes again).
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from graph.fileformat import save
from graph.safetext import visible

OVERWRITE, SAVE_AS, CANCEL = "overwrite", "save as", "cancel"  # window.ask_overwrite's answers

Stamp = tuple[int, int, int]


def absolute(path: str | os.PathLike) -> str:
    return os.path.abspath(os.fspath(path))


def file_stamp(path: str | os.PathLike) -> Stamp | None:
    """What tells one version of a file from another (None: no such file)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class FileGuard(QObject):
    """The file as this window last read or wrote it, and the save that checks it first (a
    QObject child of the window: the app's state signal lets go of it with the window)."""

    def __init__(self, window) -> None:  # noqa: ANN001 - a gui.window.MainWindow
        super().__init__(window)
        self.window = window
        self.path: str | None = None
        self.stamp: Stamp | None = None
        self.offered: Stamp | None = None  # the version of the file a reload was last offered for
        self.pending = False  # activated while a dialog or a run was in the way: offer when it is not

    def read(self, path: str, stamp: Stamp | None) -> None:
        """The document was opened from path, as it was at `stamp` (taken before reading it)."""
        self.path, self.stamp = path, stamp

    def changed_on_disk(self, path: str) -> bool:
        """Another program wrote this file since this window read or wrote it. A file this
        window never read (a recovered document's) or one deleted since is not a change."""
        now = file_stamp(path)
        return path == self.path and None not in (self.stamp, now) and now != self.stamp

    def save(self, path: str) -> bool:
        """Save (Ctrl+S) to the document's own file, asking first if another program changed it."""
        if self.changed_on_disk(path):
            answer = self.window.ask_overwrite(path)
            if answer == SAVE_AS:
                return self.window.save_as()
            if answer != OVERWRITE:
                self.window.say(f"not saved: {Path(path).name} was changed by another program")
                return False
        return self.save_to(path)

    def save_to(self, path: str) -> bool:
        """Write the document to path (no question asked) and make it the document's file."""
        w = self.window
        path = absolute(path)
        # Saving writes the document as it is: positions the file lacked were filled in by
        # Document.reset when it was opened (not here, behind the undo stack's back).
        graph = w.doc.graph  # the file keeps the target and the grad-output given for it
        graph.target = w.doc.target
        graph.grad_output = w.grad_output if w.doc.target is not None else None
        try:
            save(graph, path)
        except OSError as e:
            w.report_error("Cannot save", f"{path}: {e.strerror or e}")
            return False
        self.path, self.stamp = path, file_stamp(path)
        w.doc.path = path
        w.doc.undo_stack.setClean()
        w.recent.add(path)  # File > Open Recent (gui.recent)
        w._update_title()  # noqa: SLF001
        w.say(f"saved {path}")
        return True

    def ask_overwrite(self, path: str) -> str:
        box = QMessageBox(QMessageBox.Icon.Warning, "File changed on disk",
                          f"{visible(Path(path).name)} was changed by another program since it was "
                          f"opened or saved here. Saving now replaces those changes.\n\n{visible(path)}",
                          QMessageBox.StandardButton.NoButton, self.window)
        overwrite = box.addButton("Overwrite", QMessageBox.ButtonRole.DestructiveRole)
        save_as = box.addButton("Save As…", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setTextFormat(Qt.TextFormat.PlainText)  # a file name is never markup
        box.setDefaultButton(save_as)  # Enter keeps both versions
        box.exec()
        return {overwrite: OVERWRITE, save_as: SAVE_AS}.get(box.clickedButton(), CANCEL)


    def offer_reload(self) -> bool:
        """The app is active again: if another program changed the document's file meanwhile,
        offer to reload it (once per version of it). True: reloaded."""
        w, path = self.window, self.window.doc.path
        busy = QApplication.activeModalWidget() is not None or w.training.running is not None
        self.pending = busy
        if path is None or busy or not self.changed_on_disk(path):  # busy: asked once it is not
            return False
        now = file_stamp(path)
        if now == self.offered:
            return False
        self.offered = now
        if not w.ask_reload(path, not w.doc.undo_stack.isClean()):
            w.say(f"{Path(path).name} was changed by another program; kept this version (Save will ask)")
            return False
        return w.open_file(path, ask=False)  # the answer was the question about unsaved changes

    def ask_reload(self, path: str, modified: bool) -> bool:
        lost = ("Reloading discards the changes made here since the last save." if modified
                else "Nothing was changed here since it was opened or saved.")
        box = QMessageBox(QMessageBox.Icon.Question, "File changed on disk",
                          f"{visible(Path(path).name)} was changed by another program. Reload it?\n\n{lost}"
                          f"\n\n{visible(path)}", QMessageBox.StandardButton.NoButton, self.window)
        reload = box.addButton("Reload", QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton("Keep this version", QMessageBox.ButtonRole.RejectRole)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setDefaultButton(keep if modified else reload)  # Enter never drops unsaved work
        box.exec()
        return box.clickedButton() is reload

    def _on_app_state(self, state: Qt.ApplicationState) -> None:
        if state == Qt.ApplicationState.ApplicationActive and self.window.isVisible():
            self.offer_reload()

    def _retry(self, *_changed: object) -> None:
        """A run ended or the focus moved (a dialog closed): the offer held back comes now."""
        if self.pending and QApplication.applicationState() == Qt.ApplicationState.ApplicationActive:
            QTimer.singleShot(0, self.offer_reload)  # after the run's outcome or the dialog's close

    def document_stamp(self) -> Stamp | None:
        """The stamp of the document's own file as this window knows it, for the recovery file."""
        return self.stamp if self.path is not None and self.path == self.window.doc.path else None


def install(window) -> None:  # noqa: ANN001 - a gui.window.MainWindow
    window.file_guard = FileGuard(window)
    window.ask_overwrite = window.file_guard.ask_overwrite
    window.autosave.file_stamp = window.file_guard.document_stamp  # a crash keeps what Save checks
    window.ask_reload = window.file_guard.ask_reload
    guard = window.file_guard
    QGuiApplication.instance().applicationStateChanged.connect(guard._on_app_state)  # noqa: SLF001
    QApplication.instance().focusChanged.connect(guard._retry)  # noqa: SLF001 - a dialog closed
    window.training.runFinished.connect(guard._retry)  # noqa: SLF001
