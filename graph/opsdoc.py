"""docs/ops.md, written from the op and init catalogues: `python -m graph.opsdoc > docs/ops.md`.

A test checks the committed file equals this output, so the docs cannot drift from the tables.
Everything is read when markdown() is called, so an entry registered by a test shows up.
"""

from __future__ import annotations

from graph.inits import INITS
from graph.ops import KINDS, OPS, Attr, OpSpec, categories


def _attr_text(a: Attr) -> str:
    text = f"`{a.name}` ({a.kind}"
    if a.choices:
        text += ": " + " / ".join(a.choices)
    if a.minimum is not None:
        text += f", each ≥ {a.minimum}" if a.kind.endswith("ints") else f", ≥ {a.minimum}"
    text += ", required; new nodes start at " if a.required else ", default "
    return text + f"`{a.default!r}`)"


def _param_text(a: Attr) -> str:
    return f"`{a.name}` ({a.kind}" + (", required)" if a.required else f", default `{a.default!r}`)")


def _port_text(op: OpSpec, port: str) -> str:
    """A port, with the dtype it takes where that is not floating, and whether it takes no grad."""
    notes = [op.input_dtypes[port]] if port in op.input_dtypes else []
    if port in op.no_grad_inputs and port not in op.input_dtypes:
        notes.append("no grad")
    return f"`{port}`" + (f" ({', '.join(notes)})" if notes else "")


def markdown() -> str:
    lines = ["# Op catalogue", "",
             "Generated from `graph/ops/` and `graph/inits.py` by `python -m graph.opsdoc`; "
             "do not edit by hand.",
             "Each op calls the torch function named in its row. Input ports carry torch's argument",
             "names; attributes are the non-tensor arguments with torch's keyword names.",
             "Ports take floating tensors unless their row says int64 or bool; a port marked",
             "no grad must be fed by a tensor that does not require grad. Ops with a bool result",
             "(comparisons) give no gradient.", "",
             "Attribute and parameter kinds:", ""]
    lines += [f"- `{kind}`: {text}" for kind, text in KINDS.items()]
    lines.append("")
    for category in categories():
        lines += [f"## {category}", "", "| op | symbol | torch call | inputs | attributes | local derivative |",
                  "|---|---|---|---|---|---|"]
        for op in OPS.values():
            if op.category == category:
                attrs = "<br>".join(_attr_text(a) for a in op.attrs) or "—"
                lines.append(f"| `{op.name}` | {op.symbol} | `{op.function}` | "
                             f"{', '.join(_port_text(op, p) for p in op.inputs)} | {attrs} | {op.rule} |")
        lines.append("")
    lines += ["## tensor initialisers (`init` of a tensor node)", "",
              "| fn | torch call | parameters | values | dtypes |", "|---|---|---|---|---|"]
    for spec in INITS.values():
        params = "<br>".join(_param_text(a) for a in spec.params)
        values = spec.doc + ("" if spec.values is not None else " (random: seeded, drawn on the CPU)")
        lines.append(f"| `{spec.name}` | `{spec.function}` | {params} | {values} | {', '.join(spec.dtypes)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
