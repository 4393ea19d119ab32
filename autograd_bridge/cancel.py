"""Stopping a running compute at the next op boundary, from another thread.

The app's worker thread runs a compute while the GUI thread may decide it is no longer wanted
(Cancel, Esc, or a newer edit). A `CancelToken` is set from the GUI thread; the compute checks
it between its phases, before every torch call of the forward (a torch function mode, which is
per thread: other threads never see it) and before the backward of a spread of ops (grad_fn
pre-hooks). `Cancelled` then unwinds the compute; it is a BaseException so that no `except
Exception` net on the way mistakes it for a failure of the graph.

Importing this module does not import torch (the GUI's worker makes tokens before torch is
loaded): the torch function mode is made on first use.
"""

from __future__ import annotations

import contextlib
import functools
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

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled

    def watching_forward(self):  # noqa: ANN201 - a torch TorchFunctionMode
        """A block in which every torch call first checks the token."""
        return _forward_checks()(self)

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


@functools.cache
def _forward_checks() -> type:
    from torch.overrides import TorchFunctionMode

    class ForwardChecks(TorchFunctionMode):
        def __init__(self, token: CancelToken) -> None:
            super().__init__()
            self.token = token

        def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
            self.token.check()
            return func(*args, **(kwargs or {}))

    return ForwardChecks
