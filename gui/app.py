"""Start the desktop app. torch is not imported here: the window shows first.

Imports among gui modules go one way: app -> render -> window, and both app and render get the
QApplication from gui.qtapp (tests/test_layering.py keeps the graph acyclic).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# The window's non-Qt modules are imported before PySide6 (gui.qtapp): PySide6's import hook
# reads the source of every module imported after it, looking for "PySide6" (~0.2 ms a module,
# ~190 modules: numpy, graph, autograd_bridge), which costs a launch 60-100 ms.
import numpy  # noqa: F401 - see above

import autograd_bridge.compute  # noqa: F401 - see above
from gui.qtapp import application, delete_closed_window


def has_display() -> bool:
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(file: str | None = None) -> int:
    if not has_display():
        return _headless(file)
    app = application()
    window = start_window(file)
    return leave(window, app.exec())


def leave(window, rc: int) -> int:  # noqa: ANN001 - a MainWindow
    """After the event loop: return rc, or end the process at once while a compute still runs.

    Closing never waits on a compute, and torch cannot be stopped mid-op: Python's shutdown
    would wait for it, or end the thread under it (a C++ `terminate`, an abort). The window
    has closed cleanly by now (its recovery file removed), so only the settings are flushed.
    """
    if not window.computer.running():
        delete_closed_window(window)
        return rc
    window.settings.sync()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)


def start_window(file: str | None = None, settings: object = None, recovery_dir: str | None = None):  # noqa: ANN201 - a MainWindow
    """Show the main window; once the event loop runs, offer what a crashed session autosaved
    (gui.recovery), then open `file` (not when what was recovered is that file's changes).
    Tests pass their own settings and recovery folder, and replace window.ask_recover before the
    event loop runs."""
    from PySide6.QtCore import QTimer

    from gui.window import MainWindow

    window = MainWindow(settings, recovery_dir)
    window.show()

    def after_start() -> None:
        recovered = window.offer_recovery()
        if recovered and file is not None and same_file(window.doc.path, file):
            return  # FILE with its recovered changes: reopening it would ask to drop them
        if file is not None:
            window.open_file(file)  # asks first if a recovered document is open

    QTimer.singleShot(0, after_start)
    return window


def same_file(path: str | None, file: str) -> bool:
    """Whether `path` names `file` (typed relative, or through a link, it is the same file)."""
    return path is not None and Path(path).resolve() == Path(file).resolve()


def _headless(file: str | None) -> int:
    """No screen here (a server, CI): draw the window to a PNG instead and say where it is.

    The PNG goes to a new file in the system's temporary folder (never over a file of the
    user's, e.g. a ./graph.png that happens to share the graph's name).
    """
    import tempfile
    from pathlib import Path

    from graph.errors import GraphError
    from gui.file_drop import is_lesson
    from gui.render import render_window

    print("gradcanvas: no display to open a window on (DISPLAY is not set).", file=sys.stderr)
    if file is None:
        print("Run it in a desktop session, or draw a graph with `gradcanvas render FILE -o out.png`.",
              file=sys.stderr)
        return 1
    try:
        fd, out = tempfile.mkstemp(prefix=f"{Path(file).stem[:100]}-", suffix=".png")
    except OSError as e:  # no writable temporary folder
        print(f"error: cannot make a PNG in {tempfile.gettempdir()}: {e.strerror or e}", file=sys.stderr)
        return 1
    os.close(fd)
    try:
        refused = render_window(file, out, None, (1400, 900), as_lesson=is_lesson(file))
    except GraphError as e:
        os.unlink(out)
        print(f"error: {e.message}", file=sys.stderr)
        return 1
    if refused is not None:  # drawn uncomputed, the refusal on it: say why the numbers are missing
        print(f"note: not computed: {refused}", file=sys.stderr)
    print(f"Drew the window with {file} to {out} instead; open that image, or run gradcanvas "
          "in a desktop session for the interactive app.")
    return 0
