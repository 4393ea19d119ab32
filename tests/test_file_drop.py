"""Files dropped from a file manager (gui.file_drop): one .json graph opens through the window's
open path (asking about unsaved changes), a lesson opens as a lesson, anything else is refused
while dragged, with a status line where there was a file, and no drag makes Qt warn. The drag
events are sent here as Qt sends them; tests/test_x11.py drags from another process for real."""

from __future__ import annotations

import shutil
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from window_driver import EXAMPLES, LEFT, NO_MOD

from gui.file_drop import verdict
from gui.window import MainWindow

ROOT = Path(__file__).resolve().parent.parent
LESSON = sorted((ROOT / "resources" / "lessons").glob("*.json"))[0]
ANY = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction | Qt.DropAction.LinkAction


def files(*paths: Path | str) -> QMimeData:
    data = QMimeData()
    data.setUrls([p if isinstance(p, QUrl) else QUrl.fromLocalFile(str(p)) for p in paths])
    return data


def drag(target: QWidget, data: QMimeData, actions: Qt.DropAction = ANY, drop: bool = True) -> dict:
    """Enter, move and (if the move was accepted and `drop`) drop at the target's middle, else
    leave; what each event said."""
    at = target.rect().center()
    enter = QDragEnterEvent(at, actions, data, LEFT, NO_MOD)
    QApplication.sendEvent(target, enter)
    move = QDragMoveEvent(at, actions, data, LEFT, NO_MOD)
    QApplication.sendEvent(target, move)
    seen = {"enter": enter.isAccepted(), "move": move.isAccepted(), "action": move.dropAction()}
    if seen["move"] and drop:
        dropped = QDropEvent(QPointF(at), actions, data, LEFT, NO_MOD)
        QApplication.sendEvent(target, dropped)
        seen.update(dropped=dropped.isAccepted(), drop_action=dropped.dropAction())
    else:
        QApplication.sendEvent(target, QDragLeaveEvent())
    return seen


def copy_of(src: Path, folder: Path, name: str) -> Path:
    path = folder / name
    shutil.copyfile(src, path)
    return path


def test_a_dropped_graph_opens_as_file_open_opens_it(qtbot, window: MainWindow, tmp_path: Path) -> None:
    path = copy_of(EXAMPLES[1], tmp_path, "dropme.json")
    seen = drag(window.view.viewport(), files(path))
    assert seen["enter"] and seen["move"] and seen["dropped"]
    assert seen["drop_action"] == Qt.DropAction.CopyAction  # never Move: the file manager keeps its file
    assert window.doc.path is None  # opened after the drop returns, not inside it
    qtbot.waitUntil(lambda: window.doc.path == str(path))
    assert "dropme.json" in window.windowTitle() and window.statusBar().currentMessage() == "opened dropme.json"
    assert path.exists()


def test_a_graph_dropped_over_a_dock_opens_too(qtbot, window: MainWindow, tmp_path: Path) -> None:
    path = copy_of(EXAMPLES[0], tmp_path, "over_the_dock.json")
    seen = drag(window, files(path))  # the window itself: what a dock hands on
    assert seen["dropped"]
    qtbot.waitUntil(lambda: window.doc.path == str(path))


def test_a_drop_asks_about_unsaved_changes_first(qtbot, window: MainWindow, tmp_path: Path) -> None:
    window.open_file(str(EXAMPLES[0]))
    window.scene.add_node_at("exp", QPointF(0, 0))
    asked = []
    window.ask_unsaved = lambda: asked.append(1) or QMessageBox.StandardButton.Cancel
    nodes = set(window.doc.graph.nodes)
    assert drag(window.view.viewport(), files(copy_of(EXAMPLES[1], tmp_path, "b.json")))["dropped"]
    qtbot.waitUntil(lambda: asked == [1])
    assert set(window.doc.graph.nodes) == nodes  # cancelled: the document stays


def test_a_dropped_lesson_opens_as_a_lesson(qtbot, window: MainWindow, tmp_path: Path) -> None:
    path = copy_of(LESSON, tmp_path, "a_lesson.json")
    assert drag(window.view.viewport(), files(path))["dropped"]
    qtbot.waitUntil(lambda: window.lesson_dock.lesson is not None)
    assert window.lesson_dock.isVisible()


def test_other_drags_are_refused_with_a_reason(qtbot, window: MainWindow, tmp_path: Path, qtlog) -> None:  # noqa: ANN001
    a, b = copy_of(EXAMPLES[0], tmp_path, "a.json"), copy_of(EXAMPLES[1], tmp_path, "b.json")
    script = tmp_path / "model.py"
    script.write_text("def f(x):\n    return x\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    text = QMimeData()
    text.setText("just text")
    cases = [
        (files(a, b), "drop one graph file (.json) to open it, not 2 files"),
        (files(notes), "cannot open notes.txt by dropping it: graphs and lessons are .json files, models .py"),
        (files(QUrl("https://example.com/g.json")), "only a file on this computer opens by dropping"),
        (text, None),
    ]
    window.say("before")
    for target in (window.view.viewport(), window):
        for data, why in cases:
            seen = drag(target, data)
            assert not seen["move"] and "dropped" not in seen, why
            said = window.statusBar().currentMessage()
            assert (why in said) if why else said == "before", (why, said)
            window.say("before")
    # Offered as a move only, a file is refused: accepting would have the file manager delete it.
    assert not drag(window.view.viewport(), files(a), Qt.DropAction.MoveAction)["move"]
    QApplication.processEvents()
    assert window.doc.path is None
    assert not [r.message for r in qtlog.records if "drag" in r.message.lower()]


def test_no_drag_leaving_the_canvas_makes_qt_warn(window: MainWindow, qtlog) -> None:  # noqa: ANN001
    """A foreign drag that crosses the canvas and leaves: QGraphicsView warned "drag leave
    received before drag enter" for each."""
    text = QMimeData()
    text.setText("x")
    for data in (text, window.palette.tree.mimeData([window.palette.item_for("exp")])):
        drag(window.view.viewport(), data, drop=False)
    assert not [r.message for r in qtlog.records if "drag" in r.message.lower()]


def test_the_verdict_names_the_file() -> None:
    path, why = verdict(files("/tmp/some where/g.JSON"))
    assert path == "/tmp/some where/g.JSON" and why is None
    assert verdict(files("/tmp/a\u202eb.txt"))[1].startswith("cannot open a\\u202eb.txt")  # escaped, as every file name
    assert verdict(files("/tmp/model.PY")) == ("/tmp/model.PY", None)


def test_a_dropped_python_file_goes_to_the_import_dialog_which_runs_nothing_yet(qtbot, window: MainWindow,  # noqa: ANN001
                                                                               tmp_path: Path) -> None:
    from gui.import_dialog import importer

    script = tmp_path / "model.py"
    script.write_text("raise SystemExit('ran')\ndef f(x):\n    return x\n")  # would end the test if run
    asked: list[str] = []
    importer(window).ask_file = asked.append  # the dialog is modal: which file it was asked for
    assert drag(window.view.viewport(), files(script))["dropped"]
    qtbot.waitUntil(lambda: asked == [str(script)])
    assert window.doc.path is None  # nothing opened or imported yet
