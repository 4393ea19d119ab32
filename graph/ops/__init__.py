"""The op catalogue: one declarative entry per op, gathered from one module per category.

Palette, validation, code generation, export and docs all read OPS. An op's name is the torch
function's name, its input ports are named as torch names the arguments, and its attributes are
the non-tensor arguments with torch's keyword names and defaults.

Adding an op is one entry in the list of its category's module (arithmetic, reduction, shape,
elementwise, comparison, activation, layers, loss); everything derived from the table (categories, the palette,
the docs) reads it when asked, so a test may register an entry with monkeypatch.setitem.
What an entry is (OpSpec, Attr, KINDS) is in graph.ops.spec. Tensor initialisers have their own
catalogue, graph.inits.INITS.
"""

from __future__ import annotations

from graph.ops import activation, arithmetic, comparison, elementwise, layers, loss, reduction, shape
from graph.ops.spec import DIM_KINDS, KINDS, TENSOR, Attr, OpSpec

__all__ = ["DEFAULT_DTYPE", "DIM_KINDS", "DTYPES", "FLOAT_DTYPES", "KINDS", "OPS", "TENSOR", "Attr", "OpSpec",
           "categories", "leaf_dtype"]

# Module order is palette order: categories appear as their first op does.
_MODULES = (arithmetic, reduction, shape, elementwise, comparison, activation, layers, loss)
OPS: dict[str, OpSpec] = {}
for _module in _MODULES:
    for _op in _module.ENTRIES:
        if _op.name in OPS:
            raise AssertionError(f"op {_op.name} has two catalogue entries")
        OPS[_op.name] = _op

# What --dtype and the toolbar's dtype convert leaves to, and the only leaves that may require
# grad (torch: "only floating point tensors can require gradients").
FLOAT_DTYPES: tuple[str, ...] = ("float32", "float64")
# A leaf's dtype: int64 and bool leaves hold indices, class targets and masks.
DTYPES: tuple[str, ...] = (*FLOAT_DTYPES, "int64", "bool")
DEFAULT_DTYPE = "float32"


def leaf_dtype(own: str, override: str | None) -> str:
    """The dtype a leaf of dtype `own` gets under a dtype override (--dtype, the toolbar): as
    module.double() does, floating leaves take it, int64 and bool leaves keep theirs."""
    return override if override is not None and own in FLOAT_DTYPES else own


def categories() -> tuple[str, ...]:
    """The op categories in catalogue order, read from OPS now (not at import)."""
    return tuple(dict.fromkeys(op.category for op in OPS.values()))


def __getattr__(name: str) -> object:
    """CATEGORIES, computed on access from the live table (see categories())."""
    if name == "CATEGORIES":
        return categories()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
