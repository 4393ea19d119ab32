"""Review findings on the Jacobian and Hessian commands (autograd_bridge.calculus, gradcanvas
jacobian / hessian / gradcheck / grad --order 2): the memory budget holds their matrix and
batched backward passes; second order agrees with first order where autograd gives no partial;
vᵀ·J is what backward(gradient=v) gives; each size refusal says what is true of its case; the
JSON records the grad-output. Expected numbers come from torch code written here, in float64.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from test_cli import assert_one_line_error, run_main

from autograd_bridge import budget, calculus
from autograd_bridge.calculus_tasks import Asked, node_derivatives
from autograd_bridge.cancel import CancelToken
from autograd_bridge.compute import ComputeSession
from autograd_bridge.engine import Compiled
from graph.errors import TargetError
from graph.fileformat import load


def _write(tmp_path: Path, name: str, nodes: list[dict], edges: list[tuple[str, str, str]]) -> str:
    path = tmp_path / name
    path.write_text(json.dumps({"format": "gradcanvas", "version": 2, "seed": 0, "groups": [],
                                "nodes": [{"pos": [260 * i, 0], **n} for i, n in enumerate(nodes)],
                                "edges": [{"from": a, "to": b, "port": p} for a, b, p in edges]}))
    return str(path)


def _tanh_sum(tmp_path: Path, n: int) -> str:
    """y = sum(tanh(x)), x [n] of values written in the file."""
    values = torch.linspace(-2, 2, n, dtype=torch.float64).tolist()
    return _write(tmp_path, f"tanh{n}.json",
                  [{"id": "x", "op": "tensor", "value": values, "requires_grad": True},
                   {"id": "h", "op": "tanh"}, {"id": "y", "op": "sum"}],
                  [("x", "h", "input"), ("h", "y", "input")])


def _through_gt(tmp_path: Path) -> str:
    """s = sum(gt(x, 0) * w): x reaches s only through the comparison m."""
    return _write(tmp_path, "through_gt.json",
                  [{"id": "x", "op": "tensor", "value": [0.5, -1.0, 2.0], "requires_grad": True},
                   {"id": "w", "op": "tensor", "value": [1.5, 0.25, -0.5], "requires_grad": True},
                   {"id": "z", "op": "tensor", "value": 0.0}, {"id": "m", "op": "gt"}, {"id": "mw", "op": "mul"},
                   {"id": "s", "op": "sum"}],
                  [("x", "m", "input"), ("z", "m", "other"), ("m", "mw", "input"), ("w", "mw", "other"),
                   ("mw", "s", "input")])


def _no_computing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any Jacobian or Hessian actually computed fails the test: a refusal must come first."""
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("computed before the memory check")
    monkeypatch.setattr(calculus, "jacobian_rows", refuse)
    monkeypatch.setattr(torch.func, "jacrev", refuse)


# ---- 3: the memory budget counts the matrix and the batched backward passes ----

@pytest.mark.parametrize("command", [["hessian", "--wrt", "x"], ["jacobian", "--target", "h", "--wrt", "x"]])
def test_the_matrix_is_held_to_the_memory_limit(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch, command: list[str]) -> None:
    path = _tanh_sum(tmp_path, 4000)  # the forward and backward: ~80 KB; the matrix alone 61 MB
    _no_computing(monkeypatch)
    what = "the Hessian ∂²y/∂x² [4000, 4000]" if command[0] == "hessian" else "the Jacobian ∂h/∂x [4000, 4000]"
    assert_one_line_error(*run_main(capsys, command[0], path, *command[1:], "--memory-limit", "20M"),
                          what, "the matrix 61 MB", "over the memory limit 20 MB (--memory-limit 20M)",
                          "raise it with --memory-limit")


def test_under_the_limit_the_hessian_is_torchs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _tanh_sum(tmp_path, 40)
    code, out, err = run_main(capsys, "hessian", path, "--wrt", "x", "--dtype", "float64", "--json",
                              "--memory-limit", "10M")
    assert code == 0, err
    x = torch.linspace(-2, 2, 40, dtype=torch.float64)
    expected = torch.func.hessian(lambda x: torch.tanh(x).sum())(x)
    assert torch.allclose(torch.tensor(json.loads(out)["hessian"], dtype=torch.float64), expected, atol=1e-12)
    assert_one_line_error(*run_main(capsys, "hessian", path, "--wrt", "x", "--memory-limit", "2K"),
                          "the Hessian ∂²y/∂x² [40, 40]")


def test_the_apps_derivatives_panel_is_held_to_the_default_limit(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    graph = load(_tanh_sum(tmp_path, 300))
    monkeypatch.setattr(budget, "memory_limit_default", lambda device="cpu": 100_000)
    _no_computing(monkeypatch)
    out = node_derivatives(ComputeSession(), CancelToken(), graph, Asked(1, "y"), "x")
    assert out.hessian is None and out.error is not None, out
    assert out.error.startswith("the Hessian ∂²y/∂x² [300, 300] needs about "), out.error
    assert "over the memory limit 98 KB (80% of the memory free here)" in out.error, out.error


def test_batched_backward_passes_are_bounded_by_the_largest_node(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    """y = sum(tanh(x.reshape(n, 1) * x)): each backward pass holds [n, n] tensors, so the
    rows batched at once are counted by that node (and the numbers stay torch's)."""
    n = 24
    values = torch.linspace(-1, 1, n, dtype=torch.float64)
    path = _write(tmp_path, "outer.json",
                  [{"id": "x", "op": "tensor", "value": values.tolist(), "requires_grad": True},
                   {"id": "a", "op": "reshape", "attrs": {"shape": [n, 1]}}, {"id": "b", "op": "mul"},
                   {"id": "t", "op": "tanh"}, {"id": "y", "op": "sum"}],
                  [("x", "a", "input"), ("a", "b", "input"), ("x", "b", "other"), ("b", "t", "input"),
                   ("t", "y", "input")])
    monkeypatch.setattr(calculus, "_BATCH_ELEMENTS", 4 * n * n)  # 4 rows of [n, n] at once
    batches: list[int] = []
    real = calculus.jacobian_rows

    def counting(output: torch.Tensor, inputs: torch.Tensor, keep=None, largest: int = 0,  # noqa: ANN001, ANN202
                 at_once: int | None = None):
        batches.append(min(calculus.rows_at_once(output.numel(), max(inputs.numel(), output.numel(), largest)),
                           at_once or output.numel()))
        return real(output, inputs, keep, largest, at_once)

    monkeypatch.setattr(calculus, "jacobian_rows", counting)
    compiled = Compiled(load(path), "cpu", "float64")
    h = calculus.hessian(compiled, "y", "a", memory_limit=None)  # an intermediate: double backward
    assert batches == [4]
    expected = torch.func.hessian(lambda a: torch.tanh(a * values).sum())(values.reshape(n, 1))
    assert torch.allclose(h, expected, atol=1e-12)
    found = budget.check_matrix(compiled, 1 << 40, what="H", result=n * n, at_once=4, node_ids=["y", "a"])
    assert found is not None and found.parts["4 backward passes at once"] > 4 * n * n * 8


# ---- 5: second order is None where first order is None ----

def test_second_order_is_none_where_first_order_is(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _through_gt(tmp_path)
    code, out, _err = run_main(capsys, "grad", path, "--order", "2")
    assert code == 0
    why = "None: s depends on it only through m (gt), which gives no gradient"
    first, second = out.split("∂²s/∂x²")
    assert why in next(r for r in first.splitlines() if r.startswith("x "))
    rows = second.splitlines()[1:]
    assert rows[0].split() == ["x", *why.split()], rows
    assert rows[1].split() == ["w", "[3]", "[0,", "0,", "0]"], rows  # linear in w: 0
    code, out, _err = run_main(capsys, "grad", path, "--order", "2", "--json")
    doc = json.loads(out)
    assert doc["grads"]["x"] is None and doc["grads2"] == {"x": None, "w": [0.0, 0.0, 0.0]}
    diagonals = calculus.hessian_diagonals(Compiled(load(path), "cpu", "float64"), "s")
    assert diagonals["x"] is None and diagonals.why == {"x": why.removeprefix("None: ")}
    w = torch.tensor([1.5, 0.25, -0.5], dtype=torch.float64)
    mask = (torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64) > 0).double()
    assert torch.equal(diagonals["w"], torch.func.hessian(lambda w: (mask * w).sum())(w).diagonal())


@pytest.mark.parametrize("command", ["jacobian", "hessian"])
def test_wrt_reached_only_through_a_comparison_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                          command: str) -> None:
    assert_one_line_error(*run_main(capsys, command, _through_gt(tmp_path), "--wrt", "x"),
                          "x: s depends on it only through m (gt), which gives no gradient, so autograd gives no "
                          "∂s/∂x")
    with pytest.raises(TargetError) as raised:
        getattr(calculus, command)(Compiled(load(_through_gt(tmp_path))), "s", "x")
    assert raised.value.node_ids == ("s", "x", "m")


# ---- 7: vᵀ·J is backward(gradient=v), Inf and all ----

def test_the_vjp_is_what_backward_with_v_gives(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _write(tmp_path, "sqrt0.json", [{"id": "x", "op": "tensor", "value": [0.0, 1.0], "requires_grad": True},
                                           {"id": "h", "op": "sqrt"}], [("x", "h", "input")])
    x = torch.tensor([0.0, 1.0], dtype=torch.float64, requires_grad=True)
    torch.sqrt(x).backward(gradient=torch.ones(2, dtype=torch.float64))
    assert x.grad.tolist() == [float("inf"), 0.5]
    jac = calculus.jacobian(Compiled(load(path), "cpu", "float64"), "h", "x", [1, 1])
    assert torch.equal(jac.vjp, x.grad)
    code, out, _err = run_main(capsys, "jacobian", path, "--wrt", "x", "--grad-output", "[1, 1]")
    assert code == 0 and out.splitlines()[-1].endswith("(what grad gives x): [inf, 0.5]"), out
    code, out, _err = run_main(capsys, "jacobian", path, "--wrt", "x", "--grad-output", "[1, 1]", "--json")
    assert json.loads(out)["vjp"] == ["inf", 0.5] and json.loads(out)["grad_output"] == [1.0, 1.0]


# ---- 8: each size refusal says what is true of its case ----

def test_size_refusals_say_what_is_true(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    path = _tanh_sum(tmp_path, 5)
    monkeypatch.setattr(calculus, "JACOBIAN_LIMIT", 16)
    code, out, err = run_main(capsys, "hessian", path, "--wrt", "x")
    assert_one_line_error(code, out, err, "the Hessian ∂²y/∂x² would have 25 elements (x [5] twice), more than "
                          "the limit of 16: a Hessian's size is x's squared whatever the target")
    assert "select or reduce part of the target" not in err
    code, out, err = run_main(capsys, "grad", path, "--order", "2")
    assert_one_line_error(code, out, err, "the Hessian diagonal ∂²y/∂x² (one backward pass per element of x): "
                          "5 passes of 5 entries each (25 in all), more than the limit of 16 (a leaf of at most 4 "
                          "elements): use a smaller leaf, or turn x's requires_grad off")
    assert "would have" not in err and "target" not in err
    code, out, err = run_main(capsys, "jacobian", path, "--target", "h", "--wrt", "x")
    assert_one_line_error(code, out, err, "the Jacobian ∂h/∂x would have 25 elements (h [5] × x [5]), more than "
                          "the limit of 16: select or reduce part of the target, or use smaller tensors")


# ---- 9: the grad-output is recorded, and titled one way ----

def test_hessian_and_gradcheck_record_the_grad_output(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _write(tmp_path, "cube.json", [{"id": "x", "op": "tensor", "value": [1.0, 2.0], "requires_grad": True},
                                          {"id": "y", "op": "pow", "attrs": {"exponent": 3}}], [("x", "y", "input")])
    v = torch.tensor([1.0, 10.0], dtype=torch.float64)
    x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    expected = torch.func.hessian(lambda x: (v * x**3).sum())(x)  # diag(6·v·x) = [[6, 0], [0, 120]]
    code, out, err = run_main(capsys, "hessian", path, "--wrt", "x", "--grad-output", "[1, 10]", "--json",
                              "--dtype", "float64")
    assert code == 0, err
    doc = json.loads(out)
    assert list(doc) == ["target", "wrt", "grad_output", "hessian"] and doc["grad_output"] == [1.0, 10.0]
    assert torch.equal(torch.tensor(doc["hessian"], dtype=torch.float64), expected)
    code, out, _err = run_main(capsys, "gradcheck", path, "--grad-output", "[1, 10]", "--json")
    doc = json.loads(out)
    assert doc["grad_output"] == [1.0, 10.0] and doc["passed"] is True
    code, out, _err = run_main(capsys, "hessian", path, "--wrt", "x", "--grad-output", "[1, 10]")
    assert out.startswith("∂²(vᵀ·y)/∂x²: the Hessian of (vᵀ·y) with respect to x [2], v the grad-output"), out
    assert "∂²y/∂x²" not in out
    code, out, _err = run_main(capsys, "hessian", _tanh_sum(tmp_path, 3), "--wrt", "x", "--json")
    assert "grad_output" not in json.loads(out)  # none without one
