"""What an exported module prints: each gradient under its node's id as `gradcanvas grad` and the
script and function forms show it (graph.safetext.visible: a bidi, C1 or line-separator character
escaped, `h 1` not its variable h_1), while the module's state keeps the exact names torch holds,
so a state_dict saved under them still loads. Each export runs in a fresh interpreter (python -I)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch
from test_export_forms import run_text

from autograd_bridge.export import export_text
from graph import fileformat

W, B = "w\u202e21", "b\x9b2J"  # U+202E reverses the rest of a line; C1 \x9b starts a terminal command
GROUP = "blk\u2028x"  # a line separator in a group's id, as an imported ModuleDict key may hold
K = f"{GROUP}.k"


def hostile_graph():  # noqa: ANN201 - a graph.model.Graph
    """loss = sum((w * b + k) * λ) with a constant λ, k a member of the group."""
    return fileformat.loads(json.dumps({
        "format": "gradcanvas", "version": 2, "seed": 0, "target": "loss",
        "nodes": [{"id": W, "op": "tensor", "value": [1.0, 2.0], "requires_grad": True},
                  {"id": B, "op": "tensor", "value": [3.0, 4.0], "requires_grad": True},
                  {"id": K, "op": "tensor", "value": [0.5, -0.5], "requires_grad": True},
                  {"id": "λ", "op": "tensor", "value": [2.0, 3.0]},
                  {"id": "h 1", "op": "mul"}, {"id": "torch", "op": "add"}, {"id": "u", "op": "mul"},
                  {"id": "loss", "op": "sum"}],
        "edges": [{"from": W, "to": "h 1", "port": "input"}, {"from": B, "to": "h 1", "port": "other"},
                  {"from": "h 1", "to": "torch", "port": "input"}, {"from": K, "to": "torch", "port": "other"},
                  {"from": "torch", "to": "u", "port": "input"}, {"from": "λ", "to": "u", "port": "other"},
                  {"from": "u", "to": "loss", "port": "input"}],
        "groups": [{"id": GROUP, "members": [K]}]}))


def printed(text: str, tmp_path: Path) -> list[str]:
    """The lines an exported file prints, run as a program in a fresh interpreter."""
    path = tmp_path / "exported.py"
    path.write_text(text, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-I", str(path)], cwd=tmp_path, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    return proc.stdout.decode("utf-8").splitlines()


def test_the_module_prints_each_gradient_under_its_nodes_visible_id(tmp_path: Path) -> None:
    lines = printed(export_text(hostile_graph(), "loss", form="module"), tmp_path)
    labels = [line.split(" = ")[0] for line in lines]
    assert labels == ["loss", "w\\u202e21.grad", "b\\x9b2J.grad", "blk\\u2028x.k.grad", "h 1.grad", "torch.grad",
                      "u.grad", "loss.grad"]
    assert all(line.isascii() and line.isprintable() for line in lines), lines
    # Torch's numbers, under each name (λ = [2, 3]).
    w, b, k = (torch.tensor(v, requires_grad=True) for v in ([1.0, 2.0], [3.0, 4.0], [0.5, -0.5]))
    h = w * b
    s = h + k
    u = s * torch.tensor([2.0, 3.0])
    for t in (h, s, u):
        t.retain_grad()
    u.sum().backward()
    want = {"w\\u202e21.grad": w.grad, "b\\x9b2J.grad": b.grad, "blk\\u2028x.k.grad": k.grad, "h 1.grad": h.grad,
            "torch.grad": s.grad, "u.grad": u.grad}
    for line in lines[1:-1]:
        label, value = line.split(" = ")
        torch.testing.assert_close(eval(value, {"tensor": torch.tensor}), want[label], msg=label)  # noqa: S307


def test_the_module_prints_what_the_function_form_prints(tmp_path: Path) -> None:
    graph = hostile_graph()
    assert printed(export_text(graph, "loss", form="module"), tmp_path) == \
        printed(export_text(graph, "loss", form="function"), tmp_path)


def test_the_module_state_keeps_the_exact_names(tmp_path: Path) -> None:
    ns, _ = run_text(export_text(hostile_graph(), "loss", form="module"))
    model = ns["GraphModule"]()
    assert [name for name, _ in model.named_parameters()] == [W, B, K]
    assert set(model.state_dict()) == {W, B, K, "λ"}
    assert model.get_submodule(GROUP).get_parameter("k").tolist() == [0.5, -0.5]
