"""Whether every value and partial of a run is finite, at a few percent of the run's cost.

Each run checks every tensor it hands out, so that a NaN or Inf is named on the node where it
first appears even when a later op (a select, a tanh) drops it. The check is one sum per
tensor, batched: a sum is finite only if every entry is (NaN and Inf propagate). A sum that
overflows is a false alarm that only sends the caller to its exact per-node scan.

How each tensor is summed is planned once per list layout (shapes and dtypes do not change
between runs of one compiled graph):

- a CPU tensor of at most TINY elements is read as Python floats (no kernel at all);
- tensors of the same dtype and shape (and device: the caller's are on one), each under BIG
  elements, are stacked (one copy of small data) and summed once;
- a tensor of BIG elements or more is summed alone, in its own dtype, without a copy: by
  numpy on the CPU (one thread), by one fused kernel for all of them on a GPU (2-norms).

The partial sums then meet in one last kernel and one read back. On a GPU that read (a sync) is
left to whoever asks (finite_verdict): a run queues the check's kernels and waits for none.

Which tensors need reading at all is worked out once per compiled graph and target
(known_finite): what the rest prove finite is left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from graph.model import Graph
    from graph.ops import OpSpec

TINY = 16  # CPU tensors with at most this many elements: tolist() costs less than a kernel
BIG = 1 << 14  # from this many elements a tensor is summed alone: a copy would cost more
_NUMPY_DTYPES = (torch.float32, torch.float64)
_item, _tolist, _flat = torch.Tensor.item, torch.Tensor.tolist, chain.from_iterable
CHUNK = (1 << 15) - 1  # under torch's grain size: such copies and sums run on the calling thread


def _flat_sum(x: object, ndim: int) -> float:
    """The sum of a tensor's tolist() of the given rank."""
    if ndim == 1:
        return sum(x)
    return sum(_flat_sum(row, ndim - 1) for row in x)


class FinitePlan:
    """How to sum one layout of tensors in few kernels. None entries, and those at the indices
    in `skip` (tensors known to be finite), are left out."""

    def __init__(self, tensors: list[torch.Tensor | None], skip: frozenset[int] = frozenset()) -> None:
        self.count = len(tensors)
        self.skip = skip
        first = next((t for t in tensors if t is not None), None)
        # On a GPU one fused kernel reads every large tensor (torch's foreach norm), ~35%
        # faster than a sum each; on the CPU foreach ops are a loop of slower kernels.
        self.fused = first is not None and first.device.type != "cpu" and hasattr(torch, "_foreach_norm")
        self.nones = [i for i, t in enumerate(tensors) if t is None and i not in skip]
        self.ones: list[int] = []  # one element: item()
        self.vectors: list[int] = []  # a few elements, rank 1: tolist()
        self.matrices: list[int] = []  # a few elements, rank 2
        self.tiny: list[tuple[int, int]] = []  # (index, rank): a few elements, any other rank
        self.alone: list[int] = []
        groups: dict[tuple, list[int]] = {}
        for i, t in enumerate(tensors):
            if t is None or i in skip or not t.is_floating_point():  # ints and bools are finite
                continue
            n = t.numel()
            if n <= TINY and t.device.type == "cpu":
                if n == 1:
                    self.ones.append(i)
                elif t.dim() == 1:
                    self.vectors.append(i)
                elif t.dim() == 2:
                    self.matrices.append(i)
                else:
                    self.tiny.append((i, t.dim()))
            elif n >= BIG or not t.is_contiguous():  # one strided input slows a whole stack
                self.alone.append(i)
            else:
                groups.setdefault((t.dtype, t.shape), []).append(i)  # one device: one compiled graph's
        # Stacks of at most CHUNK elements: torch copies those on one thread, without waking
        # its pool (which, on a busy machine, can wait a scheduler tick).
        self.groups: list[list[int]] = []
        for g in groups.values():
            step = max(1, CHUNK // max(1, tensors[g[0]].numel()))  # 0 elements: off the CPU
            for k in range(0, len(g), step):
                chunk = g[k:k + step]
                if len(chunk) > 1:
                    self.groups.append(chunk)
                else:
                    self.alone += chunk

    def fits(self, tensors: list[torch.Tensor | None]) -> bool:
        # With the same length, None where it was, and every planned index a tensor (else the
        # sums below raise), the planned indices are exactly the tensors: none is left out.
        # (No list.count(None): it would call Tensor.__eq__ on every tensor.)
        return len(tensors) == self.count and (not self.nones or all(tensors[i] is None for i in self.nones))

    def total(self, tensors: list[torch.Tensor | None]) -> float:
        host, device = self.parts(tensors)
        return host if device is None else host + device.item()

    def parts(self, tensors: list[torch.Tensor | None]) -> tuple[float, torch.Tensor | None]:
        """The sum, as (what was summed on the host, the rest as a 0-dim tensor on a GPU, not
        read yet: reading it waits for every kernel queued before it; None when there is none)."""
        # The small ones' floats, iterated in C (map, chain): no Python loop.
        get = tensors.__getitem__
        total = sum(map(_item, map(get, self.ones))) if self.ones else 0.0
        if self.vectors:
            total += sum(_flat(map(_tolist, map(get, self.vectors))))
        if self.matrices:
            total += sum(_flat(_flat(map(_tolist, map(get, self.matrices)))))
        for i, ndim in self.tiny:
            total += _flat_sum(tensors[i].tolist(), ndim)
        if self.alone or self.groups:
            with torch.no_grad():
                alone = [tensors[i] for i in self.alone]
                if self.fused:  # a 2-norm whose squares overflow is one more false alarm
                    sums = list(torch._foreach_norm(alone)) if alone else []
                else:
                    sums = []
                    for t in alone:
                        if t.device.type == "cpu" and t.dtype in _NUMPY_DTYPES:
                            # numpy sums on the calling thread: a torch sum this large runs on
                            # its thread pool, whose wake-up costs a scheduler tick (4 ms) when
                            # the other cores are busy (measured: 8 ms against 0.13 ms for 1M).
                            total += float(np.add.reduce(t.detach().numpy(), axis=None))
                        else:
                            sums.append(t.sum())
                sums += [torch.stack([tensors[i] for i in g]).sum() for g in self.groups]
                # One device (a compiled graph runs on one); stack promotes mixed dtypes.
                if sums:
                    rest = sums[0] if len(sums) == 1 else torch.stack(sums).sum()
                    if rest.device.type != "cpu":
                        return total, rest
                    total += rest.item()
        return total, None


def all_finite(tensors: list[torch.Tensor | None], plans: dict[object, FinitePlan], key: object,
               skip: frozenset[int] = frozenset()) -> bool:
    """Whether every entry of every tensor is finite (None, and the indices in `skip`, left
    out); False may be a false alarm (a sum that overflowed). `plans` keeps a plan per key
    (a target: which partials are None differs)."""
    verdict = finite_verdict(tensors, plans, key, skip)
    return verdict if isinstance(verdict, bool) else math.isfinite(verdict.item())


def finite_verdict(tensors: list[torch.Tensor | None], plans: dict[object, FinitePlan], key: object,
                   skip: frozenset[int] = frozenset()) -> bool | torch.Tensor:
    """all_finite's answer, except where the tensors are on a GPU: there a 0-dim tensor, finite
    exactly when all_finite would say True, left unread, so that the run waits for no kernel
    (engine.Result reads it when asked)."""
    plan = plans.get(key)
    if plan is None or plan.skip is not skip or not plan.fits(tensors):
        plan = plans[key] = FinitePlan(tensors, skip)
    try:
        host, device = plan.parts(tensors)
    except (AttributeError, TypeError, RuntimeError):  # the layout changed: plan it again
        plan = plans[key] = FinitePlan(tensors, skip)
        host, device = plan.parts(tensors)
    if device is None or not math.isfinite(host):
        return math.isfinite(host)
    return device


def known_finite(graph: Graph, ids: list[str], wrt: list[str], finite_leaves: set[str], target: str,
                 accumulate: bool, tensors: Sequence[torch.Tensor | None]) -> frozenset[int]:
    """Indices, in `tensors` ([*values of ids, *partials of wrt]), of tensors finite whenever the
    ones left to read are, so the check need not read them; what it reads is the least it can.

    Finite whatever the run holds:
    - the values of `finite_leaves` (checked literals, inits that make only finite values);
    - values of ops that keep finite inputs finite (OpSpec.keeps_finite): by induction over
      the order, once every other value is known finite;
    - the target's own partial: the seed, 1 or the grad-output (checked finite numbers within
      its dtype's range), unless runs accumulate it into a leaf's .grad.
    Finite when another tensor is ("x finite => y finite", each on its own):
    - a value on a port that reveals NaN/Inf (OpSpec.reveals_nonfinite), from its consumer's
      value (not a keeps_finite op's: that one is known from its inputs);
    - the partial of a node whose one consumer, fed by it once, is a keeps_finite op or bounds
      its inputs' partials (OpSpec.partial_bound), from that consumer's partial;
    - an op's partial, from the partial of an input on a port whose partial reveals the op's
      (OpSpec.partial_reveals): autograd adds every consumer's share, and a sum keeps NaN/Inf.
    Leaves' .grad, which accumulating runs add up, is left out of both.
    Of each strongly connected component of those implications that nothing known or read
    reaches, the smallest tensor is read; everything reachable from what is read or known is
    left out.
    """
    nodes, inputs, consumers = graph.nodes, graph.inputs, graph.consumers
    count = len(ids)
    value_at = {n: i for i, n in enumerate(ids)}
    partial_at = {n: count + j for j, n in enumerate(wrt[:len(tensors) - count])  # none: no backward ran
                  if tensors[count + j] is not None and not (accumulate and nodes[n].is_tensor)}
    values = dict(zip(ids, tensors, strict=False))

    def readable(i: int) -> bool:
        t = tensors[i]
        return t is not None and t.is_floating_point()

    def nothing_empty(c: str) -> bool:
        # Then every entry of each input takes part in c, and c's partial reaches every entry
        # of theirs. Not so when c or an input is empty: a sum over nothing, a loss broadcast
        # to nothing, prove nothing.
        return values[c].numel() > 0 and all(values[s].numel() > 0 for s in inputs[c].values())

    known = {value_at[n] for n in finite_leaves if n in value_at}
    known |= {value_at[n] for n in ids if not nodes[n].is_tensor and nodes[n].spec.keeps_finite}
    if target in partial_at:
        known.add(partial_at[target])
    implies: dict[int, list[int]] = {}
    for c in ids:
        if nodes[c].is_tensor:
            continue
        spec, fed = nodes[c].spec, inputs[c]
        if not nothing_empty(c):
            continue
        if not spec.keeps_finite:  # a keeps_finite value is known from its inputs: proving them from it is circular
            for port in spec.reveals_nonfinite:
                if (n := fed.get(port)) is not None:
                    implies.setdefault(value_at[c], []).append(value_at[n])
        for port in spec.partial_reveals if c in partial_at else ():
            if (n := fed.get(port)) in partial_at:
                implies.setdefault(partial_at[n], []).append(partial_at[c])
    for n, at in partial_at.items():
        if len(consumers[n]) != 1 or (c := consumers[n][0]) not in partial_at:
            continue
        # Fed once: x + x has two edges, and its partial is a sum.
        if _bounds_partial(nodes[c].spec, n, c, values) and list(inputs[c].values()).count(n) == 1:
            implies.setdefault(partial_at[c], []).append(at)
    candidates = [i for i in range(len(tensors)) if readable(i) and i not in known]
    reached, read = _closure(known, implies), set()
    # Components come before those they reach: one still unreached at its turn is reached by
    # nothing read or known, so one of its tensors must be read.
    for component in _components([i for i in candidates if i not in reached], implies):
        if component[0] not in reached:  # a component is reached whole or not at all
            cheapest = min(component, key=lambda i: tensors[i].numel())
            read.add(cheapest)
            reached |= _closure({cheapest}, implies)
    return frozenset(reached - read)


def _bounds_partial(spec: OpSpec, n: str, c: str, values: dict[str, torch.Tensor]) -> bool:
    """Whether op c (spec) makes n's partial at most its own, entry by entry."""
    if values[n].dtype != values[c].dtype:  # a float64 partial cast to float32 can overflow
        return False
    return spec.keeps_finite or spec.partial_bound == "always" or (
        spec.partial_bound == "same shape" and values[n].shape == values[c].shape)


def _closure(start: set[int], implies: dict[int, list[int]]) -> set[int]:
    seen, todo = set(start), list(start)
    while todo:
        for j in implies.get(todo.pop(), ()):
            if j not in seen:
                seen.add(j)
                todo.append(j)
    return seen


def _components(members: list[int], implies: dict[int, list[int]]) -> list[list[int]]:
    """The strongly connected components of `members` under `implies`, each before those it
    reaches (Kosaraju: finish order, then the reversed edges)."""
    inside = set(members)
    finished: list[int] = []
    seen: set[int] = set()
    for start in members:
        if start in seen:
            continue
        seen.add(start)
        stack = [(start, iter(implies.get(start, ())))]
        while stack:
            v, edges = stack[-1]
            for w in edges:
                if w in inside and w not in seen:
                    seen.add(w)
                    stack.append((w, iter(implies.get(w, ()))))
                    break
            else:
                stack.pop()
                finished.append(v)
    implied_by: dict[int, list[int]] = {}
    for v in members:
        for w in implies.get(v, ()):
            if w in inside:
                implied_by.setdefault(w, []).append(v)
    components, placed = [], set()
    for start in reversed(finished):
        if start in placed:
            continue
        placed.add(start)
        component, todo = [start], [start]
        while todo:
            for w in implied_by.get(todo.pop(), ()):
                if w not in placed:
                    placed.add(w)
                    component.append(w)
                    todo.append(w)
        components.append(component)
    return components
