"""The toolbar's grad-output box: the v of target.backward(gradient=v) for a non-scalar target.

A grad-output belongs to its target node: each target keeps the text typed for it while the app
runs (restored on switching back), it follows a rename, and it goes with a deleted node, so a
new node that reuses the id starts without one. Each of these is an undo step (_SetGradOutput),
inside the rename's or the delete's own: undoing them brings it back. An opened file's
grad-output is given to the file's target, the first target set after the file is read.
"""

from __future__ import annotations

import json
import weakref

from PySide6.QtCore import Signal

from graph.errors import GraphError
from graph.values import parse_tensor_text
from gui.document import DocCommand, Document
from gui.fields import FieldEdit
from gui.titles import formula_name, title_by_id

REFUSED_STYLE = "border: 2px solid #e5484d;"


class GradOutputBox(FieldEdit):
    edited = Signal(object)  # a new value typed for the current target (None: emptied)
    refused = Signal(str)  # why the typed text is not a grad-output

    def __init__(self, doc: Document) -> None:
        super().__init__()
        self.doc = doc
        self.value: object = None  # the current target's grad-output, parsed
        self._texts: dict[str, str] = {}  # target id -> the text typed for it
        self._values: dict[str, object] = {}  # ... and that text parsed
        self._from_file: object = None  # an opened file's grad-output, for its target
        self.setPlaceholderText("for a non-scalar target, e.g. [1, 0]")
        self.setToolTip("The vector v in target.backward(gradient=v): JSON shaped like the "
                        "target. Empty for a scalar target.")
        self.setMinimumWidth(220)
        self.setMaximumWidth(360)
        self.editingFinished.connect(self._on_edited)
        doc.graphReset.connect(self._on_graph_reset)
        doc.renaming.connect(self._on_renaming)
        doc.removing.connect(self._on_removing)

    def _on_edited(self) -> None:
        text = self.text().strip()
        try:
            value = parse_tensor_text(text, "grad-output", example="[1, 0]") if text else None
        except GraphError as e:
            self.setStyleSheet(REFUSED_STYLE)
            self.refused.emit(e.message)
            return
        self.setStyleSheet("")
        self.shown = self.text()  # entered: what Esc goes back to from now on
        target = self.doc.target
        if target is None:
            self._show(value)
            return
        new = (text, value) if text else (None, None)
        if repr(new[1]) != repr(self._values.get(target)):  # a new value: a change to the document, one undo step
            self._change(target, new)
        else:  # the same numbers spelt otherwise
            self.put(target, new)

    def put(self, target: str, text_value: tuple[str | None, object]) -> None:
        """Keep this grad-output (text None: none) for the target, and show it if it is the
        current target."""
        text, value = text_value
        self._forget(target)
        if text is not None:
            self._texts[target], self._values[target] = text, value
        if target == self.doc.target:
            self.setText(text or "")  # also ends the field's own typing history: Ctrl+Z is the document's
            self.setStyleSheet("")
            self._show(value)

    def _show(self, value: object) -> None:
        if value != self.value:
            self.value = value
            self.edited.emit(value)

    def show_target(self, target: str | None) -> object:
        """Put back the text kept for this target (empty if none); return its value."""
        if target is not None and self._from_file is not None:
            self._texts.setdefault(target, json.dumps(self._from_file))
            self._values.setdefault(target, self._from_file)
            self._from_file = None
        self.setText(self._texts.get(target, "") if target is not None else "")
        self.setStyleSheet("")
        self.value = self._values.get(target) if target is not None else None
        return self.value

    def _on_renaming(self, old: str, new: str) -> None:
        """Inside the rename's undo step: the grad-output moves to the new id; the old id keeps
        none, so a new node given it starts without one (undo puts it back)."""
        if old in self._texts:
            self._change(new, (self._texts[old], self._values[old]))
            self._change(old, (None, None))

    def _on_removing(self, node_ids: list) -> None:
        """Inside the delete's undo step: a deleted node's grad-output goes with it (a new node
        given its id starts without one), and comes back when the delete is undone."""
        for n in node_ids:
            if n in self._texts:
                self._change(n, (None, None))

    def _change(self, target: str, new: tuple) -> None:
        self.doc.undo_stack.push(_SetGradOutput(self, target, (self._texts.get(target), self._values.get(target)), new))

    def _forget(self, node_id: str) -> None:
        self._texts.pop(node_id, None)
        self._values.pop(node_id, None)

    def _on_graph_reset(self) -> None:
        """A new document: no kept grad-outputs but the file's own, for the first target set."""
        self._texts.clear()
        self._values.clear()
        self._from_file = self.doc.graph.grad_output


class _SetGradOutput(DocCommand):
    """The grad-output kept for a target (the file saves it): `new` on redo, `old` on undo, each
    a (text, value) pair, (None, None) for none. Holds the box weakly, as DocCommand the document."""

    def __init__(self, box: GradOutputBox, target: str, old: tuple, new: tuple) -> None:
        super().__init__(f"Grad-output of {formula_name(title_by_id(box.doc.graph, target))}")  # as on the canvas
        self.doc, self.box, self.target, self.old, self.new = box.doc, weakref.ref(box), target, old, new

    def redo(self) -> None:
        self.box().put(self.target, self.new)

    def undo(self) -> None:
        self.box().put(self.target, self.old)
