"""Ops that take inputs of one dtype (OpSpec.one_dtype): torch refuses float32 with float64 on a
real device (forward or backward) but its meta device computes on, so `check` said ok where
`grad` failed. Which ops these are is asked of torch here, for every op of the catalogue."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from test_cli import assert_one_line_error, run_main
from test_gradcheck_catalogue import OP_NAMES, call_torch, example_attrs, fed_ports, op_graph

from autograd_bridge import engine
from autograd_bridge.engine import Compiled
from graph.errors import GraphError, ShapeError
from graph.fileformat import save
from graph.ops import OPS


def floating_ports(name: str) -> list[str]:
    graph, _leaves = op_graph(name)
    return [p for p in fed_ports(graph) if graph.nodes[f"in_{p}"].dtype == "float64"]


MIXABLE = [name for name in OP_NAMES if len(floating_ports(name)) >= 2]


def torch_refuses(name: str, port: str) -> bool:
    """Whether torch's own call (forward, then backward where there is a gradient) on the CPU
    refuses the op's example inputs with `port` in float32 and the rest in float64."""
    spec = OPS[name]
    graph, leaves = op_graph(name)
    ports = fed_ports(graph)
    leaves = [t.detach().to(torch.float32 if p == port else t.dtype).requires_grad_(t.requires_grad)
              for p, t in zip(ports, leaves, strict=True)]
    try:
        out = call_torch(spec, leaves, example_attrs(spec), ports)
        if out.requires_grad:
            out.sum().backward()
    except RuntimeError:
        return True
    return False


def mixed(name: str, port: str):  # noqa: ANN201 - a Graph
    """The op's example graph with the leaf on `port` in float32, the others float64."""
    graph, _leaves = op_graph(name)
    leaf = graph.nodes[f"in_{port}"]
    graph.replace_node(dataclasses.replace(leaf, dtype="float32"))
    return graph


def test_the_catalogue_says_which_ops_torch_refuses_mixed_dtypes_for() -> None:
    refusing = {name for name in MIXABLE if any(torch_refuses(name, p) for p in floating_ports(name))}
    assert {name for name in MIXABLE if OPS[name].one_dtype} == refusing
    assert {"matmul", "linear", "huber_loss"} <= refusing  # the probe itself sees them
    assert not any(OPS[name].one_dtype for name in OP_NAMES if name not in MIXABLE)


@pytest.mark.parametrize("on", ["cpu", "meta"])
@pytest.mark.parametrize("name", MIXABLE)
def test_the_shape_pass_refuses_what_torch_refuses(name: str, on: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if on == "meta":  # the shape pass of a big graph: no CPU run at all
        monkeypatch.setattr(engine, "CPU_SHAPE_WORK", -1)
    for port in floating_ports(name):
        compiled = Compiled(mixed(name, port))
        if not OPS[name].one_dtype:
            compiled.infer_shapes()
            continue
        with pytest.raises(ShapeError) as caught:
            compiled.infer_shapes()
        assert caught.value.node_ids[0] == "op" and f"in_{port}" in caught.value.node_ids
        message = caught.value.message
        if message.startswith(f"op: {name} of "):  # torch's own words, where its meta kernel checks (conv)
            assert message.startswith(f"op: {name} of ") and "float" in message and "double" in message
        else:
            assert message.startswith(f"op: {name} needs its inputs in one dtype")
            assert "float32" in message and "float64" in message


@pytest.mark.parametrize("name", MIXABLE)
def test_grad_fails_exactly_where_the_shape_pass_does(name: str) -> None:
    for port in floating_ports(name):
        compiled = Compiled(mixed(name, port))
        try:
            compiled.infer_shapes()
            checked = None
        except GraphError as e:
            checked = e.message
        target = "op"
        grad_output = None
        try:
            value = compiled.forward()[target]
            if value.is_floating_point():  # a comparison's bool result has no backward to run
                if value.numel() != 1:
                    grad_output = torch.ones_like(value).tolist()
                compiled.run(target, grad_output)
            ran = None
        except GraphError as e:
            ran = e.message
        assert (checked is None) == (ran is None), (port, checked, ran)
        if checked is not None:  # grad says what check says, naming the node
            assert ran == checked


def test_check_and_grad_say_it_in_one_line(tmp_path, capsys) -> None:  # noqa: ANN001
    path = tmp_path / "mix.json"
    save(mixed("matmul", "input"), path)
    for command in ("check", "grad"):
        code, out, err = run_main(capsys, command, str(path))
        assert_one_line_error(code, out, err, "op: matmul needs its inputs in one dtype, but input is float32 "
                                              "(from in_input) and other is float64 (from in_other)")
    Compiled(mixed("matmul", "input"), "cpu", "float64").infer_shapes()  # --dtype float64: one dtype, fine
