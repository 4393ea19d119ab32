"""Accumulated .grad and optimiser steps on a compiled graph, as plain data. Qt-free.

The app's worker runs these as named tasks (gui/worker.py) on the kept compiled graph of
ComputeSession.compiled_for: no compile of their own.

- `GradAccumulator`: "Backward again" as PyTorch does it. Its own copies of the leaf tensors
  keep `.grad` between calls; each call runs a forward and `backward()`, which adds the new
  partials into every requires-grad leaf's `.grad`, until `zero()` sets them to None (what
  `x.grad = None` or `optimizer.zero_grad()` does). A new graph state, target or grad-output
  starts again from no `.grad`, except where the caller names a saved state it holds (`grads_from`).
- `Trainer`: SGD or Adam (torch.optim itself) on the requires-grad leaves for a scalar target.
  Its optimiser (Adam's moments, its step count) carries over from one call to the next while
  the leaves still hold exactly the values its last step made, so Step, Step, Step is three
  steps of one optimiser, as Run 3 is (a new lr is set on it, as a schedule does); an edit
  in between starts a fresh one. A step writes back only the leaves it moved.

Steps and .grad, as in torch: when backward() calls have added to .grad since the last step or
zero (`pending`), the first step is `optimizer.step()` alone, with that .grad; every other step
is the usual `optimizer.zero_grad(); loss.backward(); optimizer.step()`. So Run N after
Backward again is the gradient-accumulation loop. After the steps the leaves keep the .grad of
the last step, as torch keeps it: the accumulator saves that state and the one before the steps,
so that the state the steps' values are written at (and an undo or redo of them) goes on from it.

torch is imported on first use, never when this module loads.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from graph.errors import GraphError
from graph.model import Graph
from graph.safetext import visible

if TYPE_CHECKING:
    from autograd_bridge.cancel import CancelToken

OPTIMISERS = ("SGD", "Adam")
START_OVER = 0  # as grads_from: from no .grad, whatever is held (ids of saved states start at 1)
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
    pending: bool = False  # backward() added to .grad since the last step or zero: a step uses it
    saved_as: int | None = None  # the accumulator keeps this state under this id (grads_from)


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
    values: dict[str, object] = field(default_factory=dict)  # leaf -> new value, a literal_of (none: no step ran)
    stopped: str | None = None  # why it stopped early (cancelled, not finite), else None
    error: str | None = None
    error_nodes: tuple[str, ...] = ()
    cancelled: bool = False
    accumulated: AccumulatedGrads | None = None  # the .grad the first step used alone (no zero_grad first)
    grads_before: AccumulatedGrads | None = None  # .grad before the steps and after them, as saved
    grads_after: AccumulatedGrads | None = None  # by the accumulator (when a step was done)

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


@dataclass
class _Held:
    """Leaf tensors of our own with their .grad, for one (revision, device, dtype, target, grad-output)."""

    key: tuple
    compiled: object
    leaves: list
    calls: int = 0  # backward() calls since .grad was last None
    pending: bool = False  # some since the last step: the next step uses .grad as it is
    origin: int | None = None  # the saved state it went on from

    def copy(self) -> _Held:
        leaves = _own_copies(self.leaves)
        for new, old in zip(leaves, self.leaves, strict=True):
            new.grad = None if old.grad is None else old.grad.detach().clone()
        return replace(self, leaves=leaves)


class GradAccumulator:
    """Leaf .grad adding up across backward() calls (see the module doc). Used by one thread at
    a time (the worker's)."""

    def __init__(self) -> None:
        self._held: _Held | None = None
        self._saved: dict[int, _Held] = {}  # the last steps' states before and after them
        self._ids = itertools.count(1)

    @property
    def calls(self) -> int:
        return self._held.calls if self._held is not None else 0

    def hold(self, compiled: object, leaves: tuple, key: tuple, grads_from: int | None = None) -> _Held:
        """The .grad for `key` (revision, device, dtype, target, grad-output): the one held when
        it is for the same (and, with `grads_from`, came from that saved state); else the saved
        state `grads_from` when it is for the same but the revision and its leaves hold exactly
        these values (a step's values written, an undo or redo); else (or START_OVER) no .grad."""
        held = self._held
        if (held is not None and held.key == key and grads_from != START_OVER
                and grads_from in (None, held.origin)):
            return held
        saved = self._saved.get(grads_from) if grads_from is not None else None
        if saved is not None and saved.key[1:] == key[1:] and _same_leaves(saved.leaves, leaves):
            self._held = replace(saved.copy(), key=key, compiled=compiled, origin=grads_from)
        else:
            self._held = _Held(key, compiled, _own_copies(leaves))
        return self._held

    def backward(self, session: object, cancel: CancelToken | None, graph: Graph, revision: int,
                 device: str, dtype: str | None, target: str, grad_output: object = None,
                 grads_from: int | None = None) -> AccumulatedGrads:
        """One more forward and backward(); every requires-grad leaf's .grad afterwards."""
        from autograd_bridge.cancel import Cancelled

        out = AccumulatedGrads(revision, target, self.calls)
        try:
            if cancel is not None:
                cancel.check()
            compiled, leaves = session.compiled_for(graph, revision, device, dtype)
            if compiled is None or target not in compiled.graph.nodes:
                raise GraphError(f"{target} does not compute: fix its error first", [target])
            held = self.hold(compiled, leaves, (revision, device, dtype, target, repr(grad_output)), grads_from)
            values = compiled.forward(tuple(held.leaves))
            if not values[target].requires_grad:
                raise _depends_on_nothing(compiled, target, "backward() has no .grad to add to")
            compiled.partials(values, target, grad_output, accumulate=True)
            held.calls += 1
            held.pending = True
        except Cancelled:
            out.cancelled = True
            return out
        except GraphError as e:
            out.error, out.error_nodes = e.message, e.node_ids
            return out
        return _report(held, out)

    def zero(self, revision: int, target: str | None) -> AccumulatedGrads:
        """Every leaf's .grad = None: the next backward() starts from nothing."""
        held = self._held
        if held is None:
            return AccumulatedGrads(revision, target, 0)
        for t in held.leaves:
            t.grad = None
        held.calls, held.pending = 0, False
        return _report(held, AccumulatedGrads(revision, target, 0))

    def stepped(self, held: _Held, params: dict[str, object], calls: int) -> tuple[AccumulatedGrads, AccumulatedGrads]:
        """Save the state before a run of steps (`held`, untouched by it) and the one after it:
        the leaves `params` (by node id) with the .grad their last step left, `calls` backward()
        calls' worth. Only the last run's two are kept."""
        index = {n: i for i, n in enumerate(held.compiled.source.leaf_ids)}
        leaves = _own_copies(held.leaves)
        for n, p in params.items():
            leaves[index[n]] = t = p.detach().clone().requires_grad_(True)
            t.grad = None if p.grad is None else p.grad.detach().clone()
        before_id, after_id = next(self._ids), next(self._ids)
        self._saved = {before_id: held.copy(), after_id: _Held(held.key, held.compiled, leaves, calls)}
        revision, target = held.key[0], held.key[3]
        reports = []
        for state, saved_as in ((self._saved[before_id], before_id), (self._saved[after_id], after_id)):
            reports.append(_report(state, AccumulatedGrads(revision, target, 0, saved_as=saved_as)))
        return reports[0], reports[1]


def _same_leaves(mine: list, theirs: tuple) -> bool:
    import torch

    return len(mine) == len(theirs) and all(
        a.dtype == b.dtype and a.shape == b.shape and torch.equal(a.detach(), b.detach())
        for a, b in zip(mine, theirs, strict=True))


def _report(held: _Held, out: AccumulatedGrads) -> AccumulatedGrads:
    """`out` with the held leaves' .grad: texts and float64 copies."""
    from autograd_bridge.formatting import tensor_texts

    out.calls, out.pending = held.calls, held.pending
    ids = held.compiled.source.leaf_ids
    wanted = [(n, t.grad) for n, t in zip(ids, held.leaves, strict=True) if t.requires_grad]
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
              on_step: Callable[[int, float], None] | None = None, accumulator: GradAccumulator | None = None,
              grad_output: object = None, grads_from: int | None = None) -> StepsResult:
        """`count` steps: each a forward, target.backward(), optimizer.step(), except that the
        first is optimizer.step() alone when `accumulator` holds .grad that backward() calls
        added to since the last step (pending; `grad_output`, `grads_from`: what it holds them
        for, see GradAccumulator.hold); it then saves the .grad before and after the steps.
        Cancelling stops it between two steps (a step cut short is not applied); a target that is
        not finite stops it before stepping from there, and a step that would leave a leaf
        holding inf or nan is taken back and stops it. `on_step(i, target before step i)` after
        each step."""
        import torch

        from autograd_bridge.cancel import Cancelled
        from autograd_bridge.literals import literal_of

        out = StepsResult(revision, target, optimiser, lr, count)
        held = grads = None
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
            if accumulator is not None:
                held = accumulator.hold(compiled, leaves, (revision, device, dtype, target, repr(grad_output)),
                                        grads_from)
            grads = [held.leaves[index[n]].grad for n in wrt] if held is not None and held.pending else None
            for i in range(count):
                loss = self._one_step(compiled, tuple(inputs), target, stepped, opt, cancel, out,
                                      grads if i == 0 else None)
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
        if out.losses:  # the leaves the steps moved: torch.optim leaves one with no .grad alone
            out.values = {n: literal_of(p) for n, p in zip(wrt, params, strict=True)
                          if not torch.equal(p.detach(), leaves[index[n]])}
            if held is not None:
                if grads is not None:
                    out.accumulated = _report(held, AccumulatedGrads(revision, target, 0))
                calls = held.calls if grads is not None and out.done == 1 else 1  # .grad the last step used
                out.grads_before, out.grads_after = accumulator.stepped(held, stepped, calls)
        return out

    def _one_step(self, compiled: object, inputs: tuple, target: str, params: dict[str, object], opt: object,
                  cancel: CancelToken | None, out: StepsResult, grads: list | None = None) -> float | None:
        """The target before the step, or None when the run stops here (out.stopped says why).
        `params`: the requires-grad leaves stepped, by node id. `grads`: their .grad to step with
        (accumulated; no zero_grad() nor backward() first), else None: the usual step."""
        import math

        import torch

        from autograd_bridge.cancel import Cancelled

        kept = [p.grad for p in params.values()]  # .grad as it is, again if this step is not taken
        if grads is None:
            opt.zero_grad(set_to_none=True)
        else:
            for p, g in zip(params.values(), grads, strict=True):
                p.grad = None if g is None else g.detach().clone()
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
                _set_grads(params, kept)
                return None
            if grads is None:
                if cancel is not None:
                    cancel.watch_backward([values[n] for n in compiled.source.op_ids])
                t.backward()
        except Cancelled:
            _set_grads(params, kept)
            if not out.losses:
                raise
            out.stopped, out.cancelled = f"stopped after {len(out.losses)} of {out.asked} steps", True
            return None
        except GraphError:
            _set_grads(params, kept)
            raise
        before = [p.detach().clone() for p in params.values()]
        opt.step()
        finite = torch.stack([torch.isfinite(p).all() for p in params.values()]).tolist()  # one sync
        if not all(finite):
            # Kept: the steps before this one. Its optimiser state holds the step: never continued.
            with torch.no_grad():
                for p, old in zip(params.values(), before, strict=True):
                    p.copy_(old)
            _set_grads(params, kept)
            self._key = None
            bad = ", ".join(n for n, ok in zip(params, finite, strict=True) if not ok)
            out.stopped = (f"step {len(out.losses) + 1} would make {bad} hold inf or nan: "
                           "stopped before it")
            return None
        return loss

    def _continue_or_start(self, compiled: object, leaves: tuple, wrt: list[str], target: str,
                           optimiser: str, lr: float, device: str, dtype: str | None) -> tuple[list, object]:
        """The kept optimiser when nothing but its own steps changed the leaves, else a new one.
        A new lr is set on the kept one (its moments and step count go on), as
        `param_groups[0]["lr"] = lr` does in a training loop."""
        key = (tuple(compiled.source.leaf_ids), tuple(wrt), target, optimiser, device, dtype)
        if key == self._key and self._same_values(compiled, leaves, wrt):
            for group in self._optimiser.param_groups:
                group["lr"] = lr
            return self._params, self._optimiser
        index = {n: i for i, n in enumerate(compiled.source.leaf_ids)}
        params = [leaves[index[n]].detach().clone().requires_grad_(True) for n in wrt]
        self._key, self._params, self._optimiser = key, params, _optimiser(optimiser, params, lr)
        return params, self._optimiser

    def _same_values(self, compiled: object, leaves: tuple, wrt: list[str]) -> bool:
        index = {n: i for i, n in enumerate(compiled.source.leaf_ids)}
        return _same_leaves(self._params or [], tuple(leaves[index[n]] for n in wrt))


def torch_words(result: StepsResult, name: Callable[[str], str]) -> tuple[str, str]:
    """What a run of steps ran, as torch code, and what .grad holds after it; `name(node id)`:
    the node as the screen names it."""
    target = name(result.target)
    loop = f"zero_grad(); {target}.backward(); step()"
    kept = f".grad holds the last {target}.backward()'s, as torch keeps it (the next Step zeroes it first)"
    acc = result.accumulated
    if acc is None:
        return (loop if result.done == 1 else f"{result.done} × ({loop})"), kept
    over = f"accumulated over {acc.calls} backward()"
    if len(acc.texts) == 1:
        ((leaf, text),) = acc.texts.items()
        used = f"{name(leaf)}.grad ({visible(text)}, {over})"
        ran = (f"step(): {name(leaf)} -= {result.lr:.6g} × {used}" if result.optimiser == "SGD"
               else f"step() with {used}")
    else:
        ran = f"step() with each leaf's .grad ({over})"
    if result.done > 1:
        return f"{ran}, then {result.done - 1} × ({loop})", kept
    return ran, ".grad kept, as torch keeps it (Backward again adds to it; the next Step zeroes it first)"


# ---- the worker's tasks: module-level (they may be sent to the compute process by name) ----
# The accumulator and the trainer live in the worker's session, next to the compiled graph.


def _set_grads(params: dict[str, object], grads: list) -> None:
    for p, g in zip(params.values(), grads, strict=True):
        p.grad = g


def _kept(session: object, kind: type) -> object:
    kept = session.kept.get(kind.__name__)
    if kept is None:
        kept = session.kept[kind.__name__] = kind()
    return kept


def backward_task(session: object, cancel: CancelToken | None, graph: Graph, revision: int, device: str,
                  dtype: str | None, target: str, grad_output: object = None,
                  grads_from: int | None = None) -> AccumulatedGrads:
    """GradAccumulator.backward with the session's accumulator."""
    return _kept(session, GradAccumulator).backward(session, cancel, graph, revision, device, dtype, target,
                                                    grad_output, grads_from)


def zero_task(session: object, _cancel: CancelToken | None, revision: int, target: str | None) -> AccumulatedGrads:
    """GradAccumulator.zero with the session's accumulator."""
    return _kept(session, GradAccumulator).zero(revision, target)


def steps_task(session: object, cancel: CancelToken | None, graph: Graph, revision: int, device: str,
               dtype: str | None, target: str, optimiser: str, lr: float, count: int, grad_output: object = None,
               grads_from: int | None = None) -> StepsResult:
    """Trainer.steps with the session's trainer and accumulator (its .grad: a first step with
    it when pending); each step's target is reported as session.report((step index, target
    before the step))."""
    return _kept(session, Trainer).steps(session, cancel, graph, revision, device, dtype, target, optimiser, lr,
                                         count, on_step=lambda i, loss: session.report((i, loss)),
                                         accumulator=_kept(session, GradAccumulator), grad_output=grad_output,
                                         grads_from=grads_from)
