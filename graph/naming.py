"""How a node is named inside a sentence on screen: by its title, as ∂y/∂x names it ("y" for a
node titled "y = x**2", "(input batch)" for a title that is no plain name).

Pure Python: the window (gui.titles) and the bridge's messages for the app
(autograd_bridge.compute and the worker tasks) name nodes by this one rule. The command line
names them by id, which its users type (--target).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from graph.safetext import visible

# A plain name reads bare inside ∂y/∂x: it starts with a letter or "_" ("x", "W1", "y[1]",
# "layer.weight"); one starting with a digit ("2", "2x", "1e-05") would read as a number.
_PLAIN_NAME = r"[^\W\d][\w.\[\]]*"
# Where a plain name divides into parts: a module path or an fx name ("blocks.0.ln.weight",
# "blocks_0_fc2"), whose end tells the nodes of one model apart.
_NAME_PARTS = re.compile(r"[._]")


def name_tails(title: str) -> list[str]:
    """The ends of a name in parts that can stand for it, longest first: "0.ln.weight",
    "ln.weight", "weight"; never a count without a word ("1" of "transpose_1", "0" of "layer.0"),
    which would say nothing of what the node is."""
    tails = (title[p.end():] for p in _NAME_PARTS.finditer(title))
    return [t for t in tails if any(c.isalpha() for c in t)]


def formula_name(title: str, limit: int | None = None) -> str:
    """A title as it reads inside ∂y/∂x: as it is when it is a plain name ("x", "W1", "y[1]"),
    the name alone when it names an equation ("y" for "y = 2*x**2 + 3*z"), else in parentheses
    ("(2*x**2)", "(input batch)", "(2)" for a constant). Shortened to `limit` characters with
    "…", inside the parentheses the whole title needs ("(2*x…)", never "2*x…" or "2…"); a plain
    name in parts keeps as many of its last whole parts as fit ("…ln.weight"), else its beginning.
    Non-printable characters are escaped first ("(w\\u202eyx)")."""
    title = visible(title)
    named = re.fullmatch(rf"\s*({_PLAIN_NAME})\s*=[^=].*", title)
    if named:
        title = named[1]
    plain = re.fullmatch(_PLAIN_NAME, title) is not None  # decided on the whole title
    if limit is not None and len(title) > limit:
        tail = next((t for t in name_tails(title) if len(t) < limit), None) if plain else None
        title = "…" + tail if tail else title[:max(1, limit - 1)] + "…"
    return title if plain else f"({title})"


def by_title(graph: object) -> Callable[[str], str]:
    """node id -> the node's name in a sentence: formula_name of its title in `graph` (a Graph
    or CheckedGraph); an id the graph does not hold, as it is, escaped."""
    nodes, names = graph.nodes, {}

    def name(node_id: str) -> str:
        if node_id not in names:  # a flow's reasons name a node once per wire
            node = nodes.get(node_id)
            names[node_id] = formula_name(node.title if node is not None else node_id)
        return names[node_id]
    return name


def titled_message(message: str, node_ids: tuple[str, ...] | list[str], name: Callable[[str], str]) -> str:
    """An error message as the app shows it: the leading "id: " of the node it is about (the
    first of `node_ids` it starts with) named by `name` instead ("pick: select of [2]: …" for
    "s: select of [2]: …"); anything else as it is. The command line keeps ids."""
    for n in node_ids:
        if message.startswith(f"{n}: "):
            return f"{name(n)}: {message[len(n) + 2:]}"
    return message


def counted(n: int, noun: str) -> str:
    """"1 node", "2 nodes", "0 ops": a count and its noun, singular for one."""
    return f"{n} {noun}{'s' * (n != 1)}"


def size_text(nodes: Mapping[str, object], edges: int) -> str:
    """A graph's size as `check` and `import` say it: "5 nodes (3 tensors, 2 ops), 4 edges"."""
    tensors = sum(node.is_tensor for node in nodes.values())
    return (f"{counted(len(nodes), 'node')} ({counted(tensors, 'tensor')}, {counted(len(nodes) - tensors, 'op')}), "
            f"{counted(edges, 'edge')}")


def no_node_text(graph: object, name: str) -> str:
    """"no node 'fc' in this graph", for a name the command line was given (a Graph or a
    CheckedGraph). Where the name is what the canvas shows for another id (an import labels the
    call of module fc "fc", id fc_1, as the module's frame has the id fc), says which id to give."""
    from graph.groups import nodes_within
    from graph.values import _short

    text = f"no node {_short(name)} in this graph"
    titled = [n for n, node in graph.nodes.items() if node.label == name]
    if titled:
        ids = ", ".join(visible(n) for n in titled[:3]) + (", …" if len(titled) > 3 else "")
        return f"{text}: the node titled {visible(name)} has the id {ids}, which the command line takes"
    if name in getattr(graph, "groups", {}):
        within = nodes_within(graph, name)
        inside = [n for n in graph.nodes if n in within]
        ids = ", ".join(visible(n) for n in inside[-3:])
        return f"{text}: {visible(name)} is a group (a frame on the canvas); its last nodes are {ids}"
    return text
