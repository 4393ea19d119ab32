"""Big literal tensors are passed to the generated code as data, never inlined (issue 9): the
source stays small, the leaves are exactly torch.tensor of the numbers, value edits reuse the
compile, exported scripts carry the numbers as base64 bytes bit for bit, and a file at the
element limit is checked and run within a 3 GB address space."""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_bridge import engine
from autograd_bridge.codegen import INLINE_LITERAL_MAX
from autograd_bridge.compute import ComputeSession
from autograd_bridge.engine import Compiled
from autograd_bridge.export import export_script
from gradcanvas.cli import main
from graph.errors import ValueSpecError
from graph.fileformat import loads
from graph.limits import MAX_ELEMENTS
from graph.values import literal_shape

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "resources" / "examples"
N = 300  # numbers per big literal: above INLINE_LITERAL_MAX, below the JSON summary size
assert N > INLINE_LITERAL_MAX

F32_MAX = 3.4028234663852886e38
# Signed zeros, float32 and float64 subnormals, the smallest normals, the largest finite
# numbers (a float32 literal may hold a number that rounds to its maximum), ints.
# x stays small, so that sums of x * c stay finite.
X_NUMBERS = [-0.0, 0.0, 1e-45, -1.4e-45, 3e-39, 1.1754943508222875e-38, 5e-324, -2.2e-308,
             1e-30, -7e-5, 1e-5, 1e-4 / 3]
C_NUMBERS = [F32_MAX, -F32_MAX, 3.4028235e38, 1e38, -0.0, 2.5, -1, 1e-45, 0.3]


def numbers(pool: list[float], n: int = N) -> list[float]:
    return [pool[i % len(pool)] * (1 - (i // len(pool)) * 2**-20) for i in range(n)]


def graph_text(x: object, c: object, dtype: str = "float32", target: str = "y",
               grad_output: object = None) -> str:
    """y = sum(x * c) (target "y") or p = x * c (target "p", with a grad-output)."""
    doc = {"format": "gradcanvas", "version": 1, "nodes": [
        {"id": "x", "op": "tensor", "value": x, "requires_grad": True, "dtype": dtype},
        {"id": "c", "op": "tensor", "value": c, "requires_grad": True, "dtype": dtype},
        {"id": "p", "op": "mul"}, {"id": "y", "op": "sum"}],
        "edges": [{"from": "x", "to": "p", "port": "input"}, {"from": "c", "to": "p", "port": "other"},
                  {"from": "p", "to": "y", "port": "input"}], "target": target}
    if grad_output is not None:
        doc["grad_output"] = grad_output
    return json.dumps(doc)


def bits(t: torch.Tensor) -> torch.Tensor:
    """The raw bits, so -0.0 and 0.0 differ and equal NaNs agree."""
    return t.detach().cpu().contiguous().view({torch.float32: torch.int32, torch.float64: torch.int64}[t.dtype])


def assert_bits(got: object, expected: torch.Tensor, what: str) -> None:
    got = torch.as_tensor(got)  # the compute session's results are numpy arrays
    assert got.dtype == expected.dtype and got.shape == expected.shape, what
    assert torch.equal(bits(got), bits(expected)), what


# ---- the generated source ----

def test_big_literals_are_not_in_the_source_small_ones_are() -> None:
    x = [[0.123456789 + i * 64 + j for j in range(64)] for i in range(5)]
    g = loads(graph_text(x, [1.5] * 64))  # c: 64 numbers, exactly the inline limit
    compiled = Compiled(g)
    assert compiled.source.literal_ids == ["x"]
    assert "0.123456789" not in compiled.text and "1.123456789" not in compiled.text
    assert "literals[0]" in compiled.source.lines["x"]
    assert "torch.tensor([1.5, 1.5" in compiled.source.lines["c"]
    assert len(compiled.text) < 1000
    # Shape checks never make the big literal's tensor.
    assert compiled.infer_shapes()["y"] == () and compiled._literals == []


def test_the_articles_examples_keep_every_literal_inline() -> None:
    for path in sorted(EXAMPLES.glob("*.json")):
        graph = loads(path.read_text(encoding="utf-8"))
        (target,) = graph.sinks()
        text = export_script(graph, target)
        assert "base64" not in text and "literals" not in text, path.name


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("override", [None, "float32", "float64"])
def test_make_leaves_is_torch_tensor_of_the_numbers(dtype: str, override: str | None) -> None:
    x, c = numbers(X_NUMBERS), [numbers(C_NUMBERS, 30)] * 10
    compiled = Compiled(loads(graph_text(x, c, dtype)), dtype=override)
    want = getattr(torch, override or dtype)
    for _ in range(2):  # made once, copied out each time
        leaves = dict(zip(compiled.source.leaf_ids, compiled.make_leaves(), strict=True))
        for n, value in (("x", x), ("c", c)):
            assert leaves[n].is_leaf and leaves[n].requires_grad, n
            assert_bits(leaves[n], torch.tensor(value, dtype=want), n)
            assert_bits(compiled.leaf_tensor(compiled.graph.nodes[n]), leaves[n], n)
        with torch.no_grad():
            leaves["x"].fill_(7.0)  # a leaf is a copy: the next make_leaves is untouched


# ---- export: the numbers as base64 bytes, bit for bit ----

def _export_and_run(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[dict, dict, str]:
    path = tmp_path / "g.json"
    path.write_text(text, encoding="utf-8")
    script = tmp_path / "script.py"
    assert main(["export", str(path), "-o", str(script)]) == 0
    capsys.readouterr()
    assert main(["grad", str(path), "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    source = script.read_text(encoding="utf-8")
    env = runpy.run_path(str(script))
    capsys.readouterr()
    return env, expected, source


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_export_round_trip_bit_for_bit(dtype: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x, c = numbers(X_NUMBERS), numbers(C_NUMBERS)
    env, expected, source = _export_and_run(graph_text(x, c, dtype), tmp_path, capsys)
    assert "import base64" in source and "e+38" not in source and "e-45" not in source
    want = getattr(torch, dtype)
    assert_bits(env["x"].detach(), torch.tensor(x, dtype=want), "x")
    assert_bits(env["c"].detach(), torch.tensor(c, dtype=want), "c")
    # The partials of sum(x * c) are the other factor's numbers exactly, -0.0 and all; the
    # app's (as grad --json prints them) are the same bits.
    assert_bits(env["x"].grad, torch.tensor(c, dtype=want), "dy/dx")
    assert_bits(env["c"].grad, torch.tensor(x, dtype=want), "dy/dc")
    for n in ("x", "c", "p", "y"):
        assert_bits(env[n].grad, torch.tensor(expected["grads"][n], dtype=want), f"grad {n}")
    assert_bits(env["y"].detach(), torch.tensor(expected["value"], dtype=want), "y")


def test_export_of_a_big_grad_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    x, c = numbers(X_NUMBERS), numbers(C_NUMBERS)
    v = numbers([-0.0, 3e-39, 0.7, -1e-5, 0.5])
    env, expected, source = _export_and_run(graph_text(x, c, target="p", grad_output=v), tmp_path, capsys)
    assert source.count("base64.b64decode") == 3 and "0.7" not in source
    go = torch.tensor(v, dtype=torch.float32)
    assert_bits(env["x"].grad, go * torch.tensor(c, dtype=torch.float32), "dp/dx · v")
    for n in ("x", "c", "p"):
        assert_bits(env[n].grad, torch.tensor(expected["grads"][n], dtype=torch.float32), f"grad {n}")


# ---- value edits reuse the compile ----

def test_a_value_edit_on_a_big_literal_reuses_the_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[int] = []
    real = engine.Compiled.__init__
    monkeypatch.setattr(engine.Compiled, "__init__",
                        lambda self, *a, **k: (made.append(1), real(self, *a, **k))[1])
    x, c = numbers(X_NUMBERS), numbers(C_NUMBERS)
    g = loads(graph_text(x, c, "float64"))
    session = ComputeSession()
    assert session.compute(g.snapshot(), "y", 1).error is None
    new_x = [0.5 * i - 3 for i in range(N)]
    edited = g.snapshot()
    edited.replace_node(dataclasses.replace(edited.nodes["x"], value=new_x))
    result = session.compute(edited, "y", 2)
    assert len(made) == 1 and result.error is None
    # Independent torch: y = sum(x * c), dy/dx = c, dy/dc = x.
    xt = torch.tensor(new_x, dtype=torch.float64, requires_grad=True)
    ct = torch.tensor(c, dtype=torch.float64, requires_grad=True)
    y = (xt * ct).sum()
    y.backward()
    assert_bits(result.nodes["y"].value, y.detach(), "y")
    assert_bits(result.nodes["x"].grad, xt.grad, "dy/dx")
    assert_bits(result.nodes["c"].grad, ct.grad, "dy/dc")


# ---- the loader's fast check of big literals keeps every rule ----

ENTRIES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(-(2**1100), 2**1100),
    st.sampled_from([True, False, None, "1", [1.0], 2**128 - 2**103, 2**128 - 2**103 - 2**80,
                     F32_MAX, 3.4028235677973366e38, sys.float_info.max, int(sys.float_info.max) + 1,
                     -0.0, 5e-324]))


@settings(max_examples=300, deadline=None)
@given(st.lists(ENTRIES, max_size=12), st.sampled_from([None, "float32", "float64"]))
def test_a_flat_literal_is_checked_as_each_number_is(entries: list, dtype: str | None) -> None:
    def first_refusal() -> str | None:
        for v in entries:
            if isinstance(v, list):  # a nested list makes the literal ragged or deeper
                return "nested"
            try:
                literal_shape(v, depth=1, dtype=dtype)
            except ValueSpecError as e:
                return e.message
        return None

    refusal = first_refusal()
    if refusal == "nested":
        return
    if refusal is None:
        assert literal_shape(entries, dtype=dtype) == (len(entries),)
    else:
        with pytest.raises(ValueSpecError) as info:
            literal_shape(entries, dtype=dtype)
        assert info.value.message == refusal


# ---- a file at the element limit, end to end under 3 GB ----

def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


@pytest.fixture(scope="module")
def limit_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2**26 zeros in one literal: ~134 MB, the largest tensor a file may hold."""
    path = tmp_path_factory.mktemp("limit") / "zeros.json"
    text = graph_text("ZEROS", 2.0).replace('"ZEROS"', "[" + ",".join(["0"] * MAX_ELEMENTS) + "]")
    path.write_text(text, encoding="ascii")
    return path


@pytest.mark.parametrize("command", ["check", "grad"])
def test_a_literal_at_the_element_limit_under_3_gb(command: str, limit_file: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "gradcanvas", command, str(limit_file)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600, preexec_fn=_limit_memory)
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.returncode == 0, done.stderr
    if command == "grad":  # y = sum(x * 2): dy/dx is 2 everywhere, norm 2 * sqrt(2**26) = 16384
        assert "[67108864] norm 1.638e4" in done.stdout, done.stdout


def test_torch_imports_under_3_gb() -> None:
    done = subprocess.run([sys.executable, "-c", "import torch; print(torch.ones(2).sum().item())"],
                          capture_output=True, text=True, timeout=300, preexec_fn=_limit_memory)
    assert done.returncode == 0 and done.stdout.strip() == "2.0", done.stderr[-2000:]
