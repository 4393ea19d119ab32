"""The `gradcanvas` command: check, grad, export, render, or (no command) the desktop app.
(~650 lines, one piece: each command's arguments beside its handler, the one place --help reads from.)

Heavy imports happen inside the commands that need them: torch for check, grad and export, Qt
only for render and the app. Importing this module loads neither (tests/test_layering.py), so
`gradcanvas check` and the window both start fast. User errors print one line and exit 1,
never a traceback.

Every id, port, label or op name printed (tables, notes, errors, "wrote" lines) goes through
graph.safetext.visible, so text from a file cannot act on the terminal; JSON is escaped by
json.dumps itself (ensure_ascii). `grad --json` is strict RFC 8259 JSON, described in the
README (Command line).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shlex
import sys
from collections.abc import Callable
from typing import NamedTuple

from gradcanvas import __version__
from graph.errors import GraphError, ValueSpecError
from graph.fileformat import load, same_file
from graph.naming import no_node_text, size_text
from graph.ops import FLOAT_DTYPES
from graph.safetext import visible
from graph.values import literal_shape, parse_tensor_text

COMMANDS = ("check", "grad", "export", "render", "jacobian", "hessian", "gradcheck", "import")
MAX_ACCUMULATE = 10_000
# A table column is as wide as its widest cell up to this: any tensor written out (≤ 8 numbers)
# fits, so the columns after it stay aligned; a longer id pushes the rest of its row only.
COLUMN_MAX = 100
# In grad --json, a tensor with more elements than this is written as a summary (unless --full).
SUMMARY_ABOVE = 100_000


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gradcanvas",
        description="See partial derivatives: build a graph of tensor and op nodes, pick a target, "
                    "read d(target)/d(node) on every node. With no command, opens the desktop app.")
    p.add_argument("--version", action="version", version=f"gradcanvas {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("check", help="validate a graph file (format, DAG, inputs, shapes)")
    c.add_argument("file")

    def run_options(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("file")
        sp.add_argument("--target", help="node id to differentiate (default: the only sink)")
        sp.add_argument("--grad-output", metavar="JSON",
                        help="the v of backward(gradient=v), needed for a non-scalar target, e.g. '[1, 0]'; "
                             "the partials are then vector-Jacobian products, v^T d(target)/d(node)")
        sp.add_argument("--dtype", choices=FLOAT_DTYPES,
                        help="override every floating tensor's dtype (int64 and bool leaves keep theirs)")

    def memory_limit_option(sp: argparse.ArgumentParser, refuse: str) -> None:
        sp.add_argument("--memory-limit", metavar="SIZE",
                        help=f"{refuse} estimated to need more memory than this, before allocating: e.g. "
                             "2G, 512M, 1.5GB, bytes, or none (default 80%% of the memory free here)")

    def compute_options(sp: argparse.ArgumentParser) -> None:  # every command that computes
        run_options(sp)
        sp.add_argument("--device", default="cpu", help="cpu, cuda or mps (default cpu)")
        memory_limit_option(sp, "refuse a run")

    g = sub.add_parser("grad", help="print the target's value and d(target)/d(node) for every node")
    compute_options(g)
    g.add_argument("--json", action="store_true", help="print strict JSON keyed by the original node ids "
                   "(NaN/Inf as \"nan\", \"inf\", \"-inf\"; see the README)")
    g.add_argument("--full", action="store_true",
                   help=f"in --json, write tensors above {SUMMARY_ABOVE:,} elements in full, not as a summary")
    g.add_argument("--accumulate", type=int, default=1, metavar="N",
                   help="run forward+backward N times without clearing .grad (as PyTorch does); "
                        f"1 to {MAX_ACCUMULATE}")
    g.add_argument("--order", type=int, choices=(1, 2), default=1,
                   help="2: also d²(target)/dx² elementwise for every requires-grad leaf x (grads2 in --json)")
    g.add_argument("--symbolic", action="store_true",
                   help="also d(target)/dx as a formula (sympy) for every requires-grad leaf x, for graphs of "
                        "0-d tensors and elementwise ops (formulas in --json)")

    e = sub.add_parser("export", help="write a standalone torch script printing the same partials "
                       "(a Jupyter notebook for -o NAME.ipynb)")
    run_options(e)
    e.add_argument("-o", "--output", required=True,
                   help="the .py (or .ipynb) file to write (- for the script on standard output)")
    e.add_argument("--form", choices=("script", "function", "module"), default="script",
                   help="script: prints every partial (default); function: def forward(<leaves requiring grad>); "
                        "module: an nn.Module whose requires-grad leaves are nn.Parameters")
    e.add_argument("--device", default="cpu", help="the device the exported code runs on: cpu, cuda, cuda:N, mps")
    e.add_argument("--retain-grad", action=argparse.BooleanOptionalAction, default=True,
                   help="intermediates get retain_grad() and their .grad is printed (default; --no-retain-grad: "
                        "leaves only)")
    memory_limit_option(e, "export runs the graph once on this machine's CPU to check it, whatever --device: "
                           "refuse that run if")

    from gradcanvas import calculus_cmds, import_cmd

    calculus_cmds.add_parsers(sub, compute_options)
    import_cmd.add_parser(sub)

    r = sub.add_parser("render", help="draw the window with this graph to a PNG")
    r.add_argument("file")
    r.add_argument("--target")
    r.add_argument("-o", "--output", required=True, help="the .png file to write (- for standard output)")
    r.add_argument("--size", default="1400x900", help="WxH in pixels (default 1400x900)")
    memory_limit_option(r, "draw the graph uncomputed, the refusal on it, if it is")
    return p


class UsageError(GraphError):
    pass


def _validated(graph):  # noqa: ANN001, ANN202
    """Refuse a graph with nothing in it, then check data, DAG and connections once
    (Graph.validate), so the real problem is reported before anything depends on the wiring
    (sinks, targets). The checked graph it returns is compiled as it is."""
    if not graph.nodes:
        raise UsageError("the graph has no nodes")
    return graph.validate()


def _load(path: str):  # noqa: ANN202 - a graph.model.CheckedGraph
    """The one place the commands read a graph: load the file, then validate it (once)."""
    return _validated(load(path))


def _pick_target(graph, target: str | None, grad_output: object = None) -> tuple[str, object]:  # noqa: ANN001
    """(target, grad-output): as asked; else the file's own target (and grad-output, unless
    one is given); else the only sink."""
    if target is None and graph.target is not None:
        target = graph.target
    if target is not None:
        if target not in graph.nodes:
            raise UsageError(no_node_text(graph, target))
        if grad_output is None and target == graph.target:
            grad_output = graph.grad_output
        return target, grad_output
    sinks = graph.sinks()
    if len(sinks) != 1:
        shown = ", ".join(sinks[:10]) + (f", … ({len(sinks) - 10} more)" if len(sinks) > 10 else "")
        raise UsageError(f"the graph has {len(sinks)} sinks ({shown}): choose one with --target")
    return sinks[0], grad_output


def _grad_output(text: str | None) -> object:
    if text is None:
        return None
    try:
        return parse_tensor_text(text, "--grad-output", example="[1, 0]")  # a tensor literal: its numbers checked
    except ValueSpecError as e:
        raise UsageError(e.message) from None


def _accumulate(n: int) -> int:
    if not 1 <= n <= MAX_ACCUMULATE:
        raise UsageError(f"--accumulate needs N from 1 to {MAX_ACCUMULATE:,}, not {n}")
    return n


def _imported() -> None:
    """After a command's imports: the ~165,000 objects importing torch made live as long as
    the process, so the cyclic GC is told to leave them be (gc.freeze) instead of walking them
    at each of its full passes (~40 ms each)."""
    gc.freeze()


def cmd_check(args: argparse.Namespace) -> int:
    from autograd_bridge.engine import Compiled

    _imported()

    graph = _load(args.file)
    notes: list[str] = []
    shapes = Compiled(graph).infer_shapes(notes)
    if graph.grad_output is not None and literal_shape(graph.grad_output) != shapes[graph.target]:  # as grad refuses
        raise UsageError(f"the file's grad-output has shape {list(literal_shape(graph.grad_output))} but its target "
                         f"{graph.target} has shape {list(shapes[graph.target])}")
    sinks = ", ".join(f"{visible(s)} {list(shapes[s])}" for s in graph.sinks())
    print(f"ok: {size_text(graph.nodes, graph.edge_count)}; sinks: {sinks}")
    for note in notes:
        print("note:", visible(note))
    return 0


def cmd_grad(args: argparse.Namespace) -> int:
    from autograd_bridge.engine import Compiled
    from autograd_bridge.formatting import tensor_text, tensor_texts

    _imported()

    accumulate = _accumulate(args.accumulate)
    grad_output = _grad_output(args.grad_output)

    def run(graph, target: str, grad_output: object):  # noqa: ANN001, ANN202 - (Compiled, Result, dict)
        compiled = Compiled(graph, args.device, args.dtype)
        _within_budget(compiled, args, accumulate > 1)
        return compiled, *_runs(compiled, target, grad_output, accumulate)

    (compiled, result, one_run), target, grad_output, left_out = with_target_part(args, grad_output, run)
    grads2 = None
    if args.order == 2:  # ∂²target/∂x² of one fresh run, whatever --accumulate adds up
        from autograd_bridge.calculus import hessian_diagonals
        from gradcanvas.calculus_cmds import _memory, print_second_derivatives

        # its batched backward passes, held to --memory-limit as hessian's are
        grads2 = hessian_diagonals(compiled, target, grad_output, **_memory(args, compiled))
    formulas = None
    if args.symbolic:  # of one fresh run's values, whatever --accumulate adds up
        from autograd_bridge.symbolic import formulas_for

        plain = accumulate == 1 and grad_output is None  # the partials are ∂target/∂leaf, not a sum or vᵀ·J
        formulas = formulas_for(compiled, result.values, target, grads=result.grads if plain else None)
    seed = None if grad_output is None else _grad_output_tensor(grad_output, result.values[target])
    if args.json:
        _write_json(result, compiled, args.full, grads2, formulas, seed, (accumulate, one_run), left_out)
        return 0
    leaves = set(compiled.source.leaf_ids)
    order = compiled.source.order
    values = dict(zip(order, tensor_texts([result.values[n] for n in order]), strict=True))
    grads = dict(zip(order, tensor_texts([result.grads[n] for n in order]), strict=True))
    shown = visible(target)
    vjp = "" if seed is None else "vᵀ·"  # with a grad-output v, backward gives vᵀ·∂y/∂node, not ∂y/∂node
    # One run's partial for every node; with --accumulate N a second column holds the leaves'
    # .grad after N backward() calls (N times the first), so no cell holds a sum under ∂y/∂node.
    rows = [("node", "kind", "shape", "value", f"{vjp}∂{shown}/∂node")
            + ((f".grad after {accumulate} backward()",) if one_run is not None else ())]
    for n in order:
        kind = compiled.graph.nodes[n].op + (" (leaf)" if n in leaves else "")
        reason = result.no_grad_reason(n, compiled)
        if reason is not None:
            partial = f"None: {visible(reason)}"
        else:
            partial = grads[n] if one_run is None or n not in one_run else tensor_text(one_run[n])
        rows.append((visible(n), kind, str(list(result.values[n].shape)), values[n], partial)
                    + ((grads[n] if n in one_run else "",) if one_run is not None else ()))
    widths = [min(COLUMN_MAX, max(len(r[i]) for r in rows)) for i in range(len(rows[0]) - 1)]
    mode = (f"leaf .grad accumulated over {accumulate} runs, as PyTorch does without x.grad = None"
            if accumulate > 1 else "one forward and backward, nothing accumulated")
    seeded = "" if seed is None else f"   grad-output {_grad_output_words(seed)}: each partial is vᵀ·∂{shown}/∂node"
    print(f"target {shown} = {tensor_text(result.values[target])}{seeded}   (device {compiled.device}, {mode})")
    for r in rows:
        print(("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1]).rstrip())
    for note in result.notes:
        print("note:", visible(note))
    if grads2 is not None:
        print_second_derivatives(grads2, target, vjp=seed is not None)
    if formulas is not None:
        _print_formulas(formulas)
    return 0


def with_target_part(args: argparse.Namespace, grad_output: object, build: Callable) -> tuple:
    """(build(checked graph, target, grad-output), target, grad-output, what was left out) for
    the file's target (args.target, the file's, the only sink). Where errors elsewhere in the
    file stop the whole but not the target, `build` gets the part that can run, as the app
    computes it, and stderr says what was left out (once built: a warning, then a refusal,
    would mislead); what was left out: a LeftOut, None when nothing was."""
    raw = load(args.file)
    try:
        graph = _validated(raw)
        target, grad_output = _pick_target(graph, args.target, grad_output)
        return build(graph, target, grad_output), target, grad_output, None
    except GraphError as whole:
        graph, left_out = _target_part(raw, args, whole)
        target, grad_output = _pick_target(raw, args.target, grad_output)  # the file's grad-output too
        built = build(graph, target, grad_output)
        _say_left_out(target, left_out)
        return built, target, grad_output, left_out


def _target_part(raw, args: argparse.Namespace,  # noqa: ANN001 - a loaded graph.model.Graph
                 whole: GraphError) -> tuple[object, LeftOut]:
    """(the checked graph of what can run, what errors left out of it) when the target is in
    it and something was left out; else `whole` is raised again
    (the target's own problem, or one it depends on)."""
    from autograd_bridge.compute import computable, stopping
    from autograd_bridge.engine import check_device
    from graph.errors import CycleError, ExecutionError, MissingInputError, ShapeError

    # Only a node's own problem (as the app leaves out per node); not a refusal of the whole
    # run (memory, device, usage) or of the target itself.
    if not raw.nodes or type(whole) not in (CycleError, ExecutionError, MissingInputError, ShapeError, ValueSpecError):
        raise whole
    target = args.target or raw.target
    if target is None:  # the only sink of what can run would be a guess: say the error
        raise whole
    if target not in raw.nodes:
        raise UsageError(no_node_text(raw, target))
    check_device(args.device, args.dtype)  # one line for a device not here, before the memory limit asks it
    part = computable(raw, args.device, args.dtype, _memory_limit(args, args.device)[0])  # its check run: held too
    if not part.errors:
        raise whole
    if part.compiled is None or target not in part.compiled.graph.nodes:
        # the target is left out: say the error that leaves it out, not the first in the file
        raise stopping(raw, part.errors, target) or whole
    return part.compiled.graph, LeftOut(raw, part.errors)


class LeftOut(NamedTuple):
    """What errors elsewhere in a file left out of a run: the file's graph and those errors."""

    graph: object  # the loaded graph.model.Graph
    errors: list[GraphError]

    def nodes(self) -> list[list[str]]:
        """Each error's nodes left out, in file order (one walk an error: for --json only)."""
        from autograd_bridge.compute import left_out_for

        return [[n for n in self.graph.nodes if n in out] for out in (left_out_for(self.graph, e) for e in self.errors)]


def _say_left_out(target: str, left_out: LeftOut) -> None:
    print(f"warning: {visible(target)} does not depend on what these errors leave out; computed without it:",
          file=sys.stderr)
    for e in left_out.errors:
        print(f"  {visible(e.message)}", file=sys.stderr)


def _runs(compiled, target: str, grad_output: object, accumulate: int):  # noqa: ANN001, ANN202 - Compiled, (Result, dict)
    """The last of `accumulate` runs, and (when more than one) the first run's leaf partials:
    ∂target/∂leaf of one run, while the last Result's leaf grads are the .grad summed over all
    (every run computes the same: random ops reseed from the graph's seed each run)."""
    one_run = None
    for i in range(accumulate):
        result = compiled.run(target, grad_output, accumulate=accumulate > 1)
        if i == 0 and accumulate > 1:
            one_run = {n: g for n in compiled.source.leaf_ids if (g := result.grads[n]) is not None}
    return result, one_run


def _grad_output_tensor(grad_output: object, target_value):  # noqa: ANN001, ANN202 - torch.Tensor
    """The grad-output as the engine seeds backward with it: in the target's dtype."""
    import torch

    return torch.tensor(grad_output, dtype=target_value.dtype)


def _grad_output_words(seed) -> str:  # noqa: ANN001 - a torch.Tensor
    """"v = [1, 10]" for a short grad-output; "v of shape [40]" when its numbers would not fit a line."""
    from autograd_bridge.formatting import tensor_text

    text = tensor_text(seed)
    return f"v = {text}" if len(text) <= 40 else f"v of shape {list(seed.shape)}"


def _print_formulas(formulas) -> None:  # noqa: ANN001 - autograd_bridge.symbolic.Formulas
    from autograd_bridge.symbolic import formula_line

    if formulas.reason is not None:
        print(visible(f"no formula: {formulas.reason}"))
    for n, f in formulas.formulas.items():
        print(visible(formula_line(formulas.target, n, f, n not in formulas.unsimplified, formulas.values[n],
                                   formulas.unvalued.get(n), formulas.torch_differs.get(n))))


def _within_budget(compiled, args: argparse.Namespace, accumulate: bool) -> None:  # noqa: ANN001
    """Refuse (OverBudget, one line naming the largest nodes) a run estimated over the memory
    limit, before anything is allocated; see autograd_bridge.budget."""
    from autograd_bridge import budget

    limit, why = _memory_limit(args, str(compiled.device))
    output = (lambda shapes: _json_held_bytes(shapes, args.full)) if getattr(args, "full", None) is not None \
        and args.json else None
    budget.check(compiled, limit, why=why, hint="raise it with --memory-limit", output=output,
                 accumulate=accumulate)


def _memory_limit(args: argparse.Namespace, device: str) -> tuple[int | None, str]:
    """(bytes, or None for no limit; where it comes from) for --memory-limit on this device."""
    from autograd_bridge import budget

    if args.memory_limit is None:
        return budget.memory_limit_default(device), budget.DEFAULT_WHY
    try:
        return budget.parse_size(args.memory_limit), f"--memory-limit {args.memory_limit.strip()}"
    except ValueError as e:
        raise UsageError(f"--memory-limit: {e}") from None


def _json_held_bytes(shapes: dict[str, tuple[int, ...]], full: bool) -> int:
    """What _tensor_json holds at once (its text streams out): the Python numbers and text of
    one chunk of rows (~80 bytes a number), or nothing much for a summary."""
    held = 0
    for shape in shapes.values():
        n = 1
        for d in shape:
            n *= d
        if n > SUMMARY_ABOVE and not full:
            continue
        row = n // shape[0] if len(shape) > 1 and shape[0] else 1
        held = max(held, min(n, max(_CHUNK, row)))
    return 80 * held


# ---- grad --json: strict JSON (RFC 8259), written a tensor at a time; see the README ----

_NONFINITE = (("-Infinity", '"-inf"'), ("Infinity", '"inf"'), ("NaN", '"nan"'))
_CHUNK = 1 << 16  # numbers turned into text at a time, so --full never holds a whole tensor as text


def _numbers_json(numbers: object) -> str:
    """Numbers (a float or nested lists of them; no strings) as JSON, NaN and infinities written
    as the strings "nan", "inf", "-inf": json's own tokens for them are not JSON."""
    text = json.dumps(numbers)
    if "N" in text or "I" in text:  # only NaN and Infinity hold capitals
        for token, string in _NONFINITE:
            text = text.replace(token, string)
    return text


def _min_max_mean(t) -> list[float]:  # noqa: ANN001 - a floating torch.Tensor
    """Over rows of ROW elements, then over those results: no float64 copy of t (mean(dtype=
    float64) makes one: 1.1 GB for 12,000 x 12,000) and no contiguous copy of a broadcast
    (stride 0) gradient, which min() and max() on it make. float32 sums of ROW elements are
    accurate; they are added in float64."""
    import torch

    from autograd_bridge.formatting import ROW

    flat = t.reshape(-1)
    m = flat.numel() // ROW
    parts = [flat[:m * ROW].view(m, ROW)] if m else []
    if flat.numel() > m * ROW:
        parts.append(flat[m * ROW:].reshape(1, -1))
    lo, hi, total = (torch.cat([getattr(p, f)(dim=1) for p in parts]) for f in ("amin", "amax", "sum"))
    return [lo.amin().item(), hi.amax().item(), total.sum(dtype=torch.float64).item() / flat.numel()]


def _tensor_json(t, full: bool, write) -> None:  # noqa: ANN001 - a torch.Tensor or None; a writer
    """One tensor: null, a number, nested lists, or (above SUMMARY_ABOVE elements, unless full)
    a summary {"shape", "norm", "min", "max", "mean"}. Large ones go out a chunk of rows at a
    time, so the text never exists whole."""
    import torch

    from autograd_bridge.formatting import norm

    if t is None:
        write("null")
        return
    t = t.detach()
    if t.numel() > SUMMARY_ABOVE and not full:
        f = t if t.is_floating_point() else t.double()
        with torch.no_grad():
            stats = [norm(f), *_min_max_mean(f)]
        write(f'{{"shape": {json.dumps(list(t.shape))}, ' + ", ".join(
            f'"{k}": {_numbers_json(v)}' for k, v in zip(("norm", "min", "max", "mean"), stats, strict=True)) + "}")
        return
    t = t.cpu()
    if t.dim() == 0 or t.numel() <= _CHUNK:
        write(_numbers_json(t.tolist()))
        return
    rows = max(1, _CHUNK // max(1, t[0].numel()))
    write("[")
    for start in range(0, t.shape[0], rows):
        write((", " if start else "") + _numbers_json(t[start:start + rows].tolist())[1:-1])
    write("]")


def _write_json(result, compiled, full: bool, grads2: dict | None = None,  # noqa: ANN001 - engine Result, Compiled
                formulas=None, grad_output=None,  # noqa: ANN001 - symbolic.Formulas, torch.Tensor
                accumulated: tuple[int, dict | None] = (1, None), left_out: LeftOut | None = None) -> None:
    write = sys.stdout.write
    target = result.target
    write(f'{{"target": {json.dumps(target)}, "value": ')
    _tensor_json(result.values[target], full, write)
    if grad_output is not None:  # the v of backward(gradient=v): "grads" (and "grads2") are then of vᵀ·target
        write(', "grad_output": ')
        _tensor_json(grad_output, full, write)
    write(', "grads": {')
    for i, n in enumerate(compiled.source.order):  # as the table lists them: each node after its inputs
        write(f'{", " if i else ""}{json.dumps(n)}: ')
        _tensor_json(result.grads[n], full, write)
    write("}")
    runs, one_run = accumulated
    if one_run is not None:  # --accumulate N: these leaves' "grads" are .grad after N backward() calls
        partial = f"{'' if grad_output is None else 'vᵀ·'}∂{target}/∂leaf"
        note = f"grads of the leaves in one_run are .grad after {runs} backward() calls; one_run: {partial} of one call"
        write(f', "accumulated": {{"backward_calls": {runs}, "note": {json.dumps(note)}, "one_run": {{')
        for i, (n, g) in enumerate(one_run.items()):
            write(f'{", " if i else ""}{json.dumps(n)}: ')
            _tensor_json(g, full, write)
        write("}}")
    if grads2 is not None:  # grad --order 2: ∂²target/∂x² per requires-grad leaf
        write(', "grads2": {')
        for i, (n, d) in enumerate(grads2.items()):
            write(f'{", " if i else ""}{json.dumps(n)}: ')
            _tensor_json(d, full, write)
        write("}")
    if formulas is not None:  # grad --symbolic: sympy's string form per leaf; why none, when none
        write(f', "formulas": {json.dumps(formulas.formulas)}')
        if formulas.reason is not None:
            write(f', "no_formula": {json.dumps(formulas.reason)}')
    warnings = [{"node": n, "message": what} for n, what in result.nonfinite]
    if warnings:  # only when there is one: a clean run's JSON keeps its three keys
        write(f', "warnings": {json.dumps(warnings)}')
    if left_out:  # errors elsewhere that the target does not depend on: those nodes are not in "grads"
        left = [{"nodes": nodes, "message": e.message}  # nodes: those it left out
                for e, nodes in zip(left_out.errors, left_out.nodes(), strict=True)]
        write(f', "not_computed": {json.dumps(left)}')
    write("}\n")


# What each command's -o must end with, as render's must end with .png (gui.render checks that).
OUTPUT_SUFFIXES = {"export": (".py", ".ipynb"), "import": (".json",)}


def check_output(output: str, command: str, example: str) -> None:
    """Refuse, before any work, an -o that names no file (empty, or a folder) or a file of
    another kind than the command writes."""
    if not output.strip():
        raise UsageError(f"{command} needs a file name after -o, e.g. -o {example}")
    if os.path.isdir(output):
        raise UsageError(f"cannot write {output}: it is a folder; give a file name such as "
                         f"{os.path.join(output, example)}")
    suffixes = OUTPUT_SUFFIXES[command]
    if output != "-" and not output.lower().endswith(suffixes):
        raise UsageError(f"{command} writes a {' or '.join(suffixes)} file, not -o {output}: "
                         f"give a name such as {example}")


def refuse_output_over_input(args: argparse.Namespace) -> None:
    """Refuse an -o that is the very file the command reads (the same name, a symlink or a hard
    link to it): writing would replace the graph or script it came from."""
    output = getattr(args, "output", "-")
    for source in (getattr(args, n, None) for n in ("file", "script")):
        if output != "-" and source is not None and same_file(output, source):
            raise UsageError(f"{args.command}: -o {output} is the file it reads ({source}); writing it would "
                             "overwrite it: give another name")


def cmd_export(args: argparse.Namespace) -> int:
    from autograd_bridge.budget import OverBudget
    from autograd_bridge.notebook import NOTEBOOK_SUFFIX, export_for_path
    from graph.fileformat import write_text_atomic

    _imported()

    check_output(args.output, "export", "grads.py")
    grad_output = _grad_output(args.grad_output)
    # the check run is on this CPU, whatever --device; the export's own default says so
    limit = "default" if args.memory_limit is None else _memory_limit(args, "cpu")[0]
    graph = _load(args.file)
    target, grad_output = _pick_target(graph, args.target, grad_output)
    try:
        text = export_for_path(args.output, graph, target, grad_output, args.dtype, form=args.form,  # by suffix
                               device=args.device, retain_grad=args.retain_grad, memory_limit=limit)
    except OverBudget as e:
        raise UsageError(f"{e.message}; export runs the graph once on this machine's CPU to check it: "
                         "raise the limit with --memory-limit") from None
    if args.output == "-":  # -o -: the script goes to standard output
        sys.stdout.write(text)
        return 0
    try:
        write_text_atomic(args.output, text)
    except OSError as e:  # name the file asked for, not the temporary file beside it
        raise UsageError(f"cannot write {args.output}: {e.strerror or e}") from None
    shown = visible(args.output)
    if args.output.lower().endswith(NOTEBOOK_SUFFIX):
        print(f"wrote {shown}: open it in Jupyter and run its cells in order")
    else:
        # Quoted as a shell reads it, so the hint pastes as a command ("my graph.py" has a space).
        print(f"wrote {shown}: run it with  python {shlex.quote(shown)}")
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    try:
        from gui.render import render
    except ImportError as e:  # Qt missing, or a system library it needs (libEGL, libxkbcommon)
        raise UsageError(f"render needs Qt, which cannot be loaded here: {e}") from None
    return render(args)


def open_gui(file: str | None) -> int:
    try:
        from gui.app import main as app_main
    except ImportError as e:
        print(f"gradcanvas: the desktop app cannot start, Qt cannot be loaded here: {e}; "
              "check, grad and export still work (gradcanvas --help)", file=sys.stderr)
        return 1
    return app_main(file)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that Python's flush at exit finds no broken pipe to report."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (tests capture it)
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        if len(argv) > 1:
            _parser().error(f"unknown command {argv[0]!r}")
        return open_gui(argv[0])
    args = _parser().parse_args(argv)
    if args.command is None:
        return open_gui(None)
    try:
        from gradcanvas import calculus_cmds, import_cmd

        refuse_output_over_input(args)
        code = {"check": cmd_check, "grad": cmd_grad, "export": cmd_export, "render": cmd_render,
                "import": import_cmd.cmd_import, **calculus_cmds.COMMANDS}[args.command](args)
        sys.stdout.flush()  # here, so that a full or closed stdout is reported like any error
        return code
    except GraphError as e:
        print(f"error: {visible(e.message)}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (| head): stop quietly
        _silence_stdout()
        return 1
    except OSError as e:
        # Files the commands read or write are named by their own errors; an OSError without a
        # file name comes from writing the results (e.g. > /dev/full).
        if e.filename is None:
            _silence_stdout()
        where = e.filename if e.filename is not None else "standard output"
        print(f"error: {visible(str(where))}: {visible(str(e.strerror or e))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except (MemoryError, RuntimeError) as e:
        # A last net: whatever ran out of memory (Python, torch's CPU allocator, CUDA) ends in one
        # line, not a traceback; any other RuntimeError is a bug and keeps its traceback.
        if not _out_of_memory(e):
            raise
        print(f"error: out of memory while running {args.command} ({type(e).__name__}): the graph needs "
              "more memory than this machine has free; try smaller shapes", file=sys.stderr)
        return 1


def _out_of_memory(e: BaseException) -> bool:
    from autograd_bridge.budget import is_out_of_memory  # no torch: safe before any import

    return is_out_of_memory(e)


if __name__ == "__main__":
    sys.exit(main())
