"""Forward + backward off the GUI thread.

A job is a snapshot of the graph plus the document revision it was taken at. The worker turns
torch results into plain data (text and small numpy arrays), so the GUI thread never touches
torch, and torch is first imported by the worker, after the window is up. Only one job runs at
a time; a newer request replaces a pending one, and the window drops any result whose revision
is not the document's current one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from graph.errors import GraphError
from graph.model import Graph

PLOT_MAX_ELEMENTS = 100_000  # arrays larger than this are not sent to the plots
PREVIEW_SIDE = 64  # the canvas preview of a tensor: at most 64 x 64 samples
PREVIEW_POINTS = 256  # ... or 256 samples of a vector
INLINE_MAX = 8  # tensors this small are written out in full on the node: no preview


@dataclass
class NodeView:
    """What the canvas and inspector draw for one node."""

    shape: tuple[int, ...]
    is_leaf: bool
    value_text: str
    grad_text: str | None  # None: no partial; see no_grad_reason
    no_grad_reason: str | None
    value: np.ndarray | None  # float64 copies for plots (None when too large)
    grad: np.ndarray | None
    # Strided samples (float64, at most PREVIEW_SIDE x PREVIEW_SIDE) for the canvas heatmap or
    # sparkline of a tensor of any size; None for small tensors, which are written out.
    value_preview: np.ndarray | None = None
    grad_preview: np.ndarray | None = None


@dataclass
class ComputeResult:
    revision: int
    target: str | None
    nodes: dict[str, NodeView] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # a validation or runtime error, in one line
    error_nodes: tuple[str, ...] = ()
    device: str = "cpu"
    grad_output: object = None  # the vector of backward(gradient=v) for a non-scalar target


@dataclass
class SliceResult:
    """The target as a function of one scalar leaf around its value, and the partial there."""

    revision: int
    target: str
    leaf: str
    xs: list[float]
    ys: list[float]
    x0: float
    y0: float
    slope: float


def _array(t: object) -> np.ndarray | None:
    if t is None or t.numel() > PLOT_MAX_ELEMENTS:
        return None
    return t.detach().cpu().double().numpy()


def _preview(t: object) -> np.ndarray | None:
    """Every k-th element along each axis (rows, and the rest flattened), so a 2000 x 2000
    tensor gives a 63 x 63 sample without copying the whole tensor."""
    if t is None or t.numel() <= INLINE_MAX or t.dim() == 0:
        return None
    t = t.detach()
    if t.dim() == 1:
        return t[::-(-t.shape[0] // PREVIEW_POINTS)].cpu().double().numpy()
    rows = t[::-(-t.shape[0] // PREVIEW_SIDE)]
    rows = rows.reshape(rows.shape[0], -1)  # a copy of these rows at most, if not contiguous
    return rows[:, ::max(1, -(-rows.shape[1] // PREVIEW_SIDE))].cpu().double().numpy()


def computable_part(graph: Graph, target: str) -> tuple[Graph, GraphError | None]:
    """While a graph is being built, a half-wired node elsewhere should not blank every overlay:
    leave out the nodes that cannot be computed yet (unless the target is one of them) and
    return the error that names them."""
    incomplete = graph.incomplete()
    if not incomplete or target in incomplete:
        return graph, None
    try:
        graph.check_connected()
    except GraphError as e:
        return graph.without(incomplete), e
    return graph, None


# The last graph compiled, for the slice plot that follows a compute of the same revision.
# Jobs run one at a time on the worker thread, so this needs no lock.
_compiled_cache: dict[tuple, tuple] = {}


def _compiled(graph: Graph, target: str, revision: int, device: str, dtype: str | None):  # noqa: ANN202
    """(Compiled of the computable part, the error naming left-out nodes or None), cached by
    (revision, target, device, dtype): a revision names one state of the document."""
    from autograd_bridge.engine import Compiled

    key = (revision, target, device, dtype)
    if key not in _compiled_cache:
        part, warning = computable_part(graph, target)
        compiled = Compiled(part, device, dtype)
        _compiled_cache.clear()
        _compiled_cache[key] = (compiled, warning)
    return _compiled_cache[key]


def compute(graph: Graph, target: str, revision: int, device: str = "cpu",
            dtype: str | None = None, grad_output: object = None) -> ComputeResult:
    """Run the graph and describe every node. Never raises for user errors."""
    from autograd_bridge.formatting import tensor_text

    out = ComputeResult(revision, target, device=device, grad_output=grad_output)
    try:
        compiled, warning = _compiled(graph, target, revision, device, dtype)
        if warning is not None:
            out.error, out.error_nodes = warning.message, warning.node_ids
        result = compiled.run(target, grad_output)
    except GraphError as e:
        out.error, out.error_nodes = e.message, e.node_ids
        return out
    except Exception as e:  # noqa: BLE001 - the app must never crash on a graph
        out.error = f"internal error while computing: {type(e).__name__}: {e}"
        return out
    leaves = set(compiled.source.leaf_ids)
    for n, value in result.values.items():
        grad = result.grads[n]
        reason = result.no_grad_reason(n, compiled)
        out.nodes[n] = NodeView(tuple(value.shape), n in leaves, tensor_text(value),
                                None if grad is None else tensor_text(grad), reason,
                                _array(value), _array(grad), _preview(value), _preview(grad))
    out.notes = result.notes
    return out


def compute_slice(graph: Graph, target: str, leaf: str, revision: int, device: str = "cpu",
                  dtype: str | None = None, points: int = 41) -> SliceResult | None:
    """target(leaf = x0 + h) for h in a window around x0; None if it does not apply."""
    try:
        compiled = _compiled(graph, target, revision, device, dtype)[0]  # compute() made it
        base = compiled.run(target)
        x0 = float(base.values[leaf].item())
        slope = base.grads.get(leaf)
        if slope is None or base.values[target].numel() != 1:
            return None
        span = max(1.0, abs(x0)) * 0.75
        xs = [x0 - span + 2 * span * i / (points - 1) for i in range(points)]
        ys = compiled.slice_1d(target, leaf, xs)
    except Exception:  # noqa: BLE001 - a plot that cannot be drawn is simply not drawn
        return None
    return SliceResult(revision, target, leaf, xs, ys, x0, float(base.values[target].item()),
                       float(slope.item()))


def _available_devices() -> list[str]:
    from autograd_bridge.engine import available_devices

    return available_devices()


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

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.done.connect(self._finished)
        self._busy = False
        self._pending: dict[object, tuple] = {}  # job function -> its newest request

    def request(self, graph: Graph, target: str, revision: int, device: str = "cpu",
                dtype: str | None = None, grad_output: object = None) -> None:
        self._submit((compute, (graph.snapshot(), target, revision, device, dtype, grad_output)))

    def request_slice(self, graph: Graph, target: str, leaf: str, revision: int, device: str = "cpu",
                      dtype: str | None = None) -> None:
        self._submit((compute_slice, (graph.snapshot(), target, leaf, revision, device, dtype)))

    def probe_devices(self) -> None:
        """Import torch on the worker thread and report cpu / cuda / mps."""
        self._submit((_available_devices, ()))

    def _submit(self, job: tuple) -> None:
        if self._busy:
            self._pending[job[0]] = job  # a newer request of the same kind replaces an older one
            return
        self._start(job)

    def _start(self, job: tuple) -> None:
        self._busy = True
        self.busyChanged.emit(True)
        self.pool.start(_Job(job[0], job[1], self._signals))

    def _finished(self, result: object) -> None:
        self._busy = False
        if isinstance(result, ComputeResult):
            self.resultReady.emit(result)
        elif isinstance(result, list):
            self.devicesReady.emit(result)
        else:
            self.sliceReady.emit(result)
        if self._pending:
            # Results first: a pending compute runs before a pending slice or probe.
            kind = compute if compute in self._pending else next(iter(self._pending))
            self._start(self._pending.pop(kind))
        else:
            self.busyChanged.emit(False)

    def wait(self, msecs: int = 60_000) -> bool:
        return self.pool.waitForDone(msecs)
