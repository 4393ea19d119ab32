"""The compute worker: runs autograd_bridge.compute jobs off the GUI thread.

A job is a snapshot of the graph plus the semantic revision it was taken at. Only one job runs
at a time; a newer request of the same kind replaces a pending one, and a new compute request
cancels a running compute or task (autograd_bridge.cancel: it stops at the next op boundary)
instead of queueing behind it. Results come back as plain data through a signal; the window's RunState
drops any that is no longer current.

Besides the compute, the slice plot and the device probe, any feature can run a named task
(`request_task`): a function of the worker's ComputeSession (so it can reuse the compiled graph
and the last run) and a cancel token, whose result comes back as `taskReady(name, result)`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from autograd_bridge.cancel import CancelToken
from autograd_bridge.compute import ComputeSession, available_devices
from graph.model import Graph

COMPUTE, SLICE, DEVICES = "compute", "slice", "devices"  # the kinds of job besides named tasks


class _Signals(QObject):
    done = Signal(str, object)  # the job's kind, its result


class _Job(QRunnable):
    def __init__(self, kind: str, fn: Callable, args: tuple, signals: _Signals) -> None:
        super().__init__()
        self.kind, self.fn, self.args, self.signals = kind, fn, args, signals
        self.setAutoDelete(True)

    def run(self) -> None:
        self.signals.done.emit(self.kind, self.fn(*self.args))


class Computer(QObject):
    """Runs one job at a time on its own thread; keeps only the newest pending request of each kind."""

    resultReady = Signal(object)  # ComputeResult
    sliceReady = Signal(object)  # SliceResult or None
    devicesReady = Signal(list)  # the devices torch can use here
    taskReady = Signal(str, object)  # a named task's name and result (request_task)
    busyChanged = Signal(bool)
    computingChanged = Signal(bool)  # a compute or a task is running: it can be cancelled

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.session = ComputeSession()  # touched only by the pool's one thread
        self._signals = _Signals(self)
        self._signals.done.connect(self._finished)
        self._busy = False
        self._pending: dict[str, tuple] = {}  # kind -> its newest request: (kind, fn, args)
        self._running_kind: str | None = None
        self._running_cancel: CancelToken | None = None  # the running compute's or task's
        self.requests = 0  # computes asked for, for tests and benchmarks

    def request(self, graph: Graph, target: str, revision: int, device: str = "cpu",
                dtype: str | None = None, grad_output: object = None,
                memory_limit: int | str | None = "default") -> None:
        """Compute values and partials (ComputeSession.compute, whose memory_limit this is)."""
        self.requests += 1
        if self._running_kind not in (None, SLICE, DEVICES):
            # A compute or a task (flows, Jacobians, steps) asked for an older state: its
            # result would only be dropped, and the edit would wait behind it.
            self.cancel()
        compute = functools.partial(self.session.compute, memory_limit=memory_limit)
        self._submit(COMPUTE, compute, (graph.snapshot(), target, revision, device, dtype, grad_output))

    def request_slice(self, graph: Graph, target: str, leaf: str, revision: int, device: str = "cpu",
                      dtype: str | None = None) -> None:
        self._submit(SLICE, self.session.compute_slice, (graph.snapshot(), target, leaf, revision, device, dtype))

    def probe_devices(self) -> None:
        """Import torch on the worker thread and report cpu / cuda / mps."""
        self._submit(DEVICES, available_devices, ())

    def request_task(self, name: str, fn: Callable, *args: object) -> None:
        """Run fn(session, cancel_token, *args) on the worker thread after what runs now; the
        result comes back as taskReady(name, result). A newer task of the same name replaces a
        pending one. Cancel stops it as it stops a compute (the token raises
        autograd_bridge.cancel.Cancelled at a check: fn decides what to return then)."""
        self._submit(name, fn, (self.session, *args))

    @property
    def computing(self) -> bool:
        return self._running_cancel is not None

    def cancel(self) -> bool:
        """Stop the running compute or task at its next op boundary (a compute's result comes
        back `cancelled`); False if none runs. Pending requests are kept: they are what is
        asked now."""
        if self._running_cancel is None or self._running_cancel.cancelled:
            return False
        self._running_cancel.cancel()
        return True

    def _submit(self, kind: str, fn: Callable, args: tuple) -> None:
        if self._busy:
            self._pending[kind] = (kind, fn, args)  # a newer request of the same kind replaces an older one
            return
        self._start((kind, fn, args))

    def _start(self, job: tuple) -> None:
        kind, fn, args = job
        self._busy, self._running_kind = True, kind
        self.busyChanged.emit(True)
        if kind not in (SLICE, DEVICES):  # a compute or a task: cancellable
            self._running_cancel = CancelToken()
            if kind == COMPUTE:
                fn = functools.partial(fn, cancel=self._running_cancel)
            else:
                args = (args[0], self._running_cancel, *args[1:])
            self.computingChanged.emit(True)
        self.pool.start(_Job(kind, fn, args, self._signals))

    def _finished(self, kind: str, result: object) -> None:
        self._busy, self._running_kind = False, None
        if self._running_cancel is not None:
            self._running_cancel = None
            self.computingChanged.emit(False)
        if kind == COMPUTE:
            if not (result.cancelled and COMPUTE in self._pending):  # else superseded
                self.resultReady.emit(result)
        elif kind == DEVICES:
            self.devicesReady.emit(result)
        elif kind == SLICE:
            self.sliceReady.emit(result)
        else:
            self.taskReady.emit(kind, result)
        if self._pending:
            # Results first: a pending compute runs before anything else.
            kind = COMPUTE if COMPUTE in self._pending else next(iter(self._pending))
            self._start(self._pending.pop(kind))
        else:
            self.busyChanged.emit(False)

    def drop_pending(self) -> None:
        """Forget the requests not yet started (the window closed: nobody wants them); a
        running compute or task is cancelled, and any result goes nowhere."""
        self._pending.clear()
        self.cancel()

    def wait(self, msecs: int = 60_000) -> bool:
        return self.pool.waitForDone(msecs)
