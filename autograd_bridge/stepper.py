"""Backward, one wire at a time: the chain rule as a walk from the target to the leaves.

The walk starts at the target, seeded with 1 (or the grad-output v), and takes the op nodes in
reverse topological order; for each wire into a node it passes back the node's accumulated
partial times the node's local derivative. A node fed along two paths (the diamond) gets two
steps that add up. By the time a node is taken, every node it feeds has been taken, so its
partial is complete: that is why the order is reverse topological.

Every number comes from torch: the product flowing along a wire is flows.local_vjps (the op
called again on its real inputs, differentiated by torch.autograd.grad), and so is the local
derivative shown beside it (the same call seeded with 1 for a one-element node, or with each
basis vector for a small Jacobian). No derivative is written here by hand.

`walk` gives the tensors (the tests compare the sums with the engine's partials); `walk_task`
is the worker's task: every step's numbers as text, computed once at the start; a GUI then
only shows them (`Walk.state`). Qt-free; torch is imported on first use.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from autograd_bridge.flows import local_vjps
from autograd_bridge.runs import RunFor
from graph.model import Edge, Graph
from graph.naming import by_title

if TYPE_CHECKING:
    import torch

    from autograd_bridge.cancel import CancelToken
    from autograd_bridge.compute import ComputeSession
    from autograd_bridge.engine import Compiled

# The local derivative of a node with more than one element is a Jacobian; it is shown when it
# has at most this many entries (else the step shows only the product, vᵀ·J).
JACOBIAN_SHOWN_MAX = 36


@dataclass
class TensorStep:
    """One step, as tensors: the wire src → node.port, or the seed (edge None, src the target)."""

    node: str
    edge: Edge | None
    incoming: torch.Tensor  # ∂target/∂node, complete when node is taken
    local: torch.Tensor | None  # ∂node/∂src: shaped like src (node has one element) or a Jacobian
    product: torch.Tensor  # what flows along the wire: incoming · local, by torch (a VJP)
    after: torch.Tensor  # src's partial so far, this product included
    paths: int  # how many wires into src's consumers have reached src so far

    @property
    def src(self) -> str:
        return self.edge.src if self.edge is not None else self.node


def _local_derivative(compiled: Compiled, values: dict[str, torch.Tensor], node: str,
                      ports: list[str]) -> dict[str, torch.Tensor | None]:
    """∂node/∂input per port, from torch: the VJP seeded with 1 for a one-element node (the
    derivative itself, shaped like the input), else the Jacobian row by row (seeded with each
    basis vector) when it is small; None where it is not shown or the op does not use the input."""
    import torch

    out = values[node]
    sources = compiled.graph.inputs[node]
    if out.numel() == 1:
        return local_vjps(compiled, values, node, torch.ones_like(out), ports)
    small = [p for p in ports if out.numel() * values[sources[p]].numel() <= JACOBIAN_SHOWN_MAX]
    got: dict[str, torch.Tensor | None] = dict.fromkeys(ports)
    if not small:
        return got
    rows: dict[str, list] = {p: [] for p in small}
    for i in range(out.numel()):
        # A basis vector of its own per row: the backward of add, reshape or transpose hands
        # its seed back (or a view of it), so rows from one reused seed all became the last one.
        basis = torch.zeros(out.numel(), dtype=out.dtype, device=out.device)
        basis[i] = 1
        row = local_vjps(compiled, values, node, basis.reshape(out.shape), small)
        for p in small:
            rows[p].append(None if row[p] is None else row[p].reshape(-1))
    for p in small:
        if all(r is not None for r in rows[p]):
            got[p] = torch.stack(rows[p])  # [node's elements, input's elements]
    return got


def walk(compiled: Compiled, values: dict[str, torch.Tensor], target: str, seed: torch.Tensor,
         cancel: CancelToken | None = None) -> tuple[list[TensorStep], dict[str, torch.Tensor]]:
    """(the steps, every reached node's partial at the end). `seed` is ∂target/∂target: ones
    for a one-element target, else the grad-output. A node the target does not depend on, or
    that does not require grad, is never reached (its partial is None, as the engine's)."""
    graph, requires_grad = compiled.graph, compiled.source.requires_grad
    acc: dict[str, torch.Tensor] = {target: seed}
    paths: dict[str, int] = {target: 1}
    steps = [TensorStep(target, None, seed, None, seed, seed, 1)]
    for node in reversed(compiled.source.op_ids):
        if node not in acc:
            continue  # the target does not depend on it (or it comes after the target)
        if cancel is not None:
            cancel.check()
        # in port order (cat's tensors.0, tensors.1, …); an unfed optional port carries nothing
        ports = [p for p in graph.nodes[node].ports if graph.inputs[node].get(p) in requires_grad]
        if not ports:
            continue
        incoming = acc[node]
        products = local_vjps(compiled, values, node, incoming, ports)
        locals_ = _local_derivative(compiled, values, node, ports)
        for p in ports:
            product = products[p]
            if product is None:  # the op does not use this input: nothing flows
                continue
            src = graph.inputs[node][p]
            acc[src] = product if src not in acc else acc[src] + product
            paths[src] = paths.get(src, 0) + 1
            steps.append(TensorStep(node, Edge(src, node, p), incoming, locals_[p], product, acc[src], paths[src]))
    return steps, acc


# ---- plain data for the GUI ----

@dataclass
class Step:
    """One step as the GUI shows it (numbers as formatting.tensor_text writes them)."""

    node: str  # the node whose partial is passed back (the target, for the seed)
    edge: Edge | None  # the wire it flows along; None for the seed
    src: str  # the node whose partial grows: edge.src (the target, for the seed)
    incoming: str
    local: str | None  # None: a Jacobian too large to show (only the product is)
    local_is_jacobian: bool
    product: str
    before: str | None  # src's partial before this step (None: this is its first path)
    after: str
    paths: int  # this is the paths-th wire to reach src
    total_paths: int = 1  # how many reach it in the whole walk: src's partial is complete at the last


@dataclass
class Walk(RunFor):
    """Every step of one backward walk, for the run it names (RunFor)."""

    steps: list[Step] = field(default_factory=list)
    error: str | None = None  # why there is no walk (no target, the run failed)
    cancelled: bool = False

    def state(self, position: int) -> dict[str, tuple[str, int]]:
        """Each node reached once steps 0..position are done: (its partial so far, the paths
        that reached it). A function of the position alone, so stepping back is exact."""
        reached: dict[str, tuple[str, int]] = {}
        for step in self.steps[:position + 1]:
            reached[step.src] = (step.after, step.paths)
        return reached

    def complete(self, position: int) -> set[str]:
        """The nodes whose partial is whole once steps 0..position are done: every path into
        them walked."""
        return {step.src for step in self.steps[:position + 1] if step.paths == step.total_paths}


def _plain(steps: list[TensorStep]) -> list[Step]:
    from autograd_bridge.formatting import nested, tensor_texts

    columns = [tensor_texts([getattr(s, name) for s in steps]) for name in ("incoming", "product", "after")]
    local_texts = tensor_texts([s.local for s in steps])
    totals = collections.Counter(s.src for s in steps)
    out: list[Step] = []
    before: dict[str, str] = {}
    for s, incoming, product, after, local in zip(steps, *columns, local_texts, strict=True):
        jacobian = s.local is not None and s.edge is not None and s.incoming.numel() > 1
        if jacobian:  # at most JACOBIAN_SHOWN_MAX entries: written out whole, a row a node element
            local = nested(s.local.detach().cpu().tolist())  # (tensor_texts gives "[3, 3] norm 7.5" past 8)
        out.append(Step(s.node, s.edge, s.src, incoming, None if s.local is None else local, jacobian, product,
                        before.get(s.src), after, s.paths, totals[s.src]))
        before[s.src] = after
    return out


def walk_task(session: ComputeSession, cancel: CancelToken | None, graph: Graph, revision: int,
              target: str | None, device: str = "cpu", dtype: str | None = None,
              grad_output: object = None) -> Walk:
    """The worker's task: the whole walk for the run the session keeps for this graph state,
    target and grad-output. Never raises for a graph's problems: they go in `error`."""
    from autograd_bridge.cancel import outcome_in

    out = Walk(revision, target, device, dtype, grad_output)
    if target is None:
        out.error = "no target chosen: click ∂ on a node"
        return out
    with outcome_in(out, " while walking backward"):
        compiled, result = session.kept_run(graph, revision, device, dtype, target, grad_output)
        if result is None or result.grads.get(target) is None:
            out.error = f"{by_title(graph)(target)} has no partials: nothing to walk back"
            return out
        steps, _acc = walk(compiled, result.values, target, result.grads[target], cancel)
        out.steps = _plain(steps)
    return out
