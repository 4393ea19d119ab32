"""The NaN/Inf check's answer is read when the Result is first asked for it, not inside the run.

On a GPU the check's sum stays on the device (finite.finite_verdict), so a run waits for no
kernel; here that device sum is stood in for by an object counting its reads. What the Result
then says is checked against torch directly (log of a negative is NaN). The last test needs a
CUDA GPU and is skipped without one.
"""

from __future__ import annotations

import math

import pytest
import torch

from autograd_bridge import engine
from autograd_bridge.engine import Compiled
from autograd_bridge.finite import finite_verdict
from graph.model import Edge, Graph, Node


def _graph(x: float) -> Graph:
    """l = log(x); y = l * w."""
    g = Graph()
    g.add_node(Node("x", "tensor", value=[x, 1.0], requires_grad=True))
    g.add_node(Node("w", "tensor", value=[2.0, 3.0], requires_grad=True))
    g.add_node(Node("l", "log"))
    g.add_node(Node("p", "mul"))
    g.add_node(Node("y", "sum"))
    for a, b, port in (("x", "l", "input"), ("l", "p", "input"), ("w", "p", "other"), ("p", "y", "input")):
        g.add_edge(Edge(a, b, port))
    return g


class DeviceSum:
    """A GPU's 0-dim sum, as the engine sees it: read with item(); counts its reads."""

    def __init__(self, value: float) -> None:
        self.value, self.reads = value, 0

    def item(self) -> float:
        self.reads += 1
        return self.value


@pytest.mark.parametrize(("x", "device_sum"), [(2.0, 7.5), (-1.0, math.nan)])
def test_the_check_is_read_when_the_result_is_asked_and_once(monkeypatch, x: float, device_sum: float) -> None:
    compiled = Compiled(_graph(x))
    stand_in = DeviceSum(device_sum)
    monkeypatch.setattr(engine, "finite_verdict", lambda *_args: stand_in)
    result = compiled.run("y")
    assert stand_in.reads == 0  # the run did not wait for the check
    assert result.values["y"] is not None and result.grads["x"] is not None
    nonfinite, spread, notes = result.nonfinite, result.nonfinite_spread, result.notes
    assert stand_in.reads == 1 and result.nonfinite == nonfinite and stand_in.reads == 1
    nan_at_l = math.isnan(torch.log(torch.tensor(x)).item())  # torch's own answer
    assert nan_at_l == (x < 0)
    if nan_at_l:
        assert [n for n, _ in nonfinite][0] == "l"  # where it first appears
        assert {"l", "p", "y"} <= spread
        assert any(str(note).startswith("l:") and "NaN" in str(note) for note in notes)
    else:
        assert nonfinite == [] and spread == frozenset() and not any("NaN" in str(n) for n in notes)


def test_on_the_cpu_the_verdict_is_a_plain_answer() -> None:
    plans: dict = {}
    fine = [torch.ones(50_000), torch.ones(3)]
    assert finite_verdict(fine, plans, "a") is True
    assert finite_verdict([*fine, torch.tensor([math.inf])], plans, "b") is False


def test_a_nan_on_the_cpu_is_still_named() -> None:
    result = Compiled(_graph(-1.0)).run("y")
    assert [n for n, _ in result.nonfinite][0] == "l"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_on_a_gpu_the_run_leaves_the_check_on_the_device() -> None:
    big = torch.ones(1 << 15, device="cuda")
    verdict = finite_verdict([big, big], {}, "k")
    assert isinstance(verdict, torch.Tensor) and verdict.device.type == "cuda" and verdict.dim() == 0
    assert math.isfinite(verdict.item())
    compiled = Compiled(_graph(-1.0), "cuda")
    result = compiled.run("y")
    assert [n for n, _ in result.nonfinite][0] == "l"


def _warning_and_nan() -> Graph:
    """x = [[-1], [2]] -> log (NaN) -> mse_loss against a [2] target (torch warns: it broadcasts)."""
    g = Graph()
    g.add_node(Node("x", "tensor", value=[[-1.0], [2.0]], requires_grad=True))
    g.add_node(Node("t", "tensor", value=[1.0, 3.0]))
    g.add_node(Node("lg", "log"))
    g.add_node(Node("l", "mse_loss"))
    for a, b, port in (("x", "lg", "input"), ("lg", "l", "input"), ("t", "l", "target")):
        g.add_edge(Edge(a, b, port))
    return g


def test_the_nan_notes_come_before_the_runs_warnings_as_they_did_when_read_at_once() -> None:
    result = Compiled(_warning_and_nan()).run("l")
    notes = [str(n) for n in result.notes]
    nan = [i for i, n in enumerate(notes) if "NaN" in n]
    warned = [i for i, n in enumerate(notes) if "target size" in n]  # torch's broadcast warning
    assert nan and warned and max(nan) < min(warned), notes


def test_a_copy_or_a_pickle_carries_the_answer_not_the_pending_scan() -> None:
    import copy
    import pickle

    result = Compiled(_graph(-1.0)).run("y")
    copied = copy.copy(result)
    again = pickle.loads(pickle.dumps(result))
    for other in (copied, again):
        assert other.nonfinite == result.nonfinite and result.nonfinite[0][0] == "l"
        assert [str(n) for n in other.notes] == [str(n) for n in result.notes]
    assert len(result.notes) == len(set(map(str, result.notes)))  # no note twice
