"""A title inside ∂y/∂x is in parentheses when the whole title is no plain name, shortened or
not (graph.naming.formula_name, the one rule the canvas, the status bar and the panels use): a
title "abcdefghij*2" shortened read "∂y/∂abcdefghi…", and a constant leaf titled "2" (the
expression bar makes them) read "∂y/∂2"."""

from __future__ import annotations

import pytest

from graph.naming import formula_name
from gui.canvas.labels import SHORTER_NAMES, TINY_NAME, partial_row_names
from gui.titles import PARTIAL_NAME_MAX, partial_names


@pytest.mark.parametrize(("title", "limit", "name"), [
    ("abcdefghij*2", 10, "(abcdefghi…)"),
    ("abcdefghij*2", None, "(abcdefghij*2)"),
    ("2", None, "(2)"),
    ("2", 10, "(2)"),
    ("3.5", None, "(3.5)"),
    ("-1", None, "(-1)"),
    ("1e-05", None, "(1e-05)"),
    ("2x", None, "(2x)"),
    ("2 = x*3", None, "(2 = x*3)"),  # a number names no equation
    ("x", None, "x"), ("W1", None, "W1"), ("y[1]", None, "y[1]"), ("_h", None, "_h"),
    ("layer.weight", None, "layer.weight"),
    ("W" * 20, 10, "WWWWWWWWW…"),
    ("y = 2*x**2 + 3*z", None, "y"),
    ("a_very_long_name = x*2", 10, "…long_name"),  # a name in parts keeps its last whole parts
    ("blocks.0.ln.weight", 10, "…ln.weight"),
    ("blocks.0.ln.weight", 9, "…weight"),
    ("blocks_0_fc2", 6, "…0_fc2"),
    ("blocks.0.ln.weight", 4, "blo…"),  # no part fits: the beginning
    ("averylongname_", 8, "averylo…"),
    ("transpose_1", 6, "trans…"),  # a count alone says nothing of what the node is
    ("layers.0", 6, "layer…"),
    ("x.y_z + w", 5, "(x.y_…)"),  # not a plain name: the beginning, in parentheses
    ("input batch", 4, "(inp…)"),
])
def test_parentheses_are_decided_by_the_whole_title(title: str, limit: int | None, name: str) -> None:
    assert formula_name(title, limit) == name


def test_the_short_partial_name_of_a_long_formula_keeps_its_parentheses() -> None:
    names = partial_names("y = abcdefghij*2", "abcdefghij*2", vjp=False)
    assert names[:2] == ["∂y/∂(abcdefghij*2)", "∂y/∂(abcdefghi…)"]
    assert partial_names("abcdefghij*2", "x", vjp=True)[1] == "vᵀ·∂(abcdefghi…)/∂x"
    assert len("abcdefghi…") == PARTIAL_NAME_MAX


def test_a_constant_titled_with_a_number_reads_as_one_in_parentheses() -> None:
    assert partial_names("y = x * 2", "2", vjp=False)[0] == "∂y/∂(2)"
    assert partial_row_names("y = x * 2", "2", vjp=False)[0] == "∂y/∂(2)"
    assert all("/∂(" in n for n in partial_row_names("y", "123456789012", vjp=False))


def test_the_canvas_and_the_panels_shorten_by_the_same_rule() -> None:
    for title in ["abcdefghij*2", "2", "W" * 20, "y = 2*x**2 + 3*z", "2*x**2", "input batch"]:
        row = partial_row_names("t", title, vjp=False)
        limits = (None, PARTIAL_NAME_MAX, *SHORTER_NAMES, TINY_NAME)
        assert row == list(dict.fromkeys(f"∂t/∂{formula_name(title, n)}" for n in limits))
