"""Stopping a running compute at the next op boundary, from another thread.

The app's worker runs a compute while the window may decide it is no longer wanted (Cancel,
Esc, or a newer edit). A `CancelToken` is set from another thread; the compute checks it
between its phases, before every op of the generated code (see `checked_module`) and before
the backward of a spread of ops (grad_fn pre-hooks). `Cancelled` then unwinds the compute; it
is a BaseException so that no `except Exception` net on the way mistakes it for a failure of
the graph.

Importing this module does not import torch (the GUI's worker makes tokens before torch is
loaded).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from graph.errors import GraphError

# Backward checks before at most this many ops spread over the graph, plus every op whose value
# is big (where the time goes): a check costs a few µs, a graph may have 10,000 ops.
BACKWARD_CHECKS = 256
BIG_VALUE = 100_000  # elements


class Cancelled(BaseException):  # noqa: N818 - a signal, not an error
    """The compute was cancelled: nothing is wrong with the graph."""


class CancelToken:
    """Set once (by any thread); every check after that raises Cancelled."""

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False  # a plain attribute: one read per op (see checked_module)

    def cancel(self) -> None:
        self.cancelled = True

    def check(self) -> None:
        if self.cancelled:
            raise Cancelled

    @contextlib.contextmanager
    def watching_forward(self) -> Iterator[None]:
        """A block in which this thread's runs of generated code compiled with checks
        (engine.Compiled(..., cancellable=True)) check this token before every op."""
        outer = getattr(_running, "token", None)
        _running.token = self
        try:
            yield
        finally:
            _running.token = outer

    def watch_backward(self, values: list) -> None:  # torch.Tensor
        """Check the token before the backward of evenly spread ops among `values` (the ops'
        values in forward order) and of every big one."""
        with_grad = [v for v in values if v.grad_fn is not None]
        step = max(1, len(with_grad) // BACKWARD_CHECKS)
        for i, v in enumerate(with_grad):
            if i % step == 0 or v.numel() >= BIG_VALUE:
                v.grad_fn.register_prehook(self._check_in_backward)

    def _check_in_backward(self, _grad_outputs: tuple) -> None:
        self.check()


@contextlib.contextmanager
def outcome_in(out: object, doing: str = "") -> Iterator[None]:
    """The body of a worker task whose result says how it ended: Cancelled sets out.cancelled, a
    graph error out.error (its message), anything else out.error as an internal error `doing`
    what — never raised: the app must never crash on a graph."""
    try:
        yield
    except Cancelled:
        out.cancelled = True
    except GraphError as e:
        out.error = e.message
    except Exception as e:  # noqa: BLE001 - see the docstring
        out.error = f"internal error{doing}: {type(e).__name__}: {e}"


_running = threading.local()  # .token: the token watching_forward set on this thread, if any


def checked_module(module: object) -> object:
    """A stand-in for `module` (torch) in the namespace of generated code: every attribute read
    first checks the token of the compute running on this thread (watching_forward). Every op
    of the generated code reaches torch through that name (torch.tanh, torch.nn.functional…),
    so a set token stops the forward before its next op, for ~0.1 µs an op. A torch function
    mode did this for ~4.5 µs an op (+45 ms on a 10,000-node compute)."""
    running = _running

    class Checked:
        __slots__ = ()

        def __getattribute__(self, name: str) -> object:
            token = getattr(running, "token", None)
            if token is not None and token.cancelled:
                raise Cancelled
            return getattr(module, name)

        def __repr__(self) -> str:
            return f"<{module!r}, checking the running compute's cancel token>"

    return Checked()
