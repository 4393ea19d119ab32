"""A lesson file opened as a file: File > Open, Open Recent and `gradcanvas FILE` open it in the
Lesson dock as a drop does (gui.file_drop.is_lesson decides, in MainWindow.open_file), asking
the run and unsaved-changes questions first; the commands that need a graph say in one line
that it is a lesson and where it opens (graph.fileformat)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import QFileDialog, QMessageBox
from test_train_gui import _long_run, _open, _settled
from test_train_leaving import _asked

from gradcanvas.cli import main as cli_main
from graph import lessons
from graph.errors import FileFormatError
from graph.fileformat import LessonNotGraphError, load, loads
from gui import file_drop
from gui.actions import plain_text
from gui.file_drop import is_lesson

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "resources" / "lessons" / "05_grads_accumulate.json"
Button = QMessageBox.StandardButton


def _lesson_text(**changes: object) -> dict:
    doc = json.loads(LESSON.read_text(encoding="utf-8"))
    doc.update(changes)
    return doc


def _write(tmp_path: Path, doc: dict, name: str = "lesson.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return str(path)


def _reports(window) -> list[tuple[str, str]]:  # noqa: ANN001
    reports: list[tuple[str, str]] = []
    window.report_error = lambda title, message, status=None: reports.append((title, message))
    return reports


def _shows_lesson_five(window) -> None:  # noqa: ANN001
    dock = window.lesson_dock
    assert dock.lesson is not None and dock.lesson.title == "Why grads accumulate"
    assert dock.isVisible() and dock.counter.text() == "step 1 of 3"
    assert sorted(window.doc.graph.nodes) == ["x", "y"] and window.doc.target == "y"
    assert window.doc.path is None  # an untitled copy, as File > Lessons opens one


def _file_action(window, text: str):  # noqa: ANN001, ANN202 - a QAction of the File menu
    file_menu = next(a.menu() for a in window.menuBar().actions() if plain_text(a.text()) == "File")
    return next(a for a in file_menu.actions() if plain_text(a.text()) == text)


# ---- the window ----

def test_file_open_on_a_lesson_opens_it_in_the_lesson_dock(window, monkeypatch, tmp_path: Path) -> None:  # noqa: ANN001
    reports = _reports(window)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(LESSON), ""))
    _file_action(window, "Open…").trigger()
    assert reports == []
    _shows_lesson_five(window)
    assert window.recent.paths()[0] == str(LESSON)  # so Open Recent opens it again
    saved = str(tmp_path / "its_graph.json")  # what the commands' message says Save As… does
    assert window.file_guard.save_to(saved)
    assert sorted(load(saved).nodes) == ["x", "y"] and cli_main(["check", saved]) == 0


def test_open_recent_on_a_lesson_opens_it_in_the_lesson_dock(window, tmp_path: Path) -> None:  # noqa: ANN001
    reports = _reports(window)
    path = _write(tmp_path, _lesson_text())
    window.recent.add(path)
    window.recent_menu.actions()[0].trigger()
    assert reports == []
    _shows_lesson_five(window)


def test_a_lesson_asks_about_unsaved_changes_first(window, examples_dir: Path) -> None:  # noqa: ANN001
    window.open_file(str(examples_dir / "01_scalar_partial.json"))
    window.doc.undo_stack.push(QUndoCommand("an edit"))
    path = window.doc.path
    asked = []
    window.ask_unsaved = lambda: (asked.append("save"), Button.Cancel)[1]
    assert not window.open_file(str(LESSON))
    assert asked == ["save"] and window.doc.path == path and window.lesson_dock.lesson is None
    window.ask_unsaved = lambda: (asked.append("save"), Button.Discard)[1]
    assert window.open_file(str(LESSON))
    assert asked == ["save", "save"]  # asked once per open, not once by Open and again by the dock
    _shows_lesson_five(window)


def test_a_lesson_asks_about_a_run_first(qtbot, window, examples_dir: Path) -> None:  # noqa: ANN001
    w = window
    _open(qtbot, w, examples_dir / "04_small_mlp.json", "loss")
    _long_run(qtbot, w)
    order = _asked(w, Button.Cancel)
    assert not w.open_file(str(LESSON))
    assert order == ["run"] and w.training.running == "loss" and w.lesson_dock.lesson is None
    order = _asked(w, Button.Discard)
    assert w.open_file(str(LESSON))
    assert order == ["run"]
    _settled(qtbot, w)
    _shows_lesson_five(w)


def test_launching_the_app_on_a_lesson_opens_it_in_the_lesson_dock(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    from gui.app import start_window

    w = start_window(str(LESSON), QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                     str(tmp_path / "recovery"))
    qtbot.addWidget(w)
    reports = _reports(w)
    qtbot.waitUntil(lambda: w.lesson_dock.lesson is not None, timeout=10_000)
    assert reports == []
    _shows_lesson_five(w)


def test_a_malformed_lesson_gets_the_lesson_loaders_message(window, tmp_path: Path) -> None:  # noqa: ANN001
    reports = _reports(window)
    path = _write(tmp_path, _lesson_text(steps=[{"text": "a", "target": "nope"}]))
    assert not window.open_file(path)
    assert reports == [("Cannot open lesson",
                        f"{path}: step 1: field 'target': no node 'nope' in the lesson's graph")]
    assert window.lesson_dock.lesson is None and not window.doc.graph.nodes


def test_a_lesson_whose_format_comes_after_a_long_text_is_found(window, tmp_path: Path) -> None:  # noqa: ANN001
    steps = [{"text": f"step {i}: " + "∂" * 1500} for i in range(60)]  # ~270 KB before "format"
    doc = {"title": "Late format", "graph": _lesson_text()["graph"], "steps": steps,
           "version": 1, "format": lessons.FORMAT}
    path = _write(tmp_path, doc)
    assert Path(path).stat().st_size > 256 * 1024
    reports = _reports(window)
    assert window.open_file(path)
    assert reports == [] and window.lesson_dock.lesson.title == "Late format"


def test_a_lesson_too_big_to_be_one_is_refused_for_its_size(window, tmp_path: Path) -> None:  # noqa: ANN001
    """is_lesson does not read a file over a lesson's limit; the graph loader then finds a lesson
    in it, and the window hands it to the lesson loader, which says what is wrong: its size (not
    "open it in the app (File > Lessons…)", said to someone already there)."""
    doc = _lesson_text(steps=[{"text": "a" * (lessons.MAX_LESSON_BYTES + 1)}])
    path = _write(tmp_path, doc, "huge_lesson.json")
    assert not is_lesson(path)
    reports = _reports(window)
    assert not window.open_file(path)
    assert reports == [("Cannot open lesson", f"{path}: the file is larger than 16 MiB, the most a lesson may be")]
    assert window.lesson_dock.lesson is None and not window.doc.graph.nodes


def test_a_format_spelled_with_escapes_is_found(tmp_path: Path) -> None:
    path = tmp_path / "escaped.json"
    text = json.dumps(_lesson_text(), ensure_ascii=False).replace(
        '"format": "gradcanvas-lesson"', '"format": "gradcanvas\\u002dlesson"')
    path.write_text(text, encoding="utf-8")
    assert lessons.load(path).title == "Why grads accumulate"  # a valid lesson
    assert is_lesson(str(path))


def test_graphs_and_other_files_are_not_lessons(tmp_path: Path, examples_dir: Path) -> None:
    assert not is_lesson(str(examples_dir / "01_scalar_partial.json"))
    quoted = tmp_path / "quoted.json"  # the lesson format as a label, not as the file's format
    graph = json.loads((examples_dir / "01_scalar_partial.json").read_text(encoding="utf-8"))
    graph["nodes"][0]["label"] = '"format": "gradcanvas-lesson"'
    quoted.write_text(json.dumps(graph), encoding="utf-8")
    assert not is_lesson(str(quoted)) and load(quoted).nodes
    for name, text in (("list.json", f'["{lessons.FORMAT}"]'), ("broken.json", '{"format": "gradcanvas-lesson",'),
                       ("deep.json", "[" * 100_000 + '"gradcanvas-lesson"')):
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert not is_lesson(str(tmp_path / name)), name
    assert not is_lesson(str(tmp_path / "missing.json")) and not is_lesson(str(tmp_path))


def test_a_fifo_is_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    answer: list[bool] = []
    reader = threading.Thread(target=lambda: answer.append(is_lesson(str(fifo))), daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # blocked waiting for a writer: let it go, then fail
        with open(fifo, "wb"):
            pass
    assert answer == [False]


def test_a_big_graph_is_not_read_to_tell(monkeypatch, tmp_path: Path, examples_dir: Path) -> None:  # noqa: ANN001
    """Over a lesson's size limit a file is not opened; under it, parsed only if it names the format."""
    graph = examples_dir / "04_small_mlp.json"
    opened, parsed = [], []
    monkeypatch.setattr(file_drop, "open", lambda *a, **k: opened.append(a) or open(*a, **k), raising=False)
    real_loads = json.loads
    monkeypatch.setattr(file_drop.json, "loads", lambda *a, **k: parsed.append(1) or real_loads(*a, **k))
    assert not is_lesson(str(graph))
    assert len(opened) == 1 and parsed == []
    monkeypatch.setattr(file_drop, "MAX_LESSON_BYTES", graph.stat().st_size - 1)
    assert not is_lesson(str(graph))
    assert len(opened) == 1


# ---- the commands ----

def _said(path: str) -> str:
    return (f"error: {path} is a lesson (format \"gradcanvas-lesson\"), not a graph: open it in the app "
            "(File > Lessons > Open lesson file…); the graph it teaches is its \"graph\" field, which "
            "File > Save As… there writes as a graph file\n")


COMMANDS = [["check"], ["grad"], ["export", "-o", "OUT.py"], ["render", "-o", "OUT.png"],
            ["jacobian", "--wrt", "x"], ["hessian", "--wrt", "x"], ["gradcheck"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_each_command_that_reads_a_graph_says_it_is_a_lesson(command: list[str], capsys, tmp_path: Path) -> None:  # noqa: ANN001
    path = _write(tmp_path, _lesson_text())
    args = [a.replace("OUT", str(tmp_path / "out")) for a in command]
    assert cli_main([args[0], path, *args[1:]]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err == _said(path)
    assert not list(tmp_path.glob("out*"))


def test_the_message_names_the_menu_the_app_has(window) -> None:  # noqa: ANN001
    lessons_menu = _file_action(window, "Lessons").menu()
    opener = plain_text(lessons_menu.actions()[-1].text())
    assert f"(File > Lessons > {opener});" in _said("x")
    assert plain_text(_file_action(window, "Save As…").text()) in _said("x")


def test_the_command_line_exit_code_and_no_traceback() -> None:
    done = subprocess.run([sys.executable, "-m", "gradcanvas", "check", str(LESSON)], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == _said(str(LESSON))


def test_the_loader_says_lesson_for_text_and_files(tmp_path: Path) -> None:
    with pytest.raises(LessonNotGraphError, match=r"^this is a lesson \(format"):
        loads(LESSON.read_text(encoding="utf-8"))
    broken = _write(tmp_path, _lesson_text(steps="not a list", extra=1))  # still a lesson: said so first
    with pytest.raises(LessonNotGraphError) as e:
        load(broken)
    assert e.value.message == _said(broken).removeprefix("error: ").rstrip("\n")
    with pytest.raises(FileFormatError, match="field 'format' must be"):  # any other format: as before
        loads(json.dumps({"format": "other", "version": 1, "nodes": [], "edges": []}))
