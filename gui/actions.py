"""The window's menus and toolbar, and the one rule for the shortcuts of its actions.

Platforms bind the standard keys differently: Redo is Ctrl+Y (and Ctrl+Shift+Z) on the offscreen
platform and on Windows but only Ctrl+Shift+Z under X11, where Delete is also Ctrl+D. Giving an
action Ctrl+Shift+Z by hand on top of X11's own makes Qt see it twice ("Ambiguous shortcut
overload") and run nothing. So every action gets its keys here, in one pass over the window:

- `key_sequences` expands each `QKeySequence.StandardKey` to this platform's bindings and adds
  the extra keys given as portable text ("Ctrl+Y"), each sequence once;
- `assign_shortcuts` does that for every action of a window together: a key an action names
  itself beats another action's platform binding (Duplicate keeps Ctrl+D; X11's Delete loses
  it), the canvas's own keys (`CANVAS_KEYS`) are never taken, and otherwise the first action to
  claim a sequence keeps it;
- `shortcut_clashes` lists the sequences that two of a window's actions (or shortcuts, or the
  canvas) share; a test runs it under the offscreen and the xcb platform.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QLabel, QWidget

from gui import clipboard, group_commands
from gui.fields import enter_typing

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "resources" / "examples"

Keys = QKeySequence.StandardKey | str  # a platform's standard binding, or portable text

# Keys the canvas handles itself (gui/canvas/view.py); no window action may take them, or the
# canvas would never see them.
CANVAS_KEYS = {"Tab": "open the node search", "Space": "pan while held", "Esc": "cancel the gesture",
               "Backspace": "delete the selection",
               **dict.fromkeys(("Left", "Right", "Up", "Down"), "select the nearest node that way")}  # keyboard.py
# Canvas keys one window action shares by design: the canvas and its value editor claim them
# (ShortcutOverride) only while a gesture or an edit is in progress; otherwise the action has them.
SHARED_WITH_CANVAS = {"Esc": "Cancel computing"}

PORTABLE = QKeySequence.SequenceFormat.PortableText
SHEET_NAME = "sheet_name"  # an action property: its name on the shortcut sheet, where its text changes


def portable(seq: QKeySequence) -> str:
    return seq.toString(PORTABLE)


def expand(key: Keys) -> list[QKeySequence]:
    """This platform's sequences for a standard key, or the one sequence portable text names."""
    if isinstance(key, QKeySequence.StandardKey):
        return list(QKeySequence.keyBindings(key))
    seq = QKeySequence(key)
    if seq.isEmpty():
        raise ValueError(f"not a key sequence: {key!r}")
    return [seq]


def key_sequences(*keys: Keys, taken: Iterable[str] = ()) -> list[QKeySequence]:
    """The shortcuts of one action, in order (the first is the one menus show): each key
    expanded by `expand`, leaving out a sequence already in the list or in `taken` (portable
    text of sequences that belong to something else)."""
    seen = set(taken)
    out: list[QKeySequence] = []
    for key in keys:
        for seq in expand(key):
            text = portable(seq)
            if not seq.isEmpty() and text not in seen:
                seen.add(text)
                out.append(seq)
    return out


def assign_shortcuts(plan: Sequence[tuple[QAction, Sequence[Keys]]],
                     reserved: Iterable[str] = CANVAS_KEYS) -> None:
    """Give every action of `plan` its keys so that no two share a sequence (see the module
    doc). Two actions naming the same key themselves is a mistake in the plan: ValueError."""
    named: dict[str, QAction] = {}
    for action, keys in plan:
        for key in keys:
            if isinstance(key, str):
                text = portable(QKeySequence(key))
                if named.get(text, action) is not action:
                    raise ValueError(f"{text} is named by both {named[text].text()!r} and {action.text()!r}")
                named[text] = action
    used = set(reserved)
    for action, keys in plan:
        others = {text for text, owner in named.items() if owner is not action}
        seqs = key_sequences(*keys, taken=used | others)
        action.setShortcuts(seqs)
        used.update(portable(s) for s in seqs)


def window_actions(root: QWidget) -> list[QAction]:
    """Every action of a window, once: its children's and those added to any of its widgets."""
    found: dict[int, QAction] = {}
    for action in root.findChildren(QAction):
        found.setdefault(id(action), action)
    for widget in (root, *root.findChildren(QWidget)):
        for action in widget.actions():
            found.setdefault(id(action), action)
    return list(found.values())


def shortcut_owners(root: QWidget) -> dict[str, list[str]]:
    """Portable key text → what it triggers in this window: actions (by text), QShortcuts and
    the canvas's own keys."""
    owners: dict[str, list[str]] = defaultdict(list)
    for key, what in CANVAS_KEYS.items():
        owners[key].append(f"canvas: {what}")
    for action in window_actions(root):
        for seq in action.shortcuts():
            owners[portable(seq)].append(plain_text(action.text()) or action.objectName() or "an action")
    for shortcut in root.findChildren(QShortcut):
        for seq in shortcut.keys():
            owners[portable(seq)].append(shortcut.objectName() or "a QShortcut")
    return dict(owners)


def shortcut_clashes(root: QWidget) -> dict[str, list[str]]:
    """The key sequences more than one thing in the window answers to (should be none; a key of
    SHARED_WITH_CANVAS held by the canvas and its one named action is not a clash)."""
    def by_design(key: str, who: list[str]) -> bool:
        return key in SHARED_WITH_CANVAS and sorted(who) == sorted(
            [f"canvas: {CANVAS_KEYS[key]}", SHARED_WITH_CANVAS[key]])

    return {key: who for key, who in shortcut_owners(root).items() if len(who) > 1 and not by_design(key, who)}


def plain_text(text: str) -> str:
    """A menu text without its mnemonic marks: "Save &As…" → "Save As…"."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def mnemonic(text: str) -> str | None:
    """The letter Alt (or the key alone, in an open menu) reaches a menu item by: "Save &As…" → "a"."""
    marked = text.replace("&&", "")
    at = marked.find("&")
    return marked[at + 1].lower() if 0 <= at < len(marked) - 1 else None


def make_action(parent: QObject, text: str, slot: Callable[..., Any]) -> QAction:
    action = QAction(text, parent)
    action.triggered.connect(slot)
    return action


# The export and import dialogs load when first used: ~25 ms of every launch otherwise.
def _export_dialog():  # noqa: ANN202 - the gui.export_dialog module
    from gui import export_dialog

    return export_dialog


def _import_dialog():  # noqa: ANN202 - the gui.import_dialog module
    from gui import import_dialog

    return import_dialog


def build_menus(w: Any) -> None:  # noqa: ANN401 - a gui.window.MainWindow (importing it would make a cycle)
    """File, Edit, View and Help menus of the main window, each action's keys by `assign_shortcuts`."""
    S = QKeySequence.StandardKey  # noqa: N806
    plan: list[tuple[QAction, Sequence[Keys]]] = []

    def add(menu, text: str, slot: Callable[..., Any], *keys: Keys) -> QAction:  # noqa: ANN001
        action = make_action(w, text, slot)
        menu.addAction(action)
        plan.append((action, keys))
        return action

    bar = w.menuBar()
    file_menu = bar.addMenu("&File")
    add(file_menu, "&New", w.new_document, S.New)
    add(file_menu, "&Open…", w.open_dialog, S.Open)
    w.recent_menu = file_menu.addMenu("Open &Recent")
    w.examples_menu = file_menu.addMenu("&Examples")
    w.lessons_menu = file_menu.addMenu("&Lessons")  # gui.lessons.install fills it
    for number, path in enumerate(sorted(EXAMPLES_DIR.glob("*.json")), 1):
        title = f"&{number} " + path.stem.split("_", 1)[-1].replace("_", " ")
        w.examples_menu.addAction(make_action(w, title, lambda _=False, p=path: w.open_file(str(p))))
    add(file_menu, "&Import Python…", lambda: _import_dialog().importer(w).ask())  # runs the file: asks first
    file_menu.addSeparator()
    add(file_menu, "&Save", w.save_document, S.Save)
    add(file_menu, "Save &As…", w.save_as, S.SaveAs)
    add(file_menu, "Export &Python…", lambda: _export_dialog().ask(w), "Ctrl+E")
    add(file_menu, "Export canvas i&mage…", lambda: _export_dialog().export_image(w))
    file_menu.addSeparator()
    add(file_menu, "&Quit", w.close, S.Quit, "Ctrl+Q")  # offscreen has no Quit binding

    edit = bar.addMenu("&Edit")
    undo = w.doc.undo_stack.createUndoAction(w, "&Undo")
    redo = w.doc.undo_stack.createRedoAction(w, "&Redo")
    edit.addActions([undo, redo])
    for action, name in ((undo, "Undo"), (redo, "Redo")):  # their text names the next step: "Undo Paste 1 node(s)"
        action.setProperty(SHEET_NAME, name)
    plan += [(undo, (S.Undo, "Ctrl+Z")), (redo, (S.Redo, "Ctrl+Shift+Z", "Ctrl+Y"))]
    edit.addSeparator()
    cut = add(edit, "Cu&t", w.cut, S.Cut)
    copy = add(edit, "&Copy", w.copy, S.Copy)
    add(edit, "&Paste", w.paste, S.Paste)
    add(edit, "Dupl&icate", w.duplicate, "Ctrl+D")
    add(edit, "&Delete", w.delete_selection, S.Delete)
    select_all = add(edit, "Select &All", w._select_all, S.SelectAll)
    edit.addSeparator()
    w.layout_action = add(edit, "Auto-&layout", lambda: [w.say(note) for note in w.doc.auto_layout()], "Ctrl+L")
    add(edit, "Make selected node the targ&et", w._target_selected, "Ctrl+T")
    group = add(edit, "&Group selection", lambda: group_commands.group_selection(w), "Ctrl+G")
    add(edit, "Ungr&oup", lambda: group_commands.ungroup_selection(w), "Ctrl+Shift+G")
    add(edit, "Re&name group…", lambda: group_commands.rename_dialog(w))
    add(edit, "Collapse / e&xpand group", lambda: group_commands.toggle_selection(w))  # the header's double-click
    edit.addSeparator()
    add(edit, "&Memory limit…", lambda: w.memory.edit() and w.schedule_recompute())

    view = w.view_menu = bar.addMenu("&View")  # features add their toggles to it (gui.canvas.flowview)
    w.fit_action = add(view, "&Fit graph", w.view.fit_graph, "Ctrl+0")
    add(view, "Zoom &in", lambda: w.view.zoom(1.25), S.ZoomIn, "Ctrl+=")
    add(view, "Zoom &out", lambda: w.view.zoom(0.8), S.ZoomOut)
    # Gradient flow and Step backward add their toggles; gui.layout_state those of every dock
    # and toolbar, and Reset layout, once all are built.

    # What the Run and Train toolbars do, for the keyboard: the toolbar's Compute and Cancel,
    # then gradcheck and training add theirs (gui.calculus, gui.train).
    w.run_menu = bar.addMenu("&Run")

    help_menu = bar.addMenu("&Help")
    add(help_menu, "&Keyboard shortcuts", w.show_shortcuts, S.HelpContents, "F1")
    help_menu.addSeparator()
    add(help_menu, "&About GradCanvas", w.show_about)

    assign_shortcuts(plan)
    for action, _keys in plan:
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)

    # The canvas's right-click menus offer the Edit and View menus' actions that act there (the
    # node's menu selects its node first), shortcuts shown beside them.
    w.scene.node_edit_actions = [cut, copy, group]

    def canvas_extras(menu, scene_pos) -> None:  # noqa: ANN001 - a QMenu, a QPointF
        menu.addSeparator()
        here = menu.addAction("Paste here", lambda: clipboard.paste_at(w, (scene_pos.x(), scene_pos.y())))
        here.setEnabled(clipboard.has_graph_text())
        menu.addActions([select_all, w.fit_action])

    w.scene.canvas_menu_extras.append(canvas_extras)


def build_toolbar(w: Any) -> None:  # noqa: ANN401 - a gui.window.MainWindow
    """The Run toolbar: device, dtype, Compute / Cancel, Fit / Layout / Clear target, and the
    grad-output box."""
    from gui.devices import DeviceBox
    from gui.grad_output import GradOutputBox

    bar = w.run_toolbar = w.addToolBar("Run")
    bar.setObjectName("Run")
    bar.addWidget(QLabel(" device "))
    w.device_box = DeviceBox(w.computer)
    w.device_box.currentTextChanged.connect(lambda _t: w.schedule_recompute())
    bar.addWidget(w.device_box)
    bar.addWidget(QLabel("  dtype "))
    w.dtype_box = QComboBox()
    w.dtype_box.addItems(["per node", "float32", "float64"])
    w.dtype_box.currentTextChanged.connect(lambda _t: w.schedule_recompute())
    bar.addWidget(w.dtype_box)
    bar.addSeparator()
    # Cancel stops the running compute (Esc too, unless a canvas gesture or editor takes it);
    # Compute runs again what a Cancel stopped (F5).
    w.compute_action = make_action(w, "&Compute", lambda: (enter_typing(), w.schedule_recompute()))
    w.compute_action.setShortcut(QKeySequence("F5"))
    w.compute_action.setToolTip("Compute values and partials again (F5)")
    w.cancel_action = make_action(w, SHARED_WITH_CANVAS["Esc"].replace("Cancel", "C&ancel"), w.cancel_compute)
    w.cancel_action.setIconText("Cancel")
    w.cancel_action.setShortcut(QKeySequence("Esc"))
    w.cancel_action.setToolTip("Stop the running compute at its next op (Esc)")
    w.cancel_action.setEnabled(False)
    w.computer.computingChanged.connect(w.cancel_action.setEnabled)
    for action in (w.compute_action, w.cancel_action):
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        bar.addAction(action)
    bar.addSeparator()
    w.fit_action.setIconText("Fit")  # the View and Edit menus' own actions, named short here
    w.layout_action.setIconText("Layout")
    bar.addActions([w.fit_action, w.layout_action])
    clear_target = make_action(w, "C&lear target", lambda: w.doc.choose_target(None))
    bar.addAction(clear_target)
    w.run_menu.addActions([w.compute_action, w.cancel_action, clear_target])
    bar.addSeparator()
    bar.addWidget(QLabel(" grad-output "))
    # A non-scalar target needs the vector v of backward(gradient=v); each target keeps its own.
    w.grad_output_edit = GradOutputBox(w.doc)
    w.grad_output_edit.edited.connect(w._on_grad_output_edited)  # noqa: SLF001 - the window's own slot
    w.grad_output_edit.refused.connect(w.say)
    bar.addWidget(w.grad_output_edit)
