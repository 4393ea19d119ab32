"""Import Python code into a graph: a function of tensors or an nn.Module becomes a Graph whose
leaves are the arguments (named after them) and the parameters and buffers used (named by their
qualified names, `conv1.weight`), holding their current values, and whose one sink is the value
returned.

Two ways to see the calls, both executing the user's code as torch.fx does:
- torch.fx symbolic tracing (with record_stack_traces, so a refusal names the source line); each
  traced call is then run on the example inputs, so sizes, `x.shape`, `//` and tuple unpacking
  become concrete numbers;
- where symbolic tracing cannot follow the code (control flow on tensor values, loops over
  them), one real call on the example inputs under a torch function mode: every torch call it
  makes is recorded, loops unrolled, and the graph is noted as specialised to those inputs.

Either way the calls that reach the result are lowered to catalogue ops (fx_lower, fx_layers),
the rest is dropped (a buffer nothing reads is no leaf), and the graph's value and gradients are
checked against the code's own, from one more call with autograd on (fx_user.check_against_code).
"""

from __future__ import annotations

import contextlib
import inspect
import operator
import traceback
from dataclasses import dataclass, field

import torch
from torch import fx, nn
from torch.overrides import TorchFunctionMode

from autograd_bridge import fx_layers  # noqa: F401 - registers the layer, shape and loss lowerings
from autograd_bridge.fx_inplace import InPlace, buffers_of, put_back, storage, version, versions
from autograd_bridge.fx_lower import Builder, ImportRefused, Ref, Unlowered
from autograd_bridge.fx_user import check_against_code, is_users, run_with_grad, user_code, where_from_fx, where_now
from graph.groups import MAX_GROUP_DEPTH, Group
from graph.layout import layered_positions
from graph.model import MAX_ID_LENGTH, Graph

__all__ = ["ImportRefused", "Imported", "import_function", "import_module"]

# Tensor methods that read values into Python: control flow on them specialises the graph.
# The imported graph's seed (Graph.seed): the code runs after torch.manual_seed(IMPORT_SEED), so
# random ops (dropout) draw in it what they draw in the graph, ran in the same order.
IMPORT_SEED = 0
_READS = {"__bool__", "item", "tolist", "__int__", "__float__", "__index__", "__len__", "__iter__"}


@dataclass
class Imported:
    graph: Graph
    sink: str
    notes: list[str] = field(default_factory=list)
    specialised: bool = False  # recorded from one real run (symbolic tracing could not follow it)


@dataclass(frozen=True)
class _Slot:
    """A value recorded earlier: item `index`, or element `part` of the tuple it returned."""

    index: int
    part: int | None = None


@dataclass
class _Leaf:
    name: str
    tensor: torch.Tensor
    requires_grad: bool


@dataclass
class _Call:
    key: object  # a torch function, "method:NAME", or an nn.Module class (args start module, path)
    args: tuple
    kwargs: dict
    out: object  # what the real call returned
    where: str
    name: str
    module: str = ""  # the nn.Module path the call ran in ("layer1.0.conv1"; "" at the top)


@dataclass
class _Recording:
    inplace: InPlace  # in-place changes the code makes (fx_inplace)
    items: list[_Leaf | _Call] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)  # where the code read tensor values
    depends: set[int] = field(default_factory=set)  # the items that depend on a leaf

    def add(self, item: _Leaf | _Call) -> _Slot:
        if isinstance(item, _Leaf) or any(s.index in self.depends for s in _slots_in((item.args, item.kwargs))):
            self.depends.add(len(self.items))
        elif isinstance(item, _Call):  # a constant: kept as it is now, should the code change it later
            item.out = _map(item.out, lambda v: v.detach().clone() if isinstance(v, torch.Tensor) else v)
        self.items.append(item)
        slot = _Slot(len(self.items) - 1)
        if isinstance(item, _Leaf):
            self.inplace.recorded(slot, item.tensor)
        return slot

    def read(self, slot: object, tensor: object, now: int, where) -> object:  # noqa: ANN001 - where: () -> str
        """A recorded value as a call reads it (fx_inplace.InPlace.read)."""
        if not isinstance(slot, _Slot) or not isinstance(tensor, torch.Tensor):
            return slot
        return self.inplace.read(slot, tensor, now, slot.index in self.depends, where)

    def tainted(self, args: object) -> bool:
        return any(s.index in self.depends for s in _slots_in(args))


def _map(value: object, fn) -> object:  # noqa: ANN001 - fn: leaf -> new leaf
    """value with fn applied to everything inside tuples, lists, dicts and slices."""
    if isinstance(value, tuple | list):
        mapped = [_map(v, fn) for v in value]
        if isinstance(value, torch.Size) and not all(isinstance(v, int) for v in mapped):
            return tuple(mapped)
        return type(value)(mapped) if not hasattr(value, "_fields") else type(value)(*mapped)
    if isinstance(value, dict):
        return {k: _map(v, fn) for k, v in value.items()}
    if isinstance(value, slice):
        return slice(_map(value.start, fn), _map(value.stop, fn), _map(value.step, fn))
    return fn(value)


def _leaves(value: object):  # noqa: ANN202 - an iterator
    """Everything inside tuples, lists, dicts and slices."""
    if isinstance(value, tuple | list):
        for v in value:
            yield from _leaves(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, slice):
        yield from _leaves((value.start, value.stop, value.step))
    else:
        yield value


def _slots_in(value: object) -> list[_Slot]:
    return [v for v in _leaves(value) if isinstance(v, _Slot)]


def _has_ref(value: object) -> bool:
    """Whether value depends on the graph's leaves (an Unlowered result does: never a constant)."""
    return any(isinstance(v, Ref | Unlowered) for v in _leaves(value))


# ---- symbolic tracing ----

def _fx_key(node: fx.Node, root: nn.Module) -> object:
    if node.op == "call_method":
        return f"method:{node.target}"
    if node.op == "call_module":
        return type(root.get_submodule(node.target))
    return node.target


class _Tracer(fx.Tracer):
    """fx's tracer, keeping the user's frames of every call (fx keeps only those below a
    `forward`, so a plain function would have none)."""

    record_stack_traces = True
    proxy_buffer_attributes = True  # buffers as graph leaves: `self.shift * self.scale` is not folded to a constant

    def __init__(self) -> None:
        super().__init__()
        self.captured: list[tuple[torch.Tensor, int]] = []  # real tensors the graph holds, with their versions

    def create_arg(self, a: object) -> object:
        if isinstance(a, torch.Tensor):
            self.captured.append((a, version(a)))
        return super().create_arg(a)

    def _filter_traceback_frames(self, summary: traceback.StackSummary) -> traceback.StackSummary:
        return traceback.StackSummary.from_list(
            [f for f in summary if is_users(f.filename)])


def _record_fx(root: nn.Module | object, inputs: dict[str, object], leaf_grad: bool) -> tuple[_Recording, object]:
    tracer = _Tracer()
    concrete = {k: v for k, v in inputs.items() if not isinstance(v, torch.Tensor)}
    state = versions([*root.parameters(), *root.buffers()] if isinstance(root, nn.Module) else [])
    buffers = buffers_of(root)
    try:
        graph = tracer.trace(root, concrete_args=concrete or None)
    finally:
        moved = put_back(buffers)  # `self.count = self.count + 1` set a buffer to a tracer's stand-in
    # fx runs code on plain tensors as it traces (`mask[0] = 1.0`) and keeps the tensors, not their
    # values then: a change found here is followed, or refused, by the real run.
    if moved or any(version(t) != was for t, was in [*state, *tracer.captured]):
        raise RuntimeError("the code changes a tensor or a buffer as it runs")
    module = tracer.root
    # A tensor fx took as a constant (made without its inputs: torch.zeros(3)) that a traced call
    # changes in place (`out[0] = x.sum()`) was not changed as fx traced, so the code's later
    # reads of it were folded to its old value: found as the calls run below, the real run follows it.
    constants = {storage(t) for t, _ in tracer.captured}
    rec, env = _Recording(InPlace.of_module(root)), {}
    torch.manual_seed(IMPORT_SEED)  # after tracing, which may draw (a constant torch.randn)

    def real(a: object) -> object:
        return env[a][0] if isinstance(a, fx.Node) else a

    where = ""  # the line of the node being recorded

    def sym(a: object) -> object:  # what a call reads: refused if the code changed it in place since
        if not isinstance(a, fx.Node):
            return a
        value, slot = env[a]
        return rec.read(slot, value, version(value) if isinstance(value, torch.Tensor) else 0, lambda: where)

    for node in graph.nodes:
        where = where_from_fx(node.meta.get("stack_trace") or node.stack_trace)
        if node.op == "placeholder":
            if node.target.startswith("*"):
                raise ImportRefused(f"*{node.target.lstrip('*')}: import needs named arguments")
            value = inputs.get(node.target)
            if not isinstance(value, torch.Tensor):  # a fixed argument: fx renames it, keeps its value
                value = node.args[0] if node.args else value
            slot = rec.add(_Leaf(node.target, value, leaf_grad or value.requires_grad)) \
                if isinstance(value, torch.Tensor) else value
            env[node] = (value, slot)
        elif node.op == "get_attr":
            value = operator.attrgetter(node.target)(module)
            slot = value
            if isinstance(value, torch.Tensor):
                # A function's tensor constants are fx's _tensor_constant0, 1, …: one leaf each
                # (one name for all would give every constant the first one's value).
                name = node.target if isinstance(root, nn.Module) else node.target.removeprefix("_tensor_")
                slot = rec.add(_Leaf(name, value, isinstance(value, nn.Parameter) and value.requires_grad))
            env[node] = (value, slot)
        elif node.op == "output":
            where = ""
            return rec, fx.node.map_aggregate(node.args[0], sym)
        else:
            args = fx.node.map_aggregate(node.args, real)
            kwargs = fx.node.map_aggregate(node.kwargs, real)
            sym_args = fx.node.map_aggregate(node.args, sym)
            sym_kwargs = dict(fx.node.map_aggregate(node.kwargs, sym))
            before = versions((args, kwargs))
            with user_code("running the code", where), torch.no_grad():  # on the example inputs
                if node.op == "call_method":
                    out = getattr(args[0], node.target)(*args[1:], **kwargs)
                elif node.op == "call_module":
                    out = module.get_submodule(node.target)(*args, **kwargs)
                else:
                    out = node.target(*args, **kwargs)
            key = _fx_key(node, module)
            rec.inplace.after_call(key, before, rec.tainted((sym_args, sym_kwargs)), lambda w=where: w)
            if any(version(t) != was and storage(t) in constants for t, was in before):
                raise RuntimeError(f"{where}: the code changes in place a tensor that tracing took as a constant")
            if node.op == "call_module":
                sym_args = (module.get_submodule(node.target), node.target, *sym_args)
            module_path = next(reversed(node.meta.get("nn_module_stack") or {}), "")  # the innermost
            slot = rec.add(_Call(key, tuple(sym_args), sym_kwargs, out, where, node.name, module_path))
            if isinstance(out, torch.Tensor):
                rec.inplace.recorded(slot, out)
            env[node] = (out, slot)
    raise ImportRefused("the traced code returned nothing")


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
    def __init__(self, rec: _Recording, slots: dict[int, _Slot]) -> None:
        super().__init__()
        self.rec, self.slots = rec, slots
        self.keep: list[torch.Tensor] = []  # alive, so that no id is reused while recording
        self.path: list[str] = []  # module path of the running forward, for node names

    def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        kwargs = kwargs or {}
        before = versions((args, kwargs))
        out = func(*args, **kwargs)
        key = _key_of(func)
        if isinstance(key, str) and key.removeprefix("method:") in _READS:
            self.rec.reads.append(where_now())
        tensors = [out] if isinstance(out, torch.Tensor) else [
            t for t in out if isinstance(t, torch.Tensor)] if isinstance(out, tuple | list) else []
        was = {id(t): v for t, v in before}

        def as_slot(v: object) -> object:  # refused if the code changed it in place before this call
            if not isinstance(v, torch.Tensor) or id(v) not in self.slots:
                return v
            return self.rec.read(self.slots[id(v)], v, was[id(v)], where_now)
        read = (_map(tuple(args), as_slot), _map(kwargs, as_slot)) if tensors else ()
        slots_read = [self.slots[id(t)] for t, _ in before if id(t) in self.slots]
        self.rec.inplace.after_call(key, before, self.rec.tainted(slots_read), where_now)
        if not tensors:
            return out
        name = getattr(func, "__name__", "op").strip("_")
        if self.path and self.path[-1]:
            name = f"{self.path[-1].replace('.', '_')}_{name}"
        slot = self.rec.add(_Call(key, *read, out, where_now(), name, self.path[-1] if self.path else ""))
        for k, t in [(None, out)] if isinstance(out, torch.Tensor) else enumerate(out):
            if isinstance(t, torch.Tensor):
                self.slots[id(t)] = _Slot(slot.index, k)
                self.rec.inplace.recorded(self.slots[id(t)], t)
        self.keep += tensors
        return out


def _record_run(root: nn.Module | object, inputs: dict[str, object], leaf_grad: bool) -> tuple[_Recording, object]:
    rec, slots = _Recording(InPlace.of_module(root)), {}
    for name, value in inputs.items():
        if isinstance(value, torch.Tensor):
            slots[id(value)] = rec.add(_Leaf(name, value, leaf_grad or value.requires_grad))
    hooks, buffers = [], buffers_of(root)
    recorder = _Recorder(rec, slots)
    if isinstance(root, nn.Module):
        for path, t in [*root.named_parameters(), *root.named_buffers()]:
            slots[id(t)] = rec.add(_Leaf(path, t, isinstance(t, nn.Parameter) and t.requires_grad))
        def leave(_m: nn.Module, _args: tuple, _out: object) -> None:  # returns None: keeps the output
            recorder.path.pop()

        for path, m in root.named_modules():
            hooks.append(m.register_forward_pre_hook(lambda _m, _a, p=path: recorder.path.append(p)))
            hooks.append(m.register_forward_hook(leave))
    try:
        torch.manual_seed(IMPORT_SEED)
        with user_code("running the code"), torch.no_grad(), recorder:
            out = root(**inputs)
    finally:
        for h in hooks:
            h.remove()
        moved = put_back(buffers)
    if rec.inplace.refused is not None:  # the code caught the refusal: it stands
        raise rec.inplace.refused
    if moved:
        raise ImportRefused(f"{type(root).__name__}.forward sets the buffer {moved[0]} to a new tensor: not "
                            "supported, a graph holds no state that changes from one call to the next")

    def returned(v: object) -> object:
        if not isinstance(v, torch.Tensor) or id(v) not in slots:
            return v
        return rec.read(slots[id(v)], v, version(v), lambda: "")
    return rec, _map(out, returned)


# ---- lowering what reaches the result ----

def _needed(rec: _Recording, output: object) -> list[int]:
    todo, seen = [s.index for s in _slots_in(output)], set()
    while todo:
        i = todo.pop()
        if i in seen:
            continue
        seen.add(i)
        item = rec.items[i]
        if isinstance(item, _Call):
            todo += [s.index for s in _slots_in((item.args, item.kwargs))]
    return sorted(seen)


def _state_names(root: nn.Module | object) -> dict[int, str]:
    """id of each parameter and buffer of the module -> its first qualified name: named_parameters()
    lists a tied (shared) tensor once, under the first name that reaches it."""
    if not isinstance(root, nn.Module):
        return {}
    return {id(t): name for name, t in reversed([*root.named_parameters(), *root.named_buffers()])}


def _assemble(rec: _Recording, output: object, what: str, state_names: dict[int, str]) -> tuple[Graph, str, list[str]]:
    b = Builder()
    b.state_names = state_names
    lowered: dict[int, object] = {}

    def value_of(v: object) -> object:
        if not isinstance(v, _Slot):
            return v
        got = lowered[v.index]
        return got if v.part is None else got[v.part]

    for i in _needed(rec, output):
        item = rec.items[i]
        if isinstance(item, _Leaf):
            b.where, b.module = "", item.name.rpartition(".")[0]  # a parameter's module: conv1.weight → conv1
            lowered[i] = b.leaf(item.name, item.tensor, item.requires_grad)
            continue
        args, kwargs = _map(item.args, value_of), _map(item.kwargs, value_of)
        if not _has_ref((args, kwargs)):  # depends on no leaf: a constant (a size, torch.ones(3))
            lowered[i] = item.out
            continue
        b.where, b.name, b.out, b.module = item.where, item.name, item.out, item.module
        lowered[i] = b.lower(item.key, args, kwargs)
    result = _map(output, value_of)
    if not isinstance(result, Ref):
        kind = "nothing that depends on its inputs" if isinstance(result, torch.Tensor) else type(result).__name__
        raise ImportRefused(f"{what} returns {kind}: import needs it to return one tensor computed from its "
                            "inputs (e.g. the loss)")
    keep = b.graph.ancestors(result.id) | {result.id}
    graph = b.graph.without(set(b.graph.nodes) - keep)
    _group_by_module(graph, b.module_of)
    return graph, result.id, b.notes


def _group_by_module(graph: Graph, module_of: dict[str, str]) -> None:
    """One group per nn.Module a node was made in, nested as the module tree (`layer1` holds
    `layer1.0`, which holds `layer1.0.conv1`); a node goes in its innermost module's group.
    Groups are left expanded: an imported graph is laid out to be read whole, and the numbers
    on every node are what an import is for; a double-click collapses one."""
    for n in graph.nodes:
        path = module_of.get(n, "")
        if not path or len(path) > MAX_ID_LENGTH or path.count(".") >= MAX_GROUP_DEPTH:
            continue
        parts = path.split(".")
        for i in range(1, len(parts) + 1):
            group_id = ".".join(parts[:i])
            if group_id not in graph.groups:
                graph.groups[group_id] = Group(group_id, parent=".".join(parts[:i - 1]) or None)
        graph.group_of[n] = path


def _import(root: nn.Module | object, inputs: dict[str, object], leaf_grad: bool, what: str) -> Imported:
    notes, specialised = [], False
    with _as_the_graph_runs(root), user_code("running the code"):  # SystemExit from tracing, too
        try:
            rec, output = _record_fx(root, inputs, leaf_grad)
        except ImportRefused:
            raise
        except Exception as e:  # symbolic tracing cannot follow it: record one real run instead
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            rec, output = _record_run(root, inputs, leaf_grad)
            specialised = True
            reads = ", ".join(dict.fromkeys(r for r in rec.reads if r))
            notes.append(f"specialised to the example inputs: symbolic tracing stopped ({reason[:160]}), so "
                         f"the graph holds the ops one real call ran, loops unrolled"
                         + (f"; the code read tensor values at {reads}" if reads else ""))
    graph, sink, lowering_notes = _assemble(rec, output, what, _state_names(root))
    graph.seed = IMPORT_SEED
    notes += lowering_notes
    if any(not n.is_tensor and n.spec.random for n in graph.nodes.values()):
        notes.append(f"dropout draws its masks after torch.manual_seed({IMPORT_SEED}) (the graph's seed): the "
                     "code's own call draws from torch's generator as it stands, so its masks equal the "
                     f"graph's only when torch.manual_seed({IMPORT_SEED}) runs just before it")
    expected = next((rec.items[s.index].out for s in _slots_in(output) if isinstance(rec.items[s.index], _Call)), None)
    with _as_the_graph_runs(root):
        code = run_with_grad(root, inputs, leaf_grad, IMPORT_SEED)
    check_against_code(graph, sink, expected if isinstance(expected, torch.Tensor) else None, code)
    graph.target = sink
    if specialised:
        node = graph.nodes[sink]
        graph.replace_node(_labelled(node, f"{node.label or sink} (specialised to the example inputs)"))
    graph.layout = layered_positions(graph)
    return Imported(graph, sink, notes, specialised)


@contextlib.contextmanager
def _as_the_graph_runs(root: nn.Module | object):  # noqa: ANN202 - a context manager
    """Importing leaves torch's generator as it was (the recorders seed it with IMPORT_SEED) and
    the module's buffers too (training-mode batch norm updates its running stats in place)."""
    buffers = [(t, t.clone()) for t in root.buffers()] if isinstance(root, nn.Module) else []
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            with torch.no_grad():
                for t, kept in buffers:
                    t.copy_(kept)


def _labelled(node, label: str):  # noqa: ANN001, ANN202
    import dataclasses

    return dataclasses.replace(node, label=label)


def import_function(fn: object, inputs: dict[str, object]) -> Imported:
    """A function of tensors: its arguments (given by name in `inputs`) become leaves that
    require grad (floating ones); non-tensor arguments are fixed at their values."""
    return _import(fn, inputs, True, f"the function {getattr(fn, '__name__', '?')}")


def import_module(module: nn.Module, example: tuple) -> Imported:
    """An nn.Module called on `example`: parameters and buffers become leaves (requires_grad as
    in the module), the arguments leaves named after forward's parameters (requires_grad as
    the example tensors have it). The module runs in the mode it is in."""
    try:
        bound = inspect.signature(module.forward).bind(*example)
    except TypeError as e:
        raise ImportRefused(f"{type(module).__name__}.forward does not take {len(example)} example "
                            f"input(s): {e}") from None
    return _import(module, dict(bound.arguments), False, f"{type(module).__name__}.forward")
