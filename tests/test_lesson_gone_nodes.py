"""A lesson step that names a node the learner has since renamed or deleted says so in the
Lesson dock and the status bar, and keeps the target there was: the target silently became none
and every partial vanished, while the text went on about ∂y/∂x (review). Undo brings the node
back, and the step with it."""

from __future__ import annotations

from pathlib import Path

from graph.lessons import load

LESSON = Path(__file__).resolve().parent.parent / "resources" / "lessons" / "01_scalar_partial.json"


def _open(window):  # noqa: ANN001, ANN202
    lesson = load(LESSON)
    assert [s.target for s in lesson.steps[:2]] == [None, "y"]  # step 2 makes y the target
    assert window.lesson_dock.open_lesson(lesson)
    return window.lesson_dock


def test_a_step_whose_target_was_renamed_says_so_and_keeps_the_target(qtbot, window) -> None:  # noqa: ANN001
    dock = _open(window)
    dock.next()
    assert window.doc.target == "y" and dock.gone.isHidden()
    window.doc.rename("y", "loss")
    assert window.doc.target == "loss"  # the rename carries the target
    dock.next()
    assert dock.lesson.steps[2].target == "y" and window.doc.target == "loss"  # kept, not none
    assert not dock.gone.isHidden()
    said = dock.gone.text()
    assert said.startswith("⚠ This step names y, which is no longer in the graph (renamed or deleted)"), said
    assert "Edit > Undo" in said and "y, which is no longer in the graph" in window.statusBar().currentMessage()
    window.doc.undo_stack.undo()  # the rename undone: y is back, and the step shows as written
    assert "y" in window.doc.graph.nodes and dock.gone.isHidden()
    selected = [n for n, item in window.scene.nodes.items() if item.isSelected()]
    assert window.doc.target == "y" and selected == [dock.lesson.steps[2].select]


def test_a_step_whose_selection_was_deleted_says_so(qtbot, window) -> None:  # noqa: ANN001
    dock = _open(window)
    assert dock.lesson.steps[0].select == "x"
    window.doc.remove(["x"])
    dock.go(0)
    assert not dock.gone.isHidden() and dock.gone.text().startswith("⚠ This step names x, which is no longer")
    assert not any(item.isSelected() for item in window.scene.nodes.values())
