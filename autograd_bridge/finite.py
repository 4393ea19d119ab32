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

The partial sums then meet in one last kernel and one read back (one sync on a GPU).
"""

from __future__ import annotations

import math
from itertools import chain

import numpy as np
import torch

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
                    total += (sums[0] if len(sums) == 1 else torch.stack(sums).sum()).item()
        return total


def all_finite(tensors: list[torch.Tensor | None], plans: dict[object, FinitePlan], key: object,
               skip: frozenset[int] = frozenset()) -> bool:
    """Whether every entry of every tensor is finite (None, and the indices in `skip`, left
    out); False may be a false alarm (a sum that overflowed). `plans` keeps a plan per key
    (a target: which partials are None differs)."""
    plan = plans.get(key)
    if plan is None or plan.skip is not skip or not plan.fits(tensors):
        plan = plans[key] = FinitePlan(tensors, skip)
    try:
        return math.isfinite(plan.total(tensors))
    except (AttributeError, TypeError, RuntimeError):  # the layout changed: plan it again
        plan = plans[key] = FinitePlan(tensors, skip)
        return math.isfinite(plan.total(tensors))
