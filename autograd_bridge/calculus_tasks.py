"""The app's derivative tasks beyond one backward pass, run on the worker thread.

Each is a function of (session, cancel, …) for `gui.worker.Computer.request_task`: it takes the
kept compiled graph and its current leaves from `ComputeSession.compiled_for` (`_compiled`), calls
autograd_bridge.calculus (or
torch's double backward) and returns plain data — numpy arrays and text, never a torch tensor —
that says what it was computed for (`Asked`), so the GUI can drop a result that is no longer
current. No Qt here; errors users can cause come back as one line naming the node, never raised.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from autograd_bridge.cancel import outcome_in
from autograd_bridge.runs import RunFor
from graph.errors import GraphError
from graph.naming import by_title

if TYPE_CHECKING:
    from collections.abc import Callable

    from autograd_bridge.cancel import CancelToken
    from autograd_bridge.compute import ComputeSession
    from graph.model import Graph

# The inspector draws a Jacobian or Hessian of at most this many entries (the calculus limits
# allow far more; a heatmap of millions of cells says nothing a person can read).
DRAW_MAX = 512 * 512


def hessian_method_text(method: str, y: str, x: str) -> str:
    """One of calculus's HESSIAN_ ways (NodeDerivatives.hessian_method), its {y} and {x} the
    target's and the node's names as shown."""
    return method.replace("{y}", y).replace("{x}", x)


@dataclass
class Asked(RunFor):
    """What a task computes for: the window's RunState at the time."""


@dataclass
class NodeDerivatives:
    """For one node x under the target y: the Jacobian ∂y/∂x (a non-scalar y), or the Hessian
    ∂²y/∂x² and its diagonal (a scalar y). Matrices are flattened row-major: rows y's (or x's)
    elements, columns x's."""

    asked: Asked
    node: str
    target_shape: tuple[int, ...] = ()
    node_shape: tuple[int, ...] = ()
    jacobian: np.ndarray | None = None  # (y elements, x elements)
    jacobian_method: str = ""
    vjp: np.ndarray | None = None  # vᵀ·J shaped like x, with the grad-output v
    hessian: np.ndarray | None = None  # (x elements, x elements)
    hessian_method: str = ""  # the way it ran: calculus.HESSIAN_BY_FUNC, …
    diagonal: np.ndarray | None = None  # shaped like x
    # ∂y/∂x as a formula (autograd_bridge.symbolic; scalar graphs of elementwise ops, x a leaf),
    # its value at the point, or why there is none.
    formula: str | None = None
    formula_value: float | None = None
    formula_no_value: str | None = None  # why a float cannot hold the formula's value here
    formula_torch: float | None = None  # torch's partial, where it differs from the formula's exact value
    formula_simplified: bool = True  # False: as differentiated, too long to simplify (symbolic.SIMPLIFY_MAX_OPS)
    no_formula: str | None = None
    error: str | None = None  # why nothing (or only part) was computed, naming the nodes
    cancelled: bool = False


@dataclass
class LeafCheckData:
    leaf: str
    shape: tuple[int, ...]
    max_abs_error: float
    max_rel_error: float | None  # calculus.LeafCheck's
    passed: bool


@dataclass
class GradcheckData:
    asked: Asked
    leaves: list[LeafCheckData] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    no_gradient: dict[str, str] = field(default_factory=dict)  # leaf -> why it has none, in grad's words
    nonfinite: str | None = None  # where NaN/Inf start (calculus.Gradcheck.nonfinite)
    tolerances: str = ""
    error: str | None = None
    cancelled: bool = False

    @property
    def passed(self) -> bool:
        return self.error is None and all(c.passed for c in self.leaves)


@dataclass
class SecondDerivatives:
    """"Differentiate again": the gradient g = ∂y/∂x (vᵀ·∂y/∂x with a grad-output v) taken as a
    new target, and ∂g/∂w for every node w that requires grad and g depends on, by double
    backward (torch.autograd.grad with create_graph). partials[w] is (g's elements, w's
    elements); for a scalar x it is ∂²y/∂x∂w, shaped like w once reshaped."""

    asked: Asked
    wrt: str  # x
    gradient: np.ndarray | None = None  # g itself, shaped like x
    wrt_shape: tuple[int, ...] = ()
    partials: dict[str, np.ndarray] = field(default_factory=dict)
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # w -> why autograd gives no ∂y/∂w (grad's table's reason), so no ∂g/∂w either: w reaches
    # the target only through a comparison or an integer op
    no_gradient: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    cancelled: bool = False


def _numpy(t: object) -> np.ndarray:
    return t.detach().cpu().double().numpy()


def _compiled(session: ComputeSession, graph: Graph, asked: Asked, node: str | None = None) -> tuple[object, tuple]:
    """The kept compiled graph and the leaf tensors of this graph state. Every task computes at
    these leaves: a value edit or a training Step gives new ones without a new compile, so
    compiled.graph and compiled.make_leaves() (and compiled.run) still hold the values it was
    compiled from. `node`: the node the task is about, which must be in the computed part too."""
    compiled, leaves = session.compiled_for(graph, asked.revision, asked.device, asked.dtype)
    if compiled is None:
        raise GraphError("nothing in this graph can run yet (see the errors on its nodes)", [])
    if asked.target not in compiled.graph.nodes:
        raise GraphError(f"the target {by_title(graph)(asked.target)} cannot run yet (see the errors on its nodes)",
                         [asked.target])
    if node is not None and node in graph.nodes and node not in compiled.graph.nodes:
        # left out of the compiled part: "no node … in this graph" would be false
        raise GraphError(f"{by_title(graph)(node)} cannot run yet (it has an error, or an input of it has): "
                         "no derivatives of it", [node])
    return compiled, leaves


def node_derivatives(session: ComputeSession, cancel: CancelToken, graph: Graph, asked: Asked,
                     node: str) -> NodeDerivatives:
    """The inspector's panel for the selected node: the Jacobian of a non-scalar target (with
    vᵀ·J when a grad-output is set), or the Hessian and its diagonal under a scalar target."""
    from autograd_bridge import calculus

    out = NodeDerivatives(asked, node)
    with outcome_in(out):
        cancel.check()
        compiled, leaves = _compiled(session, graph, asked, node)
        shapes = compiled.infer_shapes()
        out.target_shape, out.node_shape = tuple(shapes[asked.target]), tuple(shapes.get(node, ()))
        n_target, n_node = math.prod(out.target_shape), math.prod(out.node_shape)
        name = by_title(graph)  # named as on the canvas
        y, x = name(asked.target), name(node)
        limit = session.memory_limit  # the app's limit, as its last compute was held to
        if n_target != 1:
            if n_target * n_node > DRAW_MAX:
                raise GraphError(f"the Jacobian ∂{y}/∂{x} has {n_target * n_node:,} entries, more "
                                 f"than the {DRAW_MAX:,} the inspector draws: select part of the target "
                                 "(gradcanvas jacobian gives it whole)", [asked.target, node])
            jac = calculus.jacobian(compiled, asked.target, node, asked.grad_output, leaves, name=name,
                                   memory_limit=limit)
            out.jacobian, out.jacobian_method = _numpy(jac.flat()), jac.method
            out.vjp = None if jac.vjp is None else _numpy(jac.vjp)
        else:
            if n_node * n_node > DRAW_MAX:
                raise GraphError(f"the Hessian ∂²{y}/∂{x}² has {n_node * n_node:,} entries, more "
                                 f"than the {DRAW_MAX:,} the inspector draws (gradcanvas hessian gives it whole)",
                                 [asked.target, node])
            # with the grad-output the canvas uses: then ∂²(vᵀ·y)/∂x², as the canvas shows vᵀ·∂y/∂x
            used: list[str] = []
            h = calculus.hessian(compiled, asked.target, node, asked.grad_output, leaves, name=name,
                                 memory_limit=limit, used=used)
            h = _numpy(h).reshape(n_node, n_node)
            out.hessian, out.diagonal = h, np.diagonal(h).reshape(out.node_shape).copy()
            out.hessian_method = used[0]
            leaf = node in compiled.source.leaf_ids
            if leaf and asked.grad_output is None:  # a formula is of ∂y/∂x, not of vᵀ·∂y/∂x
                _formula(out, compiled, shapes, leaves, name)
        cancel.check()
    return out


def _formula(out: NodeDerivatives, compiled: object, shapes: dict[str, tuple[int, ...]], leaves: tuple | None = None,
             name: Callable[[str], str] | None = None) -> None:
    """∂target/∂leaf (out.node) as a formula (autograd_bridge.symbolic) at the point `leaves`
    (default: the compiled values; a session's after a value edit), into `out`: the formula, its
    value, whether it is simplified, or why there is none (told from the shapes, before running
    anything). Nodes named by `name` (default: the compiled graph's titles)."""
    from autograd_bridge.symbolic import formulas_for, why_not

    target, leaf, name = out.asked.target, out.node, name or by_title(compiled.graph)
    out.no_formula = why_not(compiled.graph, target, shapes, name)
    if out.no_formula is not None:
        return
    # the values, and torch's partials to compare with the formula's
    result = compiled.partials(compiled.forward(leaves), target)  # no leaves: make_leaves()
    got = formulas_for(compiled, result.values, target, name, result.grads)
    if leaf not in got.formulas:
        out.no_formula = got.reason or f"{name(target)} does not depend on {name(leaf)} through a formula"
        return
    out.formula, out.formula_value = got.formulas[leaf], got.values[leaf]
    out.formula_no_value, out.formula_simplified = got.unvalued.get(leaf), leaf not in got.unsimplified
    out.formula_torch = got.torch_differs.get(leaf)


def check_gradients(session: ComputeSession, cancel: CancelToken, graph: Graph, asked: Asked) -> GradcheckData:
    """calculus.gradcheck for the target: per requires-grad leaf, autograd against central
    differences in float64."""
    from autograd_bridge import calculus

    out = GradcheckData(asked, tolerances=f"eps {calculus.EPS:g}, atol {calculus.ATOL:g}, rtol {calculus.RTOL:g}")
    with outcome_in(out):
        cancel.check()
        compiled, leaves = _compiled(session, graph, asked)
        result = calculus.gradcheck(compiled, asked.target, asked.grad_output, leaves, name=by_title(graph))
        out.leaves = [LeafCheckData(c.leaf, tuple(c.shape), float(c.max_abs_error), c.max_rel_error,
                                    bool(c.passed)) for c in result.leaves]
        out.unused, out.no_gradient, out.nonfinite = list(result.unused), dict(result.no_gradient), result.nonfinite
        cancel.check()
    return out


def _no_gradient(compiled: object, target: str, wrt: str, name: Callable[[str], str],
                 grads: dict) -> GraphError:
    """Why autograd gives no ∂target/∂wrt to differentiate again, as grad's table says it: torch's
    backward of an op on the way gives wrt none at run time (named where `grads`, first_partials,
    tell it). A wrt reached only through a comparison never gets here: _check_wrt refuses it."""
    from autograd_bridge.calculus import no_gradient_reason
    from graph.errors import TargetError

    why, op = no_gradient_reason(compiled, target, wrt, name, grads)
    return TargetError(f"{name(wrt)}: {why}, so autograd gives no ∂{name(target)}/∂{name(wrt)} to differentiate "
                       "again", list(dict.fromkeys([target, wrt, *op])))


def differentiate_again(session: ComputeSession, cancel: CancelToken, graph: Graph, asked: Asked,
                        wrt: str) -> SecondDerivatives:
    """g = ∂y/∂x as a new target: ∂g/∂w, by double backward, for x and every node w requiring
    grad that x does not feed. A node computed from x is left out: g depends on it only through
    the tensors torch's backward saved (tanh's backward reuses its output), so ∂g/∂w there would
    be an artefact of the backward graph, not a second derivative. Where autograd gives no ∂y/∂w
    (a comparison on the way, or an op's backward giving none at run time), None and why."""
    import torch

    from autograd_bridge.calculus import _check_wrt, _seeded, _upstream, first_partials, jacobian_rows
    from autograd_bridge.node_checks import no_partial_reason
    from graph.errors import TargetError

    out = SecondDerivatives(asked, wrt)
    with outcome_in(out):
        cancel.check()
        compiled, leaves = _compiled(session, graph, asked, wrt)
        name = by_title(graph)  # named as on the canvas
        # x must require grad and feed the target; one that gets no gradient: _no_gradient
        _check_wrt(compiled, asked.target, wrt, name)
        values = compiled.forward(leaves)
        y = _seeded(compiled, values[asked.target], asked.target, asked.grad_output)(values[asked.target])
        x = values[wrt]
        # Nodes y reaches only through a comparison: None, as grad's table and the Hessian diagonals say
        up = _upstream(compiled, asked.target)
        downstream = graph.descendants(wrt)
        others = [n for n in values if n in up.through_grad and n not in downstream]
        out.no_gradient = {n: no_partial_reason(compiled.graph, up, n, name) for n in values
                           if n in compiled.source.requires_grad and n in up.nodes and n not in up.through_grad
                           and n not in downstream}
        largest = max((v.numel() for v in values.values()), default=0)  # each batched pass holds a copy

        def second() -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
            (g,) = torch.autograd.grad(y, x, create_graph=True, allow_unused=True) if y.requires_grad else (None,)
            # and where torch's backward gives none at run time (vector_norm of ord 0), as grad's table
            firsts = first_partials(compiled, values, y, asked.target)
            if g is None:
                raise _no_gradient(compiled, asked.target, wrt, name, firsts)
            rows = {}
            for n in others:
                if firsts[n] is None:
                    out.no_gradient[n] = no_partial_reason(compiled.graph, up, n, name, firsts)
                    continue
                cancel.check()
                rows[n] = jacobian_rows(g, values[n], largest=largest).reshape(g.numel(), -1)
            return g, rows

        g, rows = compiled._call(second, [], TargetError)  # noqa: SLF001 - errors named by node
        out.gradient, out.wrt_shape = _numpy(g), tuple(x.shape)
        for n, r in rows.items():
            out.partials[n], out.shapes[n] = _numpy(r) + 0.0, tuple(values[n].shape)  # + 0.0: no -0 shown
    return out
