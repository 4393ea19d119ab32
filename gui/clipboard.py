"""Copy, paste and duplicate on the canvas. A paste lands beside the copied nodes, one step
(+40, +40) further for each copy already there: pasting the same clipboard again, or
duplicating the same selection again, never puts copies exactly on top of nodes (or group
frames) already on the canvas, as desktop editors offset each successive paste."""

from __future__ import annotations

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QGuiApplication

from graph.edits import usable_pos
from graph.errors import GraphError
from graph.fileformat import loads
from graph.model import Graph

MIME = "application/x-gradcanvas+json"
PASTE_STEP = (40.0, 40.0)
MAX_STEPS = 1000  # then it goes on the last spot tried: overlap beats refusing the paste


def _spot(pos: tuple[float, float]) -> tuple[float, float]:
    return round(pos[0], 1), round(pos[1], 1)


def free_offset(graph: Graph, text: str, step: tuple[float, float]) -> tuple[float, float]:
    """The first of step, 2·step, 3·step, … at which no pasted node lands on a node's spot."""
    try:
        fragment = loads(text)
    except GraphError:
        return step  # the paste itself says what is wrong
    taken = {_spot(graph.position(n)) for n in graph.nodes if usable_pos(graph.position(n))}
    copied = [fragment.position(n) if usable_pos(fragment.position(n)) else (0.0, 0.0) for n in fragment.nodes]
    for k in range(1, MAX_STEPS + 1):
        offset = (step[0] * k, step[1] * k)
        if not any(_spot((x + offset[0], y + offset[1])) in taken for x, y in copied):
            break
    return offset


def copy(window) -> None:  # noqa: ANN001 - a gui.window.MainWindow
    ids = window.scene.selected_node_ids()
    if not ids:
        return
    text = window.doc.copy_text(ids)
    data = QMimeData()
    data.setData(MIME, text.encode("utf-8"))
    data.setText(text)
    QGuiApplication.clipboard().setMimeData(data)


def paste(window) -> None:  # noqa: ANN001
    data = QGuiApplication.clipboard().mimeData()
    text = bytes(data.data(MIME)).decode("utf-8", "replace") if data.hasFormat(MIME) else data.text()
    paste_text(window, text)


def paste_text(window, text: str, step: tuple[float, float] = PASTE_STEP) -> None:  # noqa: ANN001
    """Paste a file-format fragment beside where it was copied, on free spots; select it."""
    if not text.strip():
        return
    try:
        new_ids = window.doc.paste(text, free_offset(window.doc.graph, text, step))
    except GraphError as e:
        window.say(f"cannot paste: {e.message}")
        return
    window.scene.select_nodes(new_ids)


def duplicate(window) -> None:  # noqa: ANN001
    ids = window.scene.selected_node_ids()
    if ids:  # the copy goes below the original, never onto it (CanvasScene.duplicate_offset)
        paste_text(window, window.doc.copy_text(ids), window.scene.duplicate_offset(ids))
