"""Review 5 of importing a user's model (autograd_bridge.fx_import and its lowerings): non-tensor
arguments given other values than their defaults are fixed at them; refusals name the line and
the call, never an internal id (a -inf mask says what to write instead; int32 index constants are
taken as int64); in-place arithmetic methods rebound (`h = h.add_(x)`) lower as `h += x` does;
torch.inference_mode() is refused as torch refuses backward through it; a module called twice
is titled in call order, and a random draw by its line. Values and every gradient against torch
written here, float64."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import gradcanvas.api
import gradcanvas.import_cmd
from autograd_bridge.engine import Compiled
from autograd_bridge.fx_import import ImportRefused, import_function, import_module
from autograd_bridge.fx_user import is_users

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.usefixtures("float64_models")]
HERE = "test_fx_review5.py"


def _run(imported) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:  # noqa: ANN001
    run = Compiled(imported.graph.validate(), "cpu", "float64").run(imported.sink)
    return run.values[imported.sink], run.grads


def _close(got: torch.Tensor, expected: torch.Tensor, what: str = "") -> None:
    scale = max(float(expected.abs().max()), 1.0)
    torch.testing.assert_close(got.detach().double(), expected.detach().double(), rtol=1e-9, atol=1e-12 * scale,
                               msg=what)


def _matches_torch(value: torch.Tensor, grads: dict[str, torch.Tensor], expected: torch.Tensor,
                   params: dict[str, torch.Tensor]) -> None:
    """The imported graph's value and every parameter's gradient equal torch's backward() of `expected`."""
    expected.backward()
    _close(value, expected)
    for k, p in params.items():
        _close(grads[k], p.grad, k)


# ---- 1. non-tensor arguments fixed at the values given ----

def _scaled(x: torch.Tensor, alpha: float = 0.5, mode: str = "sum", dims: tuple = (0,), shift: object = None):
    h = x * alpha
    if shift is not None:
        h = h + shift
    return h.sum(dims).sum() if mode == "sum" else h.pow(2).mean()


@pytest.mark.parametrize("fixed", [{}, {"alpha": 2.0}, {"mode": "mean"}, {"alpha": -3.0, "mode": "mean"},
                                   {"dims": (0, 1), "shift": 1.5}, {"shift": 0.25, "mode": "mean"}])
def test_a_non_tensor_argument_other_than_its_default_is_fixed_at_its_value(fixed: dict) -> None:
    x = torch.tensor([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
    imported = import_function(_scaled, {"x": x, **fixed})
    value, grads = _run(imported)
    alpha, shift = fixed.get("alpha", 0.5), fixed.get("shift") or 0.0
    xs = x.clone().requires_grad_()
    h = xs * alpha + shift  # torch, as the function computes it with these arguments
    expected = h.sum() if fixed.get("mode", "sum") == "sum" else (h * h).mean()
    expected.backward()
    _close(value, expected)
    _close(grads["x"], xs.grad, "x")
    assert [n.id for n in imported.graph.nodes.values() if n.is_tensor and n.requires_grad] == ["x"]


class Kw(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l1 = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor, scale: float = 2.0, mode: str = "sum") -> torch.Tensor:
        h = self.l1(x) * scale
        return h.sum() if mode == "sum" else h.pow(2).mean()


def test_a_module_with_a_keyword_argument_given_a_value_imports_with_that_value() -> None:
    model, x = Kw(), torch.randn(5, 4)
    imported = import_module(model, (x,), {"scale": 3.0, "mode": "mean"})
    value, grads = _run(imported)
    w, b = model.l1.weight.detach().clone().requires_grad_(), model.l1.bias.detach().clone().requires_grad_()
    expected = ((x @ w.T + b) * 3.0).pow(2).mean()
    expected.backward()
    _close(value, expected)
    _close(grads["l1.weight"], w.grad, "l1.weight")
    _close(grads["l1.bias"], b.grad, "l1.bias")


def test_an_error_inside_the_app_is_never_located_in_the_apps_own_files() -> None:
    for module in (gradcanvas.api, gradcanvas.import_cmd, torch.nn.functional):
        assert not is_users(module.__file__), module.__name__
    assert is_users(__file__)


# ---- 2. refusals name the line and the call, never an internal id ----

def _masked(a: torch.Tensor) -> torch.Tensor:
    neg = torch.tensor(float("-inf"))
    s = torch.where(a > 0, a, neg)
    return torch.softmax(s, -1).pow(2).sum()


def _causal(a: torch.Tensor) -> torch.Tensor:
    m = torch.tril(torch.ones(4, 4))
    return torch.softmax(torch.where(m == 0, float("-inf"), a), -1).pow(2).sum()


def _causal_finite(a: torch.Tensor) -> torch.Tensor:  # the workaround the message gives
    m = torch.tril(torch.ones(4, 4))
    return torch.softmax(torch.where(m == 0, -1e9, a), -1).pow(2).sum()


def test_a_minus_inf_constant_is_refused_naming_its_line_with_the_finite_workaround() -> None:
    a = torch.randn(4, 4)
    with pytest.raises(ImportRefused) as e:
        import_function(_masked, {"a": a})
    message = str(e.value)
    assert message.startswith(f"{HERE} line ") and "(s = torch.where(a > 0, a, neg))" in message, message
    assert "holds -inf" in message and "-1e9" in message and "constant1" not in message, message
    with pytest.raises(ImportRefused) as e:
        import_function(_causal, {"a": a})
    message = str(e.value)
    assert message.startswith(f"{HERE} line ") and 'float("-inf")' in message, message
    assert "the number -inf:" in message and "is_causal=True" in message and "where_constant" not in message
    imported = import_function(_causal_finite, {"a": a})  # the workaround: torch's own numbers with -inf
    value, grads = _run(imported)
    a_inf = a.clone().requires_grad_()
    expected = torch.softmax(a_inf.masked_fill(torch.tril(torch.ones(4, 4)) == 0, -math.inf), -1).pow(2).sum()
    expected.backward()
    _close(value, expected)
    _close(grads["a"], a_inf.grad, "a")


def test_a_nan_argument_is_named_as_the_argument() -> None:
    with pytest.raises(ImportRefused, match=r"^the argument a holds nan: a graph holds finite numbers only$"):
        import_function(_causal_finite, {"a": torch.full((4, 4), math.nan)})


def _idx32(w: torch.Tensor) -> torch.Tensor:
    idx = torch.tensor([0, 6, 3, 6], dtype=torch.int32)
    return (F.embedding(idx, w) * torch.arange(1.0, 5.0)[:, None]).sum()


def test_an_int32_index_constant_is_taken_as_int64_with_a_note_naming_its_line() -> None:
    w = torch.randn(7, 3)
    imported = import_function(_idx32, {"w": w})
    assert [note for note in imported.notes if "int32" in note] == [
        f"{HERE} line {_idx32.__code__.co_firstlineno + 2} (return (F.embedding(idx, w) * torch.arange(1.0, 5.0)"
        "[:, None]).sum()): a tensor constant: an int32 tensor, taken as int64 (graphs hold float32, float64, "
        "int64, bool tensors; torch indexes with either)"]
    value, grads = _run(imported)
    ws = w.clone().requires_grad_()
    rows = torch.stack([ws[0], ws[6], ws[3], ws[6]])
    expected = (rows * torch.tensor([[1.0], [2.0], [3.0], [4.0]])).sum()
    expected.backward()
    _close(value, expected)
    _close(grads["w"], ws.grad, "w")


# ---- 3. in-place arithmetic methods, rebound ----

class Chain(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l1 = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.l1(x)
        h = h.relu_()
        h += x
        h = h.add_(x, alpha=0.5)
        h = h.mul_(x).sub_(1.5).div_(2.0)
        h = h.pow_(2).neg_().clamp_(min=-3.0)
        return h.sum()


def test_rebound_in_place_arithmetic_methods_import_as_their_out_of_place_ops() -> None:
    model, x = Chain(), torch.randn(3, 4)
    imported = import_module(model, (x,))
    value, grads = _run(imported)
    w, b = model.l1.weight.detach().clone().requires_grad_(), model.l1.bias.detach().clone().requires_grad_()
    h = torch.relu(x @ w.T + b) + x + 0.5 * x
    h = torch.clamp(-(((h * x - 1.5) / 2.0) ** 2), min=-3.0)
    expected = h.sum()
    expected.backward()
    _close(value, expected)
    _close(grads["l1.weight"], w.grad, "l1.weight")
    _close(grads["l1.bias"], b.grad, "l1.bias")


def _reads_after_add_(x: torch.Tensor) -> torch.Tensor:
    h = x * 2.0
    h.add_(x)
    return h.sum() + (h * 0).sum()


def test_an_in_place_method_whose_tensor_is_read_afterwards_is_refused_as_plus_equals_is() -> None:
    with pytest.raises(ImportRefused, match=rf"^{HERE} line \d+ \(h.add_\(x\)\): changing a tensor in place with "
                                            r"the method .add_\(\) is not supported: the code reads the tensor"):
        import_function(_reads_after_add_, {"x": torch.randn(3)})


# ---- 4. torch.inference_mode() ----

class Inference(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            c = self.l(x).mean()
        return (self.l(x) * c).sum()


def test_inference_mode_is_refused_naming_its_line_as_torch_refuses_backward_through_it() -> None:
    model, x = Inference(), torch.randn(3, 4)
    with pytest.raises(RuntimeError, match="Inference tensors cannot be saved for backward"):
        model(x).backward()  # torch itself
    with pytest.raises(ImportRefused, match=rf"^{HERE} line \d+ \(c = self.l\(x\).mean\(\)\): computed under "
                                            r"torch.inference_mode\(\): torch itself cannot run backward\(\)"):
        import_module(model, (x,))


def test_inference_mode_is_refused_in_a_recorded_run_too() -> None:
    def f(x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # control flow on a value: the recorded run
            with torch.inference_mode():
                c = x.mean()
            return (x * c).sum()
        return x.sum()

    with pytest.raises(ImportRefused, match=r"line \d+ \(c = x.mean\(\)\): computed under torch.inference_mode"):
        import_function(f, {"x": torch.ones(3)})


# ---- 5. titles in call order; a random draw titled by its line ----

class Twice(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.fc1 = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.a(x))
        h = torch.tanh(self.a(h))
        return self.fc1(h).sum()


def test_a_module_called_twice_is_titled_in_call_order_and_a_single_call_keeps_its_name() -> None:
    model, x = Twice(), torch.randn(3, 4)
    imported = import_module(model, (x,))
    graph = imported.graph
    linears = [n for n in graph.nodes.values() if n.op == "linear"]  # in the order they were made
    assert [n.title for n in linears] == ["a", "a #2", "fc1"]
    first, second, fc1 = (n.id for n in linears)
    assert first < second  # ids in call order too (a_1, a_2)
    tanh_first = next(e.dst for e in graph.edges if e.src == first)
    assert graph.inputs_of(second)["input"] == tanh_first and graph.inputs_of(tanh_first)["input"] == first
    assert graph.inputs_of(first)["input"] == "x"
    assert {g: (grp.title, grp.parent) for g, grp in graph.groups.items()} == {
        "a": ("a", None), "a@1": ("a #2", None), "fc1": ("fc1", None)}
    assert graph.group_of[first] == "a" and graph.group_of[second] == "a@1"
    value, grads = _run(imported)
    params = {k: p.detach().clone().requires_grad_() for k, p in model.named_parameters()}
    h = torch.tanh(x @ params["a.weight"].T + params["a.bias"])
    h = torch.tanh(h @ params["a.weight"].T + params["a.bias"])
    expected = (h @ params["fc1.weight"].T + params["fc1.bias"]).sum()
    _matches_torch(value, grads, expected, params)


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.l(x))


class Nested(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.b = Block()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.b(x)).sum()


def test_the_second_call_of_a_block_nests_its_layers_in_its_own_group() -> None:
    imported = import_module(Nested(), (torch.randn(2, 3),))
    groups = imported.graph.groups
    assert {g: (grp.title, grp.parent) for g, grp in groups.items()} == {
        "b": ("b", None), "b.l": ("b.l", "b"), "b@1": ("b #2", None), "b.l@1": ("b.l #2", "b@1")}


class NestedBranching(Nested):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.b(self.b(x))
        return h.sum() if h.sum() > 0 else -h.sum()  # control flow on a value: the recorded run


def test_the_recorded_run_groups_each_call_of_a_block_the_same_way() -> None:
    model, x = NestedBranching(), torch.randn(2, 3)
    imported = import_module(model, (x,))
    assert imported.specialised
    assert {g: (grp.title, grp.parent) for g, grp in imported.graph.groups.items()} == {
        "b": ("b", None), "b.l": ("b.l", "b"), "b@1": ("b #2", None), "b.l@1": ("b.l #2", "b@1")}
    value, grads = _run(imported)
    params = {k: p.detach().clone().requires_grad_() for k, p in model.named_parameters()}
    h = x
    for _ in range(2):
        h = torch.sigmoid(h @ params["b.l.weight"].T + params["b.l.bias"])
    expected = h.sum() if h.sum() > 0 else -h.sum()
    _matches_torch(value, grads, expected, params)


class Reparam(nn.Module):
    """A VAE's reparameterisation: the noise drawn inside forward."""

    def __init__(self) -> None:
        super().__init__()
        self.mu = nn.Linear(4, 2)
        self.lv = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mu, lv = self.mu(x), self.lv(x)
        std = torch.exp(0.5 * lv)
        eps = torch.randn(std.shape)
        noise = torch.rand_like(std)
        return (mu + eps * std + noise * mu).pow(2).sum()


def test_a_random_draw_in_forward_is_a_leaf_titled_by_its_line_with_a_note() -> None:
    model, x = Reparam(), torch.randn(3, 4)
    imported = import_module(model, (x,))
    graph = imported.graph
    drawn = {n.title: n for n in graph.nodes.values() if n.is_tensor and "drawn once" in n.title}
    line = Reparam.forward.__code__.co_firstlineno
    assert set(drawn) == {f"randn (line {line + 3}, drawn once)", f"rand_like (line {line + 4}, drawn once)"}
    assert not any(n.requires_grad for n in drawn.values())
    assert sum("draws once" in note for note in imported.notes) == 2
    assert any(note.startswith(f"{HERE} line {line + 3} (eps = torch.randn(std.shape)): torch.randn draws once, "
                               "as the code ran after torch.manual_seed(0)") for note in imported.notes)
    value, grads = _run(imported)
    params = {k: p.detach().clone().requires_grad_() for k, p in model.named_parameters()}
    mu = x @ params["mu.weight"].T + params["mu.bias"]
    std = torch.exp(0.5 * (x @ params["lv.weight"].T + params["lv.bias"]))
    torch.manual_seed(graph.seed)  # the draws the code made as it was imported
    eps, noise = torch.randn(3, 2), torch.rand(3, 2)
    expected = (mu + eps * std + noise * mu).pow(2).sum()
    _matches_torch(value, grads, expected, params)
