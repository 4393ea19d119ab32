"""Every item of every menu of the window (once all features added theirs) has a mnemonic, and
no two items of one menu share a letter: Alt+letter (or the letter in an open menu) reaches
each. The standard ones are kept."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMenu

from gui.actions import mnemonic, plain_text


def _menus(menu: QMenu, where: str) -> list[tuple[str, QMenu]]:
    found = [(where, menu)]
    for action in menu.actions():
        if action.menu() is not None:
            found += _menus(action.menu(), f"{where} > {plain_text(action.text())}")
    return found


def _clashes(texts: list[str], where: str) -> list[str]:
    problems, seen = [], {}
    for text in texts:
        key = mnemonic(text)
        if key is None:
            problems.append(f"{where}: {text!r} has no mnemonic")
        elif key in seen:
            problems.append(f"{where}: {text!r} and {seen[key]!r} share {key!r}")
        else:
            seen[key] = text
    return problems


def test_every_menu_item_has_a_mnemonic_of_its_own(window, tmp_path) -> None:  # noqa: ANN001
    for name in ("a.json", "b.json"):  # Open Recent listed too
        window.recent.add(str(tmp_path / name))
    bar = window.menuBar()
    problems = _clashes([a.text() for a in bar.actions()], "menu bar")
    menus = [m for top in bar.actions() if top.menu() is not None for m in _menus(top.menu(), plain_text(top.text()))]
    assert len(menus) >= 8  # File, Open Recent, Examples, Lessons, Edit, View, Run, Help
    for where, menu in menus:
        problems += _clashes([a.text() for a in menu.actions() if not a.isSeparator()], where)
    assert problems == []


def test_the_standard_mnemonics_are_kept(window) -> None:  # noqa: ANN001
    texts = {a.text() for top in window.menuBar().actions() for _w, m in _menus(top.menu(), "") for a in m.actions()}
    assert {"&New", "&Open…", "&Save", "Save &As…", "&Quit", "&Undo", "&Redo", "Cu&t", "&Copy", "&Paste",
            "&Delete", "Select &All"} <= texts


def test_mnemonic_reads_the_marked_letter() -> None:
    assert mnemonic("Save &As…") == "a"
    assert mnemonic("Tom && Jerry") is None  # && is a shown &, not a mark
    assert mnemonic("&1 /tmp/a&&b.json") == "1"
    assert mnemonic("trailing &") is None


def test_a_mnemonic_in_an_open_menu_triggers_its_item(qtbot, window) -> None:  # noqa: ANN001
    """View, then T: the Training dock (closed with its ×) comes back."""
    window.training.dock.close()
    window.view_menu.popup(window.mapToGlobal(window.rect().center()))
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is window.view_menu)
    qtbot.keyClick(window.view_menu, Qt.Key.Key_T)
    qtbot.waitUntil(window.training.dock.isVisible)
