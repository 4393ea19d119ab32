"""The window's layout (gui/layout_state.py): kept in the settings on close and restored by the
next window; a View-menu toggle for every dock and toolbar; View > Reset layout. Each test's
windows have a settings file of their own (tests/helpers.new_window), so nothing leaks."""

from __future__ import annotations

from PySide6.QtCore import QByteArray
from PySide6.QtWidgets import QApplication, QDockWidget, QToolBar

from gui.actions import plain_text
from gui.layout_state import GEOMETRY_KEY, STATE_KEY


def _layout(w) -> dict:  # noqa: ANN001 - a MainWindow
    docks = {d.objectName(): (d.isVisible(), d.isFloating(), w.dockWidgetArea(d).name)
             for d in w.findChildren(QDockWidget)}
    bars = {b.objectName(): b.isVisible() for b in w.findChildren(QToolBar)}
    return {"docks": docks, "toolbars": bars}


def _rearrange(w) -> None:  # noqa: ANN001
    """What the reviewer did: History closed, the Inspector floated, the Train toolbar and the
    Training dock closed, the window made smaller (within the offscreen screen's 800×600)."""
    w.history_dock.close()
    w.inspector_dock.setFloating(True)
    w.training.toolbar.hide()
    w.training.dock.close()
    w.resize(760, 560)
    QApplication.processEvents()


def test_the_layout_comes_back_in_the_next_window(qtbot, window, tmp_path) -> None:  # noqa: ANN001
    from helpers import new_window

    _rearrange(window)
    arranged = _layout(window)
    assert arranged["docks"]["History"][0] is False and arranged["docks"]["Inspector"][1] is True
    window.close()
    assert isinstance(window.settings.value(STATE_KEY), QByteArray)
    again = new_window(qtbot, tmp_path)  # the same settings file: the next session
    assert _layout(again) == arranged
    assert again.size().toTuple() == (760, 560)


def test_another_settings_file_starts_from_the_default_layout(qtbot, window, tmp_path) -> None:  # noqa: ANN001
    from helpers import new_window

    fresh = _layout(window)
    _rearrange(window)
    window.close()
    other = new_window(qtbot, tmp_path, "other")
    assert _layout(other) == fresh and not other.settings.contains(GEOMETRY_KEY)


def test_every_dock_and_toolbar_has_a_view_toggle(window) -> None:  # noqa: ANN001
    in_view = window.view_menu.actions()
    for widget in (*window.findChildren(QDockWidget), *window.findChildren(QToolBar)):
        toggle = window.stepper.action if widget is window.stepper.dock else widget.toggleViewAction()
        assert any(a is toggle for a in in_view), widget.objectName()
    names = [plain_text(a.text()) for a in in_view if not a.isSeparator()]
    assert {"Palette", "Inspector", "History", "Training", "Lesson", "Run toolbar", "Train toolbar",
            "Step backward", "Reset layout"} <= set(names)


def test_the_view_toggle_brings_back_a_closed_dock_and_toolbar(window) -> None:  # noqa: ANN001
    _rearrange(window)
    window.training.dock.toggleViewAction().trigger()
    window.training.toolbar.toggleViewAction().trigger()
    assert window.training.dock.isVisible() and window.training.toolbar.isVisible()


def test_a_run_of_steps_brings_back_the_closed_training_dock(window) -> None:  # noqa: ANN001
    window.training.dock.close()
    window.training.run_action.trigger()  # no target: it says so in the dock, which must show
    assert window.training.dock.isVisible()


def test_reset_layout_puts_everything_back(window) -> None:  # noqa: ANN001
    fresh = _layout(window)
    _rearrange(window)
    assert _layout(window) != fresh
    window.layout_state.reset_action.trigger()
    QApplication.processEvents()
    assert _layout(window) == fresh


def test_docks_of_what_was_open_come_back_hidden(qtbot, window, tmp_path, examples_dir) -> None:  # noqa: ANN001
    """The Step backward walk and a lesson are not reopened: their docks stay hidden (and the
    Step backward mode off) in the next window."""
    from helpers import new_window

    window.stepper.set_on(True)
    window.lesson_dock.show()
    assert window.stepper.dock.isVisible()
    window.close()
    again = new_window(qtbot, tmp_path)
    assert not again.stepper.dock.isVisible() and not again.stepper.action.isChecked()
    assert not again.lesson_dock.isVisible()
