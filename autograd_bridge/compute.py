"""What the app shows for a graph: every node's value and ∂target/∂node as plain data.

Qt-free. The GUI's worker thread calls `ComputeSession.compute` on a snapshot of the graph; the
result holds text and small numpy arrays, so the GUI thread never touches torch. torch is
imported on first use (by the worker, after the window is up), not when this module loads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from graph.errors import GraphError
from graph.model import Graph
from graph.values import INLINE_MAX

PLOT_MAX_ELEMENTS = 100_000  # arrays larger than this are not sent to the plots
PREVIEW_SIDE = 64  # the canvas preview of a tensor: at most 64 x 64 samples
PREVIEW_POINTS = 256  # ... or 256 samples of a vector


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
    """One run: the semantic revision, target, grad-output, device and dtype it was computed
    for (RunState in the GUI compares them with what is asked now), and every node's view."""

    revision: int
    target: str | None
    nodes: dict[str, NodeView] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None  # a validation or runtime error, in one line
    error_nodes: tuple[str, ...] = ()
    device: str = "cpu"
    grad_output: object = None  # the vector of backward(gradient=v) for a non-scalar target
    dtype: str | None = None


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


class ComputeSession:
    """Computes for one window, keeping the last compiled graph and its run, so the slice plot
    that follows a compute of the same revision neither compiles nor runs the graph again.

    Used from one thread at a time (the worker runs one job at a time): no lock.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._compiled = None  # autograd_bridge.engine.Compiled
        self._warning: GraphError | None = None
        self._runs: dict[object, object] = {}  # grad-output (as text) -> engine.Result

    def _compile(self, graph: Graph, target: str, revision: int, device: str, dtype: str | None):  # noqa: ANN202
        """(Compiled of the computable part, the error naming left-out nodes or None), kept for
        (revision, target, device, dtype): a semantic revision names one state of the graph."""
        from autograd_bridge.engine import Compiled

        key = (revision, target, device, dtype)
        if key != self._key:
            self._key = self._compiled = None
            self._runs = {}
            part, self._warning = computable_part(graph, target)
            self._compiled = Compiled(part, device, dtype)
            self._key = key
        return self._compiled, self._warning

    def _run(self, compiled, target: str, grad_output: object):  # noqa: ANN001, ANN202
        key = repr(grad_output)
        if key not in self._runs:
            self._runs = {key: compiled.run(target, grad_output)}
        return self._runs[key]

    def compute(self, graph: Graph, target: str, revision: int, device: str = "cpu",
                dtype: str | None = None, grad_output: object = None) -> ComputeResult:
        """Run the graph and describe every node. Never raises for user errors."""
        from autograd_bridge.formatting import tensor_text

        out = ComputeResult(revision, target, device=device, grad_output=grad_output, dtype=dtype)
        try:
            compiled, warning = self._compile(graph, target, revision, device, dtype)
            if warning is not None:
                out.error, out.error_nodes = warning.message, warning.node_ids
            result = self._run(compiled, target, grad_output)
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

    def compute_slice(self, graph: Graph, target: str, leaf: str, revision: int, device: str = "cpu",
                      dtype: str | None = None, points: int = 41) -> SliceResult | None:
        """target(leaf = x0 + h) for h in a window around x0; None if it does not apply."""
        try:
            compiled = self._compile(graph, target, revision, device, dtype)[0]
            base = self._run(compiled, target, None)
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


def available_devices() -> list[str]:
    from autograd_bridge.engine import available_devices as devices

    return devices()
