"""autograd_bridge.wire: graph deltas keep the compute process's graph equal to the GUI's through
random edit sequences (and refuse one out of sequence); results come back field for field, with
no torch on the decoding side."""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from autograd_bridge.cancel import CancelToken
from autograd_bridge.compute import ComputeResult, ComputeSession, NodeView
from autograd_bridge.wire import (
    FullGraph,
    GraphDelta,
    GraphReceiver,
    GraphSender,
    decode_result,
    encode_result,
)
from graph.fileformat import load
from graph.model import Edge, Graph, Node, new_node
from graph.ops import OPS, TENSOR

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.json"))
numbers = st.floats(-10, 10, allow_nan=False).map(lambda v: round(v, 3))


def sent(message: object) -> object:
    """What the other process gets: the message through pickle."""
    return pickle.loads(pickle.dumps(message, pickle.HIGHEST_PROTOCOL))


def assert_same_graph(got: Graph, want: Graph) -> None:
    """Equal, and the adjacency maps answer as the sender's do."""
    assert got == want.snapshot()
    assert list(got.nodes) == list(want.nodes)
    for n in want.nodes:
        assert got.inputs_of(n) == want.inputs_of(n)
        assert sorted(got.consumers_of(n)) == sorted(want.consumers_of(n))
    assert got.sinks() == want.sinks()
    assert got.missing_inputs() == want.missing_inputs()


# ---- graphs ----

class WireMachine(RuleBasedStateMachine):
    """Edits through the graph API, as the GUI's undo commands make them, with the graph sent
    to a receiver at random points (several edits may go in one delta) and the compute process
    restarted now and then."""

    def __init__(self) -> None:
        super().__init__()
        self.graph = Graph()
        self.sender, self.receiver = GraphSender(), GraphReceiver()
        self.removed: list[tuple] = []  # what remove_node returned, for restore_node (undo)
        self.made = 0

    def _new_id(self, stem: str) -> str:
        self.made += 1
        return f"{stem}{self.made}"

    def sync(self) -> object:
        message = self.sender.message(self.graph)
        assert_same_graph(self.receiver.apply(sent(message)), self.graph)
        return message

    @rule(value=numbers, vector=st.booleans(), index=st.none() | st.integers(0, 8))
    def add_tensor(self, value: float, vector: bool, index: int | None) -> None:
        node = Node(self._new_id("t"), TENSOR, value=[value, -value] if vector else value, requires_grad=True)
        self.graph.add_node(node, index)

    @rule(op=st.sampled_from(sorted(OPS)), index=st.none() | st.integers(0, 8))
    def add_op(self, op: str, index: int | None) -> None:
        self.graph.add_node(new_node(op, self._new_id(op)), index)

    @precondition(lambda self: self.graph.nodes)
    @rule(data=st.data())
    def remove(self, data: st.DataObject) -> None:
        self.removed.append(self.graph.remove_node(data.draw(st.sampled_from(list(self.graph.nodes)))))

    @precondition(lambda self: self.removed)
    @rule()
    def restore(self) -> None:
        """Undo of the last removal: the node back at its index, its edges back at theirs."""
        info = self.removed.pop()
        node_id, edges = info[1].id, [e for _i, e in info[2]]
        if (node_id not in self.graph.nodes
                and all({e.src, e.dst} - {node_id} <= self.graph.nodes.keys() for e in edges)
                and all(e.port not in self.graph.inputs_of(e.dst) for e in edges if e.dst != node_id)):
            self.graph.restore_node(info)

    @precondition(lambda self: len(self.graph.nodes) >= 2)
    @rule(data=st.data(), at_end=st.booleans())
    def connect(self, data: st.DataObject, at_end: bool) -> None:
        ops = [n for n, node in self.graph.nodes.items() if node.ports]
        if not ops:
            return
        dst = data.draw(st.sampled_from(ops))
        src = data.draw(st.sampled_from([n for n in self.graph.nodes if n != dst]))
        port = data.draw(st.sampled_from(self.graph.nodes[dst].ports))
        if self.graph.edge_refusal(src, dst, port) is None:
            index = None if at_end else data.draw(st.integers(0, len(self.graph.edges)))
            self.graph.add_edge(Edge(src, dst, port), index)

    @precondition(lambda self: self.graph.edges)
    @rule(data=st.data())
    def cut(self, data: st.DataObject) -> None:
        self.graph.remove_edge(data.draw(st.sampled_from(list(self.graph.edges))))

    @precondition(lambda self: len(self.graph.nodes) >= 2 and any(
        node.is_tensor for node in self.graph.nodes.values()))
    @rule(data=st.data(), value=numbers)
    def edit_value(self, data: st.DataObject, value: float) -> None:
        """A value edit sends the one node it changed, nothing else."""
        self.sync()
        n = data.draw(st.sampled_from([n for n, node in self.graph.nodes.items() if node.is_tensor]))
        self.graph.replace_node(dataclasses.replace(self.graph.nodes[n], value=value))
        message = self.sync()
        assert isinstance(message, GraphDelta)
        assert [row[0] for row in message.nodes] == [n]
        assert (message.removed, message.order, message.edges) == ([], None, None)

    @precondition(lambda self: self.graph.nodes)
    @rule(data=st.data(), label=st.none() | st.text(max_size=5))
    def relabel(self, data: st.DataObject, label: str | None) -> None:
        n = data.draw(st.sampled_from(list(self.graph.nodes)))
        self.graph.replace_node(dataclasses.replace(self.graph.nodes[n], label=label))

    @rule(seed=st.integers(0, 2**31))
    def reseed(self, seed: int) -> None:
        self.graph.seed = seed

    @rule()
    def send(self) -> None:
        self.sync()

    @rule()
    def restart(self) -> None:
        """The compute process restarted: a fresh receiver, and the sender starts again."""
        self.receiver = GraphReceiver()
        self.sender.reset()
        assert isinstance(self.sync(), FullGraph)

    def teardown(self) -> None:
        self.sync()


WireMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
TestWire = WireMachine.TestCase


def chain(n: int) -> Graph:
    graph = Graph()
    graph.add_node(Node("x", TENSOR, value=0.5, requires_grad=True))
    for i in range(n):
        graph.add_node(Node(f"t{i}", "tanh"))
        graph.add_edge(Edge("x" if i == 0 else f"t{i - 1}", f"t{i}", "input"))
    return graph


def test_the_first_message_and_one_after_most_nodes_changed_are_full() -> None:
    graph, sender, receiver = chain(10), GraphSender(), GraphReceiver()
    assert isinstance(sender.message(graph), FullGraph)
    sender.reset()
    receiver.apply(sent(sender.message(graph)))
    for n in list(graph.nodes)[:8]:
        graph.replace_node(dataclasses.replace(graph.nodes[n], label="new"))
    message = sender.message(graph)
    assert isinstance(message, FullGraph)
    assert_same_graph(receiver.apply(sent(message)), graph)


def test_an_edge_added_at_the_end_sends_that_edge_alone() -> None:
    graph, sender, receiver = chain(10), GraphSender(), GraphReceiver()
    receiver.apply(sent(sender.message(graph)))
    graph.add_node(Node("s", "sin"))
    graph.add_edge(Edge("t3", "s", "input"))
    message = sender.message(graph)
    assert isinstance(message, GraphDelta)
    assert [row[0] for row in message.nodes] == ["s"]
    assert message.edges == (len(graph.edges) - 1, len(graph.edges) - 1, [("t3", "s", "input")])
    assert_same_graph(receiver.apply(sent(message)), graph)


def test_undo_of_a_cut_and_of_a_delete_puts_edges_and_nodes_back_in_their_places() -> None:
    graph, sender, receiver = chain(10), GraphSender(), GraphReceiver()
    receiver.apply(sent(sender.message(graph)))
    edge = graph.edges[3]
    index = graph.remove_edge(edge)
    assert_same_graph(receiver.apply(sent(sender.message(graph))), graph)
    graph.add_edge(edge, index)  # back in the middle of the list, as undo puts it
    message = sender.message(graph)
    assert message.edges == (3, 3, [("t2", "t3", "input")])
    assert_same_graph(receiver.apply(sent(message)), graph)
    info = graph.remove_node("t5")
    assert_same_graph(receiver.apply(sent(sender.message(graph))), graph)
    graph.restore_node(info)
    message = sender.message(graph)
    assert message.order == list(graph.nodes)
    assert_same_graph(receiver.apply(sent(message)), graph)


def test_a_delta_out_of_sequence_is_refused_and_a_full_message_recovers() -> None:
    graph, sender, receiver = chain(5), GraphSender(), GraphReceiver()
    graph.replace_node(dataclasses.replace(graph.nodes["x"], value=1.0))
    first = sender.message(graph)
    with pytest.raises(ValueError, match="holds none"):  # a new process: nothing to apply to
        receiver.apply(sent(GraphDelta(first.seq, first.seq + 1, [], [], None, None, 0)))
    receiver.apply(sent(first))
    graph.replace_node(dataclasses.replace(graph.nodes["x"], value=2.0))
    skipped = sender.message(graph)  # never delivered
    graph.replace_node(dataclasses.replace(graph.nodes["x"], value=3.0))
    later = sender.message(graph)
    with pytest.raises(ValueError, match=f"applies to graph {skipped.seq}.*holds graph {first.seq}"):
        receiver.apply(sent(later))
    receiver.apply(sent(skipped))
    receiver.apply(sent(later))
    with pytest.raises(ValueError, match="applies to graph"):  # the same delta twice
        receiver.apply(sent(later))
    sender.reset()
    assert_same_graph(receiver.apply(sent(sender.message(graph))), graph)


def test_a_delta_that_does_not_fit_the_graph_held_is_refused_and_then_only_a_full_one_is_taken() -> None:
    graph, sender, receiver = chain(5), GraphSender(), GraphReceiver()
    receiver.apply(sent(sender.message(graph)))
    bad = GraphDelta(1, 2, [], ["nowhere"], None, None, 0)
    with pytest.raises(ValueError, match="graph delta 2 does not apply"):
        receiver.apply(bad)
    with pytest.raises(ValueError, match="holds none"):
        receiver.apply(GraphDelta(2, 3, [], [], None, None, 0))
    with pytest.raises(ValueError, match="not a graph message"):
        receiver.apply(("full", []))
    sender.reset()
    assert_same_graph(receiver.apply(sent(sender.message(graph))), graph)


# ---- results ----

def assert_same_result(got: ComputeResult, want: ComputeResult) -> None:
    for f in dataclasses.fields(ComputeResult):
        if f.name != "nodes":
            assert getattr(got, f.name) == getattr(want, f.name), f.name
            assert type(getattr(got, f.name)) is type(getattr(want, f.name)), f.name
    assert list(got.nodes) == list(want.nodes)
    for n, view in want.nodes.items():
        assert type(got.nodes[n]) is NodeView
        for f in dataclasses.fields(NodeView):
            a, b = getattr(got.nodes[n], f.name), getattr(view, f.name)
            if isinstance(b, np.ndarray):
                assert type(a) is np.ndarray, (n, f.name)
                assert (a.shape, a.dtype, a.tobytes()) == (b.shape, b.dtype, b.tobytes()), (n, f.name)
            else:
                assert (type(a), a) == (type(b), b), (n, f.name)


def round_trip(result: ComputeResult) -> ComputeResult:
    return decode_result(sent(encode_result(result)))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
@pytest.mark.parametrize("with_target", [True, False])
def test_every_example_result_comes_back_field_for_field(path: Path, with_target: bool) -> None:
    graph = load(path)
    target = (graph.target or list(graph.nodes)[-1]) if with_target else None
    result = ComputeSession().compute(graph, target, 7, grad_output=graph.grad_output if with_target else None)
    assert result.nodes and result.error is None
    assert_same_result(round_trip(result), result)


def test_a_result_with_an_error_on_one_node_comes_back() -> None:
    graph = load(EXAMPLES[0])
    graph.add_node(Node("loose", "matmul"))  # no inputs: an error on this node, the rest computes
    graph.add_node(Node("pair", TENSOR, value=[1.0, 2.0], requires_grad=True))
    graph.add_node(Node("triple", TENSOR, value=[1.0, 2.0, 3.0]))
    graph.add_node(Node("mm", "matmul"))
    graph.add_edge(Edge("pair", "mm", "input"))
    graph.add_edge(Edge("triple", "mm", "other"))  # 2 by 3: fails on mm
    result = ComputeSession().compute(graph, list(graph.nodes)[0], 3)
    assert result.error and {"loose", "mm"} <= set(result.error_nodes) and result.nodes
    assert_same_result(round_trip(result), result)


def test_cancelled_and_over_budget_results_come_back() -> None:
    graph = load(EXAMPLES[-1])
    token = CancelToken()
    token.cancel()
    cancelled = ComputeSession().compute(graph, graph.target, 4, cancel=token)
    assert cancelled.cancelled
    assert_same_result(round_trip(cancelled), cancelled)
    over = ComputeSession().compute(graph, graph.target, 5, memory_limit=1)
    assert over.over_budget is not None and over.error_nodes
    assert_same_result(round_trip(over), over)


arrays = st.none() | hnp.arrays(st.sampled_from(["float64", "float32", ">f8", "int64", "bool"]),
                                st.sampled_from([(), (), (0,), (3,), (2, 2), (1, 0, 2)]))
views = st.builds(NodeView, st.sampled_from([(), (3,), (2, 2)]), st.booleans(), st.text(max_size=4),
                  st.none() | st.text(max_size=4), st.none() | st.text(max_size=4), arrays, arrays, arrays, arrays)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=4), views, max_size=12), st.booleans())
def test_any_views_come_back_bit_for_bit(nodes: dict[str, NodeView], flag: bool) -> None:
    """Arrays of any dtype and shape (0-d, empty; NaN and -0.0 bit for bit) and None, mixed."""
    result = ComputeResult(3, "t", nodes, notes=["a note"], error="e", error_nodes=("t",), grad_output=[1.0, 2.0],
                           dtype="float32", nonfinite={"t": "NaN in the value"}, nonfinite_spread=frozenset({"t"}),
                           cancelled=flag, over_budget=(10, 5) if flag else None)
    assert_same_result(round_trip(result), result)


DECODE_WITHOUT_TORCH = """
import pickle, sys
sys.modules["torch"] = None  # any import of torch fails
from autograd_bridge.wire import decode_result
with open(sys.argv[1], "rb") as f:
    result = decode_result(pickle.load(f))
assert not any(m == "torch" or m.startswith("torch.") for m in sys.modules if sys.modules[m] is not None)
with open(sys.argv[1], "wb") as f:
    pickle.dump(result, f)
"""


def test_decoding_needs_no_torch(tmp_path: Path) -> None:
    graph = load(EXAMPLES[-1])
    result = ComputeSession().compute(graph, graph.target, 2)
    path = tmp_path / "result.pickle"
    path.write_bytes(pickle.dumps(encode_result(result)))
    subprocess.run([sys.executable, "-c", DECODE_WITHOUT_TORCH, str(path)], cwd=ROOT, check=True, timeout=60)
    assert_same_result(pickle.loads(path.read_bytes()), result)
