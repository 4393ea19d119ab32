"""In-place changes in imported code (autograd_bridge.fx_import): a graph's tensors never change
once made, so an import follows the code only where an in-place op does not change what the code
reads later. Found with torch's version counters (shared by a tensor and its views), for both
ways of recording:

- a module's parameter or buffer changed in place (`self.count += 1`) is refused at once: a
  graph holds no state that changes from one call to the next (batch norm's own update of its
  running statistics aside: the graph computes its output, not the update); so is a buffer set
  to a new tensor (`self.count = self.count + 1`: buffers_of, put_back, which put it back);
- any other change (`y[0] = 0.0`, `y.clamp_(…)`, `y += 1`) is fine until the code reads a tensor
  that changed since it was recorded: that read is refused naming the line of the change, unless
  the tensor is a constant (it depends on no leaf, and neither did what was written into it):
  then the read takes its value as it is at that moment.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.nn.modules.batchnorm import _NormBase

from autograd_bridge.fx_lower import describe
from autograd_bridge.fx_script import ImportRefused

# Calls whose in-place change of their arguments the graph need not follow: batch norm updates
# its running statistics, which are not part of its output.
UPDATES_RUNNING_STATS = frozenset({F.batch_norm, F.instance_norm, torch.batch_norm, torch.instance_norm})
_SETITEM = (operator.setitem, "method:__setitem__")


def storage(t: torch.Tensor) -> int:
    """What a tensor shares with its views (and with nothing else)."""
    return t.untyped_storage()._cdata


def version(t: torch.Tensor) -> int:
    """t's version counter (an inference tensor has none: it cannot be changed in place)."""
    try:
        return t._version
    except RuntimeError:
        return 0


def versions(value: object) -> list[tuple[torch.Tensor, int]]:
    """Each tensor among a call's arguments with its version, taken before the call."""
    return [(t, version(t)) for t in tensors_in(value)]


def tensors_in(value: object) -> list[torch.Tensor]:
    """The tensors among a call's arguments (inside tuples, lists and dicts)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, tuple | list):
        return [t for v in value for t in tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in tensors_in(v)]
    return []


def buffers_of(root: object) -> list[tuple[torch.nn.Module, str, str, torch.Tensor]]:
    """Each buffer of a module as (the submodule holding it, its name there, its qualified name,
    the tensor), to find one the code replaced (put_back)."""
    if not isinstance(root, torch.nn.Module):
        return []
    return [(m, name, f"{path}.{name}" if path else name, t)
            for path, m in root.named_modules(remove_duplicate=False) for name, t in m._buffers.items()]


def put_back(buffers: list[tuple[torch.nn.Module, str, str, torch.Tensor]]) -> list[str]:
    """The buffers the code set to something else (`self.count = self.count + 1`, or a tracer's
    stand-in for that), each put back; their qualified names."""
    moved = []
    for m, name, qualified, t in buffers:
        if m._buffers.get(name) is not t:
            m._buffers[name] = t
            moved.append(qualified)
    return moved


@dataclass(frozen=True)
class _Change:
    where: str
    what: str  # "in-place item assignment (x[...] = ...)", "changing a tensor in place with the method .clamp_()"
    tainted: bool  # what the call wrote depends on the graph's leaves


class InPlace:
    """Version counters of recorded tensors, and the last in-place change of each storage."""

    def __init__(self, state: dict[int, str], norm_stats: dict[int, str] | None = None) -> None:
        self.state = state  # storage -> "the buffer count" / "the parameter l.weight"
        self.norm_stats = norm_stats or {}  # storage of a norm layer's running statistic -> the layer's path
        self.made: dict[object, int] = {}  # a recorded value (a slot) -> its tensor's version then
        self.changed: dict[int, _Change] = {}
        self.refused: ImportRefused | None = None  # kept: the code may catch it (except Exception)

    def _refuse(self, message: str) -> ImportRefused:
        self.refused = self.refused or ImportRefused(message)
        return self.refused

    @staticmethod
    def of_module(module: object) -> InPlace:
        named = [*module.named_parameters(), *module.named_buffers()] if isinstance(module, torch.nn.Module) else []
        params = {id(p) for p in module.parameters()} if named else set()
        norms = [(path, m) for path, m in module.named_modules() if isinstance(m, _NormBase)] if named else []
        return InPlace({storage(t): f"the {'parameter' if id(t) in params else 'buffer'} {name}"
                        for name, t in reversed(named)},
                       {storage(t): path for path, m in norms for t in m.buffers(recurse=False)})

    def recorded(self, slot: object, tensor: torch.Tensor) -> None:
        self.made[slot] = version(tensor)

    def after_call(self, key: object, before: list[tuple[torch.Tensor, int]], tainted: bool,
                   where: Callable[[], str], module: str | None = None) -> None:
        """After a call: note the arguments it changed in place (`before`: each tensor argument and
        its version before the call); a module's parameter or buffer changed is refused, but for a
        norm layer's own update of its running statistics (`module`: the path of the nn.Module
        whose forward made the call; a recorded run's `num_batches_tracked += 1`)."""
        changed = [t for t, was in before if version(t) != was and not self._own_stats(t, module)]
        if not changed or key in UPDATES_RUNNING_STATS:
            return
        here = where()
        for t in changed:
            state = self.state.get(storage(t))
            if state is not None:
                raise self._refuse(f"{here}: in-place update of {state} is not supported: a graph holds no "
                                   "state that changes from one call to the next")
        what = ("in-place item assignment (x[...] = ...)" if key in _SETITEM
                else f"changing a tensor in place with {describe(key)}")
        for t in changed:
            self.changed[storage(t)] = _Change(here, what, tainted)

    def _own_stats(self, t: torch.Tensor, module: str | None) -> bool:
        return module is not None and self.norm_stats.get(storage(t)) == module

    def read(self, slot: object, tensor: torch.Tensor, now: int, depends: bool, where: Callable[[], str]) -> object:
        """What a call reading `slot` (its tensor at version `now`) gets: the slot, while the tensor is
        as recorded; a copy of it as it is now, when it is a constant changed in place; else refused."""
        if self.made.get(slot, now) == now:
            return slot
        change = self.changed.get(storage(tensor))
        if not depends and (change is None or not change.tainted):
            return tensor.detach().clone()  # a constant built in place (a mask): its value now
        read_at = where() or "the returned value"
        if change is None:
            raise self._refuse(f"{read_at}: reads a tensor after an in-place op changed it: not supported")
        raise self._refuse(f"{change.where}: {change.what} is not supported: the code reads the tensor it "
                            f"changes afterwards ({read_at}), and a graph's tensors do not change once made; "
                            "compute a new tensor instead (torch.where, torch.cat, y = y + …)")
