"""The worker's queue (gui.worker.Computer): what waits while a job runs, and in which order.

A newer request of a kind replaces the older one that waits, in its place (only the latest
compute or preview matters); a request asked with coalesce=False never is (Backward again,
Zero grads: every click runs, in the order clicked); a waiting compute runs first; a task
cancelled while it waits (cancel_task) starts cancelled. On a thread, where a test's own
functions can run as tasks (tests/test_compute_process.py covers the process)."""

from __future__ import annotations

import threading

import pytest
from helpers import RESULT_TIMEOUT_MS, make_graph

from autograd_bridge.cancel import Cancelled
from graph.model import Node
from gui.worker import Computer


def _hold(_session, _cancel, release: threading.Event) -> str:  # noqa: ANN001
    """Keeps the worker busy until the test lets it go."""
    release.wait(RESULT_TIMEOUT_MS / 1000)
    return "held"


def _record(_session, cancel, log: list, item: object) -> object:  # noqa: ANN001
    try:
        cancel.check()
    except Cancelled:
        log.append(("cancelled", item))
        return None
    log.append(item)
    return item


@pytest.fixture
def busy(qtbot):  # noqa: ANN001, ANN201 - a thread Computer held busy, its log, and the release
    computer, release, log = Computer(mode="thread"), threading.Event(), []
    computer.resultReady.connect(lambda result: log.append(("compute", result.revision)))
    computer.request_task("hold", _hold, release, outlive_edits=True)
    assert computer.busy
    yield computer, log, release
    release.set()
    computer.wait(RESULT_TIMEOUT_MS)
    computer.close()


def _drain(qtbot, computer: Computer, log: list, count: int) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: len(log) >= count and not computer.busy, timeout=RESULT_TIMEOUT_MS)


def test_a_newer_preview_replaces_the_waiting_one_in_its_place(qtbot, busy) -> None:  # noqa: ANN001
    computer, log, release = busy
    computer.request_task("preview", _record, log, "preview 1")
    computer.request_task("other", _record, log, "other")
    computer.request_task("preview", _record, log, "preview 2")  # replaces preview 1, before "other"
    release.set()
    _drain(qtbot, computer, log, 2)
    assert log == ["preview 2", "other"]


def test_requests_that_must_not_coalesce_all_run_in_the_order_asked(qtbot, busy) -> None:  # noqa: ANN001
    computer, log, release = busy
    for item in ("backward 1", "zero", "backward 2", "backward 3"):
        name = "zero" if item == "zero" else "backward"
        computer.request_task(name, _record, log, item, coalesce=False)
    release.set()
    _drain(qtbot, computer, log, 4)
    assert log == ["backward 1", "zero", "backward 2", "backward 3"]


def test_a_waiting_compute_runs_first_and_only_the_newest(qtbot, busy) -> None:  # noqa: ANN001
    computer, log, release = busy
    graph = make_graph([Node("x", "tensor", value=2.0, requires_grad=True), Node("y", "exp")], [("x", "y", "input")])
    computer.request_task("backward", _record, log, "backward", coalesce=False)
    computer.request(graph, "y", 1)
    computer.request(graph, "y", 2)  # replaces revision 1's
    release.set()
    _drain(qtbot, computer, log, 2)
    assert log == [("compute", 2), "backward"]


def test_a_task_cancelled_while_it_waits_starts_cancelled(qtbot, busy) -> None:  # noqa: ANN001
    computer, log, release = busy
    computer.request_task("steps", _record, log, "steps", outlive_edits=True)
    computer.request_task("other", _record, log, "other")
    computer.cancel_task("steps")
    release.set()
    _drain(qtbot, computer, log, 2)
    assert log == [("cancelled", "steps"), "other"]


def test_a_request_made_while_a_result_is_handed_out_waits_its_turn(qtbot, busy) -> None:  # noqa: ANN001
    """The flow view asks for flows when a result arrives. Started at once, that request ran
    beside the job waiting next, and one of the two results was dropped."""
    computer, log, release = busy
    delivered = []

    def on_task(name: str, result: object) -> None:
        delivered.append(name)
        if name == "hold":  # a handler asking for more, as the flow view does
            computer.request_task("flows", _record, log, "flows")

    computer.taskReady.connect(on_task)
    computer.request_task("backward again", _record, log, "backward again", coalesce=False)
    release.set()
    qtbot.waitUntil(lambda: len(delivered) == 3 and not computer.busy, timeout=RESULT_TIMEOUT_MS)
    assert delivered == ["hold", "backward again", "flows"] and log == ["backward again", "flows"]
