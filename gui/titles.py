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
import re

from autograd_bridge.compute import BLOCKED_NAMED
from graph.naming import formula_name
from graph.safetext import visible

PARTIAL_NAME_MAX = 10  # a title longer than this is shortened inside a partial's short name

# The catalogue writes an op's input as x ("xⁿ", "|x|", "eˣ"); in the app a node titled x may be
# anything but that input (select of y read "x[1]"), so the input is written "□" wherever an
# op's symbol is shown: the canvas badge, the palette, the inspector.
_INPUT_X = re.compile(r"(?<![A-Za-z])x(?![A-Za-z])")


def op_symbol(symbol: str) -> str:
    """The catalogue's symbol with its input placeholder x as "□": "□ⁿ", "|□|", "e^□", "ln(1+□)";
    symbols without one ("max", "Σ", "softmax") as they are."""
    return _INPUT_X.sub("□", symbol).replace("ˣ", "^□")


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
# select1 and y); the compute says which of them fails (ComputeResult.failing: select1). The
# others keep their values and are said to feed the failing node, whose error it is: in a
# backward that fails at p, p's input x and the target s hold values too, and only p is red.


def failing_fed(graph: object, node_id: str, result: object) -> list[str]:
    """The failing nodes this node feeds when the result's error names it only beside them.
    Empty when there is no error, it is its own, or the node feeds none of them."""
    if result is None or not result.error or node_id not in result.error_nodes or node_id not in graph.nodes:
        return []
    failed = result.failed()
    if node_id in failed:
        return []
    return [c for c in graph.consumers_of(node_id) if c in failed]


def involvement(graph: object, node_id: str, result: object) -> str | None:
    """For a node the error names beside the node that fails: "feeds y[2], which fails" (the
    failing nodes by their titles), for the target of a backward that fails upstream "its
    backward fails at p", for a node left out below one that fails "not computed: it depends
    on m, which fails". None for a node whose error is its own, or that no error names."""
    if result is None or not result.error:
        return None
    failed = result.failed()
    upstream = [n for n in dict.fromkeys(result.blocked_by.get(node_id, ())) if n in graph.nodes]
    if upstream and node_id not in result.nodes:  # left out, downstream of a node that fails
        names = ", ".join(formula_name(title_by_id(graph, n)) for n in upstream[:BLOCKED_NAMED])
        if len(upstream) > BLOCKED_NAMED:  # blocked_by keeps one more than it names when there are more
            names += " and others"
        return f"not computed: it depends on {names}, which {'fails' if len(upstream) == 1 else 'fail'}"
    if node_id not in result.error_nodes or node_id in failed:
        return None
    fed = failing_fed(graph, node_id, result)
    names = ", ".join(formula_name(title_by_id(graph, n)) for n in fed or failed)
    if fed:
        return f"feeds {names}, which {'fails' if len(fed) == 1 else 'fail'}"
    if node_id == result.target:
        return f"its backward fails at {names}"
    return f"named by the error of {names}"
