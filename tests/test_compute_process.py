"""The app's default worker: a compute process (autograd_bridge.compute_process, gui.worker_process).

The rest of the suite computes on a thread (tests/conftest.py); here windows and Computers use
the process on purpose: the window's process never imports torch, every feature's job runs in
the child with the same numbers, and the child stopping (a crash, a kill, a Cancel that one
long kernel ignores) costs only the job it ran.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import RESULT_TIMEOUT_MS
from PySide6.QtCore import QProcess

from benchmarks.liveness import slow_graph
from graph.fileformat import load
from gui.worker import Computer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "resources" / "examples"


@pytest.fixture
def process_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADCANVAS_COMPUTE", "process")


def _results(computer: Computer) -> list:
    got: list = []
    computer.resultReady.connect(got.append)
    return got


def test_the_process_gives_the_threads_numbers(qtbot, process_mode) -> None:  # noqa: ANN001, ARG001
    g = load(EXAMPLES / "04_small_mlp.json")
    target = "loss"
    by_mode = {}
    for mode in ("process", "thread"):
        c = Computer(mode=mode)
        got = _results(c)
        c.request(g, target, 1)
        qtbot.waitUntil(lambda got=got: bool(got), timeout=RESULT_TIMEOUT_MS)
        by_mode[mode] = got[0]
        c.close()
    p, t = by_mode["process"], by_mode["thread"]
    assert p.error is None and list(p.nodes) == list(t.nodes)
    for n, view in t.nodes.items():
        assert p.nodes[n].value_text == view.value_text and p.nodes[n].grad_text == view.grad_text
        for field in ("value", "grad"):
            a, b = getattr(p.nodes[n], field), getattr(view, field)
            assert (a is None) == (b is None) and (a is None or (a.shape == b.shape and (a == b).all()))


def test_value_edits_reuse_the_childs_compiled_graph(qtbot, process_mode) -> None:  # noqa: ANN001, ARG001
    """Only the edited node travels (wire.GraphSender), and the child compiles once."""
    g = load(EXAMPLES / "01_scalar_partial.json")
    c = Computer()
    got = _results(c)
    c.request(g, "y", 1)
    qtbot.waitUntil(lambda: len(got) == 1, timeout=RESULT_TIMEOUT_MS)
    g.replace_node(dataclasses.replace(g.nodes["x"], value=3.0))
    c.request(g, "y", 2)
    qtbot.waitUntil(lambda: len(got) == 2, timeout=RESULT_TIMEOUT_MS)
    assert got[1].nodes["x"].grad_text != got[0].nodes["x"].grad_text
    assert c.runner.starts == 1
    c.close()


def test_cancel_stops_a_compute_in_the_child(qtbot, process_mode) -> None:  # noqa: ANN001, ARG001
    c = Computer()
    got = _results(c)
    c.computingChanged.connect(lambda on: on and c.cancel())
    c.request(slow_graph(), "y", 1)
    qtbot.waitUntil(lambda: bool(got), timeout=RESULT_TIMEOUT_MS)
    assert got[0].cancelled and got[0].error is None
    assert c.runner.proc is not None  # stopped at an op boundary: the child lives on
    c.close()


def _cpu_seconds(pid: int) -> float:
    """A process's user + system CPU time so far (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_a_cancel_that_one_long_kernel_ignores_ends_the_child(qtbot, process_mode, monkeypatch) -> None:  # noqa: ANN001, ARG001
    """One 8000² matmul (a TFLOP: 3.2 s on two cores of this machine kind, ~10 s on a slow one)
    has no op boundary inside: the child is ended, the result says cancelled, and the next
    compute starts a fresh child. The kill comes 0.3 s after the Cancel here, not the app's 2 s:
    with those, a matmul that ended 3.4 s in let the child stop at the op boundary after it."""
    import gui.worker_process

    monkeypatch.setattr(gui.worker_process, "KILL_AFTER_CANCEL_MS", 300)  # read when the runner is made
    c = Computer()
    got = _results(c)
    graph = slow_graph(steps=1, side=8000)
    for leaf in ("x", "w"):  # filled, not drawn: randn of 64M floats took over 2 s on a slow machine,
        # and a Cancel between the leaves and the matmul stops at an op boundary, the child kept
        graph.replace_node(dataclasses.replace(graph.nodes[leaf], init={"fn": "ones", "shape": [8000, 8000]}))
    c.request(graph, "y", 1)
    qtbot.waitUntil(lambda: c.runner.ready, timeout=RESULT_TIMEOUT_MS)  # torch imported: the job runs
    # Past the leaves (~0.1 s of CPU, more on a machine short of memory), inside the matmul (~6 s
    # of CPU on two cores) until the kill 0.3 s after the Cancel: by the child's CPU time, not a
    # wait of 1 s, which a loaded machine spent before the matmul.
    started = _cpu_seconds(c.runner.proc.processId())
    qtbot.waitUntil(lambda: _cpu_seconds(c.runner.proc.processId()) - started > 1.5, timeout=RESULT_TIMEOUT_MS)
    assert c.cancel()
    qtbot.waitUntil(lambda: bool(got), timeout=RESULT_TIMEOUT_MS)
    assert got[0].cancelled
    g = load(EXAMPLES / "01_scalar_partial.json")
    c.request(g, "y", 2)
    qtbot.waitUntil(lambda: len(got) == 2, timeout=RESULT_TIMEOUT_MS)
    assert got[1].error is None and got[1].nodes["x"].grad_text
    assert c.runner.starts == 2
    c.close()


def test_a_crashed_child_costs_only_its_job(qtbot, process_mode) -> None:  # noqa: ANN001, ARG001
    c = Computer()
    got, said = _results(c), []
    c.said.connect(said.append)
    c.request(slow_graph(), "y", 1)
    qtbot.waitUntil(lambda: c.runner.proc is not None and c.runner.proc.state() == QProcess.ProcessState.Running,
                    timeout=RESULT_TIMEOUT_MS)
    qtbot.wait(1000)
    os.kill(c.runner.proc.processId(), signal.SIGKILL)  # what a segfault in torch looks like from here
    qtbot.waitUntil(lambda: bool(got), timeout=RESULT_TIMEOUT_MS)
    assert not got[0].cancelled and "compute process stopped (crashed)" in got[0].error
    assert said and "starts again" in said[-1]
    c.request(load(EXAMPLES / "01_scalar_partial.json"), "y", 2)
    qtbot.waitUntil(lambda: len(got) == 2, timeout=RESULT_TIMEOUT_MS)
    assert got[1].error is None
    c.close()


def test_closing_ends_the_child(qtbot, process_mode) -> None:  # noqa: ANN001, ARG001
    c = Computer()
    got = _results(c)
    c.request(slow_graph(), "y", 1)
    qtbot.waitUntil(lambda: c.runner.proc is not None, timeout=RESULT_TIMEOUT_MS)
    pid = c.runner.proc.processId()
    c.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone, and reaped: not a zombie either
    assert not got  # nobody is told about a job of a closed window


def test_no_child_here_means_a_thread_instead(qtbot, process_mode, monkeypatch) -> None:  # noqa: ANN001, ARG001
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    said = _computes_on_a_thread_instead(qtbot)
    assert "did not start" in said and "own process" in said


def _computes_on_a_thread_instead(qtbot) -> str:  # noqa: ANN001
    """Example 01 computed by a new Computer whose child cannot serve it: the result comes from
    a thread; what the Computer said about it."""
    c = Computer()
    got, said = _results(c), []
    c.said.connect(said.append)
    c.request(load(EXAMPLES / "01_scalar_partial.json"), "y", 1)
    qtbot.waitUntil(lambda: bool(got), timeout=RESULT_TIMEOUT_MS)
    assert got[0].error is None and c.mode == "thread"
    assert said
    c.close()
    return said[0]


# The window's own process, with every feature that computes used once: torch stays out.
FEATURES = r"""
import sys
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox
from gui.app import application, start_window
app = application()
tmp, example = sys.argv[1], sys.argv[2]
w = start_window(None, QSettings(tmp + "/s.ini", QSettings.Format.IniFormat), tmp + "/recovery")
w.ask_unsaved = lambda: QMessageBox.StandardButton.Discard
def settle():
    while w.computer.wait(60_000) and w.computer.busy:
        pass
    app.processEvents()
w.open_file(example)
app.processEvents()
settle()
result = w.run.current
print("result", result is not None and result.error is None, flush=True)
w.computer.probe_devices(); settle()
w.training.backward_again(); settle()
w.training.run_steps(3); settle()
print("losses", len(w.training.losses), flush=True)
w.flow_view.set_on(True); settle()
w.stepper.set_on(True); settle()
w.calculus.check_gradients(); settle()
print("flows", w.flow_view.state.result is not None, "walk", w.stepper.walk is not None,
      "checks", w.calculus.checks is not None and not w.calculus.checks.error, flush=True)
print("torch in window", "torch" in sys.modules, flush=True)
w.close()
print("closed", w.closed, w.computer.running(), flush=True)
"""


def test_the_windows_process_never_imports_torch(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT), "GRADCANVAS_COMPUTE": "process"}
    proc = subprocess.run([sys.executable, "-c", FEATURES, str(tmp_path), str(EXAMPLES / "04_small_mlp.json")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "result True" in proc.stdout and "losses 3" in proc.stdout, proc.stdout + proc.stderr
    assert "flows True walk True checks True" in proc.stdout, proc.stdout + proc.stderr
    assert "closed True False" in proc.stdout, proc.stdout + proc.stderr
    assert "torch in window False" in proc.stdout, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr


def test_a_new_compute_waits_behind_an_export_instead_of_cancelling_it(qtbot, process_mode) -> None:  # noqa: ANN001, ARG001
    """What the user asked to write stays asked: an edit's compute does not cancel it, even
    while the child is still importing torch (where a cancelled job is answered at once)."""
    from autograd_bridge.file_tasks import ExportOptions, export_task

    g = load(EXAMPLES / "01_scalar_partial.json")
    c = Computer()
    got, tasks = _results(c), []
    c.taskReady.connect(lambda name, result: tasks.append((name, result)))
    c.request_task("export", export_task, g, ExportOptions("y"), "graph.py", outlive_edits=True)
    c.request(g, "y", 1)
    qtbot.waitUntil(lambda: bool(got), timeout=RESULT_TIMEOUT_MS)
    assert tasks and tasks[0][0] == "export" and tasks[0][1][0] == "ok"
    assert "y.backward()" in tasks[0][1][1]
    c.close()


def test_opening_a_file_starts_the_child_while_the_file_loads(qtbot, tmp_path, process_mode) -> None:  # noqa: ANN001, ARG001
    from helpers import new_window

    w = new_window(qtbot, tmp_path)
    assert w.computer.runner.proc is None  # an empty window starts no compute process
    w.open_file(str(EXAMPLES / "01_scalar_partial.json"))
    assert w.computer.runner.proc is not None  # before the event loop has run the compute
    qtbot.waitUntil(lambda: w.run.current is not None, timeout=RESULT_TIMEOUT_MS)
    assert w.computer.runner.starts == 1
    w.close()


def test_a_module_in_the_working_folder_never_shadows_the_childs_imports(qtbot, tmp_path, process_mode,  # noqa: ANN001, ARG001
                                                                       monkeypatch) -> None:
    (tmp_path / "numpy.py").write_text("raise SystemExit('shadowed numpy imported')\n")
    (tmp_path / "torch.py").write_text("raise SystemExit('shadowed torch imported')\n")
    monkeypatch.chdir(tmp_path)
    c = Computer()
    got = _results(c)
    c.request(load(EXAMPLES / "01_scalar_partial.json"), "y", 1)
    qtbot.waitUntil(lambda: bool(got), timeout=RESULT_TIMEOUT_MS)
    assert got[0].error is None and got[0].nodes["x"].grad_text
    c.close()


def _only_in_the_tests(_session, _cancel) -> str:  # noqa: ANN001 - the child cannot import this module
    return "ran"


def test_a_job_the_child_cannot_even_read_is_lost_not_waited_for(qtbot, process_mode) -> None:  # noqa: ANN001, ARG001
    c = Computer()
    tasks, said = [], []
    c.taskReady.connect(lambda name, result: tasks.append((name, result)))
    c.said.connect(said.append)
    c.request_task("unreadable", _only_in_the_tests)
    qtbot.waitUntil(lambda: bool(tasks), timeout=RESULT_TIMEOUT_MS)
    assert tasks == [("unreadable", None)] and "exit status 70" in said[-1]
    got = _results(c)
    c.request(load(EXAMPLES / "01_scalar_partial.json"), "y", 1)  # a fresh child serves the next job
    qtbot.waitUntil(lambda: bool(got), timeout=RESULT_TIMEOUT_MS)
    assert got[0].error is None
    c.close()


def test_cancels_of_jobs_not_started_yet_all_hold() -> None:
    """While the child imports torch the window may send job 1, its cancel, job 2, its cancel,
    job 3: jobs 1 and 2 must both stop at once, not only the first (the server, without a pipe)."""
    import io
    import pickle

    from autograd_bridge.compute_process import FrameReader, GraphArg, _Server
    from autograd_bridge.jobs import compute_job
    from autograd_bridge.wire import GraphSender, decode_result

    g, sender = load(EXAMPLES / "01_scalar_partial.json"), GraphSender()
    server = _Server(io.BytesIO(), io.BytesIO())
    for job_id in (1, 2, 3):
        args = (GraphArg(sender.message(g)), "y", job_id, "cpu", None, None, "default")
        server.take(pickle.loads(pickle.dumps(("job", job_id, "compute", compute_job, args))))
        if job_id < 3:
            server.take(("cancel", job_id))
    for _ in range(3):
        server.serve_one()
    done = {m[1]: decode_result(m[2]) for m in FrameReader().feed(server.frames_out.getvalue())}
    assert [done[i].cancelled for i in (1, 2, 3)] == [True, True, False]
    assert done[3].nodes["x"].grad_text


def test_a_crash_after_a_late_kill_is_still_called_a_crash(qtbot, process_mode) -> None:  # noqa: ANN001, ARG001
    """The kill timer may fire as a job's result is already in the pipe: that kill is for a
    Cancel, but the next job's crash is a crash."""
    c = Computer()
    got = _results(c)
    c.request(load(EXAMPLES / "01_scalar_partial.json"), "y", 1)
    qtbot.waitUntil(lambda: bool(got), timeout=RESULT_TIMEOUT_MS)
    c.runner._killed_for_cancel = True  # noqa: SLF001 - what a kill that came too late leaves
    c.request(slow_graph(), "y", 2)
    qtbot.wait(1000)
    os.kill(c.runner.proc.processId(), signal.SIGKILL)
    qtbot.waitUntil(lambda: len(got) == 2, timeout=RESULT_TIMEOUT_MS)
    assert not got[1].cancelled and "crashed" in got[1].error
    c.close()


def test_wait_delivers_a_cancel_answered_before_the_child_was_ready(qtbot, process_mode) -> None:  # noqa: ANN001, ARG001
    c = Computer()
    got = _results(c)
    c.request(slow_graph(), "y", 1)
    assert c.cancel() and not c.runner.ready
    assert c.wait(RESULT_TIMEOUT_MS)
    assert got and got[0].cancelled and not c.computing
    c.close()


def test_a_child_that_prints_before_its_frames_gives_way_to_a_thread(qtbot, tmp_path, process_mode,  # noqa: ANN001, ARG001
                                                                      monkeypatch) -> None:
    (tmp_path / "sitecustomize.py").write_text("print('hello from a sitecustomize')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    assert "other than its frames" in _computes_on_a_thread_instead(qtbot)


def test_a_result_is_shown_a_turn_after_it_is_decoded(qtbot, process_mode) -> None:  # noqa: ANN001, ARG001
    """Decoding a big result and drawing it were one wait of the GUI thread (~100 ms at 10,000
    nodes on a slow machine): the result now comes from a timer after the turn that decoded it,
    so input and timers already due run between the two."""
    from PySide6.QtCore import QTimer

    c = Computer()
    got = _results(c)
    runner = c.runner
    order: list[str] = []
    read = runner._read  # noqa: SLF001

    def reading() -> None:
        read()
        if runner._deferred:  # noqa: SLF001 - the result frame was decoded in this call
            order.append("decoded")
            QTimer.singleShot(0, lambda: order.append("a timer already due"))

    runner._read = reading  # noqa: SLF001
    c.resultReady.connect(lambda _r: order.append("shown"))
    c.request(load(EXAMPLES / "01_scalar_partial.json"), "y", 1)
    qtbot.waitUntil(lambda: bool(got), timeout=RESULT_TIMEOUT_MS)
    assert order == ["decoded", "a timer already due", "shown"]
    assert got[0].error is None and got[0].nodes["x"].grad_text
    c.close()
