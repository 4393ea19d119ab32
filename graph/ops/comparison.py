"""Comparisons, whose results are bool tensors (no gradient), and `where`, which picks entries
by a bool condition (no gradient to it)."""

from __future__ import annotations

from graph.ops.spec import OpSpec

_PAIR = {"input": (2, 3), "other": (2, 3)}


def _compare(name: str, symbol: str) -> OpSpec:
    return OpSpec(name, f"torch.{name}", ("input", "other"), "comparison", symbol,
                  f"input {symbol} other elementwise, a bool tensor: no gradient to either input",
                  example_shapes=_PAIR, result_dtype="bool")


ENTRIES: list[OpSpec] = [
    _compare("gt", ">"),
    _compare("ge", "≥"),
    _compare("lt", "<"),
    _compare("le", "≤"),
    _compare("eq", "=="),
    OpSpec("where", "torch.where", ("condition", "input", "other"), "comparison", "where",
           "∂/∂input = grad where condition, else 0; ∂/∂other = grad where not condition; "
           "none to condition",
           example_shapes={"condition": (2, 3), **_PAIR},
           example_values={"condition": [[True, False, True], [False, False, True]]},
           input_dtypes={"condition": "bool"}, no_grad_inputs=("condition",)),
]
