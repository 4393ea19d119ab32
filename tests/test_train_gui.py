"""The Train toolbar in the window (gui/train.py), offscreen: Backward again shows .grad adding
up on the leaves (as repeated backward() does), Zero grads clears it, Step and Run N write the
values torch.optim gives by hand as ONE undo step, Undo gives the old values back exactly, a
stopped run keeps the steps it finished (none: no undo step), an init leaf becomes a literal."""

from __future__ import annotations

import dataclasses
import json

import torch
from helpers import RESULT_TIMEOUT_MS, THREAD_ONLY
from PySide6.QtCore import Qt

from graph.model import Graph, Node

STEPS = "train: steps"


def _settled(qtbot, w) -> None:  # noqa: ANN001
    def done() -> bool:
        w.computer.wait(RESULT_TIMEOUT_MS)
        current = w.run.current
        return (not w.computer.busy and not w.training.running
                and current is not None and current.revision == w.doc.revision)
    qtbot.waitUntil(done, timeout=RESULT_TIMEOUT_MS)


def _open(qtbot, w, path, target: str) -> None:  # noqa: ANN001
    w.open_file(str(path))
    w.doc.set_target(target)
    _settled(qtbot, w)


def _long_run(qtbot, w) -> None:  # noqa: ANN001
    """A Run of 100,000 steps started, 3 of them done."""
    w.training.count_box.setValue(100_000)
    w.training.run_action.trigger()
    qtbot.waitUntil(lambda: len(w.training.losses) >= 3, timeout=RESULT_TIMEOUT_MS)


def test_backward_again_adds_up_and_zero_grads_clears(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    w, t = window, window.training
    _open(qtbot, w, examples_dir / "01_scalar_partial.json", "y")
    x = torch.tensor(2.0, requires_grad=True)
    for calls in (1, 2, 3):
        t.backward_action.trigger()
        _settled(qtbot, w)
        (2 * x**2 + 3 * 3.0).backward()  # PyTorch's own accumulation
        badge = t.badges.badges["x"]
        assert badge.lines == (f"x.grad after {calls} backward()", f"= {x.grad.item():g} (accumulated)")
        assert badge.scene() is w.scene and badge.isVisible()
    assert set(t.badges.badges) == {"x"}  # requires-grad leaves only
    assert "x.grad accumulates until set to None or zeroed" in w.statusBar().currentMessage()
    assert "3 backward() calls" in t.summary.text()
    # The canvas's own overlay still says what one run gives: ∂y/∂x = 8.
    assert w.run.current.nodes["x"].grad_text == "8"
    t.zero_action.trigger()
    _settled(qtbot, w)
    assert t.badges.badges["x"].lines == ("x.grad zeroed", "= None")
    t.backward_action.trigger()
    _settled(qtbot, w)
    assert t.badges.badges["x"].lines[1] == "= 8 (accumulated)"
    w.doc.edit_node(dataclasses.replace(w.doc.graph.nodes["x"], value=1.0))  # a new state: badges go
    assert t.badges.badges == {}


def _mlp_params(examples_dir) -> tuple[dict, callable]:  # noqa: ANN001
    nodes = {n["id"]: n for n in json.loads((examples_dir / "04_small_mlp.json").read_text())["nodes"]}
    inp, target = torch.tensor(nodes["inp"]["value"]), torch.tensor(nodes["y_true"]["value"])
    params = {n: torch.tensor(nodes[n]["value"], requires_grad=True) for n in ("W1", "b1", "W2")}
    return params, lambda p: torch.nn.functional.mse_loss(torch.tanh(inp @ p["W1"] + p["b1"]) @ p["W2"], target)


def _sgd_by_hand(examples_dir, steps: int) -> dict:  # noqa: ANN001
    """Example 04's parameters after `steps` steps of torch.optim.SGD at lr 0.1, written here."""
    params, loss = _mlp_params(examples_dir)
    opt = torch.optim.SGD(list(params.values()), lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        loss(params).backward()
        opt.step()
    return params


def test_run_n_adam_equals_torch_optim_and_is_one_undo_step(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    w, t = window, window.training
    _open(qtbot, w, examples_dir / "04_small_mlp.json", "loss")
    before = {n: w.doc.graph.nodes[n] for n in ("W1", "b1", "W2")}
    steps = w.doc.undo_stack.count()
    t.optimiser_box.setCurrentText("Adam")
    t.lr_box.setValue(0.05)
    t.count_box.setValue(7)
    t.run_action.trigger()
    _settled(qtbot, w)
    params, loss = _mlp_params(examples_dir)
    opt = torch.optim.Adam(list(params.values()), lr=0.05)
    losses = []
    for _ in range(7):
        opt.zero_grad()
        value = loss(params)
        losses.append(value.item())
        value.backward()
        opt.step()
    for n, p in params.items():
        assert torch.equal(torch.tensor(w.doc.graph.nodes[n].value), p.detach()), n
    assert t.losses == losses  # what the plot shows
    assert list(t._curve.getData()[1]) == losses  # noqa: SLF001
    assert w.doc.undo_stack.count() == steps + 1 and w.doc.undo_stack.undoText() == "Adam 7 steps (lr 0.05)"
    assert "one undo step" in w.statusBar().currentMessage()
    w.doc.undo_stack.undo()
    _settled(qtbot, w)
    assert {n: w.doc.graph.nodes[n] for n in before} == before  # exactly the old values
    # The curve stays (Redo writes the steps again), grey, dashed and said to be undone.
    left = t.plot.getAxis("left")
    assert left.labelText == "loss before each step (undone)" and list(t._curve.getData()[1]) == losses  # noqa: SLF001
    assert t._curve.opts["pen"].style() == Qt.PenStyle.DashLine  # noqa: SLF001
    w.doc.undo_stack.redo()
    _settled(qtbot, w)
    assert left.labelText == "loss before each step" and t._curve.opts["pen"].style() == Qt.PenStyle.SolidLine  # noqa: SLF001
    w.doc.undo_stack.undo()
    _settled(qtbot, w)
    # Step, Step: the same as two steps of one SGD by hand.
    t.optimiser_box.setCurrentText("SGD")
    for _ in range(2):
        t.step_action.trigger()
        _settled(qtbot, w)
    params, loss = _mlp_params(examples_dir)
    opt = torch.optim.SGD(list(params.values()), lr=0.05)
    for _ in range(2):
        opt.zero_grad()
        loss(params).backward()
        opt.step()
    for n, p in params.items():
        assert torch.equal(torch.tensor(w.doc.graph.nodes[n].value), p.detach()), n
    assert w.doc.undo_stack.count() == steps + 2


def test_a_stopped_run_keeps_its_finished_steps_as_one_undo_step(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    w, t = window, window.training
    _open(qtbot, w, examples_dir / "04_small_mlp.json", "loss")
    steps = w.doc.undo_stack.count()
    _long_run(qtbot, w)
    assert w.cancel_action.isEnabled()
    w.cancel_action.trigger()  # what Esc does
    _settled(qtbot, w)
    done = len(t.losses)
    assert 3 <= done < 100_000
    assert w.doc.undo_stack.count() == steps + 1 and f"stopped after {done} of 100000" in t.summary.text()
    for n, p in _sgd_by_hand(examples_dir, done).items():
        assert torch.equal(torch.tensor(w.doc.graph.nodes[n].value), p.detach()), n


@THREAD_ONLY
def test_stopped_before_the_first_step_changes_nothing(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    w, t = window, window.training
    _open(qtbot, w, examples_dir / "04_small_mlp.json", "loss")
    steps = w.doc.undo_stack.count()
    w.computer.request_task("hold", lambda _s, cancel: cancel.check())  # keeps the worker busy first
    t.run_action.trigger()  # queued behind it
    got = []
    w.computer.taskReady.connect(lambda name, result: got.append(result) if name == STEPS else None)
    # Cancel lands on the steps task as soon as it starts, before its first step.
    w.computer.computingChanged.connect(lambda on: on and w.computer.cancel())
    qtbot.waitUntil(lambda: bool(got), timeout=RESULT_TIMEOUT_MS)
    assert got[0].done == 0 and got[0].cancelled
    assert w.doc.undo_stack.count() == steps
    assert "stopped before the first step; nothing changed" in w.statusBar().currentMessage()


def test_an_init_leaf_becomes_a_literal_and_the_status_says_so(qtbot, window) -> None:  # noqa: ANN001
    w, t = window, window.training
    g = Graph()
    g.add_node(Node("w", "tensor", init={"fn": "randn", "shape": [3], "seed": 1}, requires_grad=True), pos=(0, 0))
    g.add_node(Node("s", "sum"), pos=(250, 0))
    from graph.model import Edge

    g.add_edge(Edge("w", "s", "input"))
    w._replace_document(g, None)  # noqa: SLF001
    w.doc.set_target("s")
    _settled(qtbot, w)
    t.step_action.trigger()
    _settled(qtbot, w)
    node = w.doc.graph.nodes["w"]
    assert node.init is None and isinstance(node.value, list) and len(node.value) == 3
    for where in (w.statusBar().toolTip(), t.summary.text()):  # the status line is cut before it
        assert "w made by init now hold literals of their new values" in where
    w.doc.undo_stack.undo()
    assert w.doc.graph.nodes["w"].init == {"fn": "randn", "shape": [3], "seed": 1}


def test_the_grad_badges_go_when_the_grad_output_changes_or_its_change_is_undone(qtbot, window) -> None:  # noqa: ANN001
    from helpers import type_and_enter

    w, t = window, window.training
    g = Graph()
    g.add_node(Node("x", "tensor", value=[1.0, 2.0, 3.0], requires_grad=True), pos=(0, 0))
    g.add_node(Node("y", "pow", attrs={"exponent": 2}), pos=(250, 0))
    from graph.model import Edge

    g.add_edge(Edge("x", "y", "input"))
    w._replace_document(g, None)  # noqa: SLF001
    w.doc.set_target("y")
    type_and_enter(qtbot, w.grad_output_edit, "[1, 0.5, 0]")
    _settled(qtbot, w)
    t.backward_action.trigger()
    _settled(qtbot, w)
    assert set(t.badges.badges) == {"x"}
    type_and_enter(qtbot, w.grad_output_edit, "[1, 1, 1]")  # the next backward() starts from no .grad
    assert t.badges.badges == {}
    t.backward_action.trigger()
    _settled(qtbot, w)
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x**2).backward(torch.ones(3))
    assert t.badges.badges["x"].lines == ("x.grad after 1 backward()", "= [2, 4, 6] (accumulated)")
    assert x.grad.tolist() == [2, 4, 6]
    w.doc.undo_stack.undo()  # the grad-output is [1, 0.5, 0] again
    assert w.grad_output == [1, 0.5, 0] and t.badges.badges == {}
    t.backward_action.trigger()
    _settled(qtbot, w)
    w.dtype_box.setCurrentText("float64")  # so do the device and the dtype
    assert t.badges.badges == {}


def test_steps_and_backward_on_a_target_that_needs_no_grad_say_so_in_one_line(qtbot, window, capfd) -> None:  # noqa: ANN001
    from graph.model import Edge

    w, t = window, window.training
    g = Graph()
    g.add_node(Node("x", "tensor", value=2.0, requires_grad=True), pos=(0, 0))
    g.add_node(Node("z", "tensor", value=1.0), pos=(0, 200))
    g.add_node(Node("three_z", "mul", label="3*z"), pos=(250, 200))
    g.add_node(Node("y", "add"), pos=(500, 100))
    for src, dst, port in (("z", "three_z", "input"), ("z", "three_z", "other"), ("x", "y", "input"),
                           ("three_z", "y", "other")):
        g.add_edge(Edge(src, dst, port))
    w._replace_document(g, None)  # noqa: SLF001
    w.doc.set_target("three_z")
    _settled(qtbot, w)
    steps = w.doc.undo_stack.count()
    for action in (t.step_action, t.run_action):
        action.trigger()
        _settled(qtbot, w)
        assert w.statusBar().currentMessage() == ("SGD lr=0.1: ⚠ 3*z does not depend on any tensor that requires "
                                                  "grad: nothing to train")
        assert t.run_action.isEnabled() and w.doc.undo_stack.count() == steps
    t.backward_action.trigger()
    _settled(qtbot, w)
    assert "3*z does not depend on any tensor that requires grad" in w.statusBar().currentMessage()
    assert t.badges.badges == {}
    assert "Traceback" not in capfd.readouterr().err


def test_a_step_that_would_make_a_leaf_inf_is_not_taken_and_the_steps_before_are_written(qtbot, window) -> None:  # noqa: ANN001
    from graph.model import Edge

    w, t = window, window.training
    g = Graph()  # loss = sin(b) * 2e36: finite, while each step moves b by up to 2e38
    g.add_node(Node("b", "tensor", value=0.0, requires_grad=True), pos=(0, 0))
    g.add_node(Node("c", "tensor", value=2e36), pos=(0, 200))
    g.add_node(Node("s", "sin"), pos=(250, 0))
    g.add_node(Node("loss", "mul"), pos=(500, 100))
    for src, dst, port in (("b", "s", "input"), ("s", "loss", "input"), ("c", "loss", "other")):
        g.add_edge(Edge(src, dst, port))
    w._replace_document(g, None)  # noqa: SLF001
    w.doc.set_target("loss")
    _settled(qtbot, w)
    b = torch.tensor(0.0, requires_grad=True)
    opt, kept = torch.optim.SGD([b], lr=100.0), []
    while True:  # torch by hand: the steps before the first that leaves b inf or nan
        opt.zero_grad()
        (torch.sin(b) * torch.tensor(2e36)).backward()
        before = b.detach().clone()
        opt.step()
        if not torch.isfinite(b):
            break
        kept.append(b.item())
    assert len(kept) >= 2  # the case this test is for
    t.lr_box.setValue(100.0)
    t.count_box.setValue(50)
    t.run_action.trigger()
    _settled(qtbot, w)
    assert torch.tensor(w.doc.graph.nodes["b"].value).item() == before.item() == kept[-1]  # as float32
    assert (f"{len(kept)} step(s)" in t.summary.text()
            and f"step {len(kept) + 1} would make b hold inf or nan: stopped before it" in t.summary.text())
    assert w.doc.undo_stack.undoText() == f"SGD {len(kept)} steps (lr 100)"
