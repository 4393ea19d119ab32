"""The compute worker: runs autograd_bridge.compute jobs off the GUI thread.

A job is a snapshot of the graph plus the semantic revision it was taken at. Only one job runs
at a time; a newer request of the same kind replaces a pending one, and a new compute request
cancels a running compute (autograd_bridge.cancel: it stops at the next op boundary) instead of
queueing behind it. Results come back as plain data through a signal; the window's RunState
drops any that is no longer current.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from autograd_bridge.cancel import CancelToken
from autograd_bridge.compute import ComputeResult, ComputeSession, available_devices
from graph.model import Graph


class _Signals(QObject):
    done = Signal(object)


class _Job(QRunnable):
    def __init__(self, fn, args: tuple, signals: _Signals) -> None:  # noqa: ANN001
        super().__init__()
        self.fn, self.args, self.signals = fn, args, signals
        self.setAutoDelete(True)

    def run(self) -> None:
        self.signals.done.emit(self.fn(*self.args))


class Computer(QObject):
    """Runs one job at a time on its own thread; keeps only the newest pending request."""

    resultReady = Signal(object)  # ComputeResult
    sliceReady = Signal(object)  # SliceResult or None
    devicesReady = Signal(list)  # the devices torch can use here
    busyChanged = Signal(bool)
    computingChanged = Signal(bool)  # a compute (not a slice or probe) is running: it can be cancelled

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.session = ComputeSession()  # touched only by the pool's one thread
        self._signals = _Signals(self)
        self._signals.done.connect(self._finished)
        self._busy = False
        self._pending: dict[object, tuple] = {}  # job function -> its newest request
        self._running_cancel: CancelToken | None = None  # the running compute's
        self.requests = 0  # computes asked for, for tests and benchmarks

    def request(self, graph: Graph, target: str, revision: int, device: str = "cpu",
                dtype: str | None = None, grad_output: object = None) -> None:
        self.requests += 1
        self.cancel()  # whatever runs now was asked for an older state: it would only be dropped
        self._submit((self.session.compute, (graph.snapshot(), target, revision, device, dtype, grad_output)))

    @property
    def computing(self) -> bool:
        return self._running_cancel is not None

    def cancel(self) -> bool:
        """Stop the running compute at its next op boundary (its result comes back `cancelled`);
        False if none runs. A pending request is kept: it is what is asked now."""
        if self._running_cancel is None or self._running_cancel.cancelled:
            return False
        self._running_cancel.cancel()
        return True

    def request_slice(self, graph: Graph, target: str, leaf: str, revision: int, device: str = "cpu",
                      dtype: str | None = None) -> None:
        self._submit((self.session.compute_slice, (graph.snapshot(), target, leaf, revision, device, dtype)))

    def probe_devices(self) -> None:
        """Import torch on the worker thread and report cpu / cuda / mps."""
        self._submit((available_devices, ()))

    def _submit(self, job: tuple) -> None:
        if self._busy:
            self._pending[job[0]] = job  # a newer request of the same kind replaces an older one
            return
        self._start(job)

    def _start(self, job: tuple) -> None:
        self._busy = True
        self.busyChanged.emit(True)
        args = job[1]
        if job[0] == self.session.compute:
            self._running_cancel = CancelToken()
            args = (*args, self._running_cancel)
            self.computingChanged.emit(True)
        self.pool.start(_Job(job[0], args, self._signals))

    def _finished(self, result: object) -> None:
        self._busy = False
        if self._running_cancel is not None:
            self._running_cancel = None
            self.computingChanged.emit(False)
        if isinstance(result, ComputeResult):
            if not (result.cancelled and self.session.compute in self._pending):  # else superseded
                self.resultReady.emit(result)
        elif isinstance(result, list):
            self.devicesReady.emit(result)
        else:
            self.sliceReady.emit(result)
        if self._pending:
            # Results first: a pending compute runs before a pending slice or probe.
            compute = self.session.compute
            kind = compute if compute in self._pending else next(iter(self._pending))
            self._start(self._pending.pop(kind))
        else:
            self.busyChanged.emit(False)

    def drop_pending(self) -> None:
        """Forget the requests not yet started (the window closed: nobody wants them); a
        running compute is cancelled, and any result goes nowhere."""
        self._pending.clear()
        self.cancel()

    def wait(self, msecs: int = 60_000) -> bool:
        return self.pool.waitForDone(msecs)
