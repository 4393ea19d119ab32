"""Import of the catalogue's second round (autograd_bridge.fx_lower, fx_layers): cat and stack
(a port per tensor), split and chunk (a node per piece used), dropout in training mode (masks
from the graph's seed), training-mode batch norm (the module's buffers left as they were),
bias-free layers (the bias port unfed), pow with a tensor exponent, max/min with a dim (values;
the indices refused where used) and cumsum. Gradients against backward() on the code itself,
float64, 1e-9 relative."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograd_bridge.engine import Compiled
from autograd_bridge.fx_import import ImportRefused, import_function, import_module

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.usefixtures("float64_models")]


class Mixer(nn.Module):
    """cat, chunk, dropout and batch norm in training mode, a linear layer without bias."""

    def __init__(self) -> None:
        super().__init__()
        self.inp = nn.Linear(4, 6)
        self.bn = nn.BatchNorm1d(6)
        self.drop = nn.Dropout(0.3)
        self.mix = nn.Linear(6, 3, bias=False)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.drop(torch.relu(self.bn(self.inp(x))))
        a, b = h.chunk(2, dim=1)
        joined = torch.cat([a * b, F.dropout(a, 0.5, training=self.training)], dim=1)
        return F.mse_loss(self.mix(joined), y)


def _graph_grads(imported) -> dict[str, torch.Tensor]:  # noqa: ANN001
    return Compiled(imported.graph.validate(), "cpu", "float64").run(imported.sink).grads


def test_cat_chunk_dropout_training_batch_norm_and_a_bias_free_linear_give_the_modules_gradients() -> None:
    model = Mixer().train()
    x, y = torch.randn(5, 4), torch.randn(5, 3)
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    imported = import_module(model, (x, y))
    for k, v in model.named_buffers():  # importing ran the module, and put its running stats back
        assert torch.equal(v, buffers[k]), k
    graph = imported.graph
    ops = [n.op for n in graph.nodes.values()]
    assert ops.count("dropout") == 2 and ops.count("chunk") == 2 and "cat" in ops
    bn = next(n for n in graph.nodes.values() if n.op == "batch_norm")
    assert bn.attrs["training"] is True
    cat = next(n for n in graph.nodes if graph.nodes[n].op == "cat")
    assert graph.nodes[cat].ports == ("tensors.0", "tensors.1")
    mix = next(n for n in graph.nodes if graph.nodes[n].op == "linear" and graph.inputs_of(n)["weight"] == "mix.weight")
    assert "bias" not in graph.inputs_of(mix) and "mix.bias" not in graph.nodes
    grads = _graph_grads(imported)
    model.zero_grad()
    torch.manual_seed(graph.seed)  # the module's own masks, drawn as the graph draws them
    model(x, y).backward()
    for name, p in model.named_parameters():
        scale = float(p.grad.abs().max())
        torch.testing.assert_close(grads[name], p.grad, rtol=1e-9, atol=1e-9 * scale, msg=name)
    model.zero_grad()
    model(x, y).backward()  # another draw: other masks (the note says so)
    assert not torch.allclose(grads["inp.weight"], model.inp.weight.grad)
    assert any("torch.manual_seed(0)" in note for note in imported.notes)


def _shapes(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    top, rest = torch.split(x, [1, 2], dim=0)
    stacked = torch.stack((top.squeeze(0), rest.max(dim=0).values, torch.min(rest, 0)[0]), dim=1)
    return (stacked ** w).cumsum(1).sum() + (2 ** x).sum()


def test_split_stack_max_min_pow_with_a_tensor_exponent_and_cumsum_equal_torch() -> None:
    x, w = torch.rand(3, 4) + 0.5, torch.randn(4, 3)
    imported = import_function(_shapes, {"x": x, "w": w})
    graph = imported.graph
    ops = sorted(n.op for n in graph.nodes.values() if not n.is_tensor)
    for op in ("split", "stack", "max", "min", "cumsum", "pow"):
        assert op in ops, op
    assert ops.count("split") == 2  # one node per piece used
    pows = [n for n in graph.nodes if graph.nodes[n].op == "pow"]
    assert all(graph.nodes[n].attrs["exponent"] is None and "exponent" in graph.inputs_of(n) for n in pows)
    grads = _graph_grads(imported)
    xs, ws = x.clone().requires_grad_(), w.clone().requires_grad_()
    _shapes(xs, ws).backward()
    torch.testing.assert_close(grads["x"], xs.grad, rtol=1e-9, atol=0)
    torch.testing.assert_close(grads["w"], ws.grad, rtol=1e-9, atol=0)


def _uses_indices(x: torch.Tensor) -> torch.Tensor:
    values, indices = x.max(dim=1)
    return values.sum() + indices.double().sum()


def test_the_indices_of_max_with_a_dim_are_refused_where_used() -> None:
    with pytest.raises(ImportRefused, match=r"line \d+ .*the indices of max with a dim are not in the catalogue"):
        import_function(_uses_indices, {"x": torch.randn(2, 3)})


def _many(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([x] * 65).sum()


def test_cat_of_more_tensors_than_a_node_takes_is_refused_in_one_line() -> None:
    with pytest.raises(ImportRefused, match=r"cat of 65 tensors: a cat node joins 1 to 64$"):
        import_function(_many, {"x": torch.randn(2)})
