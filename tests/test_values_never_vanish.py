"""Numbers never vanish: every node that can be computed shows its value, with or without a
target, whatever is wrong elsewhere; each error sits on its own node."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch
from helpers import add_two_node_cycle

from autograd_bridge.compute import NO_TARGET, ComputeSession
from autograd_bridge.formatting import tensor_text
from graph.model import Edge, Graph, Node


def _half_wired() -> Graph:
    """x → sq = x**2 → s = sum(sq) is fine; m = mul(x, ?) is half-wired; bad = W @ x has
    shapes that cannot fit ([1, 3] @ [2]), and t = neg(bad) depends on it."""
    g = Graph()
    g.add_node(Node("x", "tensor", value=[1.0, 2.0], requires_grad=True), pos=(0.0, 0.0))
    g.add_node(Node("sq", "pow", attrs={"exponent": 2}), pos=(300.0, 0.0))
    g.add_node(Node("s", "sum"), pos=(600.0, 0.0))
    g.add_node(Node("m", "mul"), pos=(300.0, 250.0))
    g.add_node(Node("W", "tensor", value=[[1.0, 2.0, 3.0]]), pos=(0.0, 400.0))
    g.add_node(Node("bad", "matmul"), pos=(300.0, 450.0))
    g.add_node(Node("t", "neg"), pos=(600.0, 450.0))
    for e in [Edge("x", "sq", "input"), Edge("sq", "s", "input"), Edge("x", "m", "input"),
              Edge("W", "bad", "input"), Edge("x", "bad", "other"), Edge("bad", "t", "input")]:
        g.add_edge(e)
    return g


def test_without_a_target_every_computable_value_shows() -> None:
    result = ComputeSession().compute(_half_wired(), None, 1)
    x = torch.tensor([1.0, 2.0])
    expected = {"x": x, "sq": x**2, "s": (x**2).sum(), "W": torch.tensor([[1.0, 2.0, 3.0]])}
    assert set(result.nodes) == set(expected)  # m, bad and t cannot be computed
    for n, value in expected.items():
        assert result.nodes[n].value_text == tensor_text(value)
        assert result.nodes[n].grad_text is None and result.nodes[n].no_grad_reason == NO_TARGET
    assert "m.other" in result.error and "bad: matmul of [1, 3] and [2]" in result.error
    assert {"m", "bad"} <= set(result.error_nodes) and "s" not in result.error_nodes


def test_with_a_target_errors_elsewhere_leave_the_partials() -> None:
    result = ComputeSession().compute(_half_wired(), "s", 1)
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x**2).sum().backward()
    assert result.nodes["x"].grad_text == tensor_text(x.grad)  # ds/dx = 2x, by torch here
    assert result.nodes["s"].grad_text == tensor_text(torch.tensor(1.0))
    assert "m" in result.error_nodes and "bad" in result.error_nodes


def test_a_target_that_cannot_run_still_leaves_every_value() -> None:
    result = ComputeSession().compute(_half_wired(), "t", 1)
    assert {"x", "sq", "s", "W"} == set(result.nodes)
    assert all(view.grad_text is None for view in result.nodes.values())
    assert "bad" in result.error_nodes


def test_a_vector_target_without_grad_output_shows_values_and_says_what_to_give() -> None:
    g = _half_wired()
    result = ComputeSession().compute(g, "sq", 1)
    assert result.nodes["sq"].value_text == tensor_text(torch.tensor([1.0, 4.0]))
    assert result.nodes["x"].grad_text is None
    assert "sq" in result.error_nodes
    assert "grad-output" in result.error and "shaped [2]" in result.error
    with_v = ComputeSession().compute(g, "sq", 1, grad_output=[1.0, 0.0])
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x**2).backward(torch.tensor([1.0, 0.0]))
    assert with_v.nodes["x"].grad_text == tensor_text(x.grad)


def test_a_cycle_stops_only_what_it_reaches() -> None:
    g = _half_wired()
    add_two_node_cycle(g)
    result = ComputeSession().compute(g, "s", 1)
    assert {"x", "sq", "s", "W"} == set(result.nodes)
    assert {"p", "q"} <= set(result.error_nodes) and "cycle" in result.error


def test_render_draws_values_with_no_target_and_a_half_wired_node(tmp_path: Path) -> None:
    from graph.fileformat import save

    path = tmp_path / "half.json"
    g = _half_wired()
    g.add_node(Node("s2", "sum"))  # a second sink: no target can be guessed
    g.add_edge(Edge("x", "s2", "input"))
    save(g, path)
    out = tmp_path / "half.png"
    done = subprocess.run([sys.executable, "-m", "gradcanvas", "render", str(path), "-o", str(out)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 10_000 and "Traceback" not in done.stderr


def test_the_window_shows_every_other_value_with_one_unconnected_port(qtbot, window) -> None:
    from helpers import RESULT_TIMEOUT_MS

    window.doc.reset(_half_wired())
    qtbot.waitUntil(lambda: window.run.current is not None, timeout=RESULT_TIMEOUT_MS)
    items = window.scene.nodes
    for n in ("x", "sq", "s", "W"):
        assert items[n].view is not None and items[n].view.value_text, n
    assert items["m"].view is None and items["m"].error and "m.other" in items["m"].error
    assert items["s"].error is None
