"""Exported scripts print the partials the app computes, need only torch, and are deterministic."""

from __future__ import annotations

import ast
import json
import runpy
from pathlib import Path

import pytest
import torch

from autograd_bridge.engine import Compiled
from autograd_bridge.export import export_script
from gradcanvas.cli import main
from graph.errors import TargetError
from graph.fileformat import load

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "resources" / "examples").glob("*.json"))


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    capsys.readouterr()
    assert main(["grad", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def assert_same_grad(got: torch.Tensor | None, expected: object, what: str) -> None:
    if expected is None:
        assert got is None, f"{what}: expected None, script has {got}"
    else:
        assert got is not None, f"{what}: script has None, expected {expected}"
        torch.testing.assert_close(got, torch.tensor(expected, dtype=got.dtype), msg=what)


def imports_of(text: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add(node.module or "")
    return found


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_export_parity_with_grad(path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = load(path)
    (target,) = graph.sinks()
    out = tmp_path / "script.py"
    assert main(["export", str(path), "-o", str(out)]) == 0
    capsys.readouterr()
    text = out.read_text(encoding="utf-8")
    assert text == export_script(graph, target)

    expected = cli_json(capsys, str(path))
    assert expected["target"] == target
    names = Compiled(graph).source.names
    assert set(names) == set(expected["grads"]) == set(graph.nodes)

    for script_text, label in ((text, "cli"), (export_script(graph, target), "export_script")):
        script = tmp_path / f"run_{label}.py"
        script.write_text(script_text, encoding="utf-8")
        env = runpy.run_path(str(script))
        printed = capsys.readouterr().out
        assert printed.splitlines()[0].startswith(f"{names[target]} =")
        torch.testing.assert_close(env[names[target]].detach(),
                                   torch.tensor(expected["value"], dtype=torch.float32))
        for node_id, var in names.items():
            assert isinstance(env[var], torch.Tensor), var
            assert_same_grad(env[var].grad, expected["grads"][node_id], f"{label}: {node_id} ({var})")
            assert f"{var}.grad =" in printed


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_export_is_deterministic(path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = load(path)
    (target,) = graph.sinks()
    first = export_script(graph, target)
    assert export_script(graph, target) == first
    assert export_script(load(path), target) == first  # a fresh load, a fresh namespace
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    assert main(["export", str(path), "-o", str(a)]) == 0
    assert main(["export", str(path), "-o", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_export_imports_only_torch(path: Path) -> None:
    graph = load(path)
    (target,) = graph.sinks()
    text = export_script(graph, target)
    assert imports_of(text) == {"torch"}
    tree = ast.parse(text)
    # The only bare names called are print; everything else is torch.* or a tensor method.
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert called == {"print"}


def test_export_grad_output_for_a_non_scalar_target(examples_dir: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = examples_dir / "03_vector_element.json"
    graph = load(path)
    go = [1.0, 0.5]
    with pytest.raises(TargetError, match="target y has shape \\[2\\]"):
        export_script(graph, "y")
    with pytest.raises(TargetError, match="grad-output has shape \\[3\\]"):
        export_script(graph, "y", [1.0, 2.0, 3.0])

    out = tmp_path / "vjp.py"
    assert main(["export", str(path), "--target", "y", "--grad-output", json.dumps(go), "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text == export_script(graph, "y", go)
    assert "backward(gradient=" in text
    env = runpy.run_path(str(out))
    capsys.readouterr()

    x = torch.tensor(graph.nodes["x"].value, requires_grad=True)
    (x**2).backward(torch.tensor(go))
    torch.testing.assert_close(env["x"].grad, x.grad)  # 2 * x * go = [2, 2]
    torch.testing.assert_close(env["x"].grad, torch.tensor([2.0, 2.0]))
    torch.testing.assert_close(env["y"].grad, torch.tensor(go))
    # the script and `grad --grad-output` agree
    expected = cli_json(capsys, str(path), "--target", "y", "--grad-output", json.dumps(go))
    assert_same_grad(env["x"].grad, expected["grads"]["x"], "x")
    assert env["y1"].grad is None and expected["grads"]["y1"] is None


def test_export_dtype_override(examples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    graph = load(examples_dir / "02_matmul_vector.json")
    text = export_script(graph, "y", dtype="float64")
    assert "torch.float32" not in text and "torch.float64" in text
    env: dict = {}
    exec(compile(text, "<export>", "exec"), env)  # noqa: S102 - our own export, under test
    capsys.readouterr()
    assert env["x"].grad.dtype == torch.float64
    torch.testing.assert_close(env["x"].grad, torch.tensor([14.0, 22.0], dtype=torch.float64))


def test_export_of_a_target_without_grad_leaves_every_grad_none(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    doc = {"format": "gradcanvas", "version": 1,
           "nodes": [{"id": "c", "op": "tensor", "value": [1.0, 2.0]},
                     {"id": "s", "op": "sum"}],
           "edges": [{"from": "c", "to": "s", "port": "input"}]}
    path = tmp_path / "nograd.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    text = export_script(load(path), "s")
    calls = [n.func.attr for n in ast.walk(ast.parse(text))
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]
    assert "backward" not in calls  # it would raise: s requires no grad
    env = runpy.run_path(_write(tmp_path / "nograd.py", text))
    capsys.readouterr()
    assert env["c"].grad is None and env["s"].grad is None
    expected = cli_json(capsys, str(path))
    assert expected["grads"] == {"c": None, "s": None}


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


def _outer_product(tmp_path: Path, n: int) -> Path:
    """sum(tanh(x @ w)) for x [n, 1], w [1, n]: its run holds a few [n, n] tensors."""
    path = tmp_path / "outer.json"
    path.write_text(json.dumps({"format": "gradcanvas", "version": 2, "nodes": [
        {"id": "x", "op": "tensor", "init": {"fn": "ones", "shape": [n, 1]}, "requires_grad": True},
        {"id": "w", "op": "tensor", "init": {"fn": "ones", "shape": [1, n]}, "requires_grad": True},
        {"id": "mm", "op": "matmul"}, {"id": "t", "op": "tanh"}, {"id": "s", "op": "sum"}],
        "edges": [{"from": "x", "to": "mm", "port": "input"}, {"from": "w", "to": "mm", "port": "other"},
                  {"from": "mm", "to": "t", "port": "input"}, {"from": "t", "to": "s", "port": "input"}]}),
        encoding="utf-8")
    return path


def test_export_takes_a_memory_limit_for_its_check_run(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from autograd_bridge import budget

    path, out = _outer_product(tmp_path, 300), tmp_path / "outer.py"  # [300, 300] float32: 360 KB a tensor
    for limit in ("200K", None):
        if limit is None:  # the default limit, made small here: the same refusal, and how to raise it
            monkeypatch.setattr(budget, "memory_limit_default", lambda _device: 200_000)
        capsys.readouterr()
        assert main(["export", str(path), "--device", "cuda", "-o", str(out),
                     *(["--memory-limit", limit] if limit else [])]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "over the memory limit" in err and "mm [300, 300]" in err
        assert "on this machine's CPU" in err and "--memory-limit" in err and not out.exists()
    for limit in ("100M", "none"):  # --device cuda: written here, where there is no GPU, all the same
        assert main(["export", str(path), "--device", "cuda", "--memory-limit", limit, "-o", str(out)]) == 0
        assert 'device = "cuda"' in out.read_text(encoding="utf-8")


def test_export_help_says_it_runs_the_graph(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("export", "grad"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "--memory-limit SIZE" in text and "allocate no tensors" not in text
        if command == "export":
            assert "export runs the graph once on this machine's CPU to check it" in text
