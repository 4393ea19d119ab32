"""What the app's compute worker runs, wherever it runs: on a thread of the GUI process or in
the compute process (autograd_bridge.compute_process). No Qt, and no torch until a job needs it.

Every job is a module-level function `fn(session, cancel, *args)` (module-level so that it can
be sent to the compute process by name): `session` is the worker's ComputeSession, `cancel` a
CancelToken for the kinds that can be cancelled (None for the others). `run_job` calls it and
turns a failure nobody expected into a plain result instead of a dead worker.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable

from autograd_bridge.cancel import CancelToken

COMPUTE, SLICE, DEVICES = "compute", "slice", "devices"  # the kinds of job besides named tasks
NOT_CANCELLABLE = (SLICE, DEVICES)  # quick, and their results are only ever wanted whole


def compute_job(session, cancel, graph, target, revision, device, dtype, grad_output, memory_limit):  # noqa: ANN001, ANN201, PLR0913
    """ComputeSession.compute: every node's value and ∂target/∂node."""
    return session.compute(graph, target, revision, device, dtype, grad_output, cancel=cancel,
                           memory_limit=memory_limit)


def slice_job(session, _cancel, graph, target, leaf, revision, device, dtype):  # noqa: ANN001, ANN201, PLR0913
    """ComputeSession.compute_slice: the target along one scalar leaf."""
    return session.compute_slice(graph, target, leaf, revision, device, dtype)


def devices_job(_session, _cancel) -> list[str]:  # noqa: ANN001
    """The devices torch can use here (imports torch)."""
    from autograd_bridge.compute import available_devices

    return available_devices()


def lost_result(kind: str, args: tuple, why: str, cancelled: bool = False) -> object:
    """What a job that never finished gives back (the compute process stopped, or the job
    raised): a compute says why on its result, the slice plot and the device list give their
    'nothing' (None, cpu only), and a named task gives None, which every task's handler takes
    as 'no result'."""
    if kind == COMPUTE:
        from autograd_bridge.compute import ComputeResult

        _graph, target, revision, device, dtype, grad_output, _limit = args
        return ComputeResult(revision, target, device=device, grad_output=grad_output, dtype=dtype,
                             error=None if cancelled else why, cancelled=cancelled)
    if kind == DEVICES:
        return ["cpu"]
    return None


def run_job(session: object, kind: str, fn: Callable, args: tuple, cancel: CancelToken | None) -> object:
    """fn(session, cancel, *args); a job that raises (a bug, never a user error: those are
    results) gives lost_result, with the traceback on stderr for whoever reports the bug."""
    try:
        return fn(session, cancel, *args)
    except Exception as e:  # noqa: BLE001 - the worker must go on; the traceback goes to stderr
        traceback.print_exc(file=sys.stderr)
        return lost_result(kind, args, f"internal error in {kind}: {type(e).__name__}: {e}")
    finally:  # grad mode is per thread: one job's user code that turned it off must not reach the next
        torch = sys.modules.get("torch")  # not imported for a job that needs no torch
        if torch is not None and not torch.is_grad_enabled():
            torch.set_grad_enabled(True)
