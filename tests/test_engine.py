"""The engine: targets, grad-outputs, accumulation, errors that name their nodes, devices, dtypes."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
import torch
from helpers import make_graph

from autograd_bridge.engine import Compiled
from graph.errors import (
    CycleError,
    DeviceError,
    GraphError,
    MissingInputError,
    ShapeError,
    TargetError,
    ValueSpecError,
)
from graph.fileformat import load
from graph.model import Graph, Node
from graph.ops import OPS, TENSOR


def leaf(node_id: str, value: object, requires_grad: bool = False, dtype: str = "float32") -> Node:
    return Node(id=node_id, op=TENSOR, value=value, requires_grad=requires_grad, dtype=dtype)


# ---- targets and grad-outputs ----

def test_non_scalar_target_without_grad_output(examples_dir: Path) -> None:
    compiled = Compiled(load(examples_dir / "03_vector_element.json"))
    with pytest.raises(TargetError) as info:
        compiled.run("y")
    assert str(info.value) == ("target y has shape [2]: select an element, reduce it, or give a grad-output "
                               "(the v of y.backward(gradient=v), shaped [2])")
    assert info.value.node_ids == ("y",)


def test_unknown_target() -> None:
    g = make_graph([leaf("x", 1.0, True), Node(id="n", op="neg")], [("x", "n", "input")])
    with pytest.raises(TargetError, match="no node 'nope'"):
        Compiled(g).run("nope")


X = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]]
W = [[0.2, -0.4], [0.5, 0.1], [-0.3, 0.7]]
GO = [[1.0, -2.0], [0.5, 3.0]]


def vjp_graph() -> Graph:
    return make_graph(
        [leaf("x", X, True), leaf("w", W, True), Node(id="xw", op="matmul"), Node(id="y", op="tanh")],
        [("x", "xw", "input"), ("w", "xw", "other"), ("xw", "y", "input")])


def test_grad_output_is_a_vector_jacobian_product() -> None:
    result = Compiled(vjp_graph()).run("y", grad_output=GO)

    x = torch.tensor(X, requires_grad=True)
    w = torch.tensor(W, requires_grad=True)
    xw = x @ w
    xw.retain_grad()
    y = torch.tanh(xw)
    y.retain_grad()
    y.backward(torch.tensor(GO))
    torch.testing.assert_close(result.grads["x"], x.grad)
    torch.testing.assert_close(result.grads["w"], w.grad)
    torch.testing.assert_close(result.grads["xw"], xw.grad)
    torch.testing.assert_close(result.grads["y"], torch.tensor(GO))
    # by the chain rule written out: d/dxw = GO * (1 - tanh²), d/dx = that @ wᵀ
    dxw = torch.tensor(GO) * (1 - torch.tanh(torch.tensor(X) @ torch.tensor(W)) ** 2)
    torch.testing.assert_close(result.grads["x"], dxw @ torch.tensor(W).T)


@pytest.mark.parametrize("bad", [[1.0, 2.0], [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], 1.0, [[1.0], [2.0]]])
def test_grad_output_of_the_wrong_shape_is_refused(bad: object) -> None:
    with pytest.raises(TargetError, match=r"grad-output has shape .* but target y has shape \[2, 2\]"):
        Compiled(vjp_graph()).run("y", grad_output=bad)


@pytest.mark.parametrize("bad", [[[1.0, "a"], [1.0, 2.0]], {"a": 1}, [[1.0, 2.0], [3.0]]])
def test_grad_output_that_is_not_numbers_is_refused(bad: object) -> None:
    with pytest.raises(TargetError, match="grad-output for y"):
        Compiled(vjp_graph()).run("y", grad_output=bad)


# ---- accumulate mode ----

def test_accumulate_adds_up_like_pytorch_and_clear_resets(examples_dir: Path) -> None:
    compiled = Compiled(load(examples_dir / "01_scalar_partial.json"))

    def torch_step(x: torch.Tensor) -> None:
        (2 * x**2 + 3 * torch.tensor(3.0)).backward()

    x = torch.tensor(2.0, requires_grad=True)
    torch_step(x)
    fresh = x.grad.clone()
    torch_step(x)
    torch_step(x)
    three = x.grad.clone()
    torch.testing.assert_close(three, 3 * fresh)

    assert compiled.run("y").grads["x"].item() == pytest.approx(fresh.item())
    runs = [compiled.run("y", accumulate=True) for _ in range(3)]
    torch.testing.assert_close(runs[-1].grads["x"], three)
    # each result keeps the value it had when it was made
    for i, r in enumerate(runs, start=1):
        torch.testing.assert_close(r.grads["x"], i * fresh)
    # a non-leaf's partial is fresh each run (a new tensor each forward), as in PyTorch
    torch.testing.assert_close(runs[-1].grads["x_sq"], torch.tensor(2.0))
    # fresh mode does not touch the accumulated .grad
    assert compiled.run("y").grads["x"].item() == pytest.approx(fresh.item())
    torch.testing.assert_close(compiled.run("y", accumulate=True).grads["x"], 4 * fresh)

    compiled.clear_grads()
    torch.testing.assert_close(compiled.run("y", accumulate=True).grads["x"], fresh)


# ---- errors that name their nodes ----

def test_shape_mismatch_names_the_node() -> None:
    g = make_graph([leaf("a", [[1.0] * 3] * 2), leaf("b", [[1.0] * 3] * 2, True), Node(id="mm", op="matmul")],
                   [("a", "mm", "input"), ("b", "mm", "other")])
    compiled = Compiled(g)  # compiling checks structure, not shapes
    for call in (compiled.infer_shapes, lambda: compiled.run("mm")):
        with pytest.raises(ShapeError) as info:
            call()
        assert str(info.value).startswith("mm: matmul of [2, 3] and [2, 3]")
        assert "mm" in info.value.node_ids
        assert {"a", "b"} <= set(info.value.node_ids)


def test_select_out_of_range_names_the_node() -> None:
    g = make_graph([leaf("x", [1.0, 2.0], True), Node(id="pick", op="select", attrs={"dim": 0, "index": 5})],
                   [("x", "pick", "input")])
    with pytest.raises(ShapeError) as info:
        Compiled(g).run("pick")
    assert str(info.value).startswith("pick: select of [2]")
    assert info.value.node_ids[0] == "pick"


def test_missing_input_names_the_node() -> None:
    g = make_graph([leaf("x", 1.0, True), Node(id="m", op="mul")], [("x", "m", "input")])
    with pytest.raises(MissingInputError) as info:
        Compiled(g)
    assert info.value.node_ids == ("m",)
    assert "m.other" in str(info.value)


def test_cycle_is_refused() -> None:
    g = make_graph([leaf("x", 1.0, True), Node(id="p", op="add"), Node(id="q", op="neg")],
                   [("x", "p", "input"), ("q", "p", "other"), ("p", "q", "input")])
    with pytest.raises(CycleError) as info:
        Compiled(g)
    assert set(info.value.node_ids) == {"p", "q"}
    assert "p" in str(info.value) and "q" in str(info.value)


# ---- no grad, NaN ----

def test_target_without_requires_grad_gives_none_and_a_note() -> None:
    g = make_graph([leaf("c", [1.0, 2.0]), leaf("x", 3.0, True), Node(id="s", op="sum"), Node(id="n", op="neg")],
                   [("c", "s", "input"), ("x", "n", "input")])
    compiled = Compiled(g)
    result = compiled.run("s")
    assert set(result.grads) == {"c", "x", "s", "n"}
    assert all(v is None for v in result.grads.values())
    assert any("s does not depend on any tensor with requires_grad" in n for n in result.notes)
    assert result.values["s"].item() == pytest.approx(3.0)
    assert result.no_grad_reason("c", compiled) == "requires_grad is off"
    # x requires grad, but n is not a function of anything s depends on
    assert compiled.run("n").grads["x"].item() == pytest.approx(-1.0)
    assert compiled.run("n").grads["c"] is None


def test_unused_requires_grad_leaf_is_none_with_a_reason() -> None:
    g = make_graph([leaf("x", 2.0, True), leaf("u", 5.0, True), Node(id="sq", op="pow", attrs={"exponent": 2}),
                    Node(id="nu", op="neg")],
                   [("x", "sq", "input"), ("u", "nu", "input")])
    compiled = Compiled(g)
    result = compiled.run("sq")
    assert result.grads["u"] is None and result.grads["nu"] is None
    assert result.no_grad_reason("u", compiled) == "sq does not depend on it"
    assert result.grads["x"].item() == pytest.approx(4.0)


def test_nan_from_log_of_a_negative_names_the_node() -> None:
    g = make_graph([leaf("x", -1.0, True), Node(id="lg", op="log"), Node(id="s", op="mul")],
                   [("x", "lg", "input"), ("lg", "s", "input"), ("x", "s", "other")])
    result = Compiled(g).run("s")
    assert torch.isnan(result.values["lg"])
    nan_notes = [n for n in result.notes if "NaN" in n]
    assert any(n.startswith("lg:") for n in nan_notes)
    # only where NaN first appears: s (NaN * finite) is not blamed
    assert not any(n.startswith("s:") for n in nan_notes)


@pytest.mark.parametrize("shape", [[3], [2, 3, 4], [100], [200, 200]])
def test_nan_dropped_by_a_later_select_is_still_named(shape: list[int]) -> None:
    """The batched check reads tensors as Python floats (tiny), stacked by shape, or alone
    (large): each way still finds the NaN of log(-1.5) that the select leaves out."""
    n = math.prod(shape)
    x = Node(id="x", op=TENSOR, init={"fn": "arange", "start": -1.5, "end": n - 1.5, "shape": shape},
             requires_grad=True)
    g = make_graph([x, Node(id="a", op="abs"), Node(id="b", op="neg"), Node(id="c", op="neg"),
                    Node(id="lg", op="log"), Node(id="sel", op="select", attrs={"dim": 0, "index": shape[0] - 1}),
                    Node(id="y", op="sum")],
                   [("x", "a", "input"), ("a", "b", "input"), ("b", "c", "input"), ("x", "lg", "input"),
                    ("lg", "sel", "input"), ("sel", "y", "input")])
    compiled = Compiled(g)
    for _ in range(2):  # the second run uses the plan the first made
        result = compiled.run("y")
        assert torch.isfinite(result.values["y"]) and torch.isfinite(result.grads["x"]).all()
        assert [n for n in result.notes if "NaN" in n] == ["lg: value has NaN/Inf (log of finite inputs)"]
    expected = torch.log(torch.arange(-1.5, n - 1.5).reshape(shape)).select(0, shape[0] - 1).sum()
    assert result.values["y"].item() == pytest.approx(expected.item())


def test_inf_partial_is_named_and_a_sum_that_overflows_is_no_alarm() -> None:
    big = 3e38  # finite in float32
    g = make_graph([leaf("x", [big, big], True), Node(id="n", op="neg"), Node(id="s", op="sum")],
                   [("x", "n", "input"), ("n", "s", "input")])
    result = Compiled(g).run("s")
    assert result.notes == ["s: value has NaN/Inf (sum of finite inputs)"]  # -6e38 is -inf in float32
    huge = 1e308  # float64: n holds two, whose sum (the batched check's) overflows a double
    g = make_graph([leaf("x", [huge, huge], True, dtype="float64"), Node(id="n", op="neg"),
                    Node(id="sel", op="select", attrs={"dim": 0, "index": 1})],
                   [("x", "n", "input"), ("n", "sel", "input")])
    result = Compiled(g).run("sel")
    assert result.notes == [] and result.values["sel"].item() == -huge  # a false alarm: nothing named
    result = Compiled(make_graph([leaf("x", 0.0, True), Node(id="r", op="sqrt")], [("x", "r", "input")])).run("r")
    assert result.notes == ["partials with NaN/Inf at: x"]  # d sqrt(x)/dx = inf at 0


# ---- devices and dtypes ----

@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu_is_a_device_error(examples_dir: Path) -> None:
    with pytest.raises(DeviceError, match="cuda"):
        Compiled(load(examples_dir / "02_matmul_vector.json"), "cuda")


def test_unknown_device_is_a_device_error(examples_dir: Path) -> None:
    with pytest.raises(DeviceError, match="unknown device"):
        Compiled(load(examples_dir / "02_matmul_vector.json"), "tpu")


@pytest.mark.parametrize("device", ["cpu:1", "cpu:7", "mps:1"])
def test_a_second_cpu_is_a_device_error(examples_dir: Path, device: str) -> None:
    with pytest.raises(DeviceError, match="not available"):  # torch itself would accept cpu:1 silently
        Compiled(load(examples_dir / "02_matmul_vector.json"), device)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(examples_dir: Path) -> None:
    graph = load(examples_dir / "02_matmul_vector.json")
    cpu = Compiled(graph, "cpu").run("y")
    gpu = Compiled(graph, "cuda").run("y")
    assert gpu.values["y"].device.type == "cuda"
    assert gpu.grads["x"].device.type == "cuda"
    for n in graph.nodes:
        torch.testing.assert_close(gpu.values[n].cpu(), cpu.values[n])  # (approx takes no nested lists)
        if cpu.grads[n] is None:
            assert gpu.grads[n] is None, n
        else:
            torch.testing.assert_close(gpu.grads[n].cpu(), cpu.grads[n])
    torch.testing.assert_close(gpu.grads["x"].cpu(), torch.tensor([14.0, 22.0]))


def test_float64_override(examples_dir: Path) -> None:
    graph = load(examples_dir / "02_matmul_vector.json")
    default = Compiled(graph).run("y")
    assert default.grads["x"].dtype == torch.float32
    result = Compiled(graph, "cpu", "float64").run("y")
    for n, v in result.values.items():
        assert v.dtype == torch.float64, n
    assert result.grads["x"].dtype == torch.float64
    assert result.grads["x_row"].dtype == torch.float64
    torch.testing.assert_close(result.grads["x"], torch.tensor([14.0, 22.0], dtype=torch.float64))


def test_per_node_dtype_is_kept_without_override() -> None:
    g = make_graph([leaf("x", [1.0, 2.0], True, dtype="float64"), Node(id="s", op="sum")],
                   [("x", "s", "input")])
    result = Compiled(g).run("s")
    assert result.grads["x"].dtype == torch.float64


def test_infer_shapes(examples_dir: Path) -> None:
    shapes = Compiled(load(examples_dir / "02_matmul_vector.json")).infer_shapes()
    assert shapes == {"x": (2,), "w": (2, 2), "a": (), "x_row": (1, 2), "xw": (1, 2), "a_xw": (1, 2), "y": ()}
    mlp = Compiled(load(examples_dir / "04_small_mlp.json")).infer_shapes()
    assert mlp["h_lin"] == (4, 4) and mlp["h"] == (4, 4) and mlp["out"] == (4, 1) and mlp["loss"] == ()
    g = make_graph([Node(id="r", op=TENSOR, init={"fn": "randn", "shape": [2, 3, 4], "seed": 1}),
                    Node(id="t", op="transpose", attrs={"dim0": 0, "dim1": 2}),
                    Node(id="m", op="mean", attrs={"dim": [1], "keepdim": True})],
                   [("r", "t", "input"), ("t", "m", "input")])
    assert Compiled(g).infer_shapes() == {"r": (2, 3, 4), "t": (4, 3, 2), "m": (4, 1, 2)}


def test_seeded_init_is_reproducible() -> None:
    g = make_graph([Node(id="r", op=TENSOR, init={"fn": "randn", "shape": [3], "seed": 7}, requires_grad=True),
                    Node(id="s", op="sum")], [("r", "s", "input")])
    a = Compiled(g).run("s")
    b = Compiled(g).run("s")
    expected = torch.randn(3, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(a.values["r"].detach(), expected)
    torch.testing.assert_close(b.values["r"].detach(), expected)
    torch.testing.assert_close(a.grads["r"], torch.ones(3))


def test_an_expand_of_a_scalar_to_a_new_minus_one_dimension_is_refused_on_its_node() -> None:
    """torch.tensor(1.).expand([0, -1]) makes a tensor of size -1 (torch checks nothing when
    there are no elements), which every later use refuses with a traceback. The engine names
    the node instead, and the rest of the graph is still computed."""
    from helpers import make_graph

    from autograd_bridge.compute import ComputeSession
    from graph.errors import ShapeError

    g = make_graph([Node("x", "tensor", value=1.0, requires_grad=True), Node("e", "expand", attrs={"size": [0, -1]}),
                    Node("t", "sum"), Node("y", "mul")],
                   [("x", "e", "input"), ("e", "t", "input"), ("x", "y", "input"), ("x", "y", "other")])
    compiled = Compiled(g)
    for call in (compiled.infer_shapes, lambda: compiled.run("t"), lambda: compiled.run("y"), compiled.forward):
        with pytest.raises(ShapeError, match=r"^e: expand to \[0, -1\]: -1 keeps the size") as caught:
            call()
        assert list(caught.value.node_ids) == ["e"]
    result = ComputeSession().compute(g.snapshot(), "y", 1)
    assert "e" in result.error_nodes and "e: expand to [0, -1]" in result.error
    assert result.nodes["y"].value.item() == 1.0 and result.nodes["x"].grad.item() == 2.0


@pytest.mark.parametrize(("shape", "size"), [((), [-1]), ((), [2, -1]), ((3,), [-1, 3]), ((2, 1), [-1, 2, 4])])
def test_an_expand_with_minus_one_for_a_new_dimension_says_so(shape: tuple, size: list) -> None:
    """torch's own word for expanding a 0-d tensor to [-1] is 'numel: integer multiplication
    overflow'; for [3] to [-1, 3] it names 'a leading, non-existing dimension'. The run and the
    shape pass both say what the -1 means, naming the node and its input's shape."""
    from helpers import make_graph

    with pytest.raises(RuntimeError):  # torch refuses it too
        torch.zeros(shape).expand(size)
    g = make_graph([Node("x", "tensor", init={"fn": "zeros", "shape": list(shape)}, requires_grad=True),
                    Node("e", "expand", attrs={"size": size}), Node("t", "sum")],
                   [("x", "e", "input"), ("e", "t", "input")])
    compiled = Compiled(g)
    for call in (compiled.infer_shapes, lambda: compiled.run("t")):
        with pytest.raises(GraphError, match=rf"^e: expand of {re.escape(str(list(shape)))}: "
                                             rf"size {re.escape(str(size))}: -1 keeps the size of a dimension "
                                             r"the input has; a new leading dimension needs its own size$"):
            call()


def _minimums() -> list[tuple[str, str]]:
    return [(name, a.name) for name, spec in OPS.items() for a in spec.attrs if a.minimum is not None]


@pytest.mark.parametrize(("op", "attr_name"), _minimums())
def test_an_attribute_below_torchs_least_value_is_refused_with_the_file_naming_its_node(op: str,
                                                                                   attr_name: str) -> None:
    """A conv's stride of 0 or a group_norm's num_groups of 0 reached torch's own Python shape
    code, which divides by it (a ZeroDivisionError). Such values are now refused when the node
    is checked. The test asks torch that each refused value is one torch refuses too, in the
    forward or the backward (adaptive_avg_pool2d makes an output of size 0 its backward refuses),
    and that the least value is one it takes (where the example's other attributes allow)."""
    spec = OPS[op]
    attr = spec.attr(attr_name)
    fn = eval(spec.function, {"torch": torch})  # noqa: S307 - a dotted name from the catalogue
    inputs = {p: torch.randn(spec.example_shapes[p], requires_grad=True)
              for p in spec.inputs if p in spec.example_shapes}
    example = spec.call_attrs(dict(spec.example_attrs))
    given = spec.resolved_attrs(dict(spec.example_attrs))  # required ones too
    one = attr.kind in ("int", "number")  # one value, not a list of them
    width = 0 if one else len(example.get(attr_name) or attr.default or [1, 1])
    as_value = (lambda v: v) if one else (lambda v: [v] * width)
    below = as_value(attr.minimum - 1)
    with pytest.raises(Exception):  # noqa: B017, PT011 - torch raises RuntimeError or ZeroDivisionError
        fn(**inputs, **{**example, attr_name: below}).sum().backward()
    with pytest.raises(ValueSpecError, match=rf"^bad: .*'{attr_name}' must be at least {attr.minimum}, not "
                                              rf"{attr.minimum - 1}$") as caught:
        Node("bad", op, attrs={**given, attr_name: below}).check()
    assert list(caught.value.node_ids) == ["bad"]
    Node("ok", op, attrs={**given, attr_name: as_value(attr.minimum)}).check()


def test_a_zero_stride_leaves_the_rest_of_the_graph_computed() -> None:
    from helpers import make_graph

    from autograd_bridge.compute import ComputeSession

    leaves = {"input": [1, 1, 4, 4], "weight": [1, 1, 3, 3]}
    nodes = [Node(port, "tensor", init={"fn": "ones", "shape": shape}, requires_grad=True)
             for port, shape in leaves.items()]
    g = make_graph([*nodes, Node("bad", "conv2d", attrs={"stride": [0, 0]}), Node("s", "sum"),
                    Node("w2", "mul")],
                   [*((port, "bad", port) for port in leaves), ("bad", "s", "input"),
                    ("weight", "w2", "input"), ("weight", "w2", "other")])
    result = ComputeSession().compute(g.snapshot(), None, 1)
    assert "bad" in result.error_nodes and "must be at least 1" in result.error
    assert torch.equal(torch.as_tensor(result.nodes["w2"].value), torch.ones(1, 1, 3, 3))


def test_an_expand_to_billions_is_bounded_as_such_so_no_shape_pass_runs_it_on_the_cpu() -> None:
    """_work_bound took an op's output to be at most its inputs' product: expand [1] to
    [2³¹, 2³¹] then made infer_shapes sum 4.6e18 elements on the CPU (check hung). Its sizes
    count now, and the export, which runs the graph, is held to the memory limit first."""
    from helpers import make_graph

    from autograd_bridge.budget import OverBudget
    from autograd_bridge.engine import CPU_SHAPE_WORK
    from autograd_bridge.export import export_text

    g = make_graph([Node("x", "tensor", value=[1.0], requires_grad=True),
                    Node("e", "expand", attrs={"size": [2**31, 2**31]}), Node("s", "sum")],
                   [("x", "e", "input"), ("e", "s", "input")])
    compiled = Compiled(g)
    assert compiled._work_bound() > CPU_SHAPE_WORK  # noqa: SLF001 - the bound itself is the point
    assert compiled.infer_shapes()["e"] == (2**31, 2**31)  # from the meta device, at once
    with pytest.raises(OverBudget):
        export_text(g, "s")


def test_a_failure_in_the_meta_kernels_own_python_gives_way_to_torchs_real_message() -> None:
    """cat of a 0-d tensor and an empty one: on the CPU torch says what is wrong; its meta
    kernel fails in its own Python ("list assignment index out of range"). The run, and the
    shape pass `check` uses, give torch's real message."""
    from helpers import make_graph

    from graph.errors import GraphError

    g = make_graph([Node("a", "tensor", value=1.0), Node("b", "tensor", value=[]),
                    Node("c", "cat", attrs={"num_inputs": 2})],
                   [("a", "c", "tensors.0"), ("b", "c", "tensors.1")])
    for call in (lambda: Compiled(g).run("c"), lambda: Compiled(g).infer_shapes()):
        with pytest.raises(GraphError, match=r"^c: cat of \[\] and \[0\]: zero-dimensional tensor"):
            call()
