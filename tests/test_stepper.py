"""Step-through backward (autograd_bridge.stepper): the walk's sums equal the engine's partials
on every bundled example (each node of it as the target) and on random graphs; the diamond
adds up two paths; the local derivatives are torch's (checked against torch code written here);
Walk.state is a function of the position alone."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from test_calculus import computable_graphs

from autograd_bridge.compute import ComputeSession
from autograd_bridge.engine import Compiled
from autograd_bridge.stepper import walk, walk_task
from graph import lessons
from graph.fileformat import load
from graph.model import Edge, Graph, Node
from graph.ops import TENSOR

EXAMPLES = Path(__file__).resolve().parents[1] / "resources" / "examples"


def assert_walk_matches_engine(graph: Graph, target: str, grad_output: object = None) -> None:
    compiled = Compiled(graph)
    result = compiled.run(target, grad_output)
    _steps, acc = walk(compiled, result.values, target, result.grads[target])
    for n, g in result.grads.items():
        if g is None:
            assert n not in acc, n
        else:
            torch.testing.assert_close(acc[n], g, msg=n)


def _targets(graph: Graph, compiled: Compiled) -> list[tuple[str, object]]:
    """Every op node as the target: a one-element one seeded with 1, others with a grad-output."""
    values = compiled.forward()
    out = []
    for n in compiled.source.op_ids:
        if n in compiled.source.requires_grad:
            v = values[n]
            out.append((n, None if v.numel() == 1 else torch.linspace(-1, 1, v.numel()).reshape(v.shape).tolist()))
    return out


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_example_walk_ends_at_the_engine_partials(path: Path) -> None:
    graph = load(path)
    targets = _targets(graph, Compiled(graph))
    assert targets
    for target, grad_output in targets:
        assert_walk_matches_engine(graph, target, grad_output)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(computable_graphs())
def test_random_graphs_walk_ends_at_the_engine_partials(drawn) -> None:  # noqa: ANN001
    graph, steps, _values = drawn
    for node_id, _op, _inputs in steps[-3:]:
        compiled = Compiled(graph)
        if node_id not in compiled.source.requires_grad:
            continue
        v = compiled.forward()[node_id]
        grad_output = None if v.numel() == 1 else torch.linspace(0.5, 2, v.numel()).reshape(v.shape).tolist()
        assert_walk_matches_engine(graph, node_id, grad_output)


def diamond() -> Graph:
    """x → a = sin(x), x → b = 3·x, y = a·b: x is reached along two paths."""
    g = Graph()
    g.add_node(Node("x", TENSOR, value=0.5, dtype="float64", requires_grad=True))
    g.add_node(Node("three", TENSOR, value=3.0, dtype="float64"))
    for n, op in (("a", "sin"), ("b", "mul"), ("y", "mul")):
        g.add_node(Node(n, op))
    for e in (Edge("x", "a", "input"), Edge("three", "b", "input"), Edge("x", "b", "other"),
              Edge("a", "y", "input"), Edge("b", "y", "other")):
        g.add_edge(e)
    return g


def test_diamond_sums_two_paths_with_torch_local_derivatives() -> None:
    graph = diamond()
    compiled = Compiled(graph)
    result = compiled.run("y")
    steps, acc = walk(compiled, result.values, "y", result.grads["y"])
    x = torch.tensor(0.5, dtype=torch.float64)
    a, b = torch.sin(x), 3 * x
    # Reverse topological: y first (two wires), then b and a, each passing one wire to x.
    assert [(s.node, s.edge and s.edge.port) for s in steps][:3] == [("y", None), ("y", "input"), ("y", "other")]
    into_x = [s for s in steps if s.src == "x"]
    assert [s.paths for s in into_x] == [1, 2]
    by_node = {s.node: s for s in into_x}
    torch.testing.assert_close(by_node["a"].local, torch.cos(x))  # ∂a/∂x, written here
    torch.testing.assert_close(by_node["b"].local, torch.tensor(3.0, dtype=torch.float64))
    torch.testing.assert_close(by_node["a"].product, b * torch.cos(x))  # ∂y/∂a · ∂a/∂x
    torch.testing.assert_close(by_node["b"].product, a * 3)
    torch.testing.assert_close(into_x[0].after, into_x[0].product)
    torch.testing.assert_close(into_x[1].after, b * torch.cos(x) + a * 3)
    torch.testing.assert_close(acc["x"], b * torch.cos(x) + a * 3)


def test_small_jacobian_is_torch_s_and_the_product_is_the_vjp() -> None:
    graph = load(EXAMPLES / "03_vector_element.json")
    compiled = Compiled(graph)
    result = compiled.run("y1")
    steps, _acc = walk(compiled, result.values, "y1", result.grads["y1"])
    (square,) = [s for s in steps if s.edge is not None and s.edge.src == "x"]
    x = result.values["x"].detach()
    expected = torch.autograd.functional.jacobian(lambda t: t ** 2, x)  # torch, on this op alone
    node_value = result.values[square.node]
    torch.testing.assert_close(square.local, expected.reshape(node_value.numel(), x.numel()))
    torch.testing.assert_close(square.product, square.incoming.reshape(-1) @ square.local)


LESSONS = EXAMPLES.parent / "lessons"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")) + sorted(LESSONS.glob("*.json")),
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_shown_local_jacobian_times_the_incoming_partial_is_the_product(path: Path) -> None:
    """What a step shows is incoming · J = product: the J must be the one that gives it. The
    rows of J were all one basis vector for ops whose backward hands the seed back (add,
    reshape, transpose), so lesson 2 read [[14, 22]] · [[0, 1], [0, 1]] = [14, 22]."""
    graph = lessons.load(path).graph if path.parent == LESSONS else load(path)
    compiled = Compiled(graph)
    for target, grad_output in _targets(graph, compiled):
        result = compiled.run(target, grad_output)
        steps, _acc = walk(compiled, result.values, target, result.grads[target])
        for step in steps:
            if step.edge is None or step.local is None:
                continue
            if step.incoming.numel() == 1:  # the local derivative is shaped like the input
                shown = step.incoming.reshape(()) * step.local
            else:
                shown = (step.incoming.reshape(-1) @ step.local).reshape(step.product.shape)
            torch.testing.assert_close(shown, step.product, msg=f"{path.stem}: {step.edge}")


@pytest.mark.parametrize("op", ["add", "sub", "neg", "transpose", "reshape"])
def test_a_local_jacobian_of_an_op_passing_its_seed_through_is_torch_s(op: str) -> None:
    a = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    attrs = {"transpose": {"dim0": 0, "dim1": 1}, "reshape": {"shape": [3, 2]}}.get(op, {})
    g = Graph()
    g.add_node(Node("a", TENSOR, value=a.tolist(), requires_grad=True))
    g.add_node(Node("b", TENSOR, value=(a * 10).tolist(), requires_grad=True))
    g.add_node(Node("o", op, attrs=attrs))
    g.add_node(Node("s", "sum"))
    g.add_edge(Edge("a", "o", "input"))
    if op in ("add", "sub"):
        g.add_edge(Edge("b", "o", "other"))
    g.add_edge(Edge("o", "s", "input"))
    compiled = Compiled(g)
    result = compiled.run("s")
    steps, _acc = walk(compiled, result.values, "s", result.grads["s"])
    fn = {"add": lambda t: t + a * 10, "sub": lambda t: t - a * 10, "neg": torch.neg,
          "transpose": lambda t: t.transpose(0, 1), "reshape": lambda t: t.reshape(3, 2)}[op]
    expected = torch.autograd.functional.jacobian(fn, a).reshape(6, 6)  # torch, on this op alone
    (step,) = [s for s in steps if s.edge is not None and s.edge.src == "a"]
    torch.testing.assert_close(step.local, expected)


def test_walk_task_texts_and_state_are_exact_per_position() -> None:
    graph = diamond()
    walked = walk_task(ComputeSession(), None, graph, 1, "y")
    assert walked.error is None and not walked.cancelled
    seed = walked.steps[0]
    assert (seed.edge, seed.src, seed.after, seed.paths) == (None, "y", "1", 1)
    states = [walked.state(k) for k in range(len(walked.steps))]
    assert states[0] == {"y": ("1", 1)}
    assert set(states[-1]) == {"y", "a", "b", "x"}
    assert states[-1]["x"][1] == 2
    second = [s for s in walked.steps if s.src == "x"][1]
    assert second.before is not None and second.before != second.after
    for k in range(1, len(states)):  # one step back is the state before it, whatever came after
        assert walked.state(k - 1) == states[k - 1]


def test_walk_task_says_why_there_is_nothing_to_walk() -> None:
    graph = diamond()
    assert walk_task(ComputeSession(), None, graph, 1, None).error.startswith("no target")
    g = Graph()
    g.add_node(Node("c", TENSOR, value=1.0))
    g.add_node(Node("s", "sin"))
    g.add_edge(Edge("c", "s", "input"))
    assert "s has no partials" in walk_task(ComputeSession(), None, g, 1, "s").error
