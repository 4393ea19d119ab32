"""Export a graph as a standalone, tutorial-style script that needs only torch.

The leaf and forward lines are the very lines `Compiled` runs (codegen.Source.lines), so the
script's numbers and the app's cannot differ. The same graph always exports the same text.
"""

from __future__ import annotations

from autograd_bridge.codegen import id_comment, literal
from autograd_bridge.engine import Compiled
from graph.model import Graph


def export_script(graph: Graph, target: str, grad_output: object = None, dtype: str | None = None) -> str:
    compiled = Compiled(graph, "cpu", dtype)
    # Run the very lines the script will hold, on the CPU: this checks the target and the
    # grad-output exactly as the app does, and a script that would crash (a value torch refuses,
    # an op that fails only on real data) is never written: the error names its node instead.
    compiled.run(target, grad_output)
    src = compiled.source
    t = src.names[target]

    out = [
        f"# GradCanvas export: the partials of target {ascii(target)} with respect to every node.",
        "# Needs only torch. Variables are named after the node ids (made into safe identifiers).",
        "import torch",
        "",
        'device = "cpu"',
        "",
        "# Leaf tensors. requires_grad=True asks PyTorch to fill in .grad for them.",
        *(src.lines[n] for n in src.leaf_ids),
        "",
        "# Forward: one line per node.",
        *(src.lines[n] for n in src.op_ids),
    ]
    retained = [n for n in src.op_ids if n in src.requires_grad]
    if retained:
        out += ["", "# Non-leaf tensors keep no .grad unless asked: retain_grad() asks."]
        out += [f"{src.names[n]}.retain_grad()" for n in retained]
    out += ["", f"# Backward from the target {t}."]
    if target not in src.requires_grad:
        out.append(f"# {t} depends on no tensor with requires_grad=True, so {t}.backward() would "
                   "raise: every .grad stays None.")
    elif grad_output is None:
        out.append(f"{t}.backward()")
    else:
        out += [f"# {t} is not a scalar: backward() needs a grad-output (a vector-Jacobian product).",
                f"{t}.backward(gradient=torch.tensor({literal(grad_output)}, dtype={t}.dtype, "
                "device=device))"]
    out += ["", f'print("{t} =", {t}.detach())',
            f"# d{t}/d(node) for every node. None: the node does not require grad, or {t} does not",
            "# depend on it (PyTorch leaves .grad as None)."]
    for n in src.order:
        v = src.names[n]
        out.append(f'print("{v}.grad =", {v}.grad)  {id_comment(n)}')
    return "\n".join(out) + "\n"
