"""The function export's arguments keep the names of the function they were imported from where a
builtin is all they shadow (`input`, `sum`, `id`): forward(input=x, weight=w, sum=s) works as the
original's call did, in a fresh interpreter (python -I), and gives torch's numbers. A name the
generated body itself uses (torch, or a builtin it calls) is still renamed."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import torch

from autograd_bridge.export import argument_names, export_text
from autograd_bridge.fx_import import import_function

X = [[1.0, -2.0, 0.5], [3.0, 0.25, -1.0]]
W = [[0.5, 1.0, -1.5], [2.0, -0.5, 1.0], [0.0, 1.5, 0.5], [-1.0, 0.25, 2.0]]
S = [1.0, -2.0, 3.0, 0.5]
ID = 1.5

# Runs the exported file as a module in a fresh interpreter; calls forward by keyword.
CALL = """
import importlib.util, inspect, json, sys, torch
spec = importlib.util.spec_from_file_location("exported", sys.argv[1])
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
args = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in json.loads(sys.argv[2]).items()}
out = m.forward(**args)
out.backward()
print(json.dumps({"signature": list(inspect.signature(m.forward).parameters), "value": out.item(),
                  "grads": {k: v.grad.tolist() for k, v in args.items()}}))
"""


def f(input: torch.Tensor, weight: torch.Tensor, sum: torch.Tensor, id: torch.Tensor) -> torch.Tensor:  # noqa: A002
    return (torch.nn.functional.linear(input, weight) * sum).sum() * id


def test_builtin_named_arguments_keep_their_names_and_numbers(tmp_path: Path) -> None:
    given = {"input": X, "weight": W, "sum": S, "id": ID}
    imported = import_function(f, {k: torch.tensor(v, dtype=torch.float64) for k, v in given.items()})
    text = export_text(imported.graph, imported.sink, form="function", dtype="float64")
    path = tmp_path / "exported.py"
    path.write_text(text, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-I", "-c", CALL, str(path), json.dumps(given)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["signature"] == list(inspect.signature(f).parameters)
    # The same function in plain torch.
    args = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in given.items()}
    want = (torch.nn.functional.linear(args["input"], args["weight"]) * args["sum"]).sum() * args["id"]
    want.backward()
    assert got["value"] == want.item()
    for k, v in args.items():
        torch.testing.assert_close(torch.tensor(got["grads"][k], dtype=torch.float64), v.grad, rtol=0, atol=0, msg=k)
    # The exported script, run as a program, still works with the arguments' own names.
    demo = subprocess.run([sys.executable, "-I", str(path)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
    assert demo.returncode == 0, demo.stderr
    assert "input.grad = " in demo.stdout and "sum.grad = " in demo.stdout


def test_a_name_the_body_uses_is_renamed() -> None:
    names = {"input": "input_", "float": "float_", "torch": "torch_", "len": "len_", "x": "x", "a b": "a_b"}
    body = ["y = torch.mul(x, float('inf'))  # node 'len'", 'kept["input_"] = len(y)']
    assert argument_names(list(names), names, body) == ["input", "float_", "torch_", "len_", "x", "a_b"]
    assert argument_names(["__import__", "print"], {"__import__": "v__import__", "print": "print_"}, []) == \
        ["v__import__", "print"]
