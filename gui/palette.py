"""The op palette (a searchable drag source) and the Tab / double-click node-search popup.

Both list "tensor" and every op of the catalogue (`graph.ops.OPS`), shown as "symbol  name";
a delegate draws the symbol in a fixed-width slot so the names line up. Neither widget touches
the document: the palette hands out drag payloads (MIME_OP, the op name in UTF-8) and emits
`opActivated`, the popup emits `chosen`; the window turns those into undoable commands.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QMimeData, QObject, QPoint, QPointF, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QDrag, QFont, QFontMetrics, QGuiApplication, QKeyEvent, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from graph.inits import INITS
from graph.ops import OPS, TENSOR, OpSpec, categories
from gui.fields import FieldEdit
from gui.titles import op_symbol

MIME_OP = "application/x-gradcanvas-op"

TENSOR_CATEGORY = "tensors"
TENSOR_SYMBOL = "▦"

# Item data roles. NAME_ROLE is set on op items only, so "has a name" means "is an op item".
NAME_ROLE = Qt.ItemDataRole.UserRole
SYMBOL_ROLE = Qt.ItemDataRole.UserRole + 1

_GAP = "  "  # between symbol and name in the item text


def _entries() -> list[tuple[str, str, str]]:
    """(name, symbol, category) for "tensor" then every op in catalogue order."""
    return [(TENSOR, TENSOR_SYMBOL, TENSOR_CATEGORY)] + [
        (op.name, op_symbol(op.symbol), op.category) for op in OPS.values()]  # □ⁿ, as the canvas


def _display(name: str, symbol: str) -> str:
    return f"{symbol}{_GAP}{name}"


def _matches(text: str, name: str, symbol: str, category: str) -> bool:
    """Substring match on name, symbol or category, ignoring case.

    Non-ASCII text must match a symbol exactly: σ (sigmoid) and Σ (sum) are different ops.
    """
    needle = text.strip()
    if not needle:
        return True
    folded = needle.casefold()
    if folded in name.casefold() or folded in category.casefold():
        return True
    return needle in symbol or (needle.isascii() and folded in symbol.casefold())


def _fmt_default(value: object) -> str:
    return repr(value)


def _op_tooltip(op: OpSpec) -> str:
    e = html.escape
    lines = [f"<b>{e(op_symbol(op.symbol))}&nbsp;&nbsp;{e(op.name)}</b> &nbsp;<code>{e(op.function)}</code>",
             f"<b>inputs:</b> {e(', '.join(op.inputs))}"]
    if op.attrs:
        parts = []
        for a in op.attrs:
            if a.required:
                text = f"{a.name} (required; starts at {_fmt_default(a.default)})"
            else:
                text = f"{a.name}={_fmt_default(a.default)}"
            if a.choices:
                text += f" — one of {', '.join(a.choices)}"
            if a.doc:
                text += f" — {a.doc}"
            parts.append("&nbsp;&nbsp;" + e(text))
        lines.append("<b>attributes:</b><br>" + "<br>".join(parts))
    else:
        lines.append("<b>attributes:</b> none")
    lines.append(f"<b>derivative:</b> {e(op.rule)}")
    return "<p style='white-space:pre-wrap'>" + "<br>".join(lines) + "</p>"


def _tooltip(name: str) -> str:
    if name == TENSOR:
        return (f"<p style='white-space:pre-wrap'><b>{TENSOR_SYMBOL}&nbsp;&nbsp;tensor</b> — a leaf: "
                "a literal value or an initialiser<br>"
                "<b>inputs:</b> none; one output<br>"
                f"<b>initialisers:</b> {html.escape(', '.join(INITS))}<br>"
                "<b>derivative:</b> ∂target/∂tensor is its .grad when it requires grad</p>")
    return _op_tooltip(OPS[name])


def _symbol_color(palette: QPalette, group: QPalette.ColorGroup) -> QColor:
    """The highlight hue, darkened on a light background and lightened on a dark one."""
    accent = palette.color(group, QPalette.ColorRole.Highlight)
    light_base = palette.color(group, QPalette.ColorRole.Base).lightness() > 128
    return accent.darker(150) if light_base else accent.lighter(150)


class _OpDelegate(QStyledItemDelegate):
    """Draws op items as a symbol centred in a fixed-width slot, then the name.

    Items without SYMBOL_ROLE (categories) are drawn as usual.
    """

    SLOT_PAD = 10  # px added to the widest symbol

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._slot_cache: dict[str, int] = {}

    def _slot_width(self, fm: QFontMetrics, font: QFont) -> int:
        key = font.key()
        if key not in self._slot_cache:
            widest = max(fm.horizontalAdvance(sym) for _, sym, _ in _entries())
            self._slot_cache[key] = widest + self.SLOT_PAD
        return self._slot_cache[key]

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:  # noqa: ANN001
        symbol = index.data(SYMBOL_ROLE)
        name = index.data(NAME_ROLE)
        if symbol is None or name is None:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)

        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1
        rect = opt.rect.adjusted(margin, 0, -margin, 0)
        fm = QFontMetrics(opt.font)
        slot = self._slot_width(fm, opt.font)
        group = (QPalette.ColorGroup.Normal if opt.state & QStyle.StateFlag.State_Enabled
                 else QPalette.ColorGroup.Disabled)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text

        painter.save()
        painter.setFont(opt.font)
        painter.setPen(opt.palette.color(group, role) if selected else _symbol_color(opt.palette, group))
        sym_rect = QRect(rect.left(), rect.top(), slot, rect.height())
        painter.drawText(sym_rect, Qt.AlignmentFlag.AlignCenter,
                         fm.elidedText(symbol, Qt.TextElideMode.ElideRight, slot))
        painter.setPen(opt.palette.color(group, role))
        name_rect = QRect(rect.left() + slot, rect.top(), max(0, rect.width() - slot), rect.height())
        painter.drawText(name_rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                         fm.elidedText(name, Qt.TextElideMode.ElideRight, name_rect.width()))
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index) -> QSize:  # noqa: ANN001
        base = super().sizeHint(option, index)
        symbol, name = index.data(SYMBOL_ROLE), index.data(NAME_ROLE)
        if symbol is None or name is None:
            return base
        fm = QFontMetrics(option.font)
        width = self._slot_width(fm, option.font) + fm.horizontalAdvance(name) + 12
        return QSize(width, max(base.height(), fm.height() + 6))


class _OpTree(QTreeWidget):
    """The palette's tree: op items carry a MIME_OP payload; drags only ever copy."""

    def mimeTypes(self) -> list[str]:
        return [MIME_OP]

    def mimeData(self, items: Sequence[QTreeWidgetItem]) -> QMimeData | None:
        for item in items:
            name = item.data(0, NAME_ROLE) if item is not None else None
            if name:
                data = QMimeData()
                data.setData(MIME_OP, str(name).encode("utf-8"))
                data.setText(str(name))
                return data
        return None

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    def startDrag(self, supportedActions: Qt.DropAction) -> None:  # noqa: N803 (Qt's name)
        # Our own QDrag, copy only: a target accepting "move" must never remove a palette item.
        item = self.currentItem()
        data = self.mimeData([item]) if item is not None else None
        if data is None:
            return
        drag = QDrag(self)
        drag.setMimeData(data)
        rect = self.visualItemRect(item)
        if rect.isValid():
            drag.setPixmap(self.viewport().grab(rect))
            drag.setHotSpot(QPoint(rect.height() // 2, rect.height() // 2))
        drag.exec(Qt.DropAction.CopyAction, Qt.DropAction.CopyAction)


class Palette(QWidget):
    """A filter line edit above a tree of "tensor" and the catalogue's ops, by category.

    Drag an op onto the canvas (payload MIME_OP = op name), or double-click / press Enter on
    it: `opActivated(name)` asks the window to add it at the view centre.
    """

    opActivated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filter_edit = FieldEdit(parent=self)
        self.filter_edit.setPlaceholderText("Filter ops…")
        self.filter_edit.setClearButtonEnabled(True)
        self.tree = _OpTree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setColumnCount(1)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setDefaultDropAction(Qt.DropAction.CopyAction)
        self.tree.setItemDelegate(_OpDelegate(self.tree))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.tree)

        self._items: dict[str, QTreeWidgetItem] = {}
        self._categories: dict[str, QTreeWidgetItem] = {}
        self._populate()

        self.filter_edit.textChanged.connect(self.set_filter)
        self.filter_edit.returnPressed.connect(self._activate_from_filter)
        self.filter_edit.installEventFilter(self)
        self.tree.itemActivated.connect(self._on_activated)

    def _populate(self) -> None:
        bold = QFont(self.tree.font())
        bold.setBold(True)
        for category in (TENSOR_CATEGORY, *categories()):
            cat = QTreeWidgetItem(self.tree, [category])
            cat.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            cat.setFont(0, bold)
            self._categories[category] = cat
        for name, symbol, category in _entries():
            item = QTreeWidgetItem(self._categories[category], [_display(name, symbol)])
            item.setData(0, NAME_ROLE, name)
            item.setData(0, SYMBOL_ROLE, symbol)
            item.setData(0, Qt.ItemDataRole.ToolTipRole, _tooltip(name))
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                          | Qt.ItemFlag.ItemIsDragEnabled)
            self._items[name] = item
        self.tree.expandAll()

    def item_for(self, op_name: str) -> QTreeWidgetItem:
        """The tree item of "tensor" or a catalogue op; KeyError for an unknown name."""
        return self._items[op_name]

    def set_filter(self, text: str) -> None:
        """Show only ops whose name, symbol or category contains `text` (case-insensitive)."""
        for category, cat in self._categories.items():
            any_shown = False
            for i in range(cat.childCount()):
                child = cat.child(i)
                shown = _matches(text, child.data(0, NAME_ROLE), child.data(0, SYMBOL_ROLE), category)
                child.setHidden(not shown)
                any_shown = any_shown or shown
            cat.setHidden(not any_shown)
            cat.setExpanded(True)
        if self.filter_edit.text() != text:
            self.filter_edit.setText(text)

    def visible_ops(self) -> list[str]:
        """The names of the op items the filter leaves visible, in display order."""
        return [self.item_for(name).data(0, NAME_ROLE) for name, _, _ in _entries()
                if not self.item_for(name).isHidden()
                and not self.item_for(name).parent().isHidden()]

    def _on_activated(self, item: QTreeWidgetItem, _column: int = 0) -> None:
        name = item.data(0, NAME_ROLE)
        if name:
            self.opActivated.emit(str(name))

    def _first_visible_item(self) -> QTreeWidgetItem | None:
        visible = self.visible_ops()
        return self.item_for(visible[0]) if visible else None

    def _activate_from_filter(self) -> None:
        item = self.tree.currentItem()
        if item is None or item.isHidden() or not item.data(0, NAME_ROLE):
            item = self._first_visible_item()
        if item is not None:
            self._on_activated(item)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Down in the filter box moves into the tree, onto the first visible op.
        if (watched is self.filter_edit and event.type() == QEvent.Type.KeyPress
                and isinstance(event, QKeyEvent) and event.key() == Qt.Key.Key_Down):
            item = self._first_visible_item()
            if item is not None:
                self.tree.setCurrentItem(item)
                self.tree.setFocus()
                return True
        return super().eventFilter(watched, event)


def show_popup(popup: QWidget, global_pos: QPoint, focus: QWidget) -> None:
    """Show a popup with its top-left at global_pos, kept on the screen there, `focus` focused
    (the Tab search here, Find node in gui.canvas.keyboard)."""
    pos = QPoint(global_pos)
    screen = QGuiApplication.screenAt(pos) or QGuiApplication.primaryScreen()
    if screen is not None:
        area = screen.availableGeometry()
        pos.setX(max(area.left(), min(pos.x(), area.right() - popup.width())))
        pos.setY(max(area.top(), min(pos.y(), area.bottom() - popup.height())))
    popup.move(pos)
    popup.show()
    popup.raise_()
    popup.activateWindow()
    focus.setFocus(Qt.FocusReason.PopupFocusReason)


class NodeSearch(QFrame):
    """A popup to add a node where the user is looking: type, Up/Down, Enter; Escape closes.

    `open_at(global_pos, scene_pos)` shows it; `chosen(name, scene_pos)` reports the choice
    with the scene position it was opened for.
    """

    chosen = Signal(str, QPointF)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFrameShadow(QFrame.Shadow.Raised)
        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("Add node…")
        self.list = QListWidget(self)
        self.list.setUniformItemSizes(True)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setItemDelegate(_OpDelegate(self.list))
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # typing always goes to the line edit
        for name, symbol, category in _entries():
            item = QListWidgetItem(_display(name, symbol), self.list)
            item.setData(NAME_ROLE, name)
            item.setData(SYMBOL_ROLE, symbol)
            item.setData(Qt.ItemDataRole.UserRole + 2, category)
            item.setToolTip(_tooltip(name))
        # Shown instead of an empty list when the text matches nothing.
        self.no_match = QLabel(self)
        self.no_match.setWordWrap(True)
        self.no_match.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.no_match.setTextFormat(Qt.TextFormat.PlainText)
        self.no_match.setContentsMargins(6, 6, 6, 6)
        self.no_match.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.edit)
        layout.addWidget(self.list)
        layout.addWidget(self.no_match, 1)
        self.resize(260, 340)

        self._scene_pos = QPointF()
        self.edit.textChanged.connect(self._refilter)
        self.edit.installEventFilter(self)
        self.list.itemClicked.connect(self._choose_item)
        self._refilter("")

    @property
    def scene_pos(self) -> QPointF:
        return QPointF(self._scene_pos)

    def open_at(self, global_pos: QPoint, scene_pos: QPointF) -> None:
        """Show the popup with its top-left at global_pos (kept on screen), text cleared."""
        self._scene_pos = QPointF(scene_pos)
        self.edit.clear()
        self._refilter("")
        show_popup(self, global_pos, self.edit)

    def visible_ops(self) -> list[str]:
        """The names the current text leaves visible, in list order."""
        return [self.list.item(i).data(NAME_ROLE) for i in range(self.list.count())
                if not self.list.item(i).isHidden()]

    def current_op(self) -> str | None:
        item = self.list.currentItem()
        if item is None or item.isHidden():
            return None
        return str(item.data(NAME_ROLE))

    def choose_current(self) -> str | None:
        """Close and emit `chosen` for the selected op (what Enter does); None if none matches."""
        name = self.current_op()
        if name is None:
            return None
        self.hide()
        self.chosen.emit(name, QPointF(self._scene_pos))
        return name

    def _choose_item(self, item: QListWidgetItem) -> None:
        self.list.setCurrentItem(item)
        self.choose_current()

    def _refilter(self, text: str) -> None:
        first: QListWidgetItem | None = None
        # The name itself beats a name starting with the text ("exp" before "expand"), which
        # beats a mere contains.
        exact: QListWidgetItem | None = None
        prefix: QListWidgetItem | None = None
        needle = text.strip().casefold()
        for i in range(self.list.count()):
            item = self.list.item(i)
            name = item.data(NAME_ROLE)
            shown = _matches(text, name, item.data(SYMBOL_ROLE), item.data(Qt.ItemDataRole.UserRole + 2))
            item.setHidden(not shown)
            if shown:
                first = first or item
                if needle and exact is None and name.casefold() == needle:
                    exact = item
                if needle and prefix is None and name.casefold().startswith(needle):
                    prefix = item
        pick = exact or prefix or first
        if pick is not None:
            self.list.setCurrentItem(pick)
            self.list.scrollToItem(pick)
        else:
            self.list.setCurrentItem(None)
            self.list.clearSelection()
            self.no_match.setText(f"no op matches “{text.strip()}”\n\nTry a name (matmul), a symbol (σ) or a "
                                  "category (reduction); Backspace to widen, Esc to close.")
        self.no_match.setVisible(pick is None)
        self.list.setVisible(pick is not None)

    def _move(self, step: int) -> None:
        rows = [i for i in range(self.list.count()) if not self.list.item(i).isHidden()]
        if not rows:
            return
        current = self.list.currentRow()
        if current in rows:
            pos = max(0, min(len(rows) - 1, rows.index(current) + step))
        else:
            pos = 0
        self.list.setCurrentRow(rows[pos])
        self.list.scrollToItem(self.list.item(rows[pos]))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.edit and event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent):
            key = event.key()
            if key == Qt.Key.Key_Up:
                self._move(-1)
                return True
            if key == Qt.Key.Key_Down:
                self._move(1)
                return True
            if key in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown):
                self._move(-8 if key == Qt.Key.Key_PageUp else 8)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.choose_current()
                return True
            if key == Qt.Key.Key_Escape:
                self.hide()
                return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.hide()
            return
        super().keyPressEvent(event)
