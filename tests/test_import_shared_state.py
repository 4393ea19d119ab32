"""Importing a module whose parameters or buffers are reached by more than one name (tied
weights, a buffer shared by two submodules, a parameter used twice): one leaf per tensor object,
named by its first qualified name (as named_parameters() names it), every use wired to it, so its
partial is the whole gradient the module's own backward() gives; the nn.Module export keeps it
one Parameter. Gradients against backward() on the module itself, float64, 1e-9 relative."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from test_export_forms import run_text
from torch import nn

from autograd_bridge.engine import Compiled
from autograd_bridge.export import export_text
from autograd_bridge.fx_import import import_module

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.usefixtures("float64_models")]


class Tied(nn.Module):
    """A language model's tied embedding and output projection."""

    def __init__(self, proj_first: bool = False) -> None:
        super().__init__()
        self.emb = nn.Embedding(6, 4)
        self.proj = nn.Linear(4, 6, bias=False)
        self.proj.weight = self.emb.weight
        self.proj_first = proj_first

    def forward(self, ids: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        if self.proj_first:  # the second name reaches the weight first
            return (self.proj(h).tanh() + self.emb(ids).sum()).sum()
        return F.cross_entropy(self.proj(self.emb(ids) * 2), ids)


class Branchy(Tied):
    """Tied, with control flow on a tensor's value: imported from one recorded run."""

    def forward(self, ids: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        out = self.proj(self.emb(ids) + h)
        return out.exp().sum() if out.sum() > -1e9 else out.sum()


class Shift(nn.Module):
    def __init__(self, shift: torch.Tensor, scale: nn.Parameter) -> None:
        super().__init__()
        self.register_buffer("shift", shift)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + self.shift) * self.scale


class SharedBuffer(nn.Module):
    """Two submodules holding one buffer and one parameter, and a parameter used twice."""

    def __init__(self) -> None:
        super().__init__()
        shift, scale = torch.randn(3), nn.Parameter(torch.randn(3))
        self.a, self.b = Shift(shift, scale), Shift(shift, scale)
        self.w = nn.Parameter(torch.randn(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.b(self.a(x).sin()) * self.w + self.w.exp()).sum()


def _grads_match(model: nn.Module, example: tuple) -> dict[str, torch.Tensor]:
    """The imported graph's gradients equal the module's own, parameter by (first) name; the
    graph has one leaf per parameter object, and none under a second name."""
    imported = import_module(model, example)
    graph = imported.graph
    leaves = {n for n, node in graph.nodes.items() if node.is_tensor and node.requires_grad}
    assert leaves == {name for name, _ in model.named_parameters()}
    grads = Compiled(graph.validate(), "cpu", "float64").run(imported.sink).grads
    model.zero_grad()
    model(*example).backward()
    for name, p in model.named_parameters():
        torch.testing.assert_close(grads[name], p.grad, rtol=1e-9, atol=1e-12, msg=name)
    return grads


@pytest.mark.parametrize("make", [Tied, lambda: Tied(proj_first=True), Branchy],
                         ids=["fx", "fx-second-name-first", "recorded-run"])
def test_tied_weights_are_one_leaf_whose_partial_is_the_whole_gradient(make) -> None:  # noqa: ANN001
    model = make()  # here: float64 parameters
    example = (torch.tensor([0, 3, 5, 1]), torch.randn(4, 4))
    imported = import_module(model, example)
    graph = imported.graph
    assert "emb.weight" in graph.nodes and "proj.weight" not in graph.nodes
    assert graph.group_of.get("emb.weight") == "emb"  # its first name's module, whoever used it first
    assert len(graph.consumers_of("emb.weight")) == 2  # the embedding and the projection
    _grads_match(model, example)


def test_a_buffer_and_a_parameter_shared_by_two_submodules_and_a_parameter_used_twice() -> None:
    model = SharedBuffer()
    example = (torch.randn(2, 3),)
    imported = import_module(model, example)
    graph = imported.graph
    assert "a.shift" in graph.nodes and "b.shift" not in graph.nodes
    assert "a.scale" in graph.nodes and "b.scale" not in graph.nodes
    assert len(graph.consumers_of("a.shift")) == 2 and len(graph.consumers_of("w")) == 2
    _grads_match(model, example)


def test_the_module_export_keeps_a_tied_weight_one_parameter_with_the_whole_gradient() -> None:
    model, example = Tied(), (torch.tensor([0, 3, 5, 1]), torch.randn(4, 4))
    imported = import_module(model, example)
    text = export_text(imported.graph, imported.sink, None, "float64", form="module", retain_grad=False)
    exported = run_text(text)[0]["GraphModule"]()
    assert [name for name, _ in exported.named_parameters()] == ["emb.weight"]
    got = exported()
    got.backward()
    model.zero_grad()
    loss = model(*example)
    loss.backward()
    torch.testing.assert_close(got, loss, rtol=1e-9, atol=0)
    torch.testing.assert_close(exported.emb.weight.grad, model.emb.weight.grad, rtol=1e-9, atol=1e-12)
