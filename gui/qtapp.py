"""The one QApplication, shared by the desktop app (gui.app) and offscreen drawing (gui.render).

It lives here, below both, so that neither has to import the other to get it.
"""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QWidget
from shiboken6 import Shiboken


def application() -> QApplication:
    """The process's QApplication, made on first use, with the names QSettings files go under."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("GradCanvas")
    app.setOrganizationName("GradCanvas")
    return app


def delete_closed_window(window: QWidget) -> None:
    """Delete a closed top-level window now, children in Qt's order. Left to Python's cyclic GC,
    the wrapper of an undo command it owns may be freed first, and ~QUndoStack then deletes that
    command a second time (a segfault in QUndoStack::clear)."""
    Shiboken.delete(window)
