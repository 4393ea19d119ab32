"""Lessons beside the canvas: File > Lessons opens a lesson (graph/lessons.py) — its graph
becomes the document and a dock shows its steps one at a time, with Back and Next.

Each step sets the target and selection it names; a step that names no target keeps the one
before it (or the lesson graph's own), and a step that names no selection selects nothing, so
a step always looks the same however it was reached (Back restores exactly what Next left).
The step texts come from files: they are shown through graph.safetext.visible, as plain text.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from graph.errors import GraphError
from graph.lessons import Lesson, load
from graph.safetext import visible
from gui.actions import make_action

if TYPE_CHECKING:
    from gui.window import MainWindow

LESSONS_DIR = Path(__file__).resolve().parent.parent / "resources" / "lessons"


WORD_JOINER = "\u2060"  # no line break here (Unicode's line breaking allows one after a slash)


def shown(text: str) -> str:
    """A text from a lesson file as the dock shows it: its own line breaks kept, every other
    non-printable character escaped."""
    return "\n".join(visible(line) for line in text.split("\n"))


def shown_title(title: str) -> str:
    """A lesson's title as the dock shows it (bold, wrapped): as `shown`, and a partial's
    "∂/∂x" or "∂y/∂x" never broken after its slash ("∂/" at a line's end, "∂x" on the next)."""
    return shown(title).replace("/∂", "/" + WORD_JOINER + "∂")


class LessonDock(QDockWidget):
    def __init__(self, window: MainWindow) -> None:
        super().__init__("Lesson", window)
        self.setObjectName("Lesson")
        self.w = window
        self.lesson: Lesson | None = None
        self.index = 0
        self._own_target: str | None = None  # the lesson graph's target, before any step
        self._opening = False

        body = QWidget()
        layout = QVBoxLayout(body)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        self.title.setStyleSheet("font-weight: bold; font-size: 14px;")
        self.counter = QLabel()
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setStyleSheet("font-size: 13px;")
        self.gone = QLabel()  # a node the step names was renamed or deleted since the lesson opened
        self.gone.setTextFormat(Qt.TextFormat.PlainText)
        self.gone.setWordWrap(True)
        self.gone.setStyleSheet("color: #b34700; font-size: 13px;")
        self.gone.hide()
        self.back_button = QPushButton("◀ Back")
        self.next_button = QPushButton("Next ▶")
        self.back_button.clicked.connect(self.back)
        self.next_button.clicked.connect(self.next)
        buttons = QHBoxLayout()
        buttons.addWidget(self.back_button)
        buttons.addWidget(self.counter, 1, Qt.AlignmentFlag.AlignCenter)
        buttons.addWidget(self.next_button)
        # The words scroll, the buttons stay: in a 1280 x 720 window a step's last lines were cut
        # off, with no way to reach them.
        words = QWidget()
        words_layout = QVBoxLayout(words)
        words_layout.setContentsMargins(0, 0, 0, 0)
        words_layout.addWidget(self.title)
        words_layout.addWidget(self.gone)
        words_layout.addWidget(self.text, 1)
        self.scroll = QScrollArea()
        self.scroll.setWidget(words)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(self.scroll, 1)
        layout.addLayout(buttons)
        self.setWidget(body)
        self.setMinimumWidth(260)
        self._show_none()
        window.doc.graphReset.connect(self._on_graph_reset)
        window.doc.undo_stack.indexChanged.connect(self._on_edit)

    def _show_none(self) -> None:
        """What the dock says with no lesson open (View > Lesson shows it too)."""
        self.title.setText("No lesson open")
        self.text.setText("File > Lessons opens one of the bundled lessons, or a lesson file of your own.")
        self.counter.clear()
        self.back_button.setEnabled(False)
        self.next_button.setEnabled(False)

    # ---- opening ----

    def open_lesson(self, lesson: Lesson) -> bool:
        """Make the lesson's graph the document (asking first about unsaved changes) and show
        its first step."""
        if not self.w.maybe_save():
            return False
        self._opening = True
        try:
            self._own_target = lesson.graph.target
            self.w._replace_document(lesson.graph, None)  # noqa: SLF001 - as File > Open does
        finally:
            self._opening = False
        self.lesson = lesson
        self.title.setText(shown_title(lesson.title))
        if self.isHidden() and not self.isFloating() and self.w.palette_dock.isVisible():
            self.w.tabifyDockWidget(self.w.palette_dock, self)  # over the palette: a lesson wants the room
        self.show()
        self.raise_()
        self.w.resizeDocks([self], [320], Qt.Orientation.Horizontal)
        self.go(0)
        QTimer.singleShot(0, self.w.view.fit_graph)
        self.w.say(f"lesson: {shown(lesson.title)}")
        return True

    def open_file(self, path: str) -> bool:
        try:
            lesson = load(path)
        except GraphError as e:
            self.w.report_error("Cannot open lesson", e.message, status=e.message)
            return False
        return self.open_lesson(lesson)

    def _on_graph_reset(self) -> None:
        """Another document replaced the lesson's: the lesson ends."""
        if not self._opening and self.lesson is not None:
            self.lesson = None
            self._show_none()
            self.hide()

    # ---- stepping ----

    def target_at(self, index: int) -> str | None:
        """The target step `index` shows: the last one named up to it, else the graph's own."""
        for step in reversed(self.lesson.steps[:index + 1]):
            if step.target is not None:
                return step.target
        return self._own_target

    def go(self, index: int) -> None:
        if self.lesson is None:
            return
        steps = self.lesson.steps
        self.index = max(0, min(index, len(steps) - 1))
        step = steps[self.index]
        target, gone = self.target_at(self.index), self._gone()
        if target not in gone:  # else the target there is stays (none would blank every number)
            self.w.doc.set_target(target)
        self._say_gone(gone)
        nodes = [step.select] if step.select is not None and step.select in self.w.scene.nodes else []
        self.w.scene.select_nodes(nodes)
        if nodes:  # brought into view only if not in it already: a fitted lesson stays as fitted
            view, item = self.w.view, self.w.scene.nodes[nodes[0]]
            if not view.mapToScene(view.viewport().rect()).boundingRect().contains(item.sceneBoundingRect()):
                view.ensureVisible(item, 40, 40)
        self.text.setText(shown(step.text))
        self.scroll.verticalScrollBar().setValue(0)  # each step read from its start
        self.counter.setText(f"step {self.index + 1} of {len(steps)}")
        for button, other, enabled in ((self.back_button, self.next_button, self.index > 0),
                                       (self.next_button, self.back_button, self.index < len(steps) - 1)):
            if not enabled and button.hasFocus():  # else Qt gives the focus to the expression bar
                other.setFocus()
            button.setEnabled(enabled)

    def _gone(self) -> list[str]:
        """The nodes the shown step names (its target, its selection) that are not in the graph."""
        named = (self.target_at(self.index), self.lesson.steps[self.index].select)
        return [n for n in dict.fromkeys(named) if n is not None and n not in self.w.doc.graph.nodes]

    def _say_gone(self, gone: list[str]) -> None:
        """Name the nodes this step names that are no longer in the graph, or hide the note."""
        self.gone.setVisible(bool(gone))
        if gone:
            names = ", ".join(visible(n) for n in gone)
            which = "which is" if len(gone) == 1 else "which are"
            text = (f"⚠ This step names {names}, {which} no longer in the graph (renamed or deleted): "
                    "Edit > Undo brings it back, File > Lessons opens the lesson afresh.")
            self.gone.setText(text)
            self.w.say(text)

    def _on_edit(self) -> None:
        """An edit, undo or redo: once what the step names is back, the step shows as written."""
        if self.lesson is not None and self.gone.isVisibleTo(self) and not self._gone():
            self.go(self.index)

    def next(self) -> None:
        self.go(self.index + 1)

    def back(self) -> None:
        self.go(self.index - 1)


def bundled() -> list[Path]:
    return sorted(LESSONS_DIR.glob("*.json"))


def install(window: MainWindow) -> LessonDock:
    """The Lesson dock (hidden until a lesson opens) and File > Lessons: the bundled lessons by
    title, and Open lesson file…"""
    dock = window.lesson_dock = LessonDock(window)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    dock.hide()
    menu = window.lessons_menu
    for number, path in enumerate(bundled(), 1):
        title = path.stem.split("_", 1)[-1].replace("_", " ")
        try:
            title = load(path).title
        except GraphError:
            pass  # listed by its file name; opening it says what is wrong
        text = f"&{number} " + visible(title).replace("&", "&&")  # a menu reads & as a mnemonic mark
        menu.addAction(make_action(window, text, lambda _=False, p=path: dock.open_file(str(p))))
    menu.addSeparator()
    menu.addAction(make_action(window, "&Open lesson file…", lambda: _open_dialog(dock)))
    return dock


def _open_dialog(dock: LessonDock) -> None:
    path, _ = QFileDialog.getOpenFileName(dock.w, "Open lesson", str(LESSONS_DIR), "Lessons (*.json)")
    if path:
        dock.open_file(path)
