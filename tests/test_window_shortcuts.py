"""Shortcuts and the Help menu, offscreen with pytest-qt: one rule assigns keys (platform keys
plus extra ones, once each, giving way to keys named elsewhere), no two actions share a key,
Ctrl+Y and Ctrl+Shift+Z both redo, F1 shows a sheet generated from the actions, and About does
not block and names the version."""

from __future__ import annotations

import dataclasses

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtTest import QTest
from window_driver import CTRL, SHIFT, action_for, load_fixture, press_key

from gui.actions import CANVAS_KEYS, assign_shortcuts, key_sequences, portable, shortcut_clashes, window_actions
from gui.help import GESTURES, shortcut_rows
from gui.window import MainWindow


def test_no_two_actions_share_a_key_sequence(window: MainWindow) -> None:
    """Offscreen here; tests/test_x11.py runs the same check under xcb, whose bindings differ."""
    assert shortcut_clashes(window) == {}
    with_keys = [a for a in window_actions(window) if a.shortcuts()]
    assert len(with_keys) >= 20  # menus, undo stack and help are all seen
    # The check can fail: a second action on Ctrl+Z, or one on a key the canvas handles itself.
    extra = QAction("another undo", window)
    extra.setShortcut(QKeySequence("Ctrl+Z"))
    window.view.addAction(QAction("tab thief", window.view, shortcut=QKeySequence("Tab")))
    window.addAction(extra)
    clashes = shortcut_clashes(window)
    assert set(clashes) == {"Ctrl+Z", "Tab"}
    assert sorted(clashes["Ctrl+Z"]) == ["Undo", "another undo"]


def test_each_action_has_its_platform_keys_plus_its_extra_ones_once(window: MainWindow) -> None:
    S = QKeySequence.StandardKey  # noqa: N806
    redo = action_for(window, "Ctrl+Y")
    keys = [portable(s) for s in redo.shortcuts()]
    assert len(keys) == len(set(keys))
    assert {"Ctrl+Y", "Ctrl+Shift+Z"} <= set(keys)
    assert set(keys) >= {portable(s) for s in QKeySequence.keyBindings(S.Redo)}
    for standard, key in ((S.Undo, "Ctrl+Z"), (S.Copy, "Ctrl+C"), (S.Paste, "Ctrl+V"), (S.Cut, "Ctrl+X"),
                          (S.Save, "Ctrl+S"), (S.HelpContents, "F1")):
        action = action_for(window, key)
        have = [portable(s) for s in action.shortcuts()]
        assert len(have) == len(set(have)), key
        assert set(have) >= {portable(s) for s in QKeySequence.keyBindings(standard)}, key
    assert action_for(window, "Ctrl+D").text() == "Dupl&icate"
    assert action_for(window, "Ctrl+Q").text() == "&Quit"  # offscreen binds no Quit key: added


def test_the_shortcut_rule_dedupes_and_gives_way(qtbot) -> None:  # noqa: ANN001
    S = QKeySequence.StandardKey  # noqa: N806
    seqs = [portable(s) for s in key_sequences(S.Redo, "Ctrl+Shift+Z", "Ctrl+Y", "Ctrl+Y")]
    assert len(seqs) == len(set(seqs)) and seqs[0] == portable(QKeySequence.keyBindings(S.Redo)[0])
    assert "Tab" not in [portable(s) for s in key_sequences("Tab", "F2", taken=CANVAS_KEYS)]
    # A key another action names itself beats a platform binding (X11's Delete has Ctrl+D).
    redo, other, tab = QAction("redo"), QAction("other"), QAction("tab")
    assign_shortcuts([(redo, (S.Redo,)), (other, ("Ctrl+Shift+Z",)), (tab, ("Tab", "F3"))])
    assert "Ctrl+Shift+Z" not in [portable(s) for s in redo.shortcuts()]
    assert [portable(s) for s in other.shortcuts()] == ["Ctrl+Shift+Z"]
    assert [portable(s) for s in tab.shortcuts()] == ["F3"]  # the canvas keeps Tab
    with pytest.raises(ValueError, match="Ctrl\\+K"):
        assign_shortcuts([(QAction("a"), ("Ctrl+K",)), (QAction("b"), ("Ctrl+K",))])


def test_ctrl_y_and_ctrl_shift_z_both_redo(qtbot, window: MainWindow) -> None:
    load_fixture(window)
    stack = window.doc.undo_stack
    window.doc.edit_node(dataclasses.replace(window.doc.graph.nodes["z"], value=10.0))
    for redo_key, mod in ((Qt.Key.Key_Y, CTRL), (Qt.Key.Key_Z, CTRL | SHIFT)):
        press_key(qtbot, window, Qt.Key.Key_Z, CTRL)
        assert stack.index() == 0 and window.doc.graph.nodes["z"].value == 3.0
        press_key(qtbot, window, redo_key, mod)
        assert stack.index() == 1 and window.doc.graph.nodes["z"].value == 10.0


def _native(key: str) -> str:
    return QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)


def test_f1_shows_a_shortcut_sheet_generated_from_the_actions(qtbot, window: MainWindow) -> None:
    menus = [plain for plain in (a.text().replace("&", "") for a in window.menuBar().actions())]
    assert menus[-1] == "Help"
    help_texts = [a.text() for a in window.menuBar().actions()[-1].menu().actions() if not a.isSeparator()]
    assert help_texts == ["&Keyboard shortcuts", "&About GradCanvas"]
    press_key(qtbot, window, Qt.Key.Key_F1)
    sheet = window.shortcut_sheet
    assert sheet is not None and sheet.isVisible() and not sheet.isModal()
    text = sheet.text()
    rows = shortcut_rows(window)
    assert {menu for menu, _t, _k in rows} >= {"File", "Edit", "View", "Help"}
    for _menu, action_text, keys in rows:
        assert action_text in text
        for k in keys:
            assert k in text, (action_text, k)
    for key, name in (("Ctrl+Z", "Undo"), ("Ctrl+Shift+Z", "Redo"), ("Ctrl+Y", "Redo"), ("Ctrl+C", "Copy"),
                      ("Ctrl+V", "Paste"), ("Ctrl+D", "Duplicate"), ("Del", "Delete"), ("F1", "Keyboard shortcuts"),
                      ("Ctrl+T", "Make selected node the target")):
        assert any(name in t and _native(key) in k for _m, t, k in rows), key
    for gesture, what in GESTURES:
        assert gesture in text and what in text
    for word in ("Tab", "double-click", "Alt-drag", "Space", "middle-drag", "wheel", "Esc"):
        assert word in text
    # Generated, not written: a changed shortcut shows the next time the sheet opens.
    action_for(window, "Ctrl+L").setShortcut(QKeySequence("Ctrl+Shift+F7"))
    assert _native("Ctrl+Shift+F7") not in text
    sheet.close()
    press_key(qtbot, window, Qt.Key.Key_F1)
    assert _native("Ctrl+Shift+F7") in window.shortcut_sheet.text()
    QTest.keyClick(window.shortcut_sheet.browser, Qt.Key.Key_Escape)
    assert not window.shortcut_sheet.isVisible()


def test_about_does_not_block_and_names_the_version(window: MainWindow) -> None:
    from importlib.metadata import version

    (about,) = [a for a in window_actions(window) if a.text() == "&About GradCanvas"]
    about.trigger()  # returns at once: the box is window-modal, opened with open()
    box = window.about_box
    assert box is not None and box.isVisible() and box.windowTitle() == "About GradCanvas"
    assert f"GradCanvas {version('gradcanvas')}" in box.text() and "PySide6" in box.text()
    import torch  # the test's process has it; the window names it from metadata, never importing it

    assert f"torch {torch.__version__}" in box.text()
    box.close()


def test_the_sheet_names_undo_and_redo_whatever_step_is_next(window: MainWindow) -> None:
    """Their menu text names the next step ("Undo Add tensor a"); the sheet names the actions."""
    window.scene.add_node_at("tensor", QPointF(0, 0))
    window.scene.add_node_at("tensor", QPointF(0, 300))
    window.doc.undo_stack.undo()
    edit_rows = {text: keys for menu, text, keys in shortcut_rows(window) if menu == "Edit"}
    assert _native("Ctrl+Z") in edit_rows["Undo"]
    assert {_native("Ctrl+Shift+Z"), _native("Ctrl+Y")} <= set(edit_rows["Redo"])
    assert not any(text.startswith(("Undo ", "Redo ")) for text in edit_rows)
