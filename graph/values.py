"""Checks for the data a node carries: tensor literals, init specs and op attributes.

Each check returns the normalised value or raises ValueSpecError with a message that the
caller prefixes with the node id. Only plain JSON data passes: finite numbers, bools where a
bool is meant, strings from a fixed set. Nothing here evaluates anything.
"""

from __future__ import annotations

import json
import math
import sys

from graph.errors import ValueSpecError
from graph.ops import INIT_FNS, Attr, resolved_init

MAX_DIMS = 8
# Tensors with at most this many elements are written out in full (CLI table, node overlays);
# larger ones are shown as shape + norm and a preview.
INLINE_MAX = 8
# A guard against files that would allocate huge tensors: 2**26 elements is 256 MiB of float32.
MAX_ELEMENTS = 2**26
# torch takes integer arguments (seeds, indices, dims) as int64; a size beyond 2**31 per
# dimension cannot fit MAX_ELEMENTS anyway, so shapes are held to that.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_SIZE = 2**31
# The largest magnitude each dtype holds. A number at or beyond a dtype's overflow point becomes
# inf in a tensor (torch.tensor) or is refused by torch (torch.full), so files may not hold one.
# float32: the largest finite value is (2 - 2**-23) * 2**127; round-to-nearest sends everything
# from half an ulp above it, 2**128 - 2**103, to inf.
DTYPE_MAX = {"float32": 3.4028234663852886e38, "float64": sys.float_info.max}
_DTYPE_OVERFLOW = {"float32": 2**128 - 2**103}


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    if _is_int(v):  # JSON ints are unbounded; one a float cannot hold is not a finite number
        return abs(v) <= sys.float_info.max
    return isinstance(v, float) and math.isfinite(v)


def _short(v: object, width: int = 40) -> str:
    """repr(v) cut to about `width` characters, so a message keeps its point after the value."""
    text = repr(v)
    if len(text) <= width:
        return text
    return f"{text[:width - 12]}…{text[-8:]} ({len(text):,} characters)"


def fits_dtype(v: int | float, dtype: str | None) -> bool:
    """Whether a finite number stays finite in a tensor of this dtype (None: any float)."""
    limit = _DTYPE_OVERFLOW.get(dtype or "float64")
    if limit is None:
        return True
    try:  # torch turns a Python int into a double first, then into the dtype
        return abs(float(v)) < limit
    except OverflowError:
        return False


def _check_fits(v: int | float, dtype: str | None, what: str) -> None:
    if not fits_dtype(v, dtype):
        raise ValueSpecError(f"{what} {_short(v)}, beyond the range of {dtype} "
                             f"(±{DTYPE_MAX[dtype]:.8g}): it would become inf")


def literal_shape(value: object, depth: int = 0, dtype: str | None = None) -> tuple[int, ...]:
    """Shape of a number or a rectangular nested list of finite numbers.

    With a dtype, every number must also be within that dtype's range.
    """
    if depth > MAX_DIMS:
        raise ValueSpecError(f"value has more than {MAX_DIMS} dimensions")
    if _is_number(value):
        _check_fits(value, dtype, "value holds")
        return ()
    if isinstance(value, float) or _is_int(value):
        raise ValueSpecError(f"value holds {_short(value)}: only finite numbers are allowed")
    if not isinstance(value, list):
        raise ValueSpecError(
            f"value must be a number or a nested list of numbers, not {type(value).__name__}")
    shapes = {literal_shape(v, depth + 1, dtype) for v in value}
    if len(shapes) > 1:
        raise ValueSpecError("value is ragged: the nested lists have different lengths")
    inner = shapes.pop() if shapes else ()
    shape = (len(value), *inner)
    if depth == 0:
        _check_size(shape, "value")
    return shape


def check_ints(v: object, what: str, bound: int = INT64_MAX) -> list[int]:
    """A list of at most MAX_DIMS integers, each within ±bound."""
    if not isinstance(v, list) or not all(_is_int(i) for i in v):
        raise ValueSpecError(f"{what} must be a list of integers, not {_short(v)}")
    if len(v) > MAX_DIMS:
        raise ValueSpecError(f"{what} has more than {MAX_DIMS} entries")
    for i in v:
        if not -bound <= i <= bound:
            raise ValueSpecError(f"{what} holds {_short(i)}, beyond the limit of ±{bound:,}")
    return v


def check_shape(v: object, what: str = "shape") -> tuple[int, ...]:
    dims = check_ints(v, what, MAX_SIZE)
    if any(d < 0 for d in dims):
        raise ValueSpecError(f"{what} {dims} has a negative size")
    _check_size(dims)
    return tuple(dims)


def _check_size(shape: tuple[int, ...] | list[int], what: str = "shape") -> None:
    if math.prod(shape) > MAX_ELEMENTS:
        raise ValueSpecError(
            f"{what} {_short(list(shape))} has {math.prod(shape):,} elements, "
            f"more than the limit of {MAX_ELEMENTS:,}")


def _in_int64(v: int) -> bool:
    return INT64_MIN <= v <= INT64_MAX


def check_param(kind: str, v: object, what: str, choices: tuple[str, ...] = ()) -> object:
    """Check one attribute or init parameter value of the given kind.

    torch reads integer arguments as int64, so every integer (an "int", an entry of "ints" or
    "dims", an integer "number") must fit one; "ints" are shapes, held to ±MAX_SIZE.
    """
    if kind == "ints":
        return check_ints(v, what, MAX_SIZE)
    if kind == "dims":
        if v is None:
            return v
        if not _is_int(v):
            return check_ints(v, what)
        kind = "int"  # a single dim
    ok = {
        "int": _is_int(v) and _in_int64(v),
        "number": _is_number(v) and (not _is_int(v) or _in_int64(v)),
        "bool": isinstance(v, bool),
        "choice": isinstance(v, str) and v in choices,
    }
    if kind not in ok:
        raise AssertionError(f"unknown attribute kind {kind}")
    if not ok[kind]:
        expected = {"int": "an integer", "number": "a finite number", "bool": "true or false",
                    "choice": "one of " + ", ".join(repr(c) for c in choices)}[kind]
        if _is_int(v) and kind == "int":
            expected += " within ±2**63"
        elif _is_int(v) and kind == "number" and _is_number(v):
            expected += " (an integer must lie within ±2**63; write a bigger one as a float, e.g. 1e30)"
        raise ValueSpecError(f"{what} must be {expected}, not {_short(v)}")
    return v


def check_attr(attr: Attr, v: object) -> object:
    return check_param(attr.kind, v, f"attribute '{attr.name}'", attr.choices)


def init_shape(init: object, dtype: str | None = None) -> tuple[int, ...]:
    """Check an init spec such as {"fn": "randn", "shape": [2, 3], "seed": 0}; return its shape.

    With a dtype, its numbers (fill_value, start, end, step) must also be within its range.
    """
    if not isinstance(init, dict):
        raise ValueSpecError("init must be an object such as {\"fn\": \"zeros\", \"shape\": [2]}")
    fn = init.get("fn")
    if not isinstance(fn, str) or fn not in INIT_FNS:
        raise ValueSpecError(f"init fn must be one of {', '.join(INIT_FNS)}, not {_short(fn)}")
    params = INIT_FNS[fn]
    for key in init:
        if key != "fn" and key not in params:
            raise ValueSpecError(f"init '{fn}' has no parameter {_short(key)}")
    for name, (kind, required, _default) in params.items():
        if name in init:
            check_param(kind, init[name], f"init parameter '{name}'")
            if kind == "number":
                _check_fits(init[name], dtype, f"init parameter '{name}' is")
        elif required:
            raise ValueSpecError(f"init '{fn}' needs the parameter '{name}'")
    p = resolved_init(init)
    if "seed" in p and not 0 <= p["seed"] <= INT64_MAX:
        raise ValueSpecError(f"init parameter 'seed' must be from 0 to 2**63 - 1, not {_short(p['seed'])}")
    if fn in ("zeros", "ones", "full", "randn", "rand"):
        return check_shape(p["shape"])
    if fn == "eye":
        shape = check_shape(p["shape"])
        if len(shape) not in (1, 2):
            raise ValueSpecError("init 'eye' needs a shape of [n] or [n, m]")
        square = shape if len(shape) == 2 else (shape[0], shape[0])
        _check_size(square)  # [n] makes n × n elements
        return square
    if fn == "arange":
        if p["step"] == 0:
            raise ValueSpecError("init 'arange' needs a non-zero step")
        rising, falling = p["end"] > p["start"], p["end"] < p["start"]
        if (rising and p["step"] < 0) or (falling and p["step"] > 0):  # torch refuses these
            raise ValueSpecError(
                f"init 'arange' goes from {_short(p['start'])} to {_short(p['end'])}, so its step "
                f"must be {'positive' if rising else 'negative'}, "
                f"not {_short(p['step'])}")
        try:
            count = max(0, math.ceil((p["end"] - p["start"]) / p["step"]))
        except OverflowError:  # (end - start) / step is beyond float range
            raise ValueSpecError("init 'arange' makes too many elements") from None
        _check_size([count])
        flat = (count,)
    else:  # linspace
        if p["steps"] < 0:
            raise ValueSpecError("init 'linspace' needs steps >= 0")
        _check_size([p["steps"]])
        flat = (p["steps"],)
    if p["shape"] is None:
        return flat
    shape = check_shape(p["shape"])
    if math.prod(shape) != flat[0]:
        raise ValueSpecError(
            f"init '{fn}' makes {flat[0]} elements, which do not fit shape {list(shape)}")
    return shape


def _refuse_json_constant(name: str) -> None:
    raise ValueSpecError(f"{name} is not allowed: only finite numbers")


def parse_finite_json(text: str, what: str, example: str = "[1.0, 2.0]") -> object:
    """JSON a person typed (a value, a grad-output): NaN and Infinity refused, and every way
    json.loads can fail turned into one ValueSpecError naming `what`. The one parser for typed
    values; files go through graph.fileformat."""
    try:
        return json.loads(text, parse_constant=_refuse_json_constant)
    except ValueSpecError as e:
        raise ValueSpecError(f"{what}: {e.message}") from None
    except json.JSONDecodeError as e:
        raise ValueSpecError(f"{what} must be JSON such as {example} ({e.msg} at column {e.colno})") from None
    except ValueError:  # an integer literal of more digits than Python converts (4300)
        raise ValueSpecError(f"{what} holds a number with too many digits; give finite numbers "
                             "such as 1 or 1e30") from None
    except RecursionError:
        raise ValueSpecError(f"{what} is nested too deeply") from None


# ---- typed text: the one parser for what people type (inspector, canvas, toolbar, CLI) ----

_NON_FINITE_WORDS = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


def parse_json_text(text: str, what: str, example: str) -> object:
    """JSON typed by a person, with NaN / Infinity refused however they are spelled."""
    s = text.strip()
    if s.lower() in _NON_FINITE_WORDS:
        raise ValueSpecError(f"{what}: {s} is not allowed, only finite numbers")
    return parse_finite_json(s, what, example)


def parse_tensor_text(text: str, what: str = "value", dtype: str | None = None,
                      example: str = "2.0 or [[1, 2], [3, 4]]") -> object:
    """A tensor literal typed as text (a value, a grad-output): a finite number or a
    rectangular nested list of them, within `dtype`'s range if given."""
    value = parse_json_text(text, what, example)
    try:
        literal_shape(value, dtype=dtype)
    except ValueSpecError as e:
        raise ValueSpecError(f"{what}: {e.message}") from None
    return value


def parse_number(text: str, what: str) -> int | float:
    """An int if the text is one ("2"), else a finite float ("0.5", "1e-3")."""
    s = text.strip()
    if not s:
        raise ValueSpecError(f"{what} needs a number")
    try:
        return int(s)
    except ValueError:
        pass
    try:
        v = float(s)
    except ValueError:
        raise ValueSpecError(f"{what} must be a number such as 2 or 0.5, not {_short(s)}") from None
    if not math.isfinite(v):
        raise ValueSpecError(f"{what} must be a finite number, not {_short(s)}")
    return v


def parse_int(text: str, what: str) -> int:
    s = text.strip()
    try:
        return int(s)
    except ValueError:
        raise ValueSpecError(f"{what} must be an integer, not {_short(s)}") from None


def parse_param_text(kind: str, text: str, what: str) -> object:
    """Text typed for an attribute or init parameter of the given kind (see graph.ops.Attr),
    parsed to a value; check_param then checks it like a value read from a file."""
    if kind == "number":
        return parse_number(text, what)
    if kind == "int":
        return parse_int(text, what)
    if kind == "dims":
        return None if not text.strip() else parse_json_text(text, what, "null, 1 or [0, 1]")
    return parse_json_text(text, what, "[2, 3]")  # ints
