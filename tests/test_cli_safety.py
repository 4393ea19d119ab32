"""Text from a file never acts on the terminal: every id, port, label and op name the CLI prints
(tables, notes, errors, "wrote" lines, JSON, an exported script on stdout) reaches stdout and
stderr with control, line-separator and bidi characters escaped (graph.safetext.visible).

Each case runs the real command in a subprocess and reads the raw bytes it wrote. Expected
results are stated here, never taken from GradCanvas's own output.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from graph.errors import FileFormatError
from graph.fileformat import load

ROOT = Path(__file__).resolve().parent.parent

# ESC (terminal sequences), an OSC title sequence, CR, LF, DEL, the C1 CSI, bidi override,
# line / paragraph separators, NEL, a tag character, a zero-width joiner.
HOSTILE = ["\x1b[2J", "\x1b]0;pwned\x07", "\r", "\n", "\x7f", "\x9b", "\u202e", "\u2028", "\u2029",
           "\x85", "\U000e0001", "\u200d", "\u2066"]
# ids refuse C0 controls already; these still reach an id
ID_HOSTILE = "".join(h for h in HOSTILE if not any(ord(c) < 0x20 or c == "\x7f" for c in h))
BAD_CHARS = {c for h in HOSTILE for c in h} - set("[2J]0;pwned")


def run(*argv: str) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run([sys.executable, "-m", "gradcanvas", *argv], cwd=ROOT, capture_output=True, timeout=120)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode("utf-8", "replace")
    return proc


def write(path: Path, nodes: list[dict], edges: list[tuple[str, str, str]], **top: object) -> str:
    path.write_text(json.dumps({"format": "gradcanvas", "version": 1, **top, "nodes": nodes,
                                "edges": [{"from": s, "to": d, "port": p} for s, d, p in edges]}), encoding="utf-8")
    return str(path)


def hostile_graph(tmp_path: Path, bad_value: bool = False) -> str:
    """x (leaf) -> log -> sum, every id and label hostile; log of -1 makes a NaN when bad_value."""
    x, lg, s = "x" + ID_HOSTILE, "log" + ID_HOSTILE + "1", "s" + ID_HOSTILE + "2"
    label = "".join(HOSTILE) + "exe.txt"
    nodes = [{"id": x, "op": "tensor", "value": [-1.0 if bad_value else 1.0, 2.0], "requires_grad": True,
              "label": label},
             {"id": lg, "op": "log", "label": label},
             {"id": s, "op": "sum", "label": label}]
    return write(tmp_path / "hostile.json", nodes, [(x, lg, "input"), (lg, s, "input")])


def assert_clean(proc: subprocess.CompletedProcess[bytes]) -> None:
    for stream in (proc.stdout, proc.stderr):
        text = stream.decode("utf-8")
        assert not (set(text) & (BAD_CHARS - {"\n"})), sorted(repr(c) for c in set(text) & BAD_CHARS)


def one_line(data: bytes) -> None:
    assert data.decode("utf-8").count("\n") <= 1, data


@pytest.mark.parametrize("bad_value", [False, True], ids=["finite", "nan"])
def test_check_grad_json_and_export_escape_every_field(tmp_path: Path, bad_value: bool) -> None:
    path = hostile_graph(tmp_path, bad_value)
    for argv in (["check", path], ["grad", path], ["grad", path, "--json"], ["export", path, "-o", "-"],
                 ["export", path, "-o", str(tmp_path / ("out" + "\u202e" + "yp.py"))]):
        proc = run(*argv)
        assert proc.returncode == 0, proc.stderr
        assert_clean(proc)
    table = run("grad", path).stdout.decode("utf-8")
    assert "\\u202e" in table and "\\x9b" in table  # shown as escapes, not dropped
    if bad_value:  # the NaN note names the node, escaped
        assert "note: log\\x9b\\u202e" in table, table
    data = json.loads(run("grad", path, "--json").stdout)
    assert set(data["grads"]) == {"x" + ID_HOSTILE, "log" + ID_HOSTILE + "1", "s" + ID_HOSTILE + "2"}
    assert [w["node"] for w in data.get("warnings", [])] == (["log" + ID_HOSTILE + "1"] if bad_value else [])


def edge_error_files(tmp_path: Path) -> list[str]:
    """Files refused for a field that carries hostile text: edge from/to/port, ids, target, op."""
    h = "".join(HOSTILE)
    leaf = {"id": "a", "op": "tensor", "value": 1.0}
    exp = {"id": "e", "op": "exp"}
    docs = {
        "port": ([leaf, exp], [("a", "e", "in" + h)]),
        "from": ([leaf, exp], [("a" + h, "e", "input")]),
        "to": ([leaf, exp], [("a", "e" + h, "input")]),
        "op": ([{"id": "o" + ID_HOSTILE, "op": "exp" + h}], []),
        "id": ([{"id": "bad" + h, "op": "exp"}], []),
        "fed_twice": ([leaf, {"id": "b" + ID_HOSTILE, "op": "exp"}],
                      [("a", "b" + ID_HOSTILE, "input"), ("a", "b" + ID_HOSTILE, "input")]),
        "unknown_field": ([{"id": "c" + ID_HOSTILE, "op": "exp", "x" + h: 1}], []),
        "label_type": ([{"id": "d" + ID_HOSTILE, "op": "exp", "label": 5}], []),
        "attr": ([{"id": "f" + ID_HOSTILE, "op": "sum", "attrs": {"dim" + h: 1}}], []),
        "missing_input": ([{"id": "g" + ID_HOSTILE, "op": "exp"}], []),
    }
    paths = [write(tmp_path / f"{name}.json", nodes, edges) for name, (nodes, edges) in docs.items()]
    paths.append(write(tmp_path / "target.json", [leaf], [], target="t" + h))
    return paths


def test_errors_are_one_escaped_line(tmp_path: Path) -> None:
    for path in edge_error_files(tmp_path):
        for argv in (["check", path], ["grad", path, "--json"], ["export", path, "-o", "-"]):
            proc = run(*argv)
            assert proc.returncode == 1, (argv, proc.stdout)
            assert proc.stdout == b""
            assert_clean(proc)
            one_line(proc.stderr)
            assert proc.stderr.startswith(b"error: ")


def test_a_hostile_target_and_file_name_on_the_command_line(tmp_path: Path) -> None:
    path = hostile_graph(tmp_path)
    proc = run("grad", path, "--target", "no\x1b]0;x\x07such\u202e")
    assert proc.returncode == 1
    assert_clean(proc)
    one_line(proc.stderr)
    proc = run("check", str(tmp_path / "missing\u202e\nerror: forged.json"))
    assert proc.returncode == 1
    assert_clean(proc)
    one_line(proc.stderr)


def test_ids_and_labels_have_a_length_limit_naming_node_and_field(tmp_path: Path) -> None:
    from graph.model import MAX_ID_LENGTH, MAX_LABEL_LENGTH

    long_id = write(tmp_path / "id.json", [{"id": "i" * (MAX_ID_LENGTH + 1), "op": "exp"}], [])
    proc = run("check", long_id)
    assert proc.returncode == 1 and b"node #0: field 'id'" in proc.stderr, proc.stderr
    ok = write(tmp_path / "ok.json", [{"id": "a", "op": "tensor", "value": 1.0, "label": "l" * MAX_LABEL_LENGTH}], [])
    assert run("check", ok).returncode == 0
    big = tmp_path / "big.json"
    write(big, [{"id": "a", "op": "tensor", "value": 1.0, "label": "l" * 50_000_000}], [])
    with pytest.raises(FileFormatError) as e:
        load(big)  # refused at the label, before anything is built from it (~0.3 s)
    assert "node a: field 'label'" in e.value.message and e.value.field == "label"
    assert len(e.value.message) < 300


# ---- grad --json is strict JSON (RFC 8259) ----

def _refuse(name: str) -> None:
    raise AssertionError(f"{name} is not JSON")


def strict(data: bytes) -> dict:
    """Parsed as RFC 8259 JSON: NaN, Infinity and -Infinity refused, and (an independent check,
    not through json's own tokenizer) no such token outside a string."""
    text = data.decode("ascii")  # ensure_ascii: any character from a file is escaped
    outside = re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)
    assert not re.search(r"NaN|Infinity", outside), outside[:200]
    return json.loads(text, parse_constant=_refuse)


def leaf(node_id: str, value: object, **more: object) -> dict:
    return {"id": node_id, "op": "tensor", "value": value, "requires_grad": True, **more}


def test_json_writes_nan_and_inf_as_strings_and_names_where_they_appear(tmp_path: Path) -> None:
    # l = log(x): log(-1) = nan, log(0) = -inf; e = exp(m): exp(1000) = inf; s = sum(l) + sum(e)
    nodes = [leaf("x", [-1.0, 0.0, 2.0]), leaf("m", [1000.0, 0.0]), {"id": "l", "op": "log"},
             {"id": "e", "op": "exp"}, {"id": "sl", "op": "sum"}, {"id": "se", "op": "sum"}, {"id": "s", "op": "add"}]
    edges = [("x", "l", "input"), ("m", "e", "input"), ("l", "sl", "input"), ("e", "se", "input"),
             ("sl", "s", "input"), ("se", "s", "other")]
    path = write(tmp_path / "nan.json", nodes, edges)
    proc = run("grad", path, "--json")
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    data = strict(proc.stdout)
    assert data["value"] == "nan"
    assert data["grads"]["l"] == [1.0, 1.0, 1.0]
    assert data["grads"]["x"] == [-1.0, "inf", 0.5]  # 1/x
    assert data["grads"]["e"] == [1.0, 1.0]
    assert data["grads"]["m"] == ["inf", 1.0]  # exp(x)
    by_node = {w["node"]: w["message"] for w in data["warnings"]}
    # values: l and e are not finite although their inputs are; partials: x's and m's first
    assert set(by_node) == {"l", "e", "x", "m"}, data["warnings"]
    assert "NaN/Inf" in by_node["l"] and "log" in by_node["l"]


def test_json_names_a_partial_that_first_goes_infinite(tmp_path: Path) -> None:
    # s = sum(sqrt(x)) at x = [0, 4]: every value finite, ∂s/∂x = 1/(2 sqrt x) = [inf, 0.25]
    nodes = [leaf("x", [0.0, 4.0]), {"id": "r", "op": "sqrt"}, {"id": "s", "op": "sum"}]
    data = strict(run("grad", write(tmp_path / "sqrt.json", nodes, [("x", "r", "input"), ("r", "s", "input")]),
                      "--json").stdout)
    assert data["value"] == 2.0 and data["grads"]["x"] == ["inf", 0.25]
    assert [w["node"] for w in data["warnings"]] == ["x"]


def test_a_clean_run_has_no_warnings_key(tmp_path: Path) -> None:
    data = strict(run("grad", str(ROOT / "resources" / "examples" / "01_scalar_partial.json"), "--json").stdout)
    assert set(data) == {"target", "value", "grads"} and data["grads"]["x"] == 8.0


def test_large_tensors_are_summaries_unless_full(tmp_path: Path) -> None:
    # x = arange(120000) as [400, 300] (exact in float32); s = sum(x * x); ∂s/∂x = 2x
    n = 120_000
    nodes = [{"id": "x", "op": "tensor", "init": {"fn": "arange", "end": n, "shape": [400, 300]},
              "requires_grad": True},
             {"id": "sq", "op": "mul"}, {"id": "s", "op": "sum"}]
    path = write(tmp_path / "big.json", nodes, [("x", "sq", "input"), ("x", "sq", "other"), ("sq", "s", "input")])
    data = strict(run("grad", path, "--json").stdout)
    norm = math.sqrt(sum(k * k for k in range(n)))
    x = data["grads"]["x"]
    assert set(x) == {"shape", "norm", "min", "max", "mean"}
    assert x["shape"] == [400, 300] and x["min"] == 0 and x["max"] == 2 * (n - 1) and x["mean"] == n - 1
    assert x["norm"] == pytest.approx(2 * norm, rel=1e-6)
    assert data["grads"]["sq"]["mean"] == 1.0 and data["grads"]["sq"]["norm"] == pytest.approx(math.sqrt(n))
    full = strict(run("grad", path, "--json", "--full").stdout)
    assert full["grads"]["x"] == [[2.0 * (r * 300 + c) for c in range(300)] for r in range(400)]
    assert full["grads"]["sq"] == [[1.0] * 300] * 400
    expected = torch.arange(n, dtype=torch.float32).pow(2).sum().item()  # torch's own float32 sum
    assert full["value"] == data["value"] == pytest.approx(expected, rel=1e-6)


def test_a_summary_of_non_finite_numbers_is_strict_json(tmp_path: Path) -> None:
    # s = sum(log(x)) with x = 0 everywhere ([400, 300]): s = -inf, ∂s/∂x = 1/x = inf everywhere
    nodes = [{"id": "x", "op": "tensor", "init": {"fn": "zeros", "shape": [400, 300]}, "requires_grad": True},
             {"id": "l", "op": "log"}, {"id": "s", "op": "sum"}]
    data = strict(run("grad", write(tmp_path / "inf.json", nodes, [("x", "l", "input"), ("l", "s", "input")]),
                      "--json").stdout)
    assert data["value"] == "-inf"
    assert data["grads"]["x"] == {"shape": [400, 300], "norm": "inf", "min": "inf", "max": "inf", "mean": "inf"}
    assert data["grads"]["l"]["min"] == 1.0
    assert [w["node"] for w in data["warnings"]] == ["l", "x"]


@pytest.mark.parametrize("error", [MemoryError(), RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. "
                                                                "DefaultCPUAllocator: can't allocate memory: you tried "
                                                                "to allocate 576000000 bytes. Error code 12")],
                         ids=["MemoryError", "torch_cpu"])
def test_running_out_of_memory_is_one_line(error: Exception, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from autograd_bridge.engine import Compiled
    from gradcanvas.cli import main

    def fail(*_a: object, **_k: object) -> None:
        raise error

    monkeypatch.setattr(Compiled, "run", fail)
    assert main(["grad", str(ROOT / "resources" / "examples" / "01_scalar_partial.json")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: out of memory") and err.count("\n") == 1, err
    monkeypatch.setattr(Compiled, "run", lambda *_a, **_k: (_ for _ in ()).throw(RuntimeError("a bug")))
    with pytest.raises(RuntimeError, match="a bug"):  # any other error is not hidden
        main(["grad", str(ROOT / "resources" / "examples" / "01_scalar_partial.json")])
