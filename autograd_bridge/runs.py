"""What a run is for, carried by everything computed for one run or asked about it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RunFor:
    """The document's semantic revision, the target, the device, the dtype and the grad-output
    a run was made for. FlowResult, Walk and calculus_tasks.Asked are RunFors with their own
    fields after these; gui.runstate.run_key compares them with a ComputeResult's same fields."""

    revision: int
    target: str | None
    device: str = "cpu"
    dtype: str | None = None
    grad_output: object = None
