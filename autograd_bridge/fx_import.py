"""Import Python code into a graph: a function of tensors or an nn.Module becomes a Graph whose
leaves are the arguments (named after them) and the parameters and buffers used (named by their
qualified names, `conv1.weight`), holding their current values, and whose one sink is the value
returned.

Two ways to see the calls, both executing the user's code as torch.fx does:
- torch.fx symbolic tracing (with record_stack_traces, so a refusal names the source line); each
  traced call is then run on the example inputs, so sizes, `x.shape`, `//` and tuple unpacking
  become concrete numbers;
- where symbolic tracing cannot follow the code (control flow on tensor values, loops over
  them), one real call on the example inputs under a torch function mode (fx_record): every
  torch call it makes is recorded, loops unrolled, and the graph is noted as specialised to
  those inputs.

Either way the calls that reach the result are lowered to catalogue ops (fx_lower, fx_layers),
the rest is dropped (a buffer nothing reads is no leaf), and the graph's value and gradients are
checked against the code's own, from one more call with autograd on (fx_user.check_against_code).
"""

from __future__ import annotations

import contextlib
import inspect
import operator
import traceback
import warnings
from dataclasses import dataclass, field

import torch
import torch.utils._pytree as pytree
from torch import fx, nn

from autograd_bridge import fx_layers  # registers the layer, shape and loss lowerings
from autograd_bridge.fx_inplace import InPlace, buffers_of, put_back, storage, version, versions
from autograd_bridge.fx_lower import Builder, ImportRefused, Ref, call_title, module_chain
from autograd_bridge.fx_record import (
    IMPORT_SEED,
    Call,
    Leaf,
    Recording,
    Slot,
    has_ref,
    holds_state,
    leaves_in,
    map_values,
    record_run,
    slots_in,
)
from autograd_bridge.fx_script import EXAMPLE_INPUTS
from autograd_bridge.fx_user import (
    check_against_code,
    is_users,
    run_with_grad,
    user_code,
    where_from_fx,
    where_raised,
)
from graph.groups import MAX_GROUP_DEPTH, Group
from graph.layout import layered_positions
from graph.model import MAX_ID_LENGTH, Graph
from graph.ops import DTYPES

__all__ = ["IMPORT_SEED", "ImportRefused", "Imported", "import_function", "import_module"]

LEFT_OUT_NAMED = 8  # the note on what does not reach the result names this many, then counts


@dataclass
class Imported:
    graph: Graph
    sink: str
    notes: list[str] = field(default_factory=list)
    specialised: bool = False  # recorded from one real run (symbolic tracing could not follow it)


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

    def create_node(self, *args, **kwargs) -> fx.Node:  # noqa: ANN002, ANN003 - fx's own
        node = super().create_node(*args, **kwargs)
        node.meta["no_grad"] = not torch.is_grad_enabled()  # the code runs as fx traces: its no_grad blocks too
        node.meta["inference"] = torch.is_inference_mode_enabled()
        return node

    def create_arg(self, a: object) -> object:
        if isinstance(a, torch.Tensor):
            self.captured.append((a, version(a)))
        return super().create_arg(a)

    def _filter_traceback_frames(self, summary: traceback.StackSummary) -> traceback.StackSummary:
        return traceback.StackSummary.from_list(
            [f for f in summary if is_users(f.filename)])


def _fixed_placeholders(concrete: dict[str, object]) -> dict[str, object]:
    """What fx's placeholders for fixed (non-tensor) arguments hold, by target: fx makes one per
    element of the value (as its pytree sees them), `alpha_1`, `alpha_2`, …, gives the code the
    value itself and adds a check that each placeholder equals its element, which a call with
    those arguments passes."""
    fixed = {}
    for name, value in concrete.items():
        fixed |= {f"{name}_{k}": v for k, v in enumerate(pytree.tree_leaves(value), 1)}
    return fixed


def _record_fx(root: nn.Module | object, inputs: dict[str, object], leaf_grad: bool) -> tuple[Recording, object]:
    tracer = _Tracer()
    concrete = {k: v for k, v in inputs.items() if not isinstance(v, torch.Tensor)}
    fixed = _fixed_placeholders(concrete)
    state = versions([*root.parameters(), *root.buffers()] if isinstance(root, nn.Module) else [])
    buffers = buffers_of(root)
    try:
        with warnings.catch_warnings():  # fx's own aside on fixed arguments: not the user's to act on
            warnings.filterwarnings("ignore", message="Was not able to add assertion")
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
    rec, env = Recording(InPlace.of_module(root)), {}
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
        if node.op == "placeholder" and node.target.startswith("*"):  # *args, **kwargs: empty (_arguments)
            empty = {} if node.target.startswith("**") else ()
            env[node] = (empty, empty)
        elif node.op == "placeholder" and isinstance(inputs.get(node.target), torch.Tensor):
            value = inputs[node.target]
            env[node] = (value, rec.add(Leaf(node.target, value, leaf_grad or value.requires_grad,
                                             f"the argument {node.target}")))
        elif node.op == "placeholder":  # a fixed argument: only fx's check that it has its value reads it
            value = fixed.get(node.target, node.args[0] if node.args else None)
            env[node] = (value, value)
        elif node.op == "get_attr":
            value = operator.attrgetter(node.target)(module)
            slot = value
            if isinstance(value, torch.Tensor):
                # A function's tensor constants are fx's _tensor_constant0, 1, …: one leaf each
                # (one name for all would give every constant the first one's value), named in
                # messages by the first line that reads it.
                name = node.target if isinstance(root, nn.Module) else node.target.removeprefix("_tensor_")
                made = node.target.startswith("_tensor_constant")
                kind = "a tensor constant" if made else "the parameter" if isinstance(value, nn.Parameter) \
                    else "the buffer"
                reader = next(iter(node.users), None) if made else None
                slot = rec.add(Leaf(name, value, isinstance(value, nn.Parameter) and value.requires_grad,
                                    kind if made else f"{kind} {node.target}",
                                    where_from_fx(reader.meta.get("stack_trace")) if reader is not None else ""))
            env[node] = (value, slot)
        elif node.op == "output":
            where = ""
            out = fx.node.map_aggregate(node.args[0], sym)
            info = getattr(graph._codegen, "pytree_info", None)  # a fixed tuple argument: fx flattened the result
            return rec, pytree.tree_unflatten(list(out), info.out_spec) if info and info.out_spec else out
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
            calls = tuple(node.meta.get("nn_module_stack") or {})  # the module calls it runs in: groups
            slot = rec.add(Call(key, tuple(sym_args), sym_kwargs, out, where, node.name, calls,
                                 node.meta.get("no_grad", False), node.meta.get("inference", False)))
            if isinstance(out, torch.Tensor):
                rec.inplace.recorded(slot, out)
            env[node] = (out, slot)
    raise ImportRefused("the traced code returned nothing")


# ---- lowering what reaches the result ----

def _needed(rec: Recording, output: object) -> list[int]:
    todo, seen = [s.index for s in slots_in(output)], set()
    while todo:
        i = todo.pop()
        if i in seen:
            continue
        seen.add(i)
        item = rec.items[i]
        if isinstance(item, Call) and not item.no_grad:  # a no_grad call is a constant: nothing it reads is
            todo += [s.index for s in slots_in((item.args, item.kwargs))]
    return sorted(seen)


def _state_names(root: nn.Module | object) -> dict[int, str]:
    """id of each parameter and buffer of the module -> its first qualified name: named_parameters()
    lists a tied (shared) tensor once, under the first name that reaches it."""
    if not isinstance(root, nn.Module):
        return {}
    return {id(t): name for name, t in reversed([*root.named_parameters(), *root.named_buffers()])}


def _assemble(rec: Recording, output: object, what: str, state_names: dict[int, str]) -> tuple[Graph, str, list[str]]:
    b = Builder()
    b.name_state(state_names)
    lowered: dict[int, object] = {}

    def value_of(v: object) -> object:
        if not isinstance(v, Slot):
            return v
        got = lowered[v.index]
        return got if v.part is None else got[v.part]

    for i in _needed(rec, output):
        item = rec.items[i]
        if isinstance(item, Leaf):
            b.where, b.module = item.where, module_chain(item.name.rpartition(".")[0])  # conv1.weight: in conv1
            lowered[i] = b.leaf(item.name, item.tensor, item.requires_grad, item.what)
            continue
        if item.inference:
            raise ImportRefused(f"{item.where or what}: computed under torch.inference_mode(): torch itself cannot "
                                "run backward() through code that uses its results ('Inference tensors cannot be "
                                "saved for backward'); use torch.no_grad() there to hold the value as a constant")
        if item.no_grad:
            lowered[i] = _detached(b, item, i in rec.depends)
            continue
        args, kwargs = map_values(item.args, value_of), map_values(item.kwargs, value_of)
        if not has_ref((args, kwargs)) and not holds_state(item.args) and item.key not in fx_layers.DRAWS:  # a size
            lowered[i] = item.out
            continue
        b.where, b.name, b.out, b.module = item.where, item.name, item.out, item.module
        if isinstance(item.key, type) and item.module:  # fx's call of a standard module: named after it
            lowered[i] = b.lower_module_call(item.module[-1], item.key, args, kwargs)
        else:
            lowered[i] = b.lower(item.key, args, kwargs)
    result = map_values(output, value_of)
    made = [rec.items[s.index] for s in slots_in(output)]
    if any(isinstance(item, Call) and item.no_grad for item in made):
        where = next(item.where for item in made if isinstance(item, Call) and item.no_grad)
        raise ImportRefused(f"{where + ': ' if where else ''}{what} computes its result under torch.no_grad() (a with "
                            "block or a @torch.no_grad() decorator): it depends on none of its inputs as autograd "
                            "sees it, so there is no gradient to show; import it without no_grad")
    if not isinstance(result, Ref):
        kind = "nothing that depends on its inputs" if isinstance(result, torch.Tensor) else type(result).__name__
        raise ImportRefused(f"{what} returns {kind}: import needs it to return one tensor computed from its "
                            "inputs (e.g. the loss)")
    keep = b.graph.ancestors(result.id) | {result.id}
    graph = b.graph.without(set(b.graph.nodes) - keep)
    _group_by_module(graph, b.module_of)
    return graph, result.id, b.notes + [note for n, note in b.node_notes.items() if n in keep]


def _detached(b: Builder, item: Call, depends: bool) -> object:
    """A call the code made under torch.no_grad(): its value as constant leaves (detach() makes the
    same), noted once per line; a call that depends on no leaf is a constant as it is."""
    if not depends:
        return item.out
    b.where, b.name, b.module = item.where, item.name, item.module
    note = f"{item.where or item.name}: computed under torch.no_grad(): a constant leaf holding its value (no " \
           "gradient flows through it)"
    if note not in b.notes:
        b.notes.append(note)
    return map_values(item.out, lambda v: b.const(v, what="no_grad") if isinstance(v, torch.Tensor) else v)


def _group_by_module(graph: Graph, module_of: dict[str, tuple[str, ...]]) -> None:
    """One group per nn.Module call a node was made in, nested as the calls are (`layer1` holds
    `layer1.0`, which holds `layer1.0.conv1`); a node goes in its innermost call's group. A
    module called again has a group per call, titled by it (`a@1`: 'a #2').
    Groups are left expanded: an imported graph is laid out to be read whole, and the numbers
    on every node are what an import is for; a double-click collapses one."""
    for n in graph.nodes:
        calls = module_of.get(n, ())
        if not calls or len(calls) > MAX_GROUP_DEPTH or any(len(c) > MAX_ID_LENGTH for c in calls):
            continue
        for depth, call in enumerate(calls):
            if call not in graph.groups:
                title = call_title(call)
                graph.groups[call] = Group(call, title if title != call else None, calls[depth - 1] if depth else None)
        graph.group_of[n] = calls[-1]


def _held_dtypes(inputs: dict[str, object], notes: list[str]) -> dict[str, object]:
    """The arguments in dtypes a graph holds: int8, int16 and int32 indices taken as int64 (torch
    indexes with either), with a note; any other dtype a graph does not hold is refused, naming
    the argument."""
    held = {}
    for name, value in inputs.items():
        dtype = str(value.dtype).removeprefix("torch.") if isinstance(value, torch.Tensor) else None
        if dtype is not None and dtype not in DTYPES:
            if value.dtype not in (torch.int8, torch.int16, torch.int32):
                raise ImportRefused(f"the argument {name}: a {dtype} tensor: graphs hold {', '.join(DTYPES)} "
                                    "tensors only")
            notes.append(f"{name}: an {dtype} tensor, taken as int64 (graphs hold {', '.join(DTYPES)} tensors; "
                         "torch indexes with either)")
            value = value.long()
        held[name] = value
    return held


def _import(root: nn.Module | object, inputs: dict[str, object], leaf_grad: bool, what: str) -> Imported:
    notes, specialised = [], False
    inputs = _held_dtypes(inputs, notes)
    with _as_the_graph_runs(root), user_code("running the code"):  # SystemExit from tracing, too
        try:
            rec, output = _record_fx(root, inputs, leaf_grad)
        except ImportRefused:
            raise
        except Exception as e:  # symbolic tracing cannot follow it: record one real run instead
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            stopped = where_raised(e)
            rec, output = record_run(root, inputs, leaf_grad)
            specialised = True
            reads = ", ".join(dict.fromkeys(r for r in rec.reads if r))
            notes.append(f"specialised to the example inputs: symbolic tracing stopped "
                         f"{f'at {stopped} ' if stopped else ''}({reason[:160]}), so "
                         f"the graph holds the ops one real call ran, loops unrolled"
                         + (f"; the code read tensor values at {reads}" if reads else ""))
    graph, sink, lowering_notes = _assemble(rec, output, what, _state_names(root))
    graph.seed = IMPORT_SEED
    notes += lowering_notes
    left_out = _left_out(root, inputs, graph)
    if left_out:
        shown = ", ".join(left_out[:LEFT_OUT_NAMED]) + (f" and {len(left_out) - LEFT_OUT_NAMED} more"
                                                        if len(left_out) > LEFT_OUT_NAMED else "")
        notes.append(f"left out, as they do not reach the result (in torch their .grad stays None): {shown}")
    if any(not n.is_tensor and n.spec.random for n in graph.nodes.values()):
        notes.append(f"dropout draws its masks after torch.manual_seed({IMPORT_SEED}) (the graph's seed): the "
                     "code's own call draws from torch's generator as it stands, so its masks equal the "
                     f"graph's only when torch.manual_seed({IMPORT_SEED}) runs just before it")
    expected = next((rec.items[s.index].out for s in slots_in(output) if isinstance(rec.items[s.index], Call)), None)
    with _as_the_graph_runs(root):
        code = run_with_grad(root, inputs, leaf_grad, IMPORT_SEED)
    check_against_code(graph, sink, expected if isinstance(expected, torch.Tensor) else None, code)
    graph.target = sink
    if specialised:  # said on the output node, as "name = …", so that ∂name/∂x names it by name alone
        node = graph.nodes[sink]
        graph.replace_node(_labelled(node, f"{sink} = {node.label or node.op}, specialised to the example inputs"))
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


def _left_out(root: nn.Module | object, inputs: dict[str, object], graph: Graph) -> list[str]:
    """The tensor arguments and the parameters that require grad which the graph does not hold:
    nothing of the result depends on them (a layer forward never calls, a detached branch), so
    they were dropped with everything else that does not reach it. Leaves are labelled by the
    names these have (Builder.leaf); buffers are not named (num_batches_tracked never reaches)."""
    held = {node.label for node in graph.nodes.values() if node.is_tensor}
    names = [name for name, v in inputs.items() if isinstance(v, torch.Tensor)]
    if isinstance(root, nn.Module):
        names += [name for name, p in root.named_parameters() if p.requires_grad]
    return [name for name in names if name not in held]


def _labelled(node, label: str):  # noqa: ANN001, ANN202
    import dataclasses

    return dataclasses.replace(node, label=label)


def _arguments(bound: inspect.BoundArguments, what: str) -> dict[str, object]:
    """The example arguments by name, defaults applied (forward(x, targets=None) given x: targets
    is None, as a call without it has it; a fixed value, not a leaf). *args and **kwargs must be
    empty; an argument that holds tensors in a list or dict is refused: each tensor is a leaf of
    its own, so an argument of its own."""
    bound.apply_defaults()
    params = bound.signature.parameters
    inputs = {}
    for arg, value in bound.arguments.items():
        if params[arg].kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            if value:
                raise ImportRefused(f"{what}: {'*' if isinstance(value, tuple) else '**'}{arg} would take "
                                    f"{', '.join(map(str, value)) if isinstance(value, dict) else len(value)}: "
                                    "import needs each input as a named argument")
            continue
        if not isinstance(value, torch.Tensor) and any(isinstance(v, torch.Tensor) for v in leaves_in(value)):
            raise ImportRefused(f"{what}'s argument {arg}: a {type(value).__name__} of tensors: import takes "
                                f"each tensor as an argument of its own ({EXAMPLE_INPUTS}() returns a tuple of "
                                "them, or a dict by name)")
        inputs[arg] = value
    return inputs


def import_function(fn: object, inputs: dict[str, object]) -> Imported:
    """A function of tensors: its arguments (given by name in `inputs`, the others their defaults)
    become leaves that require grad (floating ones); non-tensor arguments are fixed at their
    values."""
    what = f"the function {getattr(fn, '__name__', '?')}"
    try:
        bound = inspect.signature(fn).bind(**inputs)
    except TypeError as e:
        raise ImportRefused(f"{what}: {e}") from None
    with torch.enable_grad():  # the code's gradients, whatever the caller's grad mode
        return _import(fn, _arguments(bound, what), True, what)


def import_module(module: nn.Module, example: tuple = (), named: dict[str, object] | None = None) -> Imported:
    """An nn.Module called on `example` (forward's arguments in order) and `named` (by name), the
    others taking their defaults: parameters and buffers become leaves (requires_grad as in the
    module), the arguments leaves named after forward's parameters (requires_grad as the example
    tensors have it). The module runs in the mode it is in."""
    what = f"{type(module).__name__}.forward"
    try:
        bound = inspect.signature(module.forward).bind(*example, **(named or {}))
    except TypeError as e:
        raise ImportRefused(f"{what} does not take the example inputs: {e}") from None
    with torch.enable_grad():  # the code's gradients, whatever the caller's grad mode
        return _import(module, _arguments(bound, what), False, what)
