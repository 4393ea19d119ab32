"""Cancelling a compute: the token, the session, the window's Cancel (toolbar and Esc), and a new
edit cancelling a stale compute instead of queueing behind it (issue 9, "Never freeze")."""

from __future__ import annotations

import threading
import time

import pytest
import torch
from helpers import RESULT_TIMEOUT_MS, THREAD_ONLY

from autograd_bridge.cancel import Cancelled, CancelToken
from autograd_bridge.compute import ComputeSession
from benchmarks.liveness import slow_graph
from graph.model import Edge, Graph, Node


def small_graph() -> Graph:
    g = Graph()
    g.add_node(Node("x", "tensor", value=[1.0, -2.0, 3.0], requires_grad=True))
    g.add_node(Node("s", "sin"))
    g.add_node(Node("y", "sum"))
    g.add_edge(Edge("x", "s", "input"))
    g.add_edge(Edge("s", "y", "input"))
    return g


def test_a_token_set_before_the_compute_stops_it_and_the_session_still_computes_right() -> None:
    session, token = ComputeSession(), CancelToken()
    token.cancel()
    stopped = session.compute(small_graph(), "y", 1, cancel=token)
    assert stopped.cancelled and stopped.nodes == {} and stopped.error is None
    done = session.compute(small_graph(), "y", 1, cancel=CancelToken())
    assert not done.cancelled and done.error is None
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    (grad,) = torch.autograd.grad(torch.sin(x).sum(), [x])  # independent of the app
    assert done.nodes["x"].grad.tolist() == pytest.approx(grad.tolist())


def test_a_token_stops_a_running_forward_within_a_second() -> None:
    session, token = ComputeSession(), CancelToken()
    started = threading.Event()
    from torch.overrides import TorchFunctionMode

    class Started(TorchFunctionMode):  # says when the compute has begun running torch ops
        def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
            started.set()
            return func(*args, **(kwargs or {}))

    out: list = []
    thread = threading.Thread(target=lambda: out.append(_compute_in_mode(session, token, Started())))
    thread.start()
    assert started.wait(60)
    time.sleep(0.3)  # well inside the seconds the whole graph takes
    asked = time.perf_counter()
    token.cancel()
    thread.join(30)
    assert not thread.is_alive()
    assert out[0].cancelled
    assert time.perf_counter() - asked < 1.0  # the bound; an op here takes a few ms


def _compute_in_mode(session: ComputeSession, token: CancelToken, mode: object):  # noqa: ANN202
    with mode:
        return session.compute(slow_graph(), "y", 1, cancel=token)


def test_backward_checks_the_token_before_its_ops() -> None:
    token = CancelToken()
    x = torch.randn(4, requires_grad=True)
    values = [torch.sin(x)]
    for _ in range(5):
        values.append(torch.tanh(values[-1]))
    token.watch_backward(values)
    token.cancel()
    with pytest.raises(Cancelled):
        torch.autograd.grad(values[-1].sum(), [x])
    fresh = [torch.sin(x)]
    CancelToken().watch_backward(fresh)  # an unset token changes nothing
    (g,) = torch.autograd.grad(fresh[0].sum(), [x])
    assert torch.equal(g, torch.cos(x).detach())


def test_generated_code_checks_the_token_before_each_op_and_only_when_compiled_cancellable() -> None:
    """A token set during one op stops the forward before the next one; a Compiled made without
    `cancellable` (the CLI's) never reads a token, so its runs pay nothing for it."""
    from torch.overrides import TorchFunctionMode

    from autograd_bridge.engine import Compiled

    token, called = CancelToken(), []

    class CancelAtSin(TorchFunctionMode):  # cancels while torch.sin runs, as Esc would
        def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
            called.append(func.__name__)
            if func is torch.sin:
                token.cancel()
            return func(*args, **(kwargs or {}))

    g = small_graph()
    g.add_node(Node("t", "tanh"))
    g.add_edge(Edge("s", "t", "input"))
    compiled = Compiled(g, cancellable=True)
    leaves = compiled.make_leaves()
    with token.watching_forward(), CancelAtSin(), pytest.raises(Cancelled):
        compiled.forward(leaves)
    assert called[-1] == "sin" and "tanh" not in called and "sum" not in called
    with token.watching_forward():  # set, but this Compiled does not look
        values = Compiled(g).forward(leaves)
    torch.testing.assert_close(values["t"], torch.tanh(torch.sin(torch.tensor([1.0, -2.0, 3.0]))))
    with CancelToken().watching_forward():  # an unset token changes nothing
        torch.testing.assert_close(compiled.forward(leaves)["t"], values["t"])
    done = ComputeSession().compute(g, "y", 1, cancel=token)  # the session's compute is cancellable
    assert done.cancelled


# ---- the window ----

def _start_slow_compute(qtbot, window):  # noqa: ANN001, ANN202
    window.doc.reset(slow_graph())
    window.doc.set_target("y")
    qtbot.waitUntil(lambda: window.computer.computing, timeout=RESULT_TIMEOUT_MS)
    qtbot.wait(200)  # inside the run, which takes seconds


def test_cancel_is_enabled_only_while_computing_and_esc_stops_the_run(qtbot, window) -> None:  # noqa: ANN001
    from PySide6.QtCore import Qt

    assert not window.cancel_action.isEnabled()
    _start_slow_compute(qtbot, window)
    assert window.cancel_action.isEnabled()
    window.view.setFocus()
    asked = time.perf_counter()
    qtbot.keyClick(window.view, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.computer.computing, timeout=RESULT_TIMEOUT_MS)
    assert time.perf_counter() - asked < 1.0
    assert not window.cancel_action.isEnabled()
    qtbot.waitUntil(lambda: window.status.text() == "cancelled: stale", timeout=5000)
    assert window.last_result is None  # nothing computed for this document is claimed
    assert window.scene.nodes["y"].stale
    assert window.scene.stale_text.startswith("cancelled")  # not "computing…" on nodes never computed


def test_f5_computes_again(qtbot, window) -> None:  # noqa: ANN001
    from PySide6.QtCore import Qt

    window.doc.reset(small_graph())
    window.doc.set_target("y")
    qtbot.waitUntil(lambda: window.last_result is not None, timeout=RESULT_TIMEOUT_MS)
    asked = window.computer.requests
    window.view.setFocus()
    qtbot.keyClick(window.view, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: window.computer.requests == asked + 1 and not window.computer.computing,
                    timeout=RESULT_TIMEOUT_MS)
    assert window.scene.stale_text == "computing…"
    qtbot.waitUntil(lambda: not window.scene.nodes["y"].stale, timeout=RESULT_TIMEOUT_MS)


@THREAD_ONLY
def test_a_new_edit_cancels_the_stale_compute_instead_of_waiting_for_it(qtbot, window) -> None:  # noqa: ANN001
    runs: list[tuple[int, bool]] = []
    compute = window.computer.session.compute

    def recording(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        result = compute(*args, **kwargs)
        runs.append((result.revision, result.cancelled))
        return result

    window.computer.session.compute = recording
    _start_slow_compute(qtbot, window)
    slow_revision = window.doc.revision
    # Cut the chain at its start: everything after m0 lacks an input, so the new run is quick.
    window.doc.remove([], [Edge("x", "m0", "input")])
    qtbot.waitUntil(lambda: window.last_result is not None and window.last_result.revision == window.doc.revision,
                    timeout=RESULT_TIMEOUT_MS)
    assert (slow_revision, True) in runs  # the old run stopped rather than finishing
    assert "m0" in window.last_result.error_nodes


def test_esc_during_a_canvas_gesture_cancels_the_gesture_not_the_compute(qtbot, window) -> None:  # noqa: ANN001
    from PySide6.QtCore import Qt

    _start_slow_compute(qtbot, window)
    window.scene.interaction = _Gesture()
    qtbot.keyClick(window.view, Qt.Key.Key_Escape)
    assert window.computer.computing  # still running: the gesture had the key
    window.scene.interaction = None
    window.cancel_compute()
    qtbot.waitUntil(lambda: not window.computer.computing, timeout=RESULT_TIMEOUT_MS)


class _Gesture:
    """Stands for a gesture in progress (gui.canvas.interactions): takes Esc."""

    def cancel(self) -> None:
        pass


# ---- named tasks (gui.worker.Computer.request_task) ----

def _task(session, cancel, n: int):  # noqa: ANN001, ANN202 - a ComputeSession, a CancelToken
    """Counts up to n, checking the token: what a long task of a feature does."""
    done = 0
    try:
        for _ in range(n):
            cancel.check()
            time.sleep(0.001)
            done += 1
    except Cancelled:
        return ("stopped", done, session is not None)
    return ("done", done, session is not None)


@THREAD_ONLY
def test_a_named_task_runs_on_the_worker_and_can_be_cancelled(qtbot, window) -> None:  # noqa: ANN001
    got: list[tuple[str, object]] = []
    window.computer.taskReady.connect(lambda name, result: got.append((name, result)))
    window.computer.request_task("count", _task, 5)
    qtbot.waitUntil(lambda: bool(got), timeout=RESULT_TIMEOUT_MS)
    assert got == [("count", ("done", 5, True))]
    window.computer.request_task("count", _task, 100_000)
    qtbot.waitUntil(lambda: window.computer.computing, timeout=RESULT_TIMEOUT_MS)
    assert window.cancel_action.isEnabled()
    window.cancel_action.trigger()
    qtbot.waitUntil(lambda: len(got) == 2, timeout=RESULT_TIMEOUT_MS)
    name, (how, done, _) = got[1]
    assert name == "count" and how == "stopped" and done < 100_000


def test_a_task_reuses_the_compile_of_the_compute_before_it() -> None:
    session = ComputeSession()
    graph = small_graph()
    session.compute(graph, "y", 7)
    compiled, leaves = session.compiled_for(graph, 7)
    assert compiled is session._part.compiled  # noqa: SLF001 - the very part compute made
    values = compiled.forward(leaves)
    x = torch.tensor([1.0, -2.0, 3.0])
    assert torch.allclose(values["y"], torch.sin(x).sum())
    assert session.compiled_for(graph, 8)[0] is compiled  # same wiring at a new revision: reused
    assert session.compiled_for(graph, 9, dtype="float64")[0] is not compiled  # another dtype: anew


@THREAD_ONLY
def test_a_new_compute_cancels_a_running_task_instead_of_waiting_behind_it(qtbot, window) -> None:  # noqa: ANN001
    got: list[tuple[str, object]] = []
    window.computer.taskReady.connect(lambda name, result: got.append((name, result)))
    window.doc.reset(small_graph())
    qtbot.waitUntil(lambda: window.last_result is not None, timeout=RESULT_TIMEOUT_MS)
    window.computer.request_task("count", _task, 1_000_000)  # ~20 minutes if nothing stops it
    qtbot.waitUntil(lambda: window.computer.computing, timeout=RESULT_TIMEOUT_MS)
    window.doc.set_target("y")  # a new state: the task is stale
    qtbot.waitUntil(lambda: window.last_result is not None and window.last_result.target == "y",
                    timeout=RESULT_TIMEOUT_MS)
    assert got and got[0][0] == "count" and got[0][1][0] == "stopped"
