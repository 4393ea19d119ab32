"""Derivatives beyond one backward pass, on a `Compiled` graph: the whole Jacobian of a target
with respect to any node, the Hessian and its diagonal, and a check of autograd against central
finite differences. Every number comes from torch (torch.func, torch.autograd); no Qt, so the
CLI and the GUI call the same functions. One module, long (~615 lines): the three share the
checks of dependence, size and memory made before anything runs.

A leaf's derivatives come from torch.func (the target as a function of that leaf's value). An
intermediate node's come from backward passes through one forward, one row of the Jacobian per
target element, batched (`is_grads_batched`, vmap) and, where vmap cannot run an op, one at a time.

Messages name nodes by `name` (a node id -> its name in a sentence): by default the id, which the
command line's users type (--target, --wrt); the app's tasks pass graph.naming.by_title, the
titles the canvas shows. The node_ids an error carries stay ids: they are keys.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from autograd_bridge import budget
from autograd_bridge.engine import TORCH_ERRORS, Compiled
from autograd_bridge.node_checks import Upstream, backward_gate, no_partial_reason, upstream
from graph.errors import GraphError, TargetError
from graph.naming import no_node_text
from graph.ops import FLOAT_DTYPES

# Elements a Jacobian or Hessian may have (64 MiB in float32); ∂²y/∂x² of a leaf of n elements
# takes n backward passes, as a Hessian's n x n rows, so n * n is held to it too.
JACOBIAN_LIMIT = 2**24
# A memory limit (budget.limit_for): bytes, "default" (budget.memory_limit_default) or None.
MemoryLimit = int | str | None
# Elements of the requires-grad leaves gradcheck perturbs: two forwards each.
GRADCHECK_LIMIT = 2**14
# torch.autograd.gradcheck's defaults: step of the central difference, and the test
# |autograd - numerical| <= ATOL + RTOL * |numerical| on every entry.
EPS, ATOL, RTOL = 1e-6, 1e-5, 1e-3
# Rows of a Jacobian computed in one batched backward: at most this many elements at once, of
# the rows and of each batched copy of the largest node a backward pass holds.
_BATCH_ELEMENTS = 2**22


def rows_at_once(rows: int, largest: int) -> int:
    """How many of `rows` backward passes run batched at once, each holding tensors of at most
    `largest` elements: the one rule for jacobian_rows, jacrev's chunks and the memory check.
    Two at least: jacrev's chunks of one row loop without vmap, slower, and fragment the heap."""
    return max(1, min(rows, max(2, _BATCH_ELEMENTS // max(1, largest))))


@dataclass
class Jacobian:
    """∂target/∂wrt in full: `matrix[i..., j...]` = ∂target[i...]/∂wrt[j...]."""

    target: str
    wrt: str
    value: torch.Tensor  # the target's value
    matrix: torch.Tensor  # shape target_shape + wrt_shape
    target_shape: tuple[int, ...]
    wrt_shape: tuple[int, ...]
    method: str  # "jacrev", or "backward" (one backward pass per target element, batched or not)
    vjp: torch.Tensor | None = None  # vᵀ·J with the grad-output v asked for: what grad shows wrt

    def flat(self) -> torch.Tensor:
        """As a 2-D matrix: rows the target's elements, columns wrt's, both in row-major order."""
        return self.matrix.reshape(math.prod(self.target_shape), math.prod(self.wrt_shape))


class Diagonals(dict):
    """hessian_diagonals' answer: leaf id -> ∂²target/∂leaf² elementwise, or None where autograd
    gives no ∂target/∂leaf; `why[leaf]` says why, in the words of grad's table (no_partial_reason)."""

    def __init__(self, leaves: list[str]) -> None:
        super().__init__(dict.fromkeys(leaves))
        self.why: dict[str, str] = {}


@dataclass
class LeafCheck:
    """One requires-grad leaf's gradcheck: autograd against central differences, every entry of
    ∂target/∂leaf (or of vᵀ·∂target/∂leaf with a grad-output v)."""

    leaf: str
    shape: tuple[int, ...]
    max_abs_error: float  # max |autograd - numerical|
    # max |autograd - numerical| / |numerical| over the entries where the relative tolerance
    # decides (|numerical| ≥ ATOL / RTOL): beside a zero gradient, central differences' 1e-10
    # of noise read "max rel error 1 … ok". None where no entry is that large.
    max_rel_error: float | None
    passed: bool  # every entry within ATOL + RTOL * |numerical| (torch.autograd.gradcheck's test)


@dataclass
class Gradcheck:
    target: str
    leaves: list[LeafCheck]  # the requires-grad leaves the target depends on, in file order
    unused: list[str]  # requires-grad leaves the target does not depend on (nothing to check)
    no_gradient: dict[str, str] = field(default_factory=dict)  # leaf -> why autograd gives it none (grad's words)
    # The first node (graph order) the target depends on whose value holds NaN or Inf at the
    # point checked: differences of such numbers never agree, and this is where they start.
    nonfinite: str | None = None
    eps: float = EPS
    atol: float = ATOL
    rtol: float = RTOL

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.leaves)

    @property
    def failed(self) -> list[str]:
        return [c.leaf for c in self.leaves if not c.passed]


Name = Callable[[str], str]  # node id -> the node's name in a message

# How hessian() computed ∂²y/∂x² (its `used`): torch.func on the forward as a function of a leaf
# x; for an intermediate x, or where vmap cannot run an op on the way, double backward. {y} and
# {x} are for the names of the target and the node (calculus_tasks.hessian_method_text): a fixed
# "∂y/∂x" read as other nodes in a graph that has a y and an x.
HESSIAN_BY_FUNC = "torch.func: the Jacobian of the gradient, its rows vmapped"
HESSIAN_BY_DOUBLE_BACKWARD = "double backward: ∂{y}/∂{x} with create_graph, then one backward pass per element of {x}"
HESSIAN_VMAP_FAILED = " (torch.func's vmap cannot run an op on the way)"
HESSIAN_NONE = "none needed: {y} does not depend on {x} through a differentiable path, so every entry is 0"


# ---- checks, each naming its nodes ----

def _check_exists(compiled: Compiled, node_id: str, role: str) -> None:
    if node_id not in compiled.graph.nodes:
        raise TargetError(f"{no_node_text(compiled.graph, node_id)} (the {role})")


def _upstream(compiled: Compiled, target: str) -> Upstream:
    """What the target depends on, and through which nodes autograd passes a gradient: the pass
    Result.no_grad_reason makes for grad's table, kept per target in the Compiled."""
    up = compiled._upstream.get(target)  # noqa: SLF001 - the engine's cache of this pass
    if up is None:
        up = compiled._upstream[target] = upstream(compiled.graph, compiled.source.order,  # noqa: SLF001
                                                   compiled.source.requires_grad, target)
    return up


def _check_wrt(compiled: Compiled, target: str, wrt: str, name: Name = str) -> None:
    _check_exists(compiled, target, "target")
    _check_exists(compiled, wrt, "node to differentiate with respect to")
    y, x = name(target), name(wrt)
    if wrt not in compiled.source.requires_grad:
        node = compiled.graph.nodes[wrt]
        if node.is_tensor and node.dtype not in FLOAT_DTYPES:  # as the result panel says it
            raise TargetError(f"{x} is {node.dtype}: no gradient, so autograd gives no ∂{y}/∂{x} (only "
                              "floating point tensors can require gradients)", [wrt])
        if not node.is_tensor and node.spec.result_dtype == "bool":
            raise TargetError(f"{x} is a bool result: no gradient flows through it, so autograd gives no "
                              f"∂{y}/∂{x}", [wrt])
        why = "its requires_grad is off" if node.is_tensor else "no tensor it depends on has requires_grad on"
        raise TargetError(f"{x} does not require grad ({why}): autograd gives no ∂{y}/∂{x}", [wrt])
    up = _upstream(compiled, target)
    if wrt not in up.nodes:
        raise TargetError(f"{y} does not depend on {x}: no path of edges leads from {x} to {y}", [target, wrt])
    if wrt not in up.through_grad:  # as grad's table says it: only through a comparison, an integer op
        raise TargetError(f"{x}: {no_partial_reason(compiled.graph, up, wrt, name)}, so autograd gives no "
                          f"∂{y}/∂{x}", [target, wrt, up.gate[wrt]])


def first_partials(compiled: Compiled, values: dict[str, torch.Tensor], y: torch.Tensor,
                   target: str) -> dict[str, torch.Tensor | None]:
    """∂y/∂n (every element of y at once) for each node n autograd should reach (_upstream's
    through_grad), in one backward pass that keeps the graph: None where torch's backward gives
    none at run time, which no look at the edges can tell. What grad's table's reasons read."""
    ids = [n for n in _upstream(compiled, target).through_grad if n in values]
    if not y.requires_grad or not ids:
        return dict.fromkeys(ids)
    grads = torch.autograd.grad(y, [values[n] for n in ids], torch.ones_like(y), retain_graph=True, allow_unused=True)
    return dict(zip(ids, grads, strict=True))


def no_gradient_reason(compiled: Compiled, target: str, node: str, name: Name,
                       grads: dict[str, torch.Tensor | None]) -> tuple[str, list[str]]:
    """(why autograd gives node no ∂target/∂node, in grad's table's words; the nodes to name: the
    op whose backward gave none, when `grads` (first_partials) tell it)."""
    up = _upstream(compiled, target)
    gate = backward_gate(compiled.graph, up, node, grads)
    return no_partial_reason(compiled.graph, up, node, name, grads), [] if gate is None else [gate[0]]


def _refuse_no_gradient(compiled: Compiled, target: str, wrt: str, name: Name,
                        grads: dict[str, torch.Tensor | None]) -> None:
    y, x = name(target), name(wrt)
    why, gate = no_gradient_reason(compiled, target, wrt, name, grads)
    raise TargetError(f"{x}: {why}, so autograd gives no ∂{y}/∂{x}", list(dict.fromkeys([target, wrt, *gate])))


def _check_backward_passes(compiled: Compiled, values: dict[str, torch.Tensor], target: str, wrt: str,
                           scalar: Callable[[torch.Tensor], torch.Tensor], name: Name) -> None:
    """Refuse, in grad's table's words, where torch's backward passes wrt no gradient at run time
    (an op's backward gives None for that input: vector_norm of ord 0), which no look at the
    edges can tell: torch.func makes zeros of it, where grad says None. For an all-zero result
    only: one more backward pass (of scalar(target's value); of every target element at once)."""
    y = scalar(values[target])
    grads = _named(compiled, lambda: first_partials(compiled, values, y, target), f"∂{name(target)}/∂{name(wrt)}",
                   [target, wrt])
    if grads.get(wrt) is None:
        _refuse_no_gradient(compiled, target, wrt, name, grads)


def _check_size(what: str, elements: int, sizes: str, node_ids: list[str],
                advice: str = "select or reduce part of the target, or use smaller tensors") -> None:
    """Refuse a Jacobian (or, with its own advice, a Hessian) of more than JACOBIAN_LIMIT elements."""
    if elements > JACOBIAN_LIMIT:
        raise TargetError(f"the {what} would have {elements:,} elements ({sizes}), more than the "
                          f"limit of {JACOBIAN_LIMIT:,}: {advice}", node_ids)


def _check_passes(what: str, leaf: str, n: int, node_ids: list[str]) -> None:
    """n backward passes for a leaf of n elements, each a row of n entries (one of them kept)."""
    if n * n > JACOBIAN_LIMIT:
        raise TargetError(f"the {what}: {n:,} passes of {n:,} entries each ({n * n:,} in all), more than the "
                          f"limit of {JACOBIAN_LIMIT:,} (a leaf of at most {math.isqrt(JACOBIAN_LIMIT):,} "
                          f"elements): use a smaller leaf, or turn {leaf}'s requires_grad off", node_ids)


def _check_memory(compiled: Compiled, what: str, result: int, at_once: int, node_ids: list[str],
                  memory_limit: MemoryLimit, why: str, hint: str, second_order: bool = False) -> int:
    """Refuse (budget.OverBudget) a Jacobian or Hessian (`second_order`) of `result` elements whose
    run is estimated over the memory limit even one backward pass at a time, before it runs;
    else how many of `at_once` passes to batch: as many as fit (a run that fits one pass at a
    time was refused for its batch, review)."""
    limit, default_why = budget.limit_for(memory_limit, str(compiled.device))
    found = budget.check_matrix(compiled, limit, what=what, result=result, at_once=at_once, node_ids=node_ids,
                                why=why or default_why, hint=hint, second_order=second_order)
    return at_once if found is None else found.at_once


def _seeded(compiled: Compiled, y: torch.Tensor, target: str,
            grad_output: object) -> Callable[[torch.Tensor], torch.Tensor]:
    """The scalar a second derivative is taken of, as a function of the target's value: the
    target itself, or v·target with a grad-output v. Refuses a non-scalar target without one,
    and a grad-output of the wrong shape (the engine's one rule for grad-outputs)."""
    v = compiled._target_and_grad_output({target: y}, target, grad_output)  # noqa: SLF001 - the one rule
    return (lambda t: t.reshape(())) if v is None else (lambda t: (v * t).sum())


# ---- the forward as a function of one leaf, for torch.func ----

def _of_leaf(compiled: Compiled, leaves: tuple[torch.Tensor, ...], target: str,
             wrt: str) -> tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor]:
    """(x -> the target's value with leaf wrt set to x and the other leaves as given, the leaf's
    value)."""
    index = compiled.source.leaf_ids.index(wrt)
    variable = compiled.source.names[target]
    forward = compiled._variables_of  # noqa: SLF001 - the compiled forward: leaves -> variables

    def f(x: torch.Tensor) -> torch.Tensor:
        args = list(leaves)
        args[index] = x
        return forward(*args)[variable]

    return f, leaves[index].detach()


def _with_value(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return y, y.detach()


def _leaves(compiled: Compiled, leaves: tuple[torch.Tensor, ...] | None) -> tuple[torch.Tensor, ...]:
    return compiled.make_leaves() if leaves is None else leaves


def _named(compiled: Compiled, fn: Callable[[], torch.Tensor], what: str, node_ids: list[str]) -> object:
    """fn(), a torch error in it named by the node whose generated line raised, else (a backward
    pass has no line) by what was being computed and its nodes."""
    try:
        return compiled._call(fn, [], TargetError)  # noqa: SLF001 - the engine's one way of naming errors
    except GraphError as e:
        if e.node_ids:
            raise
        raise TargetError(f"{what}: {e.message}", node_ids) from None


# ---- rows of a Jacobian by backward passes ----

def jacobian_rows(output: torch.Tensor, inputs: torch.Tensor,
                  keep: Callable[[torch.Tensor, range], torch.Tensor] | None = None, largest: int = 0,
                  at_once: int | None = None) -> torch.Tensor:
    """∂output/∂inputs by one backward pass per element of `output` (flattened), batched with
    is_grads_batched where vmap can run the backward, else one at a time. Each chunk of rows,
    shaped (rows, *inputs.shape), passes through `keep` (default: kept whole); the results are
    concatenated. The autograd graph is kept (retain_graph). `largest`: the elements of the
    largest tensor a backward pass on the way holds (each batched row holds a copy); `at_once`:
    at most this many rows batched (what the memory limit leaves room for, _check_memory)."""
    flat = output.reshape(-1)
    rows = range(flat.numel())
    keep = keep or (lambda chunk, _rows: chunk)
    # rows per batch: the seeds (rows x outputs), the result (rows x inputs) and the batched
    # backward's tensors (rows x largest) stay bounded
    per_chunk = rows_at_once(len(rows), max(inputs.numel(), flat.numel(), largest))
    if at_once is not None:
        per_chunk = max(1, min(per_chunk, at_once))

    def grads(seed: torch.Tensor, batched: bool) -> torch.Tensor:
        (g,) = torch.autograd.grad(flat, inputs, seed, retain_graph=True, allow_unused=True,
                                   is_grads_batched=batched)
        if g is None:  # output does not depend on inputs here (e.g. a linear function's gradient)
            shape = (seed.shape[0], *inputs.shape) if batched else inputs.shape
            return torch.zeros(shape, dtype=inputs.dtype, device=inputs.device)
        return g

    if not flat.requires_grad:
        zeros = torch.zeros((len(rows), *inputs.shape), dtype=inputs.dtype, device=inputs.device)
        return keep(zeros, rows)
    parts = []
    try:
        with warnings.catch_warnings():
            # vmap falls back to a loop for an op without a batching rule, and says so
            warnings.filterwarnings("ignore", message=".*performance drop.*")
            for start in range(0, len(rows), per_chunk):
                chunk = rows[start:start + per_chunk]
                seed = torch.zeros((len(chunk), flat.numel()), dtype=flat.dtype, device=flat.device)
                seed[_arange(range(len(chunk)), flat), _arange(chunk, flat)] = 1
                parts.append(keep(grads(seed, True), chunk))
    except (RuntimeError, NotImplementedError):  # vmap cannot run some op's backward
        parts = []
        for r in rows:
            seed = torch.zeros_like(flat)
            seed[r] = 1
            parts.append(keep(grads(seed, False).unsqueeze(0), range(r, r + 1)))
    return torch.cat(parts) if parts else keep(
        torch.zeros((0, *inputs.shape), dtype=inputs.dtype, device=inputs.device), rows)


def _arange(r: range, like: torch.Tensor) -> torch.Tensor:
    return torch.arange(r.start, r.stop, r.step, device=like.device)


# ---- the public functions ----

def jacobian(compiled: Compiled, target: str, wrt: str, grad_output: object = None,
             leaves: tuple[torch.Tensor, ...] | None = None, *, name: Name = str,
             memory_limit: MemoryLimit = "default", why: str = "", hint: str = "") -> Jacobian:
    """The whole Jacobian ∂target/∂wrt, shape target.shape + wrt.shape, for any node wrt that
    requires grad and that the target depends on (a leaf: torch.func.jacrev; an intermediate,
    or where vmap cannot run: one backward pass per target element). With a grad-output v (the
    target's shape), also vᵀ·J. `leaves` as make_leaves gives them (default: the compiled
    values); messages name nodes by `name`. A run estimated over `memory_limit` is refused
    first (budget.OverBudget; `why` says where the limit comes from, `hint` how to raise it)."""
    jac = _jacobian(compiled, target, wrt, leaves, name, (memory_limit, why, hint))
    if grad_output is not None:
        # one backward pass with v, as grad makes it: a sum over J's rows would turn inf·0 into NaN
        result = compiled.partials(compiled.forward(_leaves(compiled, leaves)), target, grad_output)
        g = result.grads[wrt]
        jac.vjp = torch.zeros(jac.wrt_shape, dtype=jac.matrix.dtype, device=jac.matrix.device) if g is None else g
    return jac


def _jacobian(compiled: Compiled, target: str, wrt: str, leaves: tuple[torch.Tensor, ...] | None,
              name: Name, memory: tuple[MemoryLimit, str, str]) -> Jacobian:
    _check_wrt(compiled, target, wrt, name)
    shapes = compiled.infer_shapes()
    target_shape, wrt_shape = shapes[target], shapes[wrt]
    what = f"Jacobian ∂{name(target)}/∂{name(wrt)}"
    rows, elements = math.prod(target_shape), math.prod(target_shape) * math.prod(wrt_shape)
    _check_size(what, elements, f"{name(target)} {list(target_shape)} × {name(wrt)} {list(wrt_shape)}", [target, wrt])
    largest = max(math.prod(s) for s in shapes.values())
    at_once = _check_memory(compiled, f"the {what} {list(target_shape) + list(wrt_shape)}", elements,
                            rows_at_once(rows, largest), [target, wrt], *memory)
    leaves = _leaves(compiled, leaves)
    # An empty target or wrt (a leaf of 0 elements) makes an empty Jacobian: the backward
    # passes below make it, where torch.func's decompositions may divide by the 0 elements.
    if wrt in compiled.source.leaf_ids and math.prod(target_shape) * math.prod(wrt_shape):
        f, x = _of_leaf(compiled, leaves, target, wrt)
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the plain forward below gives them as notes
                # vmap runs the backward for `chunk` rows at once: hold that to _BATCH_ELEMENTS
                matrix, value = torch.func.jacrev(lambda x: _with_value(f(x)), has_aux=True,
                                                  chunk_size=at_once)(x)
            if not matrix.any():
                _check_backward_passes(compiled, compiled.forward(leaves), target, wrt, lambda t: t, name)
            # contiguous: torch.func may return a broadcast view (stride 0: abs's Hessian of zeros),
            # on which tolist() fails for want of storage
            return Jacobian(target, wrt, value, matrix.detach().contiguous(), target_shape, wrt_shape, "jacrev")
        except (NotImplementedError, *TORCH_ERRORS):
            pass  # an op vmap cannot run: the backward passes below, which name a real error's node
    values = compiled.forward(leaves)
    y, x = values[target], values[wrt]
    matrix = _named(compiled, lambda: jacobian_rows(y, x, largest=largest, at_once=at_once), what, [target, wrt])
    if matrix.numel() and not matrix.any():
        _check_backward_passes(compiled, values, target, wrt, lambda t: t, name)
    return Jacobian(target, wrt, y.detach(), matrix.reshape((*target_shape, *wrt_shape)).detach(),
                    target_shape, wrt_shape, "backward")


def hessian(compiled: Compiled, target: str, wrt: str, grad_output: object = None,
            leaves: tuple[torch.Tensor, ...] | None = None, *, name: Name = str,
            memory_limit: MemoryLimit = "default", why: str = "", hint: str = "",
            used: list[str] | None = None) -> torch.Tensor:
    """∂²target/∂wrt², shape wrt.shape + wrt.shape, for a scalar target (or v·target with a
    grad-output v): for a leaf, torch.func's Jacobian of its gradient (in chunks of rows), else
    (or where it cannot run) the Jacobian of the gradient by double backward (create_graph); the
    way that ran is appended to `used` (HESSIAN_BY_FUNC, HESSIAN_BY_DOUBLE_BACKWARD, that with
    HESSIAN_VMAP_FAILED, or HESSIAN_NONE where no path needs one). Messages name nodes by `name`.
    A run estimated over `memory_limit` is refused first (budget.OverBudget; `why` says where the
    limit comes from, `hint` how to raise it)."""
    used = [] if used is None else used
    _check_wrt(compiled, target, wrt, name)
    shapes = compiled.infer_shapes()
    wrt_shape = tuple(shapes[wrt])
    n = math.prod(wrt_shape)
    what = f"Hessian ∂²{name(target)}/∂{name(wrt)}²"
    _check_size(what, n * n, f"{name(wrt)} {list(wrt_shape)} twice", [target, wrt],  # whatever the target
                f"a Hessian's size is {name(wrt)}'s squared whatever the target, so differentiate with "
                "respect to a smaller node, or use smaller tensors")
    largest = max(math.prod(s) for s in shapes.values())
    at_once = _check_memory(compiled, f"the {what} {list(wrt_shape) * 2}", n * n, rows_at_once(n, largest),
                            [target, wrt], memory_limit, why, hint, second_order=True)
    leaves = _leaves(compiled, leaves)
    values = compiled.forward(leaves)
    scalar = _seeded(compiled, values[target], target, grad_output)
    y = scalar(values[target])
    # wrt reaches it only through comparisons or integer ops: no curvature; or wrt is empty
    if not y.requires_grad or n == 0:
        used.append(HESSIAN_NONE)
        return torch.zeros((*wrt_shape, *wrt_shape), dtype=values[wrt].dtype, device=values[wrt].device)
    fell_back = ""
    if wrt in compiled.source.leaf_ids:
        f, x = _of_leaf(compiled, leaves, target, wrt)
        try:
            with torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # the Jacobian of the gradient, `at_once` rows batched (torch.func.hessian
                # would batch all n, each holding a copy of every tensor on the way)
                h = torch.func.jacrev(torch.func.grad(lambda x: scalar(f(x))), chunk_size=at_once)(x)
            if not h.any():  # all zeros: from torch.func, also where autograd gives no gradient
                _check_backward_passes(compiled, values, target, wrt, scalar, name)
            used.append(HESSIAN_BY_FUNC)
            return h.detach().contiguous()  # a broadcast view of zeros for abs, l1_loss: see jacobian
        except (NotImplementedError, *TORCH_ERRORS):
            fell_back = HESSIAN_VMAP_FAILED  # double backward, which names a real error's node
    x = values[wrt]

    def double_backward() -> torch.Tensor:
        (g,) = torch.autograd.grad(y, x, create_graph=True, allow_unused=True)
        if g is None:  # an op on the way passes x no gradient (vector_norm of ord 0)
            _refuse_no_gradient(compiled, target, wrt, name, first_partials(compiled, values, y, target))
        return jacobian_rows(g, x, largest=largest, at_once=at_once)

    h = _named(compiled, double_backward, what, [target, wrt])
    used.append(HESSIAN_BY_DOUBLE_BACKWARD + fell_back)
    return h.reshape((*wrt_shape, *wrt_shape)).detach()


def hessian_diagonals(compiled: Compiled, target: str, grad_output: object = None,
                      leaves: tuple[torch.Tensor, ...] | None = None, *, name: Name = str,
                      memory_limit: MemoryLimit = "default", why: str = "", hint: str = "") -> Diagonals:
    """∂²target/∂x² elementwise (the Hessian's diagonal, shaped like x) for every leaf x with
    requires_grad on, in file order; None, with why, where autograd gives no ∂target/∂x (the
    target does not depend on x, or only through a comparison or an integer op: as grad's table
    says). A scalar target, or v·target with a grad-output v. Double backward: n backward passes for a
    leaf of n elements, batched, first held to `memory_limit` as hessian. Messages name nodes by `name`."""
    _check_exists(compiled, target, "target")
    grad_leaves = [n for n in compiled.source.leaf_ids if n in compiled.source.requires_grad]
    up = _upstream(compiled, target)
    used = [n for n in grad_leaves if n in up.through_grad]
    largest = max((math.prod(s) for s in compiled.infer_shapes().values()), default=0) if used else 0
    at_once = {}
    for n in used:
        shape = compiled.graph.nodes[n].leaf_shape()
        size, what = math.prod(shape), f"Hessian diagonal ∂²{name(target)}/∂{name(n)}²"
        _check_passes(f"{what} (one backward pass per element of {name(n)})", name(n), size, [target, n])
        at_once[n] = _check_memory(compiled, f"the {what} {list(shape)}", size, rows_at_once(size, max(size, largest)),
                                   [target, n], memory_limit, why, hint, second_order=True)
    values = compiled.forward(_leaves(compiled, leaves))
    y = _seeded(compiled, values[target], target, grad_output)(values[target])
    diagonals = Diagonals(grad_leaves)

    def second() -> list[torch.Tensor | None]:
        xs = [values[n] for n in used]
        grads = torch.autograd.grad(y, xs, create_graph=True, allow_unused=True) if xs else ()
        # None where the first-order partial is None (an op on the way has no gradient for x)
        return [None if g is None else _diagonal(g, x, largest, at_once[n])
                for n, x, g in zip(used, xs, grads, strict=True)]

    what = f"Hessian diagonals ∂²{name(target)}/∂x² of {', '.join(map(name, used))}"
    diagonals.update(zip(used, _named(compiled, second, what, [target, *used]), strict=True))
    none = [n for n, d in diagonals.items() if d is None]
    grads = first_partials(compiled, values, y, target) if any(n in up.through_grad for n in none) else {}
    diagonals.why = {n: no_partial_reason(compiled.graph, up, n, name, grads) for n in none}
    return diagonals


def _diagonal(g: torch.Tensor, x: torch.Tensor, largest: int, at_once: int | None = None) -> torch.Tensor:
    """∂g[r]/∂x[r] for each element r of x (g = ∂y/∂x, shaped like x): of each chunk of rows
    (row r: ∂g[r]/∂x) only entry r, the chunk's size spelled out, as reshape cannot infer a -1
    beside 0 rows (a leaf of 0 elements)."""
    return jacobian_rows(g, x, largest=largest, at_once=at_once, keep=lambda chunk, rows: chunk.reshape(
        len(rows), math.prod(chunk.shape[1:]))[_arange(range(len(rows)), chunk), _arange(rows, chunk)]
    ).reshape(x.shape).detach()


def gradcheck(compiled: Compiled, target: str, grad_output: object = None,
              leaves: tuple[torch.Tensor, ...] | None = None, *, name: Name = str) -> Gradcheck:
    """autograd against central finite differences, in float64 whatever the compiled dtype, for
    every requires-grad leaf the target depends on: per leaf, the largest absolute and relative
    error over every entry of ∂target/∂leaf (the whole Jacobian of a non-scalar target; with a
    grad-output v, vᵀ·∂target/∂leaf), and
    whether each is within torch.autograd.gradcheck's tolerances (EPS, ATOL, RTOL). At `leaves`
    as make_leaves gives them (a session's after a value edit), floating ones taken to float64;
    by default the graph's own values, made in float64. Messages name nodes by `name`."""
    _check_exists(compiled, target, "target")
    c64 = compiled if compiled.dtype == "float64" else Compiled(compiled.graph, str(compiled.device), "float64")
    grad_leaves = [n for n in c64.source.leaf_ids if n in c64.source.requires_grad]
    up = _upstream(c64, target)  # as grad's table: a leaf reached only through a comparison has no gradient
    used = [n for n in grad_leaves if n in up.through_grad]
    no_gradient = {n: no_partial_reason(c64.graph, up, n, name) for n in grad_leaves if n in up.nodes and n not in used}

    def refuse_if_none_used() -> None:
        if not used and no_gradient:
            raise TargetError("; ".join(f"{name(n)}: {why}" for n, why in no_gradient.items())
                              + ": gradcheck has no gradient to check", [target, *no_gradient])

    refuse_if_none_used()
    if not used:
        raise TargetError(f"{name(target)} depends on no tensor with requires_grad on: gradcheck has no "
                          "gradient to check", [target])
    sizes = {n: math.prod(c64.graph.nodes[n].leaf_shape()) for n in used}
    if sum(sizes.values()) > GRADCHECK_LIMIT:
        listed = ", ".join(f"{name(n)} {sizes[n]:,}" for n in used)
        raise TargetError(f"gradcheck perturbs every element of the requires-grad leaves, two forwards "
                          f"each: {sum(sizes.values()):,} elements ({listed}), more than the limit of "
                          f"{GRADCHECK_LIMIT:,}: use smaller leaves", used)
    leaves = c64.make_leaves() if leaves is None else tuple(map(_in_float64, leaves))
    values = c64.forward(leaves)
    v = None if grad_output is None else c64._target_and_grad_output(values, target, grad_output)  # noqa: SLF001
    y = values[target] if v is None else (v * values[target]).sum()
    # torch's backward may pass a leaf no gradient at run time (vector_norm of ord 0), which the
    # edges cannot tell: grad says None there, so it is not checked (its zeros would pass).
    firsts = _named(c64, lambda: first_partials(c64, values, y, target),
                    "Jacobian " + ", ".join(f"∂{name(target)}/∂{name(n)}" for n in used), [target, *used])
    no_gradient.update((n, no_partial_reason(c64.graph, up, n, name, firsts)) for n in used if firsts[n] is None)
    used = [n for n in used if n not in no_gradient]
    refuse_if_none_used()
    for n in used:
        _check_size(f"Jacobian ∂{name(target)}/∂{name(n)}", y.numel() * sizes[n],
                    f"{name(target)} {list(y.shape)} × {name(n)} {list(values[n].shape)}", [target, n])
    checks = []
    for n in used:
        x = values[n]
        analytical = _named(c64, lambda y=y, x=x: jacobian_rows(y, x), f"Jacobian ∂{name(target)}/∂{name(n)}",
                            [target, n])
        numerical = _central_differences(c64, leaves, target, n, v)
        checks.append(_compare(n, tuple(x.shape), analytical.reshape(y.numel(), x.numel()),
                               numerical.reshape(y.numel(), x.numel())))
    return Gradcheck(target, checks, [n for n in grad_leaves if n not in up.nodes], no_gradient,
                     first_nonfinite(c64, values, target))


def first_nonfinite(compiled: Compiled, values: dict[str, torch.Tensor], target: str) -> str | None:
    """The first node (graph order) the target depends on whose value holds NaN or Inf: where
    the NaN in a gradcheck, Jacobian or Hessian comes from. None when every value is finite."""
    up = _upstream(compiled, target)
    return next((n for n in compiled.source.order if n in up.nodes and values[n].is_floating_point()
                 and not bool(torch.isfinite(values[n]).all())), None)


def _in_float64(leaf: torch.Tensor) -> torch.Tensor:
    """A leaf as the float64 compile takes it: floating dtypes (the override's) go to float64,
    int64 and bool stay (graph.ops.leaf_dtype); a new leaf, requiring grad as the old one."""
    if not leaf.is_floating_point() or leaf.dtype == torch.float64:
        return leaf
    return leaf.detach().to(torch.float64).requires_grad_(leaf.requires_grad)


def _central_differences(c64: Compiled, leaves: tuple[torch.Tensor, ...], target: str, leaf: str,
                         v: torch.Tensor | None) -> torch.Tensor:
    """(f(x + eps·e_k) - f(x - eps·e_k)) / 2eps for each element k of the leaf, as
    torch.autograd.gradcheck computes it: shape (target elements, leaf elements)."""
    index = c64.source.leaf_ids.index(leaf)
    args = [t.detach() for t in leaves]
    x = args[index].clone()
    args[index] = x
    flat = x.view(-1)

    def f() -> torch.Tensor:
        y = c64.forward(tuple(args))[target]
        # float64 also for a target counted from comparisons (an int64 sum of a bool mask); a
        # copy, as a target that is the leaf or a view of it would change with the next step
        return (y if v is None else (v * y).sum()).reshape(-1).to(torch.float64, copy=True)

    columns = []
    with torch.no_grad():
        for k in range(flat.numel()):
            original = flat[k].item()
            flat[k] = original + EPS
            up = f()
            flat[k] = original - EPS
            down = f()
            flat[k] = original
            columns.append((up - down) / (2 * EPS))
        if not columns:  # a leaf of 0 elements: a Jacobian of 0 columns
            return torch.zeros((f().numel(), 0), dtype=torch.float64)
    return torch.stack(columns, dim=1)


def _compare(leaf: str, shape: tuple[int, ...], analytical: torch.Tensor, numerical: torch.Tensor) -> LeafCheck:
    error = (analytical - numerical).abs()
    decided = numerical.abs() >= ATOL / RTOL
    rel = error[decided] / numerical[decided].abs() if bool(decided.any()) else None
    passed = bool(torch.isclose(analytical, numerical, rtol=RTOL, atol=ATOL).all())
    # NaN anywhere makes the error NaN (max() propagates it), and the check fails
    return LeafCheck(leaf, shape, error.max().item() if error.numel() else 0.0,
                     rel.max().item() if rel is not None else None, passed)
