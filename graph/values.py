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
from graph.inits import INITS
from graph.limits import (  # noqa: F401 - re-exported: the names other modules import from here
    INT64_MAX,
    INT64_MIN,
    MAX_DIMS,
    MAX_ELEMENTS,
    MAX_SIZE,
    check_ints,
    check_shape,
    range_text,
)
from graph.limits import check_size as _check_size
from graph.limits import is_int as _is_int
from graph.limits import is_number as _is_number
from graph.limits import short as _short
from graph.ops import Attr

# Tensors with at most this many elements are written out in full (CLI table, node overlays);
# larger ones are shown as shape + norm and a preview.
INLINE_MAX = 8
# The largest magnitude each dtype holds. A number at or beyond a dtype's overflow point becomes
# inf in a tensor (torch.tensor) or is refused by torch (torch.full), so files may not hold one.
# float32: the largest finite value is (2 - 2**-23) * 2**127; round-to-nearest sends everything
# from half an ulp above it, 2**128 - 2**103, to inf.
DTYPE_MAX = {"float32": 3.4028234663852886e38, "float64": sys.float_info.max}
_DTYPE_OVERFLOW = {"float32": 2**128 - 2**103}


# The longest integer literal read as a number: any longer one is beyond every dtype (float64
# ends near 1.8e308), and int() of n digits costs ~n² time (Python refuses over 4,300 digits).
INT_DIGITS_MAX = 400


class LongInt:
    """An integer literal of more than INT_DIGITS_MAX digits, kept as its length only: beyond
    every dtype, so the check that meets it refuses it, naming the node and field holding it."""

    __slots__ = ("digits",)

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"an integer of {self.digits:,} digits"


def json_int(text: str) -> int | LongInt:
    """json.loads' parse_int: the int, or a LongInt past INT_DIGITS_MAX digits, so that a huge
    number is refused where it stands rather than by json.loads for the whole text."""
    digits = len(text) - text.startswith("-")
    return int(text) if digits <= INT_DIGITS_MAX else LongInt(digits)


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

    With a dtype, every number must also be within that dtype's range; an int64 tensor holds
    only integers, a bool tensor only true and false.
    """
    if depth > MAX_DIMS:
        raise ValueSpecError(f"value has more than {MAX_DIMS} dimensions")
    if not isinstance(value, list):
        _check_entry(value, dtype)
        return ()
    if depth < MAX_DIMS and _all_numbers(value, dtype):  # a big literal's innermost lists, at C speed
        shapes = {()}
    else:  # one by one, which finds the entry to name
        shapes = {literal_shape(v, depth + 1, dtype) for v in value}
    if len(shapes) > 1:
        raise ValueSpecError("value is ragged: the nested lists have different lengths")
    inner = shapes.pop() if shapes else ()
    shape = (len(value), *inner)
    if depth == 0:
        _check_size(shape, "value")
    return shape


def _check_entry(v: object, dtype: str | None) -> None:
    """One entry of a literal: a finite number within dtype's range, an integer of int64's
    range for int64, true or false for bool."""
    if isinstance(v, LongInt):
        raise ValueSpecError(f"value holds {v!r}: beyond the range of every dtype")
    if dtype == "bool":
        if not isinstance(v, bool):
            raise ValueSpecError(f"value holds {_short(v)}: a bool tensor holds only true and false")
    elif dtype == "int64":
        if not (_is_int(v) and _in_int64(v)):
            raise ValueSpecError(f"value holds {_short(v)}: an int64 tensor holds only integers within ±2**63")
    elif _is_number(v):
        _check_fits(v, dtype, "value holds")
    elif isinstance(v, float) or _is_int(v):
        raise ValueSpecError(f"value holds {_short(v)}: only finite numbers are allowed")
    else:
        raise ValueSpecError(f"value must be a number or a nested list of numbers, not {_json_kind(v)}")


def _json_kind(v: object) -> str:
    """What a file's (or a typed grad-output's) entry is, in JSON's words, not Python's (NoneType)."""
    if v is None or isinstance(v, bool):
        return json.dumps(v)  # null, true, false
    if isinstance(v, str):
        return f"the string {_short(v)}"
    return "an object" if isinstance(v, dict) else type(v).__name__


def _all_numbers(value: list, dtype: str | None) -> bool:
    """Whether every entry is a plain int or float that literal_shape would take as a number
    within dtype's range: the same rules, run by C loops (a list of 2**26 numbers: ~25 s one by
    one). False only means "check one by one", which then names the entry that fails."""
    if not value:
        return False
    types = set(map(type, value))
    if dtype == "bool":
        return types == {bool}
    if dtype == "int64":
        return types == {int} and INT64_MIN <= min(value) and max(value) <= INT64_MAX
    if not types <= {int, float}:  # bools, lists: one by one
        return False
    try:
        if not all(map(math.isfinite, value)):
            return False
    except OverflowError:  # an int beyond any float
        return False
    # Both rules are monotonic in |v| (float() rounds monotonically), so the largest decides.
    largest = max(map(abs, value))
    return _is_number(largest) and fits_dtype(largest, dtype)


def _in_int64(v: int) -> bool:
    return INT64_MIN <= v <= INT64_MAX


# ---- a leaf's numbers as another dtype holds them (a dtype switch, a typed value) ----

_ENTRY_TYPE = {"int64": int, "bool": bool}  # the float dtypes hold floats


def as_dtype(value: object, dtype: str, depth: int = 0) -> object:
    """A literal's entries as the numbers a `dtype` tensor holds, where each is one exactly, as
    torch.tensor(value, dtype=...) takes them: a whole float (3.0) or a bool becomes an int for
    int64, 0 or 1 a bool for bool, an int or a bool a float for float32 / float64. A number that
    is none (2.5 for int64, 2 for bool) is refused saying what to do; what is no number is left
    as it is, for literal_shape to refuse."""
    if not isinstance(value, list):
        return _entry_as(value, dtype)
    if depth >= MAX_DIMS:  # too deep: literal_shape says so
        return value
    if set(map(type, value)) == {_ENTRY_TYPE.get(dtype, float)}:  # already so, at C speed
        return value
    return [as_dtype(v, dtype, depth + 1) for v in value]


def _entry_as(v: object, dtype: str) -> object:
    if not isinstance(v, int | float):  # LongInt, None, a text…: literal_shape names it
        return v
    if dtype == "int64":
        if isinstance(v, float) and not v.is_integer():
            advice = "round the value first" if math.isfinite(v) else "give a whole number instead"
            raise ValueSpecError(f"value holds {_short(v)}: an int64 tensor holds only integers: {advice}")
        if not _in_int64(int(v)):
            raise ValueSpecError(f"value holds {_short(v)}: an int64 tensor holds only integers within "
                                 "±2**63: make the value smaller first")
        return int(v)
    if dtype == "bool":
        if v not in (0, 1):  # True == 1, 1.0 == 1
            raise ValueSpecError(f"value holds {_short(v)}: a bool tensor holds only true and false "
                                 "(1 and 0): set each entry to 0 or 1 first")
        return bool(v)
    # a float dtype: an int beyond every float is left for the range check to name
    return float(v) if isinstance(v, bool) or _is_number(v) else v


def init_as_dtype(init: dict, dtype: str) -> dict:
    """An init spec's numbers (fill_value, start, end, step) as `dtype` takes them: for int64,
    a whole float (2.0) becomes an int; anything else is left for init_shape to check."""
    spec = INITS.get(init["fn"]) if dtype == "int64" and isinstance(init.get("fn"), str) else None
    if spec is None:
        return init
    out = dict(init)
    for p in spec.params:
        v = init.get(p.name)
        if p.kind in ("number", "optional_number") and isinstance(v, float) and v.is_integer() \
                and _in_int64(int(v)):
            out[p.name] = int(v)
    return out


def check_param(kind: str, v: object, what: str, choices: tuple[str, ...] = ()) -> object:
    """Check one attribute or init parameter value of the given kind (see graph.ops.Attr).

    torch reads integer arguments as int64, so every integer (an "int", a "dim", an entry of
    "ints" or "dims", an integer "number") must fit one; "ints" are shapes, held to ±MAX_SIZE.
    Whether a dim fits its input's rank is known only with shapes (autograd_bridge.engine).
    """
    if isinstance(v, LongInt):
        raise ValueSpecError(f"{what} is {v!r}: beyond the range of every dtype")
    if kind == "ints" or (kind == "optional_ints" and v is not None):
        return check_ints(v, what, MAX_SIZE)
    if kind in ("dims", "optional_dims"):
        if v is None:
            if kind == "optional_dims":
                return v
            raise ValueSpecError(f"{what} must be a dim or a list of dims, not null (torch takes no None here)")
        if not _is_int(v):
            return check_ints(v, what)
        kind = "int"  # a single dim
    elif kind == "dim":
        kind = "int"
    optional = kind in ("optional_number", "optional_dim", "optional_ints")
    if optional:
        if v is None:
            return v
        kind = "int" if kind == "optional_dim" else "number"
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
        if optional:
            expected = "null or " + expected
        raise ValueSpecError(f"{what} must be {expected}, not {_short(v)}")
    return v


def check_attr(attr: Attr, v: object) -> object:
    what = f"attribute '{attr.name}'"
    check_range(attr, v, what)
    return check_param(attr.kind, v, what, attr.choices)


def check_range(attr: Attr, v: object, what: str) -> None:
    """A number, or each number of a list, within the attribute's minimum and maximum. Checked
    before its kind, so that a value past int64 hears the range (a seed of 2**63: "from 0 to
    2**63 - 1"), not int64's; what is no number is left to check_param."""
    if attr.minimum is None and attr.maximum is None:
        return
    for x in v if isinstance(v, list) else [v]:
        if (_is_int(x) or _is_number(x)) and not ((attr.minimum is None or x >= attr.minimum)
                                                   and (attr.maximum is None or x <= attr.maximum)):
            each = "each entry of " if isinstance(v, list) else ""
            raise ValueSpecError(f"{each}{what} must be {range_text(attr.minimum, attr.maximum)}, not {_short(x)}")


def init_shape(init: object, dtype: str | None = None) -> tuple[int, ...]:
    """Check an init spec such as {"fn": "randn", "shape": [2, 3], "seed": 0}; return its shape.

    The checks every init gets are here (a known fn, known parameters, each of its kind, the
    required ones given); what is particular to one is its InitSpec's shape rule (graph.inits).
    With a dtype, its numbers (fill_value, start, end, step) must also be within its range.
    """
    if not isinstance(init, dict):
        raise ValueSpecError("init must be an object such as {\"fn\": \"zeros\", \"shape\": [2]}")
    fn = init.get("fn")
    if not isinstance(fn, str) or fn not in INITS:
        raise ValueSpecError(f"init fn must be one of {', '.join(INITS)}, not {_short(fn)}")
    spec = INITS[fn]
    if dtype is not None and dtype not in spec.dtypes:
        fitting = ", ".join(name for name, s in INITS.items() if dtype in s.dtypes)
        raise ValueSpecError(f"init '{fn}' cannot make a {dtype} tensor; for {dtype} use {fitting}")
    for key in init:
        if key != "fn" and spec.param(key) is None:
            raise ValueSpecError(f"init '{fn}' has no parameter {_short(key)}")
    for param in spec.params:
        if param.name in init:
            check_range(param, init[param.name], f"init parameter '{param.name}'")
            check_param(param.kind, init[param.name], f"init parameter '{param.name}'", param.choices)
            if param.kind in ("number", "optional_number") and init[param.name] is not None:
                if dtype == "int64" and not _is_int(init[param.name]):
                    raise ValueSpecError(f"init parameter '{param.name}' of an int64 tensor must be an "
                                         f"integer, not {_short(init[param.name])}: round it first")
                _check_fits(init[param.name], dtype, f"init parameter '{param.name}' is")
        elif param.required:
            raise ValueSpecError(f"init '{fn}' needs the parameter '{param.name}'")
    return spec.shape(spec.resolved(init))


def _refuse_json_constant(name: str) -> None:
    raise ValueSpecError(f"{name} is not allowed: only finite numbers")


def parse_finite_json(text: str, what: str, example: str = "[1.0, 2.0]") -> object:
    """JSON a person typed (a value, a grad-output): NaN and Infinity refused, and every way
    json.loads can fail turned into one ValueSpecError naming `what`. The one parser for typed
    values; files go through graph.fileformat."""
    try:
        return json.loads(text, parse_constant=_refuse_json_constant, parse_int=json_int)
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


# ---- the value field (inspector, canvas editor): how long a typed literal may be ----

LITERAL_MAX = 10_000  # an init turned into a literal may hold at most this many elements
# The value field's length: any literal of LITERAL_MAX elements fits as json.dumps writes it (a
# number ≤ 24 characters, ", ", ≤ 2 * MAX_DIMS brackets); a line edit lays it out in ~0.1 s. Never a silent cut.
VALUE_TEXT_MAX = LITERAL_MAX * (24 + 2 + 2 * MAX_DIMS)
USE_INSTEAD = "use an init (randn, zeros, …) or a file"
TOO_LONG = f"the field holds at most {VALUE_TEXT_MAX:,} characters: {USE_INSTEAD}"


def value_text(value: object, elements: int | None) -> str | None:
    """A literal as the value field shows it (JSON), or None where longer than the field holds;
    n numbers take ≥ 3n - 2 characters, so a huge value is known too long without writing it."""
    if elements is not None and 3 * elements - 2 > VALUE_TEXT_MAX:
        return None
    text = json.dumps(value)
    return text if len(text) <= VALUE_TEXT_MAX else None


_TYPED_EXAMPLE = {"int64": "2 or [[1, 2], [3, 4]]", "bool": "true or [true, false]"}  # else a float's


def parse_leaf_value(text: str, dtype: str) -> object:
    """A leaf's value typed as text (the inspector's field, the canvas's in-place editor), taken
    as torch.tensor(..., dtype=) takes it: 3.0 in an int64 leaf is 3, 1 in a bool leaf true."""
    if dtype not in _TYPED_EXAMPLE:
        return parse_tensor_text(text, "value")
    return as_dtype(parse_json_text(text, "value", _TYPED_EXAMPLE[dtype]), dtype)


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
    if kind in ("int", "dim"):
        return parse_int(text, what)
    if kind in ("optional_number", "optional_dim"):
        if text.strip().lower() in ("", "null", "none"):
            return None
        return parse_number(text, what) if kind == "optional_number" else parse_int(text, what)
    if kind == "optional_dims":
        return None if not text.strip() else parse_json_text(text, what, "null, 1 or [0, 1]")
    if kind == "dims":
        return parse_json_text(text, what, "1 or [0, 1]")
    return parse_json_text(text, what, "[2, 3]")  # ints, optional_ints
