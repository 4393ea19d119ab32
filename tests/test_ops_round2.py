"""Issue 11, second round: cat/stack (variadic ports), split/chunk (a node per piece), dropout
seeded from Graph.seed, training batch_norm (running stats copied), optional bias, and the
expression bar (graph.expressions, gui.expression_bar). Numbers against torch written here."""

from __future__ import annotations

import pytest
import torch

from autograd_bridge.engine import Compiled
from autograd_bridge.export import export_script
from graph.expressions import ExpressionError, plan_expressions
from graph.model import Edge, Graph, Node
from graph.ops import TENSOR


def _leaf(g: Graph, name: str, t: torch.Tensor, grad: bool = True) -> None:
    g.add_node(Node(name, TENSOR, value=t.tolist(), requires_grad=grad, dtype="float64"))


def test_cat_of_three_ports_and_a_split_piece_equal_torch() -> None:
    gen = torch.Generator().manual_seed(0)
    a, b, c = (torch.randn(s, generator=gen, dtype=torch.float64) for s in [(2, 3), (1, 3), (2, 3)])
    g = Graph()
    for n, t in zip("abc", (a, b, c), strict=True):
        _leaf(g, n, t)
    g.add_node(Node("cat", "cat", attrs={"num_inputs": 3, "dim": 0}))
    for i, n in enumerate("abc"):
        g.add_edge(Edge(n, "cat", f"tensors.{i}"))
    g.add_node(Node("piece", "split", attrs={"split_size_or_sections": [4, 1], "dim": 0, "index": 0}))
    g.add_edge(Edge("cat", "piece", "tensor"))
    g.add_node(Node("s", "sum"))
    g.add_edge(Edge("piece", "s", "input"))
    result = Compiled(g, "cpu", "float64").run("s")
    ts = [t.clone().requires_grad_() for t in (a, b, c)]
    torch.split(torch.cat(ts, dim=0), [4, 1], dim=0)[0].sum().backward()
    for n, t in zip("abc", ts, strict=True):
        torch.testing.assert_close(result.grads[n], t.grad)
    assert g.missing_inputs() == []
    g2 = g.copy()
    g2.remove_edge(Edge("c", "cat", "tensors.2"))
    assert g2.missing_inputs() == [("cat", "tensors.2")]


def _dropout_graph(seed: int) -> Graph:
    g = Graph()
    _leaf(g, "x", torch.arange(1.0, 41.0, dtype=torch.float64).reshape(5, 8))
    g.add_node(Node("d", "dropout", attrs={"p": 0.5}))
    g.add_edge(Edge("x", "d", "input"))
    g.add_node(Node("s", "sum"))
    g.add_edge(Edge("d", "s", "input"))
    g.seed = seed
    return g


def test_dropout_repeats_with_a_seed_differs_with_another_and_the_export_prints_the_same() -> None:
    first = Compiled(_dropout_graph(0), "cpu", "float64").run("s")
    again = Compiled(_dropout_graph(0), "cpu", "float64").run("s")
    other = Compiled(_dropout_graph(1), "cpu", "float64").run("s")
    torch.testing.assert_close(first.grads["x"], again.grads["x"])
    assert not torch.equal(first.grads["x"], other.grads["x"])
    torch.manual_seed(0)  # torch's own: the graph's seed, then the call
    x = torch.arange(1.0, 41.0, dtype=torch.float64).reshape(5, 8).requires_grad_()
    torch.nn.functional.dropout(x, p=0.5).sum().backward()
    torch.testing.assert_close(first.grads["x"], x.grad)
    script = export_script(_dropout_graph(0), "s", dtype="float64")
    assert "torch.manual_seed(0)" in script
    namespace: dict = {}
    exec(compile(script, "export", "exec"), namespace)  # noqa: S102 - our own export
    torch.testing.assert_close(namespace["x"].grad, first.grads["x"])


def test_training_batch_norm_leaves_its_running_stats_unchanged_and_equals_torch() -> None:
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    mean, var = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    g = Graph()
    _leaf(g, "x", x)
    _leaf(g, "rm", mean, grad=False)
    _leaf(g, "rv", var, grad=False)
    g.add_node(Node("bn", "batch_norm", attrs={"training": True}))
    for port, src in (("input", "x"), ("running_mean", "rm"), ("running_var", "rv")):
        g.add_edge(Edge(src, "bn", port))
    g.add_node(Node("s", "sum"))
    g.add_node(Node("sq", "pow", attrs={"exponent": 3}))
    g.add_edge(Edge("bn", "sq", "input"))
    g.add_edge(Edge("sq", "s", "input"))
    compiled = Compiled(g, "cpu", "float64")
    result = compiled.run("s")
    compiled.run("s")
    torch.testing.assert_close(result.values["rm"], mean)
    torch.testing.assert_close(result.values["rv"], var)
    xt = x.clone().requires_grad_()
    torch.nn.functional.batch_norm(xt, mean.clone(), var.clone(), training=True).pow(3).sum().backward()
    torch.testing.assert_close(result.grads["x"], xt.grad)


def test_an_unfed_bias_is_torch_s_none_and_not_a_missing_input() -> None:
    gen = torch.Generator().manual_seed(3)
    x, w = torch.randn(2, 3, generator=gen, dtype=torch.float64), torch.randn(4, 3, generator=gen, dtype=torch.float64)
    g = Graph()
    _leaf(g, "x", x)
    _leaf(g, "w", w)
    g.add_node(Node("lin", "linear"))
    g.add_edge(Edge("x", "lin", "input"))
    g.add_edge(Edge("w", "lin", "weight"))
    g.add_node(Node("s", "sum"))
    g.add_edge(Edge("lin", "s", "input"))
    assert g.missing_inputs() == []
    result = Compiled(g, "cpu", "float64").run("s")
    wt = w.clone().requires_grad_()
    torch.nn.functional.linear(x, wt, bias=None).sum().backward()
    torch.testing.assert_close(result.grads["w"], wt.grad)


def _built(text: str) -> Graph:
    g = Graph()
    plan = plan_expressions(g, text)
    for node, pos in plan.nodes:
        g.add_node(node, pos=pos)
    for e in plan.edges:
        g.add_edge(e)
    return g


def test_the_article_s_expression_has_the_article_s_partials() -> None:
    g = _built("y = 2*x**2 + 3*z")
    assert g.nodes["x"].requires_grad and g.nodes["x"].value == 1.0
    g.replace_node(Node("x", TENSOR, value=2.0, requires_grad=True))
    g.replace_node(Node("z", TENSOR, value=3.0, requires_grad=True))
    result = Compiled(g, "cpu", "float64").run("y")
    assert result.values["y"].item() == 2 * 2.0**2 + 3 * 3.0
    assert result.grads["x"].item() == 4 * 2.0  # ∂y/∂x = 4x
    assert result.grads["z"].item() == 3.0


def test_several_lines_reuse_names_and_tensor_powers_and_catalogue_calls() -> None:
    g = _built("u = x * w\nv = u ** w\nc = cat(u, v, dim=0)")
    assert g.inputs_of("v") == {"input": "u", "exponent": "w"}
    assert g.inputs_of("c") == {"tensors.0": "u", "tensors.1": "v"}
    assert sorted(n for n, node in g.nodes.items() if node.is_tensor) == ["w", "x"]


@pytest.mark.parametrize(("text", "part"), [
    ("import os", "import os"), ("y = os.path", "os.path"), ("y = torch.sin(x)", "torch.sin"),
    ("y = eval(x)", "eval(x)"), ("y = x[0]", "x[0]"), ("y = (", "line 1"), ("y = __import__('os')", "__import__"),
])
def test_the_bar_refuses_in_one_line_naming_the_part(text: str, part: str) -> None:
    with pytest.raises(ExpressionError) as info:
        plan_expressions(Graph(), text)
    assert part in info.value.message and "\n" not in info.value.message


def test_the_bar_adds_one_undo_step_in_the_window(window) -> None:  # noqa: ANN001
    bar = window.expression_bar
    before = window.doc.undo_stack.count()
    assert bar.add_text("y = 2*x**2 + 3*z")
    assert window.doc.undo_stack.count() == before + 1
    assert {"x", "y", "z"} <= set(window.doc.graph.nodes)
    assert not bar.add_text("w = os.path")
    assert "os.path" in bar.message.text()
    window.doc.undo_stack.undo()
    assert "y" not in window.doc.graph.nodes
