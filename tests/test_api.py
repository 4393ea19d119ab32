"""The Python API (gradcanvas/api.py): the same numbers and text as the command line, the fx
import, show() as a window or a PNG, and the README's example run as written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import gradcanvas
from autograd_bridge.export import export_script
from autograd_bridge.notebook import export_notebook
from gradcanvas import api
from gradcanvas.cli import main
from graph.errors import GraphError
from graph.fileformat import load

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_grad_gives_what_grad_json_prints(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grad", str(path), "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    r = gradcanvas.grad(gradcanvas.load(path))
    assert r.target == expected["target"]
    torch.testing.assert_close(r.value, torch.tensor(expected["value"], dtype=r.value.dtype))
    assert set(r.grads) == set(expected["grads"])
    for node, g in expected["grads"].items():
        if g is None:
            assert r.grads[node] is None and r.why_none(node)
        else:
            torch.testing.assert_close(r.grads[node], torch.tensor(g, dtype=r.grads[node].dtype))
    assert not r.value.requires_grad  # numbers to read


def test_grad_takes_a_file_name_a_target_and_a_grad_output() -> None:
    r = gradcanvas.grad(str(EXAMPLES[2]), "y", [1.0, 1.0])  # y = x**2, x = [1, 2]: vᵀJ = 2x
    assert r.grads["x"].tolist() == [2.0, 4.0]
    assert r.why_none("x") is None
    assert "∂y/∂x = [2, 4]" in repr(r)


def test_script_and_notebook_are_the_exports() -> None:
    graph = load(EXAMPLES[0])
    assert gradcanvas.to_script(graph, "y") == export_script(graph, "y")
    assert gradcanvas.to_notebook(graph) == export_notebook(graph, "y")  # the only sink


def test_bad_input_raises_graph_errors_naming_it(tmp_path: Path) -> None:
    with pytest.raises(GraphError, match="no node 'nope'"):
        gradcanvas.grad(EXAMPLES[0], "nope")
    (tmp_path / "bad.json").write_text('{"format": "gradcanvas", "version": 1, "nodes": [], "edges": []}')
    with pytest.raises(GraphError, match="no nodes"):
        gradcanvas.load(tmp_path / "bad.json")


def test_dtype_and_device_may_be_given_as_torch_objects() -> None:
    """torch users write dtype=torch.float64: it failed with "attribute name must be string" once
    a leaf held more than 64 numbers (stored packed), and device=torch.device("cpu") failed
    always. Both are taken; a dtype the engine cannot run is refused naming the choices."""
    w = torch.linspace(-1.0, 1.0, 100).reshape(10, 10)  # 100 numbers: a packed literal
    x = torch.linspace(0.5, 2.0, 10)

    def f(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return torch.tanh(w @ x).sum()

    g = gradcanvas.from_function(f, x=x, w=w)
    r = gradcanvas.grad(g, dtype=torch.float64, device=torch.device("cpu"))
    w64 = w.double().requires_grad_()
    torch.tanh(w64 @ x.double()).sum().backward()
    assert r.grads["w"].dtype == torch.float64
    torch.testing.assert_close(r.grads["w"], w64.grad)
    assert "torch.float64" in gradcanvas.to_script(g, dtype=torch.float64)
    for bad in ("float16", torch.int64, "bogus"):
        with pytest.raises(ValueError, match=r"use one of float32, float64"):
            gradcanvas.grad(g, dtype=bad)


def test_from_function_is_the_fx_import_and_its_grads_are_torchs() -> None:
    def f(x, w):  # noqa: ANN001, ANN202
        return (torch.sigmoid(x @ w) * x.sum()).mean()

    x, w = torch.randn(2, 3, dtype=torch.float64), torch.randn(3, 4, dtype=torch.float64)
    graph = gradcanvas.from_function(f, x=x, w=w)
    r = gradcanvas.grad(graph)
    xs, ws = x.clone().requires_grad_(), w.clone().requires_grad_()
    f(xs, ws).backward()
    torch.testing.assert_close(r.value.double(), f(x, w))
    torch.testing.assert_close(r.grads["x"].double(), xs.grad)
    torch.testing.assert_close(r.grads["w"].double(), ws.grad)


def test_from_function_takes_a_module_by_keyword() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Tanh())
    graph = gradcanvas.from_function(net, input=torch.randn(4, 3))
    assert any(n.endswith("weight") for n in graph.nodes)
    with pytest.raises(TypeError, match="does not take these inputs"):
        gradcanvas.from_function(net, nope=torch.randn(4, 3))


def test_show_without_a_screen_returns_a_png_notebooks_show(tmp_path: Path) -> None:
    """In a fresh interpreter with no DISPLAY and no QT_QPA_PLATFORM: a server, a remote kernel."""
    code = ("import gradcanvas, sys; p = gradcanvas.show('resources/examples/02_matmul_vector.json'); "
            "d = p._repr_png_(); p.save(sys.argv[1]); print(type(p).__name__, d[:8] == b'\\x89PNG\\r\\n\\x1a\\n')")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    out = tmp_path / "shown.png"
    proc = subprocess.run([sys.executable, "-c", code, str(out)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["PNG", "True"]
    from PySide6.QtGui import QImage

    assert QImage(str(out)).size().width() == 1400


def test_show_a_function_offscreen_renders_its_graph() -> None:
    png = gradcanvas.show(lambda x: (x * x).sum(), x=torch.ones(2))  # offscreen counts as no screen
    assert isinstance(png, api.PNG) and png.data.startswith(b"\x89PNG")
    with pytest.raises(TypeError, match="keyword inputs are for a function"):
        gradcanvas.show(EXAMPLES[0], x=1)


def test_show_with_a_screen_in_ipython_opens_the_window_without_blocking(qtbot, monkeypatch) -> None:  # noqa: ANN001
    asked = []

    class Shell:
        def enable_gui(self, name: str) -> None:
            asked.append(name)

    monkeypatch.setattr(api, "has_screen", lambda: True)
    monkeypatch.setattr(api, "_ipython", lambda: Shell())
    window = gradcanvas.show(EXAMPLES[0])  # returns at once: no event loop run here
    try:
        assert asked == ["qt"]
        assert window.isVisible() and sorted(window.doc.graph.nodes) == sorted(load(EXAMPLES[0]).nodes)
        assert window.doc.path is None  # an untitled document
        qtbot.waitUntil(lambda: window.run.current is not None, timeout=20_000)
        assert window.doc.target == "y"
    finally:
        window.doc.undo_stack.setClean()
        window.close()
        api._open_windows.remove(window)  # noqa: SLF001


def test_the_readme_example_runs_as_written() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python API", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    # the comments say what it prints
    said = [line.split("#", 1)[1].strip() for line in code.splitlines() if "print(" in line]
    assert proc.stdout.splitlines() == said
