"""The Train toolbar while the worker is busy, against torch written here: Backward again and Zero
grads clicked during a recompute all count, in order; a run of steps trains the target it
started with through target changes and F5, and only an edit of the graph (or Cancel) stops
it; the loss plot never mixes targets: each curve says which target it is for."""

from __future__ import annotations

import dataclasses

import torch
from helpers import RESULT_TIMEOUT_MS, make_graph
from PySide6.QtCore import QPointF
from test_train_gui import _long_run, _open, _settled, _sgd_by_hand

from graph.model import Node

ACCUMULATE = "train: backward again"


def _grads_lesson(qtbot, w) -> None:  # noqa: ANN001 - lesson 5's graph: y = x**2 at x = 3
    g = make_graph([Node("x", "tensor", value=3.0, requires_grad=True),
                    Node("y", "pow", attrs={"exponent": 2}, label="y = x**2")], [("x", "y", "input")])
    w._replace_document(g, None)  # noqa: SLF001
    w.doc.set_target("y")
    _settled(qtbot, w)


def _badge_after(qtbot, w, clicks: list) -> tuple[str, str]:  # noqa: ANN001
    """Each click while a recompute keeps the worker busy; the badge once all have run."""
    seen = []
    w.computer.taskReady.connect(lambda name, _r: seen.append(name) if name == ACCUMULATE else None)
    w.recompute()
    assert w.computer.busy  # the clicks wait behind it
    for click in clicks:
        click.trigger()
    _settled(qtbot, w)
    qtbot.waitUntil(lambda: not w.computer.busy, timeout=RESULT_TIMEOUT_MS)
    return w.training.badges.badges["x"].lines


def test_backward_again_clicked_while_the_worker_is_busy_counts_every_click_in_order(qtbot, window) -> None:  # noqa: ANN001
    w, t = window, window.training
    _grads_lesson(qtbot, w)
    x = torch.tensor(3.0, requires_grad=True)
    for _ in range(3):
        (x**2).backward()  # PyTorch's own .grad after three calls
    assert _badge_after(qtbot, w, [t.backward_action] * 3) == ("x.grad after 3 backward()",
                                                               f"= {x.grad.item():g} (accumulated)")
    # Backward again, Zero grads, Backward again: what is left is one call's .grad.
    x.grad = None
    (x**2).backward()
    lines = _badge_after(qtbot, w, [t.backward_action, t.zero_action, t.backward_action])
    assert lines == ("x.grad after 1 backward()", f"= {x.grad.item():g} (accumulated)")


def test_a_grad_badge_stays_under_its_node_through_a_move_and_its_undo(qtbot, window) -> None:  # noqa: ANN001
    from gui.train_overlay import GAP

    w, t = window, window.training
    _grads_lesson(qtbot, w)
    _badge_after(qtbot, w, [t.backward_action])
    item, badge = w.scene.nodes["x"], t.badges.badges["x"]

    def under() -> bool:
        return badge.pos() == item.pos() + QPointF(0, item.height() + GAP)

    assert under()
    start = item.pos()
    w.doc.move({"x": (start.x() + 240.0, start.y() + 130.0), "y": (start.x() + 600.0, start.y())})
    assert item.pos() == start + QPointF(240.0, 130.0) and under()
    w.doc.undo_stack.undo()
    assert item.pos() == start and under()


def test_a_run_goes_on_through_a_target_change_and_f5_and_says_so(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    w, t = window, window.training
    _open(qtbot, w, examples_dir / "04_small_mlp.json", "loss")
    steps = w.doc.undo_stack.count()
    _long_run(qtbot, w)
    w.doc.set_target("h")  # what a lesson step or a ∂ click does
    assert "goes on training loss, the target it started with" in w.statusBar().currentMessage()
    w.recompute()  # F5
    at_change = len(t.losses)
    qtbot.waitUntil(lambda: len(t.losses) >= at_change + 3, timeout=RESULT_TIMEOUT_MS)
    assert t.running == "loss"
    qtbot.waitUntil(lambda: t.plot.getAxis("left").labelText == "loss before each step", timeout=RESULT_TIMEOUT_MS)
    w.cancel_action.trigger()
    _settled(qtbot, w)
    done = len(t.losses)
    assert w.doc.undo_stack.count() == steps + 1 and f"stopped after {done} of 100000" in t.summary.text()
    for n, p in _sgd_by_hand(examples_dir, done).items():
        assert torch.equal(torch.tensor(w.doc.graph.nodes[n].value), p.detach()), n
    assert w.run.current.target == "h"  # the canvas computed the new target once the run ended
    # The compute that waited behind the run (the graph before its values) does not take the line.
    assert f"stopped after {done} of 100000" in w.statusBar().currentMessage()


def test_an_edit_of_the_graph_stops_a_run_running_or_waiting_and_writes_nothing(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    w, t = window, window.training
    _open(qtbot, w, examples_dir / "04_small_mlp.json", "loss")
    before = dict(w.doc.graph.nodes)
    inp = dataclasses.replace(before["inp"], value=[[0.0, 0.0, 0.0]] * 4)
    _long_run(qtbot, w)
    w.doc.edit_node(inp)  # no Cancel: the edit alone stops it
    _settled(qtbot, w)
    assert len(t.losses) < 100_000
    assert "the graph was edited during the run, which stopped it" in t.summary.text()
    assert all(w.doc.graph.nodes[n] == before[n] for n in ("W1", "b1", "W2"))
    # Asked while a compute runs, it waits; an edit meanwhile stops it before its first step.
    w.recompute()
    t.run_action.trigger()
    assert w.computer.busy and t.running == "loss"
    w.doc.undo_stack.undo()
    _settled(qtbot, w)
    assert "the graph was edited before the run's first step" in t.summary.text()
    assert all(w.doc.graph.nodes[n] == before[n] for n in ("W1", "b1", "W2"))


def test_cancel_stops_a_run_still_waiting_behind_a_compute(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    """The first Esc cancelled only the compute the run waited behind: then all its steps ran,
    though the status line said Cancel / Esc stops it."""
    w, t = window, window.training
    _open(qtbot, w, examples_dir / "04_small_mlp.json", "loss")
    before = dict(w.doc.graph.nodes)
    index = w.doc.undo_stack.index()
    w.recompute()
    t.run_action.trigger()
    assert w.computer.busy and t.running == "loss"
    w.cancel_action.trigger()  # Esc
    _settled(qtbot, w)
    qtbot.waitUntil(lambda: t.running is None, timeout=RESULT_TIMEOUT_MS)
    assert t.losses == [] and w.doc.undo_stack.index() == index
    assert all(w.doc.graph.nodes[n] == before[n] for n in ("W1", "b1", "W2"))


def _diamond(qtbot, w) -> None:  # noqa: ANN001 - lesson 7: y = u*v, u = x**2, v = 3*x at x = 2
    g = make_graph([Node("x", "tensor", value=2.0, requires_grad=True), Node("three", "tensor", value=3.0),
                    Node("u", "pow", attrs={"exponent": 2}), Node("v", "mul"), Node("y", "mul")],
                   [("x", "u", "input"), ("three", "v", "input"), ("x", "v", "other"),
                    ("u", "y", "input"), ("v", "y", "other")])
    w._replace_document(g, None)  # noqa: SLF001
    w.doc.set_target("y")
    _settled(qtbot, w)


def _steps(qtbot, w, count: int) -> None:  # noqa: ANN001
    for _ in range(count):
        w.training.step_action.trigger()
        _settled(qtbot, w)


def test_the_plot_never_mixes_targets_and_says_which_it_shows(qtbot, window) -> None:  # noqa: ANN001
    w, t = window, window.training
    _diamond(qtbot, w)
    t.optimiser_box.setCurrentText("SGD")
    t.lr_box.setValue(0.01)
    x = torch.tensor(2.0, requires_grad=True)
    opt = torch.optim.SGD([x], lr=0.01)

    def by_hand(target, count: int) -> list[float]:  # noqa: ANN001
        losses = []
        for _ in range(count):
            opt.zero_grad()
            value = target(x)
            losses.append(value.item())
            value.backward()
            opt.step()
        return losses

    _steps(qtbot, w, 3)
    assert t.losses == by_hand(lambda x: x**2 * (3 * x), 3)  # Step, Step, Step: one curve
    w.doc.choose_target("v")
    _steps(qtbot, w, 2)
    assert t.losses == by_hand(lambda x: 3 * x, 2)  # a new curve: v's alone
    assert list(t._curve.getData()[1]) == t.losses  # noqa: SLF001
    assert t.plot.getAxis("left").labelText == "v before each step"
    w.doc.edit_node(dataclasses.replace(w.doc.graph.nodes["three"], value=4.0))
    _settled(qtbot, w)
    _steps(qtbot, w, 1)
    assert t.losses == [4 * x.item()]  # after an edit: a new curve


def test_no_badges_for_a_backward_asked_with_a_grad_output_no_longer_asked(qtbot, window) -> None:  # noqa: ANN001
    """A Backward again asked with v = [1, 0.5, 0] whose .grad arrive after v became [1, 1, 1]
    (clicked while the worker was busy, v typed before it ran): its badges came back under the
    new v. Its answer is delivered again here as it would arrive, late."""
    from helpers import type_and_enter

    from gui.train import ACCUMULATE

    w, t = window, window.training
    g = make_graph([Node("x", "tensor", value=[1.0, 2.0, 3.0], requires_grad=True),
                    Node("y", "pow", attrs={"exponent": 2})], [("x", "y", "input")])
    w._replace_document(g, None)
    w.doc.set_target("y")
    type_and_enter(qtbot, w.grad_output_edit, "[1, 0.5, 0]")
    _settled(qtbot, w)
    answers = []
    w.computer.taskReady.connect(lambda name, result: answers.append(result) if name == ACCUMULATE else None)
    t.backward_action.trigger()
    qtbot.waitUntil(lambda: bool(answers) and "x" in t.badges.badges, timeout=RESULT_TIMEOUT_MS)
    assert "[2, 2, 0]" in " ".join(t.badges.badges["x"].lines)  # x.grad = 2x · v
    asked = (w.doc.revision, w.doc.target, w.device(), w.dtype(), repr(w.grad_output))
    type_and_enter(qtbot, w.grad_output_edit, "[1, 1, 1]")
    _settled(qtbot, w)
    assert t.badges.badges == {}
    t._accumulates_asked.append(asked)  # noqa: SLF001 - as if that click were still on its way
    t._on_task(ACCUMULATE, answers[0])  # noqa: SLF001 - its answer, arriving late
    assert t.badges.badges == {}
