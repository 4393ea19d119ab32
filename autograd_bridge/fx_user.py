"""The user's code as an import sees it (autograd_bridge.fx_import, fx_script): where it is (its
innermost frame outside torch and this package, 'file.py line 12 (the code)'), and what it
raised or exited with, as one line (ImportRefused); and the imported graph checked against what
the code computes, value and gradients (check_against_code).
"""

from __future__ import annotations

import contextlib
import os
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field

import torch

from autograd_bridge.cancel import Cancelled
from autograd_bridge.fx_script import CodeRaised, ImportRefused

_TORCH_DIR = os.path.dirname(torch.__file__)
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The app's own packages: an error raised below them (an import started from the command line or
# the API) is never located there, but in the user's code or nowhere.
_APP = tuple(os.path.join(_ROOT, p) + os.sep for p in ("autograd_bridge", "gradcanvas", "graph", "gui"))


def is_users(filename: str) -> bool:
    """Whether a frame is the user's code: outside torch, the app and Python's frozen modules
    (quit() and exit() raise SystemExit in <frozen _sitebuiltins>)."""
    return not filename.startswith((_TORCH_DIR, *_APP, "<frozen"))


def _frame_text(filename: str, lineno: int | None, line: str | None) -> str:
    text = f"{os.path.basename(filename)} line {lineno}"
    return f"{text} ({line.strip()})" if line and line.strip() else text


def where_from_fx(stack_trace: str | None) -> str:
    """The innermost user frame of fx's recorded stack: 'file.py line 12 (the code)'."""
    if not stack_trace:
        return ""
    frames = re.findall(r'File "([^"]+)", line (\d+), in [^\n]*\n(?:    ([^\n]*))?', stack_trace)
    frames = [f for f in frames if is_users(f[0])]
    if not frames:
        return ""
    filename, lineno, line = frames[-1]
    return _frame_text(filename, int(lineno), line)


def where_now() -> str:
    """The innermost frame of the running user code."""
    for frame in reversed(traceback.extract_stack()):
        if is_users(frame.filename):
            return _frame_text(frame.filename, frame.lineno, frame.line)
    return ""


def where_raised(e: BaseException) -> str:
    """The innermost frame of the user's code that the exception passed through: 'file.py line
    12 (the code)'; "" where none did."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if is_users(f.filename)]
    return _frame_text(frames[-1].filename, frames[-1].lineno, frames[-1].line) if frames else ""


def user_error(e: BaseException, doing: str, where: str = "") -> CodeRaised:
    """An exception raised by the user's code, as one line naming its innermost user frame
    (or `where`, the traced line that ran)."""
    where = where_raised(e) or where
    where = f"{where}: " if where else ""
    if isinstance(e, SystemExit):  # sys.exit() or exit(): None is status 0, a text status 1
        status = 0 if e.code is None else e.code if isinstance(e.code, int) else f"1 ({e.code})"
        return CodeRaised(f"{where}{doing} exited with status {status} (SystemExit) while importing")
    message = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return CodeRaised(f"{where}{doing} raised {type(e).__name__}" + (f": {message}" if message else ""))


@contextlib.contextmanager
def user_code(doing: str, where: str = "") -> Iterator[None]:
    """Runs the user's code: whatever it raises, or exits with (SystemExit and any other
    BaseException of its own), becomes one line (user_error). Ctrl+C (KeyboardInterrupt), the
    app's Cancelled and the import's own refusals pass through."""
    try:
        yield
    except (KeyboardInterrupt, Cancelled, ImportRefused):
        raise
    except BaseException as e:  # noqa: BLE001 - the user's code: any exit becomes one line
        raise user_error(e, doing, where) from None


# ---- the graph checked against the code ----

@dataclass
class CodeRun:
    """What the code computes, run once more with autograd on (run_with_grad)."""

    value: torch.Tensor
    grads: dict[str, torch.Tensor | None]  # ∂(value·cotangent)/∂t by the leaf name of each t that requires grad
    # What gives the code a gradient of its own, not the one its ops define ("the custom
    # autograd.Function STE", "a backward hook of the module l"): a graph differentiates its ops.
    own_backward: list[str] = field(default_factory=list)


def _own_backward(root: object, out: torch.Tensor) -> list[str]:
    """The torch.autograd.Function classes in out's autograd graph, and the modules with backward
    hooks (CodeRun.own_backward)."""
    hooked = []
    if isinstance(root, torch.nn.Module):
        hooked = [f"a backward hook of the module {path or type(root).__name__}" for path, m in root.named_modules()
                  if m._backward_hooks or m._backward_pre_hooks]
    found, todo, seen = {}, [out.grad_fn], set()
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if isinstance(node, torch.autograd.function.BackwardCFunction):
            found[f"the custom autograd.Function {getattr(node._forward_cls, '__name__', type(node).__name__)}"] = None
        todo += [n for n, _ in node.next_functions]
    return [*found, *hooked]


def _cotangent(t: torch.Tensor) -> torch.Tensor:
    """A fixed weighting of a returned tensor's elements, all different (a mix-up of elements shows)."""
    return torch.linspace(0.5, 1.5, t.numel(), dtype=t.dtype, device=t.device).reshape(t.shape)


def run_with_grad(root: object, inputs: dict[str, object], leaf_grad: bool, seed: int) -> CodeRun | None:
    """The code's value and its gradients w.r.t. the tensors the graph makes leaves that require
    grad (floating inputs: all of them for a function, else those that require grad; parameters
    that require grad, by their first qualified name), from one more call after
    torch.manual_seed(seed); None where the code does not run with autograd on (.numpy() of a
    tensor that requires grad) or returns no floating tensor. Touches no .grad."""
    args = {k: v.detach().clone().requires_grad_(leaf_grad or v.requires_grad)
            if isinstance(v, torch.Tensor) and v.is_floating_point() else v for k, v in inputs.items()}
    wrt = {k: v for k, v in args.items() if isinstance(v, torch.Tensor) and v.requires_grad}
    if isinstance(root, torch.nn.Module):
        params = {name: p for name, p in root.named_parameters() if p.requires_grad}
        # An argument named like the state (self.x or self.fc, forward(x, fc)) has a renamed leaf
        # in the graph (the state keeps its names): its name says no leaf, so it is not compared.
        state = [name.split(".") for name, _ in [*root.named_parameters(), *root.named_buffers()]]
        taken = {".".join(parts[:i]) for parts in state for i in range(1, len(parts) + 1)}
        wrt = {k: v for k, v in wrt.items() if k not in taken} | params
    try:
        torch.manual_seed(seed)
        with torch.enable_grad():
            out = root(**args)
            if not isinstance(out, torch.Tensor) or not out.is_floating_point():
                return None
            if not out.requires_grad or not wrt:
                return CodeRun(out.detach(), dict.fromkeys(wrt))
            grads = torch.autograd.grad((out * _cotangent(out)).sum(), list(wrt.values()), allow_unused=True)
    except Exception:  # noqa: BLE001 - the value check against the recording still stands
        return None
    return CodeRun(out.detach(), dict(zip(wrt, grads, strict=True)), _own_backward(root, out))


def _close(got: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float) -> bool:
    """Equal within the tolerances; a NaN equals a NaN (torch gives NaN gradients too, e.g. of
    sqrt below 0 behind a where), an inf only the same inf."""
    expected = expected.detach().to(got.dtype)
    if got.shape != expected.shape:
        return False
    if not got.is_floating_point():
        return torch.equal(got, expected)
    return torch.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)


def _finite_max(t: torch.Tensor | None) -> float:
    """The largest finite magnitude in t (0 for none): a tolerance's scale, NaN and inf left out."""
    if t is None or not t.numel() or not t.is_floating_point():
        return 0.0
    a = t.detach().abs()
    a = a[torch.isfinite(a)]
    return float(a.max()) if a.numel() else 0.0


def check_against_code(graph: object, sink: str, recorded: torch.Tensor | None, code: CodeRun | None) -> None:
    """The graph must compute what the code computes, and its gradients (a guard against a wrong
    lowering, or code that tracing did not follow): its value at `sink` against the code's run
    with autograd on (or, where that could not run, the recorded value), and the gradient of
    sink·cotangent w.r.t. each tensor the code differentiates against the graph's leaf of that
    name (none: zero). Rounding aside: a float32 graph's ops are torch's, in another order."""
    from autograd_bridge.engine import Compiled

    values = Compiled(graph.validate()).forward()
    got = values[sink]
    expected = code.value if code is not None else recorded
    if code is not None and recorded is not None and not _close(recorded, code.value, 1e-4, 1e-5 * max(
            _finite_max(recorded), 1.0)):
        raise ImportRefused("the code returned different values on two calls with the same inputs and torch's seed "
                            "(randomness outside torch's generator, such as random or numpy, or state kept from "
                            "call to call): a graph computes one fixed function of its leaves")
    if expected is not None:
        scale = _finite_max(expected)
        if not _close(got.detach(), expected, 1e-4, 1e-5 * max(scale, 1.0)):
            raise ImportRefused(f"the imported graph's value at {sink} differs from what the code returned: "
                                "a lowering in the import is wrong (please report it)")
    if code is None or not got.is_floating_point():
        return
    leaves = [n for n in code.grads if n in values and values[n].requires_grad]
    ours: dict[str, torch.Tensor | None] = dict.fromkeys(code.grads)
    if leaves and got.requires_grad:
        weighted = (got * _cotangent(got)).sum()
        ours |= zip(leaves, torch.autograd.grad(weighted, [values[n] for n in leaves], allow_unused=True), strict=True)
    scale = max((_finite_max(g) for g in code.grads.values()), default=0.0)
    for name, theirs in code.grads.items():
        mine = ours[name]
        if theirs is None and mine is None:  # neither depends on it
            continue
        mine = torch.zeros_like(theirs) if mine is None else mine
        theirs = torch.zeros_like(mine) if theirs is None else theirs
        if not _close(mine.detach(), theirs, 1e-3, 1e-3 * scale + 1e-7):
            differs = f"the imported graph's gradient of {sink} with respect to {name} differs from the code's"
            if code.own_backward:
                raise ImportRefused(f"{differs}: the code's comes from {', '.join(code.own_backward)}, not from "
                                    "its ops, and a graph's gradients are those of its ops")
            raise ImportRefused(f"{differs}: a lowering in the import is wrong (please report it)")
