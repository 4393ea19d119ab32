"""Start the desktop app. torch is not imported here: the window shows first.

Imports among gui modules go one way: app -> render -> window, and both app and render get the
QApplication from gui.qtapp (tests/test_layering.py keeps the graph acyclic).
"""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QTimer

from gui.qtapp import application


def has_display() -> bool:
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(file: str | None = None) -> int:
    if not has_display():
        return _headless(file)
    app = application()
    from gui.window import MainWindow

    window = MainWindow()
    window.show()
    if file is not None:
        QTimer.singleShot(0, lambda: window.open_file(file))
    return app.exec()


def _headless(file: str | None) -> int:
    """No screen here (a server, CI): draw the window to a PNG instead and say where it is.

    The PNG goes to a new file in the system's temporary folder (never over a file of the
    user's, e.g. a ./graph.png that happens to share the graph's name).
    """
    import tempfile
    from pathlib import Path

    from graph.errors import GraphError
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
        render_window(file, out, None, (1400, 900))
    except GraphError as e:
        os.unlink(out)
        print(f"error: {e.message}", file=sys.stderr)
        return 1
    print(f"Drew the window with {file} to {out} instead; open that image, or run gradcanvas "
          "in a desktop session for the interactive app.")
    return 0
