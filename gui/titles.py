"""How titles read: a node's title on screen, and inside a partial's name: ∂y/∂x, ∂y/∂(2*x**2),
vᵀ·∂y/∂x (a title inside a sentence: graph.naming.formula_name, the rule the bridge's messages for
the app use too); and which node an error is about ("feeds y[2], which fails"). One rule for the
canvas, its tooltips and the inspector's panels (Qt-free).

Every id and label shown goes through graph.safetext.visible here: a bidi override (U+202E)
cannot reverse "∂y/∂w[1, 2]", a newline cannot spill out of a header, and what shows is what
the file holds, escaped.
"""

from __future__ import annotations

import html

from graph.naming import formula_name
from graph.safetext import visible

PARTIAL_NAME_MAX = 10  # a title longer than this is shortened inside a partial's short name


def title_of(node: object) -> str:
    """A node's title (label, else id) as the screen shows it: non-printable characters escaped."""
    return visible(node.title)


def title_by_id(graph: object, node_id: str | None) -> str | None:
    """The title of the graph's node with this id (the id, escaped, if it has none; None for
    None): what status lines call a target, as the canvas does."""
    if node_id is None:
        return None
    node = graph.nodes.get(node_id)
    return title_of(node) if node is not None else visible(node_id)


def tooltip(lines: list[str]) -> str:
    """Lines of text from a file as a tooltip, escaped (graph.safetext) and never read as markup:
    Qt reads a tooltip whose first line looks like a tag as rich text (an id "<h1>x" would be
    big), so text holding "<" or "&" is given as escaped HTML, the rest as plain lines."""
    lines = [visible(t) for t in lines]
    if not any("<" in t or "&" in t for t in lines):
        return "\n".join(lines)
    return "<p style='white-space:pre'>" + "<br>".join(html.escape(t) for t in lines) + "</p>"


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


# ---- which node an error is about ----
#
# The engine names the node that failed and, beside it, the inputs whose shapes its message
# quotes (ComputeResult.error_nodes: "select1: select of [2]: index 2 is out of bounds" names
# select1 and y). The node that failed holds no value in the result (it and all it feeds are
# left out); an input named beside it holds one, made by its own op, which did not fail: it
# keeps its value and is said to feed the failing node, whose error it is. A node holding a
# value may still be named by an error of its own (a target that cannot be differentiated, a
# backward that fails): unless it also feeds a node that failed, the error stays its own.


def failing_fed(graph: object, node_id: str, result: object) -> list[str]:
    """The failing nodes this node feeds when the result's error names it only as their input:
    it holds a value, they hold none. Empty when there is no error or it is its own."""
    if result is None or not result.error or node_id not in result.error_nodes or node_id not in result.nodes:
        return []
    if node_id not in graph.nodes:
        return []
    return [c for c in graph.consumers_of(node_id) if c in result.error_nodes and c not in result.nodes]


def involvement(graph: object, node_id: str, result: object) -> str | None:
    """"feeds y[2], which fails" (the failing nodes by their titles) for an input the error
    names beside the node that failed; None for a node whose error is its own, or no error."""
    failing = failing_fed(graph, node_id, result)
    if not failing:
        return None
    names = ", ".join(formula_name(title_by_id(graph, n)) for n in failing)
    return f"feeds {names}, which {'fails' if len(failing) == 1 else 'fail'}"
