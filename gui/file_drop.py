"""Files dropped on the window from a file manager.

One local .json file opens as File > Open opens it (MainWindow.open_file, which first asks about
unsaved changes), or, if it is a lesson, as File > Lessons > Open lesson file… does. One .py
opens File > Import Python…'s dialog on it (its definitions are listed without running it;
importing runs it, only once the user picks one and accepts). Anything else is refused while it
is dragged, so the drag ends in "ignore" and the file manager keeps its file: several files,
another kind of file, a remote address — each with a status line saying why; a drag with no
files (text, a palette op outside the canvas) quietly.

The drop is taken as a copy (never a move: a file manager would delete its file) and opened on
the next turn of the event loop, after the drag has finished: asking about unsaved changes
inside the drop would hold the file manager's drag until the user answered. What the drag
carries is read once, as it enters (FileDrop.dragging).

One event filter on the window (over the docks) and on the canvas's viewport, before the canvas
sees the drag (its own drags are palette ops, gui.canvas.view).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QMimeData, QObject, Qt, QTimer

from graph.lessons import FORMAT as LESSON_FORMAT
from graph.safetext import visible

if TYPE_CHECKING:
    from gui.window import MainWindow

GRAPH_SUFFIX = ".json"  # graphs and lessons alike
PYTHON_SUFFIX = ".py"  # a model or function to import
SNIFF_BYTES = 64 * 1024  # how much of a .json file is read to tell a lesson from a graph
_LESSON = re.compile(rb'"format"\s*:\s*"' + re.escape(LESSON_FORMAT.encode()) + rb'"')
_DRAGS = (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop)  # a leave: nothing to do


def verdict(data: QMimeData) -> tuple[str | None, str | None]:
    """(path, None) for a drag of one local .json or .py file, else (None, why it is refused): a
    status line, or None for a drag that carries no files at all."""
    urls = data.urls() if data.hasUrls() else []
    if not urls:
        return None, None
    if len(urls) != 1:
        return None, f"drop one graph file (.json) to open it, not {len(urls)} files"
    url = urls[0]
    if not url.isLocalFile():
        return None, f"cannot open {visible(url.toDisplayString())}: only a file on this computer opens by dropping"
    path = url.toLocalFile()
    name = visible(Path(path).name)
    suffix = Path(path).suffix.lower()
    if suffix in (GRAPH_SUFFIX, PYTHON_SUFFIX):
        return path, None
    return None, f"cannot open {name} by dropping it: graphs and lessons are .json files, models .py"


def is_lesson(path: str) -> bool:
    """Whether a .json file says it is a lesson (its format field, near its start as the app
    writes it). A lesson not found so opens as a graph, which says the format is a lesson's."""
    try:
        with open(path, "rb") as f:
            return _LESSON.search(f.read(SNIFF_BYTES)) is not None
    except OSError:
        return False  # opening it as a graph says what is wrong


def open_dropped(window: MainWindow, path: str) -> bool:
    """Open a dropped file through the window's own open path (each asks about unsaved changes);
    a .py goes to File > Import Python…'s dialog, which lists its definitions and runs nothing
    until one is chosen. Returns whether a document opened (an import ends later)."""
    if Path(path).suffix.lower() == PYTHON_SUFFIX:
        from gui.import_dialog import importer

        importer(window).ask_file(path)
        return False
    if is_lesson(path):
        return window.lesson_dock.open_file(path)
    return window.open_file(path)


def copy_action(possible: Qt.DropAction) -> Qt.DropAction | None:
    """Copy if the source allows it, else Link; never Move (the source would delete its file)."""
    for action in (Qt.DropAction.CopyAction, Qt.DropAction.LinkAction):
        if possible & action:
            return action
    return None


class FileDrop(QObject):
    """The event filter (see the module doc)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.opening: list[str] = []  # dropped, to be opened on the next turn of the event loop
        # What the drag now over the window carries, read once as it enters: under X11 each read
        # asks the source, and one that quits as its drag ends (Qt's QDrag.exec returns before
        # the drop is read) has nothing left to give when the drop comes.
        self.dragging: tuple[str | None, str | None] | None = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() not in _DRAGS:
            return False
        if not event.mimeData().hasUrls():
            return False  # not a file: the canvas takes palette ops, the window ignores the rest
        if event.type() == QEvent.Type.DragEnter or self.dragging is None:
            self.dragging = verdict(event.mimeData())
            if self.dragging[1] is not None:
                self.w.say(self.dragging[1])
        path, _why = self.dragging
        action = copy_action(event.possibleActions())
        if path is None or action is None:
            event.ignore()
            return True
        event.setDropAction(action)
        event.accept()
        if event.type() == QEvent.Type.Drop:
            self.opening.append(path)
            QTimer.singleShot(0, self._open_next)
        return True

    def _open_next(self) -> None:
        if self.opening:
            open_dropped(self.w, self.opening.pop(0))


def install(window: MainWindow) -> FileDrop:
    """Take file drops anywhere on the window: over the docks and over the canvas."""
    drop = window.file_drop = FileDrop(window)
    window.setAcceptDrops(True)
    window.installEventFilter(drop)
    window.view.viewport().installEventFilter(drop)
    return drop
