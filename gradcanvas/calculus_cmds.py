"""The commands beyond one backward pass: `jacobian`, `hessian`, `gradcheck`, and the second
derivatives of `grad --order 2`; their options and their output. The numbers come from
autograd_bridge.calculus.

cli.py reaches this module from inside its functions; this one uses cli.py's helpers (loading
and validating a file once, the target, strict JSON numbers). As in cli.py, torch is imported
only inside the commands, and every id printed goes through graph.safetext.visible.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys

from gradcanvas.cli import (
    _grad_output,
    _grad_output_tensor,
    _imported,
    _memory_limit,
    _numbers_json,
    _tensor_json,
    _within_budget,
    with_target_part,
)
from graph.safetext import visible

# A Jacobian or Hessian is printed as a table up to this many rows and columns; larger ones as
# shape and norm (--json writes every number).
TABLE_ROWS, TABLE_COLUMNS = 48, 12


def add_parsers(sub: argparse._SubParsersAction, compute_options) -> None:  # noqa: ANN001 - cli's option adder
    """The subcommands, each with grad's --target, --grad-output, --device and --dtype."""
    wrt_help = "the node to differentiate with respect to: a leaf or an intermediate that requires grad"
    j = sub.add_parser("jacobian", help="the whole Jacobian d(target)/d(node), shape target.shape + node.shape")
    compute_options(j)
    j.add_argument("--wrt", required=True, metavar="ID", help=wrt_help)
    j.add_argument("--json", action="store_true", help='print {"target", "wrt", "jacobian"} '
                   '(and "vjp", vᵀ·J, with --grad-output) as strict JSON')
    h = sub.add_parser("hessian", help="the Hessian d²(target)/d(node)² of a scalar target")
    compute_options(h)
    h.add_argument("--wrt", required=True, metavar="ID", help=wrt_help)
    h.add_argument("--json", action="store_true", help='print {"target", "wrt", "hessian"} (and "grad_output" '
                   'with one) as strict JSON')
    c = sub.add_parser("gradcheck", help="compare autograd with central finite differences (float64) "
                       "for every requires-grad leaf; exit 1 when one fails")
    compute_options(c)
    c.add_argument("--json", action="store_true", help="print the errors per leaf as strict JSON")


def _compiled(args: argparse.Namespace):  # noqa: ANN202 - (Compiled, target id, grad-output)
    from autograd_bridge.engine import Compiled

    _imported()

    def build(graph, _target: str, _grad_output: object):  # noqa: ANN001, ANN202 - a Compiled
        compiled = Compiled(graph, args.device, args.dtype)
        _within_budget(compiled, args, accumulate=False)  # the forward and backward the command runs first
        return compiled

    # a target errors elsewhere in the file do not reach is computed, as grad computes it
    compiled, target, grad_output, _left_out = with_target_part(args, _grad_output(args.grad_output), build)
    return compiled, target, grad_output


def _memory(args: argparse.Namespace, compiled) -> dict[str, object]:  # noqa: ANN001 - a Compiled
    """The keywords that hold calculus.jacobian and hessian (their matrix and batched backward
    passes) to --memory-limit."""
    limit, why = _memory_limit(args, str(compiled.device))
    return {"memory_limit": limit, "why": why, "hint": "raise it with --memory-limit"}


def seeded(target: str, vjp: bool) -> str:
    """The scalar a second derivative is of, as headers write it: y, or (vᵀ·y) with a grad-output."""
    return f"(vᵀ·{target})" if vjp else target


def _grad_output_json(grad_output: object, like) -> dict[str, object]:  # noqa: ANN001 - a torch.Tensor
    """{"grad_output": v} in like's dtype, as grad --json records it, or nothing without one."""
    return {} if grad_output is None else {"grad_output": _grad_output_tensor(grad_output, like)}


def _write_tensors(head: dict[str, object], tensors: dict[str, object]) -> None:
    """One line of strict JSON: the plain fields of head, then each tensor in full."""
    write = sys.stdout.write
    write("{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in head.items()))
    for key, t in tensors.items():
        write(f", {json.dumps(key)}: ")
        _tensor_json(t, True, write)
    write("}\n")


def _labels(node_id: str, shape: tuple[int, ...]) -> list[str]:
    """Each element's name in row-major order: y (a scalar), y[0], y[1, 2]."""
    shown = visible(node_id)
    if not shape:
        return [shown]
    return [f"{shown}[{', '.join(map(str, i))}]" for i in itertools.product(*map(range, shape))]


def _table(matrix, rows: tuple[str, tuple[int, ...]], columns: tuple[str, tuple[int, ...]]) -> None:  # noqa: ANN001 - a torch.Tensor
    """A matrix of derivatives: one row per element of rows' node, one column per element of
    columns' node (flattened row-major), when it fits TABLE_ROWS x TABLE_COLUMNS."""
    from autograd_bridge.formatting import number, tensor_text

    m, n = math.prod(rows[1]), math.prod(columns[1])
    if m > TABLE_ROWS or n > TABLE_COLUMNS:
        print(f"  {tensor_text(matrix)}   ({m:,} x {n:,}: too big for a table; --json writes every number)")
        return
    flat = matrix.detach().cpu().reshape(m, n).tolist()
    cells = [["", *_labels(*columns)]] + [[label, *map(number, row)]
                                          for label, row in zip(_labels(*rows), flat, strict=True)]
    widths = [max(len(r[i]) for r in cells) for i in range(n + 1)]
    for r in cells:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


def cmd_jacobian(args: argparse.Namespace) -> int:
    from autograd_bridge.calculus import jacobian
    from autograd_bridge.formatting import tensor_text

    compiled, target, grad_output = _compiled(args)
    jac = jacobian(compiled, target, args.wrt, grad_output, **_memory(args, compiled))
    if args.json:
        tensors = _grad_output_json(grad_output, jac.value) | {"jacobian": jac.matrix} | (
            {} if jac.vjp is None else {"vjp": jac.vjp})
        _write_tensors({"target": target, "wrt": args.wrt}, tensors)
        return 0
    t, w = visible(target), visible(args.wrt)
    print(f"∂{t}/∂{w}: the Jacobian of {t} {list(jac.target_shape)} with respect to {w} "
          f"{list(jac.wrt_shape)}, shape {list(jac.matrix.shape)}; rows: {t}'s elements, columns: "
          f"{w}'s (device {compiled.device}, {jac.method})")
    _table(jac.matrix, (target, jac.target_shape), (args.wrt, jac.wrt_shape))
    if jac.vjp is not None:
        print(f"vᵀ·J with the grad-output v (what grad gives {w}): {tensor_text(jac.vjp)}")
    _where_nonfinite(compiled, target, jac.matrix)
    return 0


def _where_nonfinite(compiled: object, target: str, derivatives: object) -> None:
    """A note naming where NaN or Inf start, when the derivatives hold some."""
    import torch

    from autograd_bridge.calculus import first_nonfinite

    if not bool(torch.isfinite(derivatives).all()):
        first = first_nonfinite(compiled, compiled.forward(), target)
        if first is not None:
            print(f"note: {visible(first)} holds NaN or Inf, and so does what depends on it")


def cmd_hessian(args: argparse.Namespace) -> int:
    from autograd_bridge.calculus import hessian

    compiled, target, grad_output = _compiled(args)
    h = hessian(compiled, target, args.wrt, grad_output, **_memory(args, compiled))
    if args.json:
        _write_tensors({"target": target, "wrt": args.wrt}, _grad_output_json(grad_output, h) | {"hessian": h})
        return 0
    t, w = visible(target), visible(args.wrt)
    shape = tuple(h.shape[:h.dim() // 2])
    y = seeded(t, grad_output is not None)
    v = "" if grad_output is None else ", v the grad-output"
    print(f"∂²{y}/∂{w}²: the Hessian of {y} with respect to {w} {list(shape)}{v}, "
          f"shape {list(h.shape)} (device {compiled.device})")
    _table(h, (args.wrt, shape), (args.wrt, shape))
    _where_nonfinite(compiled, target, h)
    return 0


def cmd_gradcheck(args: argparse.Namespace) -> int:
    from autograd_bridge.calculus import gradcheck

    compiled, target, grad_output = _compiled(args)
    report = gradcheck(compiled, target, grad_output)
    if args.json:
        leaves = ", ".join(f'{json.dumps(c.leaf)}: {{"shape": {json.dumps(list(c.shape))}, '
                           f'"max_abs_error": {_numbers_json(c.max_abs_error)}, '
                           f'"max_rel_error": {_numbers_json(c.max_rel_error)}, "passed": {json.dumps(c.passed)}}}'
                           for c in report.leaves)
        sys.stdout.write(f'{{"target": {json.dumps(target)}, ')
        if grad_output is not None:  # the errors are of vᵀ·∂target/∂leaf: v in float64, as gradcheck used it
            import torch

            sys.stdout.write('"grad_output": ')
            _tensor_json(torch.tensor(grad_output, dtype=torch.float64), True, sys.stdout.write)
            sys.stdout.write(", ")
        print(f'"passed": {json.dumps(report.passed)}, '
              f'"eps": {report.eps}, "atol": {report.atol}, "rtol": {report.rtol}, '
              f'"leaves": {{{leaves}}}, "unused": {json.dumps(report.unused)}, '
              f'"no_gradient": {json.dumps(report.no_gradient)}, "nonfinite": {json.dumps(report.nonfinite)}}}')
        return 0 if report.passed else 1
    t = visible(target)
    what = f"vᵀ·∂{t}/∂leaf (v the grad-output)" if grad_output is not None else f"∂{t}/∂leaf"
    print(f"gradcheck of {what}: autograd against central differences in float64 (eps {report.eps:g}); "
          f"an entry passes when |autograd − numerical| ≤ {report.atol:g} + {report.rtol:g}·|numerical|; "
          f"the relative error is of entries with |numerical| ≥ {report.atol / report.rtol:g} (- where none is)")
    rows = [("leaf", "shape", "max abs error", "max rel error", "result")]
    rows += [(visible(c.leaf), str(list(c.shape)), f"{c.max_abs_error:.3g}",
              "-" if c.max_rel_error is None else f"{c.max_rel_error:.3g}", "ok" if c.passed else "FAIL")
             for c in report.leaves]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    if report.unused:
        print(f"not checked: {t} does not depend on {', '.join(map(visible, report.unused))}")
    for leaf, why in report.no_gradient.items():
        print(f"not checked: {visible(leaf)}: {visible(why)}")
    if report.nonfinite is not None:
        print(f"note: {visible(report.nonfinite)} holds NaN or Inf here, and what depends on it: "
              "differences of such numbers never agree (grad names where they start)")
    if not report.passed:
        print(f"FAILED: autograd and finite differences disagree for {', '.join(map(visible, report.failed))}")
        return 1
    return 0


def print_second_derivatives(grads2, target: str, vjp: bool = False) -> None:  # noqa: ANN001 - calculus.Diagonals
    """grad --order 2's table: autograd_bridge.calculus.hessian_diagonals per leaf, None with
    the reason grad's table gives; with a grad-output v (vjp) those are the diagonals of
    vᵀ·target's Hessian, and the header says so."""
    from autograd_bridge.formatting import tensor_text

    t = visible(target)
    y = seeded(t, vjp)
    what = f"∂²{y}/∂x² elementwise (the diagonal of vᵀ·{t}'s Hessian, v the grad-output)" if vjp \
        else f"∂²{y}/∂x² elementwise (the Hessian's diagonal)"
    print(f"{what} for each leaf x with requires_grad on:")
    rows = [(visible(n), str(list(d.shape)) if d is not None else "",
             tensor_text(d) if d is not None else f"None: {visible(grads2.why[n])}") for n, d in grads2.items()]
    widths = [max(len(r[i]) for r in rows) for i in range(2)] if rows else [0, 0]
    for r in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r[:2], widths, strict=True)) + "  " + r[2])


COMMANDS = {"jacobian": cmd_jacobian, "hessian": cmd_hessian, "gradcheck": cmd_gradcheck}
