"""How titles read inside a partial's name: ∂y/∂x, ∂y/∂(2*x**2), vᵀ·∂y/∂x. One rule for the
canvas overlays and the inspector's panels (Qt-free)."""

from __future__ import annotations

import re

PARTIAL_NAME_MAX = 10  # a title longer than this is shortened inside a partial's short name


def formula_name(title: str, limit: int | None = None) -> str:
    """A title as it reads inside ∂y/∂x: as it is when it is a plain name ("x", "W1", "y[1]"),
    the name alone when it names an equation ("y" for "y = 2*x**2 + 3*z"), else in parentheses
    ("(2*x**2)", "(input batch)"); shortened to `limit` characters with "…"."""
    named = re.fullmatch(r"\s*([\w.\[\]]+)\s*=[^=].*", title)
    if named:
        title = named[1]
    if limit is not None and len(title) > limit:
        title = title[:max(1, limit - 1)] + "…"
    return title if re.fullmatch(r"[\w.\[\]…]+", title) else f"({title})"


def partial_names(target_title: str, node_title: str, vjp: bool) -> list[str]:
    """Names for ∂target/∂node, longest first: the full titles, then shortened ones. A result
    computed with a grad-output v is a vector–Jacobian product, and says so: vᵀ·∂y/∂x."""
    v = "vᵀ·" if vjp else ""
    names = [f"{v}∂{formula_name(target_title)}/∂{formula_name(node_title)}"]
    short = f"{v}∂{formula_name(target_title, PARTIAL_NAME_MAX)}/∂{formula_name(node_title, PARTIAL_NAME_MAX)}"
    if short not in names:
        names.append(short)
    names.append(f"{v}∂")
    return names
