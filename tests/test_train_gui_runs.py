"""The Train toolbar while the worker is busy, against torch written here: Backward again and Zero
grads clicked during a recompute all count, in order."""

from __future__ import annotations

import torch
from helpers import RESULT_TIMEOUT_MS, make_graph
from test_train_gui import _settled

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
