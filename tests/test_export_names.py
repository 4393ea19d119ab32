"""A node whose id is already a free Python identifier keeps exactly that name in the generated
code, whatever node comes first in the file (an imported `q.weight` once took `q_weight` from the
module's own `q_weight`, which became `q_weight_2`); the exported script, function and notebook
print and explain each gradient under its own node's id. The gradients are checked against torch
code written here, and the compiled engine's numbers against the same."""

from __future__ import annotations

import json

import pytest
import torch
from test_export_forms import run_text

from autograd_bridge.codegen import Namespace
from autograd_bridge.engine import Compiled
from autograd_bridge.export import export_text
from autograd_bridge.formatting import tensor_text
from autograd_bridge.notebook import export_notebook
from graph import fileformat

Q = [[1.5, -2.0], [0.5, 3.0]]  # q.weight, as nn.Linear(2, 2, bias=False) holds it
Q_WEIGHT = [[10.0, 20.0], [30.0, 40.0]]  # the module's own q_weight
X = [[1.0, 2.0]]


def clash_graph():  # noqa: ANN201 - a graph.model.Graph
    """sum((x @ q.weightᵀ) @ q_weight), with the ids `gradcanvas import --module` gives, in its order."""
    return fileformat.loads(json.dumps({
        "format": "gradcanvas", "version": 2, "seed": 0, "target": "sum_1",
        "nodes": [{"id": "x", "op": "tensor", "value": X},
                  {"id": "q.weight", "op": "tensor", "value": Q, "requires_grad": True},
                  {"id": "q_2", "op": "linear"},
                  {"id": "q_weight", "op": "tensor", "value": Q_WEIGHT, "requires_grad": True},
                  {"id": "matmul", "op": "matmul"}, {"id": "sum_1", "op": "sum"}],
        "edges": [{"from": "x", "to": "q_2", "port": "input"}, {"from": "q.weight", "to": "q_2", "port": "weight"},
                  {"from": "q_2", "to": "matmul", "port": "input"},
                  {"from": "q_weight", "to": "matmul", "port": "other"},
                  {"from": "matmul", "to": "sum_1", "port": "input"}],
        "groups": [{"id": "q", "members": ["q.weight", "q_2"]}]}))


def torch_grads() -> dict[str, torch.Tensor]:
    """The same model in plain torch, gradients by node id."""
    x = torch.tensor(X)
    lin = torch.nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(Q))
    q_weight = torch.nn.Parameter(torch.tensor(Q_WEIGHT))
    (lin(x) @ q_weight).sum().backward()
    return {"q.weight": lin.weight.grad, "q_weight": q_weight.grad}


def test_an_id_that_is_a_free_identifier_keeps_its_name_whatever_comes_first() -> None:
    names = Compiled(clash_graph()).source.names
    assert names["q_weight"] == "q_weight" and names["q.weight"] != "q_weight"
    assert len(set(names.values())) == len(names)
    ns = Namespace()
    ns.reserve(["a.b", "a_b", "a_b_2", "class", "__x"])
    assert [ns.name(n) for n in ("a.b", "a_b", "a_b_2", "class", "__x")] == ["a_b_3", "a_b", "a_b_2", "class_",
                                                                                "v__x"]


def test_the_compiled_engine_gives_torchs_numbers() -> None:
    result = Compiled(clash_graph()).run("sum_1")
    for node_id, grad in torch_grads().items():
        torch.testing.assert_close(result.grads[node_id], grad, msg=node_id)


def printed_grad(out: str, label: str) -> torch.Tensor:
    """The tensor printed after `label.grad =` (torch's repr, evaluated back)."""
    start = out.index(f"\n{label}.grad = ") + len(f"\n{label}.grad = ")
    end = out.find("\n", out.index(")", start))
    return eval(out[start:end], {"tensor": torch.tensor})  # noqa: S307 - torch's own repr of our tensor


@pytest.mark.parametrize("form", ["script", "function", "module"])
def test_each_gradient_is_printed_under_its_own_nodes_id(form: str) -> None:
    _, out = run_text(export_text(clash_graph(), "sum_1", form=form), as_main=True)
    for node_id, grad in torch_grads().items():
        torch.testing.assert_close(printed_grad(out, node_id), grad, msg=f"{form}: {node_id}")


def test_the_notebook_names_each_partial_by_its_node() -> None:
    cells = json.loads(export_notebook(clash_graph(), "sum_1"))["cells"]
    words = "".join(cells[-1]["source"])
    grads = torch_grads()
    line = next(s for s in words.splitlines() if s.startswith("- `q_weight.grad`"))
    assert "(node" not in line and line.endswith("∂sum_1/∂q_weight, filled in because q_weight is a leaf that "
                                                 "requires grad.")
    assert f"= {tensor_text(grads['q_weight'])}:" in line
    other = next(s for s in words.splitlines() if s.startswith("- `q.weight.grad`"))
    assert "`q_weight_2`" in other and "∂sum_1/∂`q.weight`" in other and "∂sum_1/∂q_weight," not in other
