"""Copy, paste and duplicate on the canvas. A paste lands beside the copied nodes, one step
(+40, +40) further for each copy already there: pasting the same clipboard again, or
duplicating the same selection again, never puts copies exactly on top of nodes (or group
frames) already on the canvas, as desktop editors offset each successive paste."""

from __future__ import annotations

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QGuiApplication

from graph.edits import paste_positions, usable_pos
from graph.errors import GraphError
from graph.fileformat import loads
from graph.model import Graph

MIME = "application/x-gradcanvas+json"
PASTE_STEP = (40.0, 40.0)
MAX_STEPS = 1000  # then it goes on the last spot tried: overlap beats refusing the paste


def _spot(pos: tuple[float, float]) -> tuple[float, float]:
    return round(pos[0], 1), round(pos[1], 1)


def free_offset(graph: Graph, text: str, step: tuple[float, float], base: tuple[float, float] = (0.0, 0.0),
                first: int = 1) -> tuple[float, float]:
    """The first of base + step, base + 2·step, … (from base + first·step) at which no pasted
    node lands on a node's spot."""
    try:
        fragment = loads(text)
    except GraphError:
        return step  # the paste itself says what is wrong
    taken = {_spot(graph.position(n)) for n in graph.nodes if usable_pos(graph.position(n))}
    copied = paste_positions(fragment).values()  # where the paste puts them, before the offset
    for k in range(first, MAX_STEPS + 1):
        offset = (base[0] + step[0] * k, base[1] + step[1] * k)
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


def _clipboard_text() -> str:
    data = QGuiApplication.clipboard().mimeData()
    if data is None:
        return ""
    return bytes(data.data(MIME)).decode("utf-8", "replace") if data.hasFormat(MIME) else data.text()


def has_graph_text() -> bool:
    """Whether the clipboard holds something a paste would try (copied nodes, or any text)."""
    return bool(_clipboard_text().strip())


def paste(window) -> None:  # noqa: ANN001
    paste_text(window, _clipboard_text())


def paste_at(window, pos: tuple[float, float]) -> None:  # noqa: ANN001
    """The canvas menu's Paste here: the copied nodes' top-left corner where the menu opened
    (then on free spots, as any paste)."""
    text = _clipboard_text()
    try:
        fragment = loads(text)
    except GraphError:
        paste_text(window, text)  # it says what is wrong
        return
    spots = paste_positions(fragment).values()
    left, top = (min(x for x, _ in spots), min(y for _, y in spots)) if spots else (0.0, 0.0)
    offset = free_offset(window.doc.graph, text, PASTE_STEP, (round(pos[0] - left, 1), round(pos[1] - top, 1)), 0)
    try:
        new_ids = window.doc.paste(text, offset)
    except GraphError as e:
        window.say(f"cannot paste: {e.message}")
        return
    window.scene.select_nodes(new_ids)


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
