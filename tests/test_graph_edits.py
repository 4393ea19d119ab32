"""graph.edits and graph.layout without Qt: ids for new nodes and the auto-layout's spacing.

The layout is checked with the geometry the canvas draws (graph.edits.NODE_W, node_height and
the port heights): no two node boxes overlap, and no wire's straight line from its output dot
to its input port runs through a third node's box, for every example and for random DAGs.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from pathlib import Path

import pytest
from helpers import add_two_node_cycle

from graph.edits import (
    FRAME_HEADER,
    FRAME_PAD,
    HEADER_H,
    NODE_W,
    PORT_H,
    PORT_R,
    POS_LIMIT,
    input_port_y,
    input_port_ys,
    new_node_id,
    node_height,
    segment_hits_box,
    usable_pos,
    wire_segment,
)
from graph.fileformat import load
from graph.groups import Group
from graph.layout import layered_positions
from graph.model import Edge, Graph, Node, new_node
from graph.ops import OPS
from graph.ops.spec import VARIADIC_COUNT

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "resources" / "examples").glob("*.json"))


# ---- ids for new nodes ----

def _graph_with(*ids: str) -> Graph:
    g = Graph()
    for n in ids:
        g.add_node(Node(n, "tensor", value=1.0))
    return g


def test_leaves_are_named_a_b_c_skipping_ids_in_use() -> None:
    g = Graph()
    got = []
    for _ in range(4):
        n = new_node_id(g, "tensor")
        got.append(n)
        g.add_node(Node(n, "tensor", value=1.0))
    assert got == ["a", "b", "c", "d"]
    assert new_node_id(_graph_with("a", "c"), "tensor") == "b"
    assert new_node_id(_graph_with("a"), "tensor", taken={"b"}) == "c"


def test_after_z_leaves_go_on_with_a2() -> None:
    g = _graph_with(*"abcdefghijklmnopqrstuvwxyz")
    assert new_node_id(g, "tensor") == "a2"
    g.add_node(Node("a2", "tensor", value=1.0))
    assert new_node_id(g, "tensor") == "b2"


def test_ops_are_named_by_op_and_counter_skipping_ids_in_use() -> None:
    g = Graph()
    assert new_node_id(g, "mul") == "mul1"
    g.add_node(Node("mul1", "mul"))
    assert new_node_id(g, "mul") == "mul2"
    assert new_node_id(g, "add") == "add1"
    g.add_node(Node("mul3", "tensor", value=1.0))  # any node holding the id, whatever its op
    g.add_node(Node("mul2", "mul"))
    assert new_node_id(g, "mul") == "mul4"
    assert new_node_id(g, "log_softmax", taken={"log_softmax1"}) == "log_softmax2"


# ---- layout ----

def _check_layout(g: Graph, pos: dict[str, tuple[float, float]]) -> None:
    assert set(pos) == set(g.nodes)
    boxes = {n: (x, y, NODE_W, node_height(g, n)) for n, (x, y) in pos.items()}
    for a, b in itertools.combinations(boxes, 2):
        ax, ay, aw, ah = boxes[a]
        bx, by, bw, bh = boxes[b]
        assert not (ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah), f"{a} overlaps {b}"
    for e in g.edges:
        seg = wire_segment(g, e, pos)
        for n, box in boxes.items():
            if n not in (e.src, e.dst):
                assert not segment_hits_box(seg, box), f"the wire {e.src} → {e.dst}.{e.port} runs through {n}"


def _random_dag(seed: int, n: int = 40, window: int | None = None) -> Graph:
    """Leaves, unary ops and binary adds, each op fed by random earlier nodes (from the last
    `window` ones, or any)."""
    r = random.Random(seed)
    unary = [op for op, spec in OPS.items() if spec.inputs == ("input",) and not spec.attrs]
    g = Graph()
    ids: list[str] = []
    for i in range(n):
        pool = ids[-window:] if window else ids
        if i < 2 or r.random() < 0.25:
            g.add_node(Node(f"t{i}", "tensor", value=1.0))
        elif r.random() < 0.5:
            g.add_node(Node(f"n{i}", "add"))
            a, b = r.sample(pool, 2)
            g.add_edge(Edge(a, f"n{i}", "input"))
            g.add_edge(Edge(b, f"n{i}", "other"))
        else:
            g.add_node(Node(f"n{i}", r.choice(unary)))
            g.add_edge(Edge(r.choice(pool), f"n{i}", "input"))
        ids.append(list(g.nodes)[-1])
    return g


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_layout_of_the_examples_keeps_nodes_apart_and_wires_off_nodes(path: Path) -> None:
    g = load(path)
    _check_layout(g, layered_positions(g))


@pytest.mark.parametrize("seed", range(12))
def test_layout_of_random_dags_keeps_nodes_apart_and_wires_off_nodes(seed: int) -> None:
    g = _random_dag(seed, window=None if seed % 2 else 6)
    _check_layout(g, layered_positions(g))


def test_columns_leave_room_for_wires_and_rows_for_the_tallest_node() -> None:
    """A chain with a side input: columns are NODE_W + COLUMN_GAP apart, stacked nodes ROW_GAP."""
    g = Graph()
    g.add_node(Node("x", "tensor", value=1.0))
    g.add_node(Node("w", "tensor", value=2.0))
    g.add_node(Node("v", "tensor", value=3.0))
    g.add_node(Node("m", "mul"))
    g.add_edge(Edge("x", "m", "input"))
    g.add_edge(Edge("w", "m", "other"))
    g.add_node(Node("s", "sin"))
    g.add_edge(Edge("m", "s", "input"))
    pos = layered_positions(g)
    # Free space between columns: far more than a port dot (PORT_R = 5) and its wire's bend.
    assert pos["m"][0] - pos["x"][0] - NODE_W >= 100
    assert pos["s"][0] - pos["m"][0] - NODE_W >= 100
    column = sorted((pos[n][1], n) for n in ("x", "w"))
    (y0, first), (y1, _second) = column
    assert y1 - y0 - node_height(g, first) >= 40
    assert pos["v"] is not None  # an unused leaf still gets a place
    _check_layout(g, pos)


def test_a_leaf_sits_just_before_its_first_consumer() -> None:
    """example 04's W2 feeds the fourth op: it stands in the column before it, not at the far left."""
    g = load(EXAMPLES[3])
    pos = layered_positions(g)
    columns = sorted({x for x, _y in pos.values()})
    assert columns.index(pos["W2"][0]) == columns.index(pos["out"][0]) - 1
    assert columns.index(pos["b1"][0]) == columns.index(pos["h_pre"][0]) - 1
    assert pos["inp"][0] == columns[0]


def test_a_wire_that_skips_columns_is_kept_off_the_node_it_would_cross() -> None:
    """x feeds both the first and the last op of a chain; the straight wire to the last one
    would run through the chain's middle nodes if they were stacked level with their inputs."""
    g = Graph()
    g.add_node(Node("x", "tensor", value=1.0))
    prev = "x"
    for i in range(4):
        g.add_node(Node(f"u{i}", "sin"))
        g.add_edge(Edge(prev, f"u{i}", "input"))
        prev = f"u{i}"
    g.add_node(Node("m", "mul"))
    g.add_edge(Edge(prev, "m", "input"))
    g.add_edge(Edge("x", "m", "other"))
    pos = layered_positions(g)
    _check_layout(g, pos)
    # Were every node level with the leaf (plain stacking), this wire would run through the
    # chain: the check had work to do.
    level = {n: (pos[n][0], pos["x"][1]) for n in pos}
    wire = wire_segment(g, Edge("x", "m", "other"), level)
    assert any(segment_hits_box(wire, (x, y, NODE_W, node_height(g, n)))
               for n, (x, y) in level.items() if n.startswith("u"))


def test_segment_hits_box() -> None:
    box = (100.0, 100.0, 50.0, 50.0)
    assert segment_hits_box((0, 125, 300, 125), box)  # straight through
    assert not segment_hits_box((0, 90, 300, 90), box)  # above
    assert segment_hits_box((0, 90, 300, 90), box, clearance=12)  # within the clearance
    assert segment_hits_box((0, 0, 300, 300), box)  # diagonal through the middle
    assert not segment_hits_box((0, 200, 100, 300), box)  # ends before it
    assert not segment_hits_box((0, 0, 300, 60), box)  # passes above it, sloping


def test_a_cycle_has_no_layout() -> None:
    g = Graph()
    add_two_node_cycle(g)
    assert layered_positions(g) == {}


# ---- layout with groups: frames clear of what is not in them ----

def _box(g: Graph, pos: dict[str, tuple[float, float]], n: str) -> tuple[float, float, float, float]:
    x, y = pos[n]
    return (x - PORT_R, y, x + NODE_W + PORT_R, y + node_height(g, n))


def _within(g: Graph, group_id: str) -> set[str]:
    """The nodes in the group or nested in it, by walking each node's chain of parents."""
    found = set()
    for n, grp in g.group_of.items():
        while grp is not None:
            if grp == group_id:
                found.add(n)
            grp = g.groups[grp].parent
    return found


def _frame(g: Graph, pos: dict[str, tuple[float, float]], group_id: str) -> tuple[float, float, float, float] | None:
    """The frame gui.canvas.groups draws: around the boxes of the nodes directly in it and the
    frames of the groups nested in it, FRAME_PAD around, the title band above."""
    boxes = [_box(g, pos, n) for n, grp in g.group_of.items() if grp == group_id]
    boxes += [f for c, grp in g.groups.items() if grp.parent == group_id and (f := _frame(g, pos, c)) is not None]
    if not boxes:
        return None
    return (min(b[0] for b in boxes) - FRAME_PAD, min(b[1] for b in boxes) - FRAME_PAD - FRAME_HEADER,
            max(b[2] for b in boxes) + FRAME_PAD, max(b[3] for b in boxes) + FRAME_PAD)


def _meet(a: tuple, b: tuple) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _check_frames(g: Graph, pos: dict[str, tuple[float, float]]) -> None:
    assert set(pos) == set(g.nodes)
    for a, b in itertools.combinations(g.nodes, 2):
        assert not _meet(_box(g, pos, a), _box(g, pos, b)), f"{a} overlaps {b}"
    within = {grp: _within(g, grp) for grp in g.groups}
    frames = {grp: _frame(g, pos, grp) for grp in g.groups if within[grp]}
    for grp, frame in frames.items():
        for n in g.nodes:
            if n not in within[grp]:
                assert not _meet(_box(g, pos, n), frame), f"{n} lies under group {grp}'s frame"
    for a, b in itertools.combinations(frames, 2):
        if not (within[a] <= within[b] or within[b] <= within[a]):  # neither holds the other
            assert not _meet(frames[a], frames[b]), f"groups {a} and {b} overlap"


def _random_groups(g: Graph, seed: int) -> Graph:
    """Groups of runs of consecutive nodes (as a module's are), some nested in others."""
    r = random.Random(seed)
    ids = list(g.nodes)
    for k in range(r.randint(2, 6)):
        start = r.randrange(len(ids))
        run = ids[start:start + r.randint(1, 8)]
        parents = {g.group_of.get(n) for n in run}
        parent = parents.pop() if len(parents) == 1 else None  # inside the group holding them all
        if parent is None and any(n in g.group_of for n in run):
            continue  # would cut across a group
        g.groups[f"g{k}"] = Group(f"g{k}", parent=parent)
        for n in run:
            g.group_of[n] = f"g{k}"
    return g


@pytest.mark.parametrize("seed", range(16))
def test_layout_of_random_dags_with_groups_keeps_frames_off_other_nodes_and_frames(seed: int) -> None:
    g = _random_groups(_random_dag(seed, window=None if seed % 2 else 6), seed)
    assert g.groups
    _check_frames(g, layered_positions(g))


def test_a_group_on_the_first_example_clears_the_node_above_it() -> None:
    """x and x_sq grouped in example 01: 'two' sits level with them in its column, under the
    frame's title band, until the layout knows about groups."""
    g = load(EXAMPLES[0])
    g.groups["grp"] = Group("grp")
    g.group_of.update({"x": "grp", "x_sq": "grp"})
    _check_frames(g, layered_positions(g))


def test_an_imported_cnn_lays_out_with_its_module_frames_apart() -> None:
    torch = pytest.importorskip("torch")
    from test_import_groups import NestedCNN, _example

    from autograd_bridge.fx_import import import_module

    g = import_module(NestedCNN().eval(), _example()).graph
    assert len(g.groups) >= 5
    _check_frames(g, g.layout)
    del torch


def test_a_long_chain_wraps_into_bands_between_groups_not_through_them() -> None:
    """A 900-op chain (wrapped into bands) with a group of 20 ops every 60: no group is cut in
    two by a wrap, so each one's nodes run left to right in one band."""
    g = Graph()
    g.add_node(Node("x", "tensor", value=1.0))
    chain = []
    for i in range(900):
        chain.append(f"n{i}")
        g.add_node(Node(f"n{i}", "neg"))
        g.add_edge(Edge(chain[-2] if i else "x", f"n{i}", "input"))
    for k in range(15):
        g.groups[f"g{k}"] = Group(f"g{k}")
        g.group_of.update({n: f"g{k}" for n in chain[k * 60 + 30:k * 60 + 50]})
    pos = layered_positions(g)
    rows = {y for x, y in pos.values()}
    assert len(rows) > 1  # it did wrap
    for k in range(15):
        xs = [pos[n][0] for n in chain[k * 60 + 30:k * 60 + 50]]
        assert xs == sorted(xs) and len(set(xs)) == len(xs), f"group g{k} is split across bands"
    _check_frames(g, pos)


def _weighted_chain(ops: int, group: str | None = None) -> Graph:
    """x, then `ops` muls m0, m1, … each of the one before and a leaf w0, w1, … of its own; with
    `group`, every mul and its leaf in that group."""
    g = Graph()
    g.add_node(Node("x", "tensor", value=1.0))
    if group is not None:
        g.groups[group] = Group(group)
    prev = "x"
    for i in range(ops):
        g.add_node(Node(f"w{i}", "tensor", value=1.0))
        g.add_node(Node(f"m{i}", "mul"))
        g.add_edge(Edge(prev, f"m{i}", "input"))
        g.add_edge(Edge(f"w{i}", f"m{i}", "other"))
        if group is not None:
            g.group_of.update({f"w{i}": group, f"m{i}": group})
        prev = f"m{i}"
    return g


def test_a_models_input_stays_beside_its_first_stage_when_that_stage_wraps_over_bands() -> None:
    """A stage group of 300 ops wraps over several bands, so its frame covers their whole width,
    the input's column too. The input stays in the first band, beside the stage's first op (by
    the frames' tops it went below the whole stage, thousands of units away)."""
    g = _weighted_chain(300, group="stage")
    pos = layered_positions(g)
    assert any(pos[f"m{i}"][0] < pos[f"m{i - 1}"][0] for i in range(1, 300))  # it did wrap
    _check_frames(g, pos)
    stage_top = min(y for n, (_, y) in pos.items() if n != "x")
    assert pos["x"][1] < stage_top + 300 and pos["x"][0] < pos["m0"][0], (pos["x"], stage_top)


def test_where_a_long_chain_wraps_a_leaf_goes_with_its_consumer_into_the_next_band() -> None:
    """A 600-op chain, each op a mul of the one before and a leaf of its own: wrapped into bands,
    every leaf stands one column before its consumer, level with the band it feeds."""
    g = _weighted_chain(600)
    pos = layered_positions(g)
    wraps = [i for i in range(1, 600) if pos[f"m{i}"][0] < pos[f"m{i - 1}"][0]]
    assert wraps  # it did wrap
    pitch = pos["m1"][0] - pos["m0"][0]
    for i in range(600):
        (lx, ly), (mx, my) = pos[f"w{i}"], pos[f"m{i}"]
        assert lx == mx - pitch and abs(ly - my) < 400, (i, pos[f"w{i}"], pos[f"m{i}"])
    _check_frames(g, pos)  # nodes apart (a wire that wraps to the next band may cross a node)


def test_a_dense_dag_of_two_thousand_nodes_stays_within_reach() -> None:
    """Keeping every wire off nodes used to push nodes ever further down, column after column
    (8.5 million units tall here, near POS_LIMIT); a node now gives that up past a few columns'
    height, and only its own column keeps it from overlapping."""
    g = _random_dag(3, n=2000, window=30)
    pos = layered_positions(g)
    width = max(x for x, _ in pos.values()) + NODE_W
    height = max(y + node_height(g, n) for n, (_, y) in pos.items())
    assert height < 20 * width, (width, height)
    _check_frames(g, pos)


def test_groups_scattered_over_a_big_graph_never_push_it_past_usable_positions() -> None:
    """500 nested groups of consecutive ids over a dense 10,000-node DAG: apart, their frames
    would take tens of millions of units; the layout keeps them where the columns put them
    instead, and every position stays usable (graph.edits.usable_pos)."""
    g = _random_dag(2, n=10_000, window=30)
    ids = list(g.nodes)
    for k in range(500):
        g.groups[f"g{k}"] = Group(f"g{k}", parent=f"g{k - 1}" if k % 5 else None)
        g.group_of.update({n: f"g{k}" for n in ids[k * 20:k * 20 + 20]})
    notes: list[str] = []
    pos = layered_positions(g, notes=notes)
    assert set(pos) == set(g.nodes) and all(usable_pos(p) for p in pos.values())
    assert len(notes) == 1 and notes[0].startswith("groups left where their columns put them")
    plain = layered_positions(_random_dag(2, n=10_000, window=30))  # the same graph without groups
    assert max(y for _, y in pos.values()) <= max(8 * max(y for _, y in plain.values()), POS_LIMIT / 10)


@pytest.mark.parametrize("depth", [1, 4, 6, 10])
def test_deeply_nested_frames_in_neighbouring_columns_stay_apart(depth: int) -> None:
    """Each level of nesting widens a frame by FRAME_PAD: from about six deep it reaches past
    the middle of the gap between two columns, into the next column's room."""
    g = Graph()
    g.add_node(Node("x", "tensor", value=1.0))
    g.add_node(Node("y", "neg"))
    g.add_edge(Edge("x", "y", "input"))
    for side, node in (("A", "x"), ("B", "y")):
        parent = None
        for k in range(depth):
            g.groups[f"{side}{k}"] = Group(f"{side}{k}", parent=parent)
            parent = f"{side}{k}"
        g.group_of[node] = parent
    _check_frames(g, layered_positions(g))


def test_groups_that_take_no_more_room_apart_are_moved_apart_however_tall_the_layout(monkeypatch) -> None:  # noqa: ANN001
    """The guard against scattered groups limits the growth, not the height: a layout already
    past a tenth of the usable coordinates (here made small) still gets its frames apart when
    that adds nothing, and no note blames the groups."""
    import graph.layout as layout

    g = Graph()
    g.add_node(Node("x", "tensor", value=1.0))
    for i in range(layout.STRIP_MIN_GENERATIONS - 1):  # one row: moving frames apart there adds nothing
        g.add_node(Node(f"n{i}", "neg"))
        g.add_edge(Edge(f"n{i - 1}" if i else "x", f"n{i}", "input"))
    g.groups["a"], g.groups["b"] = Group("a"), Group("b")
    g.group_of.update({"n1": "a", "n2": "a", "n4": "b", "n5": "b"})
    monkeypatch.setattr(layout, "POS_LIMIT", 10.0)  # every layout is past POS_LIMIT / 10 now
    notes: list[str] = []
    pos = layered_positions(g, notes=notes)
    assert notes == []
    _check_frames(g, pos)


def test_consecutive_blocks_of_a_chain_stand_side_by_side() -> None:
    """Each block's weight stands in the column before its mul, which was the column of the
    block before's last op: the two frames shared a column and stacked diagonally. A block's
    leaves now get a column of their own there, and the blocks stand side by side; where the
    chain would be a thin strip, in bands, each block starting a band at its left."""
    g = Graph()
    g.add_node(Node("x", "tensor", value=[1.0, 2.0]))
    prev = "x"
    for b in range(4):
        g.groups[f"b{b}"] = Group(f"b{b}")
        for k in range(3):
            w, m, a = f"w{b}{k}", f"m{b}{k}", f"a{b}{k}"
            g.add_node(Node(w, "tensor", value=[0.5, 0.5], requires_grad=True))
            g.add_node(Node(m, "mul"))
            g.add_node(Node(a, "tanh"))
            g.add_edge(Edge(prev, m, "input"))
            g.add_edge(Edge(w, m, "other"))
            g.add_edge(Edge(m, a, "input"))
            g.group_of.update({w: f"b{b}", m: f"b{b}", a: f"b{b}"})
            prev = a
    pos = layered_positions(g)
    _check_frames(g, pos)
    frames = [_frame(g, pos, f"b{b}") for b in range(4)]
    for a, b in itertools.pairwise(frames):  # beside it in its row, or below it from the band's left
        assert abs(a[1] - b[1]) < 1.0 or (b[1] >= a[3] and b[0] <= a[0]), (a, b)


@pytest.mark.parametrize("blocks", [12, 20, 40])
def test_a_wrapped_chain_keeps_every_leaf_left_of_its_consumer_in_its_band(blocks: int) -> None:
    """Blocks fed by an ungrouped constant and a grouped weight: their leaves take two columns of
    their own (_leaves_apart). Where a band ends on those columns, both go into the next band
    with their consumers, not only the last one."""
    g = Graph()
    g.add_node(Node("x", "tensor", value=1.0))
    prev = "x"
    for b in range(blocks):
        g.groups[f"b{b}"] = Group(f"b{b}")
        g.add_node(Node(f"u{b}", "tensor", value=1.0))  # ungrouped
        for n, op in ((f"w{b}", "tensor"), (f"a{b}", "add"), (f"c{b}", "add"), (f"m{b}", "add")):
            g.add_node(Node(n, op, value=1.0) if op == "tensor" else Node(n, op))
            g.group_of[n] = f"b{b}"
        for src, dst, port in ((prev, f"a{b}", "input"), (f"u{b}", f"a{b}", "other"), (prev, f"c{b}", "input"),
                               (f"w{b}", f"c{b}", "other"), (f"a{b}", f"m{b}", "input"), (f"c{b}", f"m{b}", "other")):
            g.add_edge(Edge(src, dst, port))
        prev = f"m{b}"
        for j in range(3):
            g.add_node(Node(f"r{b}_{j}", "relu"))
            g.group_of[f"r{b}_{j}"] = f"b{b}"
            g.add_edge(Edge(prev, f"r{b}_{j}", "input"))
            prev = f"r{b}_{j}"
    pos = layered_positions(g)
    for n in g.nodes:
        if g.nodes[n].is_tensor and g.consumers_of(n):
            first = min(g.consumers_of(n), key=lambda c: pos[c][0])
            assert pos[n][0] < pos[first][0] and abs(pos[n][1] - pos[first][1]) < 1000, (n, pos[n], pos[first])
    _check_frames(g, pos)


@pytest.mark.parametrize("pos, usable", [
    ((0.0, 0.0), True), ((-POS_LIMIT, POS_LIMIT), True), ((POS_LIMIT * 1.0001, 0.0), False),
    ((0.0, -1e308), False), ((float("nan"), 0.0), False), ((0.0, float("inf")), False),
    ((float("-inf"), 0.0), False), (None, False)])
def test_usable_pos_refuses_what_cannot_be_drawn(pos, usable) -> None:  # noqa: ANN001
    assert usable_pos(pos) is usable


def test_every_port_height_agrees_with_the_one_port_function() -> None:
    """input_port_ys (the canvas's one pass per node) against input_port_y port by port, and the
    spacing the canvas draws: PORT_H apart, the first half a row under the header."""
    for op, attrs in (("add", {}), ("cat", {VARIADIC_COUNT: 4}), ("tensor", {})):
        node = dataclasses.replace(new_node(op, "x"), attrs=attrs)
        ys = input_port_ys(node)
        assert list(ys) == list(node.ports)
        assert ys == {p: input_port_y(node, p) for p in node.ports}
        assert list(ys.values()) == [HEADER_H + (i + 0.5) * PORT_H for i in range(len(node.ports))]


def test_remembered_ports_follow_a_replaced_node() -> None:
    """Node.ports is remembered per node: an edit's new node (dataclasses.replace, as every edit
    makes one) has its own, never the old node's."""
    four = dataclasses.replace(new_node("cat", "x"), attrs={VARIADIC_COUNT: 4})
    assert len(four.ports) == 4
    two = dataclasses.replace(four, attrs={VARIADIC_COUNT: 2})
    assert two.ports == ("tensors.0", "tensors.1") and len(four.ports) == 4
