"""Jacobians and Hessians where torch's backward passes a node no gradient at run time (the
backward of vector_norm with ord 0 gives None for its input), which no look at the edges can
tell: grad's table says None, so jacobian and hessian refuse in its words instead of printing
torch.func's zeros. A result that is truly zero (a linear target's Hessian, relu below its kink)
is still given, checked against torch.func written here."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import make_graph
from test_cli import run_main

from autograd_bridge.calculus import gradcheck, hessian, jacobian
from autograd_bridge.engine import Compiled
from graph.errors import TargetError
from graph.fileformat import save
from graph.model import Node
from graph.ops import TENSOR

X = [1.0, 0.0, 2.0]


def norm0_graph(x: list[float] = X):  # noqa: ANN201 - a Graph
    """n = vector_norm(m, ord=0), m = x * w: x a leaf, m an intermediate, both requiring grad."""
    return make_graph([Node("x", TENSOR, value=x, requires_grad=True), Node("w", TENSOR, value=[3.0, 3.0, 3.0]),
                       Node("m", "mul"), Node("n", "vector_norm", attrs={"ord": 0})],
                      [("x", "m", "input"), ("w", "m", "other"), ("m", "n", "input")])


@pytest.mark.parametrize("wrt", ["x", "m"])  # torch.func's path (a leaf); backward passes (an intermediate)
@pytest.mark.parametrize("derivative", [jacobian, hessian])
def test_no_gradient_at_run_time_is_refused_in_grads_words(wrt: str, derivative) -> None:  # noqa: ANN001
    x = torch.tensor(X, requires_grad=True)
    (by_torch,) = torch.autograd.grad(torch.linalg.vector_norm(x * 3.0, ord=0), [x], allow_unused=True)
    assert by_torch is None  # what the app must not show as zeros
    compiled = Compiled(norm0_graph())
    why = compiled.run("n").no_grad_reason(wrt, compiled)
    assert why is not None and "backward passes it no gradient" in why
    with pytest.raises(TargetError) as raised:
        derivative(compiled, "n", wrt)
    assert raised.value.message == f"{wrt}: {why}, so autograd gives no ∂n/∂{wrt}"
    assert raised.value.node_ids == ("n", wrt)


def test_the_commands_refuse_it_in_one_line(tmp_path, capsys) -> None:  # noqa: ANN001
    path = tmp_path / "norm0.json"
    save(norm0_graph(), path)
    for command in ("jacobian", "hessian"):
        code, out, err = run_main(capsys, command, str(path), "--target", "n", "--wrt", "x")
        assert code == 1 and out == "" and err.count("\n") == 1, err
        assert err.startswith("error: x: torch's backward passes it no gradient on the way from n"), err


def test_zeros_that_are_true_are_still_given() -> None:
    """All-zero results where autograd does give a gradient: the refusal must not catch them."""
    values = [-1.0, -2.0, 0.5]
    linear = make_graph([Node("x", TENSOR, value=values, requires_grad=True), Node("w", TENSOR, value=[2.0, 3.0, 4.0]),
                         Node("m", "mul"), Node("s", "sum")],
                        [("x", "m", "input"), ("w", "m", "other"), ("m", "s", "input")])
    w = torch.tensor([2.0, 3.0, 4.0])
    expected = torch.func.hessian(lambda x: (x * w).sum())(torch.tensor(values))
    assert not expected.any()
    assert torch.equal(hessian(Compiled(linear), "s", "x"), expected)
    assert torch.equal(hessian(Compiled(linear), "s", "m"), expected)  # double backward: g does not need m

    below = make_graph([Node("x", TENSOR, value=[-1.0, -2.0], requires_grad=True), Node("r", "relu")],
                       [("x", "r", "input")])
    expected = torch.func.jacrev(torch.relu)(torch.tensor([-1.0, -2.0]))
    assert not expected.any()
    assert torch.equal(jacobian(Compiled(below), "r", "x").matrix, expected)


def test_gradcheck_does_not_call_a_leaf_without_a_gradient_ok() -> None:
    """autograd's zeros for x agree with the zeros of central differences away from 0, but grad
    says None: gradcheck said `x ok`, as if a gradient had been checked."""
    graph = norm0_graph([1.0, -2.0, 2.0])  # no element at 0, where the count of nonzeros jumps
    compiled = Compiled(graph)
    why = compiled.run("n").no_grad_reason("x", compiled)
    with pytest.raises(TargetError) as raised:  # x is n's only leaf requiring grad
        gradcheck(compiled, "n")
    assert raised.value.message == f"x: {why}: gradcheck has no gradient to check"
    assert raised.value.node_ids == ("n", "x")
    both = make_graph([*graph.nodes.values(), Node("a", TENSOR, value=[0.5, 1.5, 2.5], requires_grad=True),
                       Node("p", "mul"), Node("s", "sum"), Node("t", "add")],
                      [("x", "m", "input"), ("w", "m", "other"), ("m", "n", "input"), ("a", "p", "input"),
                       ("a", "p", "other"), ("p", "s", "input"), ("s", "t", "input"), ("n", "t", "other")])
    compiled = Compiled(both)
    report = gradcheck(compiled, "t")  # t = n + sum(a²): a is checked, x is not, in grad's words
    assert [c.leaf for c in report.leaves] == ["a"] and report.passed
    assert report.no_gradient == {"x": compiled.run("t").no_grad_reason("x", compiled)}


@pytest.mark.parametrize(("op", "attrs", "by_hand"), [
    ("abs_sum", {}, lambda x: x.abs().sum()),
    ("vector_norm", {"ord": 1}, lambda x: torch.linalg.vector_norm(x, ord=1)),
    ("l1_loss", {}, lambda x: torch.nn.functional.l1_loss(x, torch.tensor([0.0, 2.5, 1.0], dtype=x.dtype))),
])
def test_a_hessian_torch_func_gives_as_a_broadcast_view_prints(op: str, attrs: dict, by_hand, tmp_path,  # noqa: ANN001
                                                                capsys) -> None:  # noqa: ANN001
    """torch.func's Hessian of abs, l1_loss and vector_norm of ord 1 is a stride-0 view of zeros:
    tolist() raised 'unallocated storage' (a traceback, and half a JSON line on stdout)."""
    x = Node("x", TENSOR, value=[1.0, 2.0, 3.0], requires_grad=True)
    if op == "abs_sum":
        g = make_graph([x, Node("a", "abs"), Node("y", "sum")], [("x", "a", "input"), ("a", "y", "input")])
    elif op == "l1_loss":
        g = make_graph([x, Node("t", TENSOR, value=[0.0, 2.5, 1.0]), Node("y", "l1_loss")],
                       [("x", "y", "input"), ("t", "y", "target")])
    else:
        g = make_graph([x, Node("y", op, attrs=attrs)], [("x", "y", "input")])
    expected = torch.func.hessian(by_hand)(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    path = tmp_path / "g.json"
    save(g, path)
    code, out, err = run_main(capsys, "hessian", str(path), "--wrt", "x", "--json")
    assert code == 0 and err == "", err
    assert json.loads(out)["hessian"] == expected.tolist()
    code, out, err = run_main(capsys, "hessian", str(path), "--wrt", "x")
    assert code == 0 and err == "" and out.count("\n") == 5, out  # heading, column names, 3 rows


def test_differentiate_again_leaves_out_what_x_feeds_and_says_none_where_torch_gives_none() -> None:
    """s = vector_norm(x, ord 0) + sum(tanh(y)²). Differentiated again on y: ∂(∂s/∂y)/∂x is None
    (x's first partial is None at run time; it showed zeros), and the nodes computed from y (its
    tanh, the square, s) are left out: ∂g/∂h there depends on what torch's backward saved (tanh
    reuses its output), not a second derivative."""
    from autograd_bridge.calculus_tasks import Asked, differentiate_again
    from autograd_bridge.cancel import CancelToken
    from autograd_bridge.compute import ComputeSession

    g = make_graph([Node("x", TENSOR, value=[1.0, -2.0, 2.0], requires_grad=True), Node("n", "vector_norm",
                    attrs={"ord": 0}), Node("y", TENSOR, value=[0.5, -1.0], requires_grad=True), Node("h", "tanh"),
                    Node("q", "square"), Node("t", "sum"), Node("s", "add")],
                   [("x", "n", "input"), ("y", "h", "input"), ("h", "q", "input"), ("q", "t", "input"),
                    ("n", "s", "input"), ("t", "s", "other")])
    out = differentiate_again(ComputeSession(), CancelToken(), g, Asked(1, "s"), "y")
    assert out.error is None
    compiled = Compiled(g)
    assert set(out.partials) == {"y", "n"} and out.no_gradient == {"x": compiled.run("s").no_grad_reason("x", compiled)}
    assert not out.partials["n"].any()  # ∂s/∂y does not involve n = ‖x‖₀: a true 0, with ∂s/∂n = 1
    y = torch.tensor([0.5, -1.0], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(torch.tanh(y).square().sum(), y, create_graph=True)
    hess = torch.stack([torch.autograd.grad(grad[i], y, retain_graph=True)[0] for i in range(2)])
    assert out.partials["y"] == pytest.approx(hess.numpy())
    assert not any(str(v) == "-0.0" for v in out.partials["y"].ravel().tolist())  # shown as 0, not -0


def test_the_gradcheck_status_names_the_leaves_not_checked() -> None:
    """It said '✓ … for every leaf' with x not checked (grad says None for x)."""
    from autograd_bridge.calculus_tasks import GradcheckData, LeafCheckData
    from gui.calculus import gradcheck_status

    data = GradcheckData(None, leaves=[LeafCheckData("a", (3,), 0.0, 0.0, True)], no_gradient={"x": "why"})
    assert gradcheck_status(data, str) == ("gradcheck in float64: ✓ autograd agrees with central finite differences "
                                           "for a (x not checked: no gradient, see the inspector)")
    data.no_gradient = {}
    assert gradcheck_status(data, str).endswith("for every leaf")
    data.leaves[0] = LeafCheckData("a", (3,), 1.0, 1.0, False)
    data.no_gradient = {"x": "why"}
    assert gradcheck_status(data, str) == ("gradcheck in float64: ✗ autograd disagrees with finite differences for a "
                                           "(x not checked: no gradient, see the inspector)")
    data.nonfinite = "l"  # where NaN starts: said, since differences of NaN never agree
    assert gradcheck_status(data, str) == ("gradcheck in float64: ✗ autograd disagrees with finite differences for a; "
                                           "l holds NaN or Inf, which never agree "
                                           "(x not checked: no gradient, see the inspector)")


def test_the_op_whose_backward_gives_none_is_named() -> None:
    """x → exp → vector_norm(ord 0) → ·2 → sum: every message said 'an op between has none for
    that input' without naming it, and the canvas could not mark it."""
    g = make_graph([Node("x", TENSOR, value=[1.0, -2.0, 2.0], requires_grad=True), Node("e", "exp"),
                    Node("n", "vector_norm", attrs={"ord": 0}), Node("two", TENSOR, value=2.0), Node("m", "mul"),
                    Node("s", "sum")],
                   [("x", "e", "input"), ("e", "n", "input"), ("n", "m", "input"), ("two", "m", "other"),
                    ("m", "s", "input")])
    x = torch.tensor([1.0, -2.0, 2.0], requires_grad=True)
    e = torch.exp(x)
    n = torch.linalg.vector_norm(e, ord=0)
    grads = torch.autograd.grad((n * 2).sum(), [x, e, n], allow_unused=True)
    assert grads[0] is None and grads[1] is None and grads[2] is not None  # torch stops at n's backward
    compiled = Compiled(g)
    result = compiled.run("s")
    why_x, why_e = result.no_grad_reason("x", compiled), result.no_grad_reason("e", compiled)
    assert why_x == ("torch's backward passes it no gradient on the way from s: the backward of n (vector_norm) "
                     "gives its input e none (e.g. it is piecewise constant there)")
    assert why_e.endswith("the backward of n (vector_norm) gives it none (e.g. it is piecewise constant there)")
    with pytest.raises(TargetError) as raised:
        jacobian(compiled, "s", "x")
    assert raised.value.message == f"x: {why_x}, so autograd gives no ∂s/∂x"
    assert raised.value.node_ids == ("s", "x", "n")  # n marked on the canvas too
    with pytest.raises(TargetError) as raised:
        gradcheck(compiled, "s")
    assert raised.value.message == f"x: {why_x}: gradcheck has no gradient to check"


def test_differentiate_again_on_a_node_torch_gives_no_gradient_names_the_op() -> None:
    from autograd_bridge.calculus_tasks import Asked, differentiate_again
    from autograd_bridge.cancel import CancelToken
    from autograd_bridge.compute import ComputeSession

    g = norm0_graph()
    compiled = Compiled(g)
    why = compiled.run("n").no_grad_reason("x", compiled)
    assert "the backward of n (vector_norm) gives its input m none" in why
    out = differentiate_again(ComputeSession(), CancelToken(), g, Asked(1, "n"), "x")
    assert out.error == f"x: {why}, so autograd gives no ∂n/∂x to differentiate again"
