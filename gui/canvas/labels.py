"""The words on a node: its header badge (symbol and the attributes that say what it does) and
the name of the partial it shows, in the titles the user sees (Node.title), never bare ids.

Pure functions of the model, no painting: the items and the tests both call them.
"""

from __future__ import annotations

import re

from graph.model import Node

PARTIAL_NAME_MAX = 10  # a title longer than this is shortened inside a partial's name


def _attr_text(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list | tuple):
        return "[" + ",".join(_attr_text(x) for x in v) + "]"
    return str(v)


def badge(node: Node) -> str:
    """The symbol, and the attributes that are required or not at their default, short:
    "xⁿ n=2", "x[:, 2]", "xᵀ 0↔1", "reshape [3,-1]", "Σ dim=1", "MSE sum"; "leaf" for a tensor."""
    if node.is_tensor:
        return "leaf"
    spec = node.spec
    attrs = node.resolved_attrs()
    if node.op == "pow":
        return f"{spec.symbol} n={_attr_text(attrs['exponent'])}"
    if node.op == "select" and isinstance(attrs["dim"], int) and 0 <= attrs["dim"] <= 3:
        return "x[" + ":, " * attrs["dim"] + f"{_attr_text(attrs['index'])}]"
    if node.op == "transpose":
        return f"{spec.symbol} {_attr_text(attrs['dim0'])}↔{_attr_text(attrs['dim1'])}"
    shown = [a for a in spec.attrs if a.required or attrs[a.name] != a.default]
    if node.op == "reshape":
        return f"{spec.symbol} {_attr_text(attrs['shape'])}"
    parts = [spec.symbol]
    for a in shown:
        if a.kind == "choice":
            parts.append(_attr_text(attrs[a.name]))
        elif a.kind == "bool":
            parts.append(a.name if attrs[a.name] else f"no {a.name}")
        else:
            parts.append(f"{a.name}={_attr_text(attrs[a.name])}")
    return " ".join(parts)


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
