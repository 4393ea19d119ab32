"""`gradcanvas render`: draw the main window with a graph and its overlays to a PNG, offscreen."""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

import PySide6.QtWidgets  # noqa: F401 - Qt loads with this module: where it cannot, cli.cmd_render says so in one line

from graph.errors import GraphError
from graph.fileformat import load, write_bytes_atomic
from graph.safetext import visible


class RenderError(GraphError):
    pass


def parse_size(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d{2,5})\s*[xX×]\s*(\d{2,5})\s*", text)
    if not m or not (200 <= int(m[1]) <= 8000 and 200 <= int(m[2]) <= 8000):
        raise RenderError(f"--size must be WxH with each between 200 and 8000, not {text!r}")
    return int(m[1]), int(m[2])


def render_window(file: str, out: str, target: str | None, size: tuple[int, int],
                  timeout_s: float = 60.0, memory_limit: str | None = None, as_lesson: bool = False) -> str | None:
    """Draw the window, exactly size[0] x size[1] pixels, to the PNG file out (written atomically:
    a reader never sees half an image, and a failed render leaves an older out as it was).
    as_lesson: the file is a lesson, drawn as the app opens one (the Lesson dock at its first step).

    A graph estimated over the memory limit (memory_limit as the window's setting takes it: a
    size, "none", or None for the default) is drawn uncomputed, the refusal on it, as the window
    shows it when told not to run anyway; nobody is asked. Returns that refusal, else None."""
    if out != "-" and not out.lower().endswith(".png"):
        raise RenderError(f"the output must be a .png file, not {out!r}")
    if memory_limit is not None:
        from autograd_bridge.budget import parse_size

        try:
            parse_size(memory_limit)
        except ValueError as e:
            raise RenderError(f"--memory-limit: {e}") from None
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")  # offscreen's size-hint chatter
    lesson = None
    if as_lesson:
        from graph.lessons import load as load_lesson

        lesson = load_lesson(file)
        graph = lesson.graph
    else:
        graph = load(file)
    if target is not None and target not in graph.nodes:
        raise RenderError(f"no node {target!r} in {file}")
    from PySide6.QtCore import QSettings

    from gui.memory import SETTING
    from gui.qtapp import application, delete_closed_window
    from gui.window import MainWindow

    app = application()
    refusal = None
    with tempfile.TemporaryDirectory() as tmp:
        # A throwaway settings file: rendering must not touch the user's recent files.
        settings = QSettings(str(Path(tmp) / "render.ini"), QSettings.Format.IniFormat)
        if memory_limit is not None:
            settings.setValue(SETTING, memory_limit)
        window = MainWindow(settings)
        window.memory.never_ask()
        fit_window(window, size)
        window.show()
        if lesson is not None:
            window.lesson_dock.open_lesson(lesson)  # its graph, and its first step's target
        else:
            window.doc.reset(graph, file)
            sinks = graph.sinks()
            # --target, else the file's own target (Document.reset set it), else the only sink
            window.doc.set_target(target or window.doc.target or (sinks[0] if len(sinks) == 1 else None))
        app.processEvents()
        window.view.fit_graph()
        if graph.nodes:  # values are drawn with or without a target, as in the window
            window.recompute()
            deadline = time.monotonic() + timeout_s
            while window.run.current is None and time.monotonic() < deadline:
                window.computer.wait(100)
                app.processEvents()
            if window.run.current is None:
                raise RenderError(f"computing {file} took longer than {timeout_s:.0f} s")
            if window.run.current.over_budget is not None:
                refusal = window.run.current.error
            if window.doc.target is not None and lesson is None:  # a lesson's step chose its selection
                window.scene.nodes[window.doc.target].setSelected(True)
            window.computer.wait(int(timeout_s * 1000))  # the inspector's slice plot, if any
            app.processEvents()
        window.view.fit_graph()
        app.processEvents()
        image = window.grab()
        window.doc.undo_stack.setClean()
        window.close()
        if (image.width(), image.height()) != size:  # a widget refused to shrink: scale, never crop
            from PySide6.QtCore import Qt

            image = image.scaled(*size, Qt.AspectRatioMode.IgnoreAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
        save_png_atomic(image, out)
        delete_closed_window(window)
    return refusal


def fit_window(window, size: tuple[int, int]) -> None:  # noqa: ANN001 - a MainWindow
    """Let the window take exactly this size: the docks' and toolbar's minimum sizes would
    otherwise hold it at about 480 x 280. Below 1100 x 500 the palette and history docks are
    hidden, and below 700 x 400 the inspector too, so that the canvas keeps most of the space."""
    from PySide6.QtWidgets import QDockWidget

    window.setMinimumSize(1, 1)
    narrow = size[0] < 1100 or size[1] < 500
    tiny = size[0] < 700 or size[1] < 400
    for dock in window.findChildren(QDockWidget):
        dock.setMinimumSize(1, 1)
        dock.widget().setMinimumSize(1, 1)
        if tiny or (narrow and dock is not window.inspector_dock):
            dock.hide()
    window.resize(*size)


def save_png_atomic(image, out: str) -> None:  # noqa: ANN001 - a QImage or QPixmap
    """Encode the PNG in memory, then write it the way documents are written (atomically)."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RenderError(f"cannot encode {out} as PNG")
    buffer.close()
    if out == "-":  # -o -: the PNG goes to standard output
        sys.stdout.buffer.write(bytes(data))
        sys.stdout.buffer.flush()
        return
    try:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(out, bytes(data))
    except OSError as e:
        raise RenderError(f"cannot write {out}: {e.strerror or e}") from None


def render(args: argparse.Namespace) -> int:
    size = parse_size(args.size)
    refusal = render_window(args.file, args.output, args.target, size, memory_limit=args.memory_limit)
    if args.output != "-":  # else standard output holds the PNG alone
        print(f"wrote {visible(args.output)} ({size[0]}x{size[1]})")
    if refusal is not None:
        print(f"note: not computed: {visible(refusal)}; raise the limit with --memory-limit", file=sys.stderr)
    return 0
