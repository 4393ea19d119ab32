"""Help: the keyboard-shortcut sheet (F1) and About.

The sheet is generated each time it opens from the window's own actions, menu by menu, with the
keys those actions have on this platform in native text, so it cannot drift from what the keys
do. Canvas gestures are not actions; they are listed from `GESTURES`.
"""

from __future__ import annotations

import html
import platform

from PySide6 import __version__ as PYSIDE_VERSION
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMainWindow, QMenu, QTextBrowser, QVBoxLayout, QWidget

from graph.safetext import visible
from gui.actions import SHEET_NAME, plain_text, window_actions

NATIVE = QKeySequence.SequenceFormat.NativeText

# What the canvas does with the mouse and its own keys (gui/canvas/): (gesture, what it does).
GESTURES: tuple[tuple[str, str], ...] = (
    ("Tab, or double-click the empty canvas", "search the ops and add one where you are looking"),
    ("drag from an output dot to an input dot", "wire them (a wire that cannot be made turns red and says why)"),
    ("Alt-drag across wires", "cut them"),
    ("drag on the empty canvas", "select the nodes in the rectangle"),
    ("Space-drag, or middle-drag", "pan"),
    ("mouse wheel", "zoom"),
    ("Esc", "cancel the gesture in progress: a wire, a cut, a move or a selection rectangle; "
            "with none, stop the running compute or training run"),
    ("Esc in a text field", "take back what was typed and not yet entered (Enter enters it; so do Save, "
                            "Compute and closing)"),
    ("click ∂ on a node", "make it the target: every node shows ∂target/∂node (saved with the file, "
                          "one undo step)"),
    ("double-click a tensor", "edit its value in place (Enter sets it, Esc cancels)"),
    ("drag sideways on a scalar leaf's number", "scrub it: every node follows live; Shift for fine steps, "
                                                "Esc puts it back, one undo step"),
    ("drag a group's title band, or its collapsed box", "move every node in it, one undo step (Esc puts them back)"),
    ("click ▾ / ▸, or double-click a group's title band", "collapse it to one box, or open it again"),
    ("right-click", "on the empty canvas: add a node there; on a node or a wire: what can be done with it"),
    ("Del or Backspace", "delete the selected nodes and wires"),
    ("arrow keys", "select the nearest node that way (with none selected, the one nearest the centre); "
                   "the view follows it"),
    ("Shift+arrow", "add the node that way to the selection"),
    ("Ctrl+arrow or Alt+arrow", "pan"),
)

OTHER_SECTION = "Other"


def on_a_keyboard(seq: QKeySequence) -> bool:
    """A sequence a usual keyboard can type: not F13 and up, nor media keys such as 'Undo'."""
    key = seq[0].key() if seq.count() else Qt.Key.Key_unknown
    return int(key) < int(Qt.Key.Key_Escape) or int(Qt.Key.Key_Escape) <= int(key) <= int(Qt.Key.Key_F12)


def keys_text(action: QAction) -> list[str]:
    """An action's shortcuts as this platform writes them, those a keyboard can type."""
    return [seq.toString(NATIVE) for seq in action.shortcuts() if on_a_keyboard(seq)]


def sheet_name(action: QAction) -> str:
    """An action's name on the sheet: its SHEET_NAME where its text changes (Undo, Redo), else its text."""
    return action.property(SHEET_NAME) or plain_text(action.text())


def shortcut_rows(window: QMainWindow) -> list[tuple[str, str, list[str]]]:
    """(menu, action text, native key texts) for every action of the window that has keys: menu
    by menu in menu order, then any others (toolbar, canvas) under OTHER_SECTION."""
    rows: list[tuple[str, str, list[str]]] = []
    listed: set[int] = set()

    def walk(menu: QMenu, section: str) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu(), section)
            elif not action.isSeparator() and id(action) not in listed:
                listed.add(id(action))
                if keys_text(action):
                    rows.append((section, sheet_name(action), keys_text(action)))

    for top in window.menuBar().actions():
        if top.menu() is not None:
            walk(top.menu(), plain_text(top.text()))
    for action in window_actions(window):
        if id(action) not in listed and keys_text(action):
            listed.add(id(action))
            rows.append((OTHER_SECTION, sheet_name(action), keys_text(action)))
    return rows


def sheet_html(window: QMainWindow) -> str:
    e = html.escape
    parts = ["<h2>Keyboard shortcuts</h2>",
             "<p>Read from this window's menus: the keys work as listed here, on this platform.</p>"]
    section = None
    for menu, text, keys in shortcut_rows(window):
        if menu != section:
            if section is not None:
                parts.append("</table>")
            parts.append(f"<h3>{e(menu)}</h3><table cellspacing='0' cellpadding='3'>")
            section = menu
        parts.append(f"<tr><td width='200'><b>{e(', '.join(keys))}</b></td><td>{e(text)}</td></tr>")
    if section is not None:
        parts.append("</table>")
    parts.append("<h3>On the canvas</h3><table cellspacing='0' cellpadding='3'>")
    parts += [f"<tr><td width='200'><b>{e(g)}</b></td><td>{e(what)}</td></tr>" for g, what in GESTURES]
    parts.append("</table>")
    return "\n".join(parts)


class ShortcutSheet(QDialog):
    """A non-modal window with the sheet; `refresh` regenerates it from the window's actions."""

    def __init__(self, window: QMainWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent or window)
        self._window = window
        self.setWindowTitle("Keyboard shortcuts — GradCanvas")
        self.browser = QTextBrowser(self)
        self.browser.setOpenLinks(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(560, 640)

    def refresh(self) -> None:
        self.browser.setHtml(sheet_html(self._window))

    def text(self) -> str:
        return self.browser.toPlainText()


def _version(package: str = "gradcanvas") -> str:
    from importlib import metadata  # here: importing it costs ~25 ms of every launch, for the About box

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def about_text() -> str:
    # torch's version from its installed metadata: the window never imports torch (it computes
    # in its compute process, gui/worker_process.py).
    versions = [f"Python {platform.python_version()}", f"Qt {qVersion()}", f"PySide6 {PYSIDE_VERSION}",
                f"torch {_version('torch')}"]
    return (f"<h3>GradCanvas {html.escape(_version())}</h3>"
            "<p>A canvas for seeing partial derivatives: wire tensors and ops, click ∂ on a node, and every "
            "node shows its value and ∂target/∂node as PyTorch's autograd computes them. "
            "File &gt; Export writes a plain torch script that prints the same numbers.</p>"
            f"<p>{html.escape(', '.join(versions))}</p>"
            "<p>Help &gt; Keyboard shortcuts (F1) lists every key and canvas gesture.</p>")


def example_grad_output(shape: tuple[int, ...]) -> str:
    """A grad-output of this shape that picks the first element, written out when small."""
    count = 1
    for n in shape:
        count *= n
    if count > 8:
        return f"a JSON list shaped {list(shape)}"

    def nested(dims: tuple[int, ...], first: bool) -> str:
        if not dims:
            return "1" if first else "0"
        return "[" + ", ".join(nested(dims[1:], first and i == 0) for i in range(dims[0])) + "]"

    return nested(shape, True)


def grad_output_hint(target: str, shape: tuple[int, ...]) -> str:
    """What the status bar says when a target that is not a scalar has no grad-output."""
    return (f"target {visible(target)} has shape {list(shape)}: type the grad-output v of backward(gradient=v) "
            f"in the toolbar, e.g. {example_grad_output(shape)}")
