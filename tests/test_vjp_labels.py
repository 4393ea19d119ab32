"""A partial computed with a grad-output v is a vector–Jacobian product, and every label says so
(`gradcanvas grad`, `grad --order 2`, `grad --json`, the exported script and notebook), as
`gradcheck`, `hessian` and the app already do; a scalar target's grad-output scales the seed and
is not said to be needed. The numbers are checked against torch code written here."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from test_export_forms import run_text

from autograd_bridge.export import export_script
from autograd_bridge.notebook import export_notebook
from gradcanvas.cli import main
from graph import fileformat


def square_graph() -> dict:
    """y = x² at x = [1, 2] (the reviewer's example); and s = sum(x)."""
    return {"format": "gradcanvas", "version": 2, "seed": 0, "target": "y",
            "nodes": [{"id": "x", "op": "tensor", "value": [1.0, 2.0], "requires_grad": True},
                      {"id": "y", "op": "square"}, {"id": "s", "op": "sum"}],
            "edges": [{"from": "x", "to": "y", "port": "input"}, {"from": "x", "to": "s", "port": "input"}],
            "groups": []}


@pytest.fixture
def path(tmp_path: Path) -> str:
    p = tmp_path / "r1.json"
    p.write_text(json.dumps(square_graph()), encoding="utf-8")
    return str(p)


def grad_lines(capsys: pytest.CaptureFixture[str], *argv: str) -> list[str]:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return capsys.readouterr().out.splitlines()


def torch_vjp(v: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """(vᵀ·∂y/∂x, the Hessian diagonal of vᵀ·y) for y = x², by torch directly."""
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x**2).backward(gradient=torch.tensor(v))
    hess = torch.autograd.functional.hessian(lambda t: (torch.tensor(v) * t**2).sum(), x.detach())
    return x.grad, hess.diagonal()


def numbers(text: str) -> list[float]:
    return [float(n) for n in text.strip().strip("[]").split(",")]


def test_grad_with_a_grad_output_is_labelled_a_vjp(path: str, capsys: pytest.CaptureFixture[str]) -> None:
    lines = grad_lines(capsys, "grad", path, "--grad-output", "[1, 10]")
    header = lines[1].split()
    assert header[-1] == "vᵀ·∂y/∂node"
    assert "v = [1, 10]" in lines[0] and "grad-output" in lines[0]
    vjp, _ = torch_vjp([1.0, 10.0])
    row = next(line for line in lines if line.startswith("x "))
    assert numbers(row.split("]  ")[-1]) == vjp.tolist()  # [2, 40]: not ∂y/∂x, which is diag(2, 4)


def test_order_2_with_a_grad_output_names_the_diagonal_of_vt_y(path: str, capsys: pytest.CaptureFixture[str]) -> None:
    lines = grad_lines(capsys, "grad", path, "--grad-output", "[1, 10]", "--order", "2")
    head, row = lines[-2], lines[-1]
    assert head.startswith("∂²(vᵀ·y)/∂x²") and "∂²y/∂x²" not in head
    _, diagonal = torch_vjp([1.0, 10.0])
    assert numbers(row.split("]  ")[-1]) == diagonal.tolist()  # [2, 20]; ∂²y/∂x² is [2, 2]


def test_a_scalar_targets_grad_output_is_named_too(path: str, capsys: pytest.CaptureFixture[str]) -> None:
    lines = grad_lines(capsys, "grad", path, "--target", "s", "--grad-output", "2")
    assert lines[1].split()[-1] == "vᵀ·∂s/∂node" and "v = 2" in lines[0]
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    x.sum().backward(gradient=torch.tensor(2.0))
    assert numbers(next(line for line in lines if line.startswith("x ")).split("]  ")[-1]) == x.grad.tolist()


def test_without_a_grad_output_the_labels_stay_plain(path: str, capsys: pytest.CaptureFixture[str]) -> None:
    lines = grad_lines(capsys, "grad", path, "--target", "s", "--order", "2")
    assert lines[1].split()[-1] == "∂s/∂node" and "grad-output" not in lines[0]
    assert lines[-2].startswith("∂²s/∂x²")
    out = json.loads(grad_lines(capsys, "grad", path, "--target", "s", "--json")[0])
    assert "grad_output" not in out and set(out) == {"target", "value", "grads"}


def test_a_long_grad_output_is_named_without_its_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = square_graph()
    graph["nodes"][0]["value"] = [float(i) for i in range(40)]
    p = tmp_path / "long.json"
    p.write_text(json.dumps(graph), encoding="utf-8")
    v = [float(i % 3) for i in range(40)]
    lines = grad_lines(capsys, "grad", str(p), "--grad-output", json.dumps(v))
    assert lines[1].split()[-1] == "vᵀ·∂y/∂node" and "grad-output v" in lines[0] and "[40]" in lines[0]
    assert len(lines[0]) < 200


def test_grad_json_says_which_grad_output_it_used(path: str, capsys: pytest.CaptureFixture[str]) -> None:
    out = json.loads(grad_lines(capsys, "grad", path, "--grad-output", "[1, 10]", "--json", "--order", "2")[0])
    vjp, diagonal = torch_vjp([1.0, 10.0])
    assert out["grad_output"] == [1.0, 10.0]
    assert out["grads"]["x"] == vjp.tolist() and out["grads2"]["x"] == diagonal.tolist()  # old keys kept
    assert out["target"] == "y" and out["value"] == [1.0, 4.0]


def test_the_files_own_grad_output_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = square_graph() | {"grad_output": [1.0, 10.0]}
    p = tmp_path / "stored.json"
    p.write_text(json.dumps(graph), encoding="utf-8")
    lines = grad_lines(capsys, "grad", str(p))
    assert lines[1].split()[-1] == "vᵀ·∂y/∂node" and "v = [1, 10]" in lines[0]
    assert json.loads(grad_lines(capsys, "grad", str(p), "--json")[0])["grad_output"] == [1.0, 10.0]


def notebook_words(grad_output: object, target: str = "y") -> str:
    graph = fileformat.loads(json.dumps(square_graph()))
    cells = json.loads(export_notebook(graph, target, grad_output))["cells"]
    return "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def test_the_notebook_calls_a_vjp_a_vjp() -> None:
    words = notebook_words([1.0, 10.0])
    vjp, _ = torch_vjp([1.0, 10.0])
    assert f"`x.grad` = [{int(vjp[0])}, {int(vjp[1])}]: vᵀ·∂y/∂x" in words
    assert ": ∂y/∂x" not in words and not re.search("(?<!vᵀ·)∂y/∂node", words)
    assert "vᵀ·∂y/∂node" in words
    plain = notebook_words(None, "s")
    assert "`x.grad` = [1, 1]: ∂s/∂x" in plain and "vᵀ" not in plain


def test_a_scalar_targets_grad_output_scales_the_seed_in_the_script() -> None:
    graph = fileformat.loads(json.dumps(square_graph()))
    text = export_script(graph, "s", 2)
    assert "is not a scalar" not in text
    assert "scales the seed" in text and "v * ds/d(node)" in text
    namespace, _ = run_text(text, as_main=True)
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    x.sum().backward(gradient=torch.tensor(2.0))
    torch.testing.assert_close(namespace["x"].grad, x.grad)
    words = notebook_words(2, "s")
    assert "is not a scalar" not in words and "v·∂s/∂node" in words
    assert "(a vector–Jacobian product)" not in words


def test_a_vector_targets_script_still_says_it_needs_a_grad_output() -> None:
    graph = fileformat.loads(json.dumps(square_graph()))
    text = export_script(graph, "y", [1.0, 10.0])
    assert "# y is not a scalar: backward() needs a grad-output (a vector-Jacobian product)." in text
    assert "v^T dy/d(node)" in text
    namespace, _ = run_text(text, as_main=True)
    vjp, _ = torch_vjp([1.0, 10.0])
    torch.testing.assert_close(namespace["x"].grad, vjp)
