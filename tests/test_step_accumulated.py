"""Step after Backward again is torch's optimizer.step() with the accumulated .grad, and .grad
stays after a step, as torch keeps it (autograd_bridge.training, gui/train.py): checked
against torch.optim written here, with the same hyperparameters, over Backward again and Step
mixed; in the window on lesson 05 (the reviewer's scenario: 3 × backward(), step(), backward()
gives 20.4, not 4.8), with undo and redo bringing the .grad before and after the step back."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from helpers import RESULT_TIMEOUT_MS, make_graph, type_and_enter
from test_train_gui import _mlp_params, _open, _settled
from test_training import _mlp_by_hand

from autograd_bridge.compute import ComputeSession
from autograd_bridge.training import START_OVER, GradAccumulator, Trainer
from graph.fileformat import load
from graph.lessons import load as load_lesson
from graph.model import Node

ROOT = Path(__file__).resolve().parent.parent
MLP = ROOT / "resources" / "examples" / "04_small_mlp.json"
LESSON_05 = ROOT / "resources" / "lessons" / "05_grads_accumulate.json"


class _App:
    """The worker's side as the window drives it: a graph whose revision moves on when a step's
    values are written, Backward again and Step going on from the .grad the last step saved."""

    def __init__(self, kind: str, lr: float) -> None:
        self.g, self.revision, self.kind, self.lr = load(MLP), 1, kind, lr
        self.session, self.acc, self.trainer = ComputeSession(), GradAccumulator(), Trainer()
        self.grads_from: int | None = None

    def backward(self) -> dict:
        got = self.acc.backward(self.session, None, self.g, self.revision, "cpu", None, "loss", None, self.grads_from)
        assert got.error is None
        return got

    def steps(self, count: int) -> object:
        got = self.trainer.steps(self.session, None, self.g, self.revision, "cpu", None, "loss", self.kind, self.lr,
                                 count, accumulator=self.acc, grads_from=self.grads_from)
        assert got.error is None and got.done == count
        for n, v in got.values.items():
            self.g.replace_node(dataclasses.replace(self.g.nodes[n], value=v))
        self.revision += 1
        self.grads_from = got.grads_after.saved_as
        return got


def _same_grads(arrays: dict, params: dict) -> None:
    for n, p in params.items():
        assert torch.equal(torch.from_numpy(arrays[n]).float(), p.grad), n


@pytest.mark.parametrize(("kind", "lr"), [("SGD", 0.1), ("Adam", 0.05)])
def test_backward_again_and_step_mixed_equal_torch_optim(kind: str, lr: float) -> None:
    app = _App(kind, lr)
    params, loss = _mlp_by_hand()
    opt = getattr(torch.optim, kind)(list(params.values()), lr=lr)

    def check(got: object, accumulated: int | None, calls: int) -> None:
        for n, p in params.items():
            assert torch.equal(torch.tensor(got.values[n]), p.detach()), n
        _same_grads(got.grads_after.arrays, params)  # .grad kept, as torch keeps it
        assert got.grads_after.calls == calls and not got.grads_after.pending
        assert (got.accumulated.calls if got.accumulated else None) == accumulated

    for _ in range(2):  # Backward again × 2
        app.backward()
        loss(params).backward()
    got = app.steps(1)  # Step: optimizer.step() alone, with the .grad of 2 backward()
    opt.step()
    check(got, 2, 2)
    got = app.backward()  # Backward again after it: adds to the kept .grad
    loss(params).backward()
    assert got.calls == 3 and got.pending
    _same_grads(got.arrays, params)
    got = app.steps(1)
    opt.step()
    check(got, 3, 3)
    got = app.steps(1)  # nothing added since that step: the usual loop
    opt.zero_grad()
    loss(params).backward()
    opt.step()
    check(got, None, 1)
    for _ in range(3):
        app.backward()
        loss(params).backward()  # onto the .grad the last step left
    got = app.steps(3)  # Run 3: step() with it, then twice the usual loop
    opt.step()
    for _ in range(2):
        opt.zero_grad()
        loss(params).backward()
        opt.step()
    check(got, 4, 1)


def test_undo_and_redo_go_back_to_the_grad_saved_before_and_after_the_step() -> None:
    app = _App("SGD", 0.1)
    before_values = {n: app.g.nodes[n] for n in ("W1", "b1", "W2")}
    for _ in range(3):
        app.backward()
    got = app.steps(1)
    before, after = got.grads_before, got.grads_after
    assert before.calls == after.calls == 3 and before.pending and not after.pending
    app.backward()  # 4 backward() on the stepped values
    # Undo: the old values at a new revision, going on from the .grad saved before the step.
    for node in before_values.values():
        app.g.replace_node(node)
    app.revision += 1
    app.grads_from = before.saved_as
    again = app.steps(1)
    assert again.accumulated.calls == 3  # still pending there: the same step() again
    assert all(again.values[n] == got.values[n] for n in got.values)
    # The same state without saying so (grads_from START_OVER): from no .grad, the usual loop.
    for node in before_values.values():
        app.g.replace_node(node)
    app.revision += 1
    app.grads_from = START_OVER
    plain = app.steps(1)
    assert plain.accumulated is None and plain.grads_before.calls == 0
    params, loss = _mlp_by_hand()
    loss(params).backward()
    _same_grads(plain.grads_after.arrays, params)


def test_a_step_not_taken_leaves_the_accumulated_grad_pending() -> None:
    g = make_graph([Node("b", "tensor", value=0.0, requires_grad=True), Node("c", "tensor", value=2e36),
                    Node("s", "sin"), Node("loss", "mul")],
                   [("b", "s", "input"), ("s", "loss", "input"), ("c", "loss", "other")])
    session, acc = ComputeSession(), GradAccumulator()
    for _ in range(2):  # b.grad = 2 · cos(0) · 2e36: a step of lr 100 makes b -4e38, inf in float32
        acc.backward(session, None, g, 1, "cpu", None, "loss")
    got = Trainer().steps(session, None, g, 1, "cpu", None, "loss", "SGD", 100.0, 1, accumulator=acc)
    assert got.done == 0 and "would make b hold inf or nan" in got.stopped and got.grads_after is None
    again = acc.backward(session, None, g, 1, "cpu", None, "loss")
    assert again.calls == 3 and again.pending and again.texts["b"] == "6e+36"


def test_lesson_05_states_torchs_numbers_for_a_step_after_three_backward() -> None:
    text = load_lesson(LESSON_05).steps[2].text
    x = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([x], lr=0.1)  # the Train toolbar's defaults, as the text says
    for _ in range(3):
        (x**2).backward()
    assert "Step (SGD, lr 0.1)" in text and f"x.grad of {x.grad.item():g}: x = 3 − 0.1 × 18 = " in text
    opt.step()
    assert f"= {x.item():g}. A step never clears .grad: it stays {x.grad.item():g}," in text
    (x**2).backward()
    assert f"one more backward() makes it {x.grad.item():g}." in text


# ---- in the window ----


def _lesson_05(qtbot, w) -> None:  # noqa: ANN001
    assert w.lesson_dock.open_file(str(LESSON_05))
    w.lesson_dock.go(1)
    _settled(qtbot, w)


def _click(qtbot, w, action, times: int = 1) -> None:  # noqa: ANN001
    for _ in range(times):
        action.trigger()
        _settled(qtbot, w)


def _x(w) -> float:  # noqa: ANN001
    return torch.tensor(w.doc.graph.nodes["x"].value).item()  # as torch reads it: written short, 1.1999999


def test_lesson_05_step_after_three_backward_uses_18_and_keeps_it(qtbot, window) -> None:  # noqa: ANN001
    w, t = window, window.training
    _lesson_05(qtbot, w)
    x = torch.tensor(3.0, requires_grad=True)  # the reviewer's torch code
    opt = torch.optim.SGD([x], lr=0.1)
    _click(qtbot, w, t.backward_action, 3)
    for _ in range(3):
        (x**2).backward()
    assert t.badges.badges["x"].lines == ("x.grad after 3 backward()", "= 18 (accumulated)")
    w.lesson_dock.go(2)  # the lesson's next step (same target): .grad stays
    _click(qtbot, w, t.step_action)
    opt.step()
    assert _x(w) == x.item() == pytest.approx(1.2)  # a step with 18, not 6
    assert t.badges.badges["x"].lines == ("x.grad after 3 backward()", "= 18 (accumulated)")  # kept
    line = t.summary.text()
    assert "[step(): x -= 0.1 × x.grad (18, accumulated over 3 backward())]; y 9 → 1.44" in line
    assert ".grad kept, as torch keeps it" in line and line in w.statusBar().currentMessage()
    _click(qtbot, w, t.backward_action)
    (x**2).backward()
    assert x.grad.item() == pytest.approx(20.4)
    assert t.badges.badges["x"].lines == ("x.grad after 4 backward()", f"= {x.grad.item():g} (accumulated)")
    assert w.doc.undo_stack.undoText() == "SGD 1 step (lr 0.1)"
    # Undo: x = 3 and the .grad shown before the step, still to be stepped with.
    w.doc.undo_stack.undo()
    _settled(qtbot, w)
    assert _x(w) == 3.0 and t.badges.badges["x"].lines == ("x.grad after 3 backward()", "= 18 (accumulated)")
    assert "as it was before the steps (3 backward()); Step steps with it" in t.summary.text()
    w.doc.undo_stack.redo()  # the .grad right after the step
    _settled(qtbot, w)
    assert _x(w) == x.item() and t.badges.badges["x"].lines[0] == "x.grad after 3 backward()"
    _click(qtbot, w, t.backward_action)
    assert t.badges.badges["x"].lines[0] == "x.grad after 4 backward()"
    w.doc.undo_stack.undo()
    _settled(qtbot, w)
    _click(qtbot, w, t.step_action)  # from the restored 18, as before
    assert _x(w) == x.item()
    # Zero grads clears the kept .grad; the next Step is the usual loop.
    _click(qtbot, w, t.zero_action)
    assert t.badges.badges["x"].lines == ("x.grad zeroed", "= None")
    _click(qtbot, w, t.step_action)
    opt.zero_grad()
    (x**2).backward()
    opt.step()
    assert _x(w) == x.item()
    assert "[zero_grad(); y.backward(); step()]" in t.summary.text()
    assert t.badges.badges["x"].lines == ("x.grad after 1 backward()", f"= {x.grad.item():g} (accumulated)")


def test_with_no_accumulated_grad_step_is_the_usual_loop_and_says_so(qtbot, window) -> None:  # noqa: ANN001
    w, t = window, window.training
    _lesson_05(qtbot, w)
    for text in (t.step_action.toolTip(), t.run_action.toolTip(), t.summary.text()):
        assert "optimizer.zero_grad(); loss.backward(); optimizer.step()" in text
        assert "after Backward again: optimizer.step() alone, with that accumulated .grad" in text
    x = torch.tensor(3.0, requires_grad=True)
    opt = torch.optim.SGD([x], lr=0.1)
    _click(qtbot, w, t.backward_action, 2)
    # The status bar shows the start of this long line; its tooltip and the panel, all of it.
    assert w.statusBar().currentMessage().startswith("Each leaf's .grad after 2 backward() calls of y, never zeroed")
    for where in (w.statusBar().toolTip() or w.statusBar().currentMessage(), t.summary.text()):  # tip: when cut
        assert "Step now: optimizer.step() with it, no zero_grad() first" in where
    # A grad-output typed and taken back clears the badges: the .grad held is not the one
    # shown any more, so Step does not step with it.
    type_and_enter(qtbot, w.grad_output_edit, "2")
    w.doc.undo_stack.undo()
    assert w.grad_output is None and t.badges.badges == {}
    t.count_box.setValue(3)
    _click(qtbot, w, t.run_action)
    for _ in range(3):
        opt.zero_grad()
        (x**2).backward()
        opt.step()
    assert _x(w) == x.item()
    assert "3 step(s) [3 × (zero_grad(); y.backward(); step())]" in t.summary.text()
    assert ".grad holds the last y.backward()'s, as torch keeps it" in t.summary.text()
    assert t.badges.badges["x"].lines == ("x.grad after 1 backward()", f"= {x.grad.item():g} (accumulated)")
    _click(qtbot, w, t.backward_action)  # onto that .grad, as torch adds
    (x**2).backward()
    assert t.badges.badges["x"].lines == ("x.grad after 2 backward()", f"= {x.grad.item():g} (accumulated)")


def test_run_n_after_backward_again_is_the_accumulation_loop_with_adam(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    w, t = window, window.training
    _open(qtbot, w, examples_dir / "04_small_mlp.json", "loss")
    t.optimiser_box.setCurrentText("Adam")
    t.lr_box.setValue(0.05)
    params, loss = _mlp_params(examples_dir)
    opt = torch.optim.Adam(list(params.values()), lr=0.05)
    _click(qtbot, w, t.step_action)  # the usual loop
    opt.zero_grad()
    loss(params).backward()
    opt.step()
    _click(qtbot, w, t.backward_action, 2)  # onto the step's .grad: 3 backward()
    for _ in range(2):
        loss(params).backward()
    t.count_box.setValue(4)
    _click(qtbot, w, t.run_action)
    opt.step()
    for _ in range(3):
        opt.zero_grad()
        loss(params).backward()
        opt.step()
    for n, p in params.items():
        assert torch.equal(torch.tensor(w.doc.graph.nodes[n].value), p.detach()), n
    assert ("4 step(s) [step() with each leaf's .grad (accumulated over 3 backward()), then 3 × "
            "(zero_grad(); loss.backward(); step())]") in t.summary.text()
    qtbot.waitUntil(lambda: "→" in t.summary.text() and "recomputing" not in t.summary.text(),
                    timeout=RESULT_TIMEOUT_MS)
