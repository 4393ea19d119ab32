"""The window's layout, kept between sessions, and a View-menu item for every dock and toolbar.

On close the window's geometry and its docks' and toolbars' places (QMainWindow.saveState) go
into the settings; the next window starts from them. restoreState finds docks and toolbars by
objectName, so every one must have a unique one (`install` checks). Docks that show what is open
now (a lesson, the backward walk) come back in their place but hidden, since what they showed
is not reopened. View > Reset layout puts everything back as a new window has it.

The View menu gets a toggle for every dock and both toolbars (Qt's right-click popup is the
only other way back, out of a keyboard's reach). The Step backward dock's toggle is the Step
backward mode (gui.stepper), already in View: closing the dock ends the mode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QEvent, QObject, Qt
from PySide6.QtWidgets import QDockWidget, QToolBar

from gui.actions import make_action

if TYPE_CHECKING:
    from gui.window import MainWindow

GEOMETRY_KEY = "window/geometry"
STATE_KEY = "window/state"
STATE_VERSION = 1  # raise when the docks or toolbars change so much an old state would misplace them
SHOWN_BY_WHAT_IS_OPEN = ("Lesson", "StepBackward")  # restored hidden
MODE_DOCKS = ("StepBackward",)  # toggled by their mode's own View item, not a dock toggle

# Menu text of each dock's and toolbar's toggle (objectName → text): one mnemonic each in View.
TOGGLE_TEXT = {"Palette": "&Palette", "Inspector": "I&nspector", "History": "&History",
               "Training": "&Training", "Lesson": "&Lesson", "Run": "R&un toolbar", "Train": "Tr&ain toolbar"}


class LayoutState(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.settings = window.settings
        direct = Qt.FindChildOption.FindDirectChildrenOnly
        self.docks = window.findChildren(QDockWidget, options=direct)
        self.toolbars = window.findChildren(QToolBar, options=direct)
        names = [bar.objectName() for bar in (*self.docks, *self.toolbars)]
        if "" in names or len(set(names)) != len(names):
            raise ValueError(f"docks and toolbars need unique object names to be restored: {names}")
        self.default = window.saveState(STATE_VERSION)  # as built: what Reset layout goes back to
        self._add_toggles()
        training = getattr(window, "training", None)
        if training is not None:  # Step and Run N plot in the Training dock: closed, it comes back
            for action in (training.step_action, training.run_action):
                action.triggered.connect(lambda _=False, dock=training.dock: _bring_back(dock))
        self.restore()
        window.installEventFilter(self)  # a close saves the layout

    def _add_toggles(self) -> None:
        view = self.w.view_menu
        view.addSeparator()
        order = list(TOGGLE_TEXT)  # as the window lays them out; any other after them
        for widget in sorted((*self.docks, *self.toolbars),
                             key=lambda w: order.index(w.objectName()) if w.objectName() in order else len(order)):
            if widget.objectName() not in MODE_DOCKS:
                toggle = widget.toggleViewAction()
                toggle.setText(TOGGLE_TEXT.get(widget.objectName(), widget.windowTitle()))
                view.addAction(toggle)
        view.addSeparator()
        self.reset_action = make_action(self.w, "&Reset layout", self.reset)
        self.reset_action.setToolTip("Docks and toolbars back where a new window has them")
        view.addAction(self.reset_action)

    def _hide_what_is_not_open(self) -> None:
        for dock in self.docks:
            if dock.objectName() in SHOWN_BY_WHAT_IS_OPEN and not self._in_use(dock):
                dock.hide()

    def _in_use(self, dock: QDockWidget) -> bool:
        """Whether the dock shows something open now (a lesson, the backward walk)."""
        stepper = getattr(self.w, "stepper", None)
        if dock.objectName() == "StepBackward":
            return stepper is not None and stepper.action.isChecked()
        return getattr(dock, "lesson", None) is not None

    def restore(self) -> None:
        geometry, state = self.settings.value(GEOMETRY_KEY), self.settings.value(STATE_KEY)
        if isinstance(geometry, QByteArray):
            self.w.restoreGeometry(geometry)
        if isinstance(state, QByteArray):
            self.w.restoreState(state, STATE_VERSION)  # an unreadable or older state is ignored
        self._hide_what_is_not_open()

    def save(self) -> None:
        self.settings.setValue(GEOMETRY_KEY, self.w.saveGeometry())
        self.settings.setValue(STATE_KEY, self.w.saveState(STATE_VERSION))

    def reset(self) -> None:
        self.w.restoreState(self.default, STATE_VERSION)
        self._hide_what_is_not_open()
        self.w.say("Docks and toolbars are back where a new window has them.")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if watched is self.w and event.type() == QEvent.Type.Close:
            self.save()  # also when the close is then cancelled: it is the layout shown
        return False


def _bring_back(dock: QDockWidget) -> None:
    """A dock closed with its ×, shown again in front (left alone when it is open)."""
    if dock.isHidden():
        dock.show()
        dock.raise_()


def install(window: MainWindow) -> LayoutState:
    """After every feature has made its docks and toolbars (the last line of MainWindow.__init__)."""
    window.layout_state = LayoutState(window)
    return window.layout_state
