"""Lowering recorded torch calls to catalogue ops: one Python function per torch call, written
with torch's own signature, so torch's argument binding (positional or keyword) is Python's.
(~600 lines, one piece: the table of lowerings, one per torch call, read as one list.)

autograd_bridge.fx_import records calls (by torch.fx or by watching one real run) and hands each
one that reaches the result to `Builder.lower`. A lowering gets graph tensors as `Ref`s (a node
id and the tensor the real run computed there) and everything else as the real Python value,
so shapes come out as concrete numbers. A call not in the table is refused, naming its line.
"""

from __future__ import annotations

import dataclasses
import math
import operator
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F

from autograd_bridge.fx_script import ImportRefused
from autograd_bridge.literals import literal_of
from graph.edits import unique_id
from graph.errors import ValueSpecError
from graph.model import Edge, Graph, Node
from graph.ops import DTYPES, OPS, TENSOR


@dataclass(frozen=True)
class Ref:
    """A tensor of the graph: the node computing it and the value the real run gave it."""

    id: str
    value: torch.Tensor


@dataclass(frozen=True)
class Unlowered:
    """A result of a call that the graph does not hold (the indices of max with a dim): a call
    that uses it is refused with `why`."""

    why: str


LOWER: dict[object, object] = {}  # torch function, "method:NAME" or nn.Module class -> lowering


def lowers(*keys: object):  # noqa: ANN201 - a decorator
    def register(fn):  # noqa: ANN001, ANN202
        for key in keys:
            LOWER[key] = fn
        return fn
    return register


# Index tensors in these dtypes are held as int64: torch's indexing ops take either, with the same numbers.
_SMALL_INTS = (torch.int8, torch.int16, torch.int32)
_MINUS_INF_HINT = ("; in a mask use a large negative number such as -1e9 instead (softmax gives the same "
                   "numbers), or is_causal=True in F.scaled_dot_product_attention for a causal one")


class Builder:
    """Builds the graph, one lowered call at a time. `where` and `name` describe the call now
    being lowered (for messages and node ids); `out` is what the real run returned for it."""

    def __init__(self) -> None:
        self.graph = Graph()
        self.leaves: dict[object, Ref] = {}  # inputs by name; parameters and buffers by id(tensor)
        self.state_names: dict[int, str] = {}  # id of a module's parameter or buffer -> its name
        # The state's names and their modules' (`fc.weight`, `fc`): no other node takes them, so
        # an argument named like a parameter or a submodule is the one renamed.
        self.reserved: frozenset[str] = frozenset()
        self.where = ""
        self.name = "n"
        self.out: object = None
        self.notes: list[str] = []
        self.node_notes: dict[str, str] = {}  # notes that hold while their node is in the graph
        # The nn.Module calls the call now being lowered runs in, outermost first, as fx keys them
        # ("layer1", "layer1.0"; "a@1" for a's second call): the groups on import.
        self.module: tuple[str, ...] = ()
        self.module_of: dict[str, tuple[str, ...]] = {}  # node id -> the module calls it was made in
        self.made: list[str] = []  # the nodes made by the call now being lowered

    def refuse(self, what: str) -> ImportRefused:
        return ImportRefused(f"{self.where}: {what}" if self.where else what)

    def name_state(self, state_names: dict[int, str]) -> None:
        self.state_names = state_names
        parts = [name.split(".") for name in state_names.values()]
        self.reserved = frozenset(".".join(p[:i]) for p in parts for i in range(1, len(p) + 1))

    def _new_id(self, base: str) -> str:
        """A new node's id, not one the state's names take."""
        return unique_id(self.graph, base, self.reserved)

    def _add(self, node: Node) -> None:
        try:
            node.check()
        except ValueSpecError as e:
            raise self.refuse(e.message) from None
        self.graph.add_node(node)
        self.made.append(node.id)
        if self.module:
            self.module_of[node.id] = self.module

    @staticmethod
    def tensor_data(t: torch.Tensor) -> dict:
        """A leaf's numbers as a node holds them: a literal, or for an empty tensor an init of its
        shape (the literal [] of a [0, 3] tensor would read back as shape [0])."""
        if t.numel() == 0:
            return {"init": {"fn": "zeros", "shape": list(t.shape)}}
        return {"value": literal_of(t)}

    def held(self, t: torch.Tensor, what: str, number: bool = False) -> tuple[torch.Tensor, str]:
        """t as a graph holds it, with its dtype's name: an int8, int16 or int32 tensor as int64
        (noted); refused, naming `what` (the argument x, a constant tensor) and the line, in a dtype
        no graph holds or holding a NaN or an infinity."""
        name = str(t.dtype).removeprefix("torch.")
        if t.dtype in _SMALL_INTS:
            note = (f"{self.where + ': ' if self.where else ''}{what}: an {name} tensor, taken as int64 (graphs hold "
                    f"{', '.join(DTYPES)} tensors; torch indexes with either)")
            self.notes += [note] if note not in self.notes else []
            t, name = t.long(), "int64"
        if name not in DTYPES:
            raise self.refuse(f"{what}: a {name} tensor: graphs hold {', '.join(DTYPES)} tensors only")
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            bad = "nan" if bool(t.isnan().any()) else "-inf" if bool((t == -math.inf).any()) else "inf"
            raise self.refuse(f"{what}{':' if number else f' holds {bad}:'} a graph holds finite numbers only"
                              + (_MINUS_INF_HINT if bad == "-inf" else ""))
        return t, name

    def leaf(self, name: str, tensor: torch.Tensor, requires_grad: bool, what: str = "") -> Ref:
        """A named leaf (an argument, a parameter, a buffer), made once, holding its value. A
        module's parameter or buffer is one leaf however many names reach it (tied weights),
        named by its first qualified name (`state_names`, as named_parameters() names it) and
        grouped in that name's module, so every use feeds it and its partial is the whole
        gradient. `what` names it in messages (the argument x; default: its name)."""
        state = self.state_names.get(id(tensor))
        key = name if state is None else id(tensor)
        if key not in self.leaves:
            name = state or name
            t, dtype = self.held(tensor.detach(), what or name)
            if requires_grad and not t.is_floating_point():
                requires_grad = False
            node = Node(unique_id(self.graph, name) if state else self._new_id(name), TENSOR,
                        **self.tensor_data(t), dtype=dtype, requires_grad=requires_grad, label=name)
            calling = self.module
            self.module = module_chain(name.rpartition(".")[0]) if state is not None else calling
            try:
                self._add(node)
            finally:
                self.module = calling
            self.leaves[key] = Ref(node.id, t)
        return self.leaves[key]

    def const(self, value: object, like: Ref | None = None, what: str = "constant") -> Ref:
        """A tensor (or number) that does not depend on the graph's leaves, as a leaf without
        grad; a number takes the dtype of the tensor it meets."""
        if isinstance(value, Ref):
            return value
        if isinstance(value, Unlowered):
            raise self.refuse(value.why)
        if isinstance(value, bool) or not isinstance(value, int | float | torch.Tensor):
            raise self.refuse(f"{type(value).__name__} where a tensor was expected")
        like_dtype = like.value.dtype if like is not None and like.value.is_floating_point() else torch.float32
        t = value.detach() if isinstance(value, torch.Tensor) else torch.tensor(float(value), dtype=like_dtype)
        label = f"{float(value):g}" if not isinstance(value, torch.Tensor) else f"{what} of {self.name}"
        number = not isinstance(value, torch.Tensor)
        t, dtype = self.held(t, f"the number {label}" if number else {
            "constant": "a constant tensor it reads", "no_grad": "a value computed under torch.no_grad()",
            "detached": "a detached value"}.get(what, f"the {label}"), number)
        # A Python number is written whole (6 ** 0.5 as 2.449489742783178, not float32's 2.4494898):
        # run in float32 it rounds as torch rounds it; in float64 (--dtype) it is the number itself.
        data = {"value": float(value)} if number else self.tensor_data(t)
        node = Node(self._new_id(f"{self.name}_{what}"), TENSOR, **data, dtype=dtype, label=label)
        self._add(node)
        return Ref(node.id, t)

    def op(self, op: str, inputs: dict[str, object], attrs: dict[str, object] | None = None,
           value: torch.Tensor | None = None) -> Ref:
        """One op node fed by `inputs` (Refs, or constants made into leaves); an optional port
        given None is left unfed (torch's None: linear without bias)."""
        spec = OPS.get(op)
        if spec is None:
            raise self.refuse(f"{op} is not in the catalogue yet")
        inputs = {p: v for p, v in inputs.items() if v is not None or p not in spec.optional_inputs}
        given = {k: v for k, v in (attrs or {}).items() if spec.attr(k) is not None and
                 (spec.attr(k).required or v != spec.attr(k).default)}
        node = Node(self._new_id(self.name), op, attrs=given)
        first = next((v for v in inputs.values() if isinstance(v, Ref)), None)
        refs = {port: self.const(v, first) for port, v in inputs.items()}
        self._add(node)
        for port, ref in refs.items():
            self.graph.add_edge(Edge(ref.id, node.id, port))
        out = value if value is not None else self.out
        if not isinstance(out, torch.Tensor):
            raise self.refuse(f"{op} gave {type(out).__name__}, not a tensor")
        return Ref(node.id, out.detach())

    def lower(self, key: object, args: tuple, kwargs: dict) -> object:
        """The lowered value of one call: a Ref, a tuple of Refs, or a plain value."""
        self.made = []
        fn = LOWER.get(key)
        if fn is None:
            raise self.refuse(f"{describe(key)} is not in the catalogue")
        hidden = next((a for a in (*args, *kwargs.values()) if isinstance(a, Unlowered)), None)
        if hidden is not None:
            raise self.refuse(hidden.why)
        try:
            return fn(self, *args, **kwargs)
        except TypeError as e:  # the call's arguments do not fit torch's signature as written here
            raise self.refuse(f"{describe(key)}: {e}") from None

    def lower_module_call(self, call: str, key: type, args: tuple, kwargs: dict) -> object:
        """A standard module's call, `call` as fx keys it (`a`; `a@1` for its second call): the node
        it makes named after the module in call order (a_1, a_2; a single call `fc`, or `fc_1`
        where the module's group takes `fc`) and titled by the call ('a', 'a #2')."""
        path, _, calls_before = call.partition("@")
        stem, k = path.replace(".", "_"), int(calls_before or 0) + 1
        self.name = stem if k == 1 and stem not in self.reserved else f"{stem}_{k}"
        result = self.lower(key, args, kwargs)
        node = self.graph.nodes.get(result.id) if isinstance(result, Ref) and result.id in self.made else None
        if node is not None and not node.is_tensor and node.label is None and node.id != call_title(call):
            self.graph.replace_node(dataclasses.replace(node, label=call_title(call)))
        return result


def module_chain(path: str) -> tuple[str, ...]:
    """The modules a parameter's module is in, outermost first: 'layer1.0' -> ('layer1', 'layer1.0')."""
    parts = path.split(".") if path else []
    return tuple(".".join(parts[:i]) for i in range(1, len(parts) + 1))


def call_title(call: str) -> str:
    """A module call as people read it, short enough for a node's header: 'a' for its first call,
    'a #2' for its second (fx's 'a@1')."""
    path, _, calls_before = call.partition("@")
    return f"{path} #{int(calls_before) + 1}" if calls_before.isdigit() else call


def describe(key: object) -> str:
    if isinstance(key, str):
        return f"the method .{key.removeprefix('method:')}()"
    if isinstance(key, type):
        return f"the module nn.{key.__name__}"
    module = getattr(key, "__module__", None) or ""
    name = getattr(key, "__name__", repr(key))
    if module in ("_operator", "operator"):
        return f"the operator {name}"
    # The name the code wrote: torch.einsum, not torch.functional.einsum where it is defined.
    if getattr(torch.nn.functional, name, None) is key:
        return f"F.{name}"
    if getattr(torch, name, None) is key:
        return f"torch.{name}"
    for public in ("linalg", "special", "fft"):  # torch.linalg.norm is torch._C._linalg.linalg_norm
        short_name = name.removeprefix(f"{public}_")
        if getattr(getattr(torch, public), short_name, None) is key:
            return f"torch.{public}.{short_name}"
    short = {"torch.nn.functional": "F", "torch._C._nn": "F", "torch._C._VariableFunctions": "torch"}
    return f"{short.get(module, module or 'torch')}.{name}"


def _value(x: object) -> torch.Tensor:
    return x.value if isinstance(x, Ref) else x


def _ints(v: object) -> list[int]:
    return [int(v)] if isinstance(v, int) else [int(x) for x in v]


def _dims(v: object) -> object:
    return None if v is None else int(v) if isinstance(v, int) else _ints(v)


def _pair(v: object, n: int = 2) -> list[int]:
    return [int(v)] * n if isinstance(v, int) else _ints(v)


# ---- arithmetic: numbers become constant leaves ----

def _scaled(b: Builder, other: object, alpha: object) -> object:
    if alpha == 1:
        return other
    if isinstance(other, Ref):
        return b.op("mul", {"input": other, "other": b.const(alpha, other)}, value=other.value * alpha)
    return other * alpha


# In-place methods (`h = h.add_(x)`) lower as `h += x` does: fx_inplace refuses a later read of
# what they changed.
@lowers(torch.add, operator.add, operator.iadd, "method:add", "method:__add__", "method:__radd__",
        "method:__iadd__", "method:add_")
def _add(b: Builder, input, other, *, alpha=1, out=None):  # noqa: ANN001, ANN202
    return b.op("add", {"input": input, "other": _scaled(b, other, alpha)})


@lowers(torch.sub, operator.sub, operator.isub, "method:sub", "method:__sub__", "method:__isub__", "method:sub_")
def _sub(b: Builder, input, other, *, alpha=1, out=None):  # noqa: ANN001, ANN202
    return b.op("sub", {"input": input, "other": _scaled(b, other, alpha)})


@lowers(torch.rsub, "method:__rsub__")
def _rsub(b: Builder, input, other, *, alpha=1):  # noqa: ANN001, ANN202
    return b.op("sub", {"input": other, "other": _scaled(b, input, alpha)})


@lowers(torch.mul, operator.mul, operator.imul, "method:mul", "method:__mul__", "method:__rmul__",
        "method:__imul__", "method:mul_")
def _mul(b: Builder, input, other, *, out=None):  # noqa: ANN001, ANN202
    return b.op("mul", {"input": input, "other": other})


@lowers(torch.div, torch.true_divide, operator.truediv, operator.itruediv, "method:div",
        "method:__truediv__", "method:__itruediv__", "method:true_divide", "method:div_", "method:true_divide_")
def _div(b: Builder, input, other, *, rounding_mode=None, out=None):  # noqa: ANN001, ANN202
    if rounding_mode is not None:
        raise b.refuse(f"division with rounding_mode={rounding_mode!r} has no gradient to follow")
    return b.op("div", {"input": input, "other": other})


@lowers("method:__rtruediv__")
def _rdiv(b: Builder, input, other):  # noqa: ANN001, ANN202
    return b.op("div", {"input": other, "other": input})


@lowers(torch.neg, operator.neg, "method:neg", "method:__neg__", "method:neg_")
def _neg(b: Builder, input, *, out=None):  # noqa: ANN001, ANN202
    return b.op("neg", {"input": input})


@lowers(torch.pow, operator.pow, operator.ipow, "method:pow", "method:__pow__", "method:__ipow__", "method:pow_")
def _pow(b: Builder, input, exponent, *, out=None):  # noqa: ANN001, ANN202
    if isinstance(exponent, Ref | torch.Tensor):  # the exponent port, while the attribute is null
        return b.op("pow", {"input": input, "exponent": exponent}, {"exponent": None})
    return b.op("pow", {"input": input}, {"exponent": exponent})


@lowers("method:__rpow__")
def _rpow(b: Builder, input, other):  # noqa: ANN001, ANN202 - other ** input
    return _pow(b, other, input)


@lowers(torch.matmul, torch.mm, torch.bmm, operator.matmul, "method:matmul", "method:__matmul__",
        "method:mm", "method:bmm")
def _matmul(b: Builder, input, other=None, *, out=None, mat2=None):  # noqa: ANN001, ANN202
    return b.op("matmul", {"input": input, "other": other if mat2 is None else mat2})


@lowers(torch.maximum, "method:maximum")
def _maximum(b: Builder, input, other, *, out=None):  # noqa: ANN001, ANN202
    return b.op("maximum", {"input": input, "other": other})


@lowers(torch.minimum, "method:minimum")
def _minimum(b: Builder, input, other, *, out=None):  # noqa: ANN001, ANN202
    return b.op("minimum", {"input": input, "other": other})


def _unary(op: str, *keys: object) -> None:
    def lower(b: Builder, input, *, out=None, inplace=False):  # noqa: ANN001, ANN202
        return b.op(op, {"input": input})
    lowers(*keys)(lower)


for _name in ("exp", "log", "sqrt", "abs", "sin", "cos", "square", "rsqrt", "reciprocal", "erf", "log1p",
              "expm1", "tanh", "sigmoid", "relu"):
    _unary(_name, getattr(torch, _name), f"method:{_name}", f"method:{_name}_")
_unary("relu", F.relu, torch.relu_)
_unary("tanh", F.tanh)
_unary("sigmoid", F.sigmoid)
_unary("silu", F.silu)
_unary("abs", operator.abs, "method:__abs__")
_unary("gelu", "method:gelu")


@lowers(torch.clamp, torch.clip, "method:clamp", "method:clip", "method:clamp_", "method:clip_")
def _clamp(b: Builder, input, min=None, max=None, *, out=None):  # noqa: A002, ANN001, ANN202
    if isinstance(min, Ref | torch.Tensor) or isinstance(max, Ref | torch.Tensor):
        raise b.refuse("clamp with tensor bounds is not in the catalogue (only numbers)")
    return b.op("clamp", {"input": input}, {"min": min, "max": max})


# ---- activations ----

@lowers(torch.softmax, F.softmax, "method:softmax")
def _softmax(b: Builder, input, dim=None, _stacklevel=3, dtype=None):  # noqa: ANN001, ANN202
    return b.op("softmax", {"input": input}, {"dim": int(dim if dim is not None else -1)})


@lowers(torch.log_softmax, F.log_softmax, "method:log_softmax")
def _log_softmax(b: Builder, input, dim=None, _stacklevel=3, dtype=None):  # noqa: ANN001, ANN202
    return b.op("log_softmax", {"input": input}, {"dim": int(dim if dim is not None else -1)})


@lowers(F.gelu)
def _gelu(b: Builder, input, approximate="none"):  # noqa: ANN001, ANN202
    return b.op("gelu", {"input": input}, {"approximate": approximate})


@lowers(F.leaky_relu)
def _leaky_relu(b: Builder, input, negative_slope=0.01, inplace=False):  # noqa: ANN001, ANN202
    return b.op("leaky_relu", {"input": input}, {"negative_slope": float(negative_slope)})


@lowers(F.elu)
def _elu(b: Builder, input, alpha=1.0, inplace=False):  # noqa: ANN001, ANN202
    return b.op("elu", {"input": input}, {"alpha": float(alpha)})


@lowers(F.softplus)
def _softplus(b: Builder, input, beta=1.0, threshold=20.0):  # noqa: ANN001, ANN202
    return b.op("softplus", {"input": input}, {"beta": float(beta), "threshold": float(threshold)})


@lowers(F.hardtanh)
def _hardtanh(b: Builder, input, min_val=-1.0, max_val=1.0, inplace=False):  # noqa: ANN001, ANN202
    return b.op("hardtanh", {"input": input}, {"min_val": float(min_val), "max_val": float(max_val)})


@lowers(F.relu6)
def _relu6(b: Builder, input, inplace=False):  # noqa: ANN001, ANN202
    return b.op("hardtanh", {"input": input}, {"min_val": 0.0, "max_val": 6.0})


# ---- reductions ----

def _reduction(op: str, *keys: object) -> None:
    def lower(b: Builder, input, dim=None, keepdim=False, *, dtype=None, out=None):  # noqa: ANN001, ANN202
        if dtype is not None:
            raise b.refuse(f"{op} with dtype= is not in the catalogue")
        return b.op(op, {"input": input}, {"dim": _dims(dim), "keepdim": bool(keepdim)})
    lowers(*keys)(lower)


for _name in ("sum", "mean", "amax", "amin", "logsumexp"):
    _reduction(_name, getattr(torch, _name), f"method:{_name}")


@lowers(torch.prod, "method:prod")
def _prod(b: Builder, input, dim=None, keepdim=False, *, dtype=None):  # noqa: ANN001, ANN202
    return b.op("prod", {"input": input}, {"dim": dim, "keepdim": bool(keepdim)})


class ValuesIndices(NamedTuple):
    """What max and min with a dim return: the values (a node) and the indices (not in the graph)."""

    values: object
    indices: object


def _extremum(op: str, whole: str, pairwise: str, *keys: object) -> None:
    def lower(b: Builder, input, dim=None, keepdim=False, *, out=None):  # noqa: ANN001, ANN202
        if isinstance(dim, Ref | torch.Tensor):  # torch.max(x, y): elementwise
            return b.op(pairwise, {"input": input, "other": dim})
        if dim is None:
            return b.op(whole, {"input": input})
        values = b.op(op, {"input": input}, {"dim": int(dim), "keepdim": bool(keepdim)}, value=b.out[0])
        return ValuesIndices(values, Unlowered(f"the indices of {op} with a dim are not in the catalogue "
                                               "(its values are)"))
    lowers(*keys)(lower)


_extremum("max", "amax", "maximum", torch.max, "method:max")
_extremum("min", "amin", "minimum", torch.min, "method:min")


@lowers(torch.cumsum, "method:cumsum")
def _cumsum(b: Builder, input, dim, *, dtype=None, out=None):  # noqa: ANN001, ANN202
    if dtype is not None:
        raise b.refuse("cumsum with dtype= is not in the catalogue")
    return b.op("cumsum", {"input": input}, {"dim": int(dim)})


def _spread(op: str, *keys: object) -> None:
    def lower(b: Builder, input, dim=None, unbiased=None, keepdim=False, *, correction=None):  # noqa: ANN001, ANN202
        if isinstance(dim, bool):  # torch.var(x, False): the old unbiased-only form
            dim, unbiased = None, dim
        corr = correction if correction is not None else (0 if unbiased is False else 1)
        return b.op(op, {"input": input}, {"dim": _dims(dim), "correction": corr, "keepdim": bool(keepdim)})
    lowers(*keys)(lower)


_spread("var", torch.var, "method:var")
_spread("std", torch.std, "method:std")


@lowers(torch.linalg.vector_norm)
def _vector_norm(b: Builder, x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):  # noqa: A002, ANN001, ANN202
    if not isinstance(ord, int | float) or not math.isfinite(ord):
        raise b.refuse(f"vector_norm with ord={ord} is not in the catalogue (finite numbers only)")
    return b.op("vector_norm", {"input": x}, {"ord": ord, "dim": _dims(dim), "keepdim": bool(keepdim)})


@lowers(torch.norm, "method:norm")
def _norm(b: Builder, input, p="fro", dim=None, keepdim=False, out=None, dtype=None):  # noqa: ANN001, ANN202
    return _vector_norm(b, input, 2 if p == "fro" else p, dim, keepdim)


# ---- comparisons (bool results, no gradient) and where ----

def _compare(op: str, *keys: object) -> None:
    def lower(b: Builder, input, other, *, out=None):  # noqa: ANN001, ANN202
        return b.op(op, {"input": input, "other": other})
    lowers(*keys)(lower)


for _name, _operator in (("gt", operator.gt), ("ge", operator.ge), ("lt", operator.lt), ("le", operator.le),
                         ("eq", operator.eq)):
    _compare(_name, getattr(torch, _name), _operator, f"method:{_name}", f"method:__{_name}__")
_compare("gt", torch.greater)
_compare("lt", torch.less)


@lowers(torch.where, "method:where")
def _where(b: Builder, condition, input=None, other=None):  # noqa: ANN001, ANN202
    if input is None:
        raise b.refuse("torch.where(condition) returns indices: not in the catalogue")
    return b.op("where", {"condition": condition, "input": input, "other": other})


@lowers(torch.zeros_like, torch.ones_like, torch.full_like, "method:new_zeros", "method:new_ones", "method:new_full")
def _filled_like(b: Builder, *_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
    # Its values depend on no leaf's values (only on a shape the example fixed): a constant.
    return b.const(b.out)


@lowers(torch.masked_fill, "method:masked_fill")
def _masked_fill(b: Builder, input, mask, value):  # noqa: ANN001, ANN202
    # What masked_fill computes, its gradient included (none to the filled entries): a where,
    # the value in input's dtype as masked_fill takes it (an attention mask's -1e9; not -inf,
    # which no file holds).
    return b.op("where", {"condition": mask, "input": b.const(value, input), "other": input})


# ---- losses ----

def _reduction_only(b: Builder, size_average: object, reduce: object) -> None:
    if size_average is not None or reduce is not None:
        raise b.refuse("size_average and reduce are deprecated in torch: use reduction=")


def _pair_loss(op: str, key: object) -> None:
    def lower(b: Builder, input, target, size_average=None, reduce=None, reduction="mean", weight=None):  # noqa: ANN001, ANN202
        _reduction_only(b, size_average, reduce)
        if weight is not None:
            raise b.refuse(f"{op} with weight= is not in the catalogue")
        return b.op(op, {"input": input, "target": target}, {"reduction": reduction})
    lowers(key)(lower)


_pair_loss("mse_loss", F.mse_loss)
_pair_loss("l1_loss", F.l1_loss)


@lowers(F.smooth_l1_loss)
def _smooth_l1(b: Builder, input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):  # noqa: ANN001, ANN202
    _reduction_only(b, size_average, reduce)
    return b.op("smooth_l1_loss", {"input": input, "target": target}, {"reduction": reduction, "beta": float(beta)})


@lowers(F.huber_loss)
def _huber(b: Builder, input, target, reduction="mean", delta=1.0, weight=None):  # noqa: ANN001, ANN202
    if weight is not None:
        raise b.refuse("huber_loss with weight= is not in the catalogue")
    return b.op("huber_loss", {"input": input, "target": target}, {"reduction": reduction, "delta": float(delta)})


@lowers(F.binary_cross_entropy_with_logits)
def _bce_logits(b: Builder, input, target, weight=None, size_average=None, reduce=None, reduction="mean",  # noqa: ANN001, ANN202
                pos_weight=None):
    _reduction_only(b, size_average, reduce)
    if weight is not None or pos_weight is not None:
        raise b.refuse("binary_cross_entropy_with_logits with weight or pos_weight is not in the catalogue")
    return b.op("binary_cross_entropy_with_logits", {"input": input, "target": target}, {"reduction": reduction})


@lowers(F.kl_div)
def _kl_div(b: Builder, input, target, size_average=None, reduce=None, reduction="mean", log_target=False):  # noqa: ANN001, ANN202
    _reduction_only(b, size_average, reduce)
    return b.op("kl_div", {"input": input, "target": target}, {"reduction": reduction, "log_target": bool(log_target)})


@lowers(F.cross_entropy)
def _cross_entropy(b: Builder, input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,  # noqa: ANN001, ANN202
                   reduction="mean", label_smoothing=0.0):
    _reduction_only(b, size_average, reduce)
    if weight is not None:
        raise b.refuse("cross_entropy with weight= is not in the catalogue")
    attrs = {"reduction": reduction, "label_smoothing": float(label_smoothing)}
    if ignore_index != -100:
        attrs["ignore_index"] = int(ignore_index)
    return b.op("cross_entropy", {"input": input, "target": target}, attrs)


@lowers(F.nll_loss)
def _nll_loss(b: Builder, input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,  # noqa: ANN001, ANN202
              reduction="mean"):
    _reduction_only(b, size_average, reduce)
    if weight is not None:
        raise b.refuse("nll_loss with weight= is not in the catalogue")
    return b.op("nll_loss", {"input": input, "target": target},
                {"reduction": reduction, "ignore_index": int(ignore_index)})
