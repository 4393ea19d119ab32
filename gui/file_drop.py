"""Files dropped on the window from a file manager, and which .json files are lessons.

One local .json file opens as File > Open opens it: MainWindow.open_file, which opens a lesson
(is_lesson, the one place that tells) in the Lesson dock, as File > Lessons > Open lesson file…
does, and a graph as a graph, each asking about unsaved changes first. One .py
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

import json
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QMimeData, QObject, Qt, QTimer

from graph.lessons import FORMAT as LESSON_FORMAT
from graph.lessons import MAX_LESSON_BYTES
from graph.safetext import visible

if TYPE_CHECKING:
    from gui.window import MainWindow

GRAPH_SUFFIX = ".json"  # graphs and lessons alike
PYTHON_SUFFIX = ".py"  # a model or function to import
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
    """Whether a file is a lesson: a JSON object whose "format" field, read as data wherever it
    stands, is the lesson format. A malformed lesson is one too (the lesson loader then says what
    is wrong with it); text that is not JSON is not (the graph loader says so as well).

    Read only if it could be one: a regular file (a FIFO would wait for a writer) no larger than
    a lesson may be, so a big graph is read once, by the graph loader; and parsed only if the
    format's name is in it (or a \\u escape, which could spell it)."""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_LESSON_BYTES:
            return False
        with open(path, "rb") as f:
            data = f.read(MAX_LESSON_BYTES + 1)
    except OSError:
        return False  # opening it as a graph says what is wrong
    if LESSON_FORMAT.encode() not in data and b"\\u" not in data:
        return False
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and doc.get("format") == LESSON_FORMAT


def open_lesson(window: MainWindow, path: str) -> bool:
    """A lesson file opened by its path (File > Open, Open Recent, a drop, `gradcanvas FILE`): in
    the Lesson dock, which asks about a run and unsaved changes first; listed in Open Recent."""
    opened = window.lesson_dock.open_file(path)
    if opened:
        window.recent.add(path)
    return opened


def open_dropped(window: MainWindow, path: str) -> bool:
    """Open a dropped file as File > Open does (a lesson as a lesson; each asks about unsaved
    changes); a .py goes to File > Import Python…'s dialog, which lists its definitions and runs
    nothing until one is chosen. Returns whether a document opened (an import ends later)."""
    if Path(path).suffix.lower() == PYTHON_SUFFIX:
        from gui.import_dialog import importer

        importer(window).ask_file(path)
        return False
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
