"""The Edit menu's group commands on the selection: Group (Ctrl+G), Ungroup (Ctrl+Shift+G),
Rename group…, and Collapse / expand group (the keyboard's ▾). Each is one undo step of the
document (gui.document); the canvas draws groups in gui.canvas.groups."""

from __future__ import annotations

from graph import groups as model
from graph.safetext import visible


def selected_group(window) -> str | None:  # noqa: ANN001 - a gui.window.MainWindow
    """The innermost group holding every selected node."""
    nodes = window.scene.selected_node_ids()
    return model.common_group(window.doc.graph, nodes) if nodes else None


def group_selection(window) -> None:  # noqa: ANN001
    nodes = window.scene.selected_node_ids()
    if not nodes:
        window.say("select the nodes to group first")
        return
    group_id = window.doc.group(nodes)
    window.say(f"grouped {len(nodes)} node(s) as {group_id}")


def ungroup_selection(window) -> None:  # noqa: ANN001
    group_id = selected_group(window)
    if group_id is None:
        window.say("the selected nodes are in no group")
        return
    window.doc.ungroup(group_id)
    window.say(f"ungrouped {visible(group_id)}")


def toggle_selection(window) -> None:  # noqa: ANN001
    """Edit > Collapse / expand group, the keyboard's way (the mouse double-clicks the header):
    a selected node hidden in a collapsed group (Find node selects one) opens that group; else
    the innermost group of the selection collapses or expands. One undo step."""
    selected = window.scene.selected_node_ids()
    hiding = [window.scene.groups.hidden[n] for n in selected if n in window.scene.groups.hidden]
    group_id = hiding[0] if hiding else selected_group(window)
    if group_id is None:
        window.say("the selected nodes are in no group" if selected else "select a node of the group first")
        return
    collapse = not window.doc.graph.groups[group_id].collapsed
    window.doc.set_collapsed(group_id, collapse)
    window.say(f"{'collapsed' if collapse else 'expanded'} group {visible(group_id)}")


def rename_dialog(window) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QInputDialog

    from graph.errors import ValueSpecError

    group_id = selected_group(window)
    if group_id is None:
        window.say("the selected nodes are in no group")
        return
    group = window.doc.graph.groups[group_id]
    label, ok = QInputDialog.getText(window, "Rename group", f"Label of group {visible(group_id)}:",
                                     text=group.label or "")
    if ok:
        try:
            window.doc.rename_group(group_id, label)
        except ValueSpecError as e:
            window.say(visible(e.message))
