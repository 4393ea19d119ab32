"""A lesson whose target is not a scalar and has no grad-output is a lesson, not a broken file:
the loader takes it (only torch knows the target's shape, and a step's target can carry no
grad-output anyway), and the app shows the values, says on the target and in the status bar
what to type, and computes vᵀ·∂y/∂x once the learner types a grad-output v. docs/lessons.md
says so, not that the grad-output is needed."""

from __future__ import annotations

import json
import re
from pathlib import Path

from helpers import RESULT_TIMEOUT_MS, type_and_enter

from graph.lessons import loads

DOC = Path(__file__).resolve().parent.parent / "docs" / "lessons.md"

LESSON = {
    "format": "gradcanvas-lesson", "version": 1, "title": "Vector target",
    "graph": {"format": "gradcanvas", "version": 2, "target": "y",
              "nodes": [{"id": "x", "op": "tensor", "value": [1.0, 2.0, 3.0], "requires_grad": True},
                        {"id": "y", "op": "mul", "label": "y = x*x"}],
              "edges": [{"from": "x", "to": "y", "port": "input"}, {"from": "x", "to": "y", "port": "other"}]},
    "steps": [{"text": "y is a vector: type a grad-output v to see vᵀ·∂y/∂x.", "select": "y"}],
}


def test_the_doc_says_what_a_vector_target_without_a_grad_output_does() -> None:
    text = re.sub(r"\s+", " ", DOC.read_text(encoding="utf-8"))
    assert "a vector target needs one" not in text
    assert "select an element, reduce it, or give a grad-output" in text  # the message it shows
    assert "types a grad-output" in text


def test_a_vector_target_without_a_grad_output_is_loaded_shown_and_computed_once_v_is_typed(qtbot, window) -> None:  # noqa: ANN001
    lesson = loads(json.dumps(LESSON))
    assert lesson.graph.grad_output is None
    assert window.lesson_dock.open_lesson(lesson)
    qtbot.waitUntil(lambda: window.run.current is not None and window.run.current.target == "y",
                    timeout=RESULT_TIMEOUT_MS)
    result = window.run.current
    assert result.nodes["y"].value is not None  # the values are shown
    assert "target y has shape [3]: select an element, reduce it, or give a grad-output" in result.error
    assert "select an element, reduce it, or give a grad-output" in window.statusBar().currentMessage()
    type_and_enter(qtbot, window.grad_output_edit, "[1, 0.5, 0]")
    qtbot.waitUntil(lambda: window.run.current is not None and window.run.current.nodes["x"].grad is not None,
                    timeout=RESULT_TIMEOUT_MS)
    assert [float(g) for g in window.run.current.nodes["x"].grad] == [2.0, 2.0, 0.0]  # vᵀ·diag(2x)
