"""The canvas without a mouse: the arrow keys walk the selection from node to node, and Find
node (Ctrl+F, Edit menu) selects a node by its title, id or op.

- Arrow: select the nearest node that way from the current one (the node last walked to or
  clicked, if still selected; else the selected node nearest the view's centre). With nothing
  selected, the first arrow selects the node nearest the view's centre. The view scrolls to keep
  the node in sight, at the same zoom. The selection changes as a click changes it, so the
  inspector shows the node, Ctrl+T makes it the target, Ctrl+D duplicates it, Del deletes it.
- Shift+arrow: add the node that way to the selection.
- Ctrl+arrow or Alt+arrow: pan (what every arrow did before).
- Ctrl+F: a popup listing the nodes whose title, id or op hold the text typed (Up / Down, Enter
  selects and centres one, Esc closes). In a text field Ctrl+F stays the field's: the popup
  opens from the canvas, the palette or the inspector's lists, or from the menu.

Only keys sent to the view itself are walked: a text field over the canvas (the value editor)
keeps its arrows. Nodes hidden in a collapsed group are skipped by the arrows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QFrame,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QTextEdit,
    QVBoxLayout,
)

from graph.safetext import visible
from gui.palette import show_popup
from gui.titles import title_of

if TYPE_CHECKING:
    from gui.canvas.scene import CanvasScene
    from gui.canvas.view import CanvasView
    from gui.window import MainWindow

# Arrow key -> (dx, dy), the direction in scene coordinates (y grows downwards).
ARROWS = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}
_WAY = {(-1, 0): "to the left of", (1, 0): "to the right of", (0, -1): "above", (0, 1): "below"}
# A node off to the side counts this many times its sideways distance: one straight ahead beats
# a nearer one far to the side (the next layer of a left-to-right graph, not a node above it).
SIDEWAYS_WEIGHT = 2.0
VISIBLE_MARGIN = 40  # screen pixels kept between a walked-to node and the view's edge
PAN = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
MAX_FOUND = 200  # rows the find popup lists; typing more narrows it
ID_ROLE = Qt.ItemDataRole.UserRole
TEXT_FIELDS = (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox)


def centre(scene: CanvasScene, node_id: str) -> QPointF:
    return scene.nodes[node_id].sceneBoundingRect().center()


def visible_nodes(scene: CanvasScene) -> list[str]:
    """The nodes drawn (not hidden in a collapsed group), in the scene's order."""
    return [n for n, item in scene.nodes.items() if item.isVisible()]


def nearest_to(scene: CanvasScene, point: QPointF) -> str | None:
    """The visible node whose centre is nearest the point."""
    def distance(n: str) -> float:
        c = centre(scene, n)
        return (c.x() - point.x()) ** 2 + (c.y() - point.y()) ** 2

    return min(visible_nodes(scene), key=distance, default=None)


def neighbour(scene: CanvasScene, node_id: str, dx: int, dy: int) -> str | None:
    """The nearest visible node whose centre lies beyond this node's in the direction (dx, dy):
    by its distance along the direction plus SIDEWAYS_WEIGHT times its distance across it
    (ties to the first in the scene's order). None when no node lies that way."""
    origin = centre(scene, node_id)
    best: tuple[float, str] | None = None
    for n in visible_nodes(scene):
        c = centre(scene, n)
        ahead = (c.x() - origin.x()) * dx + (c.y() - origin.y()) * dy
        if n == node_id or ahead <= 0:
            continue
        across = abs((c.x() - origin.x()) * dy - (c.y() - origin.y()) * dx)
        score = ahead + SIDEWAYS_WEIGHT * across
        if best is None or score < best[0]:
            best = (score, n)
    return best[1] if best is not None else None


class SelectionWalk:
    """The view's arrow keys: which node is current, and where an arrow takes the selection."""

    def __init__(self, view: CanvasView) -> None:
        self.view = view
        self.current: str | None = None  # the node the last arrow (or a find) went to

    def view_centre(self) -> QPointF:
        return self.view.mapToScene(self.view.viewport().rect().center())

    def current_node(self) -> str | None:
        """The node an arrow walks from: the current one if still selected, else the selected
        node nearest the view's centre (one just clicked, when it is alone); None if none."""
        scene = self.view.scene()
        selected = [n for n in scene.selected_node_ids() if scene.nodes[n].isVisible()]
        if self.current in selected:
            return self.current
        middle = self.view_centre()
        return min(selected, key=lambda n: (centre(scene, n) - middle).manhattanLength(), default=None)

    def key(self, event: QKeyEvent) -> bool:
        """Handle an arrow key sent to the view; False for any other key (or a panning one)."""
        direction = ARROWS.get(Qt.Key(event.key()))
        if direction is None or event.modifiers() & PAN:
            return False
        scene = self.view.scene()
        start = self.current_node()
        if start is None:
            self.go(nearest_to(scene, self.view_centre()), extend=False)
            return True
        to = neighbour(scene, start, *direction)
        if to is None:  # nothing that way: the current node stays, and says so
            scene.message.emit(f"no node {_WAY[direction]} {title_of(scene.nodes[start].node)}")
            return True
        self.go(to, extend=bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier))
        return True

    def go(self, node_id: str | None, extend: bool, centred: bool = False) -> None:
        """Select the node (alone, or added to the selection) and bring it into view, at the
        same zoom: just into sight, or to the centre."""
        if node_id is None:
            return
        scene = self.view.scene()
        ids = [*scene.selected_node_ids(), node_id] if extend else [node_id]
        self.current = node_id
        scene.select_nodes(list(dict.fromkeys(ids)))  # one selectionChanged: the inspector follows
        rect = scene.nodes[node_id].sceneBoundingRect()
        if centred:
            self.view.centerOn(rect.center())
        else:
            self.view.ensureVisible(rect, VISIBLE_MARGIN, VISIBLE_MARGIN)


# ---- Find node ----

def find_rows(graph: object, text: str) -> list[str]:
    """The ids of the nodes whose title, id or op hold the text (ignoring case): a title or id
    equal to it first, then those starting with it, then the rest, each in the graph's order."""
    needle = text.strip().casefold()
    ranked: list[tuple[int, int, str]] = []
    for order, (node_id, node) in enumerate(graph.nodes.items()):
        names = [node_id.casefold(), node.title.casefold()]
        if not needle:
            rank = 0
        elif needle in names:
            rank = 0
        elif any(name.startswith(needle) for name in names):
            rank = 1
        elif any(needle in name for name in (*names, node.op.casefold())):
            rank = 2
        else:
            continue
        ranked.append((rank, order, node_id))
    return [node_id for _rank, _order, node_id in sorted(ranked)]


def row_text(graph: object, node_id: str) -> str:
    """'title · op' and, for a node with a label, its id: what a find row shows (escaped)."""
    node = graph.nodes[node_id]
    extra = f"  ·  id {visible(node_id)}" if node.label else ""
    return f"{title_of(node)}  ·  {visible(node.op)}{extra}"


class NodeFinder(QFrame):
    """The Find node popup: a line edit over the matching nodes, as the Tab search looks."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window, Qt.WindowType.Popup)
        self.w = window
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFrameShadow(QFrame.Shadow.Raised)
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("Find node: title, id or op…")
        self.list = QListWidget(self)
        self.list.setUniformItemSizes(True)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # typing always goes to the line edit
        self.note = QLabel(self)  # no match, or how many more match than are listed
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.edit)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.note)
        self.resize(320, 340)
        self.edit.textChanged.connect(self.refilter)
        self.edit.installEventFilter(self)
        self.list.itemClicked.connect(lambda item: self.choose(item.data(ID_ROLE)))

    def open(self) -> None:
        """Show the popup at the top of the canvas, text cleared, every node listed."""
        view = self.w.view
        top = view.viewport().mapToGlobal(QPoint((view.viewport().width() - self.width()) // 2, 8))
        self.edit.clear()
        self.refilter("")
        show_popup(self, top, self.edit)

    def refilter(self, text: str) -> None:
        graph = self.w.doc.graph
        found = find_rows(graph, text)
        self.list.clear()
        for node_id in found[:MAX_FOUND]:
            item = QListWidgetItem(row_text(graph, node_id), self.list)
            item.setData(ID_ROLE, node_id)
        if found:
            self.list.setCurrentRow(0)
        more = len(found) - MAX_FOUND
        self.note.setText(f"no node's title, id or op holds “{visible(text.strip())}”" if not found else
                          f"{more:,} more: type more of the name" if more > 0 else "")
        self.note.setVisible(not found or more > 0)

    def current_id(self) -> str | None:
        item = self.list.currentItem()
        return None if item is None else str(item.data(ID_ROLE))

    def choose(self, node_id: str | None) -> None:
        """Close, select the node and centre the view on it (at the same zoom). A node hidden in
        a collapsed group opens the group(s) around it first (one undo step each: Ctrl+Z closes
        them), as an editor unfolds what it jumps to: a hidden item cannot be selected."""
        if node_id is None or node_id not in self.w.scene.nodes:
            return
        self.hide()
        groups, opened = self.w.scene.groups, []
        while node_id in groups.hidden and len(opened) <= len(self.w.doc.graph.groups):
            opened.append(groups.hidden[node_id])
            self.w.doc.set_collapsed(opened[-1], False)
            groups.rebuild()  # now, not on the next turn: the node is shown before it is selected
        view = self.w.view
        view.walk.go(node_id, extend=False, centred=True)
        view.setFocus(Qt.FocusReason.OtherFocusReason)
        where = f"; opened the collapsed group {', '.join(map(visible, opened))} it was in" if opened else ""
        self.w.say(f"found {title_of(self.w.doc.graph.nodes[node_id])}{where}")

    def _move(self, step: int) -> None:
        if self.list.count():
            self.list.setCurrentRow(max(0, min(self.list.count() - 1, self.list.currentRow() + step)))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.edit and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            steps = {Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1, Qt.Key.Key_PageUp: -8, Qt.Key.Key_PageDown: 8}
            if key in steps:
                self._move(steps[key])
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.choose(self.current_id())
                return True
            if key == Qt.Key.Key_Escape:
                self.hide()
                return True
        return super().eventFilter(watched, event)


class _LeaveTextFieldsAlone(QObject):
    """Stops Find node's shortcut while a text field has the focus: there Ctrl+F is the field's.
    (It filters the action's Shortcut events only; a click on the menu item still opens it.)"""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        return event.type() == QEvent.Type.Shortcut and isinstance(QApplication.focusWidget(), TEXT_FIELDS)


def install(window: MainWindow) -> QAction:
    """Edit > Find node… (Ctrl+F) after Select All, and the popup it opens (window.node_finder)."""
    from gui.actions import plain_text  # not at the top: gui.actions imports gui.canvas

    window.node_finder = NodeFinder(window)
    action = QAction("&Find node…", window)
    action.setShortcut(QKeySequence(QKeySequence.StandardKey.Find))
    action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    action.triggered.connect(window.node_finder.open)
    action.installEventFilter(_LeaveTextFieldsAlone(action))
    edit = next(a.menu() for a in window.menuBar().actions() if plain_text(a.text()) == "Edit")
    after = [a for a in edit.actions() if plain_text(a.text()) == "Select All"]
    following = edit.actions()[edit.actions().index(after[0]) + 1] if after else None
    edit.insertAction(following, action)
    return action
