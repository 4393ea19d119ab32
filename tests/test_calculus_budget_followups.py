"""Follow-ups of the Jacobian/Hessian memory budget (autograd_bridge.budget.check_matrix):
`gradcanvas grad --order 2` holds its own batched backward passes (calculus.hessian_diagonals)
to --memory-limit, and the app's Derivatives task (calculus_tasks.node_derivatives) to the
session's memory limit, not always the default. Expected numbers come from torch code written
here, in float64.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from test_cli import assert_one_line_error, run_main

from autograd_bridge import calculus
from autograd_bridge.calculus_tasks import Asked, node_derivatives
from autograd_bridge.cancel import CancelToken
from autograd_bridge.compute import ComputeSession
from graph.fileformat import load


def _chain(tmp_path: Path, n: int) -> str:
    """h = tanh(x) * x, y = sum(h): x [n] of values written in the file."""
    values = torch.linspace(-2, 2, n, dtype=torch.float64).tolist()
    path = tmp_path / f"chain{n}.json"
    nodes = [{"id": "x", "op": "tensor", "value": values, "requires_grad": True}, {"id": "t", "op": "tanh"},
             {"id": "h", "op": "mul"}, {"id": "y", "op": "sum"}]
    edges = [("x", "t", "input"), ("t", "h", "input"), ("x", "h", "other"), ("h", "y", "input")]
    path.write_text(json.dumps({"format": "gradcanvas", "version": 2, "seed": 0, "groups": [],
                                "nodes": [{"pos": [260 * i, 0], **n} for i, n in enumerate(nodes)],
                                "edges": [{"from": a, "to": b, "port": p} for a, b, p in edges]}))
    return str(path)


def _no_computing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any second-order pass or Jacobian actually computed fails the test: the refusal comes first."""
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("computed before the memory check")
    monkeypatch.setattr(calculus, "jacobian_rows", refuse)
    monkeypatch.setattr(torch.func, "jacrev", refuse)


def test_grad_order_2_holds_its_backward_passes_to_the_memory_limit(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _chain(tmp_path, 3000)  # one forward and backward: ~80 KB; even one second-order pass: ~530 KB
    _no_computing(monkeypatch)
    assert_one_line_error(*run_main(capsys, "grad", path, "--order", "2", "--memory-limit", "400K"),
                          "the Hessian diagonal ∂²y/∂x² [3000] needs about ", "1 second-order pass at once",
                          "over the memory limit 400 KB (--memory-limit 400K)", "raise it with --memory-limit")


def test_grad_order_2_over_the_limit_with_its_whole_batch_runs_fewer_passes_at_once(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run that fits with fewer backward passes batched was refused for its batch (a 4096-element
    chain: "needs about 56 GB … over the memory limit 18 GB", where it ran in 8 GB, review): it now
    batches as many as fit, and its numbers are torch's."""
    path = _chain(tmp_path, 3000)
    batches: list[int] = []
    real = calculus.jacobian_rows

    def counting(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        batches.append(kwargs["at_once"])
        return real(*args, **kwargs)

    monkeypatch.setattr(calculus, "jacobian_rows", counting)
    code, out, err = run_main(capsys, "grad", path, "--order", "2", "--dtype", "float64", "--json", "--full",
                              "--memory-limit", "4M")  # in float64, ~1 MB a pass: a few passes fit
    assert code == 0, err
    assert batches and 1 <= batches[0] < calculus.rows_at_once(3000, 3000)
    x = torch.linspace(-2, 2, 3000, dtype=torch.float64)
    expected = 2 * (1 - torch.tanh(x) ** 2) - 2 * x * torch.tanh(x) * (1 - torch.tanh(x) ** 2)  # (x·tanh x)''
    got = torch.tensor(json.loads(out)["grads2"]["x"], dtype=torch.float64)
    assert torch.allclose(got, expected, atol=1e-10)


def test_grad_order_2_under_the_limit_is_torchs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run_main(capsys, "grad", _chain(tmp_path, 50), "--order", "2", "--dtype", "float64", "--json",
                              "--full", "--memory-limit", "10M")
    assert code == 0, err
    x = torch.linspace(-2, 2, 50, dtype=torch.float64)
    expected = torch.diagonal(torch.func.hessian(lambda x: (torch.tanh(x) * x).sum())(x))
    got = torch.tensor(json.loads(out)["grads2"]["x"], dtype=torch.float64)
    assert torch.allclose(got, expected, atol=1e-12)


@pytest.mark.parametrize(("target", "what"), [("h", "the Jacobian ∂h/∂x [300, 300] needs about "),
                                              ("y", "the Hessian ∂²y/∂x² [300, 300] needs about ")])
def test_the_apps_derivatives_task_is_held_to_the_sessions_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 target: str, what: str) -> None:
    graph = load(_chain(tmp_path, 300))
    session = ComputeSession()
    # the forward and backward fit (a non-scalar h has no backward without a grad-output: its own error)
    assert session.compute(graph, target, 1, memory_limit=100_000).over_budget is None
    _no_computing(monkeypatch)
    out = node_derivatives(session, CancelToken(), graph, Asked(1, target), "x")
    assert out.jacobian is None and out.hessian is None and out.error is not None, out
    assert out.error.startswith(what), out.error
    assert "over the memory limit 98 KB (the limit set)" in out.error, out.error


def test_the_apps_derivatives_task_without_a_limit_is_torchs(tmp_path: Path) -> None:
    graph = load(_chain(tmp_path, 30))
    session = ComputeSession()
    session.compute(graph, "h", 1, memory_limit=None)  # "run anyway": no limit for its tasks either
    out = node_derivatives(session, CancelToken(), graph, Asked(1, "h"), "x")
    assert out.error is None, out.error
    x = torch.linspace(-2, 2, 30, dtype=torch.float64)
    expected = torch.autograd.functional.jacobian(lambda x: torch.tanh(x) * x, x)
    assert torch.allclose(torch.tensor(out.jacobian), expected, atol=1e-5)  # the graph runs in float32
