"""`gradcanvas grad` computes a target that errors elsewhere in the file do not reach, as the app
does (it said the first error of the file and computed nothing), and says on stderr (and in
--json) what it left out; a target that an error does reach gets that error."""

from __future__ import annotations

import json

import pytest
import torch
from helpers import make_graph
from test_cli import run_main

from graph.fileformat import save
from graph.model import Node
from graph.ops import TENSOR

X = [3.0, -1.0]


@pytest.fixture
def path(tmp_path):  # noqa: ANN001, ANN201
    """q = sum(x * x) is fine; mul1 = b * w does not broadcast; m2 has an input unfed."""
    g = make_graph([Node("x", TENSOR, value=X, requires_grad=True), Node("w", TENSOR, value=[[1.0, 2.0], [3.0, 4.0]]),
                    Node("b", TENSOR, value=[1.0, 2.0, 3.0]), Node("mul1", "mul"), Node("xx", "mul"),
                    Node("q", "sum"), Node("m2", "mul")],
                   [("b", "mul1", "input"), ("w", "mul1", "other"), ("x", "xx", "input"), ("x", "xx", "other"),
                    ("xx", "q", "input"), ("b", "m2", "input")])
    p = tmp_path / "part.json"
    save(g, p)
    return p


def by_torch() -> list[float]:
    x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad((x * x).sum(), x)
    return g.tolist()


def test_a_target_the_errors_do_not_reach_is_computed(path, capsys) -> None:  # noqa: ANN001
    code, out, err = run_main(capsys, "grad", str(path), "--target", "q")
    assert code == 0, err
    assert err.splitlines() == ["warning: q does not depend on what these errors leave out; computed without it:",
                                "  unconnected input: m2.other",
                                "  mul1: mul of [3] and [2, 2]: they do not broadcast: at dimension -1 (counted from "
                                "the last) the sizes are 3 and 2, and torch needs them equal or 1"]
    x_row = next(line for line in out.splitlines() if line.startswith("x "))
    assert x_row.split()[-2:] == [f"[{by_torch()[0]:g},", f"{by_torch()[1]:g}]"]
    assert "mul1" not in out and "m2" not in out
    code, out, _err = run_main(capsys, "grad", str(path), "--target", "q", "--json")
    data = json.loads(out)
    assert code == 0 and data["grads"]["x"] == pytest.approx(by_torch()) and data["value"] == 10.0
    assert set(data["grads"]) == {"x", "w", "b", "xx", "q"}
    assert [e["nodes"] for e in data["not_computed"]] == [["m2"], ["mul1"]]  # what each error leaves out
    assert data["not_computed"][0]["message"] == "unconnected input: m2.other"


@pytest.mark.parametrize(("target", "error"), [
    ("mul1", "error: mul1: mul of [3] and [2, 2]: they do not broadcast"),  # its own, not the file's first
    ("m2", "error: unconnected input: m2.other"),
    ("nope", "error: no node 'nope' in this graph"),
])
def test_a_target_an_error_reaches_gets_that_error(path, capsys, target: str, error: str) -> None:  # noqa: ANN001
    code, out, err = run_main(capsys, "grad", str(path), "--target", target)
    assert code == 1 and out == "" and err.startswith(error) and err.count("\n") == 1, err


def test_without_a_target_the_file_is_refused_as_before(path, capsys) -> None:  # noqa: ANN001
    code, _out, err = run_main(capsys, "grad", str(path))  # no target in the file: no guess among the sinks
    assert code == 1 and err == "error: unconnected input: m2.other\n"


def test_the_files_target_and_grad_output_are_kept(path, tmp_path, capsys) -> None:  # noqa: ANN001
    data = json.loads(path.read_text())
    data["target"], data["grad_output"] = "xx", [1.0, 2.0]  # xx = x * x is non-scalar: v is needed
    with_v = tmp_path / "with_v.json"
    with_v.write_text(json.dumps(data))
    code, out, err = run_main(capsys, "grad", str(with_v), "--json")
    x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    (vjp,) = torch.autograd.grad(x * x, x, torch.tensor([1.0, 2.0], dtype=torch.float64))
    assert code == 0, err
    assert json.loads(out)["grads"]["x"] == pytest.approx(vjp.tolist())


def test_a_device_not_here_is_one_line_and_no_warning_comes_before_a_refusal(path, capsys) -> None:  # noqa: ANN001
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, out, err = run_main(capsys, "grad", str(path), "--target", "q", "--device", "cuda")
    assert code == 1 and out == "" and err == "error: device cuda is not available on this machine (available: cpu)\n"
    code, out, err = run_main(capsys, "grad", str(path), "--target", "xx", "--grad-output", "[1, 1, 1]")
    assert code == 1 and out == "" and err == "error: grad-output has shape [3] but target xx has shape [2]\n", err


def test_the_calculus_commands_compute_the_target_as_grad_does(path, capsys) -> None:  # noqa: ANN001
    """grad --order 2 gave ∂²q/∂x² where hessian refused the same file for its unrelated errors."""
    x = torch.tensor(X, dtype=torch.float64)
    expected = torch.func.hessian(lambda x: (x * x).sum())(x)
    code, out, err = run_main(capsys, "hessian", str(path), "--target", "q", "--wrt", "x", "--json")
    assert code == 0 and json.loads(out)["hessian"] == expected.tolist()
    assert err.startswith("warning: q does not depend on what these errors leave out")
    code, out, _err = run_main(capsys, "jacobian", str(path), "--target", "q", "--wrt", "x", "--json")
    assert code == 0 and json.loads(out)["jacobian"] == pytest.approx(by_torch())
    code, out, _err = run_main(capsys, "gradcheck", str(path), "--target", "q")
    assert code == 0 and "x " in out and "ok" in out
    code, _out, err = run_main(capsys, "hessian", str(path), "--target", "mul1", "--wrt", "b")
    assert code == 1 and err.startswith("error: mul1: mul of [3] and [2, 2]: they do not broadcast"), err


def test_thousands_of_unfed_inputs_elsewhere_cost_no_walk_per_error(tmp_path, capsys, monkeypatch) -> None:  # noqa: ANN001
    """A chain of 2,000 adds, each with its other input unfed, beside z = sum(x): grad walked
    every error's downstream once per node of the file (minutes at 5,000 nodes). The text
    output walks none, --json one per error, and a target the chain leaves out gets the first
    error above it from one walk up."""
    from autograd_bridge import compute

    n = 2000
    g = make_graph([Node("x", TENSOR, value=X, requires_grad=True), Node("z", "sum")]
                   + [Node(f"a{i}", "add") for i in range(n)],
                   [("x", "z", "input"), ("x", "a0", "input")] + [(f"a{i - 1}", f"a{i}", "input") for i in range(1, n)])
    p = tmp_path / "chain.json"
    save(g, p)
    walks = []
    real = compute.left_out_for
    monkeypatch.setattr(compute, "left_out_for", lambda graph, e: walks.append(e) or real(graph, e))
    code, out, err = run_main(capsys, "grad", str(p), "--target", "z")
    assert code == 0 and walks == [], err
    assert err.count("unconnected input: a") == n
    code, out, err = run_main(capsys, "grad", str(p), "--target", "z", "--json")
    assert code == 0 and len(walks) == n
    left = json.loads(out)["not_computed"]
    assert left[0]["nodes"] == [f"a{i}" for i in range(n)] and left[-1]["nodes"] == [f"a{n - 1}"]
    walks.clear()
    code, out, err = run_main(capsys, "grad", str(p), "--target", f"a{n - 1}")
    assert code == 1 and err.startswith("error: unconnected input: a0.other") and walks == [], err


def test_json_lists_the_grads_in_the_order_the_table_does(tmp_path, capsys) -> None:  # noqa: ANN001
    """Each node after its inputs, otherwise as the file lists them, in both forms: with a node
    left out, the JSON used to put the leaves first (x, w, s, y) and the table did not (x, s, y, w)."""
    g = make_graph([Node("x", TENSOR, value=[1.0, 2.0], requires_grad=True), Node("s", "square"), Node("y", "sum"),
                    Node("bad", "add"), Node("w", TENSOR, value=[1.0, 2.0, 3.0])],
                   [("x", "s", "input"), ("s", "y", "input"), ("x", "bad", "input")])
    p = tmp_path / "order.json"
    save(g, p)
    expected = ["x", "s", "y", "w"]  # the file's order, "bad" (an input unfed) left out
    code, out, _err = run_main(capsys, "grad", str(p), "--target", "y", "--json")
    assert code == 0 and list(json.loads(out)["grads"]) == expected
    code, out, _err = run_main(capsys, "grad", str(p), "--target", "y")
    rows = out.splitlines()[2:]
    assert code == 0 and [r.split()[0] for r in rows] == expected
