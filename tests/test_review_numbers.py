"""A review of the numbers path: gradcheck of a target that is a view of its leaf, check refusing
what grad refuses (torch refusing on a real device what its meta device computes; the file's own
index values), a split's dim out of range, 0-element leaves in the calculus, a backward error
naming its node, and why torch gives a node upstream of the target no partial. Expected numbers
come from torch here, never from GradCanvas's own output."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import make_graph
from test_cli import assert_one_line_error, run_main
from test_node_messages import check_and_grad

from autograd_bridge import engine
from autograd_bridge.calculus import gradcheck, hessian, hessian_diagonals, jacobian
from autograd_bridge.engine import Compiled
from graph.errors import GraphError
from graph.fileformat import save
from graph.model import Node
from graph.ops import OPS, TENSOR, OpSpec


def one_op(value: object, op: str, attrs: dict | None = None, *, dtype: str = "float32", port: str = "input",
           requires_grad: bool | None = None, total: bool = False):  # noqa: ANN202 - a Graph
    """x (a literal) into op node y (and its sum, total, if asked)."""
    grad = dtype.startswith("float") if requires_grad is None else requires_grad
    nodes = [Node("x", TENSOR, value=value, dtype=dtype, requires_grad=grad), Node("y", op, attrs=attrs or {})]
    edges = [("x", "y", port)]
    if total:
        nodes.append(Node("total", "sum"))
        edges.append(("y", "total", "input"))
    return make_graph(nodes, edges)


# ---- 1. gradcheck of a target that is (a view of) a requires-grad leaf ----

@pytest.mark.parametrize(("value", "op", "attrs"), [
    (2.0, None, None),  # the leaf itself is the target
    ([1.0, 2.0, 3.0], "select", {"dim": 0, "index": 1}),
    ([[5.0]], "reshape", {"shape": []}),
    ([[5.0]], "squeeze", {}),
    (5.0, "transpose", {"dim0": 0, "dim1": -1}),
    (5.0, "permute", {"dims": []}),
    (5.0, "flatten", {}),
    (5.0, "unsqueeze", {"dim": 0}),
    ([4.0], "dropout", {"training": False}),
])
def test_gradcheck_passes_a_target_that_is_a_view_of_its_leaf(value: object, op: str | None,
                                                              attrs: dict | None) -> None:
    if op is None:
        g = make_graph([Node("y", TENSOR, value=value, requires_grad=True)], [])
    else:
        g = one_op(value, op, attrs)
    report = gradcheck(Compiled(g), "y")
    assert report.passed, report
    assert all(c.max_abs_error < 1e-8 for c in report.leaves)


class _WrongSelect(torch.autograd.Function):
    """x[1], a view of x, whose backward is wrong on purpose: 2·grad at index 1, not grad."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        ctx.shape = x.shape
        return x.select(0, 1)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        out = grad.new_zeros(ctx.shape)
        out[1] = 2 * grad
        return out


class _RefusingBackward(torch.autograd.Function):
    """The identity, whose backward raises as torch's own do for an input they cannot take."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        return x.clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        raise RuntimeError("refused_backward(): this backward takes no input")


@pytest.fixture
def test_ops(monkeypatch: pytest.MonkeyPatch) -> None:
    """Test-only catalogue entries, reached as attributes of torch (what the generated code sees)."""
    for name, fn in (("wrong_select", _WrongSelect.apply), ("refused_backward", _RefusingBackward.apply)):
        monkeypatch.setattr(torch, f"_gradcanvas_test_{name}", fn, raising=False)
        monkeypatch.setitem(OPS, name, OpSpec(name, f"torch._gradcanvas_test_{name}", ("input",),
                                              "elementwise", name, "a test-only op", example_shapes={"input": (3,)}))


def test_gradcheck_still_fails_a_wrong_gradient_of_a_view(test_ops) -> None:  # noqa: ANN001
    report = gradcheck(Compiled(one_op([1.0, 2.0, 3.0], "wrong_select")), "y")
    assert not report.passed and report.failed == ["x"]
    # autograd says 2 at index 1, finite differences the truth, 1
    assert report.leaves[0].max_abs_error == pytest.approx(1.0, rel=1e-6)
    assert report.leaves[0].max_rel_error == pytest.approx(1.0, rel=1e-6)


# ---- 3. split and chunk with a dim out of range ----

@pytest.mark.parametrize(("op", "attrs", "port"), [
    ("chunk", {"chunks": 2, "dim": 2, "index": 0}, "input"),
    ("split", {"split_size_or_sections": [1, 1], "dim": 2, "index": 0}, "tensor"),
    ("split", {"split_size_or_sections": [1, 1], "dim": -3, "index": 1}, "tensor"),
])
@pytest.mark.parametrize("on", ["cpu", "meta"])
def test_split_and_chunk_with_a_dim_out_of_range(op: str, attrs: dict, port: str, on: str, tmp_path, capsys,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    if on == "meta":
        monkeypatch.setattr(engine, "CPU_SHAPE_WORK", -1)
    g = one_op([[1.0, 2.0], [3.0, 4.0]], op, attrs, port=port, total=True)
    check_and_grad(tmp_path, capsys, g, f"y: {op} of [2, 2]: dim {attrs['dim']} is out of range (expected -2 to 1)")


# ---- 4. a requires-grad leaf of 0 elements ----

def empty_leaf_graph():  # noqa: ANN201 - a Graph
    """s = sum(cat(x, e)), e a requires-grad leaf of 0 elements."""
    return make_graph([Node("x", TENSOR, value=[1.0, 2.0], requires_grad=True),
                       Node("e", TENSOR, value=[], requires_grad=True),
                       Node("c", "cat", attrs={"num_inputs": 2}), Node("s", "sum")],
                      [("x", "c", "tensors.0"), ("e", "c", "tensors.1"), ("c", "s", "input")])


def test_second_derivatives_of_an_empty_leaf_are_empty() -> None:
    compiled = Compiled(empty_leaf_graph())
    diagonals = hessian_diagonals(compiled, "s")
    assert diagonals["e"].shape == (0,) and diagonals["x"].tolist() == [0.0, 0.0]
    assert hessian(compiled, "s", "e").shape == (0, 0)
    assert hessian(compiled, "s", "c").shape == (2, 2)


def test_gradcheck_with_an_empty_leaf_checks_the_rest() -> None:
    report = gradcheck(Compiled(empty_leaf_graph()), "s")
    assert report.passed and [c.leaf for c in report.leaves] == ["x", "e"]
    assert report.leaves[1].shape == (0,) and report.leaves[1].max_abs_error == 0.0


def test_jacobian_of_a_loss_over_empty_tensors_is_empty() -> None:
    g = make_graph([Node("a", TENSOR, value=[], requires_grad=True), Node("b", TENSOR, value=[]),
                    Node("l", "mse_loss")], [("a", "l", "input"), ("b", "l", "target")])
    jac = jacobian(Compiled(g), "l", "a")
    assert jac.matrix.shape == (0,) and math.isnan(jac.value.item())  # torch: the mean of nothing
    assert torch.isnan(torch.nn.functional.mse_loss(torch.ones(0), torch.ones(0)))


def test_a_failing_backward_in_the_calculus_names_what_was_computed(test_ops) -> None:  # noqa: ANN001
    g = make_graph([Node("x", TENSOR, value=[1.0, 2.0], requires_grad=True), Node("r", "refused_backward"),
                    Node("s", "sum")], [("x", "r", "input"), ("r", "s", "input")])
    compiled = Compiled(g)
    for compute, what, ids in ((lambda: jacobian(compiled, "s", "x"), "Jacobian ∂s/∂x", ("s", "x")),
                               (lambda: hessian(compiled, "s", "x"), "Hessian ∂²s/∂x²", ("s", "x")),
                               (lambda: hessian_diagonals(compiled, "s"), "Hessian diagonals ∂²s/∂x² of x", ("s", "x")),
                               (lambda: gradcheck(compiled, "s"), "Jacobian ∂s/∂x", ("s", "x"))):
        with pytest.raises(GraphError) as caught:
            compute()
        assert caught.value.node_ids == ids
        assert caught.value.message.startswith(f"{what}: ") and "this backward takes no input" in caught.value.message


@pytest.mark.parametrize(("command", "expected"), [
    (["grad", "--order", "2"], "e  [0]"),
    (["hessian", "--wrt", "e"], "[0, 0]"),
    (["gradcheck"], "e "),
])
def test_calculus_commands_take_an_empty_leaf(command: list[str], expected: str, tmp_path, capsys) -> None:  # noqa: ANN001
    path = tmp_path / "g.json"
    save(empty_leaf_graph(), path)
    code, out, err = run_main(capsys, command[0], str(path), *command[1:])
    assert code == 0 and err == "" and expected in out, (out, err)


# ---- 6. adaptive_avg_pool2d to nothing; a backward error names its node ----

def test_adaptive_avg_pool2d_to_zero_size_is_refused_with_the_file(tmp_path, capsys) -> None:  # noqa: ANN001
    x = torch.rand(1, 2, 3, 3, requires_grad=True)
    y = torch.nn.functional.adaptive_avg_pool2d(x, [0, 0])  # torch's forward takes it …
    with pytest.raises(RuntimeError):  # … its backward does not
        y.sum().backward()
    g = one_op(x.tolist(), "adaptive_avg_pool2d", {"output_size": [0, 0]}, total=True)
    with pytest.raises(GraphError) as caught:
        g.validate()
    assert caught.value.node_ids == ("y",) and "'output_size' must be at least 1" in caught.value.message


@pytest.mark.parametrize("grad_output", [None, [1.0, 1.0]])
def test_a_failing_backward_names_its_node(test_ops, grad_output: object, tmp_path, capsys) -> None:  # noqa: ANN001
    g = make_graph([Node("x", TENSOR, value=[1.0, 2.0], requires_grad=True), Node("r", "refused_backward"),
                    Node("e", "exp"), Node("s", "sum")],
                   [("x", "r", "input"), ("r", "e", "input"), ("e", "s", "input")])
    compiled = Compiled(g)
    for target, v in (("s", None), ("e", grad_output)):
        if target == "e" and v is None:
            continue
        with pytest.raises(GraphError) as caught:
            compiled.run(target, v)
        assert caught.value.node_ids == ("r", "x")
        assert caught.value.message == ("r: refused_backward of [2]: its backward failed: "
                                        "refused_backward(): this backward takes no input")
    with pytest.raises(GraphError) as caught:
        compiled.run("s", accumulate=True)
    assert caught.value.node_ids == ("r", "x")
    path = tmp_path / "g.json"
    save(g, path)
    assert_one_line_error(*run_main(capsys, "grad", str(path)), "r: refused_backward of [2]: its backward failed")


# ---- 7. why torch gives no partial to a node upstream of the target ----

def test_a_node_upstream_that_torch_gives_no_partial_is_said_so() -> None:
    g = one_op([1.0, 0.0, 3.0], "vector_norm", {"ord": 0})
    compiled = Compiled(g)
    result = compiled.run("y")
    x = torch.tensor([1.0, 0.0, 3.0], requires_grad=True)
    (torch_grad,) = torch.autograd.grad(torch.linalg.vector_norm(x, ord=0), [x], allow_unused=True)
    assert result.grads["x"] is None and torch_grad is None
    reason = result.no_grad_reason("x", compiled)
    assert "does not depend" not in reason and "backward" in reason and "y" in reason


def where_graph(other: str):  # noqa: ANN201 - a Graph
    """s = sum(where(x > 0, a, other)); u requires grad and feeds nothing."""
    return make_graph([Node("x", TENSOR, value=[1.0, -2.0], requires_grad=True), Node("z", TENSOR, value=0.0),
                       Node("a", TENSOR, value=[5.0, 6.0], requires_grad=True), Node("b", TENSOR, value=[7.0, 8.0]),
                       Node("u", TENSOR, value=1.0, requires_grad=True),
                       Node("m", "gt"), Node("w", "where"), Node("s", "sum")],
                      [("x", "m", "input"), ("z", "m", "other"), ("m", "w", "condition"), ("a", "w", "input"),
                       (other, "w", "other"), ("w", "s", "input")])


def test_a_node_upstream_only_through_a_comparison_is_said_so() -> None:
    compiled = Compiled(where_graph("b"))
    result = compiled.run("s")
    assert result.grads["x"] is None
    assert result.no_grad_reason("x", compiled) == "s depends on it only through m (gt), which gives no gradient"
    assert result.no_grad_reason("u", compiled) == "s does not depend on it"
    assert result.no_grad_reason("m", compiled) == "a bool result: no gradient"
    one = Compiled(make_graph([Node("x", TENSOR, value=1.0, requires_grad=True), Node("z", TENSOR, value=0.0),
                               Node("m", "gt")], [("x", "m", "input"), ("z", "m", "other")]))
    assert one.run("m").no_grad_reason("x", one) == "m (gt) gives no gradient"  # the target is the comparison
    # x also fed straight into where: its partial is torch's
    through_other = Compiled(where_graph("x")).run("s")
    x = torch.tensor([1.0, -2.0], requires_grad=True)
    torch.where(x > 0, torch.tensor([5.0, 6.0]), x).sum().backward()
    assert through_other.grads["x"].tolist() == x.grad.tolist()


# ---- 2. check refuses what grad refuses: ops torch runs on meta but refuses on a real device ----

BIG = 1e300  # beyond float32


@pytest.mark.parametrize(("value", "dtype", "op", "attrs"), [
    ([1, 2], "int64", "softmax", {"dim": 0}),
    ([1, 2], "int64", "log_softmax", {"dim": 0}),
    ([1, 2], "int64", "gelu", {}),
    ([1, 2], "int64", "silu", {}),
    ([1, 2], "int64", "var", {}),
    ([1, 2], "int64", "std", {}),
    ([True, False], "bool", "abs", {}),
    ([2, 3], "int64", "pow", {"exponent": -1}),
    ([1.0, 2.0], "float32", "batch_norm", {"training": True}),
    ([[1.0, 2.0]], "float32", "logsumexp", {"dim": []}),
    ([[], []], "float32", "max", {"dim": 1}),
    ([[], []], "float32", "min", {"dim": 1}),
    ([1.0, 2.0], "float32", "clamp", {"min": -BIG}),
    ([1.0, 2.0], "float32", "clamp", {"max": BIG}),
    ([1.0, 2.0], "float32", "leaky_relu", {"negative_slope": BIG}),
    ([1.0, 2.0], "float32", "elu", {"alpha": BIG}),
    ([1.0, 2.0], "float32", "softplus", {"beta": BIG}),
    ([1.0, 2.0], "float32", "softplus", {"threshold": BIG}),
    ([1.0, 2.0], "float32", "hardtanh", {"max_val": BIG}),
])
def test_check_refuses_what_torch_refuses_on_a_real_device(value: object, dtype: str, op: str, attrs: dict,
                                                           tmp_path, capsys) -> None:  # noqa: ANN001
    g = one_op(value, op, attrs, dtype=dtype, total=True)
    check_and_grad(tmp_path, capsys, g, f"y: {op} of ")


@pytest.mark.parametrize(("op", "attr", "length"), [
    ("conv1d", "stride", 2), ("conv1d", "padding", 2), ("conv1d", "dilation", 3),
    ("conv2d", "stride", 3), ("conv2d", "padding", 3), ("conv2d", "dilation", 3),
])
def test_check_refuses_a_conv_attribute_of_the_wrong_length(op: str, attr: str, length: int, tmp_path,
                                                            capsys) -> None:  # noqa: ANN001
    spatial = 1 if op == "conv1d" else 2
    x = torch.ones((1, 1) + (4,) * spatial).tolist()
    w = torch.ones((1, 1) + (2,) * spatial).tolist()
    g = make_graph([Node("x", TENSOR, value=x, requires_grad=True), Node("w", TENSOR, value=w),
                    Node("c", op, attrs={attr: [1] * length}), Node("s", "sum")],
                   [("x", "c", "input"), ("w", "c", "weight"), ("c", "s", "input")])
    check_and_grad(tmp_path, capsys, g, f"c: {op} of ", attr)


def test_check_refuses_a_two_d_index_for_index_select(tmp_path, capsys) -> None:  # noqa: ANN001
    g = make_graph([Node("x", TENSOR, value=[1.0, 2.0], requires_grad=True),
                    Node("i", TENSOR, value=[[0]], dtype="int64"), Node("y", "index_select", attrs={"dim": 0}),
                    Node("s", "sum")],
                   [("x", "y", "input"), ("i", "y", "index"), ("y", "s", "input")])
    check_and_grad(tmp_path, capsys, g, "y: index_select of [2] and [1, 1]")


def test_check_still_ok_where_only_the_cpu_cannot_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The meta device's shapes stand where the shape pass on the CPU fails but a forward of the
    real leaves, as grad runs it, does not (here: a CPU kernel refusing what the device runs)."""
    g = one_op([1.0, -2.0], "abs", total=True)
    compiled = Compiled(g)
    real_abs = torch.abs

    def abs_refusing_the_empty_cpu_leaves(t: torch.Tensor) -> torch.Tensor:
        if t.device.type == "cpu" and not torch.is_grad_enabled():
            raise RuntimeError('"abs_cpu" not implemented here')
        return real_abs(t)

    monkeypatch.setattr(torch, "abs", abs_refusing_the_empty_cpu_leaves)
    assert compiled.infer_shapes() == {"x": (2,), "y": (2,), "total": ()}
    assert compiled.run("total").grads["x"].tolist() == [1.0, -1.0]


# ---- 5. check uses the file's own index values ----

@pytest.mark.parametrize(("op", "attrs", "inputs", "needle"), [
    ("cross_entropy", {}, {"input": [[0.1, 0.2], [0.3, 0.4]], "target": [0, 2]}, "Target 2 is out of bounds"),
    ("nll_loss", {}, {"input": [[-0.1, -0.2], [-0.3, -0.4]], "target": [1, -5]}, "out of bounds"),
    ("gather", {"dim": 1}, {"input": [[1.0, 2.0]], "index": [[0, 7]]}, "index 7 is out of bounds"),
    ("index_select", {"dim": 0}, {"input": [1.0, 2.0], "index": [3]}, "out of range"),
    ("embedding", {}, {"weight": [[1.0], [2.0]], "input": [0, 2]}, "index out of range"),
])
def test_check_finds_an_index_out_of_range_in_the_file(op: str, attrs: dict, inputs: dict, needle: str, tmp_path,
                                                       capsys) -> None:  # noqa: ANN001
    floats = ("input", "weight") if op != "embedding" else ("weight",)
    nodes = [Node(port, TENSOR, value=v, dtype="float32" if port in floats else "int64", requires_grad=port in floats)
             for port, v in inputs.items()]
    g = make_graph([*nodes, Node("y", op, attrs=attrs), Node("s", "sum")],
                   [*((port, "y", port) for port in inputs), ("y", "s", "input")])
    with pytest.raises(GraphError) as caught:
        Compiled(g).infer_shapes()
    assert caught.value.node_ids[0] == "y" and needle in caught.value.message
    check_and_grad(tmp_path, capsys, g, f"y: {op} of ", needle)


def test_check_still_takes_good_indices_from_the_file() -> None:
    g = make_graph([Node("w", TENSOR, value=[[1.0], [2.0], [3.0]], requires_grad=True),
                    Node("i", TENSOR, value=[2, 2, 0], dtype="int64"), Node("y", "embedding"), Node("s", "sum")],
                   [("i", "y", "input"), ("w", "y", "weight"), ("y", "s", "input")])
    compiled = Compiled(g)
    assert compiled.infer_shapes()["y"] == (3, 1)
    assert compiled.run("s").grads["w"].tolist() == [[1.0], [0.0], [2.0]]
