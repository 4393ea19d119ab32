"""RunState: what the window asks to compute now, and the last result it drew.

The one place that answers "is this result current for what is shown?": the window drops a
result that is not, and the canvas and inspector label every number with the target it was
computed for (never the document's current target), so nothing shows a number under a name it
was not computed for.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograd_bridge.compute import ComputeResult, SliceResult


def run_key(run: object) -> tuple:
    """What a run is for (autograd_bridge.runs.RunFor's fields) of a ComputeResult or of a
    RunFor (a FlowResult, a Walk, an Asked): equal keys, the same run."""
    return run.revision, run.target, run.device, run.dtype, repr(run.grad_output)


@dataclass
class RunState:
    target: str | None = None
    grad_output: object = None  # v of backward(gradient=v), for a non-scalar target
    device: str = "cpu"
    dtype: str | None = None  # None: each leaf keeps its own
    revision: int = 0  # the document's semantic revision
    result: ComputeResult | None = None  # the last result drawn

    def is_current(self, result: ComputeResult | None) -> bool:
        """Computed for exactly what is asked now: same graph state, target, grad-output,
        device and dtype."""
        return (result is not None and result.revision == self.revision and result.target == self.target
                and result.grad_output == self.grad_output and result.device == self.device
                and result.dtype == self.dtype)

    def slice_is_current(self, s: SliceResult | None) -> bool:
        return (s is not None and s.revision == self.revision and s.target == self.target
                and s.device == self.device and s.dtype == self.dtype)

    def accept(self, result: ComputeResult) -> bool:
        """Keep the result if it is current; say whether it was."""
        if not self.is_current(result):
            return False
        self.result = result
        return True

    @property
    def current(self) -> ComputeResult | None:
        """The last result drawn, if it still answers what is asked now."""
        return self.result if self.is_current(self.result) else None
