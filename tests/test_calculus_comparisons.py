"""Second derivatives of a target that reaches a requires-grad tensor only through a comparison:
none, as the first order has none (torch's own backward refuses: "element 0 of tensors does not
require grad"; torch.autograd.functional.hessian of the hand-written function gives zeros, which
grad's table does not): the Hessian is refused and the diagonal is None, each with grad's reason."""

from __future__ import annotations

import pytest
import torch
from helpers import make_graph
from test_cli import run_main

from autograd_bridge.calculus import gradcheck, hessian, hessian_diagonals
from autograd_bridge.engine import Compiled
from graph.errors import TargetError
from graph.fileformat import save
from graph.model import Node
from graph.ops import TENSOR

X = [-1.0, 0.5, 4.0]  # no element at a comparison's step, where central differences jump


def graphs() -> dict[str, tuple[object, str, object]]:
    """name -> (graph, the node differentiated twice, the target as a function of it, by hand)."""
    x = Node("x", TENSOR, value=X, requires_grad=True)
    z = Node("z", TENSOR, value=[0.0, 0.0, 0.0])
    where_of_gt = make_graph(  # sum(where(x > z, z, z)): a float target no tensor requiring grad feeds
        [x, z, Node("c", "gt"), Node("w", "where"), Node("s", "sum")],
        [("x", "c", "input"), ("z", "c", "other"), ("c", "w", "condition"), ("z", "w", "input"),
         ("z", "w", "other"), ("w", "s", "input")])
    i = Node("i", TENSOR, value=[1, 2, 3], dtype="int64")
    count = make_graph(  # sum(x > i): an int64 target
        [x, i, Node("c", "gt"), Node("s", "sum")], [("x", "c", "input"), ("i", "c", "other"), ("c", "s", "input")])
    a = Node("a", TENSOR, value=[1.0, 2.0, 3.0], requires_grad=True)
    one = Node("one", TENSOR, value=[1.0, 1.0, 1.0])
    other_leaf = make_graph(  # sum(where(exp(x) > 1, a, 1)): needs grad through a, reaches m = exp(x) by a mask
        [x, a, one, Node("m", "exp"), Node("c", "gt"), Node("w", "where"), Node("s", "sum")],
        [("x", "m", "input"), ("m", "c", "input"), ("one", "c", "other"), ("c", "w", "condition"),
         ("a", "w", "input"), ("one", "w", "other"), ("w", "s", "input")])
    av, zeros, ones, iv = torch.tensor([1.0, 2.0, 3.0]), torch.zeros(3), torch.ones(3), torch.tensor([1, 2, 3])
    return {
        "where_of_gt": (where_of_gt, "x", lambda x: torch.where(x > zeros, zeros, zeros).sum()),
        "count": (count, "x", lambda x: torch.gt(x, iv).sum().to(x.dtype)),
        "other_leaf_wrt_intermediate": (other_leaf, "m", lambda m: torch.where(m > ones, av, ones).sum()),
    }


@pytest.mark.parametrize("name", list(graphs()))
def test_hessian_of_a_comparison_is_refused_as_grad_has_no_partial(name: str) -> None:
    graph, wrt, _f = graphs()[name]
    compiled = Compiled(graph)
    why = compiled.run("s").no_grad_reason(wrt, compiled)  # grad's table: "s depends on it only through c (gt)…"
    assert why is not None and "only through c (gt)" in why
    with pytest.raises(TargetError) as raised:
        hessian(compiled, "s", wrt)
    assert raised.value.message == f"{wrt}: {why}, so autograd gives no ∂s/∂{wrt}"
    assert raised.value.node_ids == ("s", wrt, "c")


@pytest.mark.parametrize("name", ["where_of_gt", "count"])
def test_hessian_diagonals_and_gradcheck_of_a_comparison(name: str) -> None:
    graph, _wrt, _f = graphs()[name]
    compiled = Compiled(graph)
    diagonals = hessian_diagonals(compiled, "s")
    assert diagonals["x"] is None and diagonals.why["x"] == compiled.run("s").no_grad_reason("x", compiled)
    with pytest.raises(TargetError) as raised:  # x is s's only leaf requiring grad: nothing to check
        gradcheck(compiled, "s")
    assert raised.value.message == f"x: {diagonals.why['x']}: gradcheck has no gradient to check"
    assert raised.value.node_ids == ("s", "x")


def test_gradcheck_names_a_leaf_with_no_gradient_in_grads_words_and_checks_the_rest() -> None:
    """x reaches s only through a comparison: grad says None; gradcheck said `x ... ok` (autograd's
    zeros against the zeros of a step function), as if x's gradient had been checked."""
    graph, _wrt, _f = graphs()["other_leaf_wrt_intermediate"]
    compiled = Compiled(graph)
    why = compiled.run("s").no_grad_reason("x", compiled)
    report = gradcheck(compiled, "s")
    assert [c.leaf for c in report.leaves] == ["a"] and report.passed
    assert report.no_gradient == {"x": why} and report.unused == []


def test_grad_order_2_and_hessian_commands_run(tmp_path, capsys) -> None:  # noqa: ANN001
    for name, (graph, wrt, _f) in graphs().items():
        path = tmp_path / f"{name}.json"
        save(graph, path)
        code, _out, err = run_main(capsys, "grad", str(path), "--order", "2", "--json")
        assert code == 0 and err == "", (name, err)
        code, out, err = run_main(capsys, "gradcheck", str(path))
        if name == "other_leaf_wrt_intermediate":  # a is checked, x is not, in grad's words
            assert code == 0 and "not checked: x: s depends on it only through c (gt)" in out, out
        else:
            assert code == 1 and err.startswith("error: x: s depends on it only through c (gt)"), err
        code, _out, err = run_main(capsys, "hessian", str(path), "--wrt", wrt, "--json")
        assert code == 1 and err.startswith(f"error: {wrt}: s depends on it only through c (gt)"), err
