"""docs/ops.md, written from the op and init catalogues: `python -m graph.opsdoc > docs/ops.md`.

A test checks the committed file equals this output, so the docs cannot drift from the tables.
Everything is read when markdown() is called, so an entry registered by a test shows up.
"""

from __future__ import annotations

from graph.inits import INITS
from graph.limits import number_text
from graph.ops import KINDS, OPS, Attr, OpSpec, categories
from graph.ops.spec import VARIADIC_COUNT


def _range_text(a: Attr, op: OpSpec | None = None) -> str:
    """', 1 to 64', ', each ≥ 1' or '': the values the checks let through (OpSpec.bounds for an
    op's attribute, Attr.minimum and maximum for an init's parameter)."""
    least, most = op.bounds(a) if op is not None else (a.minimum, a.maximum)
    each = "each " if a.kind.endswith("ints") else ""
    if least is not None and most is not None:
        return f", {each}{number_text(least)} to {number_text(most)}"
    if least is not None:
        return f", {each}≥ {number_text(least)}"
    return f", {each}≤ {number_text(most)}" if most is not None else ""


def _notes(attrs: tuple[Attr, ...]) -> str:
    """The notes column: what each attribute or parameter that has a note (Attr.doc) means."""
    return "<br>".join(f"`{a.name}`: {a.doc}" for a in attrs if a.doc) or "—"


def _attr_text(op: OpSpec, a: Attr) -> str:
    text = f"`{a.name}` ({a.kind}"
    if a.choices:
        text += ": " + " / ".join(a.choices)
    text += _range_text(a, op)
    text += ", required; new nodes start at " if a.required else ", default "
    return text + f"`{a.default!r}`)"


def _param_text(a: Attr) -> str:
    return f"`{a.name}` ({a.kind}{_range_text(a)}" + (", required)" if a.required else f", default `{a.default!r}`)")


def _port_text(op: OpSpec, port: str) -> str:
    """A port, with the dtype it takes where that is not floating, whether it takes no grad, and
    when it is there only while an attribute of its name is null (pow's exponent: OpSpec.ports)."""
    if op.variadic:  # one port per tensor of the sequence
        return f"`{port}.0` … `{port}.(n − 1)`, n = `{VARIADIC_COUNT}`"
    notes = [op.input_dtypes[port]] if port in op.input_dtypes else []
    if port in op.no_grad_inputs and port not in op.input_dtypes:
        notes.append("no grad")
    if op.attr(port) is not None:
        notes.append(f"only while attribute `{port}` is null")
    return f"`{port}`" + (f" ({', '.join(notes)})" if notes else "")


def markdown() -> str:
    lines = ["# Op catalogue", "",
             "Generated from `graph/ops/` and `graph/inits.py` by `python -m graph.opsdoc`; "
             "do not edit by hand.",
             "Each op calls the torch function named in its row. Input ports carry torch's argument",
             "names; attributes are the non-tensor arguments with torch's keyword names.",
             "A port takes the dtypes torch's function takes there, with torch's type promotion",
             "(an int64 or bool tensor into `add` with a float32 one gives float32); what torch",
             "refuses (`mean` of an int64 tensor, `matmul` of int64 and float32) check refuses,",
             "naming the node. A port whose row says int64 or bool takes an index or a condition.",
             "Only floating tensors carry gradients: a port marked no grad must be fed by a tensor",
             "that does not require grad, and ops with a bool result (comparisons) give no gradient.",
             "",
             "Attribute and parameter kinds:", ""]
    lines += [f"- `{kind}`: {text}" for kind, text in KINDS.items()]
    lines.append("")
    for category in categories():
        lines += [f"## {category}", "",
                  "| op | symbol | torch call | inputs | attributes | attribute notes | local derivative |",
                  "|---|---|---|---|---|---|---|"]
        for op in OPS.values():
            if op.category == category:
                attrs = "<br>".join(_attr_text(op, a) for a in op.attrs) or "—"
                lines.append(f"| `{op.name}` | {op.symbol} | `{op.function}` | "
                             f"{', '.join(_port_text(op, p) for p in op.inputs)} | {attrs} | {_notes(op.attrs)} | "
                             f"{op.rule} |")
        lines.append("")
    lines += ["## tensor initialisers (`init` of a tensor node)", "",
              "| fn | torch call | parameters | parameter notes | values | dtypes |", "|---|---|---|---|---|---|"]
    for spec in INITS.values():
        params = "<br>".join(_param_text(a) for a in spec.params)
        values = spec.doc + ("" if spec.values is not None else " (random: seeded, drawn on the CPU)")
        lines.append(f"| `{spec.name}` | `{spec.function}` | {params} | {_notes(spec.params)} | {values} | "
                     f"{', '.join(spec.dtypes)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
