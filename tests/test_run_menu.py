"""Every toolbar button is also in a menu (keyboard users reach it with Alt and the arrows),
as the same action: one slot, one enabled state, one shortcut."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QToolBar, QWidgetAction

from gui.actions import plain_text


def _menu_actions(menu: QMenu) -> list[QAction]:
    found = []
    for action in menu.actions():
        found.append(action)
        if action.menu() is not None:
            found += _menu_actions(action.menu())
    return found


def test_every_toolbar_button_is_a_menu_action_too(window) -> None:  # noqa: ANN001
    in_menus = [a for top in window.menuBar().actions() if top.menu() is not None for a in _menu_actions(top.menu())]
    buttons = [a for bar in window.findChildren(QToolBar) for a in bar.actions()
               if not a.isSeparator() and not isinstance(a, QWidgetAction)]
    assert len(buttons) >= 12
    missing = [a.iconText() for a in buttons if not any(a is m for m in in_menus)]
    assert missing == []


def test_the_run_menu_holds_compute_cancel_gradcheck_and_training(window) -> None:  # noqa: ANN001
    menus = {plain_text(a.text()): a.menu() for a in window.menuBar().actions()}
    assert list(menus) == ["File", "Edit", "View", "Run", "Help"]
    texts = [plain_text(a.text()) for a in menus["Run"].actions() if not a.isSeparator()]
    assert texts[:3] == ["Compute", plain_text(window.cancel_action.text()), "Clear target"]
    assert {"Check gradients", "Backward again", "Zero grads", "Step", "Run N steps"} <= set(texts)
    assert window.compute_action.shortcut().toString() == "F5"


def test_the_run_menus_compute_computes_and_fit_is_the_view_menus_fit(qtbot, window) -> None:  # noqa: ANN001
    from pathlib import Path

    from helpers import RESULT_TIMEOUT_MS

    window.open_file(str(Path(__file__).resolve().parent.parent / "resources" / "examples" / "01_scalar_partial.json"))
    qtbot.waitUntil(lambda: window.last_result is not None, timeout=RESULT_TIMEOUT_MS)
    first = window.last_result
    window.compute_action.trigger()
    qtbot.waitUntil(lambda: window.last_result is not first, timeout=RESULT_TIMEOUT_MS)
    assert window.last_result.nodes["x"].grad is not None
    assert window.fit_action.iconText() == "Fit" and plain_text(window.fit_action.text()) == "Fit graph"
