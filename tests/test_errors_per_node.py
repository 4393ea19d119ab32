"""Each failing node shows its own error, not every error of the graph (two unrelated errors put
the first on both nodes: "unconnected input: m2.other; m: mul of …" on m, whose inputs are all
wired), and a shape mismatch says which dimension does not broadcast (the meta device's text
named a shape, [1, 3], that neither input has)."""

from __future__ import annotations

import pytest
import torch
from helpers import RESULT_TIMEOUT_MS, make_graph

from autograd_bridge.compute import ComputeSession
from autograd_bridge.engine import Compiled
from graph.errors import GraphError
from graph.model import Node
from graph.ops import TENSOR


def two_errors():  # noqa: ANN201 - a Graph
    """m = b * w with shapes [3] and [2, 2]; m2 has its other input unfed; y = sum(x) is fine."""
    return make_graph([Node("x", TENSOR, value=[1.0, 2.0], requires_grad=True),
                       Node("w", TENSOR, value=[[1.0, 2.0], [3.0, 4.0]]), Node("b", TENSOR, value=[1.0, 2.0, 3.0]),
                       Node("m", "mul"), Node("b2", TENSOR, value=[1.0, 2.0, 3.0]), Node("m2", "mul"),
                       Node("y", "sum")],
                      [("b", "m", "input"), ("w", "m", "other"), ("b2", "m2", "input"), ("x", "y", "input")])


def test_each_node_gets_the_errors_that_name_it() -> None:
    out = ComputeSession().compute(two_errors(), "y", 1)
    assert set(out.failed()) == {"m", "m2"}
    assert out.error_of("m2") == "unconnected input: m2.other"
    assert out.error_of("m").startswith("m: mul of [3] and [2, 2]: ") and "m2" not in out.error_of("m")
    assert out.error_of("w") == out.error_of("m")  # named beside m, as its input
    assert "m2.other" in out.error and "m: mul" in out.error  # the status bar still has both
    assert out.nodes["x"].grad_text is not None  # the rest stays computed


def test_the_canvas_and_the_inspector_show_a_nodes_own_error(qtbot, window) -> None:  # noqa: ANN001
    w = window
    w._replace_document(two_errors(), None)  # noqa: SLF001
    w.doc.set_target("y")
    qtbot.waitUntil(lambda: w.run.current is not None and w.run.current.target == "y", timeout=RESULT_TIMEOUT_MS)
    items = w.scene.nodes
    assert items["m"].error.startswith("m: mul of [3] and [2, 2]") and "unconnected" not in items["m"].error
    assert items["m2"].error == "unconnected input: m2.other"
    for n, expected in (("m", items["m"].error), ("m2", "unconnected input: m2.other")):
        w.scene.clearSelection()
        items[n].setSelected(True)
        assert w.inspector.result_box.note.text() == expected, n


@pytest.mark.parametrize(("op", "shapes", "sizes"), [
    ("mul", [(3,), (2, 2)], (-1, "3 and 2")),
    ("add", [(4, 2, 3), (3, 3)], (-2, "2 and 3")),  # dimension -1 matches; -3 is missing in one: fine
    ("where", [(2,), (3, 2), (4, 2)], (-2, "3 and 4")),
])
def test_a_shape_mismatch_says_which_dimension_does_not_broadcast(op: str, shapes: list, sizes: tuple) -> None:
    with pytest.raises(RuntimeError):  # torch agrees they do not broadcast
        torch.broadcast_shapes(*shapes)
    ports = ["condition", "input", "other"] if op == "where" else ["input", "other"]
    dtypes = {"condition": "bool"}
    leaves = [Node(f"a{i}", TENSOR, value=torch.zeros(s, dtype=getattr(torch, dtypes.get(p, "float32"))).tolist(),
                   dtype=dtypes.get(p, "float32")) for i, (s, p) in enumerate(zip(shapes, ports, strict=True))]
    g = make_graph([*leaves, Node("r", op)], [(f"a{i}", "r", p) for i, p in enumerate(ports)])
    dim, text = sizes
    shown = " and ".join(str(list(s)) for s in shapes)
    for make in (lambda: Compiled(g).infer_shapes(), lambda: Compiled(g).run("r")):
        with pytest.raises(GraphError) as raised:
            make()
        assert raised.value.message == (f"r: {op} of {shown}: they do not broadcast: at dimension {dim} (counted "
                                        f"from the last) the sizes are {text}, and torch needs them equal or 1")
        assert raised.value.node_ids[0] == "r"


@pytest.mark.parametrize(("shapes", "said"), [
    ([(2,), (3, 3)], "input's last dimension is 2 and other's second-to-last dimension is 3"),
    ([(2, 3), (4,)], "input's last dimension is 3 and other's only dimension is 4"),
    ([(5, 2, 3), (5, 4, 2)], "input's last dimension is 3 and other's second-to-last dimension is 4"),
])
def test_a_matmul_that_cannot_contract_says_so_in_the_graphs_shapes(shapes: list, said: str) -> None:
    """torch says "got [1, 2] X [3, 3]" of a [2] input (its 1-D input as a row): a shape the
    graph never shows."""
    with pytest.raises(RuntimeError):  # torch agrees
        torch.zeros(shapes[0]) @ torch.zeros(shapes[1])
    leaves = [Node(f"a{i}", TENSOR, value=torch.zeros(shape).tolist()) for i, shape in enumerate(shapes)]
    g = make_graph([*leaves, Node("r", "matmul")], [("a0", "r", "input"), ("a1", "r", "other")])
    shown = " and ".join(str(list(shape)) for shape in shapes)
    for make in (lambda: Compiled(g).infer_shapes(), lambda: Compiled(g).run("r")):
        with pytest.raises(GraphError) as raised:
            make()
        assert raised.value.message == f"r: matmul of {shown}: {said}; matmul needs them equal"
        assert tuple(raised.value.node_ids) == ("r", "a0", "a1")


def test_a_dim_out_of_range_that_torch_trips_on_first_is_said_in_the_graphs_words() -> None:
    """index_select's shape-only kernel raised "list assignment index out of range" before the
    catalogue's dim check could say which attribute is wrong."""
    with pytest.raises(IndexError):  # torch agrees: dim -3 of a 2-D tensor
        torch.index_select(torch.zeros(3, 2), -3, torch.tensor([0]))
    leaves = [Node("a", TENSOR, value=torch.zeros(3, 2).tolist()), Node("i", TENSOR, value=[2, 0], dtype="int64")]
    g = make_graph([*leaves, Node("r", "index_select", attrs={"dim": -3})], [("a", "r", "input"), ("i", "r", "index")])
    for make in (lambda: Compiled(g).infer_shapes(), lambda: Compiled(g).run("r")):
        with pytest.raises(GraphError) as raised:
            make()
        assert raised.value.message == "r: index_select of [3, 2] and [2]: dim -3 is out of range (expected -2 to 1)"


@pytest.mark.parametrize(("dims", "said"), [
    ([], "dims [] lists 0 dimension(s) and the input has 2: permute takes each of the input's dimensions once"),
    ([1], "dims [1] lists 1 dimension(s) and the input has 2: permute takes each of the input's dimensions once"),
])
def test_a_permute_of_too_few_dims_says_so_not_sparse_coo(dims: list, said: str) -> None:
    with pytest.raises(RuntimeError, match="sparse_coo"):  # torch's words name a layout the graph never has
        torch.zeros(2, 3).permute(dims)
    g = make_graph([Node("a", TENSOR, value=torch.zeros(2, 3).tolist()), Node("r", "permute", attrs={"dims": dims})],
                   [("a", "r", "input")])
    for make in (lambda: Compiled(g).infer_shapes(), lambda: Compiled(g).run("r")):
        with pytest.raises(GraphError) as raised:
            make()
        assert raised.value.message == f"r: permute of [2, 3]: {said}"


def test_the_derivatives_of_a_failing_node_say_it_cannot_run_not_that_it_does_not_exist() -> None:
    from autograd_bridge.calculus_tasks import Asked, differentiate_again, node_derivatives
    from autograd_bridge.cancel import CancelToken

    g = two_errors()
    session = ComputeSession()
    session.compute(g, "y", 1)
    for task in (lambda: node_derivatives(session, CancelToken(), g, Asked(1, "y"), "m"),
                 lambda: differentiate_again(session, CancelToken(), g, Asked(1, "y"), "m")):
        out = task()
        assert out.error == "m cannot run yet (it has an error, or an input of it has): no derivatives of it", out.error
    assert node_derivatives(session, CancelToken(), g, Asked(1, "y"), "x").error is None  # the rest still works


def test_a_wire_into_a_node_that_cannot_run_says_why_no_gradient_flows(qtbot, window) -> None:  # noqa: ANN001
    from graph.model import Edge

    w = window
    g = two_errors()
    g.add_node(Node("q", "sum"))
    g.add_edge(Edge("m", "q", "input"))  # q depends on m, which cannot run
    w._replace_document(g, None)  # noqa: SLF001
    w.doc.set_target("y")
    qtbot.waitUntil(lambda: w.run.current is not None and w.run.current.target == "y", timeout=RESULT_TIMEOUT_MS)
    state = w.scene.overview.flow
    w.scene.edges[Edge("w", "m", "other")].toolTip()  # asks for the flows
    qtbot.waitUntil(lambda: state.result is not None, timeout=RESULT_TIMEOUT_MS)
    lines = w.scene.edges[Edge("w", "m", "other")].toolTip().splitlines()
    assert lines[1] == "∂y/∂w via m.other: no gradient flows: y does not depend on m", lines  # said 'not computed'


def test_a_node_left_out_below_a_failing_node_says_what_it_waits_for(qtbot, window) -> None:  # noqa: ANN001
    """d = neg(m), m failing: d showed nothing on the canvas, and the inspector called m's error,
    with every other error of the graph, 'elsewhere in the graph'."""
    from graph.model import Edge

    g = two_errors()
    g.add_node(Node("d", "neg"))
    g.add_edge(Edge("m", "d", "input"))
    out = ComputeSession().compute(g, "y", 1)
    assert "d" not in out.nodes and out.blocked_by == {"d": ("m",)}
    assert out.error_of("d") == out.error_of("m")  # m's alone, not m2's too
    w = window
    w._replace_document(g, None)  # noqa: SLF001
    w.doc.set_target("y")
    qtbot.waitUntil(lambda: w.run.current is not None and w.run.current.target == "y", timeout=RESULT_TIMEOUT_MS)
    item = w.scene.nodes["d"]
    assert item.error is None and item.involved == "not computed: it depends on m, which fails"
    assert "not computed: it depends on m, which fails" in item.toolTip()
    w.scene.clearSelection()
    item.setSelected(True)
    assert w.inspector.result_box.note.text() == f"not computed: it depends on m, which fails: {out.error_of('m')}"


def _blocked_reference(g, errors_culprits: list[list[str]]) -> dict[str, list[int]]:  # noqa: ANN001
    """Independent of compute._blocking: every error's downstream by networkx (a wiring with
    cycles too), all of it: node -> the errors that stop it, in order."""
    import networkx as nx

    dag = nx.DiGraph()
    dag.add_nodes_from(g.nodes)
    dag.add_edges_from((e.src, e.dst) for e in g.edges)
    found: dict[str, list[int]] = {}
    for i, culprits in enumerate(errors_culprits):
        below = set().union(*(nx.descendants(dag, c) for c in culprits)) - set(culprits)
        for n in below:
            found.setdefault(n, []).append(i)
    return found


@pytest.mark.parametrize("seed", range(6))
def test_a_node_below_failing_nodes_names_the_first_few_and_their_errors(seed: int) -> None:
    """Random DAGs of adds with some inputs unfed: a left-out node names (blocked_by) the failing
    nodes of the first BLOCKED_NAMED errors above it, in the graph's order of errors, one more
    when there are more, and shows those errors' messages, as networkx's descendants say."""
    import random

    from autograd_bridge.compute import BLOCKED_NAMED

    rng = random.Random(seed)
    n = 40
    nodes = [Node("x", TENSOR, value=[1.0, 2.0], requires_grad=True)] + [Node(f"a{i}", "add") for i in range(n)]
    wires = []
    for i in range(n):
        for port in ("input", "other"):
            if rng.random() < 0.8:  # else unfed: a missing-input error on a{i}
                earlier = [f"a{j}" for j in range(i)] + ["x"]
                wires.append((rng.choice(earlier), f"a{i}", port))
    g = make_graph(nodes, wires)
    out = ComputeSession().compute(g, f"a{n - 1}", 1)
    failing = [f"a{i}" for i in range(n) if sum(w[1] == f"a{i}" for w in wires) < 2]
    assert list(out.failed()) == failing  # one missing-input error each, in the graph's order
    messages = out.error.split("; ")  # the status bar's line: every error's message, in order
    assert len(messages) == len(failing)
    expected = _blocked_reference(g, [[f] for f in failing])
    assert set(out.blocked_by) == set(expected)
    assert any(len(errs) > BLOCKED_NAMED for errs in expected.values())  # the cap is reached
    for node, errs in expected.items():
        assert out.blocked_by[node] == tuple(failing[i] for i in errs)[:BLOCKED_NAMED + 1], node
        own = [failing.index(node)] if node in failing else []
        more = "; and more errors upstream" if len(errs) > BLOCKED_NAMED else ""
        shown = own + errs[:BLOCKED_NAMED]  # its own error first
        assert out.node_errors[node] == "; ".join(messages[i] for i in shown) + more, node


def test_thousands_of_unfed_inputs_cost_one_pass_and_short_messages(monkeypatch) -> None:  # noqa: ANN001
    """A chain of 3,000 adds, each with its other input unfed (the canvas benchmark's graph):
    each error's downstream was walked one error at a time and every message was joined onto
    every node below it (a 5,000-node file computed for minutes, its last node's error text
    holding 2,500 messages). Now the last node names three and says there are more."""
    from autograd_bridge.compute import BLOCKED_NAMED
    from graph.model import Graph
    from gui.titles import involvement

    n = 3000
    g = make_graph([Node("x", TENSOR, value=[1.0], requires_grad=True)] + [Node(f"a{i}", "add") for i in range(n)],
                   [("x", "a0", "input")] + [(f"a{i - 1}", f"a{i}", "input") for i in range(1, n)])
    walks = []
    reached_from = Graph.reached_from
    monkeypatch.setattr(Graph, "descendants", lambda self, node: walks.append(node) or set())
    monkeypatch.setattr(Graph, "reached_from", lambda self, nodes: walks.append(nodes) or reached_from(self, nodes))
    out = ComputeSession().compute(g, f"a{n - 1}", 1)
    assert len(walks) == 1  # one walk down from every unfed node at once (Graph.incomplete), none per error
    last = f"a{n - 1}"
    assert out.blocked_by[last] == ("a0", "a1", "a2", "a3")[:BLOCKED_NAMED + 1]
    assert out.node_errors[last] == ("unconnected input: a2999.other; unconnected input: a0.other; "
                                     "unconnected input: a1.other; unconnected input: a2.other; "
                                     "and more errors upstream")
    assert len(out.node_errors[last]) < 200, out.node_errors[last][:300]
    assert involvement(g, last, out) == "not computed: it depends on a0, a1, a2 and others, which fail"


@pytest.mark.parametrize("seed", range(30))
def test_the_first_errors_that_stop_a_node_on_graphs_with_cycles(seed: int) -> None:
    """compute._blocking against every error's downstream by networkx, on random wirings with
    cycles (a file can hold one) and nodes that fail for two errors: a cycle's node once lost
    its fourth error, and with it the "and more" mark, to an error of the node it feeds."""
    import random

    from autograd_bridge.compute import BLOCKED_NAMED, _blocking
    from graph.model import Edge, Graph

    rng = random.Random(seed)
    ids = [f"n{i}" for i in range(14)]
    g = Graph()
    for n in ids:
        g.add_node(Node(n, "add"))
    for k, dst in enumerate(ids):
        for port in ("input", "other"):
            if rng.random() < 0.7:
                g.add_edge(Edge(rng.choice(ids[:k] if rng.random() < 0.8 and k else ids), dst, port))
    failing = [rng.sample(ids, rng.choice((1, 1, 1, 2, 3))) for _ in range(rng.randint(3, 9))]
    expected = _blocked_reference(g, failing)
    assert _blocking(g, failing) == {n: errs[:BLOCKED_NAMED + 1] for n, errs in expected.items()}


def test_a_cycle_of_half_wired_nodes_keeps_the_mark_that_more_errors_stop_a_node() -> None:
    """w, x, f on a cycle, all three half-wired, and a chain e1..e4 feeding f: w is stopped by
    e1, e2, e3, e4 and x. It named e1, e2, e3 without "and others" (the reviewer's case)."""
    from gui.titles import involvement

    nodes = [Node("x0", TENSOR, value=[1.0], requires_grad=True)] + [Node(i, "add") for i in
                                                                    ("w", "e1", "e2", "e3", "e4", "x", "f")]
    g = make_graph(nodes, [("f", "w", "input"), ("w", "x", "input"), ("x", "f", "input"), ("e4", "f", "other"),
                           ("x0", "e1", "input"), ("e1", "e2", "input"), ("e2", "e3", "input"), ("e3", "e4", "input")])
    out = ComputeSession().compute(g, None, 1)
    assert out.blocked_by["w"] == ("e1", "e2", "e3", "e4")
    assert out.node_errors["w"].endswith("; and more errors upstream")
    assert involvement(g, "w", out) == "not computed: it depends on e1, e2, e3 and others, which fail"
