"""The structure the code keeps: validate once, incremental adjacency, traceable generated
code, file sizes. (Layering of imports: test_layering.py.)"""

from __future__ import annotations

import dataclasses
import gc
import linecache
import traceback
from pathlib import Path

import pytest
import torch

from autograd_bridge.engine import Compiled
from gradcanvas import cli
from graph.fileformat import load
from graph.layout import layered_positions
from graph.model import CheckedGraph, Edge, Graph, Node

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "resources" / "examples"
PACKAGES = ("graph", "autograd_bridge", "gui", "gradcanvas")


def _counting(monkeypatch: pytest.MonkeyPatch, cls: type, names: tuple[str, ...]) -> dict[str, int]:
    calls = dict.fromkeys(names, 0)
    for name in names:
        real = getattr(cls, name)

        def counted(*args, _real=real, _name=name, **kwargs):  # noqa: ANN002, ANN003, ANN202
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(cls, name, counted)
    return calls


# The whole-graph passes: anything that walks every node or edge, or builds networkx.
REBUILDS = ("validate", "to_networkx", "topological_order", "all_inputs", "missing_inputs", "incomplete")


@pytest.mark.parametrize("command", [["grad"], ["grad", "--json"], ["check"], ["export", "-o", "{out}"]])
def test_each_command_validates_the_graph_once(command: list[str], monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calls = _counting(monkeypatch, Graph, REBUILDS)
    argv = [command[0], str(EXAMPLES / "04_small_mlp.json"), *(a.format(out=tmp_path / "o.py") for a in command[1:])]
    assert cli.main(argv) == 0, capsys.readouterr().err
    assert calls["validate"] == 1
    assert calls["topological_order"] == 1  # inside that one validate: the DAG check and the order
    assert calls["to_networkx"] == 0  # from the kept maps: networkx is neither built nor imported


def test_compiled_takes_a_checked_graph_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    checked = load(EXAMPLES / "01_scalar_partial.json").validate()
    assert isinstance(checked, CheckedGraph)
    calls = _counting(monkeypatch, Graph, REBUILDS)
    result = Compiled(checked).run("y")
    assert calls == dict.fromkeys(REBUILDS, 0)
    x = torch.tensor(2.0, requires_grad=True)
    (2 * x**2 + 3 * torch.tensor(3.0)).backward()
    assert result.grads["x"].item() == x.grad.item()


def _chain(n: int) -> Graph:
    g = Graph()
    g.add_node(Node("x0", "tensor", value=0.5, requires_grad=True), pos=(0.0, 0.0))
    for i in range(1, n):
        g.add_node(Node(f"x{i}", "neg"), pos=(i * 240.0, 0.0))
        g.add_edge(Edge(f"x{i - 1}", f"x{i}", "input"))
    return g


def test_connect_and_edge_questions_rebuild_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    g = _chain(2000)
    g.add_node(Node("loose", "add"))
    calls = _counting(monkeypatch, Graph, REBUILDS)
    upstream = g.upstream("x1999")  # what a wire drag asks once, at its start
    assert len(upstream) == 2000
    assert g.edge_refusal("x1999", "x5", "input", upstream) is not None  # fed already
    assert "cycle" in g.edge_refusal("x1999", "loose", "input", {"x1999", "loose"})
    assert g.edge_refusal("x1999", "loose", "input", upstream) is None
    g.add_edge(Edge("x1999", "loose", "input"))
    assert g.inputs_of("loose") == {"input": "x1999"} and g.consumers_of("x1999") == ["loose"]
    assert g.sinks() == ["loose"]
    g.remove_edge(Edge("x1999", "loose", "input"))
    assert g.inputs_of("loose") == {}
    assert calls == dict.fromkeys(REBUILDS, 0)


def test_adjacency_stays_true_through_edits() -> None:
    """The maps kept on every add and remove answer as a fresh walk over the edges would."""
    g = _chain(6)
    g.add_node(Node("m", "mul"))
    g.add_edge(Edge("x2", "m", "input"))
    g.add_edge(Edge("x4", "m", "other"))
    info = g.remove_node("x3")
    g.restore_node(info)
    g.remove_node("x5")
    with pytest.raises(ValueError, match="already fed"):
        g.add_edge(Edge("x0", "m", "input"))
    fresh = {n: {e.port: e.src for e in g.edges if e.dst == n} for n in g.nodes}
    assert g.all_inputs() == fresh
    assert g.ancestors("m") == {"x0", "x1", "x2", "x3", "x4"}
    assert g.descendants("x3") == {"x4", "m"}
    assert set(g.sinks()) == {"m"}
    assert g.incomplete() == set()
    g.remove_edge(Edge("x4", "m", "other"))
    assert g.incomplete() == {"m"}


def test_layout_is_not_part_of_what_is_computed() -> None:
    g = load(EXAMPLES / "02_matmul_vector.json")
    before = g.validate()
    for n in g.nodes:
        g.set_position(n, (1.0, 2.0))
    assert g.validate() == before  # same nodes, order, inputs
    assert Compiled(g).text == Compiled(before).text
    assert layered_positions(g)  # layout still works from the structure


def test_a_traceback_from_generated_code_shows_the_line_and_its_node() -> None:
    """Each compile is registered with linecache under its own name (as torch.fx does)."""
    g = load(EXAMPLES / "02_matmul_vector.json")
    first, second = Compiled(g), Compiled(g)
    assert first.filename != second.filename
    leaves = list(first._make_leaves("cpu"))
    leaves[0] = torch.ones(3)  # x: now the reshape and the matmul cannot fit
    with pytest.raises(RuntimeError) as info:
        first._forward(*leaves)
    text = "".join(traceback.format_exception(info.value))
    assert first.filename in text
    failing = [line for line in text.splitlines() if "torch.matmul(" in line]
    assert len(failing) == 1 and "# node 'xw'" in failing[0], text  # the line, with its node
    assert linecache.getline(first.filename, 1).startswith("def make_leaves")
    name = second.filename
    del second
    gc.collect()
    assert linecache.getline(name, 1) == ""  # dropped with its Compiled


def _source_files() -> list[Path]:
    return [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]


def test_no_source_file_is_too_long() -> None:
    """Over ~500 lines a file says why in its first lines; none is over 800."""
    for path in _source_files():
        lines = path.read_text(encoding="utf-8").splitlines()
        assert len(lines) <= 800, f"{path.relative_to(ROOT)} has {len(lines)} lines"
        if len(lines) > 520:
            head = "\n".join(lines[:5]).lower()
            assert "long" in head or "lines" in head, f"{path.relative_to(ROOT)}: {len(lines)} lines, no reason given"


def test_the_slice_plot_reuses_the_compile_and_run_of_its_compute(monkeypatch: pytest.MonkeyPatch) -> None:
    from autograd_bridge import engine
    from autograd_bridge.compute import ComputeSession

    calls = _counting(monkeypatch, engine.Compiled, ("__init__", "forward", "partials"))
    session = ComputeSession()
    g = load(EXAMPLES / "01_scalar_partial.json")
    result = session.compute(g.snapshot(), "y", 7)
    assert calls == {"__init__": 1, "forward": 1, "partials": 1}
    s = session.compute_slice(g.snapshot(), "y", "x", 7)
    assert calls["__init__"] == 1 and calls["partials"] == 1  # same revision: no compile, no backward
    calls["forward"] = 1  # (the curve itself is 41 forwards without grad)
    assert s.slope == result.nodes["x"].grad.item() == 8.0  # dy/dx = 4x at x = 2
    session.compute(g.snapshot(), "x_sq", 7)  # a new target: a new forward, not a new compile
    assert calls == {"__init__": 1, "forward": 2, "partials": 2}
    session.compute(g.snapshot(), "y", 8)  # a new revision of the same wiring: no new compile
    assert calls == {"__init__": 1, "forward": 3, "partials": 3}
    g.replace_node(dataclasses.replace(g.nodes["x_sq"], attrs={"exponent": 3}))
    session.compute(g.snapshot(), "y", 9)  # a structural edit compiles anew
    assert calls == {"__init__": 2, "forward": 4, "partials": 4}


def test_reaches_agrees_with_networkx() -> None:
    import networkx as nx

    g = load(EXAMPLES / "04_small_mlp.json")
    nxg = g.to_networkx()
    for a in g.nodes:
        for b in g.nodes:
            assert g.reaches(a, b) == (a == b or nx.has_path(nxg, a, b)), (a, b)


def test_consumers_keep_edge_order_through_remove_and_restore() -> None:
    g = Graph()
    g.add_node(Node("x", "tensor", value=1.0, requires_grad=True))
    for n in "abc":  # x feeds a, b and c, in that edge order
        g.add_node(Node(n, "neg"))
        g.add_edge(Edge("x", n, "input"))
    for n in list(g.nodes):
        g.restore_node(g.remove_node(n))
        for m in g.nodes:
            assert g.consumers_of(m) == list(dict.fromkeys(e.dst for e in g.edges if e.src == m)), (n, m)
