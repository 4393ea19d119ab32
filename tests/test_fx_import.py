"""Import from Python (autograd_bridge.fx_import): real models defined here, imported, and every
parameter's gradient compared with loss.backward() on the module itself (float64, 1e-9
relative); the fallback for data-dependent control flow; what the graph keeps and leaves out."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograd_bridge.engine import Compiled
from autograd_bridge.fx_import import ImportRefused, import_function, import_module
from graph.naming import formula_name

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.usefixtures("float64_models")]


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 6, 3, padding=1, bias=False)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(6 * 2 * 2, 5)

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        h = self.pool(F.relu(self.bn1(self.conv1(x))))
        h = F.max_pool2d(torch.relu(self.conv2(h)), kernel_size=2)
        logits = self.fc(torch.flatten(h, 1))
        return F.cross_entropy(logits, target)


class Block(nn.Module):
    """A pre-norm transformer block written as people write it: sizes read from x.shape."""

    def __init__(self, dim: int = 8, heads: int = 2) -> None:
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q = q.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        k = k.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        v = v.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).contiguous().view(B, T, C))
        x = x + self.mlp(self.ln2(x))
        return x


class BlockLoss(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Block()

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(self.block(x), target)


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 16), nn.Tanh(),
                                 nn.Dropout(0.2), nn.Linear(16, 3))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.smooth_l1_loss(self.net(x), y)


def _graph_grads(imported) -> dict[str, torch.Tensor]:  # noqa: ANN001
    return Compiled(imported.graph.validate()).run(imported.sink).grads


def _assert_same_grads(module: nn.Module, example: tuple) -> None:
    """Import the module, then compare every parameter's gradient with module's own backward."""
    imported = import_module(module, example)
    grads = _graph_grads(imported)
    module.zero_grad()
    torch.manual_seed(imported.graph.seed)  # dropout in training mode: the masks the graph drew
    module(*example).backward()
    for name, p in module.named_parameters():
        assert name in imported.graph.nodes, name
        node = imported.graph.nodes[name]
        assert node.label == name and node.requires_grad and node.dtype == "float64"
        scale = float(p.grad.abs().max())
        torch.testing.assert_close(grads[name], p.grad, rtol=1e-9, atol=1e-9 * scale, msg=name)


def test_small_cnn_gradients_equal_backward_on_the_module() -> None:
    model = SmallCNN()
    model.bn1.running_mean.uniform_(-0.5, 0.5)
    model.bn1.running_var.uniform_(0.5, 2.0)
    model.eval()
    x = torch.randn(3, 2, 8, 8)
    target = torch.softmax(torch.randn(3, 5), dim=1)
    _assert_same_grads(model, (x, target))
    imported = import_module(model, (x, target))
    ops = {n.op for n in imported.graph.nodes.values()}
    assert {"conv2d", "batch_norm", "relu", "max_pool2d", "flatten", "linear", "cross_entropy"} <= ops
    nodes = imported.graph.nodes
    assert not nodes["bn1.running_mean"].requires_grad and "bn1.num_batches_tracked" not in nodes
    # conv2 has no bias: its bias port is left unfed (torch's None), no zero leaf made for it
    assert not [i for i in nodes if nodes[i].is_tensor and not nodes[i].requires_grad and "bias" in i]
    convs = [imported.graph.inputs_of(n) for n in nodes if nodes[n].op == "conv2d"]
    assert [sorted(c) for c in convs] == [["bias", "input", "weight"], ["input", "weight"]]
    assert imported.graph.target == imported.sink and imported.graph.sinks() == [imported.sink]
    assert not imported.specialised


def test_transformer_block_gradients_equal_backward_on_the_module() -> None:
    model = BlockLoss()
    x, target = torch.randn(2, 5, 8), torch.randn(2, 5, 8)
    _assert_same_grads(model, (x, target))
    ops = [n.op for n in import_module(model, (x, target)).graph.nodes.values()]
    for op in ("layer_norm", "linear", "scaled_dot_product_attention", "gelu", "split", "reshape", "add"):
        assert op in ops, op


def test_mlp_with_dropout_in_eval_gradients_equal_backward_on_the_module() -> None:
    model = MLP().eval()
    example = (torch.randn(4, 6), torch.randn(4, 3))
    _assert_same_grads(model, example)
    assert "dropout" not in str(import_module(model, example).graph.nodes)


def test_dropout_in_training_mode_draws_the_masks_of_the_graph_seed() -> None:
    model = MLP().train()
    example = (torch.randn(4, 6), torch.randn(4, 3))
    _assert_same_grads(model, example)  # the module's own call seeded with the graph's seed
    imported = import_module(model, example)
    assert [n.op for n in imported.graph.nodes.values()].count("dropout") == 2
    assert any(f"torch.manual_seed({imported.graph.seed})" in note for note in imported.notes)


def _channel_dropout(x: torch.Tensor) -> torch.Tensor:
    return F.dropout2d(x, 0.5).sum()


def test_channel_dropout_in_training_mode_is_refused_naming_the_line() -> None:
    with pytest.raises(ImportRefused, match=r"test_fx_import.py line \d+ .*dropout2d in training mode"):
        import_function(_channel_dropout, {"x": torch.randn(2, 3, 4, 4)})


def _control_flow(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    h = x
    while h.norm() < 10:  # how often it runs depends on the values
        h = torch.tanh(h @ w) * 3 + h
    if h.sum() > 0:
        return (h ** 2).mean()
    return h.abs().sum()


def _loop_over_rows(xs: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    h = torch.zeros(3)
    # symbolic tracing cannot make an int of a shape:
    for t in range(xs.shape[0]):
        h = torch.tanh(xs[t] * w + h)
    return h.sum()


def test_the_line_where_symbolic_tracing_stopped_is_named() -> None:
    """The note said "symbolic tracing stopped ('Proxy' object cannot be interpreted as an
    integer)", which names no line of the user's code."""
    imported = import_function(_loop_over_rows, {"xs": torch.randn(4, 3), "w": torch.randn(3)})
    note = next(n for n in imported.notes if "specialised to the example inputs" in n)
    assert re.search(r"symbolic tracing stopped at test_fx_import\.py line \d+ "
                     r"\(for t in range\(xs\.shape\[0\]\):\) \('Proxy' object", note), note


def test_data_dependent_control_flow_imports_through_one_real_run_and_says_so() -> None:
    x, w = torch.randn(3), torch.randn(3, 3)
    imported = import_function(_control_flow, {"x": x, "w": w})
    assert imported.specialised
    assert any("specialised to the example inputs" in n and "while h.norm() < 10" in n for n in imported.notes)
    label = imported.graph.nodes[imported.sink].label
    assert "specialised to the example inputs" in label
    # Its partials name it by its id alone: "∂(sum (specialised …))/∂x" crowded every number.
    assert formula_name(label) == imported.sink
    xs, ws = x.clone().requires_grad_(), w.clone().requires_grad_()
    _control_flow(xs, ws).backward()
    grads = _graph_grads(imported)
    torch.testing.assert_close(grads["x"], xs.grad, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(grads["w"], ws.grad, rtol=1e-9, atol=1e-12)
    assert sum(n.op == "tanh" for n in imported.graph.nodes.values()) >= 1  # the loop, unrolled


def _indexing(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    a, b = x.chunk(2, dim=1)
    n = x.size(0) // 2
    z = a[:n, ..., None] * b[2:, :][..., None] - y.T[0]
    return (z.permute(2, 0, 1).squeeze(0).sum(dim=-1) / x.shape[1]).amax() + torch.clamp(y, min=0.1).prod()


def test_shape_arithmetic_indexing_and_methods_become_concrete_ops() -> None:
    x, y = torch.randn(4, 4), torch.rand(2, 3) + 0.5
    imported = import_function(_indexing, {"x": x, "y": y})
    assert not imported.specialised
    xs, ys = x.clone().requires_grad_(), y.clone().requires_grad_()
    _indexing(xs, ys).backward()
    grads = _graph_grads(imported)
    torch.testing.assert_close(grads["x"], xs.grad, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(grads["y"], ys.grad, rtol=1e-9, atol=1e-12)


def _cumulative(x: torch.Tensor) -> torch.Tensor:
    return torch.cumprod(x, 0).sum()


@pytest.mark.parametrize(("fn", "message"), [
    (_cumulative, r"test_fx_import.py line \d+ \(return torch.cumprod\(x, 0\).sum\(\)\): "
                  r"torch.cumprod is not in the catalogue"),
    (lambda x: x.argmax(), r"the method .argmax\(\) is not in the catalogue"),
    (lambda x: (x, x), r"returns tuple: import needs it to return one tensor"),
    (lambda x: x[x > 0].sum(), r"not in the catalogue"),
    (lambda x: x.sum() * x.sum().item(), r"the method .item\(\) is not in the catalogue"),
    # named as the code wrote it, not torch.functional.einsum, where torch defines it
    (lambda x: torch.einsum("i,i->", x, x), r"\): torch\.einsum is not in the catalogue$"),
    # torch.linalg's, torch.special's and torch.fft's functions, not torch._C._linalg.linalg_norm
    (lambda x: torch.linalg.norm(x), r"\): torch\.linalg\.norm is not in the catalogue$"),
    (lambda x: torch.special.expit(x).sum(), r"\): torch\.special\.expit is not in the catalogue$"),
    (lambda x: torch.fft.fft(x).real.sum(), r"\): torch\.fft\.fft is not in the catalogue$"),
])
def test_refusals_are_one_line_naming_the_call(fn, message) -> None:  # noqa: ANN001
    with pytest.raises(ImportRefused, match=message) as info:
        import_function(fn, {"x": torch.randn(3)})
    assert "\n" not in info.value.message


def test_unused_parameters_and_buffers_are_left_out() -> None:
    class Partial(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used, self.unused = nn.Linear(3, 2), nn.Linear(3, 2)
            self.register_buffer("scale", torch.tensor(2.0))
            self.register_buffer("spare", torch.zeros(4))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (self.used(x) * self.scale).sum()

    imported = import_module(Partial(), (torch.randn(2, 3),))
    tensors = sorted(n for n, node in imported.graph.nodes.items() if node.is_tensor)
    assert tensors == ["scale", "used.bias", "used.weight", "x"]
    assert not imported.graph.nodes["x"].requires_grad  # a module's input is data unless it asks


class TokenClassifier(nn.Module):
    """int64 inputs: embedding lookups, a masked fill by comparison and where, class-index targets."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 6)
        self.fc = nn.Linear(6, 4)

    def forward(self, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.embed(tokens).mean(dim=1)
        h = torch.where(h > 0, h, 0.1 * h)
        return F.cross_entropy(self.fc(h), labels)


@pytest.mark.skipif(not {"embedding", "where", "gt"} <= set(__import__("graph.ops").ops.OPS),
                    reason="int64 ops not in the catalogue yet")
def test_int64_inputs_and_class_index_targets() -> None:
    model = TokenClassifier()
    tokens, labels = torch.randint(0, 10, (3, 5)), torch.tensor([0, 3, 1])
    _assert_same_grads(model, (tokens, labels))
    nodes = import_module(model, (tokens, labels)).graph.nodes
    assert nodes["tokens"].dtype == "int64" and nodes["labels"].value == [0, 3, 1]


class Gated(nn.Module):
    """Control flow on a value inside a module: the recorded run keeps module outputs intact."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Sequential(nn.Linear(3, 3), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(2 if x.sum() > 0 else 3):
            x = self.inner(x) + x
        return x.pow(2).mean()


def test_module_with_control_flow_imports_through_one_real_run() -> None:
    model = Gated()
    x = torch.randn(2, 3)
    imported = import_module(model, (x,))
    assert imported.specialised and sum(n.op == "linear" for n in imported.graph.nodes.values()) in (2, 3)
    assert "inner.0.weight" in imported.graph.nodes
    _assert_same_grads(model, (x,))


def _fixed_arguments(x: torch.Tensor, n: int = 3, scale: float = 2.0) -> torch.Tensor:
    for _ in range(n):
        x = torch.sin(x) * scale
    return x.sum()


def test_non_tensor_arguments_are_fixed_at_their_values() -> None:
    imported = import_function(_fixed_arguments, {"x": torch.randn(2), "n": 3, "scale": 2.0})
    assert not imported.specialised
    assert sum(n.op == "sin" for n in imported.graph.nodes.values()) == 3
    assert [n for n, node in imported.graph.nodes.items() if node.is_tensor and node.requires_grad] == ["x"]


def _scaled(x: torch.Tensor) -> torch.Tensor:
    return (torch.sin(x) / 6 ** 0.5).sum()


def test_a_python_number_is_kept_whole_so_float64_runs_match_torch_exactly() -> None:
    """6 ** 0.5 was written at float32's precision (2.4494898): run in float64, ∂/∂x was off by ~1e-9."""
    x = torch.tensor([0.3, -1.2, 2.0], dtype=torch.float32)
    imported = import_function(_scaled, {"x": x})
    (constant,) = [n for n in imported.graph.nodes.values() if n.is_tensor and not n.requires_grad]
    assert constant.value == 6 ** 0.5
    for dtype, compiled_as in ((torch.float64, "float64"), (torch.float32, None)):  # float32: rounded as torch does
        by_hand = torch.tensor(imported.graph.nodes["x"].value, dtype=dtype, requires_grad=True)  # as the file says
        _scaled(by_hand).backward()
        got = Compiled(imported.graph.validate(), dtype=compiled_as).run(imported.sink).grads["x"]
        assert got.dtype == dtype and torch.equal(got, by_hand.grad)


class _CausalScores(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.q, self.k = nn.Linear(4, 4), nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.q(x) @ self.k(x).transpose(-2, -1) / 2.0
        mask = torch.triu(torch.ones(3, 3), diagonal=1).bool()
        return torch.softmax(s.masked_fill(mask, -1e9), -1).pow(2).sum()


def test_masked_fill_imports_as_a_where_with_torchs_gradients() -> None:
    """A causal attention mask (masked_fill with -1e9) was refused as outside the catalogue."""
    torch.manual_seed(1)
    model = _CausalScores().double()
    x = torch.randn(3, 4, dtype=torch.float64)
    imported = import_module(model, (x,))
    assert any(n.op == "where" for n in imported.graph.nodes.values())
    model(x).backward()
    grads = _graph_grads(imported)
    for name, p in model.named_parameters():
        torch.testing.assert_close(grads[name], p.grad, rtol=1e-9, atol=1e-12)


def _filled(x: torch.Tensor) -> torch.Tensor:
    z = x.new_zeros(x.shape) + torch.full_like(x, 0.5)
    return (x * torch.ones_like(x) + z).pow(2).sum()


def test_tensors_filled_like_another_are_constants() -> None:
    """ones_like, zeros_like, full_like and new_* take only a shape from their input: they were
    refused as outside the catalogue; they are constant leaves, and the gradient is torch's."""
    x = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    imported = import_function(_filled, {"x": x})
    constants = [n for n, node in imported.graph.nodes.items() if node.is_tensor and n != "x"]
    assert len(constants) == 3 and not any(imported.graph.nodes[n].requires_grad for n in constants)
    xs = x.clone().requires_grad_()
    _filled(xs).backward()
    torch.testing.assert_close(_graph_grads(imported)["x"], xs.grad, rtol=1e-12, atol=0.0)


def _strided(x: torch.Tensor) -> torch.Tensor:
    return (x[:, ::2] * x[1:, 1::3].sum()).tanh().sum() + x[::2].pow(2).sum()


def test_a_slice_with_a_step_imports_as_an_index_select_with_torchs_gradient() -> None:
    """x[:, ::2] was refused ("a slice with a step other than 1 is not in the catalogue")."""
    x = torch.randn(4, 7, dtype=torch.float64)
    imported = import_function(_strided, {"x": x})
    assert sum(n.op == "index_select" for n in imported.graph.nodes.values()) == 3
    xs = x.clone().requires_grad_()
    _strided(xs).backward()
    torch.testing.assert_close(_graph_grads(imported)["x"], xs.grad, rtol=1e-10, atol=1e-12)


def _cosine_logits(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return (F.normalize(x, dim=1) @ F.normalize(w, p=3.0, dim=0)).logsumexp(dim=1).mean()


def test_f_normalize_imports_as_torch_computes_it() -> None:
    """F.normalize (cosine similarities, embeddings) was refused as outside the catalogue."""
    x, w = torch.randn(4, 5, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    imported = import_function(_cosine_logits, {"x": x, "w": w})
    assert sum(n.op == "vector_norm" for n in imported.graph.nodes.values()) == 2
    xs, ws = x.clone().requires_grad_(), w.clone().requires_grad_()
    _cosine_logits(xs, ws).backward()
    grads = _graph_grads(imported)
    torch.testing.assert_close(grads["x"], xs.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grads["w"], ws.grad, rtol=1e-10, atol=1e-12)


def _tiled(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return (x.repeat(2, 1, 3) * w).tanh().sum() + x.repeat((3, 1)).pow(2).mean()


def test_repeat_imports_as_cats_of_copies_with_torchs_gradient() -> None:
    """x.repeat(...) (tiling) was refused as outside the catalogue."""
    x, w = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 2, 9, dtype=torch.float64)
    imported = import_function(_tiled, {"x": x, "w": w})
    assert any(n.op == "cat" for n in imported.graph.nodes.values())
    xs, ws = x.clone().requires_grad_(), w.clone().requires_grad_()
    _tiled(xs, ws).backward()
    grads = _graph_grads(imported)
    torch.testing.assert_close(grads["x"], xs.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grads["w"], ws.grad, rtol=1e-10, atol=1e-12)
