"""docs/ops.md, written from the op catalogue: `python -m graph.opsdoc > docs/ops.md`.

A test checks the committed file equals this output, so the docs cannot drift from the table.
"""

from __future__ import annotations

from graph.ops import CATEGORIES, INIT_FNS, OPS


def _attr_text(a) -> str:  # noqa: ANN001 - graph.ops.Attr
    text = f"`{a.name}` ({a.kind}"
    if a.choices:
        text += ": " + " / ".join(a.choices)
    text += ", required; new nodes start at " if a.required else ", default "
    return text + f"`{a.default!r}`)"


def markdown() -> str:
    lines = ["# Op catalogue", "",
             "Generated from `graph/ops.py` by `python -m graph.opsdoc`; do not edit by hand.",
             "Each op calls the torch function named in its row. Input ports carry torch's argument",
             "names; attributes are the non-tensor arguments with torch's keyword names.", ""]
    for category in CATEGORIES:
        lines += [f"## {category}", "", "| op | symbol | torch call | inputs | attributes | local derivative |",
                  "|---|---|---|---|---|---|"]
        for op in OPS.values():
            if op.category == category:
                attrs = "<br>".join(_attr_text(a) for a in op.attrs) or "—"
                lines.append(f"| `{op.name}` | {op.symbol} | `{op.function}` | "
                             f"{', '.join(f'`{p}`' for p in op.inputs)} | {attrs} | {op.rule} |")
        lines.append("")
    lines += ["## tensor initialisers (`init` of a tensor node)", "", "| fn | parameters |", "|---|---|"]
    for fn, params in INIT_FNS.items():
        ps = ", ".join(f"`{n}`" + ("" if req else f" (default `{d!r}`)") for n, (_k, req, d) in params.items())
        lines.append(f"| `{fn}` | {ps} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
