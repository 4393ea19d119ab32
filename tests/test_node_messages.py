"""Messages that said torch's or Python's internals now name the node and say what is wrong, in
check and grad alike (one line each): a split or chunk piece out of range, a huge integer, torch's
"(Triggered internally at …)" tail, batch_norm's running statistics, a null dim torch refuses, an
empty list of dims logsumexp fails on.
Expected facts (how many pieces, what torch refuses) are asked of torch here."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from helpers import make_graph
from test_cli import assert_one_line_error, run_main
from test_gradcheck_catalogue import OP_NAMES, call_torch, example_attrs, fed_ports, op_graph

from autograd_bridge import engine
from autograd_bridge.engine import Compiled
from autograd_bridge.node_checks import note_text
from graph.errors import GraphError, ValueSpecError
from graph.fileformat import save
from graph.model import Node
from graph.ops import OPS, TENSOR
from graph.values import INT_DIGITS_MAX, check_param, json_int, parse_tensor_text


def check_and_grad(tmp_path, capsys, graph, *needles: str) -> None:  # noqa: ANN001
    """`check` and `grad` both refuse the graph in the same one line, holding every needle."""
    path = tmp_path / "g.json"
    save(graph, path)
    lines = []
    for command in ("check", "grad"):
        code, out, err = run_main(capsys, command, str(path))
        assert_one_line_error(code, out, err, *needles)
        lines.append(err)
    assert lines[0] == lines[1]


# ---- (a) a piece index beyond the pieces torch makes ----

@pytest.mark.parametrize("on", ["cpu", "meta"])
@pytest.mark.parametrize(("op", "attrs", "port"), [
    ("chunk", {"chunks": 3, "index": 2}, "input"),  # 4 elements in 3 chunks: torch makes 2
    ("chunk", {"chunks": 3, "index": -3}, "input"),
    ("split", {"split_size_or_sections": [1, 1], "index": 5}, "tensor"),
])
def test_a_piece_out_of_range_says_how_many_there_are(op: str, attrs: dict, port: str, on: str, tmp_path,
                                                     capsys, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    if on == "meta":
        monkeypatch.setattr(engine, "CPU_SHAPE_WORK", -1)
    x = torch.tensor([1.0, 2.0, 3.0, 4.0][:4 if op == "chunk" else 2])
    pieces = len(getattr(torch, op)(x, attrs.get("chunks", attrs.get("split_size_or_sections"))))
    g = make_graph([Node("x", TENSOR, value=x.tolist(), requires_grad=True), Node("p", op, attrs=attrs),
                    Node("s", "sum")], [("x", "p", port), ("p", "s", "input")])
    check_and_grad(tmp_path, capsys, g, f"p: {op} of [{len(x)}]: it makes {pieces} pieces, so index "
                   f"{attrs['index']} is out of range (expected {-pieces} to {pieces - 1})")


# ---- (b) an integer too long for Python to convert ----

def test_a_huge_integer_is_refused_where_it_stands() -> None:
    digits = "9" * 5000
    assert json_int("12") == 12 and json_int("-" + "9" * INT_DIGITS_MAX) == -int("9" * INT_DIGITS_MAX)
    value = json.loads(f"[1.0, {digits}]", parse_int=json_int)  # no ValueError for the whole text
    node = Node("x", TENSOR, value=value)
    with pytest.raises(ValueSpecError) as caught:
        node.check()
    assert list(caught.value.node_ids) == ["x"] and caught.value.field == "value"
    assert caught.value.message == "x: value holds an integer of 5,000 digits: beyond the range of every dtype"
    with pytest.raises(ValueSpecError, match="attribute 'dim' is an integer of 5,000 digits"):
        check_param("int", json_int(digits), "attribute 'dim'")
    with pytest.raises(ValueSpecError, match="^--grad-output: value holds an integer of 5,000 digits"):
        parse_tensor_text(f"[{digits}]", "--grad-output")


# ---- (c) torch's "(Triggered internally at …)" ----

def test_notes_drop_torchs_source_location(tmp_path, capsys) -> None:  # noqa: ANN001
    assert note_text(" var(): degrees of freedom is <= 0. (Triggered internally at /__w/pytorch/pytorch/aten/"
                     "src/ATen/native/ReduceOps.cpp:1861.)\nmore") == "var(): degrees of freedom is <= 0."
    g = make_graph([Node("x", TENSOR, value=[1.0, 2.0], requires_grad=True), Node("c", "var", attrs={"correction": 5})],
                   [("x", "c", "input")])
    notes: list[str] = []
    Compiled(g).infer_shapes(notes)
    result = Compiled(g).run("c")
    for got in (notes, result.notes):
        (note,) = [n for n in got if "degrees of freedom" in n]
        assert note.startswith("c: var(): degrees of freedom is <= 0.") and "Triggered" not in note
        assert note.endswith("(input numel divided by output numel).")


# ---- (d) batch_norm's running statistics ----

def batch_norm_graph(running: dict[str, bool], training: bool):  # noqa: ANN201 - a Graph
    """x [2, 2] into batch_norm, with the running statistics named fed (True: requiring grad)."""
    nodes = [Node("x", TENSOR, value=[[1.0, 2.0], [3.0, 1.0]], requires_grad=True),
             Node("b", "batch_norm", attrs={"training": training}), Node("s", "sum")]
    edges = [("x", "b", "input"), ("b", "s", "input")]
    for port, grad in running.items():
        nodes.append(Node(port[8:], TENSOR, value=[1.0, 1.0], requires_grad=grad))
        edges.append((port[8:], "b", port))
    return make_graph(nodes, edges)


def torch_batch_norm_refuses(running: dict[str, bool], training: bool) -> bool:
    stats = {p: torch.ones(2, requires_grad=running[p]) if p in running else None
             for p in ("running_mean", "running_var")}
    try:
        F.batch_norm(torch.tensor([[1.0, 2.0], [3.0, 1.0]], requires_grad=True), **stats, training=training)
    except (RuntimeError, ValueError):
        return True
    return False


@pytest.mark.parametrize(("running", "training", "needles"), [
    ({"running_mean": False}, False, ("b: batch_norm has running_mean fed but not running_var: feed running_mean "
                                      "and running_var together, or neither",)),
    ({"running_var": False}, True, ("b: batch_norm has running_var fed but not running_mean",)),
    ({}, False, ("b: batch_norm with training false normalises with running_mean and running_var: feed them, "
                 "or set training to true",)),
    ({"running_mean": True, "running_var": False}, False,
     ("b: batch_norm takes no gradient through running_mean, but mean requires grad: feed it a tensor with "
      "requires_grad off",)),
    ({"running_mean": True, "running_var": False}, True, ("takes no gradient through running_mean",)),
])
def test_batch_norms_running_statistics(running: dict[str, bool], training: bool, needles: tuple[str, ...],
                                        tmp_path, capsys) -> None:  # noqa: ANN001
    assert torch_batch_norm_refuses(running, training)
    check_and_grad(tmp_path, capsys, batch_norm_graph(running, training), *needles)


@pytest.mark.parametrize(("running", "training"), [({}, True), ({"running_mean": False, "running_var": False}, False),
                                                   ({"running_mean": False, "running_var": False}, True)])
def test_batch_norm_as_torch_takes_it(running: dict[str, bool], training: bool) -> None:
    """Training without running statistics was written F.batch_norm(x, training=True), which
    torch's signature refuses: they have no default (OpSpec.none_passed)."""
    assert not torch_batch_norm_refuses(running, training)
    compiled = Compiled(batch_norm_graph(running, training))
    compiled.infer_shapes()
    x = torch.tensor([[1.0, 2.0], [3.0, 1.0]], requires_grad=True)
    stats = {p: torch.ones(2) if p in running else None for p in ("running_mean", "running_var")}
    expected = F.batch_norm(x, **stats, training=training)
    (grad,) = torch.autograd.grad(expected.sum(), x)
    result = compiled.run("s")
    torch.testing.assert_close(result.values["b"], expected.detach())
    torch.testing.assert_close(result.grads["x"], grad)


# ---- (e) a dim attribute torch refuses as None ----

DIM_ATTRS = [(name, a.name, a.kind) for name in OP_NAMES for a in OPS[name].attrs
             if a.kind in ("dims", "optional_dims")]


@pytest.mark.parametrize(("name", "attr", "kind"), DIM_ATTRS)
def test_null_dims_are_refused_exactly_where_torch_refuses_none(name: str, attr: str, kind: str) -> None:
    spec = OPS[name]
    graph, leaves = op_graph(name)
    given = {**example_attrs(spec), attr: None}
    if spec.attr(attr).default is None:  # null is then torch's own default: the call leaves it out
        del given[attr]
    try:
        call_torch(spec, leaves, given, fed_ports(graph))
        torch_takes_none = True
    except (RuntimeError, TypeError):
        torch_takes_none = False
    assert torch_takes_none == (kind == "optional_dims")
    node = Node("op", name, attrs={**example_attrs(spec), attr: None})
    if torch_takes_none:
        node.check()
        return
    with pytest.raises(ValueSpecError) as caught:
        node.check()
    assert list(caught.value.node_ids) == ["op"] and caught.value.field == "attrs"
    assert f"attribute '{attr}' must be a dim or a list of dims, not null" in caught.value.message


def test_logsumexp_with_a_null_dim_is_refused_by_check(tmp_path, capsys) -> None:  # noqa: ANN001
    path = tmp_path / "l.json"
    path.write_text(json.dumps({"format": "gradcanvas", "version": 2, "nodes": [
        {"id": "x", "op": "tensor", "value": [1.0, 2.0]}, {"id": "c", "op": "logsumexp", "attrs": {"dim": None}}],
        "edges": [{"from": "x", "to": "c", "port": "input"}]}), encoding="utf-8")
    code, out, err = run_main(capsys, "check", str(path))
    assert_one_line_error(code, out, err, "node c: field 'attrs': attribute 'dim' must be a dim or a list of dims")


# ---- (f) an empty list of dims ----

@pytest.mark.parametrize(("name", "attr", "kind"), DIM_ATTRS)
def test_an_empty_dims_list_computes_as_torch_does_or_is_refused_naming_it(name: str, attr: str, kind: str) -> None:
    """dim [] is every dim to sum, mean, amax…; torch's logsumexp failed on it with "output with
    shape [] doesn't match the broadcast shape [1]", which the app showed as it was."""
    spec = OPS[name]
    graph, leaves = op_graph(name)
    graph.nodes["op"].attrs[attr] = []
    try:
        expected = call_torch(spec, leaves, {**example_attrs(spec), attr: []}, fed_ports(graph))
    except (RuntimeError, IndexError) as e:
        expected = e
    if isinstance(expected, torch.Tensor):
        torch.testing.assert_close(Compiled(graph).forward()["op"], expected)
        return
    with pytest.raises(GraphError) as caught:
        Compiled(graph).forward()
    message = str(caught.value)
    assert message.startswith(f"op: {name} of ") and f"{attr} []" in message and "\n" not in message, message
