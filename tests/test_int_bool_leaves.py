"""int64 and bool leaves (issue 11): literal and init values, never requiring grad (refused as
torch refuses it, naming the node), kept by a dtype override (--dtype, the toolbar) as
module.double() keeps them, and carried through formatting, the NaN/Inf check, the compute
result, files and export."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_bridge.compute import ComputeSession
from autograd_bridge.engine import Compiled
from autograd_bridge.export import export_script
from autograd_bridge.finite import all_finite
from autograd_bridge.formatting import tensor_text
from graph.errors import FileFormatError, ValueSpecError
from graph.fileformat import dumps, loads
from graph.inits import INITS
from graph.model import Edge, Graph, Node
from graph.ops import DTYPES, FLOAT_DTYPES, TENSOR, leaf_dtype


def mixed_graph(int_dtype_value: object = None) -> Graph:
    """x (float32, requires grad) * k (int64), summed; a bool mask and a randint leaf beside."""
    g = Graph()
    g.add_node(Node("x", TENSOR, value=[[1.5, -2.0], [3.0, 0.25]], requires_grad=True))
    g.add_node(Node("k", TENSOR, value=int_dtype_value or [[2, -1], [0, 7]], dtype="int64"))
    g.add_node(Node("m", TENSOR, value=[[True, False], [False, True]], dtype="bool"))
    g.add_node(Node("r", TENSOR, init={"fn": "randint", "high": 9, "low": -3, "shape": [2, 3], "seed": 4},
                    dtype="int64"))
    g.add_node(Node("y", "mul"))
    g.add_node(Node("s", "sum"))
    g.add_edge(Edge("x", "y", "input"))
    g.add_edge(Edge("k", "y", "other"))
    g.add_edge(Edge("y", "s", "input"))
    return g


# ---- requires_grad: refused as torch refuses it ----

@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_requires_grad_on_an_int_or_bool_leaf_is_refused_naming_the_node(dtype: str) -> None:
    value = [1, 2] if dtype == "int64" else [True, False]
    with pytest.raises(ValueSpecError) as info:
        Node("idx", TENSOR, value=value, dtype=dtype, requires_grad=True).check()
    assert info.value.message == f"idx: only floating point tensors can require gradients: idx is {dtype}"
    assert list(info.value.node_ids) == ["idx"] and info.value.field == "requires_grad"
    with pytest.raises(RuntimeError, match="Only Tensors of floating point"):  # as torch refuses it
        torch.tensor(value, dtype=getattr(torch, dtype), requires_grad=True)


def test_a_file_asking_for_grad_on_an_int64_leaf_is_refused_in_one_line() -> None:
    text = json.dumps({"format": "gradcanvas", "version": 1, "nodes": [
        {"id": "classes", "op": "tensor", "value": [0, 2], "dtype": "int64", "requires_grad": True}],
        "edges": []})
    with pytest.raises(FileFormatError) as info:
        loads(text)
    assert info.value.message == ("node classes: field 'requires_grad': only floating point tensors "
                                  "can require gradients: classes is int64")


@pytest.mark.parametrize(("dtype", "value", "reason"), [
    ("int64", [1, 2.5], "an int64 tensor holds only integers"),
    ("int64", [True], "an int64 tensor holds only integers"),
    ("int64", [2**63], "an int64 tensor holds only integers within ±2**63"),
    ("bool", [1, 0], "a bool tensor holds only true and false"),
    ("float32", [True], "not true"),  # JSON's word, not Python's type
    ("float32", [None], "not null"),
    ("float32", [{"a": 1}], "not an object"),
    ("float32", ["1"], "not the string '1'"),
])
def test_values_must_fit_the_dtype(dtype: str, value: list, reason: str) -> None:
    with pytest.raises(ValueSpecError, match=re.escape(reason)):
        Node("v", TENSOR, value=value, dtype=dtype).check()


def test_int64_holds_its_whole_range_exactly() -> None:
    g = Graph()
    big = [2**63 - 1, -(2**63), 2**53 + 1]
    g.add_node(Node("k", TENSOR, value=big, dtype="int64"))
    (k,) = Compiled(g).make_leaves()
    assert k.dtype == torch.int64 and k.tolist() == big


@pytest.mark.parametrize(("fn", "dtype", "ok"), [
    ("zeros", "bool", True), ("ones", "int64", True), ("eye", "bool", True), ("arange", "int64", True),
    ("full", "int64", True), ("randint", "int64", True), ("randn", "int64", False),
    ("rand", "bool", False), ("linspace", "int64", False), ("full", "bool", False),
])
def test_inits_make_the_dtypes_they_can(fn: str, dtype: str, ok: bool) -> None:
    init = {"fn": fn, **INITS[fn].default((2, 3))}
    if fn == "full":
        init["fill_value"] = 4
    node = Node("t", TENSOR, init=init, dtype=dtype)
    if not ok:
        with pytest.raises(ValueSpecError, match=f"init '{fn}' cannot make a {dtype} tensor; for {dtype} use"):
            node.check()
        return
    node.check()
    g = Graph()
    g.add_node(node)
    (t,) = Compiled(g).make_leaves()
    assert t.dtype == getattr(torch, dtype) and tuple(t.shape) == node.leaf_shape()


def test_an_int64_init_takes_integer_numbers_only() -> None:
    with pytest.raises(ValueSpecError, match="'fill_value' of an int64 tensor must be an integer, not 0.5"):
        Node("t", TENSOR, init={"fn": "full", "shape": [2], "fill_value": 0.5}, dtype="int64").check()
    with pytest.raises(ValueSpecError, match="'step' of an int64 tensor must be an integer"):
        Node("t", TENSOR, init={"fn": "arange", "end": 4, "step": 0.5}, dtype="int64").check()
    with pytest.raises(ValueSpecError, match="needs low < high"):
        Node("t", TENSOR, init={"fn": "randint", "high": 2, "low": 2, "shape": [2]}, dtype="int64").check()


def test_randint_draws_as_torch_does_from_its_seed() -> None:
    g = mixed_graph()
    r = Compiled(g).make_leaves()[3]
    expected = torch.randint(-3, 9, (2, 3), generator=torch.Generator().manual_seed(4), dtype=torch.int64)
    assert torch.equal(r, expected)


# ---- a dtype override converts floating leaves only ----

def test_leaf_dtype_converts_floating_leaves_only() -> None:
    assert [leaf_dtype(d, "float64") for d in DTYPES] == ["float64", "float64", "int64", "bool"]
    assert [leaf_dtype(d, None) for d in DTYPES] == list(DTYPES)
    assert FLOAT_DTYPES == ("float32", "float64")


@pytest.mark.parametrize("override", [None, "float32", "float64"])
def test_a_dtype_override_leaves_int64_and_bool_leaves_alone(override: str | None) -> None:
    g = mixed_graph()
    compiled = Compiled(g, "cpu", override)
    result = compiled.run("s")
    # The same computation in torch, as module.to(dtype) would leave it: floats converted only.
    fdt = getattr(torch, override or "float32")
    x = torch.tensor([[1.5, -2.0], [3.0, 0.25]], dtype=fdt, requires_grad=True)
    k = torch.tensor([[2, -1], [0, 7]], dtype=torch.int64)
    s = torch.sum(torch.mul(x, k))
    s.backward()
    v = result.values
    assert (v["x"].dtype, v["k"].dtype, v["m"].dtype, v["r"].dtype) == (fdt, torch.int64, torch.bool, torch.int64)
    assert torch.equal(v["k"], k) and v["m"].tolist() == [[True, False], [False, True]]
    assert v["s"].dtype == fdt and torch.equal(v["s"], s.detach())
    assert torch.equal(result.grads["x"], x.grad)
    assert result.grads["k"] is None and result.no_grad_reason("k", compiled) == "int64: no gradient"
    assert result.no_grad_reason("x", compiled) is None


def test_cli_dtype_converts_floats_only_and_offers_no_int_dtype(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "mixed.json"
    path.write_text(dumps(mixed_graph()), encoding="utf-8")
    cli = [sys.executable, "-m", "gradcanvas"]
    out = subprocess.run([*cli, "grad", str(path), "--target", "s", "--dtype", "float64", "--json"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["value"] == 1.5 * 2 + 2.0 + 0.25 * 7 and doc["grads"]["k"] is None
    assert doc["grads"]["x"] == [[2.0, -1.0], [0.0, 7.0]]
    bad = subprocess.run([*cli, "grad", str(path), "--dtype", "int64"], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2 and "invalid choice: 'int64'" in bad.stderr


# ---- formatting, the NaN/Inf check, the compute result ----

def test_int_and_bool_tensors_are_written_exactly() -> None:
    assert tensor_text(torch.tensor([[2**40 + 1, -3]])) == "[[1099511627777, -3]]"
    assert tensor_text(torch.tensor([True, False])) == "[True, False]"
    assert tensor_text(torch.arange(100)) == "[100] norm 573"  # √(Σ i²), i < 100
    assert tensor_text(torch.ones(400, dtype=torch.bool)) == "[400] norm 20"


def test_ints_and_bools_are_always_finite() -> None:
    plans: dict = {}
    tensors = [torch.full((40000,), 2**62), torch.ones(3, dtype=torch.bool), torch.arange(20),
               torch.zeros(50, dtype=torch.int64), torch.tensor(1.0)]
    assert all_finite(tensors, plans, "k")  # 40000 · 2**62 overflows int64: never summed
    assert not all_finite([*tensors, torch.tensor([float("nan")])], plans, "k")


def test_the_compute_result_shows_int_and_bool_leaves() -> None:
    g = mixed_graph()
    g.add_node(Node("big", TENSOR, init={"fn": "arange", "end": 600, "shape": [20, 30]}, dtype="int64"))
    result = ComputeSession().compute(g, "s", 1)
    assert result.error is None, result.error
    k, m, big = result.nodes["k"], result.nodes["m"], result.nodes["big"]
    assert k.value_text == "[[2, -1], [0, 7]]" and k.grad_text is None
    assert k.no_grad_reason == "int64: no gradient"
    assert k.value.tolist() == [[2.0, -1.0], [0.0, 7.0]]  # float64 copies for the plots
    assert m.value.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert big.value_preview is not None and big.value_text.startswith("[20, 30] norm")


# ---- files and export ----

@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=80),
       st.lists(st.booleans(), min_size=1, max_size=80))
def test_files_with_int64_and_bool_leaves_round_trip(ints: list[int], bools: list[bool]) -> None:
    g = Graph()
    g.add_node(Node("k", TENSOR, value=ints, dtype="int64"), pos=(0.0, 0.0))
    g.add_node(Node("m", TENSOR, value=bools, dtype="bool"))
    g.add_node(Node("e", TENSOR, init={"fn": "eye", "shape": [2]}, dtype="bool"))
    again = loads(dumps(g))
    assert again == g
    assert [n.dtype for n in again.nodes.values()] == ["int64", "bool", "bool"]
    leaves = Compiled(again, "cpu", "float64").make_leaves()  # the big ones come as data
    assert leaves[0].tolist() == ints and leaves[1].tolist() == bools


def test_export_prints_the_numbers_the_app_computes(tmp_path) -> None:  # noqa: ANN001
    g = mixed_graph(int_dtype_value=[[2, -1], [0, 2**40]])
    g.add_node(Node("many", TENSOR, value=list(range(-50, 50)), dtype="int64"))  # passed as data
    g.add_node(Node("mask", TENSOR, value=[i % 3 == 0 for i in range(100)], dtype="bool"))
    g.add_node(Node("w", "mul"))
    g.add_node(Node("fl", TENSOR, value=[0.5] * 100, requires_grad=True, dtype="float64"))
    g.add_node(Node("t", "sum"))
    g.add_edge(Edge("fl", "w", "input"))
    g.add_edge(Edge("many", "w", "other"))
    g.add_edge(Edge("w", "t", "input"))
    script = export_script(g, "t", dtype="float32")
    assert "dtype=torch.int64" in script and "dtype=torch.bool" in script
    path = tmp_path / "export.py"
    path.write_text(script, encoding="utf-8")
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result = Compiled(g, "cpu", "float32").run("t")
    printed = {line.split(" =", 1)[0]: line.split("= ", 1)[1] for line in out.stdout.splitlines()
               if " =" in line and not line.startswith(" ")}
    assert printed["t"] == str(result.values["t"].detach())
    assert printed["k.grad"] == "None" and printed["mask.grad"] == "None"
    assert result.values["many"].dtype == torch.int64 and result.values["fl"].dtype == torch.float32
    assert torch.equal(result.grads["fl"], torch.arange(-50, 50, dtype=torch.float32))


def test_the_window_renders_an_int64_leaf_in_the_inspector(tmp_path) -> None:  # noqa: ANN001
    """`gradcanvas render --target k` puts the int64 leaf k in the inspector (its heatmap, its
    dtype, no partial); the bool mask is drawn as a heatmap on the canvas."""
    path, png = tmp_path / "mixed.json", tmp_path / "mixed.png"
    path.write_text(dumps(mixed_graph()), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "gradcanvas", "render", str(path), "--target", "k", "-o", str(png)],
                         capture_output=True, text=True, timeout=120,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
