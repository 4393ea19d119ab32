"""Comparisons (bool results, no gradient), where (no gradient to its condition) and the ops
that take an int64 index leaf (gather, index_select, embedding, nll_loss, cross_entropy with
class targets): values and gradients against torch code written here, not the catalogue's call.

float64 gradcheck of each through the compiled path: tests/test_gradcheck_catalogue.py.
"""

from __future__ import annotations

import pytest
import torch

from autograd_bridge.compute import ComputeSession
from autograd_bridge.engine import Compiled
from graph.errors import GraphError
from graph.model import Edge, Graph, Node
from graph.ops import OPS, TENSOR

X = [[-1.0, 0.5, 2.0], [3.0, 0.5, -4.0]]
Y = [[0.0, 0.5, 2.5], [3.0, -1.0, -4.0]]


def leaf(g: Graph, node_id: str, value: object, dtype: str = "float64", grad: bool = False) -> None:
    g.add_node(Node(node_id, TENSOR, value=value, dtype=dtype, requires_grad=grad))


def op(g: Graph, node_id: str, name: str, attrs: dict | None = None, **ports: str) -> None:
    g.add_node(Node(node_id, name, attrs=attrs or {}))
    for port, src in ports.items():
        g.add_edge(Edge(src, node_id, port))


# ---- comparisons ----

EXPECTED = {  # entry by entry, in plain Python
    "gt": lambda a, b: a > b, "ge": lambda a, b: a >= b, "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b, "eq": lambda a, b: a == b,
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_comparisons_give_bool_values_and_no_gradient(name: str) -> None:
    g = Graph()
    leaf(g, "x", X, grad=True)
    leaf(g, "y", Y, grad=True)
    op(g, "c", name, input="x", other="y")
    op(g, "s", "sum", input="x")
    compiled = Compiled(g)
    result = compiled.run("s")
    c = result.values["c"]
    assert c.dtype == torch.bool and not c.requires_grad
    expected = [[EXPECTED[name](a, b) for a, b in zip(ra, rb, strict=True)] for ra, rb in zip(X, Y, strict=True)]
    assert c.tolist() == expected
    assert result.grads["c"] is None and result.no_grad_reason("c", compiled) == "a bool result: no gradient"
    assert OPS[name].function == f"torch.{name}"


def test_a_comparison_as_target_has_no_partials_and_says_why() -> None:
    g = Graph()
    leaf(g, "x", 2.0, grad=True)
    leaf(g, "y", 1.0)
    op(g, "c", "gt", input="x", other="y")
    result = ComputeSession().compute(g, "c", 1)
    assert result.error is None, result.error
    assert result.nodes["c"].value_text == "True"
    assert any("c is a bool result: no gradient flows through it" in n for n in result.notes)


# ---- where ----

def test_where_picks_entries_and_sends_no_gradient_to_its_condition() -> None:
    """relu(x) built as where(x > 0, x, y): the partials go to x where x > 0, to y elsewhere."""
    g = Graph()
    leaf(g, "x", X, grad=True)
    leaf(g, "y", Y, grad=True)
    leaf(g, "zero", 0.0)
    op(g, "pos", "gt", input="x", other="zero")
    op(g, "w", "where", condition="pos", input="x", other="y")
    op(g, "sq", "square", input="w")
    op(g, "s", "sum", input="sq")
    result = Compiled(g).run("s")
    mask = [[a > 0 for a in row] for row in X]
    picked = [[a if m else b for a, b, m in zip(ra, rb, rm, strict=True)]
              for ra, rb, rm in zip(X, Y, mask, strict=True)]
    assert result.values["w"].tolist() == picked
    # ∂Σw²/∂x = 2w where the mask holds, 0 elsewhere; ∂/∂y the other way round.
    assert result.grads["x"].tolist() == [[2 * w if m else 0.0 for w, m in zip(rw, rm, strict=True)]
                                          for rw, rm in zip(picked, mask, strict=True)]
    assert result.grads["y"].tolist() == [[0.0 if m else 2 * w for w, m in zip(rw, rm, strict=True)]
                                          for rw, rm in zip(picked, mask, strict=True)]
    assert result.grads["pos"] is None


def test_where_with_a_bool_leaf_condition() -> None:
    g = Graph()
    leaf(g, "m", [True, False, True], dtype="bool")
    leaf(g, "a", [1.0, 2.0, 3.0], grad=True)
    leaf(g, "b", -1.0, grad=True)
    op(g, "w", "where", condition="m", input="a", other="b")
    op(g, "s", "sum", input="w")
    result = Compiled(g, "cpu", "float32").run("s")
    assert result.values["w"].tolist() == [1.0, -1.0, 3.0] and result.values["m"].dtype == torch.bool
    assert result.grads["a"].tolist() == [1.0, 0.0, 1.0] and result.grads["b"].item() == 1.0


def test_where_with_a_float_condition_is_one_line_naming_the_node() -> None:
    g = Graph()
    leaf(g, "m", [1.0, 0.0])
    leaf(g, "a", [1.0, 2.0])
    op(g, "w", "where", condition="m", input="a", other="a")
    with pytest.raises(GraphError) as info:
        Compiled(g).run("w", [1.0, 1.0])
    assert info.value.message.startswith("w: where of [2] and [2] and [2]: ")
    assert "bool" in info.value.message and "\n" not in info.value.message


# ---- index ops: gradients against torch code written here ----

def _rand(shape: tuple[int, ...], seed: int) -> list:
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).tolist()


def test_gather_gradient_adds_back_at_the_gathered_positions() -> None:
    x, index = _rand((2, 4), 1), [[3, 0, 3], [1, 1, 2]]
    g = Graph()
    leaf(g, "x", x, grad=True)
    leaf(g, "i", index, dtype="int64")
    op(g, "y", "gather", {"dim": 1}, input="x", index="i")
    result = Compiled(g).run("y", [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert result.values["y"].tolist() == [[x[r][c] for c in index[r]] for r in range(2)]
    expected = [[0.0] * 4 for _ in range(2)]
    for r in range(2):
        for k, c in enumerate(index[r]):
            expected[r][c] += 1.0 + 3 * r + k
    assert result.grads["x"].tolist() == expected
    assert result.grads["i"] is None


def test_index_select_gradient_adds_back_whole_slices() -> None:
    x, index = _rand((3, 2), 2), [2, 0, 2]
    g = Graph()
    leaf(g, "x", x, grad=True)
    leaf(g, "i", index, dtype="int64")
    op(g, "y", "index_select", {"dim": 0}, input="x", index="i")
    op(g, "s", "sum", input="y")
    result = Compiled(g).run("s")
    assert result.values["y"].tolist() == [x[k] for k in index]
    assert result.grads["x"].tolist() == [[float(index.count(r))] * 2 for r in range(3)]


def test_embedding_then_cross_entropy_with_class_targets_against_torch() -> None:
    """A tiny language model: embedding rows, a linear layer, cross_entropy against int64
    classes. Gradients from torch's autograd on code written here (one-hot, log-softmax)."""
    weight, proj = _rand((5, 3), 3), _rand((4, 3), 4)
    tokens, classes = [[0, 4], [4, 2]], [[1, 3], [0, 0]]
    g = Graph()
    leaf(g, "tokens", tokens, dtype="int64")
    leaf(g, "classes", classes, dtype="int64")
    leaf(g, "E", weight, grad=True)
    leaf(g, "W", proj, grad=True)
    leaf(g, "b", [0.0] * 4)
    op(g, "emb", "embedding", input="tokens", weight="E")
    op(g, "logits", "linear", input="emb", weight="W", bias="b")
    op(g, "scores", "transpose", {"dim0": 1, "dim1": 2}, input="logits")  # classes on dim 1
    op(g, "loss", "cross_entropy", input="scores", target="classes")
    result = Compiled(g, "cpu", "float64").run("loss")

    E = torch.tensor(weight, dtype=torch.float64, requires_grad=True)
    W = torch.tensor(proj, dtype=torch.float64, requires_grad=True)
    rows = E[torch.tensor(tokens).reshape(-1)]  # (4, 3): looked up by plain indexing
    logp = torch.log_softmax(rows @ W.T, dim=-1)
    onehot = torch.zeros(4, 4, dtype=torch.float64)
    onehot[torch.arange(4), torch.tensor(classes).reshape(-1)] = 1.0
    loss = -(onehot * logp).sum() / 4
    loss.backward()
    torch.testing.assert_close(result.values["loss"], loss.detach())
    torch.testing.assert_close(result.grads["E"], E.grad)
    torch.testing.assert_close(result.grads["W"], W.grad)
    assert result.values["classes"].dtype == torch.int64 and result.grads["classes"] is None


@pytest.mark.parametrize(("reduction", "ignore_index"), [("mean", -100), ("sum", 1), ("none", 0)])
def test_nll_loss_against_its_definition(reduction: str, ignore_index: int) -> None:
    logp, target = _rand((3, 4), 5), [1, 0, 3]
    g = Graph()
    leaf(g, "logp", logp, grad=True)
    leaf(g, "t", target, dtype="int64")
    op(g, "loss", "nll_loss", {"reduction": reduction, "ignore_index": ignore_index}, input="logp", target="t")
    go = None if reduction != "none" else [1.0, 1.0, 1.0]
    result = Compiled(g).run("loss", go)
    kept = [k for k in range(3) if target[k] != ignore_index]
    terms = [-logp[k][target[k]] if k in kept else 0.0 for k in range(3)]
    scale = {"mean": 1 / len(kept), "sum": 1.0, "none": 1.0}[reduction]
    expected_value = terms if reduction == "none" else sum(terms) * scale
    torch.testing.assert_close(result.values["loss"], torch.tensor(expected_value, dtype=torch.float64))
    grad = [[-scale if (k in kept and c == target[k]) else 0.0 for c in range(4)] for k in range(3)]
    torch.testing.assert_close(result.grads["logp"], torch.tensor(grad, dtype=torch.float64))


def test_cross_entropy_keeps_probability_targets() -> None:
    """The one cross_entropy entry: a floating target is read as class probabilities."""
    x, p = _rand((2, 3), 6), [[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]]
    g = Graph()
    leaf(g, "x", x, grad=True)
    leaf(g, "p", p, grad=True)
    op(g, "loss", "cross_entropy", input="x", target="p")
    result = Compiled(g).run("loss")
    X_ = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    P = torch.tensor(p, dtype=torch.float64, requires_grad=True)
    loss = -(P * torch.log_softmax(X_, dim=1)).sum() / 2
    loss.backward()
    torch.testing.assert_close(result.grads["x"], X_.grad)
    torch.testing.assert_close(result.grads["p"], P.grad)


def test_dtype_override_keeps_the_index_int64() -> None:
    g = Graph()
    leaf(g, "x", [[1.0, 2.0], [3.0, 4.0]], dtype="float32", grad=True)
    leaf(g, "i", [1, 1, 0], dtype="int64")
    op(g, "y", "index_select", {"dim": 1}, input="x", index="i")
    op(g, "s", "sum", input="y")
    for override in (None, "float32", "float64"):
        result = Compiled(g, "cpu", override).run("s")
        assert result.values["i"].dtype == torch.int64
        assert result.values["x"].dtype == getattr(torch, override or "float32")
        assert result.grads["x"].tolist() == [[1.0, 2.0], [1.0, 2.0]]


@pytest.mark.parametrize(("name", "ports", "index", "needle"), [
    ("gather", ("input", "index"), [[5]], "gather"),
    ("index_select", ("input", "index"), [7], "index"),
    ("embedding", ("weight", "input"), [9], "index"),
])
def test_an_index_out_of_range_is_one_line_naming_the_node(name: str, ports: tuple, index: list,
                                                           needle: str) -> None:
    g = Graph()
    leaf(g, "x", [[1.0, 2.0], [3.0, 4.0]], grad=True)
    leaf(g, "i", index, dtype="int64")
    op(g, "y", name, {"dim": 0} if name != "embedding" else {}, **{ports[0]: "x", ports[1]: "i"})
    op(g, "s", "sum", input="y")
    result = ComputeSession().compute(g, "s", 1)
    assert result.error is not None and "\n" not in result.error
    assert result.error.startswith(f"y: {name} of ") and needle in result.error
    assert "y" in result.error_nodes
