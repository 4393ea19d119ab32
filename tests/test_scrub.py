"""Scrubbing a scalar leaf's number on the canvas (interactions.ScrubDrag), offscreen: the value
follows the mouse, every partial follows the value (checked against torch written here), the
compiled code is never rebuilt, the drag is one undo step, Esc and Undo put the value back."""

from __future__ import annotations

import torch
from helpers import RESULT_TIMEOUT_MS
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from test_perf_paths import compiles  # noqa: F401 - the fixture counting Compiled builds

from gui.canvas.interactions import ScrubDrag, scrub_rect

LEFT = Qt.MouseButton.LeftButton


def _settled(qtbot, w) -> None:  # noqa: ANN001
    """Every requested compute done and its result drawn."""
    def done() -> bool:
        w.computer.wait(RESULT_TIMEOUT_MS)
        current = w.run.current
        return current is not None and current.revision == w.doc.revision and not w.computer.busy
    qtbot.waitUntil(done, timeout=RESULT_TIMEOUT_MS)


def _open(qtbot, w, examples_dir) -> QPoint:  # noqa: ANN001
    """Example 01 (y = 2*x**2 + 3*z) with target y, x's number at 100 %; where that number is."""
    w.open_file(str(examples_dir / "01_scalar_partial.json"))
    w.doc.set_target("y")
    w.view.resetTransform()
    item = w.scene.nodes["x"]
    w.view.centerOn(item)
    _settled(qtbot, w)
    return w.view.mapFromScene(item.mapToScene(scrub_rect(item).center()))


def _move(w, pos: QPoint, shift: bool = False) -> None:  # noqa: ANN001
    """A mouse move with the left button down (QTest.mouseMove sends no buttons or modifiers)."""
    modifiers = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    event = QMouseEvent(QMouseEvent.Type.MouseMove, QPointF(pos), QPointF(w.view.viewport().mapToGlobal(pos)),
                        Qt.MouseButton.NoButton, LEFT, modifiers)
    QApplication.sendEvent(w.view.viewport(), event)


def _partial(w, node: str) -> float:  # noqa: ANN001
    return float(w.run.current.nodes[node].grad)


def test_scrub_changes_the_value_live_without_a_compile_and_is_one_undo_step(
        qtbot, window, examples_dir, compiles: list[int]) -> None:  # noqa: ANN001, F811
    w = window
    at = _open(qtbot, w, examples_dir)
    built, steps = len(compiles), w.doc.undo_stack.count()
    QTest.mousePress(w.view.viewport(), LEFT, Qt.KeyboardModifier.NoModifier, at)
    drag = w.scene.interaction
    assert isinstance(drag, ScrubDrag) and drag.node_id == "x"
    seen = []
    for dx in (10, 25, 50):  # 0.02 per pixel from x = 2 (SCRUB_STEP of max(1, |2|))
        _move(w, at + QPoint(dx, 3))
        _settled(qtbot, w)
        x = w.doc.graph.nodes["x"].value
        seen.append(x)
        xt = torch.tensor(x, requires_grad=True)
        (2 * xt**2 + 3 * 3.0).backward()
        assert _partial(w, "x") == xt.grad.item()  # ∂y/∂x = 4x, computed anew while dragging
        assert float(w.run.current.nodes["y"].value) == (2 * torch.tensor(x) ** 2 + 9.0).item()
    assert seen == [2.2, 2.5, 3.0]
    assert w.doc.undo_stack.count() == steps  # nothing on the undo stack while dragging
    QTest.mouseRelease(w.view.viewport(), LEFT, Qt.KeyboardModifier.NoModifier, at + QPoint(50, 3))
    _settled(qtbot, w)
    assert w.scene.interaction is None and w.doc.graph.nodes["x"].value == 3.0
    assert w.doc.undo_stack.count() == steps + 1 and w.doc.undo_stack.undoText() == "Scrub x"
    assert len(compiles) == built  # values changed, the compiled code stayed
    w.doc.undo_stack.undo()
    _settled(qtbot, w)
    assert w.doc.graph.nodes["x"].value == 2.0 and _partial(w, "x") == 8.0
    assert len(compiles) == built


def test_shift_scrubs_finely_and_esc_puts_the_value_back(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    w = window
    at = _open(qtbot, w, examples_dir)
    steps = w.doc.undo_stack.count()
    QTest.mousePress(w.view.viewport(), LEFT, Qt.KeyboardModifier.NoModifier, at)
    _move(w, at + QPoint(10, 0))
    _settled(qtbot, w)
    assert w.doc.graph.nodes["x"].value == 2.2
    _move(w, at + QPoint(60, 0), shift=True)  # 50 more pixels at a tenth of the rate
    _settled(qtbot, w)
    assert w.doc.graph.nodes["x"].value == 2.3
    QTest.keyClick(w.view.viewport(), Qt.Key.Key_Escape)
    _settled(qtbot, w)
    assert w.scene.interaction is None and w.doc.graph.nodes["x"].value == 2.0
    assert _partial(w, "x") == 8.0 and w.doc.undo_stack.count() == steps
    QTest.mouseRelease(w.view.viewport(), LEFT, Qt.KeyboardModifier.NoModifier, at + QPoint(60, 0))
    assert w.doc.undo_stack.count() == steps and w.doc.graph.nodes["x"].value == 2.0


def test_only_a_scalar_float_number_scrubs(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    w = window
    w.open_file(str(examples_dir / "04_small_mlp.json"))
    w.view.resetTransform()
    item = w.scene.nodes["W1"]  # a matrix: a press on its value line is a move, as before
    w.view.centerOn(item)
    at = w.view.mapFromScene(item.mapToScene(scrub_rect(item).center()))
    QTest.mousePress(w.view.viewport(), LEFT, Qt.KeyboardModifier.NoModifier, at)
    assert not isinstance(w.scene.interaction, ScrubDrag)
    QTest.mouseRelease(w.view.viewport(), LEFT, Qt.KeyboardModifier.NoModifier, at)
