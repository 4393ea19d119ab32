"""What every benchmark shares: the table row, A/B timing interleaved in one process, fresh
subprocesses timed alternately, and running a benchmark module as a child.

A ratio is median(A) / median(B) over samples taken in rounds (A then B, B then A, ...), so both
sides are sampled through the same spells of load, and the ratio is the ratio of the times shown.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PASS, FAIL, NO_GOAL, UNAVAILABLE, SKIPPED = "pass", "FAIL", "-", "unavailable", "skipped"
COLUMNS = ("metric", "GradCanvas", "reference", "ratio", "goal", "result")


@dataclass
class Row:
    """One line of the table. `status` is computed from `measured` and `limit` (never written by
    hand): pass when measured <= limit."""

    metric: str
    gradcanvas: str  # as shown: "12.3 ms", "0.41 s wall, 0.22 s GUI CPU"
    reference: str = "-"
    ratio: float | None = None
    goal: str = "-"
    measured: float | None = None  # the number the goal is about (a ratio, seconds, MB)
    limit: float | None = None
    status: str = NO_GOAL
    note: str = ""
    numbers: dict[str, object] = field(default_factory=dict)  # raw values for --json

    def __post_init__(self) -> None:
        if self.status in (UNAVAILABLE, SKIPPED):
            return
        if self.measured is not None and self.limit is not None:
            self.status = PASS if self.measured <= self.limit else FAIL

    def as_dict(self) -> dict:
        return asdict(self)


def unavailable(metric: str, why: str, goal: str = "-", status: str = UNAVAILABLE) -> Row:
    """A row with no measurement: `why` goes in its note."""
    return Row(metric, "-", goal=goal, status=status, note=why)


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 0:
        return "-" + ms(-seconds)
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} µs"


def plus_ms(seconds: float) -> str:
    """A difference: +12.3 ms, -4 ms."""
    return ("+" if seconds >= 0 else "") + ms(seconds)


def ratio_text(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}x" if r >= 0.1 else f"{r:.2g}x"


# ---- in-process A/B ----

@dataclass
class Paired:
    """Seconds per call of each function, and the median per-round ratio of each to the last."""

    medians: list[float]
    ratios: list[float]  # medians[i] / medians[-1], for i < len - 1
    rounds: int
    loops: int


def interleaved(fns: Sequence[Callable[[], object]], budget_s: float, min_rounds: int,
                sample_s: float = 0.02, sync: Callable[[], object] = lambda: None) -> Paired:
    """Time each function in rounds: one sample of each, back to back, the order flipped every
    round (A B, B A, ...). A sample is `loops` calls, enough to last about `sample_s`. Rounds go
    on until `budget_s` has passed and at least `min_rounds` were done."""
    for fn in fns:  # warm-up: first-call costs (allocator, lazy imports) are not the steady state
        fn()
    sync()
    once = []
    for fn in fns:  # the fastest of 3 calls, so that one slow call does not shrink every sample
        best = math.inf
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            sync()
            best = min(best, time.perf_counter() - t0)
        once.append(best)
    loops = max(1, int(sample_s / max(max(once), 1e-7)))
    per_call: list[list[float]] = [[] for _ in fns]
    gc.collect()
    start, rounds = time.perf_counter(), 0
    while rounds < min_rounds or time.perf_counter() - start < budget_s:
        order = range(len(fns)) if rounds % 2 == 0 else reversed(range(len(fns)))
        for i in order:
            fn = fns[i]
            t0 = time.perf_counter()
            for _ in range(loops):
                fn()
            sync()
            per_call[i].append((time.perf_counter() - t0) / loops)
        rounds += 1
        if rounds >= 10 * max(min_rounds, 1) and time.perf_counter() - start > budget_s / 4:
            break  # plenty of rounds; a larger budget would not change the median
    medians = [statistics.median(t) for t in per_call]
    return Paired(medians, [m / medians[-1] for m in medians[:-1]], rounds, loops)


def peak_rss_mb(pid: int | str = "self") -> float:
    """A process's peak resident memory since it started (VmHWM); this one's by default. Not
    ru_maxrss: on Linux a child's ru_maxrss starts from its parent's RSS at the fork, and the
    suite's runner holds torch and the engine rows' tensors (~400 MB) when it starts the app's
    children."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


# ---- fresh processes, timed alternately ----

def gradcanvas_command() -> list[str]:
    """The installed `gradcanvas` script beside this Python, else `python -m gradcanvas`."""
    script = Path(sys.executable).parent / "gradcanvas"
    return [str(script)] if script.exists() else [sys.executable, "-m", "gradcanvas"]


class CommandFailed(RuntimeError):
    pass


def user_env() -> dict[str, str]:
    """This environment as a user's machine has it, where Python keeps the bytecode it compiles.
    A sandbox may set PYTHONDONTWRITEBYTECODE, and then every fresh process compiles every module
    it imports again (~0.3 s of the window's launch): a cost an installed app pays once."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def timed_run(cmd: Sequence[str], env: dict[str, str] | None = None, timeout: float = 600) -> float:
    """Wall seconds of one fresh process (in user_env() unless env is given), output discarded;
    CommandFailed if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.run(list(cmd), cwd=ROOT, env=user_env() if env is None else env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        raise CommandFailed(f"{' '.join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))}: {tail[0]}")
    return wall


def alternate(cmds: dict[str, Sequence[str]], repeats: int, warmup: bool = True) -> dict[str, list[float]]:
    """Each command `repeats` times, in rounds (one of each per round, order flipped every
    round), after one untimed warm-up round (disk cache) if asked. Wall seconds per run."""
    names = list(cmds)
    for name in names if warmup else ():
        timed_run(cmds[name])
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names if r % 2 == 0 else reversed(names):
            times[name].append(timed_run(cmds[name]))
    return times


def paired_median(a: list[float], b: list[float], op: Callable[[float, float], float]) -> float:
    return statistics.median(op(x, y) for x, y in zip(a, b, strict=True))


# ---- children: a benchmark module run as `python -m benchmarks.X --child ...` ----

def child_env() -> dict[str, str]:
    env = user_env()
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    # A recovery folder of its own (gui/recovery.py): a benchmark never autosaves into the
    # user's, nor stops at a "recover?" dialog for a document a crashed session left there.
    env["GRADCANVAS_RECOVERY_DIR"] = tempfile.mkdtemp(prefix="gradcanvas-bench-recovery-")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def run_child(module: str, args: Sequence[str], timeout: float) -> dict:
    """Run `python -m benchmarks.<module> --child ARGS` and return the JSON of its last
    `RESULT {...}` line, plus any `FIT {...}` line merged in. Raises CommandFailed."""
    cmd = [sys.executable, "-m", f"benchmarks.{module}", "--child", *args]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise CommandFailed(f"{module} {' '.join(args)}: no result within {timeout:.0f} s") from None
    result: dict = {}
    for line in proc.stdout.splitlines():
        word, _, rest = line.partition(" ")
        if word in ("RESULT", "FIT"):
            result.update(json.loads(rest))
    if proc.returncode != 0 or not result:
        tail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        raise CommandFailed(f"{module} {' '.join(args)}: {tail}")
    return result


# ---- the table ----

def python_loop_ms() -> float:
    """How fast this machine runs Python now: a fixed loop of 3 million additions, best of 3, in
    ms. Machines of one kind differ, and one machine's speed drifts by half over an hour (a
    shared host): rows measured against no reference compare across runs only through this."""
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        total = 0
        for i in range(3_000_000):
            total += i
        best = min(best, time.perf_counter() - t0)
    return round(best * 1000, 1)


def machine() -> dict[str, object]:
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
            "python_loop_ms": python_loop_ms(), "platform": platform.platform(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S")}


def cells(row: Row) -> list[str]:
    return [row.metric, row.gradcanvas, row.reference, ratio_text(row.ratio), row.goal, row.status]


def table(rows: list[Row], quick: bool, info: dict[str, object] | None = None) -> str:
    """The one table, with each row's note after it."""
    info = info or machine()
    body = [list(COLUMNS)] + [cells(r) for r in rows]
    widths = [max(len(line[i]) for line in body) for i in range(len(COLUMNS))]
    rule = "  ".join("-" * w for w in widths)

    def fmt(line: list[str]) -> str:
        padded = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))]
        return "  ".join(padded)

    head = (f"GradCanvas benchmarks{' (--quick: small sizes)' if quick else ''}: python {info['python']}, "
            f"torch {info['torch']} ({info['torch_threads']} threads), {info['cpus']} CPUs, "
            f"load {info['load_average']}, {info['date']}; Python speed: a 3M-addition loop takes "
            f"{info['python_loop_ms']} ms (rows without a reference scale with it)")
    out = [head, fmt(body[0]), rule]
    for row, line in zip(rows, body[1:], strict=True):
        out.append(fmt(line) + (f"   {row.note}" if row.note else ""))
    count = {s: sum(r.status == s for r in rows) for s in (PASS, FAIL, UNAVAILABLE, SKIPPED, NO_GOAL)}
    out.append(rule)
    out.append(", ".join(f"{n} {s if s != NO_GOAL else 'without a goal'}" for s, n in count.items())
               + f"; load average at the end {[round(x, 2) for x in os.getloadavg()]}; the 3M-addition loop "
                 f"at the end {python_loop_ms()} ms")
    return "\n".join(out)


def standalone(rows: Callable[[bool], list[Row]], doc: str) -> None:
    """`python -m benchmarks.X [--quick]`: that module's rows as a table."""
    import argparse

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    quick = parser.parse_args().quick
    print(table(rows(quick), quick))
