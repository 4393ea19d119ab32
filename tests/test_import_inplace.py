"""In-place changes in imported code (autograd_bridge.fx_inplace): an item assignment or in-place
op whose changed tensor the code reads afterwards, and any in-place update of a module's buffer or
parameter, are refused in one line naming the user's line and what is not supported, by symbolic
tracing and by the recorded run alike; in-place code the graph can follow (`y += 1`, a constant
mask built by item assignment, even one changed after a first use) gives torch's own gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from autograd_bridge.engine import Compiled
from autograd_bridge.fx_import import ImportRefused, import_function, import_module

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.usefixtures("float64_models")]


def _item_assignment(x: torch.Tensor) -> torch.Tensor:
    y = x * 2
    y[0] = 0.0
    return y.sum()


def _item_assignment_branchy(x: torch.Tensor) -> torch.Tensor:
    y = x * 2
    if y.sum() > -1e9:  # control flow on a value: recorded from one real run
        y[0] = 0.0
    return y.sum()


def _clamp_in_place(x: torch.Tensor) -> torch.Tensor:
    y = x * 2
    y.clamp_(min=-0.5)
    return y.sum()


@pytest.mark.parametrize(("fn", "line", "what"), [
    (_item_assignment, "y[0] = 0.0", "in-place item assignment"),
    (_item_assignment_branchy, "y[0] = 0.0", "in-place item assignment"),
    (_clamp_in_place, "y.clamp_(min=-0.5)", "changing a tensor in place with the method .clamp_()"),
], ids=["traced", "recorded-run", "in-place-method"])
def test_a_tensor_read_after_an_in_place_change_is_refused_naming_the_line(fn, line: str, what: str) -> None:  # noqa: ANN001
    with pytest.raises(ImportRefused) as e:
        import_function(fn, {"x": torch.randn(3, 4)})
    message = e.value.message
    assert "\n" not in message and "please report" not in message
    assert message.startswith("test_import_inplace.py line ") and f"({line}): {what}" in message
    assert "not supported" in message


class Counter(nn.Module):
    def __init__(self, branchy: bool = False) -> None:
        super().__init__()
        self.register_buffer("count", torch.zeros(1))
        self.lin = nn.Linear(2, 1)
        self.branchy = branchy

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.branchy and x.sum() > 1e9:
            return x.sum()
        self.count += 1
        return (self.lin(x) * self.count).sum()


class Reassigns(Counter):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.count = self.count + 1
        return (self.lin(x) * self.count).sum()


def test_a_buffer_set_to_a_new_tensor_is_refused_and_put_back() -> None:
    model = Reassigns()
    count = model.count
    with pytest.raises(ImportRefused) as e:
        import_module(model, (torch.randn(3, 2),))
    assert e.value.message == ("Reassigns.forward sets the buffer count to a new tensor: not supported, a graph holds "
                               "no state that changes from one call to the next")
    assert model.count is count and float(count) == 0.0


class Buffers(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("shift", torch.tensor([0.5, -1.0]))
        self.register_buffer("scale", torch.tensor(3.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + self.shift * self.scale).pow(2).sum()


def test_arithmetic_on_buffers_alone_keeps_them_leaves_not_one_folded_constant() -> None:
    imported = import_module(Buffers(), (torch.randn(2),))
    graph = imported.graph
    assert {"shift", "scale"} <= set(graph.nodes)
    assert not any(n.startswith("_tensor_constant") for n in graph.nodes)
    assert len(graph.consumers_of("shift")) == 1 and len(graph.consumers_of("scale")) == 1


@pytest.mark.parametrize("branchy", [False, True], ids=["traced", "recorded-run"])
def test_an_in_place_update_of_a_buffer_is_refused_and_the_buffer_left_as_it_was(branchy: bool) -> None:
    model = Counter(branchy)
    with pytest.raises(ImportRefused) as e:
        import_module(model, (torch.randn(3, 2),))
    assert e.value.message.startswith("test_import_inplace.py line ")
    assert "(self.count += 1): in-place update of the buffer count is not supported" in e.value.message
    assert float(model.count) == 0.0


def _masked(x: torch.Tensor) -> torch.Tensor:
    mask = torch.ones(3)
    first = (x + mask) ** 2  # torch keeps no copy of mask for backward here, so it may change below
    mask[0] = 5.0  # a constant changed after its first use: each use sees it as it was then
    return (first + x * mask).sum()


def _masked_branchy(x: torch.Tensor) -> torch.Tensor:
    return _masked(x) if x.sum() > -1e9 else x.sum()


def _added_in_place(x: torch.Tensor) -> torch.Tensor:
    y = x * 2
    y += 1
    y *= x
    return y.sum()


@pytest.mark.parametrize("fn", [_masked, _masked_branchy, _added_in_place], ids=["mask", "mask-recorded-run", "iadd"])
def test_in_place_code_the_graph_can_follow_gives_torchs_gradient(fn) -> None:  # noqa: ANN001
    assert_imported_as_torch_computes(fn, torch.randn(3))


def assert_imported_as_torch_computes(fn, x: torch.Tensor) -> None:  # noqa: ANN001 - the function imported
    """fn imported on x: the graph's value and ∂/∂x (float64) equal fn's own in torch."""
    imported = import_function(fn, {"x": x.clone()})
    result = Compiled(imported.graph.validate(), "cpu", "float64").run(imported.sink)
    leaf = x.clone().requires_grad_(True)
    expected = fn(leaf)
    expected.backward()
    torch.testing.assert_close(result.values[imported.sink], expected.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(result.grads["x"], leaf.grad, rtol=1e-12, atol=1e-12)
