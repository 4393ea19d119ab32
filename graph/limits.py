"""Size limits and the checks of numbers and shapes that both graph.values (tensor literals,
attributes) and graph.inits (initialiser shape rules) build on.

The bottom of graph/: it imports only graph.errors, so values and inits can both use it
without importing each other in a circle (graph.values imports graph.inits).
"""

from __future__ import annotations

import math
import sys

from graph.errors import ValueSpecError

MAX_DIMS = 8
# A guard against files that would allocate huge tensors: 2**26 elements is 256 MiB of float32.
MAX_ELEMENTS = 2**26
# torch takes integer arguments (seeds, indices, dims) as int64; a size beyond 2**31 per
# dimension cannot fit MAX_ELEMENTS anyway, so shapes are held to that.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_SIZE = 2**31


def is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def is_number(v: object) -> bool:
    if is_int(v):  # JSON ints are unbounded; one a float cannot hold is not a finite number
        return abs(v) <= sys.float_info.max
    return isinstance(v, float) and math.isfinite(v)


def short(v: object, width: int = 40) -> str:
    """repr(v) cut to about `width` characters, so a message keeps its point after the value,
    with the length: a text's own (its repr adds quotes and escapes), else the written value's."""
    text = repr(v)
    if len(text) <= width:
        return text
    length = len(v) if isinstance(v, str) else len(text)
    return f"{text[:width - 12]}…{text[-8:]} ({length:,} characters)"


def number_text(n: int | float) -> str:
    """A bound as messages and docs write it: int64's largest as 2**63 - 1, not 19 digits."""
    return "2**63 - 1" if n == INT64_MAX else str(n)


def range_text(minimum: int | float | None, maximum: int | float | None) -> str:
    """'from 1 to 64', 'at least 0' or 'at most 8': what a value must be."""
    if minimum is not None and maximum is not None:
        return f"from {number_text(minimum)} to {number_text(maximum)}"
    return f"at least {number_text(minimum)}" if minimum is not None else f"at most {number_text(maximum)}"


def check_ints(v: object, what: str, bound: int = INT64_MAX) -> list[int]:
    """A list of at most MAX_DIMS integers, each within ±bound."""
    if not isinstance(v, list) or not all(is_int(i) for i in v):
        raise ValueSpecError(f"{what} must be a list of integers, not {short(v)}")
    if len(v) > MAX_DIMS:
        raise ValueSpecError(f"{what} has more than {MAX_DIMS} entries")
    for i in v:
        if not -bound <= i <= bound:
            raise ValueSpecError(f"{what} holds {short(i)}, beyond the limit of ±{bound:,}")
    return v


def check_shape(v: object, what: str = "shape") -> tuple[int, ...]:
    dims = check_ints(v, what, MAX_SIZE)
    if any(d < 0 for d in dims):
        raise ValueSpecError(f"{what} {dims} has a negative size")
    check_size(dims)
    return tuple(dims)


def count_text(n: int) -> str:
    """A count to read at a glance: its digits grouped, or past a quadrillion about n in
    scientific notation (not a line of 300 digits)."""
    return f"{n:,}" if n < 10**15 else f"about {n:.4g}"


def check_size(shape: tuple[int, ...] | list[int], what: str = "shape") -> None:
    if math.prod(shape) > MAX_ELEMENTS:
        raise ValueSpecError(
            f"{what} {short(list(shape))} has {count_text(math.prod(shape))} elements, "
            f"more than the limit of {MAX_ELEMENTS:,}")
