"""graph/model.py and graph/ops.py, without torch or Qt."""

from __future__ import annotations

import dataclasses
import random
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import make_graph

from graph.errors import CycleError, GraphError, MissingInputError, ValueSpecError
from graph.model import Edge, Graph, Node
from graph.ops import CATEGORIES, OPS, TENSOR
from graph.values import check_attr

ROOT = Path(__file__).resolve().parent.parent


def tensor(node_id: str, value: object = 1.0) -> Node:
    return Node(node_id, TENSOR, value=value)


def chain() -> Graph:
    """x, w → mm = x @ w → s = sum(mm); y = neg(s); plus an unrelated leaf c."""
    return make_graph(
        [tensor("x", [[1.0, 2.0]]), tensor("w", [[1.0], [2.0]]), Node("mm", "matmul"),
         Node("s", "sum"), Node("y", "neg"), tensor("c")],
        [("x", "mm", "input"), ("w", "mm", "other"), ("mm", "s", "input"), ("s", "y", "input")],
    )


# ---- topological order and cycles ----

def test_topological_order_puts_inputs_first_and_keeps_file_order_for_ties() -> None:
    # Added in an order where an op comes before its input; independent nodes keep file order.
    g = make_graph([Node("y", "neg"), tensor("b"), tensor("a"), Node("sum_a", "sum")],
              [("b", "y", "input"), ("a", "sum_a", "input")])
    assert g.topological_order() == ["b", "y", "a", "sum_a"]


def test_topological_order_of_a_bigger_graph_respects_every_edge() -> None:
    g = chain()
    order = g.topological_order()
    assert sorted(order) == sorted(g.nodes)
    for e in g.edges:
        assert order.index(e.src) < order.index(e.dst)


def test_cycle_error_names_the_nodes_on_the_cycle() -> None:
    # a → b → c → a, fed from a tensor t through add, with d hanging off the cycle.
    g = make_graph(
        [tensor("t"), Node("a", "add"), Node("b", "neg"), Node("c", "exp"), Node("d", "neg")],
        [("t", "a", "input"), ("a", "b", "input"), ("b", "c", "input"), ("c", "a", "other"),
         ("c", "d", "input")],
    )
    with pytest.raises(CycleError) as info:
        g.topological_order()
    cycle = list(info.value.node_ids)
    assert sorted(cycle) == ["a", "b", "c"]
    # In order along the edges: each node feeds the next, and the last feeds the first.
    edges = {(e.src, e.dst) for e in g.edges}
    for i, n in enumerate(cycle):
        assert (n, cycle[(i + 1) % len(cycle)]) in edges
    for n in cycle:
        assert n in info.value.message
    assert isinstance(info.value, GraphError)


def test_self_loop_is_a_cycle_of_one() -> None:
    g = make_graph([Node("a", "neg")], [("a", "a", "input")])
    with pytest.raises(CycleError) as info:
        g.topological_order()
    assert info.value.node_ids == ("a",)


def test_validate_raises_cycle_error() -> None:
    g = make_graph([Node("a", "neg"), Node("b", "neg")], [("a", "b", "input"), ("b", "a", "input")])
    with pytest.raises(CycleError) as info:
        g.validate()
    assert sorted(info.value.node_ids) == ["a", "b"]


# ---- unconnected inputs ----

def test_check_connected_names_node_and_port() -> None:
    g = chain()
    g.remove_edge(Edge("w", "mm", "other"))
    with pytest.raises(MissingInputError) as info:
        g.check_connected()
    assert info.value.node_ids == ("mm",)
    assert "mm.other" in info.value.message
    assert "mm.input" not in info.value.message


def test_check_connected_names_every_missing_port() -> None:
    g = make_graph([tensor("x"), Node("m", "mul"), Node("l", "mse_loss")], [("x", "l", "target")])
    with pytest.raises(MissingInputError) as info:
        g.check_connected()
    assert set(info.value.node_ids) == {"m", "l"}
    for where in ("m.input", "m.other", "l.input"):
        assert where in info.value.message
    assert "l.target" not in info.value.message


def test_check_connected_can_be_limited_to_some_nodes() -> None:
    g = make_graph([tensor("x"), Node("ok", "neg"), Node("loose", "neg")], [("x", "ok", "input")])
    g.check_connected(["x", "ok"])
    with pytest.raises(MissingInputError) as info:
        g.check_connected(["loose"])
    assert info.value.node_ids == ("loose",)


def test_validate_raises_missing_input_error() -> None:
    g = chain()
    g.remove_edge(Edge("s", "y", "input"))
    with pytest.raises(MissingInputError) as info:
        g.validate()
    assert info.value.node_ids == ("y",)
    assert "y.input" in info.value.message


def test_validate_returns_the_order_of_a_good_graph() -> None:
    checked = chain().validate()
    assert checked.order == ("x", "w", "mm", "s", "y", "c")
    assert checked.inputs["mm"] == {"input": "x", "other": "w"}


def test_validate_checks_node_data() -> None:
    g = chain()
    g.replace_node(dataclasses.replace(g.nodes["w"], value=[[1.0], [2.0, 3.0]]))
    with pytest.raises(ValueSpecError) as info:
        g.validate()
    assert info.value.node_ids == ("w",)
    assert info.value.message.startswith("w:")


# ---- edge_refusal ----

def test_edge_refusal_accepts_a_good_edge() -> None:
    g = chain()
    g.add_node(Node("p", "mul"))
    assert g.edge_refusal("c", "p", "input") is None
    assert g.edge_refusal("y", "p", "other") is None


def test_edge_refusal_self_edge() -> None:
    g = chain()
    g.add_node(Node("p", "mul"))
    reason = g.edge_refusal("p", "p", "input")
    assert isinstance(reason, str) and "p" in reason


def test_edge_refusal_feeding_a_tensor() -> None:
    reason = chain().edge_refusal("y", "c", "input")
    assert isinstance(reason, str) and "c" in reason and "tensor" in reason


def test_edge_refusal_unknown_port() -> None:
    g = chain()
    g.add_node(Node("p", "neg"))
    reason = g.edge_refusal("c", "p", "other")
    assert isinstance(reason, str) and "other" in reason and "p" in reason


def test_edge_refusal_port_already_fed() -> None:
    reason = chain().edge_refusal("c", "mm", "other")
    assert isinstance(reason, str) and "mm.other" in reason and "w" in reason


def test_edge_refusal_cycle() -> None:
    g = chain()
    g.add_node(Node("p", "add"))
    g.add_edge(Edge("y", "p", "input"))
    # p depends on x → mm → s → y; feeding p back into an op upstream closes a loop.
    g.add_node(Node("q", "mul"))
    g.add_edge(Edge("q", "p", "other"))
    g.add_edge(Edge("x", "q", "input"))
    reason = g.edge_refusal("p", "q", "other")
    assert isinstance(reason, str) and "cycle" in reason
    # The refusal is right: adding the edge does make a cycle.
    g.add_edge(Edge("p", "q", "other"))
    with pytest.raises(CycleError):
        g.topological_order()


def test_edge_refusal_unknown_node() -> None:
    assert isinstance(chain().edge_refusal("ghost", "y", "input"), str)
    assert isinstance(chain().edge_refusal("c", "ghost", "input"), str)


def test_edge_refusal_does_not_change_the_graph() -> None:
    g = chain()
    before = g.copy()
    for args in [("y", "y", "input"), ("y", "c", "input"), ("c", "mm", "other"), ("y", "mm", "x")]:
        assert g.edge_refusal(*args) is not None
    assert g == before


# ---- equality, remove and restore ----

def test_graph_equality_sees_order_and_content() -> None:
    a, b = chain(), chain()
    assert a == b
    b.edges[0], b.edges[1] = b.edges[1], b.edges[0]
    assert a != b
    c = chain()
    _index, *rest = c.remove_node("x")
    c.restore_node((len(c.nodes), *rest))  # same nodes and edges, different order
    assert a != c
    d = chain()
    d.replace_node(dataclasses.replace(d.nodes["c"], requires_grad=True))
    assert a != d
    e = chain()
    e.set_position("c", (1.0, 2.0))  # layout is part of the document
    assert a != e
    assert a != "not a graph"


def test_remove_then_restore_node_gives_back_the_exact_graph() -> None:
    g = chain()
    g.add_node(Node("p", "add"), index=2)
    # Edges of mm interleaved with others, so that restoring must put each back at its index.
    g.add_edge(Edge("mm", "p", "input"), index=1)
    g.add_edge(Edge("c", "p", "other"))
    original = g.copy()
    assert [(e.src, e.dst) for e in g.edges] == [
        ("x", "mm"), ("mm", "p"), ("w", "mm"), ("mm", "s"), ("s", "y"), ("c", "p")]

    info = g.remove_node("mm")
    assert "mm" not in g.nodes
    assert all("mm" not in (e.src, e.dst) for e in g.edges)
    assert g.edges == [Edge("s", "y", "input"), Edge("c", "p", "other")]
    assert list(g.nodes) == ["x", "w", "p", "s", "y", "c"]

    g.restore_node(info)
    assert g == original
    assert list(g.nodes) == list(original.nodes)
    assert g.edges == original.edges


def test_undoing_several_removals_in_reverse_order_restores_everything() -> None:
    g = chain()
    original = g.copy()
    undo = [g.remove_node(n) for n in ("s", "x", "c", "mm")]
    assert list(g.nodes) == ["w", "y"] and g.edges == []
    for info in reversed(undo):
        g.restore_node(info)
    assert g == original


def _adjacency(g: Graph) -> tuple:
    """What Graph.__eq__ does not compare: who feeds whom, and each node's out-edges in order."""
    return g.all_inputs(), {n: list(g._consumers[n]) for n in g.nodes}  # noqa: SLF001


@pytest.mark.parametrize("seed", range(10))
def test_removing_many_nodes_at_once_is_removing_them_one_by_one_and_restore_gives_back_the_exact_graph(
        seed: int) -> None:
    from test_graph_edits import _random_dag

    from graph.groups import Group

    r = random.Random(seed)
    g = _random_dag(seed)
    g.groups = {"g1": Group("g1", None, None, False)}
    for i, n in enumerate(g.nodes):
        if i % 3:
            g.set_position(n, (float(i), 2.0 * i))
        if i % 4 == 1:
            g.group_of[n] = "g1"
    gone = r.sample(list(g.nodes), r.randint(1, len(g.nodes)))
    original, one_by_one = g.copy(), g.copy()
    for n in gone:
        one_by_one.remove_node(n)
    info = g.remove_nodes(gone)
    assert g == one_by_one and _adjacency(g) == _adjacency(one_by_one)
    assert not set(gone) & (set(g.nodes) | set(g.layout) | set(g.group_of))
    g.restore_nodes(info)
    assert g == original and _adjacency(g) == _adjacency(original)
    assert list(g.nodes) == list(original.nodes) and g.edges == original.edges


def test_remove_and_restore_edge() -> None:
    g = chain()
    original = g.copy()
    index = g.remove_edge(Edge("w", "mm", "other"))
    assert index == 1
    g.add_edge(Edge("w", "mm", "other"), index)
    assert g == original


def test_add_node_refuses_duplicate_id() -> None:
    g = chain()
    with pytest.raises(ValueError):
        g.add_node(tensor("x"))


def test_copy_is_deep() -> None:
    g = chain()
    g.set_position("x", (1.0, 2.0))
    h = g.copy()
    h.replace_node(dataclasses.replace(h.nodes["x"], value=[[99.0, 2.0]]))
    h.remove_edge(h.edges[-1])
    h.set_position("x", (5.0, 5.0))
    h.remove_node("c")
    assert g.nodes["x"].value == [[1.0, 2.0]] and len(g.edges) == 4 and "c" in g.nodes
    assert g.position("x") == (1.0, 2.0) and g.inputs_of("y") == {"input": "s"}
    with pytest.raises(dataclasses.FrozenInstanceError):  # nodes are values: shared, never changed
        h.nodes["x"].value = 1.0


def test_inputs_and_sinks() -> None:
    g = chain()
    assert g.inputs_of("mm") == {"input": "x", "other": "w"}
    assert g.all_inputs()["y"] == {"input": "s"}
    assert g.all_inputs()["x"] == {}
    assert g.sinks() == ["y", "c"]
    assert g.ancestors("s") == {"x", "w", "mm"}


# ---- layering ----

def test_graph_package_imports_neither_torch_nor_qt() -> None:
    code = ("import graph, graph.errors, graph.fileformat, graph.model, graph.ops, graph.values, sys; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'PySide6', 'pyqtgraph')]; "
            "assert not bad, bad")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr


# ---- the op catalogue ----

@pytest.mark.parametrize("name", sorted(OPS))
def test_catalogue_entry_is_complete(name: str) -> None:
    op = OPS[name]
    assert op.name == name
    assert op.function.startswith("torch.")
    assert op.function.rsplit(".", 1)[-1] == op.name
    assert op.inputs and len(set(op.inputs)) == len(op.inputs)
    assert all(p.isidentifier() for p in op.inputs)  # torch's argument names
    # Attributes of kind dim name dimensions of the first input (torch's `input`, split's
    # `tensor`): not of a variadic op's, whose first port is one of several (cat's tensors.0).
    assert not op.variadic or not any(a.is_dim for a in op.attrs)
    positional, keyword = op.passed_inputs()
    assert positional and positional + keyword == op.inputs
    assert set(op.no_grad_inputs) <= set(op.inputs)
    assert op.category in CATEGORIES
    assert isinstance(op.symbol, str) and op.symbol.strip()
    assert isinstance(op.rule, str) and op.rule.strip()
    assert set(op.example_shapes) == set(op.inputs)
    assert all(isinstance(d, int) and d > 0 for s in op.example_shapes.values() for d in s)
    names = [a.name for a in op.attrs]
    assert len(set(names)) == len(names)
    assert set(op.example_attrs) <= set(names)
    for a in op.attrs:
        assert a.name.isidentifier()
        check_attr(a, a.default)  # a new node starts valid
    for key, v in op.example_attrs.items():
        check_attr(op.attr(key), v)


def test_catalogue_does_not_use_the_tensor_name() -> None:
    assert TENSOR not in OPS
    assert len(CATEGORIES) == len(set(CATEGORIES))
    assert set(CATEGORIES) == {op.category for op in OPS.values()}


def test_a_fresh_node_of_every_op_passes_its_check() -> None:
    for name, op in OPS.items():
        Node("n", name, attrs={a.name: a.default for a in op.attrs if a.required}).check()
        with pytest.raises(ValueSpecError):
            Node("n", name, attrs={"no_such_attribute": 1}).check()


# ---- the order and cycles agree with networkx (which validate no longer builds) ----

def _random_graph(seed: int, n: int, back_edges: int) -> Graph:
    import random

    rnd = random.Random(seed)
    g = Graph()
    ids = [f"n{i}" for i in range(n)]
    rnd.shuffle(ids)  # file order differs from the wiring's order
    for node_id in ids:
        g.add_node(Node(node_id, "add"))
    rank = {node_id: int(node_id[1:]) for node_id in ids}
    for dst in ids:
        for port in ("input", "other"):
            srcs = [s for s in ids if rank[s] < rank[dst]]
            if srcs and rnd.random() < 0.8:
                g.add_edge(Edge(rnd.choice(srcs), dst, port))
    for _ in range(back_edges):  # an edge against the order makes a cycle
        dst = rnd.choice(ids)
        free = [p for p in ("input", "other") if p not in g.inputs_of(dst)]
        later = [s for s in ids if rank[s] > rank[dst]]
        if free and later:
            g.add_edge(Edge(rnd.choice(later), dst, free[0]))
    return g


@pytest.mark.parametrize("seed", range(20))
def test_topological_order_is_networkx_lexicographic_order(seed: int) -> None:
    import networkx as nx

    g = _random_graph(seed, 60, 0)
    rank = {n: i for i, n in enumerate(g.nodes)}
    assert g.topological_order() == list(nx.lexicographical_topological_sort(g.to_networkx(),
                                                                             key=rank.__getitem__))


@pytest.mark.parametrize("seed", range(20))
def test_a_cycle_found_is_a_cycle_of_the_graph(seed: int) -> None:
    g = _random_graph(seed, 40, 12)
    try:
        g.topological_order()
    except CycleError as e:
        cycle = list(e.node_ids)
        edges = {(x.src, x.dst) for x in g.edges}
        assert all((a, cycle[(i + 1) % len(cycle)]) in edges for i, a in enumerate(cycle)), cycle
        assert len(set(cycle)) == len(cycle) and e.message == "cycle: " + " → ".join([*cycle, cycle[0]])
    else:
        import networkx as nx

        assert nx.is_directed_acyclic_graph(g.to_networkx())
