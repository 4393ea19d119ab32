"""`gradcanvas render`: draw the main window with a graph and its overlays to a PNG, offscreen."""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from pathlib import Path

from graph.errors import GraphError
from graph.fileformat import load


class RenderError(GraphError):
    pass


def parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{2,5})\s*[xX×]\s*(\d{2,5})\s*", text)
    if not m or not (200 <= int(m[1]) <= 8000 and 200 <= int(m[2]) <= 8000):
        raise RenderError(f"--size must be WxH with each between 200 and 8000, not {text!r}")
    return int(m[1]), int(m[2])


def render_window(file: str, out: str, target: str | None, size: tuple[int, int],
                  timeout_s: float = 60.0) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")  # offscreen's size-hint chatter
    graph = load(file)
    if target is not None and target not in graph.nodes:
        raise RenderError(f"no node {target!r} in {file}")
    from PySide6.QtCore import QSettings

    from gui.app import application
    from gui.window import MainWindow

    app = application()
    with tempfile.TemporaryDirectory() as tmp:
        # A throwaway settings file: rendering must not touch the user's recent files.
        settings = QSettings(str(Path(tmp) / "render.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings)
        window.resize(*size)
        window.show()
        window.doc.reset(graph, file)
        sinks = graph.sinks()
        window.doc.set_target(target or (sinks[0] if len(sinks) == 1 else None))
        app.processEvents()
        window.view.fit_graph()
        if window.doc.target is not None:
            window.recompute()
            deadline = time.monotonic() + timeout_s
            while window.last_result is None and time.monotonic() < deadline:
                window.computer.wait(100)
                app.processEvents()
            if window.last_result is None:
                raise RenderError(f"computing {file} took longer than {timeout_s:.0f} s")
            window.scene.nodes[window.doc.target].setSelected(True)
            window.computer.wait(int(timeout_s * 1000))  # the inspector's slice plot, if any
            app.processEvents()
        window.view.fit_graph()
        app.processEvents()
        image = window.grab()
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        if not image.save(out, "PNG"):
            raise RenderError(f"cannot write {out}")
        window.doc.undo_stack.setClean()
        window.close()


def render(args: argparse.Namespace) -> int:
    size = parse_size(args.size)
    render_window(args.file, args.output, args.target, size)
    print(f"wrote {args.output} ({size[0]}x{size[1]})")
    return 0
