"""The canvas's right-click menus offer the Edit and View actions that act there: a node's menu
Cut, Copy and Group selection (on the node it selects); the empty canvas's Paste here (the copied
nodes' top-left corner where the menu opened), Select All and Fit graph."""

from __future__ import annotations

from PySide6.QtCore import QPointF

from graph.groups import members
from gui import clipboard


def texts(menu) -> list[str]:  # noqa: ANN001 - a QMenu
    return [a.text().replace("&", "").split("\t")[0] for a in menu.actions() if not a.isSeparator()]


def test_a_nodes_menu_has_cut_copy_and_group(window, examples_dir) -> None:  # noqa: ANN001
    window.open_file(str(examples_dir / "01_scalar_partial.json"))
    menu = window.scene.node_menu("x")
    assert {"Cut", "Copy", "Group selection", "Duplicate", "Delete"} <= set(texts(menu))
    window.scene.select_nodes(["x", "z"])
    next(a for a in menu.actions() if a.text() == "&Group selection").trigger()
    g = window.doc.graph
    assert [sorted(members(g, gid)) for gid in g.groups] == [["x", "z"]]


def test_the_canvas_menu_pastes_where_it_opened(window, examples_dir) -> None:  # noqa: ANN001
    w = window
    w.open_file(str(examples_dir / "01_scalar_partial.json"))
    w.scene.select_nodes(["x", "x_sq"])
    w.copy()
    menu = w.scene.canvas_menu(QPointF(2000.0, 1500.0))
    assert {"Paste here", "Select All", "Fit graph"} <= set(texts(menu))
    here = next(a for a in menu.actions() if a.text() == "Paste here")
    assert here.isEnabled() and clipboard.has_graph_text()
    before = set(w.doc.graph.nodes)
    here.trigger()
    new = sorted(set(w.doc.graph.nodes) - before)
    assert len(new) == 2 and sorted(w.scene.selected_node_ids()) == new
    spots = [w.doc.graph.position(n) for n in new]
    assert (min(x for x, _ in spots), min(y for _, y in spots)) == (2000.0, 1500.0)  # x was at (0, 0)
    w.doc.undo_stack.undo()
    assert set(w.doc.graph.nodes) == before


def test_paste_here_is_off_with_nothing_to_paste(window) -> None:  # noqa: ANN001
    from PySide6.QtGui import QGuiApplication

    QGuiApplication.clipboard().clear()
    menu = window.scene.canvas_menu(QPointF(0, 0))  # held: its actions go with it
    assert not next(a for a in menu.actions() if a.text() == "Paste here").isEnabled()


def test_every_edit_action_of_a_nodes_menu_acts_on_the_selection(window, examples_dir) -> None:  # noqa: ANN001
    """Right-click inside a selection of three: Delete removed the clicked node alone while Cut
    took all three."""
    window.open_file(str(examples_dir / "01_scalar_partial.json"))
    doc = window.doc
    for item in ("Delete", "Duplicate"):
        window.scene.select_nodes(["x", "z", "two"])
        before = set(doc.graph.nodes)
        menu = window.scene.node_menu("x")  # x is in the selection: it stays as it is
        assert sorted(window.scene.selected_node_ids()) == ["two", "x", "z"]
        next(a for a in menu.actions() if a.text().startswith(item)).trigger()
        changed = set(doc.graph.nodes) ^ before
        assert len(changed) == 3, (item, changed)
        doc.undo_stack.undo()
    window.scene.select_nodes(["z"])
    menu = window.scene.node_menu("x")  # outside the selection: the node alone, as a right-click selects it
    assert window.scene.selected_node_ids() == ["x"]
    assert "Duplicate\tCtrl+D" in [a.text() for a in menu.actions()]


NO_POSITIONS = ('{"format": "gradcanvas", "version": 2, "nodes": ['
                '{"id": "a", "op": "tensor", "value": 1.0}, {"id": "b", "op": "tensor", "value": 2.0},'
                '{"id": "s", "op": "add"}], "edges": [{"from": "a", "to": "s", "port": "input"},'
                '{"from": "b", "to": "s", "port": "other"}]}')


def test_nodes_pasted_without_positions_are_laid_out_not_stacked(window) -> None:  # noqa: ANN001
    """A fragment with no "pos" (written by hand): every node landed on one spot."""
    text = NO_POSITIONS
    before = set(window.doc.graph.nodes)
    clipboard.paste_text(window, text)
    new = sorted(set(window.doc.graph.nodes) - before)
    spots = {window.doc.graph.position(n) for n in new}
    assert len(new) == 3 and len(spots) == 3, spots
    xs = {n: window.doc.graph.position(n)[0] for n in new}
    assert xs["s"] > xs["a"] and xs["s"] > xs["b"]  # the sum to the right of its inputs


def test_paste_here_puts_a_laid_out_fragment_at_the_click(window) -> None:  # noqa: ANN001
    """Paste here measured the top-left from the positions the text has, not from where the paste
    lays out a fragment without them."""
    from PySide6.QtCore import QMimeData
    from PySide6.QtGui import QGuiApplication

    data = QMimeData()
    data.setText(NO_POSITIONS)
    QGuiApplication.clipboard().setMimeData(data)
    before = set(window.doc.graph.nodes)
    clipboard.paste_at(window, (3000.0, 2000.0))
    spots = [window.doc.graph.position(n) for n in set(window.doc.graph.nodes) - before]
    assert len(set(spots)) == 3
    assert (min(x for x, _ in spots), min(y for _, y in spots)) == (3000.0, 2000.0)
    # Again, with a node where the sum would land: the paste moves on (the free-spot check took
    # every node of such text to be at its corner, and put s on top of k)
    from graph.edits import paste_positions
    from graph.fileformat import loads
    from graph.model import Node

    s_x, s_y = paste_positions(loads(NO_POSITIONS))["s"]
    window.doc.add_node(Node("k", "tensor", value=0.0), (5000.0 + s_x, 2000.0 + s_y))
    before = set(window.doc.graph.nodes)
    clipboard.paste_at(window, (5000.0, 2000.0))
    new = set(window.doc.graph.nodes) - before
    assert len(new) == 3 and window.doc.graph.position("k") not in {window.doc.graph.position(n) for n in new}
