"""The compute worker: runs autograd_bridge jobs off the GUI thread.

Where they run: in a child process (gui.worker_process, autograd_bridge.compute_process) by
default, so the window never imports torch and survives a crash in it; or on one pool thread
of this process (`GRADCANVAS_COMPUTE=thread`: the tests' default, and the fallback when the
child cannot start). Either way the jobs are the same functions (autograd_bridge.jobs).

A job is a snapshot of the graph plus the semantic revision it was taken at. Only one job runs
at a time; the others wait in the order asked. A newer request of the same kind replaces a
pending one in its place (only the latest compute or preview matters), unless it was asked with
coalesce=False (a click that adds to what the worker holds, as Backward again: each one runs,
in order). A new compute request cancels a running compute or task (autograd_bridge.cancel: it
stops at the next op boundary) instead of queueing behind it. Results come back as plain data
through a signal; the window's RunState drops any that is no longer current.

Besides the compute, the slice plot and the device probe, any feature can run a named task
(`request_task`): a module-level function of the worker's ComputeSession (so it can reuse the
compiled graph and the last run) and a cancel token, whose result comes back as
`taskReady(name, result)`; None there means the task was lost (its process stopped).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import NamedTuple

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from autograd_bridge.cancel import CancelToken
from autograd_bridge.jobs import COMPUTE, DEVICES, NOT_CANCELLABLE, SLICE, compute_job, devices_job, run_job, slice_job
from graph.model import Graph

__all__ = ["COMPUTE", "DEVICES", "SLICE", "Computer"]


def mode_asked() -> str:
    """`process` unless GRADCANVAS_COMPUTE=thread."""
    return "thread" if os.environ.get("GRADCANVAS_COMPUTE", "").strip().lower() == "thread" else "process"


class _Signals(QObject):
    done = Signal(int, object)  # job id, result
    progress = Signal(int, object)  # job id, payload


class _Job(QRunnable):
    def __init__(self, runner: ThreadRunner, job_id: int, kind: str, fn: Callable, args: tuple,
                 cancel: CancelToken | None) -> None:
        super().__init__()
        self.runner, self.job_id, self.kind, self.fn, self.args, self.cancel = runner, job_id, kind, fn, args, cancel
        self.setAutoDelete(True)

    def run(self) -> None:
        signals, job_id = self.runner.signals, self.job_id
        session = self.runner.session
        session.report = lambda payload: signals.progress.emit(job_id, payload)
        signals.done.emit(job_id, run_job(session, self.kind, self.fn, self.args, self.cancel))


class ThreadRunner(QObject):
    """Jobs on one pool thread of this process, sharing its GIL with the window."""

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        from autograd_bridge.compute import ComputeSession

        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.session = ComputeSession()  # touched only by the pool's one thread
        self.signals = _Signals(self)
        self._cancel: tuple[int, CancelToken] | None = None  # the running job's id and token

    def start(self, job_id: int, kind: str, fn: Callable, args: tuple, cancelled: bool = False) -> None:
        # The job reads its graph on the pool's thread while the window goes on editing: a copy.
        args = tuple(a.snapshot() if isinstance(a, Graph) else a for a in args)
        token = None if kind in NOT_CANCELLABLE else CancelToken()
        self._cancel = None if token is None else (job_id, token)
        if cancelled:
            self.cancel(job_id)
        self.pool.start(_Job(self, job_id, kind, fn, args, token))

    def cancel(self, job_id: int) -> None:
        if self._cancel is not None and self._cancel[0] == job_id:
            self._cancel[1].cancel()

    def wait(self, msecs: int) -> bool:
        return self.pool.waitForDone(msecs)

    def active(self) -> bool:
        return self.pool.activeThreadCount() > 0

    def close(self) -> None:
        """Stop the running job at its next op boundary; the thread itself ends with the
        process (gui.app.leave)."""
        if self._cancel is not None:
            self._cancel[1].cancel()


class _Request(NamedTuple):
    kind: str
    fn: Callable
    args: tuple
    outlive_edits: bool = False  # a new compute waits behind it instead of cancelling it
    coalesce: bool = True  # a newer request of its kind replaces it while it waits
    cancelled: bool = False  # cancelled while it waited: it starts cancelled (cancel_task)


class Computer(QObject):
    """Runs one job at a time; the rest wait in the order asked, a newer request of a kind
    replacing the older one that waits (see the module doc)."""

    resultReady = Signal(object)  # ComputeResult
    sliceReady = Signal(object)  # SliceResult or None
    devicesReady = Signal(list)  # the devices torch can use here
    taskReady = Signal(str, object)  # a named task's name and result (request_task); None: lost
    taskProgress = Signal(str, object)  # a named task's name and what it reported (session.report)
    busyChanged = Signal(bool)
    computingChanged = Signal(bool)  # a compute or a task is running: it can be cancelled
    said = Signal(str)  # news about the worker itself (its process stopped and starts again)

    def __init__(self, parent: QObject | None = None, mode: str | None = None) -> None:
        super().__init__(parent)
        self.mode = mode or mode_asked()
        self.runner = self._make_runner(self.mode)
        self._pending: list[_Request] = []  # waiting, in the order asked
        self._running: tuple[int, _Request] | None = None  # the job id and request running now
        self._cancel_sent = False
        self._delivering = False  # a result is being handed out (_finished)
        self._job_ids = 0
        self.closed = False  # the window closed: nothing starts any more
        self.requests = 0  # computes asked for, for tests and benchmarks

    def _make_runner(self, mode: str) -> QObject:
        if mode == "process":
            from gui.worker_process import ProcessRunner

            runner = ProcessRunner(self)
            runner.failedToStart.connect(self._fall_back_to_thread)
            runner.said.connect(self.said)
        else:
            runner = ThreadRunner(self)
        runner.signals.done.connect(self._finished)
        runner.signals.progress.connect(self._progress)
        return runner

    @property
    def session(self) -> object:
        """The ComputeSession, when jobs run in this process (thread mode); else None."""
        return getattr(self.runner, "session", None)

    def request(self, graph: Graph, target: str, revision: int, device: str = "cpu",
                dtype: str | None = None, grad_output: object = None,
                memory_limit: int | str | None = "default") -> None:
        """Compute values and partials (ComputeSession.compute, whose memory_limit this is)."""
        self.requests += 1
        if self._running is not None and not self._running[1].outlive_edits:
            # A compute or a task (flows, Jacobians, steps) asked for an older state: its
            # result would only be dropped, and the edit would wait behind it.
            self.cancel()
        self._submit(_Request(COMPUTE, compute_job, (graph, target, revision, device, dtype, grad_output,
                                                     memory_limit)))

    def request_slice(self, graph: Graph, target: str, leaf: str, revision: int, device: str = "cpu",
                      dtype: str | None = None) -> None:
        self._submit(_Request(SLICE, slice_job, (graph, target, leaf, revision, device, dtype)))

    def probe_devices(self) -> None:
        """Import torch in the worker and report cpu / cuda / mps."""
        self._submit(_Request(DEVICES, devices_job, ()))

    def request_task(self, name: str, fn: Callable, *args: object, outlive_edits: bool = False,
                     coalesce: bool = True) -> None:
        """Run fn(session, cancel_token, *args) in the worker after what runs now; the result
        comes back as taskReady(name, result). fn is a module-level function (it may be sent to
        the compute process by name); a Graph among args is the state it is asked for: the
        runner copies it (a thread) or sends what changed (the compute process) when it starts.
        A newer task of the same name replaces a pending one (a preview: only the latest
        matters); with coalesce=False every request runs, in the order asked (a click that adds
        to the worker's state: Backward again, Zero grads). Cancel stops it as it stops a
        compute (the token raises autograd_bridge.cancel.Cancelled at a check: fn decides what
        to return then). `session.report(payload)` inside fn gives taskProgress(name, payload).
        With outlive_edits (an export, an import, a training run: what the user asked for stays
        asked), a new compute waits behind the task instead of cancelling it."""
        self._submit(_Request(name, fn, args, outlive_edits, coalesce))

    def warm_up(self) -> None:
        """A compute is coming: start the compute process now, so that its `import torch`
        overlaps what the window does meanwhile (a thread needs no start)."""
        if not self.closed and hasattr(self.runner, "warm_up"):
            self.runner.warm_up()

    @property
    def busy(self) -> bool:
        """A job has been started and its result not yet delivered."""
        return self._running is not None

    @property
    def computing(self) -> bool:
        """A job that can be cancelled (a compute or a named task) runs."""
        return self._running is not None and self._running[1].kind not in NOT_CANCELLABLE

    def running(self) -> bool:
        """A job runs now (the window closing must not wait for it)."""
        return self.runner.active()

    def cancel(self) -> bool:
        """Stop the running compute or task at its next op boundary (a compute's result comes
        back `cancelled`); False if none runs. Pending requests are kept: they are what is
        asked now."""
        if not self.computing or self._cancel_sent:
            return False
        self._cancel_sent = True
        self.runner.cancel(self._running[0])  # before the runner started it: start says so
        return True

    def cancel_task(self, name: str) -> None:
        """Stop the task of this name: running, at its next op boundary (as Cancel does);
        waiting, it starts cancelled (its fn finds the token cancelled at its first check)."""
        if self._running is not None and self._running[1].kind == name:
            self.cancel()
        self._pending = [r._replace(cancelled=True) if r.kind == name else r for r in self._pending]

    def _submit(self, request: _Request) -> None:
        if self.closed:
            return
        if self.busy or self._delivering:
            # The graph as it is now: the window goes on editing while this waits.
            args = tuple(a.snapshot() if isinstance(a, Graph) else a for a in request.args)
            request = request._replace(args=args)
            for i, waiting in enumerate(self._pending):
                if request.coalesce and waiting.coalesce and waiting.kind == request.kind:
                    self._pending[i] = request  # the newer replaces the older, in its place
                    return
            self._pending.append(request)
            return
        self._start(request)

    def _waiting_compute(self) -> int | None:
        return next((i for i, r in enumerate(self._pending) if r.kind == COMPUTE), None)

    def _start(self, request: _Request) -> None:
        self._job_ids += 1
        self._running, self._cancel_sent = (self._job_ids, request), request.cancelled
        self.busyChanged.emit(True)
        if self.computing:
            self.computingChanged.emit(True)  # a Cancel here stops the job before it starts
        if self.closed:  # ... and a close here, for good
            return
        self.runner.start(self._job_ids, request.kind, request.fn, request.args, cancelled=self._cancel_sent)

    def _progress(self, job_id: int, payload: object) -> None:
        if self._running is not None and self._running[0] == job_id:
            self.taskProgress.emit(self._running[1].kind, payload)

    def _finished(self, job_id: int, result: object) -> None:
        if self._running is None or self._running[0] != job_id:
            return  # a job already given up on (its process was restarted)
        kind, was_computing = self._running[1].kind, self.computing
        self._running = None
        # Requests made by the handlers below (the flow view asks for flows on a result) wait in
        # turn: started at once, they would run beside the next waiting job, one result lost.
        self._delivering = True
        try:
            if was_computing:
                self.computingChanged.emit(False)
            if kind == COMPUTE:
                if not (result.cancelled and self._waiting_compute() is not None):  # else superseded
                    self.resultReady.emit(result)
            elif kind == DEVICES:
                self.devicesReady.emit(result)
            elif kind == SLICE:
                self.sliceReady.emit(result)
            else:
                self.taskReady.emit(kind, result)
        finally:
            self._delivering = False
        if self._pending:
            # Results first: a pending compute runs before anything else.
            compute = self._waiting_compute()
            self._start(self._pending.pop(0 if compute is None else compute))
        else:
            self.busyChanged.emit(False)

    def _fall_back_to_thread(self, why: str) -> None:
        """The compute process cannot start here: run jobs on a thread of this process."""
        self.said.emit(f"{why}; computing in the window's own process instead")
        self.runner.close()
        self.mode, self.runner = "thread", self._make_runner("thread")
        if self._running is not None:
            job_id, request = self._running
            self.runner.start(job_id, request.kind, request.fn, request.args, cancelled=self._cancel_sent)

    def close(self) -> None:
        """The window closed: nothing pending runs, the running job stops (a compute process
        ends), and no result is delivered any more."""
        self.closed = True
        self._pending.clear()
        self.runner.close()
        self.runner.signals.done.disconnect(self._finished)
        self.runner.signals.progress.disconnect(self._progress)

    def wait(self, msecs: int = 60_000) -> bool:
        """Block until no job runs (tests, benchmarks); in process mode results are delivered
        while waiting, in thread mode when the event loop next runs."""
        return self.runner.wait(msecs)
