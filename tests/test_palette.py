"""The op palette and the node-search popup, offscreen with pytest-qt."""

from __future__ import annotations

import dataclasses
import itertools
from collections import Counter

import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, QSizeF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractItemView, QTreeWidgetItem

from graph.ops import CATEGORIES, OPS, TENSOR
from gui.palette import MIME_OP, NodeSearch, Palette
from gui.titles import op_symbol

ALL_NAMES = [TENSOR, *OPS]


def _walk(palette: Palette) -> list[QTreeWidgetItem]:
    """Every item of the tree, read from the tree itself (not the palette's own index)."""
    out = []
    for i in range(palette.tree.topLevelItemCount()):
        cat = palette.tree.topLevelItem(i)
        out.append(cat)
        out.extend(cat.child(j) for j in range(cat.childCount()))
    return out


def _op_name(item: QTreeWidgetItem) -> str:
    """The op name shown by an item: its text is "symbol  name"."""
    return item.text(0).rsplit("  ", 1)[-1]


def _visible_ops(palette: Palette) -> set[str]:
    return {_op_name(it) for it in _walk(palette)
            if it.parent() is not None and not it.isHidden() and not it.parent().isHidden()}


@pytest.fixture
def palette(qtbot) -> Palette:
    w = Palette()
    qtbot.addWidget(w)
    w.resize(260, 700)
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture
def search(qtbot) -> NodeSearch:
    w = NodeSearch()
    qtbot.addWidget(w)
    return w


# ---- Palette ----

def test_every_op_and_tensor_listed_once(palette: Palette) -> None:
    leaves = [it for it in _walk(palette) if it.parent() is not None]
    counts = Counter(_op_name(it) for it in leaves)
    assert set(counts) == set(ALL_NAMES)
    assert all(n == 1 for n in counts.values()), counts
    assert len(leaves) == len(ALL_NAMES)
    for it in leaves:
        name = _op_name(it)
        symbol = "▦" if name == TENSOR else op_symbol(OPS[name].symbol)  # □ⁿ, as the canvas badge
        assert it.text(0) == f"{symbol}  {name}"
        assert palette.item_for(name) is it


def test_categories_in_catalogue_order_tensor_first(palette: Palette) -> None:
    tops = [palette.tree.topLevelItem(i) for i in range(palette.tree.topLevelItemCount())]
    assert [t.text(0) for t in tops] == ["tensors", *CATEGORIES]
    assert [_op_name(tops[0].child(j)) for j in range(tops[0].childCount())] == [TENSOR]
    for cat in tops[1:]:
        names = [_op_name(cat.child(j)) for j in range(cat.childCount())]
        assert names == [n for n, op in OPS.items() if op.category == cat.text(0)]
        assert cat.isExpanded()


def test_tooltip_has_ports_attrs_and_rule(palette: Palette) -> None:
    tip = palette.item_for("mse_loss").toolTip(0)
    assert "input, target" in tip
    assert "reduction=&#x27;mean&#x27;" in tip or "reduction='mean'" in tip
    assert OPS["mse_loss"].rule.split(",")[0] in tip
    assert "keepdim=False" in palette.item_for("sum").toolTip(0)
    assert "exponent (required; starts at 2)" in palette.item_for("pow").toolTip(0)
    assert "randn" in palette.item_for(TENSOR).toolTip(0)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_op_item_payload(palette: Palette, name: str) -> None:
    item = palette.item_for(name)
    assert item.flags() & Qt.ItemFlag.ItemIsDragEnabled
    assert MIME_OP in palette.tree.mimeTypes()
    data = palette.tree.mimeData([item])
    assert data is not None and data.hasFormat(MIME_OP)
    assert bytes(data.data(MIME_OP)).decode("utf-8") == name


def test_categories_carry_no_payload(palette: Palette) -> None:
    assert palette.tree.dragDropMode() == QAbstractItemView.DragDropMode.DragOnly
    assert palette.tree.dragEnabled()
    for i in range(palette.tree.topLevelItemCount()):
        cat = palette.tree.topLevelItem(i)
        assert not cat.flags() & Qt.ItemFlag.ItemIsDragEnabled
        data = palette.tree.mimeData([cat])
        assert data is None or not data.hasFormat(MIME_OP)


def test_start_drag_copies_and_keeps_the_item(palette: Palette) -> None:
    # Offscreen, QDrag.exec() returns at once; the palette must be unchanged afterwards.
    palette.tree.setCurrentItem(palette.item_for("matmul"))
    palette.tree.startDrag(Qt.DropAction.CopyAction | Qt.DropAction.MoveAction)
    assert _op_name(palette.item_for("matmul")) == "matmul"
    assert len([it for it in _walk(palette) if it.parent() is not None]) == len(ALL_NAMES)


def test_filter_soft_shows_softmax_and_log_softmax_only(qtbot, palette: Palette) -> None:
    qtbot.keyClicks(palette.filter_edit, "soft")
    assert _visible_ops(palette) == {"softmax", "log_softmax", "softplus"}
    shown_cats = [palette.tree.topLevelItem(i).text(0) for i in range(palette.tree.topLevelItemCount())
                  if not palette.tree.topLevelItem(i).isHidden()]
    assert shown_cats == ["activation"]
    palette.filter_edit.clear()
    assert _visible_ops(palette) == set(ALL_NAMES)


@pytest.mark.parametrize(("text", "expected"), [
    ("SOFT", {"softmax", "log_softmax", "softplus"}),  # case-insensitive
    ("σ", {"sigmoid"}),                      # by symbol
    ("Σ", {"sum"}),                          # Greek case is not folded for symbols
    ("Loss", {n for n, op in OPS.items() if op.category == "loss"}),  # by name and category
    ("linear", {"matmul", "linear"}),        # by category, and by name
    ("tensor", {TENSOR}),
    ("no such op", set()),
])
def test_filter_matches_name_symbol_category(palette: Palette, text: str, expected: set[str]) -> None:
    palette.filter_edit.setText(text)
    assert _visible_ops(palette) == expected
    if not expected:
        assert all(palette.tree.topLevelItem(i).isHidden()
                   for i in range(palette.tree.topLevelItemCount()))


def test_double_click_and_enter_activate_op(qtbot, palette: Palette) -> None:
    tree = palette.tree
    item = palette.item_for("relu")
    tree.scrollToItem(item)
    centre = tree.visualItemRect(item).center()
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    with qtbot.waitSignal(palette.opActivated, timeout=1000) as blocker:
        # A real double-click: the view only activates the index it saw pressed first.
        QTest.mouseClick(tree.viewport(), left, none, centre)
        QTest.mouseDClick(tree.viewport(), left, none, centre)
    assert blocker.args == ["relu"]

    tree.setCurrentItem(palette.item_for("exp"))
    tree.setFocus()
    with qtbot.waitSignal(palette.opActivated, timeout=1000) as blocker:
        QTest.keyClick(tree, Qt.Key.Key_Return)
    assert blocker.args == ["exp"]


def test_activating_a_category_emits_nothing(qtbot, palette: Palette) -> None:
    got: list[str] = []
    palette.opActivated.connect(got.append)
    cat = palette.tree.topLevelItem(1)
    palette.tree.setCurrentItem(cat)
    palette.tree.setFocus()
    QTest.keyClick(palette.tree, Qt.Key.Key_Return)
    assert got == []


def test_enter_in_filter_activates_first_match(qtbot, palette: Palette) -> None:
    qtbot.keyClicks(palette.filter_edit, "matm")
    with qtbot.waitSignal(palette.opActivated, timeout=1000) as blocker:
        QTest.keyClick(palette.filter_edit, Qt.Key.Key_Return)
    assert blocker.args == ["matmul"]


# ---- NodeSearch ----

def _list_names(search: NodeSearch) -> list[str]:
    items = [search.list.item(i) for i in range(search.list.count())]
    return [it.text().rsplit("  ", 1)[-1] for it in items if not it.isHidden()]


def test_search_lists_everything_once(search: NodeSearch) -> None:
    search.open_at(QPoint(50, 50), QPointF(0, 0))
    assert search.isVisible()
    assert search.windowFlags() & Qt.WindowType.Popup == Qt.WindowType.Popup
    assert _list_names(search) == ALL_NAMES
    assert search.list.currentItem() is search.list.item(0)


def test_search_mat_enter_emits_matmul(qtbot, search: NodeSearch) -> None:
    pos = QPointF(12.5, -40.0)
    search.open_at(QPoint(100, 80), pos)
    qtbot.keyClicks(search.edit, "mat")
    assert _list_names(search) == ["matmul"]
    with qtbot.waitSignal(search.chosen, timeout=1000) as blocker:
        assert search.choose_current() == "matmul"
    assert blocker.args[0] == "matmul"
    assert blocker.args[1] == pos
    assert not search.isVisible()


def test_search_up_down_and_return_key(qtbot, search: NodeSearch) -> None:
    search.open_at(QPoint(0, 0), QPointF(3, 4))
    qtbot.keyClicks(search.edit, "sig")
    assert search.current_op() == "sigmoid"
    search.edit.clear()
    qtbot.keyClicks(search.edit, "SOFT")  # softmax, log_softmax, softplus
    assert _list_names(search) == ["softmax", "log_softmax", "softplus"]
    assert search.current_op() == "softmax"
    QTest.keyClick(search.edit, Qt.Key.Key_Down)
    QTest.keyClick(search.edit, Qt.Key.Key_Down)
    QTest.keyClick(search.edit, Qt.Key.Key_Down)  # stops at the last match
    assert search.current_op() == "softplus"
    QTest.keyClick(search.edit, Qt.Key.Key_Up)
    assert search.current_op() == "log_softmax"
    with qtbot.waitSignal(search.chosen, timeout=1000) as blocker:
        QTest.keyClick(search.edit, Qt.Key.Key_Return)
    assert blocker.args == ["log_softmax", QPointF(3, 4)]


def test_search_prefers_a_name_prefix(qtbot, search: NodeSearch) -> None:
    search.open_at(QPoint(0, 0), QPointF())
    qtbot.keyClicks(search.edit, "s")  # "tensor" matches first, but "sub" starts with s
    assert _list_names(search)[0] == TENSOR
    assert search.current_op() == "sub"


def test_search_prefers_the_name_itself_to_longer_names_starting_with_it(qtbot, monkeypatch) -> None:  # noqa: ANN001
    import gui.palette

    entries = gui.palette._entries()  # noqa: SLF001
    exp = next(e for e in entries if e[0] == "exp")
    # A longer name starting with "exp" listed before exp itself (expand, expm1 may well be).
    longer = ("expand_like", exp[1], exp[2])
    monkeypatch.setitem(OPS, "expand_like", dataclasses.replace(OPS["exp"], name="expand_like"))
    monkeypatch.setattr(gui.palette, "_entries", lambda: [longer, *entries])
    search = NodeSearch()
    qtbot.addWidget(search)
    search.open_at(QPoint(0, 0), QPointF())
    qtbot.keyClicks(search.edit, "exp")
    assert _list_names(search)[0] == "expand_like"
    assert search.current_op() == "exp"


def test_search_escape_closes_without_emitting(qtbot, search: NodeSearch) -> None:
    got: list[tuple[str, QPointF]] = []
    search.chosen.connect(lambda name, pos: got.append((name, pos)))
    search.open_at(QPoint(0, 0), QPointF(1, 1))
    qtbot.keyClicks(search.edit, "mat")
    QTest.keyClick(search.edit, Qt.Key.Key_Escape)
    assert not search.isVisible()
    assert got == []


def test_search_no_match_chooses_nothing(qtbot, search: NodeSearch) -> None:
    got: list[str] = []
    search.chosen.connect(lambda name, _pos: got.append(name))
    search.open_at(QPoint(0, 0), QPointF())
    qtbot.keyClicks(search.edit, "zzz")
    assert _list_names(search) == []
    assert search.choose_current() is None
    QTest.keyClick(search.edit, Qt.Key.Key_Return)
    assert got == []
    assert search.isVisible()


def test_search_says_no_op_matches_instead_of_an_empty_list(qtbot, search: NodeSearch) -> None:
    search.open_at(QPoint(0, 0), QPointF())
    assert not search.no_match.isVisible() and search.list.isVisible()
    qtbot.keyClicks(search.edit, "frobnicate")
    assert search.no_match.isVisible() and not search.list.isVisible()
    assert search.no_match.text().startswith("no op matches “frobnicate”")
    for _ in range(len("frobnicate") - 3):  # back to "fro": nothing yet; "f" matches "f"-ops again
        QTest.keyClick(search.edit, Qt.Key.Key_Backspace)
    assert search.no_match.text().startswith("no op matches “fro”")
    QTest.keyClick(search.edit, Qt.Key.Key_Backspace)
    QTest.keyClick(search.edit, Qt.Key.Key_Backspace)
    assert _list_names(search) and search.list.isVisible() and not search.no_match.isVisible()
    search.edit.setText("zzz")
    search.open_at(QPoint(0, 0), QPointF())  # reopening clears the text and the message
    assert search.list.isVisible() and not search.no_match.isVisible()


def test_search_reopen_clears_text_and_uses_new_scene_pos(qtbot, search: NodeSearch) -> None:
    search.open_at(QPoint(0, 0), QPointF(1, 1))
    qtbot.keyClicks(search.edit, "relu")
    QTest.keyClick(search.edit, Qt.Key.Key_Escape)
    search.open_at(QPoint(10, 10), QPointF(7, 8))
    assert search.edit.text() == ""
    assert _list_names(search) == ALL_NAMES
    with qtbot.waitSignal(search.chosen, timeout=1000) as blocker:
        search.choose_current()
    assert blocker.args == [TENSOR, QPointF(7, 8)]


def test_nodes_added_from_the_palette_one_after_another_never_cover_each_other(qtbot, window) -> None:  # noqa: ANN001
    """Each Enter in the palette adds at the view's centre: the second and third go just above
    or below the nodes there, none hidden under another, and Tab-search onto a node does too."""
    for op in ("tensor", "tensor", "mul", "matmul"):
        window.palette.opActivated.emit(op)
    scene = window.scene
    centre = window.view.mapToScene(window.view.viewport().rect().center())
    window.search.chosen.emit("exp", scene.nodes["a"].pos() + QPointF(20, 20))  # onto a
    boxes = {n: QRectF(item.pos(), QSizeF(item.width(), item.height())) for n, item in scene.nodes.items()}
    assert sorted(boxes) == ["a", "b", "exp1", "matmul1", "mul1"]
    for (m, one), (n, other) in itertools.combinations(boxes.items(), 2):
        assert not one.intersects(other), (m, n)
    for n in ("a", "b", "mul1", "matmul1"):  # a column through the centre, not scattered
        assert boxes[n].left() == pytest.approx(centre.x(), abs=0.1) and abs(boxes[n].top() - centre.y()) < 600
    assert boxes["exp1"].left() == pytest.approx(boxes["a"].left() + 20, abs=0.1)


def test_each_node_the_palette_adds_is_scrolled_into_view(qtbot, window) -> None:  # noqa: ANN001
    """The free place for the sixth node at the centre is off a small canvas: the view follows."""
    window.resize(900, 600)
    qtbot.waitUntil(lambda: window.width() <= 900)
    view = window.view
    for i in range(6):
        window.palette.opActivated.emit("sigmoid")
        item = window.scene.nodes[f"sigmoid{i + 1}"]
        shown = view.mapToScene(view.viewport().rect()).boundingRect()
        assert shown.contains(item.sceneBoundingRect()), i
