"""The initialiser catalogue: one declarative entry per init function a tensor node may name.

A tensor node holds either a literal value or an init spec such as
{"fn": "randn", "shape": [2, 3], "seed": 0}. Everything about one init function lives in its
`InitSpec`: its parameters (kinds as graph.ops.Attr), the shape it makes, the torch expression
the generated code uses, its values in plain Python where they are exact, and the spec a leaf
switched to it starts from. Validation (graph.values.init_shape), code generation
(autograd_bridge.codegen.leaf_expr), the inspector and the docs read INITS; adding an init is
one entry, and a test may register one with monkeypatch.setitem.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from graph.errors import ValueSpecError
from graph.limits import INT64_MAX, MAX_ELEMENTS, check_shape, check_size, count_text, short
from graph.ops import DTYPES, FLOAT_DTYPES, Attr

# (resolved params) -> the shape made; raises ValueSpecError. Parameters reach it checked
# against their kinds (graph.values.init_shape), defaults filled in.
ShapeRule = Callable[[dict[str, object]], tuple[int, ...]]
# (each resolved param as source text, lists as tuples; the dtype as source text such as
# "torch.float32"; the shape made, each size as source text) -> the torch expression making the
# tensor on `device`. All source text comes from autograd_bridge.codegen.literal: no number is
# formatted here.
Expression = Callable[[dict[str, str], str, tuple[str, ...]], str]
# (resolved params, shape) -> every element as a float, row-major; exact, in plain Python.
Values = Callable[[dict[str, object], tuple[int, ...]], list[float]]


@dataclass(frozen=True)
class InitSpec:
    name: str
    function: str  # the torch callable, for docs and tooltips
    params: tuple[Attr, ...]
    shape: ShapeRule
    expr: Expression
    # None: the values are random, known only by running torch.
    values: Values | None
    # A shape -> the parameters (besides "fn") of a spec making that shape, or the nearest one.
    default: Callable[[tuple[int, ...]], dict[str, object]]
    doc: str = ""
    # Every value is finite, whatever the (checked) parameters: the engine's NaN/Inf check
    # need not read such a leaf. Not arange / linspace: their steps are worked out in the dtype.
    always_finite: bool = False
    # The leaf dtypes it can make (graph.ops.DTYPES): random normal values are floating only;
    # an int64 tensor takes integer parameters (graph.values.init_shape checks them).
    dtypes: tuple[str, ...] = FLOAT_DTYPES

    @property
    def random(self) -> bool:
        """Its numbers are a generator's draws in the leaf's own dtype: a dtype override converts
        them rather than drawing others (autograd_bridge.codegen.leaf_expr)."""
        return self.values is None

    def param(self, name: object) -> Attr | None:
        return next((a for a in self.params if a.name == name), None)

    def resolved(self, init: dict) -> dict[str, object]:
        """Every parameter, the given ones overlaying the defaults, in catalogue order."""
        return {a.name: init.get(a.name, a.default) for a in self.params}


def resolved_init(init: dict) -> dict[str, object]:
    """Every parameter of an init spec, defaults filled in (the spec's fn must be known)."""
    return INITS[init["fn"]].resolved(init)


def default_init(fn: str, shape: tuple[int, ...]) -> dict[str, object]:
    """An init spec for `fn` that keeps the given shape where it can."""
    return {"fn": fn, **INITS[fn].default(tuple(shape))}


# ---- shape rules ----

def _shaped(p: dict[str, object]) -> tuple[int, ...]:
    return check_shape(p["shape"])


def _random_shape(p: dict[str, object]) -> tuple[int, ...]:
    return check_shape(p["shape"])  # the seed's range is _SEED's, checked with every parameter


def _randint_shape(p: dict[str, object]) -> tuple[int, ...]:
    if p["low"] >= p["high"]:
        raise ValueSpecError(f"init 'randint' needs low < high, not low {short(p['low'])} and high {short(p['high'])}")
    return _random_shape(p)


def _eye_shape(p: dict[str, object]) -> tuple[int, ...]:
    shape = check_shape(p["shape"])
    if len(shape) not in (1, 2):
        raise ValueSpecError("init 'eye' needs a shape of [n] or [n, m]")
    square = shape if len(shape) == 2 else (shape[0], shape[0])
    check_size(square)  # [n] makes n × n elements
    return square


def _reshaped(fn: str, count: int, shape: object) -> tuple[int, ...]:
    """A 1-D count of elements, laid out in `shape` if one is given."""
    if shape is None:
        return (count,)
    dims = check_shape(shape)
    if math.prod(dims) != count:
        raise ValueSpecError(f"init '{fn}' makes {count} elements, which do not fit shape {list(dims)}")
    return dims


def _arange_shape(p: dict[str, object]) -> tuple[int, ...]:
    start, end, step = p["start"], p["end"], p["step"]
    if step == 0:
        raise ValueSpecError("init 'arange' needs a non-zero step")
    rising, falling = end > start, end < start
    if (rising and step < 0) or (falling and step > 0):  # torch refuses these
        raise ValueSpecError(
            f"init 'arange' goes from {short(start)} to {short(end)}, so its step "
            f"must be {'positive' if rising else 'negative'}, not {short(step)}")
    if abs(end - start) + abs(step) > INT64_MAX:  # torch's integer arange sums them in int64 (and gets 0 elements)
        raise ValueSpecError(f"init 'arange': the range {short(start)} to {short(end)} plus the step "
                             f"{short(step)} must fit an int64")
    where = f"init 'arange' from {short(start)} to {short(end)} by {short(step)}"
    try:
        count = max(0, math.ceil((end - start) / step))
    except OverflowError:  # (end - start) / step is beyond float range
        raise ValueSpecError(f"{where} makes more elements than a float can count") from None
    if count > MAX_ELEMENTS:
        raise ValueSpecError(f"{where} makes {count_text(count)} elements, more than the limit of {MAX_ELEMENTS:,}")
    return _reshaped("arange", count, p["shape"])


def _linspace_shape(p: dict[str, object]) -> tuple[int, ...]:
    if p["steps"] < 0:
        raise ValueSpecError("init 'linspace' needs steps >= 0")
    check_size([p["steps"]])
    return _reshaped("linspace", p["steps"], p["shape"])


# ---- exact values ----

def _filled(value: Callable[[dict[str, object]], float]) -> Values:
    return lambda p, shape: [float(value(p))] * math.prod(shape)


def _eye_values(_p: dict[str, object], shape: tuple[int, ...]) -> list[float]:
    cols = shape[1]
    return [1.0 if i // cols == i % cols else 0.0 for i in range(math.prod(shape))]


def _arange_values(p: dict[str, object], shape: tuple[int, ...]) -> list[float]:
    return [float(p["start"] + i * p["step"]) for i in range(math.prod(shape))]


def _linspace_values(p: dict[str, object], shape: tuple[int, ...]) -> list[float]:
    start, end, steps = p["start"], p["end"], p["steps"]
    return [float(start + (end - start) * i / (steps - 1)) if steps > 1 else float(start)
            for i in range(math.prod(shape))]


# ---- the catalogue ----

_NUMBERS = (*FLOAT_DTYPES, "int64")  # inits whose numbers may be integers; not bool
_SHAPE = Attr("shape", "ints", None, required=True, doc="the tensor's shape")
_SEED = Attr("seed", "int", 0, doc="seed of the CPU generator the values are drawn from",
             minimum=0, maximum=INT64_MAX)  # as the graph's own seed (graph.fileformat)
_LAYOUT = Attr("shape", "ints", None, doc="lay the 1-D result out in this shape")


def _shape_only(fn: str, doc: str) -> InitSpec:
    return InitSpec(fn, f"torch.{fn}", (_SHAPE,), _shaped,
                    lambda a, dt, _s: f"torch.{fn}({a['shape']}, dtype={dt}, device=device)",
                    _filled(lambda _p: 1.0 if fn == "ones" else 0.0),
                    lambda shape: {"shape": list(shape)}, doc, always_finite=True, dtypes=DTYPES)


def _random(fn: str, doc: str) -> InitSpec:
    # Drawn on the CPU from a seeded generator, so every device gets the same numbers.
    return InitSpec(fn, f"torch.{fn}", (_SHAPE, _SEED), _random_shape,
                    lambda a, dt, _s: (f"torch.{fn}({a['shape']}, generator=torch.Generator()"
                                       f".manual_seed({a['seed']}), dtype={dt}).to(device)"),
                    None, lambda shape: {"shape": list(shape)}, doc, always_finite=True)


def _laid_out(expr: str, a: dict[str, str]) -> str:
    return expr if a["shape"] == "None" else f"{expr}.reshape({a['shape']})"


def _eye_default(shape: tuple[int, ...]) -> dict[str, object]:
    s = list(shape)
    return {"shape": s if len(s) in (1, 2) else s[-2:] if len(s) > 2 else [1]}


INITS: dict[str, InitSpec] = {spec.name: spec for spec in [
    _shape_only("zeros", "every element 0"),
    _shape_only("ones", "every element 1"),
    InitSpec("full", "torch.full",
             (_SHAPE, Attr("fill_value", "number", None, required=True, doc="every element's value")),
             _shaped,
             lambda a, dt, _s: f"torch.full({a['shape']}, {a['fill_value']}, dtype={dt}, device=device)",
             _filled(lambda p: p["fill_value"]),
             lambda shape: {"shape": list(shape), "fill_value": 1.0}, "every element fill_value",
             always_finite=True, dtypes=_NUMBERS),  # fill_value is checked to fit the dtype
    _random("randn", "normal samples, mean 0 and variance 1"),
    _random("rand", "uniform samples from [0, 1)"),
    InitSpec("arange", "torch.arange",
             (Attr("end", "number", None, required=True, doc="where the values stop (excluded)"),
              Attr("start", "number", 0, doc="the first value"),
              Attr("step", "number", 1, doc="the gap between values"), _LAYOUT),
             _arange_shape,
             lambda a, dt, _s: _laid_out(
                 f"torch.arange({a['start']}, {a['end']}, {a['step']}, dtype={dt}, device=device)", a),
             _arange_values,
             lambda shape: {"end": math.prod(shape), "shape": list(shape)},
             "start, start + step, … up to end", dtypes=_NUMBERS),
    InitSpec("linspace", "torch.linspace",
             (Attr("start", "number", None, required=True, doc="the first value"),
              Attr("end", "number", None, required=True, doc="the last value"),
              Attr("steps", "int", None, required=True, doc="how many values"), _LAYOUT),
             _linspace_shape,
             lambda a, dt, _s: _laid_out(
                 f"torch.linspace({a['start']}, {a['end']}, {a['steps']}, dtype={dt}, device=device)", a),
             _linspace_values,
             lambda shape: {"start": 0.0, "end": 1.0, "steps": math.prod(shape), "shape": list(shape)},
             "steps evenly spaced values from start to end"),
    InitSpec("eye", "torch.eye",
             (Attr("shape", "ints", None, required=True, doc="[n] for n × n, or [n, m]"),),
             _eye_shape,
             lambda _a, dt, s: f"torch.eye({', '.join(s)}, dtype={dt}, device=device)",
             _eye_values, _eye_default, "ones on the diagonal, zeros elsewhere", always_finite=True,
             dtypes=DTYPES),
    InitSpec("randint", "torch.randint",
             (Attr("high", "int", None, required=True, doc="one above the largest value"),
              Attr("low", "int", 0, doc="the smallest value"), _SHAPE, _SEED),
             _randint_shape,
             lambda a, dt, _s: (f"torch.randint({a['low']}, {a['high']}, {a['shape']}, generator=torch.Generator()"
                                f".manual_seed({a['seed']}), dtype={dt}).to(device)"),
             None, lambda shape: {"high": 10, "shape": list(shape)},
             "integers drawn uniformly from low to high − 1 (class targets, indices)", always_finite=True,
             dtypes=("int64",)),  # a float holds every integer only up to 2**24 (float32): int64 only
]}
