"""The words on a node: its header badge (symbol and the attributes that say what it does) and
the name of the partial it shows, in the titles the user sees (Node.title), never bare ids.

Pure functions of the model, no painting: the items and the tests both call them.
"""

from __future__ import annotations

from PySide6.QtCore import Qt

from graph.model import Node
from graph.naming import formula_name, name_tails
from graph.safetext import visible
from gui.titles import PARTIAL_NAME_MAX, op_symbol, partial_names

TINY_NAME = 2  # a title shortened to its first character and "…", the least that still names it
# Between PARTIAL_NAME_MAX and TINY_NAME, longest first: "(2*x…)" still shows what a formula
# starts with, "…weight" which parameter of a module it is.
SHORTER_NAMES = (8, 6, 4)


def _attr_text(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list | tuple):
        return "[" + ",".join(_attr_text(x) for x in v) + "]"
    return visible(str(v))  # a choice is one of the catalogue's, but the badge is drawn as it is


def badge(node: Node) -> str:
    """The symbol, and the attributes that are required or not at their default, short:
    "□ⁿ n=2", "□[:, 2]", "□ᵀ 0↔1", "reshape [3,-1]", "Σ dim=1", "MSE sum"; "leaf" for a tensor.
    The op's input is "□", never a letter a node on the canvas could be titled."""
    if node.is_tensor:
        return "leaf"
    spec = node.spec
    symbol = op_symbol(spec.symbol)
    attrs = node.resolved_attrs()
    if node.op == "pow":
        return f"{symbol} n={_attr_text(attrs['exponent'])}"
    if node.op == "select" and isinstance(attrs["dim"], int) and 0 <= attrs["dim"] <= 3:
        return "□[" + ":, " * attrs["dim"] + f"{_attr_text(attrs['index'])}]"
    if node.op == "transpose":
        return f"{symbol} {_attr_text(attrs['dim0'])}↔{_attr_text(attrs['dim1'])}"
    shown = [a for a in spec.attrs if a.required or attrs[a.name] != a.default]
    if node.op == "reshape":
        return f"{symbol} {_attr_text(attrs['shape'])}"
    parts = [symbol]
    for a in shown:
        if a.kind == "choice":
            parts.append(_attr_text(attrs[a.name]))
        elif a.kind == "bool":
            parts.append(a.name if attrs[a.name] else f"no {a.name}")
        else:
            parts.append(f"{a.name}={_attr_text(attrs[a.name])}")
    return " ".join(parts)


def partial_row_names(target_title: str, node_title: str, vjp: bool) -> list[str]:
    """Names for the partial row of a node (∂target/∂node = …), longest first, for the first
    that fits the node's width: the full titles, shortened ones, then tiny ones ("∂(a very
    lo…)/∂W…", "∂(a…)/∂W…") — never a bare "∂", which would not say which target it is of."""
    v = "vᵀ·" if vjp else ""
    target = [formula_name(target_title, n) for n in (PARTIAL_NAME_MAX, TINY_NAME)]
    node = [formula_name(node_title, n) for n in (PARTIAL_NAME_MAX, *SHORTER_NAMES, TINY_NAME)]
    names = [partial_names(target_title, node_title, vjp)[0], *(f"{v}∂{target[0]}/∂{x}" for x in node),
             f"{v}∂{target[1]}/∂{node[-1]}"]
    return list(dict.fromkeys(names))


def fitted_title(fm: object, title: str, width: float) -> str:
    """The title as it fits `width` in the font of `fm` (a QFontMetrics or QFontMetricsF).

    A name in parts, as imported models name their nodes, keeps as many of its last whole parts
    as fit, where the names in one frame differ: "blocks.0.ln.weight" reads "…ln.weight" (or
    "…weight"), not "blocks…"; other titles ("input batch"), and a name none of whose parts
    fits, keep their beginning (as graph.naming.formula_name shortens a name by characters)."""
    if " " not in title and fm.horizontalAdvance(title) > width:
        for tail in name_tails(title):
            if fm.horizontalAdvance("…" + tail) <= width:
                return "…" + tail
    return fm.elidedText(title, Qt.TextElideMode.ElideRight, width)
