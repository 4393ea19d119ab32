"""The memory budget for a whole run (autograd_bridge.budget): the estimate against shapes
worked out here, the limit parser, refusals naming their nodes (CLI and ComputeSession), out of
memory as a one-line error on its node, and issue 9's memory hazards in a subprocess under a
3 GB address-space limit (torch starts under 1 GB here: see the first test)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from autograd_bridge import budget
from autograd_bridge.compute import ComputeSession
from autograd_bridge.engine import Compiled
from graph.errors import ExecutionError
from graph.fileformat import loads

ADDRESS_SPACE = 3 << 30
TIMEOUT_S = 120  # a safety net only: each hazard ends in seconds


def graph_text(leaves: dict[str, tuple[list[int], bool]], ops: list[tuple[str, str, dict[str, str]]],
               dtype: str = "float32") -> str:
    """A file: zero-filled leaves {id: (shape, requires_grad)} and ops (id, op, {port: from})."""
    nodes = [{"id": n, "op": "tensor", "init": {"fn": "zeros", "shape": shape}, "requires_grad": rg,
              "dtype": dtype} for n, (shape, rg) in leaves.items()]
    nodes += [{"id": n, "op": op} for n, op, _ in ops]
    edges = [{"from": src, "to": n, "port": port} for n, _, inputs in ops for port, src in inputs.items()]
    return json.dumps({"format": "gradcanvas", "version": 1, "nodes": nodes, "edges": edges})


def matmul_sum(a: list[int], b: list[int], dtype: str = "float32") -> str:
    return graph_text({"a": (a, True), "b": (b, True)},
                      [("mm", "matmul", {"input": "a", "other": "b"}), ("s", "sum", {"input": "mm"})], dtype)


def compiled(text: str) -> Compiled:
    return Compiled(loads(text))


# ---- the estimate ----

@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_estimate_adds_up_values_partials_and_scratch(dtype: str) -> None:
    c = compiled(matmul_sum([300, 200], [200, 100], dtype))
    size = torch.empty((), dtype=getattr(torch, dtype)).element_size()
    a, b = torch.zeros(300, 200), torch.zeros(200, 100)
    mm = a @ b
    numbers = {"a": a.numel(), "b": b.numel(), "mm": mm.numel(), "s": 1}
    found = budget.estimate(c, {"a": (300, 200), "b": (200, 100), "mm": tuple(mm.shape), "s": ()})
    assert found.parts == {"leaves": (numbers["a"] + numbers["b"]) * size,
                           "values": (numbers["mm"] + 1) * size,
                           "partials": sum(numbers.values()) * size,  # every node requires grad
                           "backward scratch": max(numbers.values()) * size,
                           "output": 0}
    assert found.total == sum(found.parts.values())
    assert [n for n, _s, _b in found.largest] == ["a", "mm", "b"]  # the three largest
    assert found.largest[0] == ("a", (300, 200), 300 * 200 * size)
    accumulating = budget.estimate(c, c.infer_shapes(), accumulate=True)
    assert accumulating.parts["partials"] == 2 * found.parts["partials"]


GRAPHS = {
    "broadcast": graph_text({"u": ([120, 1], True), "v": ([1, 120], False)},
                            [("add", "add", {"input": "u", "other": "v"}), ("t", "tanh", {"input": "add"}),
                             ("s", "sum", {"input": "t"})]),
    "zero inner dim": matmul_sum([300, 0], [0, 300]),
    "batched matmul": matmul_sum([4, 5, 6], [6, 7]),
    "vector matmul": matmul_sum([6], [6, 7]),
    "expand and select": json.dumps({
        "format": "gradcanvas", "version": 1,
        "nodes": [{"id": "x", "op": "tensor", "value": [1.0, 2.0], "requires_grad": True},
                  {"id": "e", "op": "expand", "attrs": {"size": [50, 2]}},
                  {"id": "x2", "op": "exp"},
                  {"id": "r", "op": "select", "attrs": {"dim": 1, "index": 0}},
                  {"id": "m", "op": "mul"}],
        "edges": [{"from": "x", "to": "e", "port": "input"}, {"from": "e", "to": "x2", "port": "input"},
                  {"from": "x2", "to": "r", "port": "input"}, {"from": "r", "to": "m", "port": "input"},
                  {"from": "r", "to": "m", "port": "other"}]}),
}


@pytest.mark.parametrize("name", GRAPHS)
def test_element_bounds_are_at_least_the_real_sizes(name: str) -> None:
    """The fast path's bounds (no torch) never undercount a node, else a run over the limit
    would skip the check."""
    c = compiled(GRAPHS[name])
    bounds = budget.element_bounds(c)
    for n, shape in c.infer_shapes().items():
        assert bounds[n] >= torch.Size(shape).numel(), (n, shape, bounds[n])


def test_a_small_graph_costs_no_shape_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    c = compiled(matmul_sum([30, 20], [20, 10]))
    monkeypatch.setattr(Compiled, "_shapes_on", lambda *a: pytest.fail("shape pass on a small graph"))
    assert budget.check(c, 1 << 30) is None


# ---- the limit ----

@pytest.mark.parametrize(("text", "size"), [
    ("2G", 2 << 30), ("512M", 512 << 20), ("1.5GB", 3 << 29), ("3GiB", 3 << 30), ("12 kb", 12 << 10),
    ("1000000", 1_000_000), ("5b", 5), ("none", None), (" None ", None)])
def test_sizes_parse(text: str, size: int | None) -> None:
    assert budget.parse_size(text) == size


@pytest.mark.parametrize("text", ["", "abc", "1e3", "-2G", "0", "G", "2X", "1.2.3M"])
def test_bad_sizes_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="memory limit"):
        budget.parse_size(text)


@pytest.mark.parametrize("text", ["99999999999G", "5000000T", "4194304.5T", "9" * 400])
def test_a_size_above_the_largest_limit_says_so_and_suggests_none(text: str) -> None:
    with pytest.raises(ValueError) as refused:
        budget.parse_size(text)
    assert str(refused.value) == (f"memory limit {text!r} is above the largest limit, 4.0 EB (4194304T): "
                                  "give none for no limit")
    assert budget.parse_size("4194304T") == budget.LARGEST_LIMIT == 1 << 62  # the largest itself is a limit


@pytest.mark.parametrize("text", ["0", "0.5", "0.9b"])
def test_a_size_below_one_byte_says_so(text: str) -> None:
    with pytest.raises(ValueError, match="is below 1 byte: give at least 1 byte, or none for no limit"):
        budget.parse_size(text)


def test_the_default_limit_is_a_fraction_of_the_memory_free(monkeypatch: pytest.MonkeyPatch) -> None:
    free = budget.memory_free("cpu")
    assert free is None or free > 0
    monkeypatch.setattr(budget, "memory_free", lambda device: 1000)
    assert budget.memory_limit_default("cpu") == 800
    monkeypatch.setattr(budget, "memory_free", lambda device: None)  # nothing measurable: no limit
    assert budget.memory_limit_default("cpu") is None


def test_an_address_space_limit_bounds_the_memory_free() -> None:
    code = ("import resource; resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30)); "
            "from autograd_bridge.budget import memory_free; print(memory_free('cpu'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT_S,
                         check=True)
    assert 0 < int(out.stdout) < 3 << 30


# ---- refusals name their nodes ----

def test_over_the_limit_is_refused_naming_the_largest_node() -> None:
    c = compiled(matmul_sum([1000, 1], [1, 1000]))
    with pytest.raises(budget.OverBudget) as caught:
        budget.check(c, 1 << 20, why="a test", hint="raise it")
    e = caught.value
    assert e.node_ids == ("mm",) and e.needed > e.limit == 1 << 20  # a and b: under a tenth of mm
    assert "largest mm [1000, 1000] 3.8 MB" in e.message and e.message.endswith("(a test); raise it")


def cli(*argv: str, limit: int | None = None) -> subprocess.CompletedProcess[str]:
    """gradcanvas in a subprocess, under an address-space limit if given; stderr ends with the
    peak resident memory in KB (ru_maxrss) on a line of its own."""
    code = ("import resource, runpy, sys\nsys.argv = ['gradcanvas', *sys.argv[1:]]\ntry:\n"
            "    runpy.run_module('gradcanvas', run_name='__main__')\nfinally:\n"
            "    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n")
    preexec = None if limit is None else (lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)))
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                          timeout=TIMEOUT_S, preexec_fn=preexec)


def error_lines(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return proc.stderr.splitlines()[:-1]  # the last line is the peak memory


def test_the_cli_refuses_over_the_limit_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    path.write_text(matmul_sum([1000, 1], [1, 1000]))
    proc = cli("grad", str(path), "--memory-limit", "1M")
    assert proc.returncode == 1 and proc.stdout == ""
    [line] = error_lines(proc)
    assert line.startswith("error: this run needs about ") and "largest mm [1000, 1000] 3.8 MB" in line
    assert line.endswith("over the memory limit 1.0 MB (--memory-limit 1M); raise it with --memory-limit")
    assert cli("grad", str(path), "--memory-limit", "none").returncode == 0
    bad = cli("grad", str(path), "--memory-limit", "lots")
    assert bad.returncode == 1 and error_lines(bad) == [
        "error: --memory-limit: memory limit 'lots' is not a size: give e.g. 2G, 512M, 1.5GB, a number of "
        "bytes, or none"]


def test_the_session_reports_over_budget_and_allocates_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    graph = loads(matmul_sum([1000, 1], [1, 1000]))
    monkeypatch.setattr(Compiled, "make_leaves", lambda self: pytest.fail("allocated over the budget"))
    session = ComputeSession()
    out = session.compute(graph, "s", 1, memory_limit=1 << 20)
    assert out.over_budget is not None and out.over_budget[1] == 1 << 20 and out.over_budget[0] > 1 << 20
    assert out.error_nodes == ("mm",) and "largest mm [1000, 1000]" in out.error and not out.nodes
    monkeypatch.undo()
    anyway = session.compute(graph, "s", 1, memory_limit=None)  # "Run anyway"
    assert anyway.over_budget is None and anyway.error is None and set(anyway.nodes) == {"a", "b", "mm", "s"}
    assert session.compute(graph, "s", 2).over_budget is None  # the default limit: plenty here


# ---- out of memory while running: one line on its node ----

@pytest.mark.parametrize("error", [
    MemoryError(),
    RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: "
                 "you tried to allocate 3600000000 bytes. Error code 12 (Cannot allocate memory)"),
    torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 3.35 GiB. GPU 0 has a total capacity"),
], ids=["MemoryError", "cpu_allocator", "cuda"])
def test_out_of_memory_names_the_node_being_computed(error: Exception, monkeypatch: pytest.MonkeyPatch) -> None:
    c = compiled(matmul_sum([2, 3], [3, 4]))
    matmul = torch.matmul
    def fail(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        if a.device.type == "meta":  # the shape pass after a failure allocates nothing
            return matmul(a, b)
        raise error
    monkeypatch.setattr(torch, "matmul", fail)
    with pytest.raises(ExecutionError) as caught:
        c.run("s")
    message = caught.value.message
    assert message.startswith("mm: out of memory computing matmul of [2, 3] and [3, 4]"), message
    assert "\n" not in message and caught.value.node_ids[0] == "mm"
    if not isinstance(error, MemoryError):
        assert message.endswith(("(torch tried to allocate 3.4 GB)", "(torch tried to allocate 3.35 GiB)"))


def test_out_of_memory_in_the_backward_pass_names_the_target(monkeypatch: pytest.MonkeyPatch) -> None:
    c = compiled(matmul_sum([2, 3], [3, 4]))
    def fail(*args: object, **kwargs: object) -> None:
        raise MemoryError
    monkeypatch.setattr(torch.autograd, "grad", fail)
    with pytest.raises(ExecutionError) as caught:
        c.run("s")
    assert caught.value.message == "s: out of memory in the backward pass" and caught.value.node_ids == ("s",)


# ---- issue 9's hazards, under a 3 GB address-space limit ----

def test_torch_starts_under_the_address_space_limit() -> None:
    proc = subprocess.run([sys.executable, "-c", "import torch; print(torch.ones(3).sum().item())"],
                          capture_output=True, text=True, timeout=TIMEOUT_S,
                          preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)))
    assert proc.stdout.strip() == "3.0", proc.stderr


def ends_cleanly(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(error_lines(proc)) == (proc.returncode == 1), proc.stderr


def strict_json(text: str) -> dict:
    def refuse(token: str) -> None:
        raise ValueError(f"not JSON: {token}")
    return json.loads(text, parse_constant=refuse)


def test_two_empty_leaves_making_a_huge_matmul_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.json"
    path.write_text(matmul_sum([30000, 0], [0, 30000]))
    proc = cli("grad", "--json", str(path), limit=ADDRESS_SPACE)
    ends_cleanly(proc)
    assert proc.returncode == 1
    [line] = error_lines(proc)
    assert "largest mm [30000, 30000] 3.4 GB" in line and "memory" in line, line


def test_check_of_two_empty_leaves_infers_the_huge_shape_without_allocating_it(tmp_path: Path) -> None:
    """An empty leaf can make a full output: the shape pass must not run [30000, 0] @ [0, 30000]
    on the CPU (3.4 GB) but on torch's meta device."""
    path = tmp_path / "empty.json"
    path.write_text(matmul_sum([30000, 0], [0, 30000]))
    proc = cli("check", str(path), limit=ADDRESS_SPACE)
    ends_cleanly(proc)
    assert proc.returncode == 0 and "mm [30000, 30000]" not in proc.stdout  # the sink is s
    assert compiled(path.read_text())._work_bound() > 30000 * 30000  # noqa: SLF001 - the bound that decides


def test_a_small_file_broadcasting_two_vectors_ends_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "broadcast.json"
    path.write_text(graph_text({"u": ([12000, 1], True), "v": ([1, 12000], True)},
                               [("add", "add", {"input": "u", "other": "v"}), ("s", "sum", {"input": "add"})]))
    assert path.stat().st_size < 600
    proc = cli("grad", "--json", str(path), limit=ADDRESS_SPACE)
    ends_cleanly(proc)
    if proc.returncode == 0:
        out = strict_json(proc.stdout)
        assert out["grads"]["add"]["shape"] == [12000, 12000]  # a summary, not 144M numbers
    else:
        assert "add [12000, 12000]" in proc.stderr


def test_json_costs_about_what_the_text_does(tmp_path: Path) -> None:
    path = tmp_path / "mm.json"
    path.write_text(graph_text({"a": ([4096, 4096], True), "b": ([4096, 4096], True)},
                               [("mm", "matmul", {"input": "a", "other": "b"}), ("s", "sum", {"input": "mm"})]))
    as_json = cli("grad", "--json", str(path), limit=ADDRESS_SPACE)
    as_text = cli("grad", str(path), limit=ADDRESS_SPACE)
    for proc in as_json, as_text:
        ends_cleanly(proc)
        assert proc.returncode == 0
    assert strict_json(as_json.stdout)["grads"]["mm"]["shape"] == [4096, 4096]
    peak_json, peak_text = int(as_json.stderr.split()[-1]), int(as_text.stderr.split()[-1])  # KB
    assert peak_json <= 1.25 * peak_text + 100_000, (peak_json, peak_text)


def test_int64_and_bool_leaves_keep_their_size_under_a_dtype_override() -> None:
    from autograd_bridge import budget

    text = json.dumps({"format": "gradcanvas", "version": 1, "nodes": [
        {"id": "i", "op": "tensor", "init": {"fn": "zeros", "shape": [1000]}, "dtype": "int64"},
        {"id": "m", "op": "tensor", "init": {"fn": "zeros", "shape": [1000]}, "dtype": "bool"},
        {"id": "x", "op": "tensor", "init": {"fn": "zeros", "shape": [1000]}, "dtype": "float64"}], "edges": []})
    c = Compiled(loads(text), dtype="float32")
    parts = budget.estimate(c, c.infer_shapes()).parts
    assert parts["leaves"] == 1000 * 8 + 1000 * 1 + 1000 * 4  # int64 8, bool 1, the float leaf 4
