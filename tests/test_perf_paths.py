"""The fast paths of issue 8 keep their answers: a value edit reuses the compiled forward and
gives the numbers a fresh compile (and independent torch) gives; a structural edit compiles
anew; the result types import without torch."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from autograd_bridge import engine
from autograd_bridge.compute import ComputeSession
from graph.fileformat import load
from graph.model import Edge, Graph, Node

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "resources" / "examples"


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times Compiled was built (one entry per compile)."""
    made: list[int] = []
    real = engine.Compiled.__init__

    def counted(self, *args, **kwargs) -> None:  # noqa: ANN001, ANN002, ANN003
        made.append(1)
        real(self, *args, **kwargs)

    monkeypatch.setattr(engine.Compiled, "__init__", counted)
    return made


def _edited(g: Graph, node_id: str, **changes: object) -> Graph:
    """A snapshot with one node replaced, as the GUI's edits make it."""
    new = g.snapshot()
    new.replace_node(dataclasses.replace(new.nodes[node_id], **changes))
    return new


def _example_01(x: float, z: float) -> tuple[float, float, float]:
    """y = 2*x**2 + 3*z by hand: (y, dy/dx, dy/dz)."""
    xt = torch.tensor(x, requires_grad=True)
    zt = torch.tensor(z, requires_grad=True)
    y = 2 * xt**2 + 3 * zt
    y.backward()
    return y.item(), xt.grad.item(), zt.grad.item()


def test_a_value_edit_gives_new_numbers_without_a_compile(compiles: list[int]) -> None:
    session = ComputeSession()
    g = load(EXAMPLES / "01_scalar_partial.json")
    first = session.compute(g.snapshot(), "y", 1)
    assert len(compiles) == 1 and first.nodes["y"].value_text == "17"
    g = _edited(g, "x", value=-1.5)
    second = session.compute(g, "y", 2)
    assert len(compiles) == 1  # the same compiled forward, fed the new leaf
    y, dx, _dz = _example_01(-1.5, 3.0)
    assert second.revision == 2 and second.error is None
    assert second.nodes["y"].value.item() == y and second.nodes["x"].grad.item() == dx
    g = _edited(g, "z", value=0.25, requires_grad=True)  # requires_grad: structural
    third = session.compute(g, "y", 3)
    assert len(compiles) == 2
    assert third.nodes["z"].grad.item() == _example_01(-1.5, 0.25)[2] == 3.0
    g = _edited(g, "z", value=-4.0, label="zed")  # a value and a label: no compile
    fourth = session.compute(g, "y", 4)
    assert len(compiles) == 2
    assert fourth.nodes["y"].value.item() == _example_01(-1.5, -4.0)[0]
    # The same numbers as a fresh session, which compiles them in as literals.
    fresh = ComputeSession().compute(g, "y", 5)
    for n in g.nodes:
        assert fresh.nodes[n].value_text == fourth.nodes[n].value_text, n
        assert fresh.nodes[n].grad_text == fourth.nodes[n].grad_text, n


def test_an_init_edit_and_the_slice_plot_use_the_new_values(compiles: list[int]) -> None:
    g = Graph()
    g.add_node(Node("w", "tensor", init={"fn": "randn", "shape": [3], "seed": 1}, requires_grad=True))
    g.add_node(Node("a", "tensor", value=2.0, requires_grad=True))
    g.add_node(Node("m", "mul"))
    g.add_node(Node("s", "sum"))
    for e in (Edge("w", "m", "input"), Edge("a", "m", "other"), Edge("m", "s", "input")):
        g.add_edge(e)
    session = ComputeSession()
    session.compute(g.snapshot(), "s", 1)
    g = _edited(g, "w", init={"fn": "randn", "shape": [3], "seed": 2})
    g = _edited(g, "a", value=0.5)
    result = session.compute(g, "s", 2)
    assert len(compiles) == 1
    w = torch.randn(3, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(torch.from_numpy(result.nodes["w"].value).float(), w)
    assert result.nodes["s"].value.item() == pytest.approx((w * 0.5).sum().item())
    assert result.nodes["a"].grad.item() == pytest.approx(w.sum().item())
    s = session.compute_slice(g, "s", "a", 2)
    assert len(compiles) == 1 and s.x0 == 0.5 and s.slope == pytest.approx(w.sum().item())
    assert s.ys[0] == pytest.approx(s.xs[0] * w.sum().item(), rel=1e-5)  # the new w, not seed 1's


@pytest.mark.parametrize("edit", [
    "op attribute", "edge", "leaf shape", "leaf dtype", "literal to init", "dtype override", "new node"])
def test_a_structural_edit_compiles_anew(edit: str, compiles: list[int]) -> None:
    g = load(EXAMPLES / "01_scalar_partial.json")
    session = ComputeSession()
    session.compute(g.snapshot(), "y", 1)
    dtype = None
    if edit == "op attribute":
        g = _edited(g, "x_sq", attrs={"exponent": 3})
    elif edit == "edge":
        g = g.snapshot()
        g.remove_edge(Edge("x_sq", "two_x_sq", "other"))
        g.add_edge(Edge("x", "two_x_sq", "other"))
    elif edit == "leaf shape":
        g = _edited(g, "z", value=[3.0, 1.0])
    elif edit == "leaf dtype":
        g = _edited(g, "z", dtype="float64")
    elif edit == "literal to init":
        g = _edited(g, "z", value=None, init={"fn": "ones", "shape": []})
    elif edit == "dtype override":
        dtype = "float64"
    else:
        g = g.snapshot()
        g.add_node(Node("loose", "neg"))
    result = session.compute(g, "y", 2, dtype=dtype)
    assert len(compiles) == 2, edit
    fresh = ComputeSession().compute(g, "y", 3, dtype=dtype)
    assert result.error == fresh.error
    assert {n: (v.value_text, v.grad_text) for n, v in result.nodes.items()} == {
        n: (v.value_text, v.grad_text) for n, v in fresh.nodes.items()}


def test_a_bad_value_in_a_snapshot_is_compiled_anew_and_named(compiles: list[int]) -> None:
    g = load(EXAMPLES / "01_scalar_partial.json")
    session = ComputeSession()
    session.compute(g.snapshot(), "y", 1)
    bad = _edited(g, "z", value=1e39)  # beyond float32: refused, on its node
    result = session.compute(bad, "y", 2)
    assert len(compiles) >= 2 and "z" in result.error_nodes and "float32" in result.error
    assert result.nodes["x"].value_text == "2"  # the rest still computed
    fixed = session.compute(_edited(g, "z", value=1.0), "y", 3)
    assert fixed.error is None and fixed.nodes["y"].value_text == "11"


def test_a_value_edit_beside_a_half_wired_node_reuses_the_compile(compiles: list[int]) -> None:
    g = load(EXAMPLES / "01_scalar_partial.json")
    g.add_node(Node("loose", "add"))
    g.add_edge(Edge("x", "loose", "input"))
    session = ComputeSession()
    first = session.compute(g.snapshot(), "y", 1)
    assert "loose" in first.error_nodes
    second = session.compute(_edited(g, "x", value=1.0), "y", 2)
    assert len(compiles) == 1
    assert second.nodes["y"].value_text == "11" and "loose" in second.error_nodes


def test_the_result_types_import_without_torch() -> None:
    """What the GUI thread may import before torch is loaded (it loads torch in the worker)."""
    code = ("import sys\n"
            "from autograd_bridge.compute import (ComputeResult, ComputeSession, NodeView, NO_TARGET,\n"
            "    PREVIEW_SIDE, SliceResult, available_devices)\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\n"
            "ComputeResult(1, None); SliceResult(1, 't', 'x', [], [], 0.0, 0.0, 0.0)\n"
            "assert 'torch' not in sys.modules\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


# ---- the NaN/Inf check leaves out what OpSpec.keeps_finite vouches for: hold the ops to it ----

def _extremes(dtype: str) -> list[float]:
    big = 3.4028234663852886e38 if dtype == "float32" else 1.7976931348623157e308
    tiny = 1e-45 if dtype == "float32" else 5e-324
    return [big, -big, tiny, -tiny, 0.0, 1.0, -1.0, 88.8, -88.8, 1e20, -1e20, 710.0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(n for n, spec in __import__("graph.ops").ops.OPS.items() if spec.keeps_finite))
def test_ops_that_keep_finite_values_do_so_at_the_extremes(name: str, dtype: str) -> None:
    """Finite inputs give finite outputs, and a finite partial of the output (here the largest
    numbers the dtype holds) gives a finite partial of the input, never larger than it."""
    from autograd_bridge.engine import Compiled
    from graph.ops import OPS

    spec = OPS[name]
    values = _extremes(dtype)
    x = [values[i * 3:(i + 1) * 3] for i in range(4)]  # 4 x 3
    g = Graph()
    g.add_node(Node("x", "tensor", value=x, requires_grad=True, dtype=dtype))
    g.add_node(Node("y", name, attrs={**{a.name: a.default for a in spec.attrs if a.required}, **spec.example_attrs}))
    g.add_edge(Edge("x", "y", "input"))
    compiled = Compiled(g)
    shape = compiled.infer_shapes()["y"]
    big = _extremes(dtype)[0]
    result = compiled.run("y", grad_output=torch.full(shape, -big, dtype=torch.float64).tolist())
    y, dx = result.values["y"], result.grads["x"]
    assert torch.isfinite(y).all(), (name, y)
    assert torch.isfinite(dx).all() and dx.abs().max() <= big, (name, dx)
    assert not [n for n in result.notes if "NaN" in n]


# ---- the same on a GPU (run for real wherever CUDA is available) ----

@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("example", ["01_scalar_partial", "02_matmul_vector", "03_vector_element", "04_small_mlp"])
def test_cuda_runs_give_the_cpu_numbers_notes_and_texts(example: str) -> None:
    from autograd_bridge.engine import Compiled
    from autograd_bridge.formatting import tensor_texts

    g = load(EXAMPLES / f"{example}.json")
    target = {"03_vector_element": "y1", "04_small_mlp": "loss"}.get(example, "y")
    cpu, gpu = Compiled(g, "cpu").run(target), Compiled(g, "cuda").run(target)
    assert gpu.notes == cpu.notes
    for n in g.nodes:
        assert gpu.values[n].device.type == "cuda"
        torch.testing.assert_close(gpu.values[n].cpu(), cpu.values[n])
        assert (gpu.grads[n] is None) == (cpu.grads[n] is None), n
        if cpu.grads[n] is not None:
            torch.testing.assert_close(gpu.grads[n].cpu(), cpu.grads[n])
    assert tensor_texts(list(gpu.values.values())) == tensor_texts(list(cpu.values.values()))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("shape", [[3], [100], [200, 200]])
def test_cuda_names_the_nan_a_select_drops(shape: list[int]) -> None:
    """The batched check on the GPU (stacks, sums alone, one read back) still finds it."""
    import math

    from autograd_bridge.engine import Compiled

    n = math.prod(shape)
    g = Graph()
    g.add_node(Node("x", "tensor", init={"fn": "arange", "start": -1.5, "end": n - 1.5, "shape": shape},
                    requires_grad=True))
    for node_id, op, attrs in [("a", "mul", {}), ("b", "add", {}), ("lg", "log", {}),
                               ("sel", "select", {"dim": 0, "index": shape[0] - 1}), ("y", "sum", {})]:
        g.add_node(Node(node_id, op, attrs=attrs))
    for e in [("x", "a", "input"), ("x", "a", "other"), ("a", "b", "input"), ("x", "b", "other"), ("x", "lg", "input"),
              ("lg", "sel", "input"), ("sel", "y", "input")]:
        g.add_edge(Edge(*e))
    for _ in range(2):
        result = Compiled(g, "cuda").run("y")
        assert [m for m in result.notes if "NaN" in m] == ["lg: value has NaN/Inf (log of finite inputs)"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_value_edit_reuses_the_compile(compiles: list[int]) -> None:
    session = ComputeSession()
    g = load(EXAMPLES / "01_scalar_partial.json")
    session.compute(g.snapshot(), "y", 1, device="cuda")
    result = session.compute(_edited(g, "x", value=-1.5), "y", 2, device="cuda")
    assert len(compiles) == 1 and result.error is None and result.device == "cuda"
    y, dx, _dz = _example_01(-1.5, 3.0)
    assert result.nodes["y"].value.item() == y and result.nodes["x"].grad.item() == dx


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_inits_that_are_always_finite_are_so_at_their_extremes(dtype: str) -> None:
    """The NaN/Inf check leaves out leaves whose init vouches for finite values (InitSpec.always_finite)."""
    from autograd_bridge.engine import Compiled
    from graph.inits import INITS, default_init

    big = _extremes(dtype)[0]
    specs = [default_init(fn, (3, 4)) for fn, spec in INITS.items() if spec.always_finite and dtype in spec.dtypes]
    specs += [{"fn": "full", "shape": [3, 4], "fill_value": v} for v in (big, -big)]
    specs += [{"fn": fn, "shape": [2000], "seed": 2**63 - 1} for fn in ("randn", "rand")]
    assert {s["fn"] for s in specs} >= {"zeros", "ones", "full", "randn", "rand", "eye"}
    for init in specs:
        g = Graph()
        g.add_node(Node("x", "tensor", init=init, dtype=dtype))
        (x,) = Compiled(g).make_leaves()
        assert torch.isfinite(x).all(), init


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(n for n, spec in __import__("graph.ops").ops.OPS.items() if spec.partial_bound))
def test_ops_that_bound_their_inputs_partials_do_so_at_the_extremes(name: str, dtype: str) -> None:
    """Each input's partial is the output's partial (the dtype's largest numbers) moved or
    scaled by at most 1: finite, and never larger (add and sub with inputs of the output's shape)."""
    from autograd_bridge.engine import Compiled
    from graph.ops import OPS

    spec = OPS[name]
    values = _extremes(dtype)
    g = Graph()
    for port in spec.inputs:
        g.add_node(Node(port, "tensor", value=[values[i * 3:(i + 1) * 3] for i in range(4)], requires_grad=True,
                        dtype=dtype))
    g.add_node(Node("y", name, attrs={**{a.name: a.default for a in spec.attrs if a.required}, **spec.example_attrs}))
    for port in spec.inputs:
        g.add_edge(Edge(port, "y", port))
    compiled = Compiled(g)
    shape = compiled.infer_shapes()["y"]
    big = values[0]
    result = compiled.run("y", grad_output=torch.full(shape, -big, dtype=torch.float64).tolist())
    for port in spec.inputs:
        d = result.grads[port]
        assert torch.isfinite(d).all() and d.abs().max() <= big, (name, port, d)
