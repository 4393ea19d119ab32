"""What the engine says about one node where torch's own words would not do: rules torch checks
only on a real device (or only by failing in its Python), and torch's messages put in the
graph's terms. Each is one line naming the node (a ShapeError, for autograd_bridge.engine).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

from graph.errors import ShapeError
from graph.model import CheckedGraph, Node

NEW_DIM_MINUS_ONE = "-1 keeps the size of a dimension the input has; a new leading dimension needs its own size"
# The tail torch's C++ warnings carry: where in torch's sources the warning was given.
_TRIGGERED = re.compile(r"\s*\(Triggered internally at [^()]*\)\s*$")


def note_text(text: str) -> str:
    """A warning's first line, less torch's "(Triggered internally at /__w/pytorch/…)"."""
    text = text.strip()
    return _TRIGGERED.sub("", text.splitlines()[0]) if text else ""


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


# Ops whose tensor inputs broadcast against each other in every dimension.
BROADCASTING = frozenset({"arithmetic", "comparison", "elementwise"})


def error_text(node: Node, exc: BaseException, inputs: list[object], said: str) -> str:
    """What to say of an op node whose line raised `exc` with its fed inputs `inputs`, torch
    having said `said`: shapes that do not broadcast (the meta device says "expected shape should
    be broadcastable to [1, 3]", a shape neither input has), an expand's -1 in a new dimension
    ("numel: integer multiplication overflow"), a split or chunk's dim out of range ("Dimension
    out of range (expected to be in range of [-2, 1], but got 2)") or piece index beyond the
    pieces it makes ("tuple index out of range"); else torch's words."""
    first_input = inputs[0] if inputs else None
    if torch.is_tensor(first_input):  # index_select's meta kernel: "list assignment index out of range"
        out_of_range = dim_out_of_range(node, first_input.dim())
        if out_of_range is not None:
            return out_of_range
        dims = node.resolved_attrs().get("dims") if node.op == "permute" else None
        if isinstance(dims, list) and len(dims) != first_input.dim():  # torch: "permute(sparse_coo): …"
            return (f"dims {dims} lists {len(dims)} dimension(s) and the input has {first_input.dim()}: "
                    "permute takes each of the input's dimensions once")
    if node.spec.category in BROADCASTING and "broadcast" in said and all(map(torch.is_tensor, inputs)):
        mismatch = broadcast_mismatch([tuple(t.shape) for t in inputs])
        if mismatch is not None:
            return mismatch
    if node.op == "matmul" and len(inputs) == 2 and all(torch.is_tensor(t) and t.dim() >= 1 for t in inputs):
        mismatch = matmul_mismatch(tuple(inputs[0].shape), tuple(inputs[1].shape))
        if mismatch is not None:
            return mismatch
    if node.op == "expand":
        size = node.resolved_attrs()["size"]
        if -1 in size[:max(len(size) - len(getattr(first_input, "shape", size)), 0)]:
            return f"size {size}: {NEW_DIM_MINUS_ONE}"
    elif isinstance(exc, IndexError) and isinstance(node.spec.result_item, str) and torch.is_tensor(first_input):
        function = functools.reduce(getattr, node.spec.function.split(".")[1:], torch)
        try:
            pieces = len(function(first_input.to("meta"), **node.spec.call_attrs(node.attrs)))  # shapes only
        except (IndexError, RuntimeError, ValueError):  # the call itself is wrong: torch's words say how
            return said
        index = node.resolved_attrs()[node.spec.result_item]
        return (f"it makes {pieces} piece{'s' * (pieces != 1)}, so {node.spec.result_item} {index} is out of "
                f"range (expected {-pieces} to {pieces - 1})")
    return said


def dim_out_of_range(node: Node, rank: int) -> str | None:
    """The first dimension attribute (catalogue kind "dim" or "dims", Attr.is_dim: dimensions of
    the op's first input) out of range for an input of this rank, in the graph's words; None
    when each is in range. torch lets a 0-d tensor use dim 0 or -1.

    Also logsumexp's dim [] on a tensor of 1 or more dimensions: torch fails on it with "output
    with shape [] doesn't match the broadcast shape [1]" (its meta device even gives a shape),
    where sum, mean, amax… read [] as every dim."""
    attrs = node.resolved_attrs()
    if node.op == "logsumexp" and attrs["dim"] == [] and rank > 0:
        every = list(range(rank))
        return f"dim [] names no dimension; logsumexp reduces only the dims it is given ({every} for every one)"
    rank = max(1, rank)
    for attr in node.spec.attrs:
        value = attrs[attr.name]
        if attr.is_dim and value is not None:  # None: every dim
            for d in value if isinstance(value, list) else [value]:
                if not -rank <= d < rank:
                    return f"{attr.name} {d} is out of range (expected {-rank} to {rank - 1})"
    return None


def matmul_mismatch(a: tuple[int, ...], b: tuple[int, ...]) -> str | None:
    """Where input @ other cannot contract, in the graph's shapes: torch's own words show a 1-D
    input as the row [1, n] ("got [1, 2] X [3, 3]" of a [2] input). None when they contract."""
    inner = b[0] if len(b) == 1 else b[-2]
    if a[-1] == inner:
        return None
    which = "only dimension" if len(b) == 1 else "second-to-last dimension"
    return f"input's last dimension is {a[-1]} and other's {which} is {inner}; matmul needs them equal"


def broadcast_mismatch(shapes: list[tuple[int, ...]]) -> str | None:
    """Where shapes do not broadcast, in torch's rule's words: compared from the last dimension,
    the sizes must be equal or 1. None when they do broadcast."""
    for k in range(1, max(map(len, shapes), default=0) + 1):
        sizes = list(dict.fromkeys(s[-k] for s in shapes if len(s) >= k and s[-k] != 1))  # in input order
        if len(sizes) > 1:
            return (f"they do not broadcast: at dimension {-k} (counted from the last) the sizes are "
                    f"{' and '.join(map(str, sizes))}, and torch needs them equal or 1")
    return None


def check_one_dtype(graph: CheckedGraph, n: str, dtypes: dict[str, torch.dtype]) -> None:
    """Refuse an op that takes inputs of one dtype (OpSpec.one_dtype) fed two: torch refuses
    float32 @ float64 on a real device, but its meta device computes on. `dtypes`: its fed ports'."""
    node = graph.nodes[n]
    fed = [(port, graph.inputs[n][port], dtypes[port]) for port in node.ports if port in dtypes]
    other = next((f for f in fed if f[2] != fed[0][2]), None)
    if other is not None:
        (port, src, dtype), (port2, src2, dtype2) = fed[0], other
        raise ShapeError(f"{n}: {node.op} needs its inputs in one dtype, but {port} is {dtype_name(dtype)} "
                         f"(from {src}) and {port2} is {dtype_name(dtype2)} (from {src2}); torch converts neither",
                         [n, src, src2])


def check_fed_together(graph: CheckedGraph, n: str) -> None:
    """Refuse an op whose optional ports must be fed together (OpSpec.fed_together: batch_norm's
    running statistics) with some unfed, or all unfed while its attribute of that name is false.
    torch says "batch_norm() missing 1 required positional argument", or "… must be defined"."""
    node = graph.nodes[n]
    ports, unless = node.spec.fed_together
    fed = [p for p in ports if p in graph.inputs[n]]
    if fed and len(fed) < len(ports):
        missing = [p for p in ports if p not in fed]
        raise ShapeError(f"{n}: {node.op} has {' and '.join(fed)} fed but not {' and '.join(missing)}: "
                         f"feed {' and '.join(ports)} together, or neither", [n])
    if not fed and not node.resolved_attrs()[unless]:
        raise ShapeError(f"{n}: {node.op} with {unless} false normalises with {' and '.join(ports)}: feed "
                         f"them, or set {unless} to true", [n])


def check_no_grad_inputs(graph: CheckedGraph, n: str, requires_grad: set[str]) -> None:
    """Refuse a port torch cannot differentiate with respect to (OpSpec.no_grad_inputs:
    batch_norm's running statistics) fed by a tensor that requires grad: torch refuses the call
    on a real device, while the shape pass runs without grad."""
    node = graph.nodes[n]
    for port in node.spec.no_grad_inputs:
        src = graph.inputs[n].get(port)
        if src in requires_grad and port not in node.spec.input_dtypes:  # else a float index is what is wrong
            raise ShapeError(f"{n}: {node.op} takes no gradient through {port}, but {src} requires grad: "
                             "feed it a tensor with requires_grad off", [n, src])


@dataclass(frozen=True)
class Upstream:
    """What one target depends on, for saying why a node that requires grad gets no partial."""

    target: str
    nodes: frozenset[str]  # every node the target depends on, and the target
    through_grad: frozenset[str]  # those it depends on through nodes that require grad only
    # For each of the rest: the first node on its way to the target that does not require grad
    # (a comparison, an integer result); for such a node, itself.
    gate: dict[str, str]


def upstream(graph: CheckedGraph, order: list[str], requires_grad: set[str], target: str) -> Upstream:
    """One pass over the nodes, consumers before their inputs (`order` is topological)."""
    nodes, through_grad = {target}, {target} & requires_grad
    for n in reversed(order):
        if n in nodes:
            for src in graph.inputs[n].values():
                nodes.add(src)
                if n in through_grad and src in requires_grad:
                    through_grad.add(src)
    gate: dict[str, str] = {}
    for n in reversed(order):
        if n in nodes and n not in through_grad:
            # a node that requires grad has every consumer in nodes - through_grad: one in
            # through_grad would have put it there
            gate[n] = n if n not in requires_grad else next(gate[c] for c in graph.consumers[n] if c in nodes)
    return Upstream(target, frozenset(nodes), frozenset(through_grad), gate)


def backward_gate(graph: CheckedGraph, up: Upstream, node_id: str,
                  grads: Mapping[str, object]) -> tuple[str, str] | None:
    """(op, its input) on the way from node_id to the target where torch's backward stops: the
    first op, nearest node_id, whose own partial is there (`grads`: a run's, None where torch
    gave none) while that input's is None (vector_norm of ord 0). None when not found."""
    seen, todo = {node_id}, [node_id]
    while todo:
        n = todo.pop(0)
        for c in graph.consumers[n]:
            if c in up.through_grad and c not in seen:
                if grads.get(c) is not None:
                    return c, n
                seen.add(c)
                todo.append(c)
    return None


def no_partial_reason(graph: CheckedGraph, up: Upstream, node_id: str, name: Callable[[str], str] = str,
                      grads: Mapping[str, object] | None = None) -> str:
    """Why torch gives no ∂target/∂node to a node that requires grad: the target does not
    depend on it, or only through a node that gives no gradient, or torch's backward of an op
    on the way gives none for that input (vector_norm of ord 0: piecewise constant; that op
    named where `grads`, a run's partials, tell it). Nodes are named by `name`
    (Result.no_grad_reason)."""
    target = name(up.target)
    if node_id not in up.nodes:
        return f"{target} does not depend on it"
    if node_id not in up.through_grad:
        gate = up.gate[node_id]
        if gate == up.target:
            return f"{target} ({graph.nodes[gate].op}) gives no gradient"
        return f"{target} depends on it only through {name(gate)} ({graph.nodes[gate].op}), which gives no gradient"
    gate = backward_gate(graph, up, node_id, grads) if grads is not None else None
    if gate is not None:
        op, its_input = gate
        which = "it" if its_input == node_id else f"its input {name(its_input)}"
        return (f"torch's backward passes it no gradient on the way from {target}: the backward of {name(op)} "
                f"({graph.nodes[op].op}) gives {which} none (e.g. it is piecewise constant there)")
    return (f"torch's backward passes it no gradient on the way from {target}: an op between has none for "
            "that input (e.g. it is piecewise constant there)")
