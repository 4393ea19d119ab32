"""Nothing lost on a crash: the open document autosaved to a recovery file, offered back at the
next start when the window that wrote it did not close.

A few seconds after a change (AUTOSAVE_DELAY_MS, counted from the first change not yet saved,
so a long drag still saves), a modified document is written to `<pid>-<random>.json` in the
app's data folder (QStandardPaths' AppLocalDataLocation / recovery; GRADCANVAS_RECOVERY_DIR or
the window's recovery_dir overrides it), never over the user's file. The file holds the
document in the usual file format (graph, positions, target, grad-output) and the absolute
path it was opened from. A document that is clean again (saved, reopened, closed) has its file removed.

Which files are orphans: each window holds a QLockFile beside its recovery file while it runs;
a lock whose process is gone (SIGKILL, a crash, power loss) can be taken, and its file is then
offered. The GUI thread only copies the graph (nodes are frozen: ~2 ms at 10,000 nodes);
serialising (~50 ms there) and the fsync'd atomic write run on one background thread, in order.

A window never closed when the interpreter ends (a script, or IPython after a non-blocking
gradcanvas.show()) is not a crash but leaves the same unsaved work: at exit its changes are
written and the file kept for the next start (Autosave.exit).
"""

from __future__ import annotations

import atexit
import json
import os
import time
import uuid
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QStandardPaths, QTimer
from shiboken6 import isValid

from graph.fileformat import dumps, loads, write_text_atomic
from graph.model import Graph
from gui.document import Document
from gui.file_guard import Stamp  # the file as the window last read or wrote it

AUTOSAVE_DELAY_MS = 3000
FORMAT = "gradcanvas-recovery"
VERSION = 1


def default_folder() -> Path:
    """GRADCANVAS_RECOVERY_DIR, else <AppLocalDataLocation>/recovery."""
    env = os.environ.get("GRADCANVAS_RECOVERY_DIR")
    if env:
        return Path(env)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return Path(base) / "recovery"


def _lock(file: Path) -> QLockFile:
    lock = QLockFile(str(file.with_suffix(".lock")))
    lock.setStaleLockTime(0)  # stale only when its process is gone, never for its age
    return lock


def encode(graph: Graph, path: str | None, stamp: Stamp | None = None) -> str:
    """The recovery file's text; the path absolute, so a start from another folder finds the file,
    and the file's stamp as the crashed window knew it, so that Save after recovery still asks
    if another program changed the file meanwhile (gui.file_guard)."""
    path = os.path.abspath(path) if path else None
    return json.dumps({"format": FORMAT, "version": VERSION, "path": path, "saved_at": time.time(),
                       "stamp": list(stamp) if path and stamp else None, "document": dumps(graph)},
                      ensure_ascii=False)


@dataclass
class Found:
    """An orphaned recovery file, its lock held by this process until adopted or discarded."""

    file: Path
    lock: QLockFile
    graph: Graph
    path: str | None
    saved_at: float
    stamp: Stamp | None = None  # the file's, as the crashed window last read or wrote it

    def discard(self) -> None:
        self.file.unlink(missing_ok=True)
        self.lock.unlock()  # removes the lock file


def _stamp(raw: object) -> Stamp | None:
    ok = isinstance(raw, list) and len(raw) == 3 and all(type(v) is int for v in raw)
    return tuple(raw) if ok else None


def _read(file: Path) -> tuple[Graph, str | None, float, Stamp | None]:
    """Raises ValueError (bad JSON or not a recovery file), GraphError (a bad document), OSError."""
    raw = json.loads(file.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or raw.get("format") != FORMAT or raw.get("version") != VERSION:
        raise ValueError("not a recovery file of this version")
    path, saved_at = raw.get("path"), raw.get("saved_at")
    if not isinstance(raw.get("document"), str) or not (path is None or isinstance(path, str)):
        raise ValueError("not a recovery file of this version")
    if path is not None and not os.path.isabs(path):  # an older version's: relative to a folder unknown now
        path = None  # so the document comes back untitled, and Save asks where rather than guess
    saved = float(saved_at) if isinstance(saved_at, int | float) else 0.0
    return loads(raw["document"]), path, saved, _stamp(raw.get("stamp")) if path else None


def _sweep_lone_locks(folder: Path) -> None:
    """Remove the locks with no recovery file beside them whose process is gone: a window holds
    its lock from its first write to its close, so one killed while its document was clean
    (its file removed) leaves a lock with nothing to recover. A live window's lock is kept."""
    for lock_file in folder.glob("*.lock"):
        if not lock_file.with_suffix(".json").exists():
            lock = _lock(lock_file)
            if lock.tryLock(0):  # only a stale lock can be taken
                lock.unlock()  # removes it


def claim_orphan(folder: Path, skipped: list[str] | None = None) -> Found | None:
    """The newest recovery file whose window is gone, with its lock taken; None if there is none.
    Unreadable ones are removed (named in `skipped`), and so are locks a gone window left alone."""
    try:
        _sweep_lone_locks(folder)
        files = sorted(folder.glob("*.json"), key=lambda f: f.stat().st_mtime, reverse=True)
    except OSError:
        return None
    for file in files:
        lock = _lock(file)
        if not lock.tryLock(0):
            continue  # its window is still open (this process or another)
        try:
            graph, path, saved_at, stamp = _read(file)
        except Exception as e:  # noqa: BLE001 - any bad file is dropped, never crashes the start
            if skipped is not None:
                skipped.append(f"{file.name}: {type(e).__name__}: {e}")
            file.unlink(missing_ok=True)
            lock.unlock()
            continue
        return Found(file, lock, graph, path, saved_at, stamp)
    return None


# Every Autosave not yet closed, for _at_exit (weak: a window dropped without close() goes).
_open: weakref.WeakSet[Autosave] = weakref.WeakSet()


@atexit.register
def _at_exit() -> None:
    # Registered after PySide6's own exit handler, so it runs before Qt tears the windows down.
    for autosave in list(_open):
        if isValid(autosave):  # not deleted with a window never closed
            autosave.exit()


class Autosave(QObject):
    """Writes one window's document to its own recovery file a few seconds after changes."""

    def __init__(self, doc: Document, grad_output: Callable[[], object], folder: Path | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc, self.grad_output = doc, grad_output
        self.folder = Path(folder) if folder is not None else default_folder()
        self.file = self.folder / f"{os.getpid()}-{uuid.uuid4().hex[:12]}.json"
        self.lock: QLockFile | None = None  # taken at the first write: an untouched window leaves nothing
        self.writes = 0  # finished writes, for tests
        self.closed = False
        self.error: str | None = None  # the last write's failure (a full disk): autosave goes on trying
        self.file_stamp: Callable[[], Stamp | None] = lambda: None  # gui.file_guard sets it
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="autosave")  # in order
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(AUTOSAVE_DELAY_MS)
        self.timer.timeout.connect(self.save_now)
        doc.undo_stack.indexChanged.connect(self.changed)  # every edit, move, undo and redo
        doc.undo_stack.cleanChanged.connect(self._on_clean_changed)
        doc.targetChanged.connect(self.changed)
        doc.graphReset.connect(self.changed)
        _open.add(self)

    def changed(self, *_args: object) -> None:
        if not self.closed and not self.timer.isActive():  # not restarted: a steady stream of edits still saves
            self.timer.start()

    def _on_clean_changed(self, clean: bool) -> None:
        if self.closed:
            return
        if clean:  # saved or reopened: the user's file holds it now
            self.timer.stop()
            self._writer.submit(self._remove)
        else:
            self.changed()

    def save_now(self) -> None:
        """Copy the document here (cheap, nodes are frozen); serialise and write on the writer."""
        self.timer.stop()
        if self.closed:
            return
        if self.doc.undo_stack.isClean():
            self._writer.submit(self._remove)
            return
        if self.lock is None:
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                self.error = f"{self.folder}: {e.strerror or e}"
                return
            lock = _lock(self.file)
            if not lock.tryLock(0):
                self.error = f"{self.file}: cannot lock"
                return
            self.lock = lock
        self._writer.submit(self._write, self._snapshot(), self.doc.path, self.file_stamp())

    def _snapshot(self) -> Graph:
        graph = self.doc.graph.copy()
        graph.target = self.doc.target
        graph.grad_output = self.grad_output() if self.doc.target is not None else None
        return graph

    def _write(self, graph: Graph, path: str | None, stamp: Stamp | None = None) -> None:
        try:
            write_text_atomic(self.file, encode(graph, path, stamp))
            self.error = None
        except (OSError, ValueError) as e:  # ValueError: a value JSON refuses (never from a checked graph)
            self.error = f"{self.file}: {e}"
        self.writes += 1

    def _remove(self) -> None:
        self.file.unlink(missing_ok=True)

    def adopt(self, found: Found) -> None:
        """Go on writing to a recovered file (its lock is ours now) instead of a new one, so the
        recovered state stays on disk until the next autosave replaces it."""
        if self.lock is not None:
            self._writer.submit(self._remove).result()
            self.lock.unlock()
        self.file, self.lock = found.file, found.lock

    def close(self) -> None:
        """The window closed cleanly: remove the file, release the lock, end the writer."""
        self.timer.stop()
        if self.closed:
            return
        self.closed = True
        _open.discard(self)
        self._writer.submit(self._remove)
        self._writer.shutdown(wait=True)  # a small file's write at most: no compute is waited for
        if self.lock is not None:
            self.lock.unlock()
            self.lock = None

    def exit(self) -> None:
        """The interpreter is ending and the window never closed: write unsaved changes now, on
        this thread (the writer may already have been shut down with the interpreter), and keep
        the file for the next start. Closed from here on: tearing the undo stack down later
        says it is clean, which is no save."""
        self.timer.stop()
        if self.closed:
            return
        self.closed = True
        _open.discard(self)
        self._writer.shutdown(wait=True)  # the writes asked for so far come first
        if not self.doc.undo_stack.isClean():
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                self.error = f"{self.folder}: {e.strerror or e}"
                return
            self._write(self._snapshot(), self.doc.path, self.file_stamp())
        if self.lock is not None:  # the process ends: the file is an orphan to offer
            self.lock.unlock()
            self.lock = None

    def flush(self) -> None:
        """Wait for the writes asked for so far (tests)."""
        self._writer.submit(lambda: None).result()
