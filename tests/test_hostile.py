"""Hostile and careless input: every problem a user can cause is one line naming the node, exit 1.

Also: `check` must say ok exactly when `grad` can run, torch warnings become notes naming their
node, and the CLI never leaks a traceback (huge numbers, deep nesting, /dev/zero, closed pipes).
Expected outcomes come from torch itself or from the rules stated in the tests, never from
GradCanvas's own output.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from autograd_bridge.engine import Compiled
from autograd_bridge.export import export_script
from gradcanvas.cli import main
from graph import fileformat, limits, values
from graph.errors import ExecutionError, FileFormatError, ShapeError, ValueSpecError
from graph.fileformat import load, loads
from graph.inits import INITS
from graph.model import Edge, Graph, Node
from graph.ops import DTYPES, TENSOR

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "resources" / "examples"


def doc(nodes: list[dict], edges: list[tuple[str, str, str]]) -> dict:
    return {"format": "gradcanvas", "version": 1, "nodes": nodes,
            "edges": [{"from": s, "to": d, "port": p} for s, d, p in edges]}


def write(path: Path, d: dict | str) -> str:
    path.write_text(d if isinstance(d, str) else json.dumps(d), encoding="utf-8")
    return str(path)


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, out: str, err: str, *needles: str) -> str:
    assert code == 1, (code, out, err)
    assert "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def cli(*argv: str, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    opts = {"capture_output": True, "text": True, "timeout": 120, **kw}
    return subprocess.run([sys.executable, "-m", "gradcanvas", *argv], cwd=ROOT, env=env, **opts)


def leaf_then(op_node: dict, leaf: dict | None = None, port: str = "input") -> dict:
    """A leaf x (requires grad) feeding op_node, whose output is summed by s."""
    x = leaf or {"id": "x", "op": "tensor", "value": [1.0, 2.0], "requires_grad": True}
    return doc([x, op_node, {"id": "s", "op": "sum"}],
               [("x", op_node["id"], port), (op_node["id"], "s", "input")])


def leaf_sum(leaf: dict) -> dict:
    return doc([leaf, {"id": "s", "op": "sum"}], [(leaf["id"], "s", "input")])


# ---- 1. --grad-output that Python's JSON parser cannot take ----

@pytest.mark.parametrize(("text", "needle"), [
    ("1" * 5000, "digits"),                       # more digits than int() converts
    ("[" * 30000 + "]" * 30000, "nested too deeply"),
])
def test_grad_output_beyond_the_parser_is_one_line(text: str, needle: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "grad", str(EXAMPLES / "03_vector_element.json"),
                              "--grad-output", text)
    one_line_error(code, out, err, "--grad-output", needle)


def test_grad_output_beyond_float32_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    # Example 3's target y is a float32 scalar: 1e300 would become inf there.
    code, out, err = run_main(capsys, "grad", str(EXAMPLES / "03_vector_element.json"),
                              "--grad-output", "1e300")
    one_line_error(code, out, err, "grad-output", "float32")


# ---- 2. files that are not files, or too big ----

def _load_in_a_small_process(path: str) -> subprocess.CompletedProcess[str]:
    """load(path) in a process limited to 1 GiB of memory, so an unbounded read fails fast."""
    code = ("import resource, sys\n"
            "resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))\n"
            "from graph.errors import FileFormatError\n"
            "from graph.fileformat import load\n"
            "try:\n"
            "    load(sys.argv[1])\n"
            "except FileFormatError as e:\n"
            "    print('refused:', e.message)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code, path], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_load_refuses_a_device_without_reading_it() -> None:
    done = _load_in_a_small_process("/dev/zero")
    assert done.returncode == 0, done.stderr[-500:]
    assert done.stdout.startswith("refused: /dev/zero"), done.stdout
    assert "not a regular file" in done.stdout


def test_load_refuses_a_huge_file_reading_at_most_the_limit(tmp_path: Path) -> None:
    # A sparse file of 1 TiB: reading it all would need 1 TiB of memory.
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(2**40)
    done = _load_in_a_small_process(str(big))
    assert done.returncode == 0, done.stderr[-500:]
    assert "refused:" in done.stdout and "256 MiB" in done.stdout, done.stdout


def test_the_size_limit_itself_is_allowed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = json.dumps(leaf_sum({"id": "x", "op": "tensor", "value": 1.0}))
    path = write(tmp_path / "g.json", text)
    monkeypatch.setattr(fileformat, "MAX_FILE_BYTES", len(text.encode()))
    assert list(load(path).nodes) == ["x", "s"]
    monkeypatch.setattr(fileformat, "MAX_FILE_BYTES", len(text.encode()) - 1)
    with pytest.raises(FileFormatError, match="larger than"):
        load(path)


def test_load_refuses_a_folder_and_a_fifo_without_waiting(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="folder"):
        load(tmp_path)
    if not hasattr(os, "mkfifo"):
        return
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    done = cli("check", str(fifo), timeout=60)  # opening a FIFO would wait for a writer forever
    one_line_error(done.returncode, done.stdout, done.stderr, "pipe.json", "not a regular file")


# ---- 3. check says ok exactly when grad can run ----

F32_MAX = float(torch.finfo(torch.float32).max)

BAD_FOR_TORCH = {
    "softmax_dim": (leaf_then({"id": "t", "op": "softmax", "attrs": {"dim": 3}}), "t"),
    "log_softmax_dim": (leaf_then({"id": "t", "op": "log_softmax", "attrs": {"dim": -2}}), "t"),
    "arange_sign": (leaf_sum({"id": "x", "op": "tensor", "requires_grad": True,
                              "init": {"fn": "arange", "start": 0, "end": -3, "step": 1}}), "x"),
    "arange_sign_down": (leaf_sum({"id": "x", "op": "tensor", "requires_grad": True,
                                   "init": {"fn": "arange", "start": 5, "end": 1, "step": 0.5}}), "x"),
    "full_f32": (leaf_sum({"id": "x", "op": "tensor", "requires_grad": True,
                           "init": {"fn": "full", "shape": [2], "fill_value": 1e300}}), "x"),
    "linspace_f32": (leaf_sum({"id": "x", "op": "tensor", "requires_grad": True,
                               "init": {"fn": "linspace", "start": -1e39, "end": 1, "steps": 3}}), "x"),
    "seed_big": (leaf_sum({"id": "x", "op": "tensor", "requires_grad": True,
                           "init": {"fn": "randn", "shape": [3], "seed": 2**70}}), "x"),
    "seed_negative": (leaf_sum({"id": "x", "op": "tensor", "requires_grad": True,
                                "init": {"fn": "randn", "shape": [3], "seed": -1}}), "x"),
    "value_f32": (leaf_sum({"id": "x", "op": "tensor", "value": [1.0, 1e300], "requires_grad": True}), "x"),
    "int_value_f32": (leaf_sum({"id": "x", "op": "tensor", "value": 10**39, "requires_grad": True}), "x"),
}


@pytest.mark.parametrize("name", sorted(BAD_FOR_TORCH))
def test_check_refuses_what_grad_cannot_run(name: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    d, node_id = BAD_FOR_TORCH[name]
    path = write(tmp_path / f"{name}.json", d)
    for command in ("check", "grad"):
        code, out, err = run_main(capsys, command, path)
        line = one_line_error(code, out, err, f"{node_id}:")
        assert "Overflow" not in line and "cannot make the tensor" not in line, line


def test_export_refuses_the_same(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "g.json", BAD_FOR_TORCH["softmax_dim"][0])
    code, out, err = run_main(capsys, "export", path, "-o", str(tmp_path / "out.py"))
    one_line_error(code, out, err, "t:")
    assert not (tmp_path / "out.py").exists()


@pytest.mark.parametrize(("start", "end", "step"), [(0, 0, -1), (0, 0, 1), (3, 0, -1), (0, 3, 0.5)])
def test_arange_that_torch_accepts_loads(start: float, end: float, step: float) -> None:
    init = {"fn": "arange", "start": start, "end": end, "step": step}
    node = Node("x", TENSOR, init=init)
    node.check()
    assert node.leaf_shape() == tuple(torch.arange(start, end, step).shape)


def test_float64_holds_what_float32_cannot() -> None:
    Node("x", TENSOR, value=[1e300], dtype="float64").check()
    Node("x", TENSOR, init={"fn": "full", "shape": [1], "fill_value": 1e300}, dtype="float64").check()
    with pytest.raises(ValueSpecError, match="float32"):
        Node("x", TENSOR, value=[1e300], dtype="float32").check()


@pytest.mark.parametrize("v", [
    F32_MAX, -F32_MAX, 3.4028235e38, math.nextafter(2.0**128 - 2.0**103, 0), 2.0**128 - 2.0**103,
    -(2.0**128 - 2.0**103), 1e39, 2**128 - 2**103 - 1, 2**128 - 2**103, 10**39, 1e300,
])
def test_the_float32_limit_is_where_torch_makes_inf(v: float) -> None:
    finite_in_torch = bool(torch.isfinite(torch.tensor([v], dtype=torch.float32)).all())
    assert values.fits_dtype(v, "float32") == finite_in_torch
    node = Node("x", TENSOR, value=[v], dtype="float32")
    if finite_in_torch:
        node.check()
    else:
        with pytest.raises(ValueSpecError):
            node.check()


def test_dtype_override_is_checked_against_the_override() -> None:
    g = Graph()
    g.add_node(Node("x", TENSOR, value=[1e300], requires_grad=True, dtype="float64"))
    g.add_node(Node("s", "sum"))
    g.add_edge(Edge("x", "s", "input"))
    result = Compiled(g).run("s")  # its own dtype holds it, and computes as torch does in it
    x = torch.tensor([1e300], dtype=torch.float64, requires_grad=True)
    torch.sum(x).backward()
    torch.testing.assert_close(result.values["s"], torch.sum(x.detach()), rtol=0, atol=0)
    torch.testing.assert_close(result.grads["x"], x.grad, rtol=0, atol=0)
    with pytest.raises(ValueSpecError, match="x: .*float32"):
        Compiled(g, "cpu", "float32")


def _dim_graph(op: str, attrs: dict, shape: tuple[int, ...]) -> Graph:
    g = Graph()
    g.add_node(Node("x", TENSOR, value=torch.zeros(shape).tolist(), requires_grad=True))
    g.add_node(Node("y", op, attrs=attrs))
    g.add_edge(Edge("x", "y", "input"))
    return g


DIM_CASES = [
    ("softmax", {"dim": d}, shape) for shape in [(), (2,), (2, 3)] for d in range(-4, 4)
] + [
    ("log_softmax", {"dim": d}, (2, 3)) for d in (-3, -2, 1, 2)
] + [
    ("transpose", {"dim0": a, "dim1": b}, shape)
    for shape in [(), (2, 3)] for a, b in [(0, 1), (-1, 0), (0, 2), (-3, 0)]
] + [
    ("select", {"dim": d, "index": 0}, (2, 3)) for d in (-3, -2, 1, 2)
] + [
    (op, {"dim": d}, shape) for op in ("sum", "mean") for shape in [(), (2, 3)]
    for d in (0, -1, 1, 2, -3, [0], [0, 1], [2], [-3], [0, 5])
]


@pytest.mark.parametrize(("op", "attrs", "shape"), DIM_CASES,
                         ids=[f"{o}-{a}-{list(s)}" for o, a, s in DIM_CASES])
def test_shape_inference_refuses_a_dim_exactly_when_torch_does(op: str, attrs: dict,
                                                                shape: tuple[int, ...]) -> None:
    fn = getattr(torch, op)
    x = torch.zeros(shape, requires_grad=True)
    try:
        expected = fn(x, **attrs)
    except (IndexError, RuntimeError):
        expected = None
    compiled = Compiled(_dim_graph(op, attrs, shape))
    if expected is not None:
        assert compiled.infer_shapes()["y"] == tuple(expected.shape)
        ones = torch.ones(expected.shape)
        result = compiled.run("y", grad_output=ones.tolist())
        expected.backward(ones)
        torch.testing.assert_close(result.values["y"], expected.detach())
        torch.testing.assert_close(result.grads["x"], x.grad)
    else:
        with pytest.raises(ShapeError) as info:
            compiled.infer_shapes()
        assert info.value.message.startswith("y: ")
        assert "y" in info.value.node_ids


def test_export_runs_the_graph_before_writing(monkeypatch: pytest.MonkeyPatch) -> None:
    # An op that fails only on real data (not on the meta device): export must say so, naming
    # the node, rather than write a script that crashes.
    g = Graph()
    g.add_node(Node("x", TENSOR, value=[1.0, 2.0], requires_grad=True))
    g.add_node(Node("t", "tanh"))
    g.add_node(Node("s", "sum"))
    g.add_edge(Edge("x", "t", "input"))
    g.add_edge(Edge("t", "s", "input"))
    real_tanh = torch.tanh

    def tanh_failing_on_data(x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "meta":
            raise RuntimeError("tanh failed on real data")
        return real_tanh(x)

    monkeypatch.setattr(torch, "tanh", tanh_failing_on_data)
    with pytest.raises(ExecutionError) as info:
        export_script(g, "s")
    assert info.value.message.startswith("t: ")
    assert "t" in info.value.node_ids


# ---- 5. torch warnings become notes naming the node ----

def _mse_broadcast() -> dict:
    return doc([{"id": "x", "op": "tensor", "value": [[1.0], [2.0]], "requires_grad": True},
                {"id": "t", "op": "tensor", "value": [1.0, 3.0]},
                {"id": "l", "op": "mse_loss"}],
               [("x", "l", "input"), ("t", "l", "target")])


def test_torch_warnings_become_notes_naming_the_node() -> None:
    g = loads(json.dumps(_mse_broadcast()))
    with warnings.catch_warnings(record=True) as leaked:
        warnings.simplefilter("always")
        result = Compiled(g).run("l")
        notes: list[str] = []
        Compiled(g).infer_shapes(notes)
    assert leaked == []
    assert any(n.startswith("l: ") and "target size" in n for n in result.notes), result.notes
    assert any(n.startswith("l: ") and "target size" in n for n in notes), notes
    # the numbers are torch's own, warning or not
    x = torch.tensor([[1.0], [2.0]], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = torch.nn.functional.mse_loss(x, torch.tensor([1.0, 3.0]))
    y.backward()
    torch.testing.assert_close(result.grads["x"], x.grad)


def test_cli_prints_warnings_as_notes_and_json_stays_clean(tmp_path: Path) -> None:
    path = write(tmp_path / "mse.json", _mse_broadcast())
    table = cli("grad", path)
    assert table.returncode == 0 and table.stderr == "", table.stderr
    assert "note: l: " in table.stdout
    as_json = cli("grad", path, "--json")
    assert as_json.returncode == 0 and as_json.stderr == "", as_json.stderr
    assert set(json.loads(as_json.stdout)) == {"target", "value", "grads"}
    checked = cli("check", path)
    assert checked.returncode == 0 and checked.stderr == "", checked.stderr
    assert checked.stdout.startswith("ok: ") and "note: l: " in checked.stdout


# ---- 6. the real problem is reported before a target is picked ----

@pytest.mark.parametrize(("d", "needles"), [
    (doc([{"id": "a", "op": "exp"}, {"id": "b", "op": "exp"}], [("a", "b", "input"), ("b", "a", "input")]),
     ("cycle", "a", "b")),
    (doc([{"id": "a", "op": "exp"}], [("a", "a", "input")]), ("cycle", "a")),
    (doc([], []), ("no nodes",)),
    (doc([{"id": "x", "op": "tensor", "value": 1.0, "requires_grad": True}, {"id": "m", "op": "mul"}],
         [("x", "m", "input")]), ("unconnected", "m.other")),
], ids=["cycle", "self_loop", "empty", "missing_input"])
def test_grad_and_export_report_the_real_problem(d: dict, needles: tuple[str, ...], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "g.json", d)
    for argv in (["grad", path], ["export", path, "-o", str(tmp_path / "o.py")], ["check", path]):
        code, out, err = run_main(capsys, *argv)
        line = one_line_error(code, out, err, *needles)
        assert "sinks" not in line, line


# ---- 7. integers torch cannot take as int64 ----

@pytest.mark.parametrize(("op", "attrs", "name"), [
    ("select", {"dim": 0, "index": 10**30}, "index"),
    ("select", {"dim": 2**63, "index": 0}, "dim"),
    ("sum", {"dim": 10**30}, "dim"),
    ("sum", {"dim": [0, -(10**30)]}, "dim"),
    ("reshape", {"shape": [2**40, 2**40]}, "shape"),
    ("pow", {"exponent": 10**300}, "exponent"),
    ("pow", {"exponent": 2**64}, "exponent"),
])
def test_integers_beyond_int64_are_refused_at_load(op: str, attrs: dict, name: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    d = leaf_then({"id": "n", "op": op, "attrs": attrs})
    with pytest.raises(FileFormatError) as info:
        loads(json.dumps(d))
    assert info.value.message.startswith("node n: field 'attrs'")
    assert f"'{name}'" in info.value.message
    code, out, err = run_main(capsys, "grad", write(tmp_path / "g.json", d))
    line = one_line_error(code, out, err, "node n")
    assert "Overflow" not in line and "too big to convert" not in line


@pytest.mark.parametrize("exponent", [2**62, -(2**62), 0.5, 1e300])
def test_pow_exponents_torch_takes_still_load(exponent: float) -> None:
    # The accepted side of the int64 limit above: each loads unchanged (an int stays an int)
    # and computes what torch.pow computes with it, value and gradient, infinities included.
    d = leaf_then({"id": "n", "op": "pow", "attrs": {"exponent": exponent}})
    g = loads(json.dumps(d))
    loaded = g.nodes["n"].attrs["exponent"]
    assert loaded == exponent and type(loaded) is type(exponent)
    assert Compiled(g).infer_shapes()["n"] == (2,)
    result = Compiled(g).run("s")
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y = torch.pow(x, exponent)
    torch.sum(y).backward()
    torch.testing.assert_close(result.values["n"], y.detach(), equal_nan=True)
    torch.testing.assert_close(result.values["s"], torch.sum(y.detach()), equal_nan=True)
    torch.testing.assert_close(result.grads["x"], x.grad, equal_nan=True)


# ---- 8. loader strictness ----

BASE = ('{"format": "gradcanvas", "version": 1, "nodes": ['
        '{"id": "x", "op": "tensor", "value": [1.0, 2.0], "requires_grad": true}, '
        '{"id": "xr", "op": "reshape", "attrs": {"shape": [1, -1]}}], '
        '"edges": [{"from": "x", "to": "xr", "port": "input"}]}')


def test_base_loads() -> None:
    assert list(loads(BASE).nodes) == ["x", "xr"]


@pytest.mark.parametrize(("old", "new", "needles"), [
    ('"version": 1,', '"version": 1, "version": 1,', ("the file", "'version'", "twice")),
    ('"requires_grad": true}', '"requires_grad": true, "requires_grad": false}',
     ("node x", "'requires_grad'", "twice")),
    ('"value": [1.0, 2.0]', '"value": [1.0, 2.0], "value": [3.0]', ("node x", "'value'", "twice")),
    ('{"shape": [1, -1]}', '{"shape": [1, -1], "shape": [2, -1]}', ("node xr", "'attrs'", "'shape'")),
    ('"port": "input"}', '"port": "input", "to": "xr"}', ("edge #0", "'to'", "twice")),
    ('{"id": "x", "op"', '{"id": "x", "id": "y", "op"', ("node #0", "'id'", "twice")),
])
def test_duplicate_keys_are_refused(old: str, new: str, needles: tuple[str, ...]) -> None:
    text = BASE.replace(old, new, 1)
    assert text != BASE
    with pytest.raises(FileFormatError) as info:
        loads(text)
    for needle in needles:
        assert needle in info.value.message, (needle, info.value.message)


def test_duplicate_key_in_an_init_names_the_node() -> None:
    text = BASE.replace('"value": [1.0, 2.0]',
                        '"init": {"fn": "zeros", "shape": [2], "shape": [3]}')
    with pytest.raises(FileFormatError) as info:
        loads(text)
    assert "node x" in info.value.message and "'init'" in info.value.message
    assert "'shape'" in info.value.message


@pytest.mark.parametrize("key", ["nodes", "edges", "format", "version"])
def test_missing_top_level_field_is_named(key: str) -> None:
    d = json.loads(BASE)
    del d[key]
    with pytest.raises(FileFormatError, match=f"missing field '{key}'"):
        loads(json.dumps(d))


def test_literal_values_are_held_to_max_elements(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_ELEMENTS", 6)
    Node("x", TENSOR, value=[[1.0] * 3] * 2).check()
    with pytest.raises(ValueSpecError, match="x: .*7 elements"):
        Node("x", TENSOR, value=[1.0] * 7).check()
    with pytest.raises(ValueSpecError, match="x: .*8 elements"):
        Node("x", TENSOR, value=[[1.0] * 4] * 2).check()


# ---- 9. long values are shortened, not the message ----

@pytest.mark.parametrize(("old", "new", "point"), [
    ('"value": [1.0, 2.0]', '"value": [1.0, 1' + "0" * 400 + "]", "only finite numbers"),
    ('"value": [1.0, 2.0]', '"value": [1.0, 1' + "0" * 400 + "], \"dtype\": \"float32\"",
     "only finite numbers"),
    ('"op": "reshape"', '"op": "' + "r" * 1000 + '"', "unknown op"),
    ('"requires_grad": true}', '"requires_grad": true, "' + "k" * 1000 + '": 1}', "unknown field"),
    ('{"shape": [1, -1]}', '{"shape": [1, "' + "a" * 1000 + '"]}', "must be a list of integers"),
])
def test_long_values_are_elided_keeping_the_point(old: str, new: str, point: str) -> None:
    with pytest.raises(FileFormatError) as info:
        loads(BASE.replace(old, new, 1))
    msg = info.value.message
    assert point in msg, msg
    assert len(msg) < 250, msg


def test_short_keeps_short_values_and_elides_long_ones() -> None:
    assert values._short([1, 2]) == "[1, 2]"
    long = values._short("x" * 500)
    assert len(long) < 60 and long.startswith("'xxx") and "…" in long


# ---- 10. small CLI things ----

@pytest.mark.parametrize("n", ["0", "-1", "10001"])
def test_accumulate_is_bounded(n: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "grad", str(EXAMPLES / "01_scalar_partial.json"), "--accumulate", n)
    one_line_error(code, out, err, "--accumulate", "10,000")


@pytest.mark.parametrize("name", ["", " "])
def test_export_to_an_empty_name(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "export", str(EXAMPLES / "01_scalar_partial.json"), "-o", name)
    one_line_error(code, out, err, "-o")


def test_export_to_a_folder_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "export", str(EXAMPLES / "01_scalar_partial.json"), "-o", str(tmp_path))
    one_line_error(code, out, err, str(tmp_path), "folder")


def test_closed_pipe_ends_quietly() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "gradcanvas", "grad", str(EXAMPLES / "04_small_mlp.json")],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before anything is written, as with `| head -0`
    err = proc.stderr.read().decode()
    proc.stderr.close()
    code = proc.wait(timeout=120)
    assert err == "", err
    assert code == 1


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_output_is_one_line_naming_it() -> None:
    with open("/dev/full", "w") as full:
        done = cli("grad", str(EXAMPLES / "04_small_mlp.json"), stdout=full, capture_output=False,
                   stderr=subprocess.PIPE)
    one_line_error(done.returncode, "", done.stderr, "standard output")


# ---- property: whatever init spec the loader accepts, torch can make ----

_EDGY = st.sampled_from([0, 1, -1, 2, -3, 0.5, -0.25, 7.5, 1e30, -1e39, 3.5e38, 1e300, -1e300,
                         2**53, 2**63 - 1, 2**63, -(2**63) - 1, 2**70, 10**39])


@st.composite
def _edgy_inits(draw: st.DrawFn) -> dict:
    fn = draw(st.sampled_from(sorted(INITS)))
    init: dict = {"fn": fn}
    for param in INITS[fn].params:
        name = param.name
        if not param.required and draw(st.booleans()):
            continue
        if name == "shape":
            init[name] = draw(st.lists(st.integers(0, 3), min_size=1, max_size=2))
        elif name == "steps":
            init[name] = draw(st.integers(-1, 5))
        else:
            init[name] = draw(_EDGY)
    return init


@settings(max_examples=300, deadline=None)
@given(_edgy_inits(), st.sampled_from(DTYPES))
def test_an_accepted_init_is_one_torch_can_make(init: dict, dtype: str) -> None:
    node = Node("x", TENSOR, init=init, dtype=dtype)
    try:
        node.check()
    except ValueSpecError:
        return
    g = Graph()
    g.add_node(node)
    (made,) = Compiled(g)._make_leaves("cpu")  # must not raise
    assert tuple(made.shape) == node.leaf_shape()
    if init["fn"] == "full":
        assert bool(torch.isfinite(made).all())


def test_an_arange_whose_step_overflows_torchs_int64_length_is_refused() -> None:
    """torch.arange(0, 2**53, 2**63 - 1, dtype=int64) is empty: torch adds range and step in
    int64. Such a step is refused rather than promised as one element."""
    node = Node("x", TENSOR, init={"fn": "arange", "end": 2**53, "step": 2**63 - 1}, dtype="int64")
    with pytest.raises(ValueSpecError, match="must fit an int64"):
        node.check()
    Node("x", TENSOR, init={"fn": "arange", "end": 2**53, "step": 2**61}, dtype="int64").check()  # fits: fine
