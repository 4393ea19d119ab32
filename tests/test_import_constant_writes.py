"""A value computed from the inputs written in place into a tensor the code made as a constant
(`out = torch.zeros(3); out[0] = x.sum()`): symbolic tracing does not follow it (the code's later
reads of `out` were folded to zeros: a one-constant graph), so the import records a real run, which
refuses the write in one line naming its line when the code reads the tensor afterwards. Every
case either equals torch's own value and gradients (float64) or is refused in one line; never a
silent wrong graph. The import checks the graph's value and gradients against the code's own,
which catches a lowering that is wrong in its gradient only."""

from __future__ import annotations

import pytest
import torch
from test_import_inplace import assert_imported_as_torch_computes

from autograd_bridge import fx_lower
from autograd_bridge.engine import Compiled
from autograd_bridge.fx_import import ImportRefused, import_function

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.usefixtures("float64_models")]


def _build(x: torch.Tensor) -> torch.Tensor:
    out = torch.zeros(3)
    out[0] = x.sum()
    out[1] = (x * x).sum()
    return (out * torch.arange(3.0)).sum()


def _slice(x: torch.Tensor) -> torch.Tensor:
    out = torch.zeros(4)
    out[1:3] = x[:2] * 2
    return (out * out).sum()


def _index_put(x: torch.Tensor) -> torch.Tensor:
    out = torch.zeros(4)
    out.index_put_((torch.tensor([0, 2]),), x[:2])
    return (out * out).sum()


def _masked_fill(x: torch.Tensor) -> torch.Tensor:
    out = torch.ones(4)
    out.masked_fill_(torch.tensor([True, False, True, False]), x.sum())
    return (out * out).sum()


def _copy_into_slice(x: torch.Tensor) -> torch.Tensor:
    out = torch.zeros(4)
    out[:2].copy_(x[1:3])
    return (out * out).sum()


def _item_iadd(x: torch.Tensor) -> torch.Tensor:
    out = torch.zeros(4)
    out[1] += x.sum()
    return (out * out).sum()


def _boolean_index(x: torch.Tensor) -> torch.Tensor:
    y = torch.zeros(4)
    y[x > 0] = x[x > 0]
    return (y * y).sum()


def _through_a_view(x: torch.Tensor) -> torch.Tensor:
    out = torch.zeros(4)
    view = out[:2]
    view.add_(x[:2])
    return (out * out).sum()


def _returned(x: torch.Tensor) -> torch.Tensor:
    out = torch.zeros(4)
    out[0] = x.sum()
    return out


def _never_read(x: torch.Tensor) -> torch.Tensor:
    out = torch.zeros(4)
    out[0] = x.sum()
    return (x * x).sum()


def _recorded(fn):  # noqa: ANN001, ANN202 - control flow on a value: symbolic tracing stops, a real run is recorded
    def run(x: torch.Tensor) -> torch.Tensor:
        return fn(x) if x.sum() > -1e9 else x.sum()
    return run


_REFUSED = [
    (_build, "out[1] = (x * x).sum()"), (_slice, "out[1:3] = x[:2] * 2"),
    (_index_put, "out.index_put_((torch.tensor([0, 2]),), x[:2])"),
    (_masked_fill, "out.masked_fill_(torch.tensor([True, False, True, False]), x.sum())"),
    (_copy_into_slice, "out[:2].copy_(x[1:3])"), (_item_iadd, "out[1] += x.sum()"),
    (_boolean_index, "y[x > 0] = x[x > 0]"), (_through_a_view, "view.add_(x[:2])"), (_returned, "out[0] = x.sum()"),
]


@pytest.mark.parametrize("traced", [True, False], ids=["traced", "recorded-run"])
@pytest.mark.parametrize(("fn", "line"), _REFUSED, ids=[f.__name__.strip("_") for f, _ in _REFUSED])
def test_a_traced_value_written_into_a_constant_tensor_is_refused_naming_the_line(fn, line: str, traced: bool) -> None:  # noqa: ANN001
    with pytest.raises(ImportRefused) as e:
        import_function(fn if traced else _recorded(fn), {"x": torch.tensor([0.3, -0.7, 1.2, 0.5])})
    message = e.value.message
    assert "\n" not in message and "please report" not in message
    assert message.startswith("test_import_constant_writes.py line ") and f"({line}): " in message
    assert "not supported" in message or "not in the catalogue" in message


@pytest.mark.parametrize("traced", [True, False], ids=["traced", "recorded-run"])
def test_a_write_the_code_never_reads_back_gives_torchs_value_and_gradient(traced: bool) -> None:
    fn = _never_read if traced else _recorded(_never_read)
    assert_imported_as_torch_computes(fn, torch.tensor([0.3, -0.7, 1.2, 0.5]))


def _sin(x: torch.Tensor) -> torch.Tensor:
    return (torch.sin(x) * x).sum()


def test_a_lowering_wrong_in_its_gradient_only_is_caught_by_the_check_against_the_code(monkeypatch) -> None:  # noqa: ANN001
    def sin_of_a_copy(b: fx_lower.Builder, input: fx_lower.Ref) -> fx_lower.Ref:  # right value, no grad
        return b.op("sin", {"input": b.const(input.value, input)})

    monkeypatch.setitem(fx_lower.LOWER, torch.sin, sin_of_a_copy)
    with pytest.raises(ImportRefused) as e:
        import_function(_sin, {"x": torch.randn(3)})
    assert "gradient of" in e.value.message and "with respect to x differs from the code's" in e.value.message


def test_a_tracing_that_folds_the_code_to_a_constant_is_caught_by_the_value_check(monkeypatch) -> None:  # noqa: ANN001
    from autograd_bridge import fx_import

    monkeypatch.setattr(fx_import, "storage", lambda t: object())  # as before: the in-place write not noticed
    with pytest.raises(ImportRefused) as e:
        import_function(_build, {"x": torch.tensor([0.3, -0.7, 1.2])})
    assert "value at" in e.value.message and "differs from what the code returned" in e.value.message


def _safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x > 0, torch.sqrt(x), x * 0).sum()


def test_the_check_against_the_code_takes_nan_gradients_as_torch_gives_them() -> None:
    """where(x > 0, sqrt(x), 0): torch's gradient is NaN where x < 0 (0 · ∞). The check's
    tolerance came from the largest gradient, NaN: a traceback ('atol must be … -nan')."""
    x = torch.tensor([-1.0, 4.0])
    imported = import_function(_safe_sqrt, {"x": x.clone()})
    result = Compiled(imported.graph.validate(), "cpu", "float64").run(imported.sink)
    leaf = x.clone().requires_grad_(True)
    _safe_sqrt(leaf).backward()
    torch.testing.assert_close(result.grads["x"], leaf.grad, equal_nan=True)
    assert torch.isnan(leaf.grad[0])


class _ParamNamedLikeInput(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.x = torch.nn.Parameter(torch.tensor([2.0, 3.0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.x * x).sum()


def test_a_parameter_named_like_an_argument_imports() -> None:
    """self.x and forward(x): the parameter keeps its name (the exported module loads the
    original's state_dict by it), the argument's leaf is renamed (x_2); the check compared the
    wrong leaf's gradient and refused a right graph ('a lowering in the import is wrong')."""
    from autograd_bridge.fx_import import import_module

    model = _ParamNamedLikeInput()
    x = torch.tensor([1.0, 5.0])
    imported = import_module(model, (x,))
    result = Compiled(imported.graph.validate(), "cpu", "float64").run(imported.sink)
    model(x).backward()
    assert imported.graph.nodes["x"].requires_grad and imported.graph.nodes["x_2"].value == [1.0, 5.0]
    torch.testing.assert_close(result.grads["x"], model.x.grad)
