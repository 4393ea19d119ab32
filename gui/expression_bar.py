"""The expression bar: a line above the canvas where `y = 2*x**2 + 3*z` adds nodes and edges.

The text is parsed by graph.expressions (ast, never evaluated); what it adds is one undo step.
Several lines at once: separate them with `;` in the bar, or paste lines. A refusal is one line
in the status bar and beside the bar, naming the part of the expression at fault. The nodes
added are brought into view. Undo and Redo in the bar undo its own typing while it has some;
with none (as after Enter, which empties it), they are the document's (gui.fields' rule).

The bar sits over the canvas, in the central area (as a spreadsheet's formula bar): it takes
height from the canvas alone, never from the docks. Not in the status bar, whose every message
(one after each compute) hides its normal widgets and is drawn where they were.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QRectF, Qt
from PySide6.QtGui import QTransform
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QSizePolicy, QVBoxLayout, QWidget

from graph.edits import node_height, usable_pos
from graph.errors import GraphError
from graph.expressions import plan_expressions
from graph.safetext import visible
from gui.canvas.view import FIT_MARGIN
from gui.fields import leaves_undo_to_document

if TYPE_CHECKING:
    from gui.window import MainWindow

GAP = 100.0  # below the lowest node's bottom (and a group frame's margin there), where the new ones start


class ExpressionEdit(QLineEdit):
    """The bar's line: a plain QLineEdit takes Ctrl+Z even with nothing to undo, so the document's
    Undo never came while the bar had the focus it keeps after Enter. Esc is left as it was (the
    window's): not a FieldEdit, whose text counts as a value to enter before a save."""

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and leaves_undo_to_document(self, event):
            return True
        return super().event(event)


class ExpressionBar(QWidget):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window_ = window
        self.edit = ExpressionEdit(self)
        self.edit.setPlaceholderText("y = 2*x**2 + 3*z   (Enter adds the nodes; ; separates lines)")
        self.edit.returnPressed.connect(self.submit)
        self.message = QLabel(self)
        self.message.setTextFormat(Qt.TextFormat.PlainText)  # a refusal quotes what was typed
        # A long refusal is cut at the bar's edge (whole in its tooltip and the status bar),
        # never widening the window.
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        layout.addWidget(QLabel("ƒ", self))
        layout.addWidget(self.edit, 3)
        layout.addWidget(self.message, 2)
        # The message is about the last line entered: it goes once that line's text or what it
        # added is gone (typing taken back to an empty bar; any undo, redo or other edit).
        self.edit.textChanged.connect(lambda text: text or self._tell(""))
        window.doc.undo_stack.indexChanged.connect(lambda _index: self._tell(""))

    def submit(self) -> bool:
        """Add what the bar's text says; True when it did (the text is then cleared). Each `;`
        starts a line, its spaces trimmed ("y = 2*x; z = y*y": no "unexpected indent")."""
        return self.add_text("\n".join(line.strip() for line in self.edit.text().split(";")))

    def add_text(self, text: str) -> bool:
        doc = self.window_.doc
        graph = doc.graph
        placed = [n for n in graph.nodes if usable_pos(graph.position(n))]
        origin = (min((graph.layout[n][0] for n in placed), default=0.0),  # below every node's bottom
                  max((graph.layout[n][1] + node_height(graph, n) for n in placed), default=-GAP) + GAP)
        try:
            plan = plan_expressions(graph, text, origin)
        except GraphError as e:  # an ExpressionError, naming the part at fault
            return self._refuse(e.message)
        doc.undo_stack.beginMacro(f"Expression: {len(plan.nodes)} node(s)")
        try:
            for node, pos in plan.nodes:
                doc.add_node(node, pos)
            for edge in plan.edges:
                why = doc.connect(edge)
                if why:
                    raise GraphError(why)
        except GraphError as e:
            doc.undo_stack.endMacro()
            doc.undo_stack.undo()  # nothing half-added stays
            return self._refuse(e.message)
        doc.undo_stack.endMacro()
        self._bring_into_view([node.id for node, _pos in plan.nodes])
        self.edit.setText("")  # not clear(), an undoable step of the line's: its typing history ends here
        self._tell(f"added {len(plan.nodes)} node(s)")
        return True

    def _bring_into_view(self, node_ids: list[str]) -> None:
        """The nodes just added, into sight (they go below the graph, often off screen): scrolled
        to where they fit at this zoom, else zoomed out (never in) until they do, as Fit frames."""
        view, items = self.window_.view, self.window_.scene.nodes
        rect = QRectF()
        for n in node_ids:
            if n in items:
                rect = rect.united(items[n].sceneBoundingRect())
        if rect.isEmpty() or view.mapToScene(view.viewport().rect()).boundingRect().contains(rect):
            return
        vp = view.viewport().rect()
        fit = min((vp.width() - 2 * FIT_MARGIN) / rect.width(), (vp.height() - 2 * FIT_MARGIN) / rect.height())
        if fit < view.transform().m11():
            view.setTransform(QTransform.fromScale(fit, fit))
            view.centerOn(rect.center())
        else:
            view.ensureVisible(rect, FIT_MARGIN, FIT_MARGIN)

    def _refuse(self, message: str) -> bool:
        text = visible(message)
        self._tell(text)
        self.window_.say(text)
        return False

    def _tell(self, text: str) -> None:
        self.message.setText(text)
        self.message.setToolTip(text)


def install(window: MainWindow) -> ExpressionBar:
    """The bar, in a row over the canvas: the central widget becomes the bar above the view."""
    bar = window.expression_bar = ExpressionBar(window)
    view = window.takeCentralWidget()  # taken, not deleted as setCentralWidget would
    central = QWidget(window)
    column = QVBoxLayout(central)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(0)
    column.addWidget(bar)
    column.addWidget(view, 1)
    window.setCentralWidget(central)
    return bar
