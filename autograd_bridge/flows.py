"""The gradient flowing along every edge: for an edge src → dst.port, the vector–Jacobian
product of dst's op with respect to that input, seeded with ∂target/∂dst. It is src's share of
its partial: ∂target/∂src is the sum of the flows along src's out-edges (the chain rule's sum
over paths, which autograd performs inside one backward pass and this module takes apart).

Every number comes from torch: dst's op is called again, as the generated code calls it
(codegen.op_expr), on detached copies of its real inputs, one per port (so x * x gives two
edges with a flow each), and torch.autograd.grad differentiates that one call. `local_vjps` is
the one place that does this, for the gradient-flow view and for a step-through of backward.
A random op (dropout) called again draws what the forward drew: see `_redrawn`.

Qt-free, and torch is imported on first use: the GUI thread imports the result types.
`flow_task` is the worker's named task: plain data for the GUI thread.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from autograd_bridge.codegen import op_expr
from autograd_bridge.runs import RunFor
from graph.model import Edge, Graph, Node
from graph.naming import by_title

if TYPE_CHECKING:
    import torch

    from autograd_bridge.cancel import CancelToken
    from autograd_bridge.compute import ComputeSession
    from autograd_bridge.engine import Compiled

_CALLS: dict[tuple[str, str], Callable] = {}  # (op, attrs) -> the op as a function of its ports


def op_call(node: Node, ports: tuple[str, ...]) -> Callable:
    """dst's op as a function of the tensors on its fed ports (in port order): the very call the
    generated code makes for it (codegen.op_expr), made once per op, attributes and fed ports."""
    key = (node.op, repr(node.attrs), ports)
    fn = _CALLS.get(key)
    if fn is None:
        import torch

        params = [f"p{i}" for i in range(len(ports))]
        expr = op_expr(node, dict(zip(ports, params, strict=True)))
        # Source text from the catalogue and validated attributes only (as codegen's).
        fn = eval(f"lambda {', '.join(params)}: {expr}", {"torch": torch, "math": math})  # noqa: S307
        _CALLS[key] = fn
    return fn


def local_vjps(compiled: Compiled, values: dict[str, torch.Tensor], node_id: str,
               grad_out: torch.Tensor, ports: list[str] | None = None) -> dict[str, torch.Tensor | None]:
    """For op node `node_id`, the VJP of its op at its real inputs with `grad_out` (a gradient
    shaped like its value), per input port: what flows back along the edge into that port.
    `ports` defaults to those fed by a node that requires grad. A port whose input the op does
    not use gets None, as does every port when the op's value does not require grad."""
    import torch

    node = compiled.graph.nodes[node_id]
    inputs = compiled.graph.inputs[node_id]
    fed = _fed_ports(compiled, node_id)
    if ports is None:
        ports = [p for p in fed if inputs[p] in compiled.source.requires_grad]
    if not ports:
        return {}
    args = []
    for p in fed:  # a copy per port: x * x differentiates each port on its own
        a = values[inputs[p]].detach()
        args.append(a.requires_grad_() if p in ports else a)
    wrt = [a for p, a in zip(fed, args, strict=True) if p in ports]
    with torch.enable_grad():
        call = op_call(node, fed)
        out = _redrawn(compiled, values, node_id, call, args) if node.spec.random else call(*args)
        if not out.requires_grad:
            return dict.fromkeys(ports)
        got = torch.autograd.grad(out, wrt, grad_outputs=grad_out, allow_unused=True)
    return dict(zip(ports, got, strict=True))


def _fed_ports(compiled: Compiled, node_id: str) -> tuple[str, ...]:
    """The node's fed ports, in port order (cat's tensors.0, tensors.1, …; an unfed optional port
    passes None and carries nothing)."""
    inputs = compiled.graph.inputs[node_id]
    return tuple(p for p in compiled.graph.nodes[node_id].ports if p in inputs)


def _redrawn(compiled: Compiled, values: dict[str, torch.Tensor], node_id: str, call: Callable,
             args: list) -> torch.Tensor:
    """A random op's call, drawing the numbers the forward drew for it (its dropout mask): torch's
    generator seeded from the graph's seed, as the forward's first line seeds it (codegen.seed_line),
    then the random ops before it in the forward called again on their own inputs, which draws
    what they drew. The forward's own autograd graph cannot give the VJP instead: backward has
    freed it (the mask it saved) by the time flows are asked for."""
    import torch

    graph = compiled.graph
    torch.manual_seed(graph.seed)
    with torch.no_grad():
        for n in compiled.source.op_ids:
            if n == node_id:
                break
            if graph.nodes[n].spec.random:
                fed = _fed_ports(compiled, n)
                op_call(graph.nodes[n], fed)(*(values[graph.inputs[n][p]] for p in fed))
    return call(*args)


def edge_flows(compiled: Compiled, values: dict[str, torch.Tensor], grads: dict[str, torch.Tensor | None],
               cancel: CancelToken | None = None) -> dict[Edge, torch.Tensor | None]:
    """The gradient flowing along every edge into a port fed by a node that requires grad
    (local_vjps seeded with ∂target/∂dst); None where none flows (the target does not depend on
    dst, or the op does not use that input). Edges into other ports are left out."""
    flows: dict[Edge, torch.Tensor | None] = {}
    inputs = compiled.graph.inputs
    for n in compiled.source.op_ids:
        if cancel is not None:
            cancel.check()
        g = grads.get(n)
        ports = [p for p in _fed_ports(compiled, n) if inputs[n][p] in compiled.source.requires_grad]
        if not ports:
            continue
        vjps = dict.fromkeys(ports) if g is None else local_vjps(compiled, values, n, g, ports)
        for p in ports:
            flows[Edge(inputs[n][p], n, p)] = vjps[p]
    return flows


@dataclass
class EdgeFlow:
    """The gradient along one edge, as the GUI shows it."""

    norm: float  # Euclidean; nan or inf when it holds NaN/Inf
    shape: tuple[int, ...]  # the input's shape (a broadcast input's flow is summed back to it)
    text: str  # formatting.tensor_text: numbers when small, else shape and norm


@dataclass
class FlowResult(RunFor):
    """Every edge's flow for one run (RunFor: which run it answers)."""

    flows: dict[Edge, EdgeFlow] = field(default_factory=dict)  # edges along which a gradient flows
    none: dict[Edge, str] = field(default_factory=dict)  # edges along which none does, and why
    error: str | None = None  # why there are no flows at all (no target, the run failed)
    cancelled: bool = False


NO_GRAD_INPUT = "no gradient flows: {src} does not require grad"
NO_DEPENDENCE = "no gradient flows: {target} does not depend on {dst}"
UNUSED = "no gradient flows: {dst} does not use this input"


def flow_result(compiled: Compiled, values: dict[str, torch.Tensor], grads: dict[str, torch.Tensor | None],
                target: str, cancel: CancelToken | None = None) -> tuple[dict[Edge, EdgeFlow], dict[Edge, str]]:
    """edge_flows as plain data for every edge of the compiled graph: ({edge: EdgeFlow} where a
    gradient flows, {edge: why not} elsewhere, naming nodes by their titles: the app's)."""
    from autograd_bridge.formatting import norm, tensor_texts

    tensors = edge_flows(compiled, values, grads, cancel)
    flowing = [(e, t) for e, t in tensors.items() if t is not None]
    texts = tensor_texts([t for _e, t in flowing])
    flows = {e: EdgeFlow(norm(t), tuple(t.shape), text) for (e, t), text in zip(flowing, texts, strict=True)}
    none: dict[Edge, str] = {}
    name = by_title(compiled.graph)  # the app's: named by the titles the canvas shows
    for n in compiled.source.op_ids:
        for p, src in compiled.graph.inputs[n].items():
            e = Edge(src, n, p)
            if e in flows:
                continue
            if e not in tensors:
                none[e] = NO_GRAD_INPUT.format(src=name(src))
            elif grads.get(n) is None:
                none[e] = NO_DEPENDENCE.format(target=name(target), dst=name(n))
            else:
                none[e] = UNUSED.format(dst=name(n))
    return flows, none


def flow_task(session: ComputeSession, cancel: CancelToken | None, graph: Graph, revision: int,
              target: str | None, device: str = "cpu", dtype: str | None = None,
              grad_output: object = None) -> FlowResult:
    """The worker's task: every edge's flow for the run the session keeps for this graph state,
    target and grad-output (run again only if another was asked since). Never raises for a
    graph's problems: they go in `error`."""
    from autograd_bridge.cancel import outcome_in

    out = FlowResult(revision, target, device, dtype, grad_output)
    if target is None:
        out.error = "no target chosen"
        return out
    with outcome_in(out, " while computing the gradient flow"):
        compiled, result = session.kept_run(graph, revision, device, dtype, target, grad_output)
        if result is None:
            out.error = f"{by_title(graph)(target)} has no partials"
            return out
        out.flows, out.none = flow_result(compiled, result.values, result.grads, target, cancel)
    return out
