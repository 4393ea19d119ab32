"""The in-place value editor: a line edit over a tensor node's value line.

Enter sets the value (one undo step, through Document.edit_node); a refused value keeps the
editor open with a red border and says why on the status bar. Esc belongs to the editor: it
closes it and goes no further (not to the canvas, not to the window).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtWidgets import QLineEdit

from graph.errors import GraphError, ValueSpecError
from graph.values import TOO_LONG, USE_INSTEAD, VALUE_TEXT_MAX, parse_leaf_value, value_text
from gui.canvas.items import HEADER_H, NODE_W, PORT_H
from gui.document import Document
from gui.titles import title_of

if TYPE_CHECKING:
    from gui.canvas.view import CanvasView


class ValueEditor(QLineEdit):
    """The editor widget; closes on Esc or when focus leaves it."""

    def close_editor(self) -> None:
        self.hide()
        self.deleteLater()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and event.key() == Qt.Key.Key_Escape:
            event.accept()  # Esc is this editor's, before any shortcut of the window
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802, ANN001
        if event.key() == Qt.Key.Key_Escape:
            self.close_editor()
            event.accept()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event) -> None:  # noqa: N802, ANN001
        super().focusOutEvent(event)
        self.close_editor()


def set_value_text(doc: Document, node_id: str, text: str) -> str | None:
    """Set a tensor's literal value from typed text, as the inspector's value field takes it;
    return why it was refused (naming the node by title), or None."""
    old = doc.graph.nodes[node_id]
    try:
        if len(text) > VALUE_TEXT_MAX:
            raise ValueSpecError(TOO_LONG)
        node = dataclasses.replace(old, value=parse_leaf_value(text, old.dtype), init=None)
        doc.edit_node(node, "Edit value")  # checks the value against the node's dtype
    except GraphError as e:
        return f"{title_of(old)}: {e.message.removeprefix(node_id + ': ')}"
    return None


def open_value_editor(view: CanvasView, node_id: str) -> ValueEditor | None:
    """Open the editor over the node's value line; None (and a status message) for a node
    whose value is made by an init."""
    scene = view.scene()
    item = scene.nodes.get(node_id)
    if item is None:
        return None
    node = item.node
    if node.init is not None:
        scene.message.emit(f"{title_of(node)} is made by init '{node.init['fn']}': edit it in the inspector")
        return None
    text = value_text(node.value, None)
    if text is None:  # never a silently cut value: the line edit would hold only its start
        scene.message.emit(f"{title_of(node)}: its value is longer than the editor holds "
                           f"({VALUE_TEXT_MAX:,} characters): {USE_INSTEAD}")
        return None
    top = HEADER_H + max(1, len(item.inputs)) * PORT_H
    rect = view.mapFromScene(item.mapRectToScene(QRectF(4, top + 2, NODE_W - 8, 18))).boundingRect()
    editor = ValueEditor(view.viewport())
    editor.setMaxLength(VALUE_TEXT_MAX + 1)  # one more: a longer paste is refused (TOO_LONG), not cut
    editor.setText(text)
    editor.setGeometry(rect.adjusted(0, -3, 0, 3))
    editor.setToolTip("a number or nested list, e.g. [[1, 2], [3, 4]]; Enter sets it, Escape cancels")

    def commit() -> None:
        reason = set_value_text(scene.doc, node_id, editor.text()) if node_id in scene.nodes else None
        if reason is None:
            editor.close_editor()
        else:
            editor.setStyleSheet("border: 2px solid #e5484d;")
            scene.message.emit(reason)

    editor.returnPressed.connect(commit)
    editor.show()
    editor.setFocus()
    editor.selectAll()
    return editor
