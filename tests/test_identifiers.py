"""Hostile node ids: they become safe identifiers, never code, and the numbers stay right."""

from __future__ import annotations

import ast
import builtins
import keyword
import runpy
from pathlib import Path

import pytest
import torch

from autograd_bridge.codegen import Namespace
from autograd_bridge.engine import Compiled
from autograd_bridge.export import export_script
from graph.errors import ValueSpecError
from graph.model import Edge, Graph, Node
from graph.ops import TENSOR
from graph.safetext import visible

NAUGHTY = [
    "__import__('os').system('touch /tmp/p')",
    "x; import os",
    "class",
    "1abc",
    "torch",
    "print",
    "a-b",
    "a_b",
    "__builtins__",
    "λ",
    "it's\"",
    "_",
    "__",
    "match",
    "v__builtins__",
    "device",
    "forward",
    "make_leaves",
    "math",
    "nan",
    "",
]


def assert_safe(name: str) -> None:
    assert name.isidentifier(), name
    assert name.isascii(), name
    assert not keyword.iskeyword(name) and not keyword.issoftkeyword(name), name
    assert name not in dir(builtins), name
    assert name not in {"torch", "math", "nan", "inf", "device", "make_leaves", "forward",
                        "grad_output", "__builtins__"}, name
    assert not name.startswith("__"), name


def test_namespace_gives_safe_unique_deterministic_names() -> None:
    ns = Namespace()
    names = [ns.name(i) for i in NAUGHTY]
    for name in names:
        assert_safe(name)
    assert len(set(names)) == len(names)
    # asking again gives the same name; a fresh namespace gives the same names
    assert [ns.name(i) for i in NAUGHTY] == names
    again = Namespace()
    assert [again.name(i) for i in NAUGHTY] == names


def test_namespace_clash_is_numbered_in_order() -> None:
    ns = Namespace()
    first, second = ns.name("a-b"), ns.name("a_b")
    assert first == "a_b"  # the first one keeps the plain name
    assert second != first and second.startswith("a_b")
    assert_safe(second)
    # in the other order, "a_b" keeps its own name and "a-b" is the numbered one
    ns2 = Namespace()
    assert ns2.name("a_b") == "a_b"
    assert ns2.name("a-b") == second


@pytest.mark.parametrize("node_id", ["x; import os", "class", "1abc", "a-b", "it's\"", "λ"])
def test_namespace_name_is_safe_alone(node_id: str) -> None:
    assert_safe(Namespace().name(node_id))


def hostile_graph(marker: Path) -> tuple[Graph, dict[str, str]]:
    """A graph whose every node id is hostile. Returns it and role → node id."""
    ids = {
        "a": f"__import__('os').system('touch {marker}')",
        "b": "x; import os",
        "c": "class",
        "d": "1abc",
        "t": "torch",
        "p": "print",
        "ab1": "a-b",
        "ab2": "a_b",
        "bi": "__builtins__",
        "lam": "λ",
        "q": "it's\"",
        # Line breaks Python does not treat as one (U+2028, NEL): an ASCII newline is refused by
        # the id rule itself (test_an_id_with_a_newline_made_by_code_is_refused).
        "nl": f"nl\u2028open({str(marker)!r}, 'w')\x85  # line breaks in an id made by code",
    }
    g = Graph()
    g.add_node(Node(id=ids["a"], op=TENSOR, value=2.0, requires_grad=True))
    g.add_node(Node(id=ids["b"], op=TENSOR, value=3.0, requires_grad=True))
    g.add_node(Node(id=ids["c"], op=TENSOR, value=[1.0, 2.0], requires_grad=True))
    g.add_node(Node(id=ids["d"], op=TENSOR, value=0.5))
    g.add_node(Node(id=ids["nl"], op=TENSOR, value=[1.0, -1.0], requires_grad=True))
    g.add_node(Node(id=ids["t"], op="mul"))
    g.add_node(Node(id=ids["p"], op="mul"))
    g.add_node(Node(id=ids["ab1"], op="add"))
    g.add_node(Node(id=ids["ab2"], op="pow", attrs={"exponent": 2}))
    g.add_node(Node(id=ids["bi"], op="sum"))
    g.add_node(Node(id=ids["lam"], op="mul"))
    g.add_node(Node(id=ids["q"], op="neg"))
    for src, dst, port in [("a", "t", "input"), ("b", "t", "other"), ("t", "p", "input"),
                           ("c", "p", "other"), ("p", "ab1", "input"), ("nl", "ab1", "other"),
                           ("ab1", "ab2", "input"), ("ab2", "bi", "input"), ("bi", "lam", "input"),
                           ("d", "lam", "other"), ("lam", "q", "input")]:
        g.add_edge(Edge(ids[src], ids[dst], port))
    return g, ids


def torch_expected() -> dict[str, torch.Tensor]:
    """The same computation, written in torch: role → d(q)/d(role)."""
    a = torch.tensor(2.0, requires_grad=True)
    b = torch.tensor(3.0, requires_grad=True)
    c = torch.tensor([1.0, 2.0], requires_grad=True)
    d = torch.tensor(0.5)
    nl = torch.tensor([1.0, -1.0], requires_grad=True)
    t = a * b
    p = t * c
    ab1 = p + nl
    ab2 = ab1**2
    bi = ab2.sum()
    lam = bi * d
    q = -lam
    inter = {"t": t, "p": p, "ab1": ab1, "ab2": ab2, "bi": bi, "lam": lam, "q": q}
    for v in inter.values():
        v.retain_grad()
    q.backward()
    return {"a": a.grad, "b": b.grad, "c": c.grad, "nl": nl.grad, "value": q.detach(),
            **{k: v.grad for k, v in inter.items()}}


def check_grads(grads: dict[str, torch.Tensor | None], ids: dict[str, str]) -> None:
    expected = torch_expected()
    assert grads[ids["d"]] is None
    for role, g in expected.items():
        if role == "value":
            continue
        assert grads[ids[role]] is not None, role
        torch.testing.assert_close(grads[ids[role]], g, msg=role)


def assert_no_hostile_code(text: str, names: dict[str, str]) -> None:
    """No name in the code carries an id (comments may name them, escaped), and no string constant
    but the labels an export prints: each node's id as `gradcanvas grad` shows it, as inert text."""
    allowed = {"cpu", *(f"{visible(n)} =" for n in names), *(f"{visible(n)}.grad =" for n in names)}
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert node.value in allowed, node.value
        if isinstance(node, ast.Name):
            assert node.id not in {"__import__", "os", "open", "exec", "eval", "__builtins__"}, node.id
        assert not isinstance(node, ast.Import | ast.ImportFrom) or [a.name for a in node.names] == ["torch"]


def test_hostile_ids_compile_run_and_export_without_executing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "p"
    graph, ids = hostile_graph(marker)
    target = ids["q"]

    compiled = Compiled(graph)
    names = compiled.source.names
    assert set(names) == set(graph.nodes)
    assert len(set(names.values())) == len(names)
    for name in names.values():
        assert_safe(name)
    assert_no_hostile_code(compiled.text, names)
    # the module holds exactly the two generated functions, nothing that runs at import
    assert [type(s).__name__ for s in ast.parse(compiled.text).body] == ["FunctionDef", "FunctionDef"]

    result = compiled.run(target)
    assert not marker.exists()
    check_grads(result.grads, ids)
    torch.testing.assert_close(result.values[target], torch_expected()["value"])
    assert compiled.infer_shapes()[ids["c"]] == (2,)

    text = export_script(graph, target)
    assert not marker.exists()
    assert_no_hostile_code(text, names)
    assert export_script(graph, target) == text
    script = tmp_path / "export.py"
    script.write_text(text, encoding="utf-8")
    env = runpy.run_path(str(script))
    printed = capsys.readouterr().out
    assert not marker.exists()
    # one line for the target's value, then one "<id>.grad = ..." per node, in order
    lines = printed.splitlines()
    assert lines[0].startswith(f"{visible(target)} = ")
    assert [ln.split(" = ")[0] for ln in lines[1:]] == [f"{visible(n)}.grad" for n in compiled.source.order]
    check_grads({node_id: env[var].grad for node_id, var in names.items()}, ids)
    torch.testing.assert_close(env[names[target]].detach(), torch_expected()["value"])
    # the script did not shadow the builtins or torch it relies on
    assert env["torch"] is torch
    assert "print" not in env and "__builtins__" in env


def test_literal_tmp_p_id_executes_nothing() -> None:
    """The id exactly as an attacker would write it, pointing at /tmp/p."""
    path = Path("/tmp/p")
    existed = path.exists()
    g = Graph()
    node_id = "__import__('os').system('touch /tmp/p')"
    g.add_node(Node(id=node_id, op=TENSOR, value=[3.0, 4.0], requires_grad=True))
    g.add_node(Node(id="print", op="sum"))
    g.add_edge(Edge(node_id, "print", "input"))
    result = Compiled(g).run("print")
    text = export_script(g, "print")
    exec(compile(text, "<export>", "exec"), {})  # noqa: S102 - our own export, under test
    if not existed:
        assert not path.exists()
    torch.testing.assert_close(result.grads[node_id], torch.ones(2))


def test_an_id_with_a_newline_made_by_code_is_refused() -> None:
    """Code that builds a Graph meets the loader's id rule at validate(): a newline could end
    the generated comment that names the node."""
    g = Graph()
    bad = "x\nopen('p', 'w')"
    g.add_node(Node(bad, "tensor", value=1.0, requires_grad=True))
    with pytest.raises(ValueSpecError, match="control characters") as info:
        Compiled(g)
    assert info.value.node_ids == (bad,)
