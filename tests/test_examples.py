"""The bundled examples give the numbers that torch (written here, by hand) gives."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from autograd_bridge.engine import Compiled
from graph.fileformat import load


def run_example(examples_dir: Path, name: str, target: str):  # noqa: ANN201
    graph = load(examples_dir / f"{name}.json")
    return graph, Compiled(graph).run(target)


def leaf(graph, node_id: str, requires_grad: bool = False) -> torch.Tensor:  # noqa: ANN001
    """A leaf's value read from the loaded graph, made by torch in the test."""
    node = graph.nodes[node_id]
    assert node.requires_grad is requires_grad, node_id
    return torch.tensor(node.value, dtype=torch.float32, requires_grad=requires_grad)


def test_examples_are_all_covered(examples_dir: Path) -> None:
    assert sorted(p.stem for p in examples_dir.glob("*.json")) == [
        "01_scalar_partial", "02_matmul_vector", "03_vector_element", "04_small_mlp"]


def test_01_scalar_partial(examples_dir: Path) -> None:
    graph, result = run_example(examples_dir, "01_scalar_partial", "y")
    x = torch.tensor(2.0, requires_grad=True)
    z = torch.tensor(3.0)
    y = 2 * x**2 + 3 * z
    y.backward()
    assert result.values["y"].item() == pytest.approx(y.item())  # 2*4 + 9 = 17
    assert result.values["y"].item() == pytest.approx(17.0)
    assert result.grads["x"].item() == pytest.approx(x.grad.item())
    assert result.grads["x"].item() == pytest.approx(8.0)  # dy/dx = 4x = 8
    assert z.grad is None
    assert result.grads["z"] is None
    assert result.grads["two"] is None and result.grads["three"] is None
    # 3*z does not require grad: no partial, as in PyTorch
    assert result.grads["three_z"] is None
    # intermediates on the path from x: dy/d(x_sq) = 2, dy/d(2*x**2) = 1
    assert result.grads["x_sq"].item() == pytest.approx(2.0)
    assert result.grads["two_x_sq"].item() == pytest.approx(1.0)
    assert result.grads["y"].item() == pytest.approx(1.0)
    assert result.notes == []


def test_02_matmul_vector(examples_dir: Path) -> None:
    graph, result = run_example(examples_dir, "02_matmul_vector", "y")
    x = leaf(graph, "x", requires_grad=True)
    w = leaf(graph, "w")
    a = leaf(graph, "a")
    assert x.tolist() == [1.0, 2.0] and w.tolist() == [[3.0, 4.0], [5.0, 6.0]] and a.item() == 2.0
    x_row = torch.reshape(x, (1, -1))
    x_row.retain_grad()
    xw = torch.matmul(x_row, w)
    xw.retain_grad()
    y = torch.sum(a * xw)
    y.backward()

    torch.testing.assert_close(result.values["y"], y.detach())
    torch.testing.assert_close(result.grads["x"], x.grad)
    torch.testing.assert_close(result.grads["x"], torch.tensor([14.0, 22.0]))  # 2 * w.sum(1)
    # the non-leaf reshape node has a partial too, and it is [[14, 22]], not [[6, 10]]
    torch.testing.assert_close(result.grads["x_row"], x_row.grad)
    torch.testing.assert_close(result.grads["x_row"], torch.tensor([[14.0, 22.0]]))
    torch.testing.assert_close(result.grads["xw"], xw.grad)
    assert result.grads["w"] is None and result.grads["a"] is None


def test_03_vector_element(examples_dir: Path) -> None:
    graph, result = run_example(examples_dir, "03_vector_element", "y1")
    x = leaf(graph, "x", requires_grad=True)
    y = x**2
    y.retain_grad()
    y1 = y[1]
    y1.backward()
    torch.testing.assert_close(result.values["y1"], y1.detach())
    torch.testing.assert_close(result.grads["x"], x.grad)
    torch.testing.assert_close(result.grads["x"], torch.tensor([0.0, 4.0]))
    torch.testing.assert_close(result.grads["y"], y.grad)
    torch.testing.assert_close(result.grads["y"], torch.tensor([0.0, 1.0]))


def test_04_small_mlp(examples_dir: Path) -> None:
    graph, result = run_example(examples_dir, "04_small_mlp", "loss")
    inp = leaf(graph, "inp")
    y_true = leaf(graph, "y_true")
    W1 = leaf(graph, "W1", requires_grad=True)
    b1 = leaf(graph, "b1", requires_grad=True)
    W2 = leaf(graph, "W2", requires_grad=True)
    t = {}
    t["h_lin"] = inp @ W1
    t["h_pre"] = t["h_lin"] + b1
    t["h"] = torch.tanh(t["h_pre"])
    t["out"] = t["h"] @ W2
    t["loss"] = F.mse_loss(t["out"], y_true)
    for v in t.values():
        v.retain_grad()
    t["loss"].backward()
    expected = {"W1": W1.grad, "b1": b1.grad, "W2": W2.grad, "inp": None, "y_true": None,
                **{k: v.grad for k, v in t.items()}}

    assert set(result.grads) == set(graph.nodes) == set(expected)
    for node_id, g in expected.items():
        if g is None:
            assert result.grads[node_id] is None, node_id
        else:
            assert result.grads[node_id] is not None, node_id
            torch.testing.assert_close(result.grads[node_id], g, msg=node_id)
    for node_id, v in t.items():
        torch.testing.assert_close(result.values[node_id], v.detach(), msg=node_id)
    assert result.values["loss"].item() > 0
