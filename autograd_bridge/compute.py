"""What the app shows for a graph: every node's value and ∂target/∂node as plain data.
(~570 lines, one piece: one result's every field is made, titled and checked in one pass.)

Qt-free. The GUI's worker thread calls `ComputeSession.compute` on a snapshot of the graph; the
result holds text and small numpy arrays, so the GUI thread never touches torch. torch is
imported on first use (by the worker, after the window is up), not when this module loads.
"""

from __future__ import annotations

import contextlib
import functools
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from autograd_bridge.budget import OverBudget  # no torch
from graph.bulk import paused_gc
from graph.errors import CycleError, DeviceError, GraphError, MissingInputError, ShapeError
from graph.model import Edge, Graph, Node
from graph.naming import by_title, titled_message
from graph.values import INLINE_MAX

if TYPE_CHECKING:
    from collections.abc import Callable

    from autograd_bridge.cancel import CancelToken

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
    # The node each error is about, of error_nodes (the first it names; every node of a cycle):
    # the rest are the inputs it names beside it, which hold their values. None: not told apart
    # (a result made elsewhere, an error no node was left out for): every node named fails.
    failing: tuple[str, ...] | None = None
    # Node -> the errors that name it, each in one line: a node shows its own, not every error
    # of the graph (two unrelated errors would show the first on both). Empty: `error` for all.
    node_errors: dict[str, str] = field(default_factory=dict)
    # A node left out because a node it depends on fails -> those failing nodes (not computed)
    blocked_by: dict[str, tuple[str, ...]] = field(default_factory=dict)
    device: str = "cpu"
    grad_output: object = None  # the vector of backward(gradient=v) for a non-scalar target
    dtype: str | None = None
    nonfinite: dict[str, str] = field(default_factory=dict)  # node -> what: where NaN/Inf first appears
    nonfinite_spread: frozenset[str] = frozenset()  # every node whose value or partial holds NaN/Inf
    cancelled: bool = False  # stopped before it finished (autograd_bridge.cancel): holds nothing
    # Refused before anything was allocated (autograd_bridge.budget): (estimated bytes, limit);
    # error then names the largest nodes, error_nodes holds them. Run anyway with memory_limit=None.
    over_budget: tuple[int, int] | None = None

    def error_of(self, node_id: str) -> str | None:
        """The error text for one node that an error names: those errors only, where known."""
        return self.node_errors.get(node_id, self.error) if self.error else None

    def failed(self) -> tuple[str, ...]:
        """The nodes whose error it is: red on the canvas."""
        if not self.error:
            return ()
        return self.error_nodes if self.failing is None else self.failing


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
    device: str = "cpu"
    dtype: str | None = None


def _arrays(tensors: list) -> list[np.ndarray | None]:
    """float64 copies for the plots (None for None and for tensors over PLOT_MAX_ELEMENTS).
    Tensors of one shape and dtype are stacked and converted together, a few thousand
    elements at a time: a 10,000-node chain needs ~40 conversions, not 10,000."""
    out: list[np.ndarray | None] = [None] * len(tensors)
    groups: dict[tuple, list[int]] = {}
    for i, t in enumerate(tensors):
        if t is not None and t.numel() <= PLOT_MAX_ELEMENTS:
            groups.setdefault((t.shape, t.dtype), []).append(i)
    for g in groups.values():
        step = max(1, 4096 // max(1, tensors[g[0]].numel()))
        for k in range(0, len(g), step):
            chunk = g[k:k + step]
            block = _stacked([tensors[i] for i in chunk]).cpu().double().numpy()
            for j, i in enumerate(chunk):
                out[i] = block[j, ...]  # with the ellipsis a 0-d tensor gives a 0-d array, not a scalar
    return out


def _stacked(tensors: list) -> object:
    import torch

    with torch.no_grad():
        return torch.stack([t.detach() for t in tensors])


def _preview(t: object, array: np.ndarray | None) -> np.ndarray | None:
    """Every k-th element along each axis (rows, and the rest flattened), so a 2000 x 2000
    tensor gives a 63 x 63 sample without copying the whole tensor. Taken from the float64
    copy when there is one (the same entries), else from the tensor."""
    if t is None or t.numel() <= INLINE_MAX or t.dim() == 0:
        return None
    a = array if array is not None else t.detach()
    if t.dim() == 1:
        sample = a[::-(-t.shape[0] // PREVIEW_POINTS)]
    else:
        rows = a[::-(-t.shape[0] // PREVIEW_SIDE)]
        rows = rows.reshape(rows.shape[0], -1)  # a copy of these rows at most, if not contiguous
        sample = rows[:, ::max(1, -(-rows.shape[1] // PREVIEW_SIDE))]
    return sample if array is not None else sample.cpu().double().numpy()


# Each node that fails is left out with everything downstream of it and the rest is compiled
# again; a graph with more broken nodes than this shows the first ones and says so.
MAX_ISOLATED_ERRORS = 20

NO_TARGET = "no target chosen"


@dataclass
class _Computable:
    """The part of a graph that runs, compiled, and why the rest does not."""

    compiled: object  # autograd_bridge.engine.Compiled, or None when nothing runs
    errors: list[GraphError]  # one per node (or cycle) left out, in the order found
    first_values: tuple | None = None  # the forward that proved it runs, for the first use
    leaves: tuple = ()  # the leaf tensors each forward takes: a value edit replaces some

    @property
    def wiring_only(self) -> bool:
        """Whether every node left out is left out for its wiring or shapes alone, which a
        value edit cannot change (a bad value, or a torch failure on real data, might)."""
        return all(isinstance(e, MissingInputError | CycleError | ShapeError) for e in self.errors)


def _failing(graph: Graph, error: GraphError) -> list[str]:
    """The node an error is about: the first of the graph's it names (every node of a cycle)."""
    ids = [n for n in error.node_ids if n in graph.nodes]
    return ids if isinstance(error, CycleError) else ids[:1]


def left_out_for(graph: Graph, error: GraphError) -> set[str]:
    """The nodes an error stops: the failing node (every node of a cycle) and all downstream."""
    culprits = _failing(graph, error)
    return set(culprits) | graph.reached_from(culprits)


def computable(graph: Graph, device: str, dtype: str | None,
               memory_limit: int | str | None = None) -> _Computable:
    """Compile every node that can run: half-wired nodes, nodes whose data, shapes or torch call
    fail, and nodes on a cycle are left out with what they feed; each such problem is kept as
    an error naming its node, so one mistake never blanks the rest of the graph. A part
    estimated over `memory_limit` (see ComputeSession.compute) raises budget.OverBudget before
    anything is allocated."""
    from autograd_bridge import budget
    from autograd_bridge.engine import Compiled

    errors: list[GraphError] = []
    left_out = graph.incomplete()
    if left_out:
        for n in dict.fromkeys(n for n, _p in graph.missing_inputs()):
            try:  # the message validate() gives, one per node
                graph.check_connected([n])
            except MissingInputError as e:
                errors.append(e)
    for _ in range(MAX_ISOLATED_ERRORS):
        part = graph.without(left_out) if left_out else graph
        if not part.nodes:
            return _Computable(None, errors)
        try:
            compiled = Compiled(part, device, dtype, cancellable=True)
            notes: list[str] = []
            limit, why = budget.limit_for(memory_limit, device)
            budget.check(compiled, limit, why=why)
            leaves = compiled.make_leaves()
            values = compiled.forward(leaves, notes)  # what fails only on real data fails here
            return _Computable(compiled, errors, (values, notes), leaves)
        except (DeviceError, OverBudget):
            raise
        except GraphError as e:
            stopped = left_out_for(part, e)
            if not stopped:  # not traced to a node: nothing can be isolated
                raise
            errors.append(e)
            left_out |= stopped
    raise GraphError(f"more than {MAX_ISOLATED_ERRORS} nodes fail: fix the first ones "
                     f"({', '.join(e.node_ids[0] for e in errors[:5])}, …)",
                     [n for e in errors for n in e.node_ids[:1]])


def _autograd_on(method):  # noqa: ANN001, ANN201 - a decorator
    """Runs a ComputeSession entry point with autograd on, whatever the thread's grad mode (a
    user's script or notebook may have turned it off): partials never depend on it."""
    @functools.wraps(method)
    def run(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        import torch

        with torch.enable_grad():
            return method(*args, **kwargs)
    return run


def _same_wiring(old: Node, new: Node) -> bool:
    """Whether a node compiles to the same code either way: an op with the same attributes, or
    a leaf of the same kind (a value, or an init of the same fn), shape, dtype and
    requires_grad. Labels and leaf numbers may differ."""
    if old.op != new.op:
        return False
    if not new.is_tensor:
        return repr(old.attrs) == repr(new.attrs)  # repr: 2 and 2.0 compile differently
    try:
        new.check()  # remembered per node; a bad node goes to a full compile, which names it
        shape = new.leaf_shape()
    except GraphError:
        return False
    # The init's fn too: the compile's NaN/Inf check trusts some (InitSpec.always_finite).
    return ((old.init and old.init["fn"], old.dtype, old.requires_grad, old.leaf_shape())
            == (new.init and new.init["fn"], new.dtype, new.requires_grad, shape))


def _with_new_values(part: _Computable, nodes: dict[str, Node], edges: list[Edge],
                     graph: Graph) -> _Computable | None:
    """The compiled part run on the graph's leaf values, when the graph differs from the one
    it was made from (`nodes`, `edges`) only in leaf numbers and labels; else None. Nodes are
    frozen and snapshots share the unchanged ones, so most comparisons are `is`."""
    if graph.edges != edges or list(graph.nodes) != list(nodes):
        return None
    changed = []
    for n, node in graph.nodes.items():
        old = nodes[n]
        if node is not old:
            if not _same_wiring(old, node):
                return None
            if node.is_tensor:  # made anew, not compared: -0.0 == 0.0, yet 1 / -0.0 is -inf
                changed.append(node)
    compiled = part.compiled
    leaves = list(part.leaves)
    where = {n: i for i, n in enumerate(compiled.source.leaf_ids)}
    try:
        for node in changed:
            if node.id in where:
                leaves[where[node.id]] = compiled.leaf_tensor(node)
        notes: list[str] = []
        values = compiled.forward(tuple(leaves), notes)
    except GraphError:  # compiled anew, which isolates and names the problem
        return None
    return _Computable(compiled, part.errors, (values, notes), tuple(leaves))


class ComputeSession:
    """Computes for one window. Keeps the computable part of the graph compiled and the last
    run, so that

    - a value edit (new leaf numbers, same wiring, shapes, dtypes, requires_grad, device,
      dtype) feeds the new leaf tensors to the compiled forward: no new compile. The session
      tells this from the graph itself (revisions move on for every semantic edit);
    - a new target needs no new compile;
    - the slice plot that follows a compute of the same revision neither compiles nor runs
      the graph again.

    Used from one thread at a time (the worker runs one job at a time): no lock.
    """

    def __init__(self) -> None:
        self._key: tuple | None = None  # (revision, device, dtype) the part is for
        self._part: _Computable | None = None
        self._nodes: dict[str, Node] = {}  # the nodes and edges the part's leaves come from
        self._edges: list[Edge] = []
        self._run_key: tuple | None = None
        self._run = None  # (engine.Result or None, the values, notes, the target's error or None)
        self._cancel: CancelToken | None = None  # the running compute's, if it can be cancelled
        self.memory_limit: int | str | None = "default"  # the last compute's (the app's limit)
        # What a feature keeps between its tasks (training's accumulated .grad and optimiser).
        self.kept: dict[str, object] = {}

    def report(self, payload: object) -> None:
        """A running task's progress (training's loss per step): the worker sets this to send
        `payload` to the window as it comes; by default nobody listens."""

    def _computable(self, graph: Graph, revision: int, device: str, dtype: str | None) -> _Computable:
        """Kept for (revision, device, dtype): a semantic revision names one state of the graph.
        A new revision that only changes leaf numbers reuses the compiled part."""
        key = (revision, device, dtype)
        if key == self._key:
            return self._part
        old, old_key = self._part, self._key
        self._key = self._part = self._run_key = self._run = None
        part = None
        if old is not None and old.compiled is not None and old.wiring_only and old_key[1:] == key[1:]:
            part = _with_new_values(old, self._nodes, self._edges, graph)
        if part is None:
            part = computable(graph, device, dtype, self.memory_limit)
        # Copies: a caller may pass a graph it goes on editing.
        self._nodes, self._edges = dict(graph.nodes), list(graph.edges)
        self._part, self._key = part, key
        return part

    def _evaluate(self, part: _Computable, target: str | None, grad_output: object) -> tuple:
        """(engine.Result or None, values, notes, the target's error or None), kept per target
        and grad-output."""
        key = (target, repr(grad_output))
        if key != self._run_key:
            if part.first_values is not None:  # each forward serves one backward
                (values, notes), part.first_values = part.first_values, None
            else:
                notes = []
                values = part.compiled.forward(part.leaves, notes)
            result, target_error = None, None
            if target is not None and target in values:
                if self._cancel is not None:
                    self._cancel.watch_backward([values[n] for n in part.compiled.source.op_ids])
                try:
                    result = part.compiled.partials(values, target, grad_output, notes)
                except GraphError as e:  # the target's own problem: the values still show
                    # named last: a backward failing at a node upstream is that node's error
                    target_error = e if target in e.node_ids else GraphError(e.message, [*e.node_ids, target])
            self._run_key, self._run = key, (result, values, notes, target_error)
        return self._run

    @paused_gc
    @_autograd_on
    def compute(self, graph: Graph, target: str | None, revision: int, device: str = "cpu",
                dtype: str | None = None, grad_output: object = None,
                cancel: CancelToken | None = None, memory_limit: int | str | None = "default") -> ComputeResult:
        """Every computable node's value and, with a target, its partial. Never raises for user
        errors: each sits on its node, and the rest is still computed. With a `cancel` token,
        setting it (from any thread) stops the compute at the next op boundary: the result then
        says `cancelled` and holds nothing else. A graph compiled anew is first checked against
        `memory_limit` bytes ("default": budget.memory_limit_default, None: no limit); over it,
        the result says `over_budget` and nothing was allocated."""
        self.memory_limit = memory_limit
        if cancel is None:
            return self._compute(graph, target, revision, device, dtype, grad_output)
        from autograd_bridge.cancel import Cancelled

        self._cancel = cancel
        try:
            return self._compute(graph, target, revision, device, dtype, grad_output)
        except Cancelled:
            return ComputeResult(revision, target, device=device, grad_output=grad_output, dtype=dtype,
                                 cancelled=True)
        finally:
            self._cancel = None

    def _compute(self, graph: Graph, target: str | None, revision: int, device: str,
                 dtype: str | None, grad_output: object) -> ComputeResult:
        from autograd_bridge.formatting import tensor_texts

        out = ComputeResult(revision, target, device=device, grad_output=grad_output, dtype=dtype)
        try:
            with self._watching():  # forward and backward: the formatting below checks in between
                part = self._computable(graph, revision, device, dtype)
                errors = list(part.errors)
                if part.compiled is None:
                    _set_errors(out, errors, graph)
                    return out
                result, values, notes, target_error = self._evaluate(part, target, grad_output)
        except GraphError as e:
            out.error, out.error_nodes = titled_message(e.message, e.node_ids, by_title(graph)), e.node_ids
            if isinstance(e, OverBudget):
                out.over_budget = (e.needed, e.limit)
            return out
        except Exception as e:  # noqa: BLE001 - the app must never crash on a graph
            out.error = f"internal error while computing: {type(e).__name__}: {e}"
            return out
        if target_error is not None:
            errors.insert(0, target_error)
        compiled = part.compiled
        leaves = set(compiled.source.leaf_ids)
        name = by_title(graph)  # the app names nodes by the titles the canvas shows
        grads = result.grads if result is not None else dict.fromkeys(values)
        value_list, grad_list = list(values.values()), list(grads.values())
        columns = []
        for make in (lambda: tensor_texts(value_list), lambda: tensor_texts(grad_list, None),
                     lambda: _arrays(value_list), lambda: _arrays(grad_list)):
            self._check_cancel()
            columns.append(make())
        per_node = zip(values, value_list, grad_list, *columns, strict=True)
        for n, value, grad, value_text, grad_text, value_array, grad_array in per_node:
            if result is not None:
                reason = result.no_grad_reason(n, compiled, name)
            else:
                reason = NO_TARGET if target is None else f"{name(target)} has no partials (see its error)"
            out.nodes[n] = NodeView(tuple(value.shape), n in leaves, value_text, grad_text, reason,
                                    value_array, grad_array, _preview(value, value_array),
                                    _preview(grad, grad_array))
        out.notes = [_titled(note, name) for note in (result.notes if result is not None else notes)]
        out.nonfinite_spread = result.nonfinite_spread if result is not None else frozenset()
        for n, what in result.nonfinite if result is not None else ():  # a value's and a partial's, joined
            what = _titled(what, name)
            out.nonfinite[n] = f"{out.nonfinite[n]}; {what}" if n in out.nonfinite else what
        _set_errors(out, errors, graph)
        return out

    def _watching(self) -> contextlib.AbstractContextManager:
        """Torch calls check the running compute's cancel token, if it has one (a few µs each,
        so only around the forward and backward)."""
        return contextlib.nullcontext() if self._cancel is None else self._cancel.watching_forward()

    def _check_cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.check()

    @_autograd_on
    def compiled_for(self, graph: Graph, revision: int, device: str = "cpu",
                     dtype: str | None = None) -> tuple[object, tuple]:
        """For the worker's named tasks (Jacobians, steps, …): the compiled computable part of
        this graph state (an engine.Compiled, or None when nothing runs) and the leaf tensors its
        forward takes. Kept as compute keeps it, so a task after a compute of the same revision
        compiles nothing. Raises GraphError as compute would put it on nodes."""
        part = self._computable(graph, revision, device, dtype)
        return part.compiled, part.leaves

    @_autograd_on
    def kept_run(self, graph: Graph, revision: int, device: str, dtype: str | None, target: str,
                 grad_output: object = None) -> tuple[object, object]:
        """For the worker's named tasks (gradient flow, …): the compiled part (or None) and the
        engine.Result (values and partials, or None when the target has none) of the run compute
        keeps for this graph state, target and grad-output; run again only if another was asked
        since. Raises GraphError as compute would put it on nodes (the target's own too)."""
        part = self._computable(graph, revision, device, dtype)
        if part.compiled is None:
            return None, None
        result, _values, _notes, target_error = self._evaluate(part, target, grad_output)
        if target_error is not None:
            raise target_error
        return part.compiled, result

    @_autograd_on
    def compute_slice(self, graph: Graph, target: str, leaf: str, revision: int, device: str = "cpu",
                      dtype: str | None = None, points: int = 41) -> SliceResult | None:
        """target(leaf = x0 + h) for h in a window around x0; None if it does not apply."""
        try:
            part = self._computable(graph, revision, device, dtype)
            base = self._evaluate(part, target, None)[0]
            if base is None:
                return None
            x0 = float(base.values[leaf].item())
            slope = base.grads.get(leaf)
            if slope is None or base.values[target].numel() != 1:
                return None
            span = max(1.0, abs(x0)) * 0.75
            xs = [x0 - span + 2 * span * i / (points - 1) for i in range(points)]
            ys = part.compiled.slice_1d(target, leaf, xs, part.leaves)
        except Exception:  # noqa: BLE001 - a plot that cannot be drawn is simply not drawn
            return None
        return SliceResult(revision, target, leaf, xs, ys, x0, float(base.values[target].item()),
                           float(slope.item()), device, dtype)


def _titled(note: str, name: Callable[[str], str]) -> str:
    """An engine note as the app shows it: the nodes an engine.Note names, by `name` (their
    titles); the command line keeps the ids."""
    from autograd_bridge.engine import Note

    return note.named(name) if isinstance(note, Note) else note


def _set_errors(out: ComputeResult, errors: list[GraphError], graph: Graph) -> None:
    if errors:
        name = by_title(graph)
        messages = [titled_message(e.message, e.node_ids, name) for e in errors]
        out.error = "; ".join(messages)
        failing = [_failing(graph, e) for e in errors]
        blocking = _blocking(graph, failing)
        shown: dict[str, list[int]] = {}  # node -> the errors it shows, in the graph's order
        for i, e in enumerate(errors):
            for n in dict.fromkeys(e.node_ids):
                shown.setdefault(n, []).append(i)
        for n, upstream in blocking.items():  # not computed because of them: their errors are its to show
            culprits = dict.fromkeys(c for i in upstream for c in failing[i] if c != n)
            out.blocked_by[n] = tuple(culprits)[:BLOCKED_NAMED + 1]
            mine = shown.get(n, [])  # its own errors first: a node that fails says why it fails
            shown[n] = mine + [i for i in upstream[:BLOCKED_NAMED] if i not in mine]
        for n, which in shown.items():
            more = "; and more errors upstream" if len(blocking.get(n, ())) > BLOCKED_NAMED else ""
            out.node_errors[n] = "; ".join(messages[i] for i in which) + more
        out.error_nodes = tuple(dict.fromkeys(n for e in errors for n in e.node_ids))
        out.failing = tuple(dict.fromkeys(n for f in failing for n in f))


# A node left out below failing nodes names the first BLOCKED_NAMED of them, with their errors;
# ComputeResult.blocked_by keeps one more, to say there are more. Bounded, so a big graph with
# thousands of unfed inputs costs one pass, not one walk and one message per error per node.
BLOCKED_NAMED = 3


def _blocking(graph: Graph, failing: list[list[str]]) -> dict[str, list[int]]:
    """Node downstream of a failing node (not one of that error's own) -> the first
    BLOCKED_NAMED + 1 errors (indexes into `failing`) that stop it. One walk down the edges
    carries each node's first errors at or above it (a plain union, so the first few of a node
    are exact from its inputs' first few), revisiting a node only when its list grows; a node's
    own errors are dropped at the end (a cycle's nodes fail together, not because of each other)."""
    own: dict[str, set[int]] = {}
    for i, nodes in enumerate(failing):
        for n in nodes:
            own.setdefault(n, set()).add(i)
    keep = BLOCKED_NAMED + 1 + max(map(len, own.values()), default=0)  # room for the own ones dropped
    reach = {n: sorted(mine)[:keep] for n, mine in own.items()}
    todo = deque(own)
    while todo:
        n = todo.popleft()
        for m in graph.consumers_of(n):
            have = reach.get(m, [])
            grown = sorted({*have, *reach[n]})[:keep]
            if grown != have:
                reach[m] = grown
                todo.append(m)
    blocking = {}
    for n, found in reach.items():
        upstream = [i for i in found if i not in own.get(n, ())][:BLOCKED_NAMED + 1]
        if upstream:
            blocking[n] = upstream
    return blocking


def stopping(graph: Graph, errors: list[GraphError], node_id: str) -> GraphError | None:
    """The first of these errors that leaves node_id out (left_out_for holds it): one walk up."""
    above = graph.ancestors(node_id) | {node_id}
    return next((e for e in errors if any(n in above for n in _failing(graph, e))), None)


def available_devices() -> list[str]:
    from autograd_bridge.engine import available_devices as devices

    return devices()
