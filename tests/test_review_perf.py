"""Review of issue 8's fast paths: cases where a speed-up could hide a NaN/Inf, show stale
numbers or accept a hostile file. Each test holds a fast path to what the slow one gives."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from helpers import make_graph

from autograd_bridge.compute import ComputeSession
from autograd_bridge.engine import Compiled
from autograd_bridge.finite import FinitePlan, all_finite
from graph.errors import FileFormatError
from graph.fileformat import loads
from graph.model import Edge, Graph, Node

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


def _edited(g: Graph, node_id: str, **changes: object) -> Graph:
    new = g.snapshot()
    new.replace_node(dataclasses.replace(new.nodes[node_id], **changes))
    return new


# ---- the NaN/Inf check's shortcuts ----

@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("op", ["add", "sub"])
def test_a_partial_cast_down_to_float32_by_add_is_still_checked(op: str, device: str) -> None:
    """add/sub of a float32 and a float64 input: the float32 input's partial is the float64
    output's partial cast down, and 1e300 becomes inf there. partial_bound ("same shape")
    must not vouch for it."""
    g = make_graph([Node("a", "tensor", value=[1.0], requires_grad=True, dtype="float32"),
                    Node("z", "tensor", value=[0.0], dtype="float64"),
                    Node("b", "tensor", value=[1e300], dtype="float64"),
                    Node("s", op), Node("m", "mul"), Node("y", "sum")],
                   [("a", "s", "input"), ("z", "s", "other"), ("s", "m", "input"), ("b", "m", "other"),
                    ("m", "y", "input")])
    result = Compiled(g, device).run("y")
    assert not torch.isfinite(result.grads["a"]).all()
    assert "partials with NaN/Inf at: a" in result.notes


@pytest.mark.parametrize("device", [*DEVICES, "meta"])
def test_the_plan_takes_empty_tensors_on_any_device(device: str) -> None:
    """A 0-element tensor off the CPU is stacked with its like: its chunk size must not divide by 0."""
    tensors = [torch.empty(0, 3, device=device), torch.empty(0, 3, device=device), torch.ones(2, device=device)]
    plan = FinitePlan(tensors)
    if device != "meta":  # a sum on the CPU, a 2-norm on a GPU
        assert plan.total(tensors) in (2.0, pytest.approx(2**0.5))


@pytest.mark.parametrize("device", DEVICES)
def test_a_graph_with_an_empty_tensor_runs_on_every_device(device: str) -> None:
    g = make_graph([Node("e", "tensor", value=[], requires_grad=True),
                    Node("f", "tensor", value=[], requires_grad=True), Node("s", "mul"), Node("y", "sum")],
                   [("e", "s", "input"), ("f", "s", "other"), ("s", "y", "input")])
    result = Compiled(g, device).run("y")
    assert result.values["y"].item() == 0.0 and result.notes == []


def _with(shape: tuple[int, ...], bad: float, dtype: torch.dtype, device: str) -> torch.Tensor:
    t = torch.zeros(shape, dtype=dtype, device=device)
    if bad:
        t.view(-1)[-1] = bad
    return t


_SHAPES = [(), (3,), (2, 2), (2, 1, 2), (40,), (40,), (20000,), (3, 5)]


def _layout(i: int, bad: float, dtype: torch.dtype, device: str) -> list[torch.Tensor]:
    """Tensors of every kind the plan sorts (tiny, stacked, alone, strided, broadcast, another
    dtype), the i-th holding `bad` in its last entry."""
    other = torch.float32 if dtype == torch.float64 else torch.float64
    ts = [_with(s, bad if k == i else 0.0, dtype, device) for k, s in enumerate(_SHAPES)]
    k = len(_SHAPES)
    ts.append(_with((6, 4), bad if i == k else 0.0, dtype, device).t())  # not contiguous
    ts.append(_with((), bad if i == k + 1 else 0.0, dtype, device).expand(30000))  # stride 0
    ts.append(_with((5,), bad if i == k + 2 else 0.0, other, device))
    return ts


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_kind_of_tensor_the_plan_meets_reports_a_nan(dtype: torch.dtype, device: str) -> None:
    """One NaN or Inf anywhere makes the check fail, with the plan made for the finite layout."""
    plans: dict = {}
    assert all_finite(_layout(-1, 0.0, dtype, device), plans, "k")
    for i in range(len(_SHAPES) + 3):
        for bad in (float("nan"), float("inf"), float("-inf")):
            assert not all_finite(_layout(i, bad, dtype, device), plans, "k"), (i, bad)


# ---- value edits that reuse the compile ----

def test_an_init_switched_to_one_that_can_make_nan_is_checked() -> None:
    """full (always finite) -> linspace over the whole float32 range, whose steps overflow to
    NaN: the compile's record that the leaf is finite must not outlive its init."""
    g = make_graph([Node("x", "tensor", init={"fn": "full", "shape": [3], "fill_value": 1.0}),
                    Node("s", "select", attrs={"dim": 0, "index": 0})], [("x", "s", "input")])
    session = ComputeSession()
    assert not [n for n in session.compute(g.snapshot(), "s", 1).notes if "NaN" in n]
    g = _edited(g, "x", init={"fn": "linspace", "start": -3.4e38, "end": 3.4e38, "steps": 3})
    fresh = ComputeSession().compute(g, "s", 2)
    assert "x: value has NaN/Inf (tensor of finite inputs)" in fresh.notes
    assert session.compute(g, "s", 2).notes == fresh.notes


def test_a_value_edit_to_negative_zero_is_seen() -> None:
    """-0.0 == 0.0 in Python, but 1 / -0.0 is -inf: the edit must reach the tensor."""
    g = make_graph([Node("one", "tensor", value=1.0), Node("x", "tensor", value=0.0, requires_grad=True),
                    Node("y", "div")], [("one", "y", "input"), ("x", "y", "other")])
    session = ComputeSession()
    assert session.compute(g.snapshot(), "y", 1).nodes["y"].value_text == "inf"
    g = _edited(g, "x", value=-0.0)
    assert session.compute(g, "y", 2).nodes["y"].value_text == "-inf"


@pytest.mark.parametrize("change", ["seed", "fn", "label", "undo", "fill"])
def test_value_edits_give_what_a_fresh_compile_gives(change: str) -> None:
    g = make_graph([Node("w", "tensor", init={"fn": "randn", "shape": [3], "seed": 1}, requires_grad=True),
                    Node("a", "tensor", value=2.0, requires_grad=True), Node("m", "mul"), Node("t", "tanh"),
                    Node("s", "sum")],
                   [("w", "m", "input"), ("a", "m", "other"), ("m", "t", "input"), ("t", "s", "input")])
    session = ComputeSession()
    first = session.compute(g.snapshot(), "s", 1)
    if change == "seed":
        g = _edited(g, "w", init={"fn": "randn", "shape": [3], "seed": 7})
    elif change == "fn":
        g = _edited(g, "w", init={"fn": "rand", "shape": [3], "seed": 1})
    elif change == "label":
        g = _edited(g, "a", label="alpha")
    elif change == "fill":
        g = _edited(g, "w", init={"fn": "full", "shape": [3], "fill_value": -0.5})
    else:
        session.compute(_edited(g, "a", value=-3.0), "s", 2)
    result = session.compute(g, "s", 3)
    fresh = ComputeSession().compute(g, "s", 4)
    texts = {n: (v.value_text, v.grad_text) for n, v in result.nodes.items()}
    assert texts == {n: (v.value_text, v.grad_text) for n, v in fresh.nodes.items()}
    if change == "undo":
        assert texts == {n: (v.value_text, v.grad_text) for n, v in first.nodes.items()}


# ---- the file format's fast path ----

def _file(node_text: str) -> str:
    return ('{"format": "gradcanvas", "version": 1, "nodes": [' + node_text + '], "edges": []}')


@pytest.mark.parametrize("node", [
    '{"id": "x", "op": "tensor", "value": 1.0, "value": 2.0}',
    '{"id": "x", "op": "tensor", "value": 1.0, "\\u0076alue": 2.0}',
    '{"id": "x", "op": "tensor", "init": {"fn": "zeros", "shape": [1], "shape": [2]}}',
    '{"id": "x", "op": "tensor", "label": "a:b\\":c", "value": 1.0, "value": 2.0}',
    '{"id": "x", "op": "tensor", "label": "\\\\", "value": 1.0, "value": 2.0}',
    '{"id": "x", "op": "tensor", "value": 1.0}, {"id": "y", "op": "sum", "attrs": {"dim": 0, "dim": 0}}',
    '{"id": "x", "op": "tensor", "value": 1.0, "label": "\\"\\":", "label": "b"}',
])
def test_a_key_twice_is_refused_however_it_is_spelled(node: str) -> None:
    text = _file(node)
    json.loads(text)  # valid JSON: only the duplicate is wrong
    with pytest.raises(FileFormatError, match="appears twice"):
        loads(text)
    with pytest.raises(FileFormatError, match="appears twice"):
        loads("\n" + text.replace(": ", " :\t").replace(", ", " ,\r\n"))


@pytest.mark.parametrize("node, where", [
    ('{"id": "x", "op": "tensor", "value": 1.0, "value": 2.0}', "node x: "),
    ('{"id": "x", "op": "tensor", "init": {"fn": "zeros", "shape": [1], "shape": [2]}}', "node x: field 'init': "),
    ('{"id": "s", "op": "sum", "attrs": {"dim": 0, "dim": 0}}', "node s: field 'attrs': "),
])
def test_a_key_twice_in_a_node_names_the_node_and_field(node: str, where: str) -> None:
    with pytest.raises(FileFormatError) as refused:
        loads(_file(node))
    assert refused.value.message.startswith(where) and "appears twice" in refused.value.message
    assert list(refused.value.node_ids) == [node.split('"')[3]]  # the node's id, from its "id" field


def test_a_top_level_key_twice_is_refused() -> None:
    text = '{"format": "gradcanvas", "version": 1, "nodes": [], "edges": [], "edges": []}'
    with pytest.raises(FileFormatError, match="appears twice"):
        loads(text)


# ---- the canvas's bulk drawing keeps one row per item ----

def _rows_match(scene) -> None:  # noqa: ANN001 - a gui.canvas.CanvasScene
    ov = scene.overview
    for rows, items in ((ov.nodes, scene.nodes), (ov.edges, scene.edges)):
        assert len(rows.keys) == len(set(rows.keys)) == len(rows.index) == len(items)
        assert set(rows.keys) == set(items)
        assert all(rows.keys[i] == k for k, i in rows.index.items())


def test_the_overview_rows_follow_builds_removals_and_undo(qtbot) -> None:
    from helpers import scene_and_view
    from PySide6.QtWidgets import QApplication

    g = Graph()
    for i in range(9):
        g.add_node(Node(f"n{i}", "add"), pos=((i % 3) * 300.0, (i // 3) * 200.0))
        if i:
            g.add_edge(Edge(f"n{i - 1}", f"n{i}", "input"))
            g.add_edge(Edge(f"n{i - 1}", f"n{i}", "other"))
    scene, view = scene_and_view(qtbot, g)
    _rows_match(scene)
    view.scale(0.02, 0.02)  # the overview
    QApplication.processEvents()
    doc = scene.doc
    doc.remove(["n4", "n0"])
    QApplication.processEvents()
    _rows_match(scene)
    view.viewport().grab()
    doc.undo_stack.undo()
    QApplication.processEvents()
    _rows_match(scene)
    doc.remove(list(doc.graph.nodes))
    QApplication.processEvents()
    _rows_match(scene)
    assert scene.overview.nodes.bounds() is None
    view.viewport().grab()  # an empty graph paints
    doc.undo_stack.undo()
    QApplication.processEvents()
    _rows_match(scene)
    view.viewport().grab()
