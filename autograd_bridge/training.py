"""Accumulated .grad and optimiser steps on a compiled graph, as plain data. Qt-free.

The app's worker runs these as named tasks (gui/worker.py) on the kept compiled graph of
ComputeSession.compiled_for: no compile of their own.

- `GradAccumulator`: "Backward again" as PyTorch does it. Its own copies of the leaf tensors
  keep `.grad` between calls; each call runs a forward and `backward()`, which adds the new
  partials into every requires-grad leaf's `.grad`, until `zero()` sets them to None (what
  `x.grad = None` or `optimizer.zero_grad()` does). A new graph state, target or grad-output
  starts again from no `.grad`.
- `Trainer`: SGD or Adam (torch.optim itself) on the requires-grad leaves for a scalar target.
  Its optimiser (Adam's moments, its step count) carries over from one call to the next while
  the leaves still hold exactly the values its last step made, so Step, Step, Step is three
  steps of one optimiser, as Run 3 is; an edit in between starts a fresh one.

torch is imported on first use, never when this module loads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from graph.errors import GraphError
from graph.model import Graph

if TYPE_CHECKING:
    from autograd_bridge.cancel import CancelToken

OPTIMISERS = ("SGD", "Adam")
WHY_ACCUMULATE = ("x.grad accumulates: each backward() adds its partials to what is there, "
                  "until x.grad is set to None or zeroed (optimizer.zero_grad()).")


@dataclass
class AccumulatedGrads:
    """Every requires-grad leaf's .grad after `calls` backward() calls since it was last zeroed."""

    revision: int
    target: str | None
    calls: int
    texts: dict[str, str] = field(default_factory=dict)  # leaf -> its .grad as short text
    arrays: dict[str, np.ndarray | None] = field(default_factory=dict)  # float64 copies
    error: str | None = None
    error_nodes: tuple[str, ...] = ()
    cancelled: bool = False


@dataclass
class StepsResult:
    """What `Trainer.steps` did: the target before each step and the leaves' values after the
    last one, as literals (numbers or nested lists) of the leaf's shape."""

    revision: int
    target: str
    optimiser: str
    lr: float
    asked: int
    losses: list[float] = field(default_factory=list)  # the target's value each step started from
    values: dict[str, object] = field(default_factory=dict)  # leaf -> new value (nothing when no step ran)
    stopped: str | None = None  # why it stopped early (cancelled, not finite), else None
    error: str | None = None
    error_nodes: tuple[str, ...] = ()
    cancelled: bool = False

    @property
    def done(self) -> int:
        return len(self.losses) if self.values else 0


def _requires_grad_leaves(compiled: object) -> list[str]:
    return [n for n in compiled.source.leaf_ids if n in compiled.source.requires_grad]


def _depends_on_nothing(compiled: object, target: str, so: str) -> GraphError:
    """The target depends on no requires-grad leaf: PyTorch's backward() refuses it ('element 0
    of tensors does not require grad')."""
    return GraphError(f"{compiled.graph.nodes[target].title} does not depend on any tensor that requires grad: "
                      f"{so}", [target])


def _own_copies(leaves: tuple) -> list:
    """Leaf tensors of our own: the session's are shared with its computes."""
    return [t.detach().clone().requires_grad_(t.requires_grad) for t in leaves]


class GradAccumulator:
    """Leaf .grad adding up across backward() calls (see the module doc). Used by one thread at
    a time (the worker's)."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._leaves: list | None = None
        self._compiled = None
        self.calls = 0

    def backward(self, session: object, cancel: CancelToken | None, graph: Graph, revision: int,
                 device: str, dtype: str | None, target: str, grad_output: object = None) -> AccumulatedGrads:
        """One more forward and backward(); every requires-grad leaf's .grad afterwards."""
        from autograd_bridge.cancel import Cancelled

        out = AccumulatedGrads(revision, target, self.calls)
        try:
            if cancel is not None:
                cancel.check()
            compiled, leaves = session.compiled_for(graph, revision, device, dtype)
            if compiled is None or target not in compiled.graph.nodes:
                raise GraphError(f"{target} does not compute: fix its error first", [target])
            key = (revision, device, dtype, target, repr(grad_output))
            if key != self._key:  # another graph state, target or grad-output: start from no .grad
                self._key, self._compiled, self._leaves, self.calls = key, compiled, _own_copies(leaves), 0
            values = compiled.forward(tuple(self._leaves))
            if not values[target].requires_grad:
                raise _depends_on_nothing(compiled, target, "backward() has no .grad to add to")
            compiled.partials(values, target, grad_output, accumulate=True)
            self.calls += 1
        except Cancelled:
            out.cancelled = True
            return out
        except GraphError as e:
            out.error, out.error_nodes = e.message, e.node_ids
            return out
        return self._report(out)

    def zero(self, revision: int, target: str | None) -> AccumulatedGrads:
        """Every leaf's .grad = None: the next backward() starts from nothing."""
        for t in self._leaves or ():
            t.grad = None
        self.calls = 0
        return self._report(AccumulatedGrads(revision, target, 0))

    def _report(self, out: AccumulatedGrads) -> AccumulatedGrads:
        from autograd_bridge.formatting import tensor_texts

        out.calls = self.calls
        if self._compiled is None:
            return out
        ids = self._compiled.source.leaf_ids
        wanted = [(n, t.grad) for n, t in zip(ids, self._leaves, strict=True) if t.requires_grad]
        texts = tensor_texts([g for _n, g in wanted], "None")
        for (n, g), text in zip(wanted, texts, strict=True):
            out.texts[n] = text
            out.arrays[n] = None if g is None else g.detach().cpu().double().numpy().copy()
        return out


def _optimiser(kind: str, params: list, lr: float) -> object:
    import torch

    if kind == "SGD":
        return torch.optim.SGD(params, lr=lr)
    if kind == "Adam":
        return torch.optim.Adam(params, lr=lr)
    raise GraphError(f"unknown optimiser {kind!r}: use {' or '.join(OPTIMISERS)}")


class Trainer:
    """Optimiser steps on the requires-grad leaves (see the module doc). One thread at a time."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._params: list | None = None
        self._optimiser = None

    def steps(self, session: object, cancel: CancelToken | None, graph: Graph, revision: int,
              device: str, dtype: str | None, target: str, optimiser: str, lr: float, count: int,
              on_step: Callable[[int, float], None] | None = None) -> StepsResult:
        """`count` steps: each a forward, target.backward(), optimizer.step(). Cancelling stops
        it between two steps (a step cut short is not applied); a target that is not finite
        stops it before stepping from there, and a step that would leave a leaf holding inf or
        nan is taken back and stops it. `on_step(i, target before step i)` after each step."""
        from autograd_bridge.cancel import Cancelled

        out = StepsResult(revision, target, optimiser, lr, count)
        try:
            compiled, leaves = session.compiled_for(graph, revision, device, dtype)
            if compiled is None or target not in compiled.graph.nodes:
                raise GraphError(f"{target} does not compute: fix its error first", [target])
            wrt = _requires_grad_leaves(compiled)
            if not wrt:
                raise GraphError("no leaf has requires_grad on: nothing to step", [target])
            params, opt = self._continue_or_start(compiled, leaves, wrt, target, optimiser, lr, device, dtype)
            index = {n: i for i, n in enumerate(compiled.source.leaf_ids)}
            inputs = list(leaves)
            for n, p in zip(wrt, params, strict=True):
                inputs[index[n]] = p
            stepped = dict(zip(wrt, params, strict=True))
            for i in range(count):
                loss = self._one_step(compiled, tuple(inputs), target, stepped, opt, cancel, out)
                if loss is None:
                    break
                out.losses.append(loss)
                if on_step is not None:
                    on_step(i, loss)
        except Cancelled:  # before the first step: nothing to write
            out.cancelled = True
        except GraphError as e:
            out.error, out.error_nodes = e.message, e.node_ids
            return out
        if out.losses:
            out.values = {n: p.detach().cpu().tolist() for n, p in zip(wrt, params, strict=True)}
        return out

    def _one_step(self, compiled: object, inputs: tuple, target: str, params: dict[str, object], opt: object,
                  cancel: CancelToken | None, out: StepsResult) -> float | None:
        """The target before the step, or None when the run stops here (out.stopped says why).
        `params`: the requires-grad leaves stepped, by node id."""
        import math

        import torch

        from autograd_bridge.cancel import Cancelled

        opt.zero_grad(set_to_none=True)
        try:
            if cancel is not None:
                cancel.check()
                with cancel.watching_forward():
                    values = compiled.forward(inputs)
            else:
                values = compiled.forward(inputs)
            t = values[target]
            if t.numel() != 1:
                raise GraphError(f"target {target} has shape {list(t.shape)}: steps need a scalar target "
                                 "(reduce it, e.g. with sum or mean)", [target])
            if not t.requires_grad:
                raise _depends_on_nothing(compiled, target, "nothing to train")
            loss = float(t.item())
            if not math.isfinite(loss):
                out.stopped = f"{target} is {loss} before step {len(out.losses) + 1}: stopped there"
                return None
            if cancel is not None:
                cancel.watch_backward([values[n] for n in compiled.source.op_ids])
            t.backward()
        except Cancelled:
            if not out.losses:
                raise
            out.stopped, out.cancelled = f"stopped after {len(out.losses)} of {out.asked} steps", True
            return None
        before = [p.detach().clone() for p in params.values()]
        opt.step()
        finite = torch.stack([torch.isfinite(p).all() for p in params.values()]).tolist()  # one sync
        if not all(finite):
            # Kept: the steps before this one. Its optimiser state holds the step: never continued.
            with torch.no_grad():
                for p, old in zip(params.values(), before, strict=True):
                    p.copy_(old)
            self._key = None
            bad = ", ".join(n for n, ok in zip(params, finite, strict=True) if not ok)
            out.stopped = (f"step {len(out.losses) + 1} would make {bad} hold inf or nan: "
                           "stopped before it")
            return None
        return loss

    def _continue_or_start(self, compiled: object, leaves: tuple, wrt: list[str], target: str,
                           optimiser: str, lr: float, device: str, dtype: str | None) -> tuple[list, object]:
        """The kept optimiser when nothing but its own steps changed the leaves, else a new one."""
        key = (tuple(compiled.source.leaf_ids), tuple(wrt), target, optimiser, lr, device, dtype)
        if key == self._key and self._same_values(compiled, leaves, wrt):
            return self._params, self._optimiser
        index = {n: i for i, n in enumerate(compiled.source.leaf_ids)}
        params = [leaves[index[n]].detach().clone().requires_grad_(True) for n in wrt]
        self._key, self._params, self._optimiser = key, params, _optimiser(optimiser, params, lr)
        return params, self._optimiser

    def _same_values(self, compiled: object, leaves: tuple, wrt: list[str]) -> bool:
        import torch

        index = {n: i for i, n in enumerate(compiled.source.leaf_ids)}
        return all(torch.equal(leaves[index[n]].detach(), p.detach())
                   for n, p in zip(wrt, self._params or (), strict=True))


# ---- the worker's tasks: module-level (they may be sent to the compute process by name) ----
# The accumulator and the trainer live in the worker's session, next to the compiled graph.


def _kept(session: object, kind: type) -> object:
    kept = session.kept.get(kind.__name__)
    if kept is None:
        kept = session.kept[kind.__name__] = kind()
    return kept


def backward_task(session: object, cancel: CancelToken | None, graph: Graph, revision: int, device: str,
                  dtype: str | None, target: str, grad_output: object = None) -> AccumulatedGrads:
    """GradAccumulator.backward with the session's accumulator."""
    return _kept(session, GradAccumulator).backward(session, cancel, graph, revision, device, dtype, target,
                                                    grad_output)


def zero_task(session: object, _cancel: CancelToken | None, revision: int, target: str | None) -> AccumulatedGrads:
    """GradAccumulator.zero with the session's accumulator."""
    return _kept(session, GradAccumulator).zero(revision, target)


def steps_task(session: object, cancel: CancelToken | None, graph: Graph, revision: int, device: str,
               dtype: str | None, target: str, optimiser: str, lr: float, count: int) -> StepsResult:
    """Trainer.steps with the session's trainer; each step's target is reported as
    session.report((step index, target before the step))."""
    return _kept(session, Trainer).steps(session, cancel, graph, revision, device, dtype, target, optimiser, lr,
                                         count, on_step=lambda i, loss: session.report((i, loss)))
