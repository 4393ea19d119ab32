"""Export a graph as a Jupyter notebook: the script export's stages (autograd_bridge.export) as
code cells — leaves, forward, backward, partials — with markdown cells saying in words what each
stage does and what each partial means.

Written as nbformat 4 JSON by hand (the nbformat package is only needed to validate it, in the
tests). The code cells hold the very lines of the script export, so a notebook run top to
bottom prints the numbers `gradcanvas grad` prints. The same graph always gives the same text.
"""

from __future__ import annotations

import json
import re

from autograd_bridge.export import ExportError, ScriptParts, export_text, script_parts
from autograd_bridge.formatting import tensor_text
from graph.model import Graph
from graph.safetext import visible

NOTEBOOK_SUFFIX = ".ipynb"


def export_for_path(path: str, graph: Graph, target: str, grad_output: object = None,
                    dtype: str | None = None, *, form: str = "script", device: str = "cpu",
                    retain_grad: bool = True, memory_limit: int | str | None = "default") -> str:
    """The export's text in the format the file name asks for: a notebook for .ipynb, else Python
    in the form asked for (export.FORMS). The command line and the window's export dialog both
    call this."""
    if path.lower().endswith(NOTEBOOK_SUFFIX):
        if form != "script":
            raise ExportError(f"a notebook holds the script form, not the {form} form: write a .py file")
        return export_notebook(graph, target, grad_output, dtype, device=device, retain_grad=retain_grad,
                               memory_limit=memory_limit)
    return export_text(graph, target, grad_output, dtype, form=form, device=device, retain_grad=retain_grad,
                       memory_limit=memory_limit)


def export_notebook(graph: Graph, target: str, grad_output: object = None, dtype: str | None = None, *,
                    device: str = "cpu", retain_grad: bool = True, memory_limit: int | str | None = "default") -> str:
    p = script_parts(graph, target, grad_output, dtype, device=device, retain_grad=retain_grad,
                     memory_limit=memory_limit)
    t = p.compiled.source.names[target]
    partial = f"{_seeded_by(p, grad_output)}∂{_node_in_prose(target)}/∂node"
    if grad_output is None:
        seed = "1"
    elif p.result.values[target].numel() == 1:  # backward() would seed it with 1: v only scales that
        seed = "the grad-output v instead of 1, which scales every partial"
    else:
        seed = "the grad-output v (a vector–Jacobian product)"
    changes = "the target" if grad_output is None else "vᵀ·target (v the grad-output)"
    cells = [
        _markdown(f"# The partials of {_code_span(visible(target))}\n\nExported from GradCanvas. Run the cells in "
                  f"order: they build the graph's tensors, run it forward, call `backward()` from `{t}` and print "
                  f"{partial} for every node: the numbers GradCanvas shows on the canvas."),
        _markdown("## Leaves\n\nThe graph's input tensors. `requires_grad=True` asks PyTorch to fill in "
                  "`.grad` for a leaf."),
        _code([*p.setup, *p.leaves]),
        _markdown("## Forward\n\nOne line per op node. A non-leaf keeps its `.grad` only if asked: "
                  "`retain_grad()` asks."),
        _code(p.forward),
        _markdown(f"## Backward\n\n`backward()` walks the graph from `{t}` back to the leaves, seeded "
                  f"with {seed}, and adds {partial} into the `.grad` of every tensor that keeps one."),
        _code(p.backward),
        _markdown(f"## Partials\n\nEvery node's `.grad`, printed under the node's id: how much {changes} "
                  "changes per unit change of that node, at these values."),
        _code(p.partials),
        _markdown("## What each partial says\n\n" + "\n".join(f"- {s}" for s in explanations(p, target, grad_output))),
    ]
    for i, cell in enumerate(cells):  # nbformat 4.5 wants ids; stable ones keep the text stable
        cell["id"] = f"cell-{i}"
    notebook = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def _seeded_by(p: ScriptParts, grad_output: object) -> str:
    """What a partial is multiplied by: nothing, v· for a scalar target's grad-output (a number
    scaling the seed), vᵀ· for a vector–Jacobian product."""
    if grad_output is None:
        return ""
    return "v·" if p.result.values[p.result.target].numel() == 1 else "vᵀ·"


def explanations(p: ScriptParts, target: str, grad_output: object = None) -> list[str]:
    """One sentence per node, in the order the script prints them, each under the label the
    script prints (the node's id): its partial's value and what it means, or why it is None
    ("x.grad is None: x does not require grad"). The variable is named too where it differs."""
    src, result = p.compiled.source, p.result
    t = _node_in_prose(target)
    seeded = _seeded_by(p, grad_output)
    lines = []
    for n in src.order:
        label = _code_span(visible(n) + ".grad")
        v = _node_in_prose(n)
        node = p.compiled.graph.nodes[n]
        where = "" if visible(n) == src.names[n] else f" (variable `{src.names[n]}`)"
        grad = result.grads[n]
        if grad is None:
            reason = result.no_grad_reason(n, p.compiled)
            if reason == "requires_grad is off":
                why = f"{v} does not require grad"
            elif reason == "no input needs grad":
                why = f"no input of {v} requires grad, so {v} does not either"
            elif reason is not None and reason.endswith("no gradient"):
                why = f"{v} is {node.dtype}, and only floating-point tensors have gradients"
            else:
                why = f"{t} does not depend on {v}"
            lines.append(f"{label} is None{where}: {why}.")
            continue
        value = visible(tensor_text(grad))
        if n == target:
            meaning = (f"∂{t}/∂{t} = 1, the seed of backward()" if grad_output is None
                       else "the grad-output v that backward() started from")
        elif n in src.leaf_ids:
            meaning = f"{seeded}∂{t}/∂{v}, filled in because {v} is a leaf that requires grad"
        else:
            meaning = f"{seeded}∂{t}/∂{v}; {v} is not a leaf, so PyTorch keeps it only because of `retain_grad()`"
        lines.append(f"{label} = {value}{where}: {meaning}.")
    return lines


def _node_in_prose(node_id: str) -> str:
    """A node named in the Markdown text: an id that is a Python name as words (_in_prose), any
    other id (`q.weight`, one holding `*` or HTML) as a code span, shown exactly."""
    if node_id.isascii() and node_id.isidentifier():
        return _in_prose(node_id)
    return _code_span(visible(node_id))


def _code_span(text: str) -> str:
    """text as a Markdown code span, shown exactly as it is: a node id may hold HTML, `*` or
    backticks. The fence is one backtick longer than the longest run in text (CommonMark), and a
    space inside each end keeps a backtick (or space) at text's ends from joining the fence."""
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text[:1] in "` " or text[-1:] in "` " else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _in_prose(name: str) -> str:
    """A Python name in Markdown text: an underscore at either end of a word (`_w_`, `__x`) would
    start emphasis, so it is escaped; one inside a word (`x_sq`) is left as it is."""
    return re.sub(r"(?<![^\W_])_|_(?![^\W_])", r"\\_", name)


def _code(lines: list[str]) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
            "source": _source("\n".join(lines).strip("\n"))}


def _markdown(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": _source(text)}


def _source(text: str) -> list[str]:
    """A cell's source as nbformat writes it: lines, each but the last ending in a newline."""
    return text.splitlines(keepends=True)
