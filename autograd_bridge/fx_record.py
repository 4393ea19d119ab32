"""What an import records of the code (autograd_bridge.fx_import): the tensors that become leaves
and the calls made on them (Leaf, Call, in a Recording, each found again by its Slot), and one of
the two ways to see them: one real call of the code on the example inputs under a torch function
mode (record_run), every torch call it makes recorded, loops unrolled. The other, torch.fx's
symbolic tracing, is fx_import's.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from autograd_bridge.fx_inplace import InPlace, buffers_of, put_back, version, versions
from autograd_bridge.fx_lower import ImportRefused, Ref, Unlowered
from autograd_bridge.fx_user import user_code, where_now

# The imported graph's seed (Graph.seed): the code runs after torch.manual_seed(IMPORT_SEED), so
# random ops (dropout) draw in it what they draw in the graph, ran in the same order.
IMPORT_SEED = 0
# Tensor methods that read values into Python: control flow on them specialises the graph.
READS = {"__bool__", "item", "tolist", "__int__", "__float__", "__index__", "__len__", "__iter__"}
GRAD_HOOKS = {"method:register_hook", "method:register_post_accumulate_grad_hook"}


@dataclass(frozen=True)
class Slot:
    """A value recorded earlier: item `index`, or element `part` of the tuple it returned."""

    index: int
    part: int | None = None


@dataclass
class Leaf:
    name: str
    tensor: torch.Tensor
    requires_grad: bool
    what: str = ""  # how messages name it: "the argument x", "a tensor constant" (default: its name)
    where: str = ""  # the line that reads it, for a tensor the code made (fx's tensor constants)


@dataclass
class Call:
    key: object  # a torch function, "method:NAME", or an nn.Module class (args start module, path)
    args: tuple
    kwargs: dict
    out: object  # what the real call returned
    where: str
    name: str
    # The nn.Module calls it ran in, outermost first, as fx keys them ("layer1", "layer1.0"; "a@1"
    # for a's second call); () at the top.
    module: tuple[str, ...] = ()
    no_grad: bool = False  # made with autograd off (torch.no_grad()): a constant, as detach() makes it
    inference: bool = False  # made under torch.inference_mode(): torch's backward() cannot use it


@dataclass
class Recording:
    inplace: InPlace  # in-place changes the code makes (fx_inplace)
    items: list[Leaf | Call] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)  # where the code read tensor values
    hooks: list[str] = field(default_factory=list)  # where the code hooked a tensor's gradient
    depends: set[int] = field(default_factory=set)  # the items that depend on a leaf

    def add(self, item: Leaf | Call) -> Slot:
        if isinstance(item, Leaf) or holds_state(item.args) or self.tainted((item.args, item.kwargs)):
            self.depends.add(len(self.items))
        elif isinstance(item, Call):  # a constant: kept as it is now, should the code change it later
            item.out = map_values(item.out, lambda v: v.detach().clone() if isinstance(v, torch.Tensor) else v)
        self.items.append(item)
        slot = Slot(len(self.items) - 1)
        if isinstance(item, Leaf):
            self.inplace.recorded(slot, item.tensor)
        return slot

    def read(self, slot: object, tensor: object, now: int, where) -> object:  # noqa: ANN001 - where: () -> str
        """A recorded value as a call reads it (fx_inplace.InPlace.read)."""
        if not isinstance(slot, Slot) or not isinstance(tensor, torch.Tensor):
            return slot
        return self.inplace.read(slot, tensor, now, slot.index in self.depends, where)

    def tainted(self, args: object) -> bool:
        return any(s.index in self.depends for s in slots_in(args))


def map_values(value: object, fn) -> object:  # noqa: ANN001 - fn: leaf -> new leaf
    """value with fn applied to everything inside tuples, lists, dicts and slices."""
    if isinstance(value, tuple | list):
        mapped = [map_values(v, fn) for v in value]
        if isinstance(value, torch.Size) and not all(isinstance(v, int) for v in mapped):
            return tuple(mapped)
        return type(value)(mapped) if not hasattr(value, "_fields") else type(value)(*mapped)
    if isinstance(value, dict):
        return {k: map_values(v, fn) for k, v in value.items()}
    if isinstance(value, slice):
        return slice(map_values(value.start, fn), map_values(value.stop, fn), map_values(value.step, fn))
    return fn(value)


def leaves_in(value: object):  # noqa: ANN202 - an iterator
    """Everything inside tuples, lists, dicts and slices."""
    if isinstance(value, tuple | list):
        for v in value:
            yield from leaves_in(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from leaves_in(v)
    elif isinstance(value, slice):
        yield from leaves_in((value.start, value.stop, value.step))
    else:
        yield value


def slots_in(value: object) -> list[Slot]:
    return [v for v in leaves_in(value) if isinstance(v, Slot)]


def holds_state(args: tuple) -> bool:
    """Whether a call is of an nn.Module with parameters or buffers (fx's call_module: the args
    start with it): it depends on them whatever it is called on (self.wpe(torch.arange(n)))."""
    return bool(args) and isinstance(args[0], nn.Module) and any(
        True for _ in itertools.chain(args[0].parameters(), args[0].buffers()))


def has_ref(value: object) -> bool:
    """Whether value depends on the graph's leaves (an Unlowered result does: never a constant)."""
    return any(isinstance(v, Ref | Unlowered) for v in leaves_in(value))


# ---- one real run, recorded ----

def _key_of(func: object) -> object:
    """A torch function as fx would name it: Tensor methods and properties as 'method:NAME'."""
    owner = getattr(func, "__self__", None)
    if getattr(func, "__name__", "") == "__get__" and owner is not None:  # a property such as .T
        return f"method:{owner.__name__}"
    qualname = getattr(func, "__qualname__", "")
    if qualname.startswith(("TensorBase.", "Tensor.")):
        return f"method:{func.__name__}"
    return func


class _Recorder(TorchFunctionMode):
    def __init__(self, rec: Recording, slots: dict[int, Slot]) -> None:
        super().__init__()
        self.rec, self.slots = rec, slots
        self.keep: list[torch.Tensor] = []  # alive, so that no id is reused while recording
        self.path: list[str] = []  # module path of the running forward, for node names
        self.calls: list[str] = []  # the same, keyed by call as fx keys them (Call.module)
        self.count: dict[str, int] = {}  # calls of each module path so far

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        kwargs = kwargs or {}
        before = versions((args, kwargs))
        no_grad = not torch.is_grad_enabled()  # the code's own no_grad block (the run itself has autograd on)
        inference = torch.is_inference_mode_enabled()
        out = func(*args, **kwargs)
        key = _key_of(func)
        if isinstance(key, str) and key.removeprefix("method:") in READS:
            self.rec.reads.append(where_now())
        if key in GRAD_HOOKS:
            self.rec.hooks.append(where_now())
        tensors = [out] if isinstance(out, torch.Tensor) else [
            t for t in out if isinstance(t, torch.Tensor)] if isinstance(out, tuple | list) else []
        was = {id(t): v for t, v in before}

        def as_slot(v: object) -> object:  # refused if the code changed it in place before this call
            if not isinstance(v, torch.Tensor) or id(v) not in self.slots:
                return v
            return self.rec.read(self.slots[id(v)], v, was[id(v)], where_now)
        read = (map_values(tuple(args), as_slot), map_values(kwargs, as_slot)) if tensors else ()
        slots_read = [self.slots[id(t)] for t, _ in before if id(t) in self.slots]
        module = self.path[-1] if self.path else ""
        self.rec.inplace.after_call(key, before, self.rec.tainted(slots_read), where_now, module)
        calls = tuple(c for c in self.calls if c)
        if not tensors:
            return out
        name = getattr(func, "__name__", "op").strip("_")
        if self.path and self.path[-1]:
            name = f"{self.path[-1].replace('.', '_')}_{name}"
        slot = self.rec.add(Call(key, *read, out, where_now(), name, calls, no_grad, inference))
        for k, t in [(None, out)] if isinstance(out, torch.Tensor) else enumerate(out):
            if isinstance(t, torch.Tensor):
                self.slots[id(t)] = Slot(slot.index, k)
                self.rec.inplace.recorded(self.slots[id(t)], t)
        self.keep += tensors
        return out


def record_run(root: nn.Module | object, inputs: dict[str, object], leaf_grad: bool) -> tuple[Recording, object]:
    rec, slots = Recording(InPlace.of_module(root)), {}
    for name, value in inputs.items():
        if isinstance(value, torch.Tensor):
            slots[id(value)] = rec.add(Leaf(name, value, leaf_grad or value.requires_grad, f"the argument {name}"))
    hooks, buffers = [], buffers_of(root)
    recorder = _Recorder(rec, slots)
    if isinstance(root, nn.Module):
        for path, t in [*root.named_parameters(), *root.named_buffers()]:
            kind = "parameter" if isinstance(t, nn.Parameter) else "buffer"
            slots[id(t)] = rec.add(Leaf(path, t, kind == "parameter" and t.requires_grad, f"the {kind} {path}"))
        def enter(path: str) -> None:
            n = recorder.count.get(path, 0)
            recorder.count[path] = n + 1
            recorder.path.append(path)
            recorder.calls.append(f"{path}@{n}" if n and path else path)

        def leave(_m: nn.Module, _args: tuple, _out: object) -> None:  # returns None: keeps the output
            recorder.path.pop()
            recorder.calls.pop()

        for path, m in root.named_modules():
            hooks.append(m.register_forward_pre_hook(lambda _m, _a, p=path: enter(p)))
            hooks.append(m.register_forward_hook(leave))
    try:
        torch.manual_seed(IMPORT_SEED)
        # Autograd on, as the import runs, so that the code's own torch.no_grad() shows (_Recorder).
        with user_code("running the code"), recorder:
            out = root(**inputs)
    finally:
        for h in hooks:
            h.remove()
        moved = put_back(buffers)
    if rec.inplace.refused is not None:  # the code caught the refusal: it stands
        raise rec.inplace.refused
    if rec.hooks:
        raise ImportRefused(f"{rec.hooks[0] or type(root).__name__}: a hook on a tensor's gradient is not supported: "
                            "it changes the gradient as it flows back, and a graph's gradients are those of its ops")
    if moved:
        raise ImportRefused(f"{type(root).__name__}.forward sets the buffer {moved[0]} to a new tensor: not "
                            "supported, a graph holds no state that changes from one call to the next")

    def returned(v: object) -> object:
        if not isinstance(v, torch.Tensor) or id(v) not in slots:
            return v
        return rec.read(slots[id(v)], v, version(v), lambda: "")
    return rec, map_values(out, returned)
