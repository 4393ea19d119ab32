"""The gradient flowing along each edge (autograd_bridge.flows).

Expected flows come from torch code written here: the graph evaluated by hand with the value
carried by one edge replaced by a variable of its own, and torch.autograd.grad of the target
with respect to that variable. That is what a flow is (the edge's share of its source's
partial), computed without re-running one op. And the partial of a node is the sum of the
flows along its out-edges.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from test_calculus import computable_graphs

from autograd_bridge.cancel import CancelToken
from autograd_bridge.compute import ComputeSession
from autograd_bridge.engine import Compiled
from autograd_bridge.flows import edge_flows, flow_task, local_vjps
from graph.fileformat import load
from graph.model import Edge, Graph, Node
from graph.ops import TENSOR

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "resources" / "examples"
SCALAR_TARGETS = [("01_scalar_partial", "y"), ("02_matmul_vector", "y"), ("03_vector_element", "y1"),
                  ("04_small_mlp", "loss")]

# The ops of the examples and the random graphs, by hand: (inputs by port, attrs) -> value.
BY_HAND = {
    "add": lambda i, a: i["input"] + i["other"],
    "sub": lambda i, a: i["input"] - i["other"],
    "mul": lambda i, a: i["input"] * i["other"],
    "neg": lambda i, a: -i["input"],
    "sin": lambda i, a: torch.sin(i["input"]),
    "cos": lambda i, a: torch.cos(i["input"]),
    "tanh": lambda i, a: torch.tanh(i["input"]),
    "sigmoid": lambda i, a: 1 / (1 + torch.exp(-i["input"])),
    "pow": lambda i, a: i["input"] ** a["exponent"],
    "matmul": lambda i, a: i["input"] @ i["other"],
    "reshape": lambda i, a: i["input"].reshape(a["shape"]),
    "sum": lambda i, a: i["input"].sum(),
    "select": lambda i, a: i["input"][a["index"]] if a.get("dim", 0) == 0 else None,
    "mse_loss": lambda i, a: ((i["input"] - i["target"]) ** 2).mean(),
}


def evaluate(graph: Graph, leaves: dict[str, torch.Tensor], target: str, cut: Edge | None = None,
             carried: torch.Tensor | None = None) -> torch.Tensor:
    """The target's value, by hand; the edge `cut` carries `carried` instead of its source's value."""
    values: dict[str, torch.Tensor] = {}
    for n in graph.validate().order:
        node = graph.nodes[n]
        if node.op == TENSOR:
            values[n] = leaves[n]
            continue
        ins = {e.port: carried if e == cut else values[e.src] for e in graph.edges if e.dst == n}
        values[n] = BY_HAND[node.op](ins, node.attrs)
    return values[target]


def expected_flow(graph: Graph, leaves: dict[str, torch.Tensor], target: str, edge: Edge,
                  grad_output: torch.Tensor | None = None) -> torch.Tensor | None:
    carried = evaluate(graph, leaves, edge.src).detach().requires_grad_()
    y = evaluate(graph, leaves, target, edge, carried)
    if not y.requires_grad:
        return None
    return torch.autograd.grad(y, carried, grad_outputs=grad_output, allow_unused=True)[0]


def leaf_values(graph: Graph, compiled: Compiled) -> dict[str, torch.Tensor]:
    """The leaves as the file gives them, made here (requires_grad as in the file)."""
    return {n: torch.tensor(graph.nodes[n].value, dtype=getattr(torch, graph.nodes[n].dtype),
                            requires_grad=graph.nodes[n].requires_grad) for n in compiled.source.leaf_ids}


def check_flows(graph: Graph, target: str, grad_output: list | None = None) -> None:
    compiled = Compiled(graph)
    values = compiled.forward()
    result = compiled.partials(values, target, grad_output)
    flows = edge_flows(compiled, result.values, result.grads)
    leaves = leaf_values(graph, compiled)
    v = None if grad_output is None else torch.tensor(grad_output, dtype=values[target].dtype)
    grad_fed = {e for e in graph.edges if e.src in compiled.source.requires_grad}
    assert set(flows) == grad_fed  # every edge from a node that requires grad, and no other
    for edge, flow in flows.items():
        want = expected_flow(graph, leaves, target, edge, v)
        if want is None:
            assert flow is None, edge
        else:
            assert flow is not None, edge
            torch.testing.assert_close(flow, want, msg=str(edge))
    # The partial of a node is the sum of the flows along its out-edges (unless it is the target).
    for n, g in result.grads.items():
        if n == target or n not in compiled.source.requires_grad:
            continue
        outs = [f for e, f in flows.items() if e.src == n and f is not None]
        if g is None:
            assert not outs, n
        else:
            torch.testing.assert_close(sum(outs), g, msg=n)


@pytest.mark.parametrize(("name", "target"), SCALAR_TARGETS)
def test_example_flows_equal_the_edges_own_derivatives(name: str, target: str) -> None:
    check_flows(load(EXAMPLES / f"{name}.json"), target)


def test_flows_of_a_vector_target_with_a_grad_output() -> None:
    graph = load(EXAMPLES / "04_small_mlp.json")
    check_flows(graph, "out", grad_output=[[1.0], [-2.0], [0.5], [3.0]])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(computable_graphs())
def test_random_graph_flows_and_their_sums(drawn) -> None:  # noqa: ANN001
    graph, steps, _values = drawn
    check_flows(graph, "total")
    last = steps[-2][0]  # the last op before the sum: a vector target, with a grad-output
    shape = Compiled(graph).forward()[last].shape
    check_flows(graph, last, grad_output=torch.linspace(-1.0, 2.0, shape.numel()).reshape(shape).tolist())


def test_x_times_x_gives_each_port_its_own_flow() -> None:
    g = Graph()
    g.add_node(Node("x", TENSOR, value=3.0, requires_grad=True))
    g.add_node(Node("m", "mul"))
    g.add_node(Node("y", "mul"))
    g.add_node(Node("c", TENSOR, value=5.0))
    g.add_edge(Edge("x", "m", "input"))
    g.add_edge(Edge("x", "m", "other"))
    g.add_edge(Edge("m", "y", "input"))
    g.add_edge(Edge("c", "y", "other"))
    compiled = Compiled(g)
    result = compiled.run("y")
    flows = edge_flows(compiled, result.values, result.grads)
    # y = 5 * x * x: each port carries 5 * x = 15; together ∂y/∂x = 30
    assert flows[Edge("x", "m", "input")].item() == pytest.approx(15.0)
    assert flows[Edge("x", "m", "other")].item() == pytest.approx(15.0)
    assert result.grads["x"].item() == pytest.approx(30.0)
    assert Edge("c", "y", "other") not in flows  # c does not require grad
    # local_vjps: the one op's VJP for any incoming gradient, per port
    vjps = local_vjps(compiled, result.values, "m", torch.tensor(2.0))
    assert vjps["input"].item() == pytest.approx(6.0) and vjps["other"].item() == pytest.approx(6.0)


def test_no_flow_where_the_target_does_not_depend_on_the_destination() -> None:
    g = load(EXAMPLES / "01_scalar_partial.json")
    compiled = Compiled(g)
    result = compiled.run("x_sq")  # two_x_sq and y lie beyond the target
    flows = edge_flows(compiled, result.values, result.grads)
    assert flows[Edge("x_sq", "two_x_sq", "other")] is None
    assert flows[Edge("x", "x_sq", "input")].item() == pytest.approx(4.0)


def test_flow_task_reuses_the_kept_run_and_says_why_none_flows(monkeypatch: pytest.MonkeyPatch) -> None:
    from autograd_bridge import engine

    calls = {"init": 0, "partials": 0}
    init, partials = engine.Compiled.__init__, engine.Compiled.partials

    def counting_init(self, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls["init"] += 1
        return init(self, *a, **k)

    def counting_partials(self, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls["partials"] += 1
        return partials(self, *a, **k)

    monkeypatch.setattr(engine.Compiled, "__init__", counting_init)
    monkeypatch.setattr(engine.Compiled, "partials", counting_partials)
    g = load(EXAMPLES / "01_scalar_partial.json")
    session = ComputeSession()
    session.compute(g.snapshot(), "y", 3)
    out = flow_task(session, CancelToken(), g.snapshot(), 3, "y")
    assert calls == {"init": 1, "partials": 1}  # the compute's run, not a new one
    assert out.error is None and (out.revision, out.target) == (3, "y")
    flow = out.flows[Edge("x", "x_sq", "input")]
    assert (flow.norm, flow.shape, flow.text) == (8.0, (), "8")
    assert out.none[Edge("z", "three_z", "other")] == "no gradient flows: z does not require grad"
    assert len(out.flows) + len(out.none) == len(g.edges)
    assert flow_task(session, None, g.snapshot(), 3, None).error == "no target chosen"
    token = CancelToken()
    token.cancel()
    assert flow_task(session, token, g.snapshot(), 3, "y").cancelled


def test_flow_task_puts_a_graph_error_in_words() -> None:
    g = load(EXAMPLES / "03_vector_element.json")
    out = flow_task(ComputeSession(), None, g.snapshot(), 1, "y")  # a vector target, no grad-output
    assert out.flows == {} and "target y has shape [2]" in out.error


def test_flow_results_import_without_torch() -> None:
    code = ("import sys\nfrom autograd_bridge.flows import EdgeFlow, FlowResult, flow_task\n"
            "FlowResult(1, 'y')\nassert 'torch' not in sys.modules, 'torch was imported'\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_the_mse_loss_by_hand_is_torchs() -> None:
    """The test's own op table agrees with torch where it is not spelled the same."""
    a, b = torch.randn(4, 1), torch.randn(4, 1)
    torch.testing.assert_close(BY_HAND["mse_loss"]({"input": a, "target": b}, {}), F.mse_loss(a, b))
