"""The `gradcanvas` command in fresh processes, each against `python -c 'import torch'` (or a
hand-written script) run alternately, so what is measured is the cost beyond importing torch.

    python -m benchmarks.bench_cli [--quick]
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import workloads
from benchmarks.common import (
    ROOT,
    CommandFailed,
    Row,
    alternate,
    gradcanvas_command,
    ms,
    paired_median,
    plus_ms,
    standalone,
    unavailable,
    user_env,
)

GRAD_GOAL_S, CHECK_GOAL_S, MLP_GOAL, VERSION_GOAL_S = 0.5, 0.4, 1.15, 0.15
MIN_WORK_S = 0.02  # a script beyond import torch by less than this is lost in process-start noise

# What a person would write to print the same as `gradcanvas grad` on workloads.mlp_graph(n):
# the target's value, then every node's value and partial (norms: the tensors are big).
HAND_MLP = '''\
import sys

import torch

n = int(sys.argv[1])


def leaf(shape, seed):
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


inp, y_true = leaf((n, n), 1), leaf((n, n), 5)
W1, b1, W2 = leaf((n, n), 2).requires_grad_(), leaf((n,), 3).requires_grad_(), leaf((n, n), 4).requires_grad_()
h_lin = inp @ W1
h_pre = h_lin + b1
h = torch.tanh(h_pre)
out = h @ W2
loss = torch.nn.functional.mse_loss(out, y_true)
values = {"inp": inp, "W1": W1, "b1": b1, "W2": W2, "y_true": y_true, "h_lin": h_lin, "h_pre": h_pre,
          "h": h, "out": out, "loss": loss}
wrt = ["W1", "b1", "W2", "h_lin", "h_pre", "h", "out", "loss"]
grads = dict(zip(wrt, torch.autograd.grad(loss, [values[k] for k in wrt])))
print(f"target loss = {loss.item():.4g}")
for name, t in values.items():
    g = grads.get(name)
    print(name, list(t.shape), f"{t.norm().item():.4g}", "None" if g is None else f"{g.norm().item():.4g}")
'''


def _stdout(cmd: list[str]) -> tuple[str, float]:
    """Output and wall seconds of one run."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=user_env(), capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise CommandFailed(f"{' '.join(cmd[1:])}: {(proc.stderr.strip().splitlines() or ['failed'])[-1]}")
    return proc.stdout, wall


def chain_rows(tmp: Path, quick: bool) -> list[Row]:
    n = 300 if quick else 10_000
    path = tmp / "chain.json"
    from graph.fileformat import save

    save(workloads.chain_graph(n - 1), path)
    gc = gradcanvas_command()
    cmds = {"torch": [sys.executable, "-c", "import torch"],
            "grad": [*gc, "grad", str(path), "--target", "y"],
            "check": [*gc, "check", str(path)]}
    try:
        t = alternate(cmds, 1 if quick else 7, warmup=not quick)
    except CommandFailed as e:
        return [unavailable(f"gradcanvas grad, {n:,}-node chain", str(e)),
                unavailable(f"gradcanvas check, {n:,}-node chain", str(e))]
    torch_s = statistics.median(t["torch"])
    rows = []
    for name, goal in (("grad", GRAD_GOAL_S), ("check", CHECK_GOAL_S)):
        beyond = paired_median(t[name], t["torch"], lambda a, b: a - b)
        rows.append(Row(f"gradcanvas {name}, {n:,}-node chain, beyond import torch", plus_ms(beyond),
                        f"import torch {ms(torch_s)}", goal=f"≤ +{ms(goal)}", measured=beyond, limit=goal,
                        note=f"whole command {ms(statistics.median(t[name]))}; {len(t[name])} runs each, alternated",
                        numbers={"beyond_torch_s": beyond, "command_s": statistics.median(t[name]),
                                 "import_torch_s": torch_s, "runs": {name: t[name], "torch": t["torch"]}}))
    return rows


def mlp_row(tmp: Path, quick: bool) -> Row:
    n = 1000 if quick else 3000
    metric = f"gradcanvas grad end to end, {n}x{n} MLP, vs hand-written script"
    path, script = tmp / "mlp.json", tmp / "hand_mlp.py"
    from graph.fileformat import save

    save(workloads.mlp_graph(n), path)
    script.write_text(HAND_MLP, encoding="utf-8")
    cmds = {"app": [*gradcanvas_command(), "grad", str(path), "--target", "loss"],
            "hand": [sys.executable, str(script), str(n)],
            "torch": [sys.executable, "-c", "import torch"]}
    try:
        # The same numbers first: both print the target's value to 4 digits. These runs are the
        # warm-up, and with --quick the one sample (the baseline taken right after them).
        (app_out, app_s), (hand_out, hand_s) = _stdout(cmds["app"]), _stdout(cmds["hand"])
        found = [re.search(r"target loss = (\S+)", out) for out in (app_out, hand_out)]
        if not all(found) or found[0][1] != found[1][1]:
            raise CommandFailed(f"the app and the script disagree on the loss: {[f and f[1] for f in found]}")
        if quick:
            t = {"app": [app_s], "hand": [hand_s], "torch": [_stdout(cmds["torch"])[1]]}
        else:
            t = alternate(cmds, 7, warmup=False)
    except CommandFailed as e:
        return unavailable(metric, str(e), f"≤ {MLP_GOAL:g}x")
    torch_s = statistics.median(t["torch"])
    # Each run minus the import torch of its round; the ratio is that of the two medians shown.
    app, hand = (paired_median(t[k], t["torch"], lambda a, b: a - b) for k in ("app", "hand"))
    if min(app, hand) < MIN_WORK_S:
        return unavailable(metric, f"too small to compare: beyond import torch ({ms(torch_s)}) the app takes "
                                   f"{plus_ms(app)}, the script {plus_ms(hand)}", f"≤ {MLP_GOAL:g}x")
    return Row(metric, plus_ms(app), plus_ms(hand), app / hand, f"≤ {MLP_GOAL:g}x", app / hand, MLP_GOAL,
               note=f"each minus import torch ({ms(torch_s)}); {len(t['app'])} runs each, alternated",
               numbers={"app_beyond_torch_s": app, "hand_beyond_torch_s": hand, "import_torch_s": torch_s,
                        "runs": t})


def version_row(quick: bool) -> Row:
    metric = "gradcanvas --version"
    try:
        times = alternate({"version": [*gradcanvas_command(), "--version"]}, 1 if quick else 11, warmup=not quick)
    except CommandFailed as e:
        return unavailable(metric, f"fails: {e}", f"≤ {ms(VERSION_GOAL_S)}")
    t = statistics.median(times["version"])
    return Row(metric, ms(t), goal=f"≤ {ms(VERSION_GOAL_S)}", measured=t, limit=VERSION_GOAL_S,
               note=f"whole process, median of {len(times['version'])}", numbers={"wall_s": t})


def rows(quick: bool) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        return [*chain_rows(Path(tmp), quick), mlp_row(Path(tmp), quick), version_row(quick)]


def main() -> None:
    standalone(rows, __doc__)


if __name__ == "__main__":
    main()
