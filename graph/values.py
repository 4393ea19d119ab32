"""Checks for the data a node carries: tensor literals, init specs and op attributes.

Each check returns the normalised value or raises ValueSpecError with a message that the
caller prefixes with the node id. Only plain JSON data passes: finite numbers, bools where a
bool is meant, strings from a fixed set. Nothing here evaluates anything.
"""

from __future__ import annotations

import math
import sys

from graph.errors import ValueSpecError
from graph.ops import INIT_FNS, Attr

MAX_DIMS = 8
# A guard against files that would allocate huge tensors: 2**26 elements is 256 MiB of float32.
MAX_ELEMENTS = 2**26


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    if _is_int(v):  # JSON ints are unbounded; one a float cannot hold is not a finite number
        return abs(v) <= sys.float_info.max
    return isinstance(v, float) and math.isfinite(v)


def literal_shape(value: object, depth: int = 0) -> tuple[int, ...]:
    """Shape of a number or a rectangular nested list of finite numbers."""
    if depth > MAX_DIMS:
        raise ValueSpecError(f"value has more than {MAX_DIMS} dimensions")
    if _is_number(value):
        return ()
    if isinstance(value, float) or _is_int(value):
        raise ValueSpecError(f"value holds {value!r}: only finite numbers are allowed"[:200])
    if not isinstance(value, list):
        raise ValueSpecError(
            f"value must be a number or a nested list of numbers, not {type(value).__name__}")
    shapes = {literal_shape(v, depth + 1) for v in value}
    if len(shapes) > 1:
        raise ValueSpecError("value is ragged: the nested lists have different lengths")
    inner = shapes.pop() if shapes else ()
    return (len(value), *inner)


def check_ints(v: object, what: str) -> list[int]:
    if not isinstance(v, list) or not all(_is_int(i) for i in v):
        raise ValueSpecError(f"{what} must be a list of integers, not {v!r}"[:200])
    if len(v) > MAX_DIMS:
        raise ValueSpecError(f"{what} has more than {MAX_DIMS} entries")
    return v


def check_shape(v: object, what: str = "shape") -> tuple[int, ...]:
    dims = check_ints(v, what)
    if any(d < 0 for d in dims):
        raise ValueSpecError(f"{what} {dims} has a negative size")
    _check_size(dims)
    return tuple(dims)


def _check_size(shape: tuple[int, ...] | list[int]) -> None:
    if math.prod(shape) > MAX_ELEMENTS:
        raise ValueSpecError(
            f"shape {list(shape)} has {math.prod(shape):,} elements, "
            f"more than the limit of {MAX_ELEMENTS:,}")


def check_param(kind: str, v: object, what: str, choices: tuple[str, ...] = ()) -> object:
    """Check one attribute or init parameter value of the given kind."""
    ok = {
        "int": _is_int(v),
        "number": _is_number(v),
        "bool": isinstance(v, bool),
        "choice": isinstance(v, str) and v in choices,
    }
    if kind == "ints":
        return check_ints(v, what)
    if kind == "dims":
        if v is None or _is_int(v):
            return v
        return check_ints(v, what)
    if kind not in ok:
        raise AssertionError(f"unknown attribute kind {kind}")
    if not ok[kind]:
        expected = {"int": "an integer", "number": "a finite number", "bool": "true or false",
                    "choice": "one of " + ", ".join(repr(c) for c in choices)}[kind]
        raise ValueSpecError(f"{what} must be {expected}, not {v!r}"[:200])
    return v


def check_attr(attr: Attr, v: object) -> object:
    return check_param(attr.kind, v, f"attribute '{attr.name}'", attr.choices)


def init_shape(init: object) -> tuple[int, ...]:
    """Check an init spec such as {"fn": "randn", "shape": [2, 3], "seed": 0}; return its shape."""
    if not isinstance(init, dict):
        raise ValueSpecError("init must be an object such as {\"fn\": \"zeros\", \"shape\": [2]}")
    fn = init.get("fn")
    if not isinstance(fn, str) or fn not in INIT_FNS:
        raise ValueSpecError(f"init fn must be one of {', '.join(INIT_FNS)}, not {fn!r}"[:200])
    params = INIT_FNS[fn]
    for key in init:
        if key != "fn" and key not in params:
            raise ValueSpecError(f"init '{fn}' has no parameter '{key}'"[:200])
    for name, (kind, required, _default) in params.items():
        if name in init:
            check_param(kind, init[name], f"init parameter '{name}'")
        elif required:
            raise ValueSpecError(f"init '{fn}' needs the parameter '{name}'")
    p = {name: init.get(name, default) for name, (_k, _r, default) in params.items()}
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
