"""float32 values written into the document (autograd_bridge.literals: after a Step, after an
import) are the shortest decimals that read back as the same float32, bit for bit: 1.2, not
1.1999999284744263. The expected decimals are written by hand or taken from numpy's own text of
the float32 (str(np.float32(v))), never from the code under test."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_training import _mlp_by_hand
from torch import nn

from autograd_bridge.compute import ComputeSession
from autograd_bridge.fx_import import import_module
from autograd_bridge.literals import literal_of
from autograd_bridge.training import Trainer
from graph.fileformat import load, save

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"

# float32 values and the decimal each is written as, by hand (numpy prints the same).
BY_HAND = [
    (1.2, "1.2"), (0.1, "0.1"), (-0.3, "-0.3"), (1 / 3, "0.33333334"), (-2.5, "-2.5"),
    (0.0, "0.0"), (-0.0, "-0.0"), (16777217.0, "16777216.0"), (3.4028235e38, "3.4028235e+38"),
    (1.1754944e-38, "1.1754944e-38"),  # the smallest normal float32
    (1e-45, "1e-45"), (1e-40, "1e-40"),  # subnormals
    (1e-14, "1e-14"), (1e21, "1e+21"), (2.0 ** -12, "0.00024414062"), (4194304.0, "4194304.0"),
    (1.88671875, "1.8867188"), (-0.259765625, "-0.25976562"),  # halfway: numpy's even last digit
    (float("inf"), "inf"), (float("-inf"), "-inf"),
]


def _bits(values: object) -> np.ndarray:
    return np.asarray(values, dtype=np.float32).view(np.uint32)


def _numpy_text(values: np.ndarray) -> list[float]:
    """The double nearest numpy's shortest text of each float32: what the document should hold."""
    return [float(str(v)) for v in values.reshape(-1)]


@pytest.mark.parametrize("padding", [0, 5000])  # a few entries one way, many the vectorised way
def test_hand_written_decimals_in_small_and_large_tensors(padding: int) -> None:
    values = torch.tensor([v for v, _ in BY_HAND], dtype=torch.float32)
    filler = torch.randn(padding, generator=torch.Generator().manual_seed(0))
    got = literal_of(torch.cat([filler, values, filler]))
    mine = got[padding:padding + len(BY_HAND)]
    assert [repr(v) for v in mine] == [text for _, text in BY_HAND]
    assert (_bits(got) == _bits(torch.cat([filler, values, filler]).numpy())).all()  # -0.0 too
    assert got[:padding] == _numpy_text(filler.numpy())
    assert literal_of(torch.tensor(float("nan"))) != literal_of(torch.tensor(float("nan")))  # nan


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=400))
def test_any_float32_reads_back_bit_for_bit_as_numpys_shortest_text(bits: list[int]) -> None:
    x = np.array(bits, dtype=np.uint32).view(np.float32)
    x = x[~np.isnan(x)]
    got = literal_of(torch.from_numpy(x.copy()))
    assert (_bits(got) == x.view(np.uint32)).all()
    assert got == _numpy_text(x)


def test_many_random_float32_values_match_numpy() -> None:
    rng = np.random.default_rng(3)
    any_bits = rng.integers(0, 2**32, 100_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    weights = rng.standard_normal(100_000).astype(np.float32) * 0.02
    x = np.concatenate([any_bits[np.isfinite(any_bits)][:70_000], weights[:70_000]]).reshape(-1, 7)
    got = literal_of(torch.from_numpy(x))
    assert len(got) == 20_000 and len(got[0]) == 7  # the tensor's shape, as nested lists
    assert (_bits(got) == x.view(np.uint32)).all()
    assert [v for row in got for v in row] == _numpy_text(x)


def test_other_dtypes_keep_their_exact_values() -> None:
    double = torch.tensor([0.1, 1.1999999284744263, -0.0], dtype=torch.float64)
    assert literal_of(double) == [0.1, 1.1999999284744263, -0.0]
    assert literal_of(torch.tensor([3, -4])) == [3, -4]
    assert literal_of(torch.tensor([True, False])) == [True, False]
    assert literal_of(torch.tensor(1.2)) == 1.2 and isinstance(literal_of(torch.tensor(1.2)), float)


def test_a_step_writes_the_short_decimal_torch_prints() -> None:
    g = load(EXAMPLES / "01_scalar_partial.json")
    got = Trainer().steps(ComputeSession(), None, g, 1, "cpu", None, "y", "SGD", 0.1, 1)
    x = torch.tensor(2.0, requires_grad=True)  # the example by hand: y = 2 x**2 + 3 z, dy/dx = 4x
    (2 * x ** 2 + 3 * torch.tensor(3.0)).backward()
    torch.optim.SGD([x], lr=0.1).step()
    assert got.values["x"] == 1.2  # not 1.2000000476837158, float32(1.2) as a double
    assert _bits(got.values["x"]) == _bits(x.item())


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_steps_on_the_mlp_write_numpys_decimals_of_torchs_values(kind: str) -> None:
    g = load(EXAMPLES / "04_small_mlp.json")
    got = Trainer().steps(ComputeSession(), None, g, 1, "cpu", None, "loss", kind, 0.05, 3)
    params, loss = _mlp_by_hand()
    opt = getattr(torch.optim, kind)(list(params.values()), lr=0.05)
    for _ in range(3):
        opt.zero_grad()
        loss(params).backward()
        opt.step()
    for n, p in params.items():
        want = p.detach().numpy()
        assert (_bits(got.values[n]) == want.view(np.uint32)).all(), n
        assert np.ravel(got.values[n]).tolist() == _numpy_text(want), n
    # Written back into the graph, they compute what torch's own tensors compute.
    for n, v in got.values.items():
        g.replace_node(dataclasses.replace(g.nodes[n], value=v))
    again = Trainer().steps(ComputeSession(), None, g, 2, "cpu", None, "loss", "SGD", 0.05, 1)
    assert again.losses == [loss(params).item()]


class _Constants(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(40, 30)
        self.scale = nn.Parameter(torch.tensor([1.2, 0.1, -0.0, 2.5]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.fc(x).sum(dim=1)[:4] * self.scale).sum()


def test_an_imported_model_holds_numpys_decimals_of_its_parameters(tmp_path: Path) -> None:
    model = _Constants()
    x = torch.randn(5, 40)
    imported = import_module(model, (x,))
    nodes = {node.label: node for node in imported.graph.nodes.values() if node.is_tensor}
    assert nodes["scale"].value == [1.2, 0.1, -0.0, 2.5]  # by hand
    assert repr(nodes["scale"].value[2]) == "-0.0"
    for name, p in [("fc.weight", model.fc.weight), ("fc.bias", model.fc.bias), ("x", x)]:
        want = p.detach().numpy()
        assert (_bits(nodes[name].value) == want.view(np.uint32)).all(), name
        assert np.ravel(nodes[name].value).tolist() == _numpy_text(want), name
    # Saved, the file holds the short decimals, and loads back to the same float32 tensors.
    path = tmp_path / "model.json"
    save(imported.graph, path)
    text = path.read_text()
    assert "[1.2, 0.1, -0.0, 2.5]" in text and "1.2000000476837158" not in text
    loaded = {node.label: node for node in load(path).nodes.values() if node.is_tensor}
    assert (_bits(loaded["fc.weight"].value) == model.fc.weight.detach().numpy().view(np.uint32)).all()
