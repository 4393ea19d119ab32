"""Export a graph as a standalone, tutorial-style script that needs only torch.

The leaf and forward lines are the very lines `Compiled` runs (codegen.Source.lines), so the
script's numbers and the app's cannot differ. The same graph always exports the same text.
A literal tensor too big to write out (codegen.INLINE_LITERAL_MAX) is stored as the base64 of its
raw little-endian bytes, the very numbers the app computes with, decoded with torch alone.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import torch

from autograd_bridge.codegen import INLINE_LITERAL_MAX, Source, id_comment, literal
from autograd_bridge.engine import Compiled, Result
from graph.model import Graph


def base64_expr(t: torch.Tensor) -> str:
    """Source text that makes a CPU tensor equal to t bit for bit, from the base64 of its bytes.

    Safe by construction: base64 text holds only A-Z a-z 0-9 + / =, so it cannot end the string
    literal; the dtype is a torch attribute name and the shape validated ints.
    """
    array = t.detach().cpu().contiguous().numpy()
    raw = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()  # little-endian
    text = base64.b64encode(raw).decode("ascii")
    dtype = str(t.dtype).removeprefix("torch.")
    return (f'torch.frombuffer(bytearray(base64.b64decode("{text}")), dtype=torch.{dtype})'
            f".reshape({literal(tuple(t.shape))})")


def _literals_block(src: Source, tensors: list[torch.Tensor]) -> list[str]:
    """The `literals` list that big literal leaves copy from (codegen.INLINE_LITERAL_MAX)."""
    if not src.literal_ids:
        return []
    return ["# Literal tensors too big to write out: the raw bytes of their numbers, in base64.",
            "literals = [",
            *(f"    {base64_expr(v)},  {id_comment(n)}" for n, v in zip(src.literal_ids, tensors, strict=True)),
            "]", ""]


@dataclass
class ScriptParts:
    """The export's lines by stage; the script joins them, the notebook (autograd_bridge.notebook)
    gives each stage a cell of its own, so the two never hold different code."""

    setup: list[str]  # what the script is, imports, the device, big literals
    leaves: list[str]
    forward: list[str]  # one line per op node, then retain_grad() for the non-leaves
    backward: list[str]  # backward() from the target, then its value printed
    partials: list[str]  # every node's .grad printed
    compiled: Compiled  # compiled on the CPU, as the script runs
    result: Result  # the run of these very lines, before any text was written


def script_parts(graph: Graph, target: str, grad_output: object = None, dtype: str | None = None) -> ScriptParts:
    compiled = Compiled(graph, "cpu", dtype)
    # Run the very lines the script will hold, on the CPU: this checks the target and the
    # grad-output exactly as the app does, and a script that would crash (a value torch refuses,
    # an op that fails only on real data) is never written: the error names its node instead.
    result = compiled.run(target, grad_output)
    target_value = result.values[target]
    src = compiled.source
    t = src.names[target]
    # A big grad-output is stored like a big literal: as the app makes it, in the target's dtype.
    big_grad_output = (torch.tensor(grad_output, dtype=target_value.dtype)
                       if grad_output is not None and target_value.numel() > INLINE_LITERAL_MAX else None)

    setup = [
        f"# GradCanvas export: the partials of target {ascii(target)} with respect to every node.",
        "# Needs only torch. Variables are named after the node ids (made into safe identifiers).",
        *(["import base64", ""] if src.literal_ids or big_grad_output is not None else []),
        "import torch",
        "",
        'device = "cpu"',
        "",
        *_literals_block(src, compiled.literal_data()),
    ]
    leaves = ["# Leaf tensors. requires_grad=True asks PyTorch to fill in .grad for them.",
              *(src.lines[n] for n in src.leaf_ids)]
    forward = ["# Forward: one line per node.", *(src.lines[n] for n in src.op_ids)]
    retained = [n for n in src.op_ids if n in src.requires_grad]
    if retained:
        forward += ["", "# Non-leaf tensors keep no .grad unless asked: retain_grad() asks."]
        forward += [f"{src.names[n]}.retain_grad()" for n in retained]
    backward = [f"# Backward from the target {t}."]
    if target not in src.requires_grad:
        backward.append(f"# {t} depends on no tensor with requires_grad=True, so {t}.backward() would "
                        "raise: every .grad stays None.")
    elif grad_output is None:
        backward.append(f"{t}.backward()")
    else:
        gradient = (f"torch.tensor({literal(grad_output)}, dtype={t}.dtype, device=device)"
                    if big_grad_output is None else f"{base64_expr(big_grad_output)}.to(device)")
        backward += [f"# {t} is not a scalar: backward() needs a grad-output (a vector-Jacobian product).",
                     f"{t}.backward(gradient={gradient})"]
    backward += ["", f'print("{t} =", {t}.detach())']
    partials = [f"# d{t}/d(node) for every node. None: the node does not require grad, or {t} does not",
                "# depend on it (PyTorch leaves .grad as None)."]
    partials += [f'print("{src.names[n]}.grad =", {src.names[n]}.grad)  {id_comment(n)}' for n in src.order]
    return ScriptParts(setup, leaves, forward, backward, partials, compiled, result)


def export_script(graph: Graph, target: str, grad_output: object = None, dtype: str | None = None) -> str:
    p = script_parts(graph, target, grad_output, dtype)
    return "\n".join([*p.setup, *p.leaves, "", *p.forward, "", *p.backward, *p.partials]) + "\n"
