"""Jacobians, Hessians, their diagonals and gradcheck (autograd_bridge.calculus) and their commands.

Expected numbers come from torch.func applied to functions written here by hand with torch ops,
never from GradCanvas's own output. gradcheck must catch a test-only op whose backward is wrong.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli import assert_one_line_error, run_main

from autograd_bridge import calculus
from autograd_bridge.calculus import gradcheck, hessian, hessian_diagonals, jacobian
from autograd_bridge.engine import Compiled
from graph.errors import TargetError
from graph.fileformat import load, save
from graph.model import Edge, Graph, Node
from graph.ops import OPS, TENSOR, OpSpec

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"


def leaf(graph, node_id: str) -> torch.Tensor:  # noqa: ANN001
    return torch.tensor(graph.nodes[node_id].value, dtype=torch.float32)


def diagonal(h: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    n = math.prod(shape)
    return h.reshape(n, n).diagonal().reshape(shape)


# ---- the bundled examples, each derivative against torch.func of a hand-written function ----

def example_cases() -> list[tuple[str, str, str, object]]:
    """(example, target, wrt, f(wrt's value, every node's value) written by hand: the target
    with wrt's value given and the nodes upstream of it as they are)."""
    def mlp_h(g, W1, b1):  # noqa: ANN001, ANN202
        return torch.tanh(g["inp"] @ W1 + b1)

    return [
        ("01_scalar_partial", "y", "x", lambda x, g: 2 * x**2 + 3 * g["z"]),
        ("01_scalar_partial", "y", "x_sq", lambda s, g: 2 * s + 3 * g["z"]),
        ("02_matmul_vector", "y", "x", lambda x, g: torch.sum(g["a"] * (x.reshape(1, -1) @ g["w"]))),
        ("02_matmul_vector", "y", "x_row", lambda r, g: torch.sum(g["a"] * (r @ g["w"]))),
        ("02_matmul_vector", "xw", "x", lambda x, g: x.reshape(1, -1) @ g["w"]),
        ("03_vector_element", "y", "x", lambda x, g: x**2),
        ("03_vector_element", "y1", "x", lambda x, g: (x**2)[1]),
        ("03_vector_element", "y1", "y", lambda y, g: y[1]),
        ("04_small_mlp", "loss", "W1", lambda W1, g: F.mse_loss(mlp_h(g, W1, g["b1"]) @ g["W2"], g["y_true"])),
        ("04_small_mlp", "loss", "b1", lambda b1, g: F.mse_loss(mlp_h(g, g["W1"], b1) @ g["W2"], g["y_true"])),
        ("04_small_mlp", "loss", "W2", lambda W2, g: F.mse_loss(mlp_h(g, g["W1"], g["b1"]) @ W2, g["y_true"])),
        ("04_small_mlp", "loss", "h", lambda h, g: F.mse_loss(h @ g["W2"], g["y_true"])),
        ("04_small_mlp", "out", "W1", lambda W1, g: mlp_h(g, W1, g["b1"]) @ g["W2"]),
        ("04_small_mlp", "out", "h_pre", lambda p, g: torch.tanh(p) @ g["W2"]),
    ]


def _example(name: str) -> tuple[Graph, Compiled, dict[str, torch.Tensor]]:
    graph = load(EXAMPLES / f"{name}.json")
    compiled = Compiled(graph)
    values = {k: v.detach() for k, v in compiled.forward().items()}  # the point: leaves as in the file
    for n in compiled.source.leaf_ids:  # leaves read from the file by the test itself
        torch.testing.assert_close(values[n], leaf(graph, n))
    return graph, compiled, values


@pytest.mark.parametrize(("name", "target", "wrt", "f"), example_cases(),
                         ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in example_cases()])
def test_example_jacobian_and_hessian_match_torch_func(name: str, target: str, wrt: str, f) -> None:  # noqa: ANN001
    graph, compiled, values = _example(name)
    x = values[wrt]
    expected = torch.func.jacrev(lambda x: f(x, values))(x)
    jac = jacobian(compiled, target, wrt)
    assert jac.matrix.shape == (*values[target].shape, *x.shape)
    assert jac.method == ("jacrev" if graph.nodes[wrt].is_tensor else "backward")
    torch.testing.assert_close(jac.matrix, expected)
    torch.testing.assert_close(jac.flat(), expected.reshape(values[target].numel(), x.numel()))
    torch.testing.assert_close(jac.value, values[target])
    if values[target].numel() == 1:
        torch.testing.assert_close(hessian(compiled, target, wrt),
                                   torch.func.hessian(lambda x: f(x, values).reshape(()))(x))
    else:  # with a grad-output v: vᵀ·J, and the Hessian of v·target
        v = torch.linspace(-1, 1, values[target].numel()).reshape(values[target].shape)
        jac = jacobian(compiled, target, wrt, grad_output=v.tolist())
        torch.testing.assert_close(jac.vjp, torch.func.vjp(lambda x: f(x, values), x)[1](v)[0])
        torch.testing.assert_close(hessian(compiled, target, wrt, grad_output=v.tolist()),
                                   torch.func.hessian(lambda x: (v * f(x, values)).sum())(x))


@pytest.mark.parametrize(("name", "target"), [("01_scalar_partial", "y"), ("02_matmul_vector", "y"),
                                              ("03_vector_element", "y1"), ("04_small_mlp", "loss")])
def test_example_hessian_diagonals_match_torch_func(name: str, target: str) -> None:
    _graph, compiled, values = _example(name)
    cases = {wrt: f for n, t, wrt, f in example_cases() if (n, t) == (name, target)}
    got = hessian_diagonals(compiled, target)
    grad_leaves = [n for n in compiled.source.leaf_ids if n in compiled.source.requires_grad]
    assert list(got) == grad_leaves
    for n in grad_leaves:
        x = values[n]
        h = torch.func.hessian(lambda x, f=cases[n]: f(x, values).reshape(()))(x)
        assert got[n].shape == x.shape
        torch.testing.assert_close(got[n], diagonal(h, tuple(x.shape)), msg=n)


# ---- random small graphs (hypothesis) ----
# tests/test_fileformat.py's graphs() draws any structure, most of which cannot run; these are
# computable DAGs: leaves of one shape, smooth elementwise ops, evaluated again here by hand.

UNARY = {"sin": torch.sin, "cos": torch.cos, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "neg": torch.neg}
BINARY = {"add": torch.add, "sub": torch.sub, "mul": torch.mul}
small = st.floats(-1.5, 1.5, allow_nan=False, width=32)


@st.composite
def computable_graphs(draw: st.DrawFn) -> tuple[Graph, list[tuple[str, str, list[str]]], dict[str, list]]:
    """(graph of float64 nodes, its (id, op, inputs) in order, leaf values); the last op is the
    target, and a final sum of it is named "total"."""
    shape = draw(st.sampled_from([(), (2,), (2, 3)]))
    n = math.prod(shape)
    steps, values, graph = [], {}, Graph()
    for i in range(draw(st.integers(1, 3))):
        flat = draw(st.lists(small, min_size=n, max_size=n))
        values[f"l{i}"] = torch.tensor(flat, dtype=torch.float64).reshape(shape).tolist()
        graph.add_node(Node(f"l{i}", TENSOR, value=values[f"l{i}"], dtype="float64",
                            requires_grad=i == 0 or draw(st.booleans())))
        steps.append((f"l{i}", TENSOR, []))
    for i in range(draw(st.integers(1, 5))):
        earlier = [s[0] for s in steps]
        prev = earlier[-1]  # every op feeds the next: the target depends on them all
        if draw(st.booleans()):
            op, inputs = draw(st.sampled_from(sorted(UNARY))), [prev]
        else:
            op, inputs = draw(st.sampled_from(sorted(BINARY))), [prev, draw(st.sampled_from(earlier))]
        graph.add_node(Node(f"o{i}", op))
        for port, src in zip(("input", "other"), inputs, strict=False):
            graph.add_edge(Edge(src, f"o{i}", port))
        steps.append((f"o{i}", op, inputs))
    graph.add_node(Node("total", "sum"))
    graph.add_edge(Edge(steps[-1][0], "total", "input"))
    steps.append(("total", "sum", [steps[-1][0]]))
    return graph, steps, values


def by_hand(steps: list[tuple[str, str, list[str]]], leaves: dict[str, torch.Tensor], target: str,
            wrt: str):  # noqa: ANN201
    """The target as a function of wrt's value, everything upstream of wrt held as it is."""
    fns = {**UNARY, **BINARY, "sum": torch.sum}

    def f(x: torch.Tensor) -> torch.Tensor:
        v = {}
        for node_id, op, inputs in steps:
            if node_id == wrt:
                v[node_id] = x
            elif op == TENSOR:
                v[node_id] = leaves[node_id]
            else:
                v[node_id] = fns[op](*(v[i] for i in inputs))
        return v[target]

    return f


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(computable_graphs())
def test_random_graphs_jacobian_hessian_and_diagonals_match_torch_func(drawn) -> None:  # noqa: ANN001
    graph, steps, leaf_values = drawn
    compiled = Compiled(graph)
    leaves = {n: torch.tensor(v, dtype=torch.float64) for n, v in leaf_values.items()}
    at = {n: by_hand(steps, leaves, n, "")(None) for n, _op, _i in steps}  # every value, by hand
    last = steps[-2][0]  # the last op before the sum: non-scalar unless the leaves are
    for wrt in sorted(compiled.source.requires_grad - {"total"}):
        if not graph.reaches(wrt, last) and wrt != last:
            with pytest.raises(TargetError, match=f"{last} does not depend on {wrt}"):
                jacobian(compiled, last, wrt)
            continue
        torch.testing.assert_close(jacobian(compiled, last, wrt).matrix,
                                   torch.func.jacrev(by_hand(steps, leaves, last, wrt))(at[wrt]))
        torch.testing.assert_close(hessian(compiled, "total", wrt),
                                   torch.func.hessian(by_hand(steps, leaves, "total", wrt))(at[wrt]))
    for n, d in hessian_diagonals(compiled, "total").items():
        if d is None:
            assert not graph.reaches(n, "total")
            continue
        h = torch.func.hessian(by_hand(steps, leaves, "total", n))(leaves[n])
        torch.testing.assert_close(d, diagonal(h, tuple(leaves[n].shape)), msg=n)


# ---- gradcheck catches a wrong gradient ----

class _BrokenSquare(torch.autograd.Function):
    """x² whose backward is wrong on purpose: it gives grad·x, not grad·2x."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        (x,) = ctx.saved_tensors
        return grad * x


class _Square(torch.autograd.Function):
    """x² with the right backward, as a torch.autograd.Function: vmap and forward-mode AD
    cannot run it, so the Jacobian and Hessian take their backward-pass paths."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
        (x,) = ctx.saved_tensors
        return grad * 2 * x


@pytest.fixture
def test_ops(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two test-only catalogue entries. The generated code sees only torch and math, so their
    functions are reached as attributes of torch (spec.function is what codegen emits)."""
    for name, fn in (("broken_square", _BrokenSquare.apply), ("square", _Square.apply)):
        monkeypatch.setattr(torch, f"_gradcanvas_test_{name}", fn, raising=False)
        monkeypatch.setitem(OPS, name, OpSpec(name, f"torch._gradcanvas_test_{name}", ("input",),
                                              "elementwise", name, "a test-only op",
                                              example_shapes={"input": (3,)}))


def broken_doc(dtype: str = "float32") -> dict:
    """total = sum(broken_square(x) + sin(w)): ∂total/∂x is wrong, ∂total/∂w right."""
    return {"format": "gradcanvas", "version": 1, "nodes": [
        {"id": "x", "op": "tensor", "value": [0.5, -1.0, 2.0], "requires_grad": True, "dtype": dtype},
        {"id": "w", "op": "tensor", "value": [0.3, 0.1, -0.7], "requires_grad": True, "dtype": dtype},
        {"id": "c", "op": "tensor", "value": 1.0, "requires_grad": True, "dtype": dtype},
        {"id": "sq", "op": "broken_square"}, {"id": "s", "op": "sin"}, {"id": "a", "op": "add"},
        {"id": "total", "op": "sum"}],
        "edges": [{"from": "x", "to": "sq", "port": "input"}, {"from": "w", "to": "s", "port": "input"},
                  {"from": "sq", "to": "a", "port": "input"}, {"from": "s", "to": "a", "port": "other"},
                  {"from": "a", "to": "total", "port": "input"}]}


def write(tmp_path: Path, doc: dict, name: str = "g.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def test_gradcheck_names_the_leaf_with_a_wrong_gradient(test_ops, tmp_path: Path) -> None:  # noqa: ANN001
    compiled = Compiled(load(write(tmp_path, broken_doc())))
    report = gradcheck(compiled, "total")
    assert [c.leaf for c in report.leaves] == ["x", "w"] and report.unused == ["c"]
    assert not report.passed and report.failed == ["x"]
    x, w = report.leaves
    # autograd says x, the truth is 2x: the error is |x|, relative to 2|x| a half
    assert x.max_abs_error == pytest.approx(2.0, rel=1e-6) and x.max_rel_error == pytest.approx(0.5, rel=1e-6)
    assert w.passed and w.max_abs_error < 1e-8 and w.max_rel_error < 1e-6
    # torch.autograd.gradcheck itself agrees, leaf by leaf
    c64 = Compiled(load(write(tmp_path, broken_doc())), "cpu", "float64")
    leaves = c64.make_leaves()
    for i, expected in ((0, False), (1, True)):
        def f(t: torch.Tensor, i: int = i) -> torch.Tensor:
            args = list(leaves)
            args[i] = t
            return c64.forward(tuple(args))["total"]

        assert torch.autograd.gradcheck(f, (leaves[i].detach().requires_grad_(),), eps=1e-6, atol=1e-5,
                                        rtol=1e-3, raise_exception=False) is expected


def test_gradcheck_runs_in_float64_whatever_the_file_says(examples_dir: Path) -> None:
    compiled = Compiled(load(examples_dir / "04_small_mlp.json"))
    assert compiled.dtype is None and compiled.graph.nodes["W1"].dtype == "float32"
    report = gradcheck(compiled, "loss")
    assert report.passed and [c.leaf for c in report.leaves] == ["W1", "b1", "W2"]
    # central differences with eps 1e-6 in float32 would be off by ~0.1
    assert max(c.max_abs_error for c in report.leaves) < 1e-7


def test_gradcheck_names_where_nan_starts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """log(-1) is NaN, exp of it too: gradcheck fails for x, and says l is where NaN starts."""
    graph = Graph()
    graph.add_node(Node("x", TENSOR, value=[-1.0, 2.0], requires_grad=True))
    graph.add_node(Node("other", TENSOR, value=[1.0, 1.0], requires_grad=True))
    for n, op in (("l", "log"), ("e", "exp"), ("s", "sum")):
        graph.add_node(Node(n, op))
    for src, dst in (("x", "l"), ("l", "e"), ("e", "s")):
        graph.add_edge(Edge(src, dst, "input"))
    assert torch.isnan(torch.log(torch.tensor(-1.0)))  # torch agrees where it starts
    report = gradcheck(Compiled(graph), "s")
    assert not report.passed and report.nonfinite == "l"
    assert gradcheck(Compiled(graph), "s").unused == ["other"]
    path = tmp_path / "nan.json"
    save(graph, path)
    code, out, _err = run_main(capsys, "gradcheck", str(path), "--target", "s")
    assert code == 1 and "note: l holds NaN or Inf here" in out
    assert json.loads(run_main(capsys, "gradcheck", str(path), "--target", "s", "--json")[1])["nonfinite"] == "l"
    for command in (["hessian", "--target", "s"], ["jacobian", "--target", "e"]):  # NaN entries: where from
        code, out, _err = run_main(capsys, command[0], str(path), *command[1:], "--wrt", "x")
        assert code == 0 and "nan" in out
        assert out.splitlines()[-1] == "note: l holds NaN or Inf, and so does what depends on it"
    example = Path(__file__).resolve().parent.parent / "resources" / "examples" / "01_scalar_partial.json"
    assert gradcheck(Compiled(load(example)), "y").nonfinite is None
    assert "note:" not in run_main(capsys, "hessian", str(example), "--wrt", "x")[1]


def test_jacobian_and_hessian_fall_back_where_vmap_cannot_run(test_ops) -> None:  # noqa: ANN001
    graph = Graph()
    graph.add_node(Node("x", TENSOR, value=[0.5, -1.0, 2.0], requires_grad=True, dtype="float64"))
    graph.add_node(Node("sq", "square"))
    graph.add_node(Node("total", "sum"))
    graph.add_edge(Edge("x", "sq", "input"))
    graph.add_edge(Edge("sq", "total", "input"))
    compiled = Compiled(graph)
    x = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    jac = jacobian(compiled, "sq", "x")
    assert jac.method == "backward"  # jacrev refused the autograd.Function
    torch.testing.assert_close(jac.matrix, torch.func.jacrev(lambda x: x * x)(x))
    used: list[str] = []
    by_hand = torch.func.hessian(lambda x: (x * x).sum())(x)
    torch.testing.assert_close(hessian(compiled, "total", "x", used=used), by_hand)
    assert used == [calculus.HESSIAN_BY_DOUBLE_BACKWARD + calculus.HESSIAN_VMAP_FAILED]  # the inspector says which ran
    torch.testing.assert_close(hessian_diagonals(compiled, "total")["x"], torch.full((3,), 2.0, dtype=torch.float64))
    assert gradcheck(compiled, "total").passed


def test_refusals_name_the_nodes(examples_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = Compiled(load(examples_dir / "04_small_mlp.json"))
    cases = [
        (lambda: jacobian(compiled, "loss", "nope"), "no node 'nope'", ()),
        (lambda: jacobian(compiled, "nope", "W1"), "no node 'nope'", ()),
        (lambda: jacobian(compiled, "loss", "inp"), "inp does not require grad", ("inp",)),
        (lambda: jacobian(compiled, "h", "W2"), "h does not depend on W2", ("h", "W2")),
        (lambda: hessian(compiled, "out", "W1"), "target out has shape [4, 1]", ("out",)),
        (lambda: hessian_diagonals(compiled, "out"), "target out has shape [4, 1]", ("out",)),
        (lambda: jacobian(compiled, "out", "W1", grad_output=[1.0, 2.0]), "grad-output has shape [2]", ("out",)),
    ]
    for call, words, ids in cases:
        with pytest.raises(TargetError) as e:
            call()
        assert words in e.value.message and e.value.node_ids == ids, e.value.message
    monkeypatch.setattr(calculus, "JACOBIAN_LIMIT", 40)
    with pytest.raises(TargetError, match=r"48 elements \(out \[4, 1\] × W1 \[3, 4\]\), more than the limit of 40"):
        jacobian(compiled, "out", "W1")
    with pytest.raises(TargetError, match=r"144 elements \(W1 \[3, 4\] twice\)"):
        hessian(compiled, "loss", "W1")
    with pytest.raises(TargetError, match=r"Hessian diagonal ∂²loss/∂W1²"):
        hessian_diagonals(compiled, "loss")
    monkeypatch.setattr(calculus, "GRADCHECK_LIMIT", 10)
    with pytest.raises(TargetError, match=r"20 elements \(W1 12, b1 4, W2 4\)"):
        gradcheck(compiled, "loss")


# ---- the commands ----

def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    code, out, err = run_main(capsys, *argv)
    assert code == 0, err
    return json.loads(out, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))


def test_jacobian_hessian_and_grads2_json(examples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mlp = str(examples_dir / "04_small_mlp.json")
    _graph, _compiled, values = _example("04_small_mlp")
    cases = {(t, w): f for n, t, w, f in example_cases() if n == "04_small_mlp"}
    got = cli_json(capsys, "jacobian", mlp, "--target", "out", "--wrt", "W1", "--json")
    assert list(got) == ["target", "wrt", "jacobian"] and (got["target"], got["wrt"]) == ("out", "W1")
    expected = torch.func.jacrev(lambda x: cases["out", "W1"](x, values))(values["W1"])
    torch.testing.assert_close(torch.tensor(got["jacobian"]), expected)  # shape [4, 1] + [3, 4]
    got = cli_json(capsys, "jacobian", mlp, "--target", "out", "--wrt", "h_pre", "--json",
                   "--grad-output", "[[1], [2], [3], [4]]", "--dtype", "float64")
    v = torch.tensor([[1.0], [2.0], [3.0], [4.0]], dtype=torch.float64)
    p = values["h_pre"].double()
    g = {k: t.double() for k, t in values.items()}
    torch.testing.assert_close(torch.tensor(got["vjp"], dtype=torch.float64),
                               torch.func.vjp(lambda p: cases["out", "h_pre"](p, g), p)[1](v)[0])
    assert torch.tensor(got["jacobian"]).shape == (4, 1, 4, 4)
    got = cli_json(capsys, "hessian", mlp, "--wrt", "b1", "--json")
    assert list(got) == ["target", "wrt", "hessian"] and got["target"] == "loss"
    hess = torch.func.hessian(lambda b: cases["loss", "b1"](b, values))(values["b1"])
    torch.testing.assert_close(torch.tensor(got["hessian"]), hess)
    got = cli_json(capsys, "grad", mlp, "--order", "2", "--json")
    assert list(got["grads2"]) == ["W1", "b1", "W2"]
    for n in got["grads2"]:
        h = torch.func.hessian(lambda x, n=n: cases["loss", n](x, values))(values[n])
        torch.testing.assert_close(torch.tensor(got["grads2"][n]), diagonal(h, tuple(values[n].shape)), msg=n)
    assert "grads2" not in cli_json(capsys, "grad", mlp, "--json")
    got = cli_json(capsys, "gradcheck", mlp, "--json")
    assert got["passed"] is True and list(got["leaves"]) == ["W1", "b1", "W2"] and got["unused"] == []
    assert set(got["leaves"]["W1"]) == {"shape", "max_abs_error", "max_rel_error", "passed"}


def test_gradcheck_command_exits_1_naming_the_leaf(test_ops, tmp_path: Path,  # noqa: ANN001
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    doc = broken_doc()
    for node in doc["nodes"]:  # an id that must be escaped wherever it is printed
        node["id"] = {"x": "x\u202e"}.get(node["id"], node["id"])
    for edge in doc["edges"]:
        edge["from"] = {"x": "x\u202e"}.get(edge["from"], edge["from"])
    path = write(tmp_path, doc)
    code, out, err = run_main(capsys, "gradcheck", path, "--target", "total")
    assert code == 1 and err == "" and "\u202e" not in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:] if line.startswith("  ")}
    assert rows["x\\u202e"][-1] == "FAIL" and rows["w"][-1] == "ok"
    assert float(rows["x\\u202e"][-3]) == pytest.approx(2.0, rel=1e-3)
    assert "FAILED" in out.splitlines()[-1] and "x\\u202e" in out.splitlines()[-1]
    assert "c" in out  # listed as not checked
    code, out, _err = run_main(capsys, "gradcheck", path, "--target", "total", "--json")
    got = json.loads(out)
    assert code == 1 and got["passed"] is False and got["leaves"]["x\u202e"]["passed"] is False
    assert run_main(capsys, "gradcheck", path, "--target", "s")[0] == 0  # sin(w) alone is right


def test_text_tables(examples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "jacobian", str(examples_dir / "03_vector_element.json"),
                            "--target", "y", "--wrt", "x", "--grad-output", "[1, 2]")
    assert code == 0
    assert [line.split() for line in out.splitlines()[1:]] == [
        ["x[0]", "x[1]"], ["y[0]", "2", "0"], ["y[1]", "0", "4"],
        ["vᵀ·J", "with", "the", "grad-output", "v", "(what", "grad", "gives", "x):", "[2,", "8]"]]
    code, out, _ = run_main(capsys, "grad", str(examples_dir / "03_vector_element.json"), "--order", "2")
    assert code == 0 and out.splitlines()[-1].split() == ["x", "[2]", "[0,", "2]"]
    code, out, _ = run_main(capsys, "hessian", str(examples_dir / "01_scalar_partial.json"), "--wrt", "x")
    assert code == 0 and out.splitlines()[-1].split() == ["x", "4"]


@pytest.mark.parametrize(("argv", "words"), [
    (["jacobian", "{mlp}", "--wrt", "nope"], ("no node 'nope'",)),
    (["jacobian", "{mlp}", "--wrt", "inp"], ("inp does not require grad",)),
    (["jacobian", "{mlp}", "--target", "h", "--wrt", "W2"], ("h does not depend on W2",)),
    (["jacobian", "{mlp}", "--target", "nope", "--wrt", "W1"], ("no node 'nope'",)),
    (["jacobian", "{mlp}", "--target", "out", "--wrt", "W1", "--grad-output", "[1]"], ("grad-output has shape [1]",)),
    (["hessian", "{mlp}", "--target", "out", "--wrt", "W1"], ("target out has shape [4, 1]",)),
    (["hessian", "{mlp}", "--wrt", "inp"], ("inp does not require grad",)),
    (["grad", "{mlp}", "--target", "out", "--order", "2"], ("target out has shape [4, 1]",)),
    (["gradcheck", "{mlp}", "--target", "inp"], ("inp depends on no tensor with requires_grad on",)),
    (["jacobian", "{mlp}", "--wrt", "W1", "--device", "tpu"], ("unknown device 'tpu'",)),
    (["hessian", "{mlp}", "--wrt", "W1", "--device", "tpu"], ("unknown device 'tpu'",)),
    (["gradcheck", "{mlp}", "--device", "tpu"], ("unknown device 'tpu'",)),
    (["jacobian", "{mlp}", "--wrt", "W1", "--memory-limit", "100"], ("over the memory limit 100 B",)),
    (["hessian", "{mlp}", "--wrt", "W1", "--memory-limit", "100"], ("over the memory limit 100 B",)),
    (["gradcheck", "{mlp}", "--memory-limit", "100"], ("over the memory limit 100 B",)),
    (["gradcheck", "{mlp}", "--memory-limit", "lots"], ("--memory-limit", "not a size")),
])
def test_command_refusals_are_one_line(argv: list[str], words: tuple[str, ...], examples_dir: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    argv = [a.format(mlp=examples_dir / "04_small_mlp.json") for a in argv]
    assert_one_line_error(*run_main(capsys, *argv), *words)


def test_the_commands_take_grads_options(examples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gradcanvas.cli import _parser

    sub = next(a for a in _parser()._actions if a.dest == "command").choices  # noqa: SLF001
    grad = {o for a in sub["grad"]._actions for o in a.option_strings}  # noqa: SLF001
    for command in ("jacobian", "hessian", "gradcheck"):
        options = {o for a in sub[command]._actions for o in a.option_strings}  # noqa: SLF001
        assert {"--target", "--device", "--dtype", "--grad-output"} <= options & grad, command
    f64 = cli_json(capsys, "jacobian", str(examples_dir / "03_vector_element.json"), "--target", "y",
                   "--wrt", "x", "--dtype", "float64", "--json")
    assert f64["jacobian"] == [[2.0, 0.0], [0.0, 4.0]]


def test_nonfinite_jacobian_is_strict_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, {"format": "gradcanvas", "version": 1, "nodes": [
        {"id": "x", "op": "tensor", "value": [-1.0, 0.0, 4.0], "requires_grad": True},
        {"id": "r", "op": "sqrt"}], "edges": [{"from": "x", "to": "r", "port": "input"}]})
    got = cli_json(capsys, "jacobian", path, "--wrt", "x", "--json")
    expected = torch.func.jacrev(torch.sqrt)(torch.tensor([-1.0, 0.0, 4.0]))  # 0·inf is NaN off the diagonal
    assert got["jacobian"] == [[{"nan": "nan", "inf": "inf"}.get(str(v), v) for v in row] for row in expected.tolist()]
    assert got["jacobian"][1][1] == "inf" and got["jacobian"][2][2] == 0.25


@pytest.mark.parametrize("argv", [["jacobian", "--wrt", "W1"], ["hessian", "--wrt", "b1"], ["gradcheck"],
                                  ["grad", "--order", "2", "--json"]])
def test_each_command_validates_the_graph_once(argv: list[str], examples_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    calls = []
    real = Graph.validate
    monkeypatch.setattr(Graph, "validate", lambda self: calls.append(1) or real(self))
    code, _out, err = run_main(capsys, argv[0], str(examples_dir / "04_small_mlp.json"), *argv[1:])
    assert code == 0, err
    assert len(calls) == 1


# ---- a node that cannot carry a gradient says why, as the result panel does ----

def _no_grad_graph() -> Graph:
    """y = sum(x * k + where(x > m, x, x)): k an int64 leaf, m a bool leaf, x > m a bool result."""
    g = Graph()
    g.add_node(Node("x", TENSOR, value=[1.5, -2.0], requires_grad=True, label="weights"))
    g.add_node(Node("k", TENSOR, value=[2, -1], dtype="int64", label="counts"))
    g.add_node(Node("m", TENSOR, value=[True, False], dtype="bool", label="mask"))
    g.add_node(Node("c", TENSOR, value=[0.5, 0.5], label="half"))
    g.add_node(Node("xk", "mul"))
    g.add_node(Node("gt", "gt", label="x > m"))
    g.add_node(Node("w", "where"))
    g.add_node(Node("xc", "mul"))
    g.add_node(Node("a", "add"))
    g.add_node(Node("b", "add"))
    g.add_node(Node("y", "sum", label="total"))
    for src, dst, port in [("x", "xk", "input"), ("k", "xk", "other"), ("x", "gt", "input"), ("m", "gt", "other"),
                           ("gt", "w", "condition"), ("x", "w", "input"), ("x", "w", "other"),
                           ("c", "xc", "input"), ("c", "xc", "other"), ("xk", "a", "input"), ("w", "a", "other"),
                           ("a", "b", "input"), ("xc", "b", "other"), ("b", "y", "input")]:
        g.add_edge(Edge(src, dst, port))
    return g


def test_a_node_without_a_gradient_says_why_naming_it_by_id_and_in_the_app_by_title() -> None:
    from autograd_bridge.calculus_tasks import Asked, node_derivatives
    from autograd_bridge.cancel import CancelToken
    from autograd_bridge.compute import ComputeSession

    graph = _no_grad_graph()
    compiled = Compiled(graph)
    torch.testing.assert_close(hessian(compiled, "y", "x"), torch.zeros(2, 2))  # the graph runs
    floats = "(only floating point tensors can require gradients)"
    cases = {
        "k": (f"k is int64: no gradient, so autograd gives no ∂y/∂k {floats}",
              f"counts is int64: no gradient, so autograd gives no ∂total/∂counts {floats}"),
        "m": (f"m is bool: no gradient, so autograd gives no ∂y/∂m {floats}",
              f"mask is bool: no gradient, so autograd gives no ∂total/∂mask {floats}"),
        "gt": ("gt is a bool result: no gradient flows through it, so autograd gives no ∂y/∂gt",
               "(x > m) is a bool result: no gradient flows through it, so autograd gives no ∂total/∂(x > m)"),
        "c": ("c does not require grad (its requires_grad is off): autograd gives no ∂y/∂c",
              "half does not require grad (its requires_grad is off): autograd gives no ∂total/∂half"),
    }
    for wrt, (by_id, by_title) in cases.items():
        for derivative in (jacobian, hessian):
            with pytest.raises(TargetError) as e:
                derivative(compiled, "y", wrt)
            assert (e.value.message, e.value.node_ids) == (by_id, (wrt,))
        out = node_derivatives(ComputeSession(), CancelToken(), graph, Asked(1, "y"), wrt)  # the panel's task
        assert out.error == by_title, out.error


def _softmax_shift() -> Graph:
    """y = sum(softmax(x + b) * w): softmax ignores a shift, so ∂y/∂b is 0 exactly, and central
    differences give it as ~1e-10 of rounding."""
    g = Graph()
    g.add_node(Node("x", TENSOR, value=[1.541, -0.2934, -2.1788, 0.5684, -1.0845, -1.3986], requires_grad=True))
    g.add_node(Node("b", TENSOR, value=0.42, requires_grad=True))
    g.add_node(Node("w", TENSOR, value=[0.4033, 0.838, -0.7193, -0.4033, -0.5966, 0.182]))
    for n, op in (("s", "add"), ("p", "softmax"), ("m", "mul"), ("y", "sum")):
        g.add_node(Node(n, op, attrs={"dim": 0} if op == "softmax" else {}))
    for src, dst, port in (("x", "s", "input"), ("b", "s", "other"), ("s", "p", "input"), ("p", "m", "input"),
                           ("w", "m", "other"), ("m", "y", "input")):
        g.add_edge(Edge(src, dst, port))
    return g


def test_the_relative_error_is_of_entries_the_relative_tolerance_decides(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    """Beside a zero gradient the relative error read "max rel error 1 … ok": central differences'
    rounding (~1e-10) over itself. It is now of entries with |numerical| ≥ atol / rtol only, and
    "-" (JSON null) where there is none; the absolute error still says how close it came."""
    report = gradcheck(Compiled(_softmax_shift(), dtype="float64"), "y")
    x, b = report.leaves
    assert 1e-12 < b.max_abs_error < 1e-8  # rounding, not 0: over itself, a relative error of 1
    assert report.passed and b.leaf == "b" and b.max_rel_error is None and b.max_abs_error < 1e-8
    assert x.max_rel_error is not None and x.max_rel_error < 1e-6
    path = tmp_path / "g.json"
    save(_softmax_shift(), path)
    code, out, _err = run_main(capsys, "gradcheck", str(path))
    assert code == 0
    row = next(line.split() for line in out.splitlines() if line.strip().startswith("b "))
    assert row[3:] == ["-", "ok"], row
    code, out, _err = run_main(capsys, "gradcheck", str(path), "--json")
    assert json.loads(out)["leaves"]["b"]["max_rel_error"] is None
