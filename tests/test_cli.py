"""The `gradcanvas` command: one-line results, one-line errors, exit codes, no tracebacks."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gradcanvas.cli import main
from graph.fileformat import load, save

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.json"))


def write_doc(path: Path, nodes: list[dict], edges: list[dict]) -> Path:
    path.write_text(json.dumps({"format": "gradcanvas", "version": 1, "nodes": nodes, "edges": edges}),
                    encoding="utf-8")
    return path


def e(src: str, dst: str, port: str) -> dict:
    return {"from": src, "to": dst, "port": port}


def run_main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_subprocess(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "gradcanvas", *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def assert_one_line_error(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 1
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


# ---- bad files ----

@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, tuple[Path, tuple[str, ...]]]:
    """name → (file, what its one-line error must mention)."""
    files = {}
    files["cycle"] = (write_doc(
        tmp_path / "cycle.json",
        [{"id": "x", "op": "tensor", "value": 1.0}, {"id": "p", "op": "add"}, {"id": "q", "op": "neg"}],
        [e("x", "p", "input"), e("q", "p", "other"), e("p", "q", "input")]), ("cycle", "p", "q"))
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"format": "gradcanvas", "version": 1, "nodes": [', encoding="utf-8")
    files["bad_json"] = (bad_json, ("not valid JSON",))
    files["unknown_op"] = (write_doc(
        tmp_path / "unknown.json",
        [{"id": "x", "op": "tensor", "value": 1.0}, {"id": "frob_node", "op": "frobnicate"}], []),
        ("frob_node", "frobnicate"))
    files["missing_input"] = (write_doc(
        tmp_path / "missing.json",
        [{"id": "x", "op": "tensor", "value": 1.0}, {"id": "m", "op": "mul"}], [e("x", "m", "input")]),
        ("m.other",))
    files["shape"] = (write_doc(
        tmp_path / "shape.json",
        [{"id": "a", "op": "tensor", "value": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]},
         {"id": "b", "op": "tensor", "value": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]},
         {"id": "mm", "op": "matmul"}],
        [e("a", "mm", "input"), e("b", "mm", "other")]), ("mm: matmul of [2, 3] and [2, 3]",))
    files["no_file"] = (tmp_path / "does_not_exist.json", ("does_not_exist.json",))
    return files


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_check_examples(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "check", str(path))
    assert code == 0
    assert err == ""
    lines = out.strip().splitlines()
    assert len(lines) == 1
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert lines[0].startswith(f"ok: {len(doc['nodes'])} nodes")
    assert f"{len(doc['edges'])} edges" in lines[0]


def test_check_summary_names_the_sink_and_its_shape(examples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "check", str(examples_dir / "03_vector_element.json"))
    assert code == 0
    assert out.strip() == "ok: 3 nodes (1 tensor, 2 ops), 2 edges; sinks: y1 []"


@pytest.mark.parametrize("name", ["cycle", "bad_json", "unknown_op", "missing_input", "shape", "no_file"])
def test_check_bad_file(name: str, bad_files: dict, capsys: pytest.CaptureFixture[str]) -> None:
    path, needles = bad_files[name]
    code, out, err = run_main(capsys, "check", str(path))
    assert out == ""
    assert_one_line_error(code, out, err, *needles)


def test_bad_files_in_a_real_process(bad_files: dict, tmp_path: Path) -> None:
    """Through the interpreter, as a user runs it: exit status 1, one line, no traceback."""
    for name in ("cycle", "bad_json"):
        path, needles = bad_files[name]
        proc = run_subprocess("check", str(path))
        assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, *needles)
    proc = run_subprocess("export", str(EXAMPLES[0]), "-o", str(tmp_path / "no" / "such" / "dir" / "x.py"))
    assert_one_line_error(proc.returncode, proc.stdout, proc.stderr, "x.py")
    assert not (tmp_path / "no").exists()


def test_check_and_grad_in_a_real_process(examples_dir: Path) -> None:
    proc = run_subprocess("grad", str(examples_dir / "02_matmul_vector.json"), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)
    assert data["grads"]["x"] == [14.0, 22.0]


# ---- grad ----

def sanitising_file(tmp_path: Path) -> Path:
    """Ids that are not Python identifiers: y = sum((2-in * w.0) ** 2) with class = 2-in * w.0."""
    return write_doc(
        tmp_path / "ids.json",
        [{"id": "2-in", "op": "tensor", "value": [1.0, -2.0], "requires_grad": True},
         {"id": "w.0", "op": "tensor", "value": [3.0, 0.5], "requires_grad": True},
         {"id": "λ const", "op": "tensor", "value": 4.0},
         {"id": "class", "op": "mul"},
         {"id": "x; import os", "op": "pow", "attrs": {"exponent": 2}},
         {"id": "it's\"", "op": "sum"}],
        [e("2-in", "class", "input"), e("w.0", "class", "other"), e("class", "x; import os", "input"),
         e("x; import os", "it's\"", "input")])


def test_grad_json_is_keyed_by_the_original_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = sanitising_file(tmp_path)
    # "λ const" feeds nothing, so it is a second sink: the target is named
    code, out, err = run_main(capsys, "grad", str(path), "--target", "it's\"", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) == {"target", "value", "grads"}
    assert data["target"] == "it's\""
    assert set(data["grads"]) == {"2-in", "w.0", "λ const", "class", "x; import os", "it's\""}

    a = torch.tensor([1.0, -2.0], requires_grad=True)
    w = torch.tensor([3.0, 0.5], requires_grad=True)
    c = a * w
    c.retain_grad()
    sq = c**2
    sq.retain_grad()
    y = sq.sum()
    y.backward()
    assert data["value"] == pytest.approx(y.item())
    assert data["grads"]["2-in"] == pytest.approx(a.grad.tolist())
    assert data["grads"]["w.0"] == pytest.approx(w.grad.tolist())
    assert data["grads"]["class"] == pytest.approx(c.grad.tolist())
    assert data["grads"]["x; import os"] == pytest.approx(sq.grad.tolist())
    assert data["grads"]["it's\""] == pytest.approx(1.0)
    assert data["grads"]["λ const"] is None


def test_grad_table_and_default_target(examples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "grad", str(examples_dir / "01_scalar_partial.json"))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("target y = 17")
    row = {ln.split()[0]: ln for ln in lines[2:]}
    assert row["x"].rstrip().endswith("8")  # dy/dx = 4x = 8
    assert "None: requires_grad is off" in row["z"]


def test_grad_table_columns_line_up(examples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The MLP's `out` value, 4 numbers written out in 42 characters, pushed its partial right."""
    code, out, err = run_main(capsys, "grad", str(examples_dir / "04_small_mlp.json"))
    assert code == 0, err
    header, *rows = out.splitlines()[1:]
    column = header.index("∂loss/∂node")
    assert len(rows) == 10  # every node of the file
    for row in rows:
        assert row[column - 2:column] == "  " and row[column] != " ", row
    out_row = next(r for r in rows if r.startswith("out "))
    assert column - out_row.index("[[") > 40 and out_row[column:].startswith("[[")  # its value's 4 numbers, then ∂


def test_grad_accumulate(examples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "grad", str(examples_dir / "01_scalar_partial.json"),
                            "--accumulate", "3", "--json")
    assert code == 0
    assert json.loads(out)["grads"]["x"] == pytest.approx(3 * 4 * 2.0)
    code, out, err = run_main(capsys, "grad", str(examples_dir / "01_scalar_partial.json"), "--accumulate", "0")
    assert_one_line_error(code, out, err, "--accumulate")


def test_two_sinks_need_a_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_doc(tmp_path / "two.json",
                     [{"id": "x", "op": "tensor", "value": 2.0, "requires_grad": True},
                      {"id": "n", "op": "neg"}, {"id": "s", "op": "sin"}],
                     [e("x", "n", "input"), e("x", "s", "input")])
    code, out, err = run_main(capsys, "grad", str(path))
    assert_one_line_error(code, out, err, "2 sinks", "n", "s", "--target")
    code, out, err = run_main(capsys, "grad", str(path), "--target", "s", "--json")
    assert code == 0
    assert json.loads(out)["grads"]["x"] == pytest.approx(torch.cos(torch.tensor(2.0)).item())
    code, out, err = run_main(capsys, "grad", str(path), "--target", "nope")
    assert_one_line_error(code, out, err, "nope")


def test_non_scalar_target_plain_message(examples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "grad", str(examples_dir / "03_vector_element.json"), "--target", "y")
    assert_one_line_error(code, out, err)
    assert err.strip() == ("error: target y has shape [2]: select an element, reduce it, or give a grad-output "
                           "(the v of y.backward(gradient=v), shaped [2])")


def test_grad_output(examples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(examples_dir / "03_vector_element.json")
    code, out, err = run_main(capsys, "grad", path, "--target", "y", "--grad-output", "[1, 0.5]", "--json")
    assert code == 0, err
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x**2).backward(torch.tensor([1.0, 0.5]))
    assert json.loads(out)["grads"]["x"] == pytest.approx(x.grad.tolist())
    for bad, needle in [("[1, ", "--grad-output must be JSON"), ("[1, NaN]", "NaN"),
                        ("[1, 2, 3]", "grad-output has shape [3]"), ('{"a": 1}', "grad-output")]:
        code, out, err = run_main(capsys, "grad", path, "--target", "y", "--grad-output", bad)
        assert_one_line_error(code, out, err, needle)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_a_gpu(examples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "grad", str(examples_dir / "02_matmul_vector.json"), "--device", "cuda")
    assert_one_line_error(code, out, err, "cuda", "not available")


# ---- export ----

def test_export_writes_a_file(examples_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "ex.py"
    code, out, err = run_main(capsys, "export", str(examples_dir / "02_matmul_vector.json"), "-o", str(out_file))
    assert code == 0, err
    assert str(out_file) in out
    text = out_file.read_text(encoding="utf-8")
    assert "import torch" in text and "y.backward()" in text
    compile(text, str(out_file), "exec")


@pytest.mark.parametrize("name", ["ex.py", "my graph (1).py", "it's.py"])
def test_the_export_hint_runs_as_a_shell_command(name: str, examples_dir: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """"run it with  python my graph.py" did not run where pasted: the path is quoted as a shell
    reads it. Run here, in a shell, the hint prints the export's numbers."""
    out_file = tmp_path / name
    code, out, err = run_main(capsys, "export", str(examples_dir / "01_scalar_partial.json"), "-o", str(out_file))
    assert code == 0, err
    command = out.strip().split("run it with  ", 1)[1]
    assert command.startswith("python ")
    ran = subprocess.run(["sh", "-c", sys.executable + command.removeprefix("python")], capture_output=True,
                         text=True, timeout=120, check=False)
    assert ran.returncode == 0 and "8." in ran.stdout, ran.stderr  # ∂y/∂x = 8 at x = 2


def test_export_to_a_missing_folder(examples_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "missing" / "ex.py"
    code, out, err = run_main(capsys, "export", str(examples_dir / "02_matmul_vector.json"), "-o", str(target))
    assert_one_line_error(code, out, err, str(target))
    assert not target.parent.exists()


def test_export_non_scalar_target_needs_grad_output(examples_dir: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "ex.py"
    code, out, err = run_main(capsys, "export", str(examples_dir / "03_vector_element.json"), "--target", "y",
                              "-o", str(out_file))
    assert_one_line_error(code, out, err, "target y has shape [2]")
    assert not out_file.exists()


# ---- what each command loads ----

QT_AT_EXIT = """
import sys
from gradcanvas.cli import main
codes = [main(argv) for argv in (["check", sys.argv[1]], ["grad", sys.argv[1], "--json"],
                                  ["export", sys.argv[1], "-o", sys.argv[2]])]
print(codes, sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "pyqtgraph", "gui")))
"""


def test_check_grad_and_export_never_load_qt(examples_dir: Path, tmp_path: Path) -> None:
    """Qt is for render and the app only: a server without Qt's system libraries can still run these."""
    proc = subprocess.run([sys.executable, "-c", QT_AT_EXIT, str(examples_dir / "02_matmul_vector.json"),
                           str(tmp_path / "ex.py")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[0, 0, 0] []"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from gradcanvas import __version__

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"gradcanvas {__version__}"


IMPORTS_AT_EXIT = """
import atexit, sys
atexit.register(lambda: print(sorted({m.split(".")[0] for m in sys.modules} & {"torch", "PySide6", "pyqtgraph",
    "networkx", "numpy", "gui"}), "torch._dynamo" in sys.modules, "sympy" in sys.modules, file=sys.stderr))
from gradcanvas.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_version_loads_nothing_heavy() -> None:
    """`gradcanvas --version` answers from the package alone: no torch, Qt, networkx or numpy."""
    proc = subprocess.run([sys.executable, "-c", IMPORTS_AT_EXIT, "--version"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("gradcanvas "), proc.stderr
    assert proc.stderr.strip() == "[] False False"


def test_check_and_grad_load_torch_but_not_its_compiler_stack(examples_dir: Path) -> None:
    """check finds shapes with torch on the CPU when the work is small, so torch's Python meta
    kernels (whose first use imports torch._dynamo and sympy) stay unloaded; grad needs only torch."""
    for command in ("check", "grad"):
        proc = subprocess.run([sys.executable, "-c", IMPORTS_AT_EXIT, command,
                               str(examples_dir / "04_small_mlp.json")], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert proc.stderr.strip() == "['numpy', 'torch'] False False", (command, proc.stderr)


def test_the_installed_command_is_gradcanvas_cli() -> None:
    """The console script the README runs (.venv/bin/gradcanvas) starts gradcanvas.cli."""
    script = Path(sys.executable).with_name("gradcanvas")
    if not script.exists():
        pytest.skip("gradcanvas is not installed beside this interpreter")
    assert "from gradcanvas.cli import main" in script.read_text(encoding="utf-8", errors="replace")
    proc = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("gradcanvas ")


# ---- no command: the app, or with no screen a PNG ----

def no_screen_env(tmp_path: Path) -> dict[str, str]:
    """No display of any kind and no Qt platform chosen, as on a server; temporary files go to tmp_path."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    return {**env, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


needs_linux = pytest.mark.skipif(sys.platform != "linux", reason="other systems always have a screen")


@needs_linux
def test_no_command_and_no_screen_says_so(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "gradcanvas"], cwd=ROOT, env=no_screen_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [
        "gradcanvas: no display to open a window on (DISPLAY is not set).",
        "Run it in a desktop session, or draw a graph with `gradcanvas render FILE -o out.png`."]
    assert list(tmp_path.iterdir()) == []


@needs_linux
def test_a_file_and_no_screen_draws_a_png_in_the_temp_folder(examples_dir: Path, tmp_path: Path) -> None:
    """The README's first command on a machine with no screen."""
    example = examples_dir / "02_matmul_vector.json"
    proc = subprocess.run([sys.executable, "-m", "gradcanvas", str(example)], cwd=ROOT,
                          env=no_screen_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    (png,) = tmp_path.glob("02_matmul_vector-*.png")
    assert f"Drew the window with {example} to {png} instead" in proc.stdout
    assert png_size(png.read_bytes()) == (1400, 900)


@needs_linux
def test_a_bad_file_and_no_screen_is_one_error_and_no_png(bad_files: dict, tmp_path: Path) -> None:
    out = tmp_path / "tmp"
    out.mkdir()
    path, needles = bad_files["bad_json"]  # a file the app cannot open (a cycle it opens, and marks)
    proc = subprocess.run([sys.executable, "-m", "gradcanvas", str(path)], cwd=ROOT, env=no_screen_env(out),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    first, error = proc.stderr.splitlines()
    assert first.startswith("gradcanvas: no display")
    assert error.startswith("error: ") and all(n in error for n in needles), error
    assert list(out.iterdir()) == []


def test_grad_uses_the_files_target_and_grad_output(examples_dir: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    g = load(examples_dir / "03_vector_element.json")
    g.target, g.grad_output = "y", [1, 0.5]
    path = tmp_path / "saved.json"
    save(g, path)
    code, out, err = run_main(capsys, "grad", str(path), "--json")
    assert code == 0, err
    explicit = run_main(capsys, "grad", str(examples_dir / "03_vector_element.json"), "--target", "y",
                        "--grad-output", "[1, 0.5]", "--json")
    assert explicit[0] == 0 and json.loads(out) == json.loads(explicit[1])
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x**2).backward(torch.tensor([1.0, 0.5]))  # example 03: y = x**2
    assert json.loads(out)["grads"]["x"] == x.grad.tolist()
    # --target elsewhere ignores the file's grad-output, which belongs to its target
    code, out, err = run_main(capsys, "grad", str(path), "--target", "y1", "--json")
    assert code == 0 and json.loads(out)["target"] == "y1"


@pytest.mark.parametrize(("argv", "example"), [
    (["export", str(ROOT / "resources" / "examples" / "01_scalar_partial.json")], "grads.py"),
    (["import", str(ROOT / "README.md"), "--function", "f"], "model.json"),
])
def test_an_output_that_is_no_file_is_refused_before_any_work(argv: list[str], example: str, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, *argv, "-o", "")
    assert code == 1 and out == "" and err.strip() == f"error: {argv[0]} needs a file name after -o, e.g. -o {example}"
    code, out, err = run_main(capsys, *argv, "-o", str(tmp_path))
    assert code == 1 and "it is a folder; give a file name such as" in err and example in err
    assert err.count("\n") == 1 and list(tmp_path.iterdir()) == []


def test_an_output_that_is_the_file_read_is_refused_and_left_alone(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    graph = tmp_path / "mlp.json"
    graph.write_bytes((ROOT / "resources" / "examples" / "01_scalar_partial.json").read_bytes())
    script = tmp_path / "model.py"
    script.write_text("import torch\n\ndef f(x=torch.ones(2)):\n    return x.sum()\n", encoding="utf-8")
    (tmp_path / "link.py").symlink_to(graph)
    os.link(script, tmp_path / "hard.json")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    cases = [["export", str(graph), "-o", str(graph)],
             ["export", str(graph), "-o", str(tmp_path / "link.py")],  # a symlink to the graph
             ["import", str(script), "--function", "f", "-o", str(script)],
             ["import", str(script), "--function", "f", "-o", str(tmp_path / "hard.json")]]  # a hard link
    for argv in cases:
        code, out, err = run_main(capsys, *argv)
        assert_one_line_error(code, out, err, f"{argv[0]}: -o {argv[-1]} is the file it reads", "overwrite")
        assert out == ""
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before, argv


@pytest.mark.parametrize(("argv", "name", "kinds"), [
    (["export", str(ROOT / "resources" / "examples" / "01_scalar_partial.json")], "grads.txt", ".py or .ipynb"),
    (["export", str(ROOT / "resources" / "examples" / "01_scalar_partial.json")], "grads.json", ".py or .ipynb"),
    (["import", str(ROOT / "README.md"), "--function", "f"], "model.py", ".json"),
])
def test_an_output_of_another_kind_is_refused(argv: list[str], name: str, kinds: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, *argv, "-o", str(tmp_path / name))
    assert_one_line_error(code, out, err, f"{argv[0]} writes a {kinds} file", name)
    assert out == "" and list(tmp_path.iterdir()) == []


def test_an_output_suffix_in_capitals_is_taken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = tmp_path / "GRADS.PY"
    code, _out, err = run_main(capsys, "export", str(ROOT / "resources" / "examples" / "01_scalar_partial.json"),
                               "-o", str(out_file))
    assert code == 0 and err == "" and "backward()" in out_file.read_text(encoding="utf-8")


def test_a_target_given_by_its_title_or_a_group_is_told_the_id(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    """An import labels the call of module fc "fc" (id fc_1: the frame has the id fc), so the
    canvas shows "fc", and `--target fc` said only "no node 'fc' in this graph"."""
    path = tmp_path / "m.py"
    path.write_text("import torch\nfrom torch import nn\n\nclass M(nn.Module):\n    def __init__(self):\n"
                    "        super().__init__()\n        self.fc = nn.Linear(3, 1)\n\n    def forward(self, x):\n"
                    "        return self.fc(x).sum()\n", encoding="utf-8")
    graph_file = tmp_path / "m.json"
    assert main(["import", str(path), "--module", "M", "--input", "x=2,3", "-o", str(graph_file)]) == 0
    capsys.readouterr()
    g = load(graph_file)
    call = next(n for n, node in g.nodes.items() if node.label == "fc" and not node.is_tensor)
    assert call != "fc" and "fc" in g.groups
    code, out, err = run_main(capsys, "grad", str(graph_file), "--target", "fc")
    assert_one_line_error(code, out, err, "no node 'fc' in this graph", f"the node titled fc has the id {call}")
    code, out, err = run_main(capsys, "jacobian", str(graph_file), "--wrt", "fc")
    assert_one_line_error(code, out, err, f"has the id {call}")
    g.replace_node(dataclasses.replace(g.nodes[call], label=None))  # then fc is only the group's id
    save(g, graph_file)
    code, out, err = run_main(capsys, "grad", str(graph_file), "--target", "fc")
    assert_one_line_error(code, out, err, "fc is a group (a frame on the canvas); its last nodes are ", call)
    code, out, err = run_main(capsys, "grad", str(graph_file), "--target", "nothing")
    assert_one_line_error(code, out, err, "no node 'nothing' in this graph")
    assert "titled" not in err and "group" not in err


@needs_linux
def test_a_lesson_and_no_screen_draws_it_in_the_lesson_dock(tmp_path: Path) -> None:
    """`gradcanvas LESSON.json` with no screen: the window as the app opens the lesson, drawn to a
    PNG. It said "… is a lesson, not a graph: open it in the app", to someone who had just done so."""
    lesson = ROOT / "resources" / "lessons" / "06_vector_target.json"
    proc = subprocess.run([sys.executable, "-m", "gradcanvas", str(lesson)], cwd=ROOT,
                          env=no_screen_env(tmp_path), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "not a graph" not in proc.stderr
    (png,) = tmp_path.glob("06_vector_target-*.png")
    assert f"Drew the window with {lesson} to {png} instead" in proc.stdout
    assert png_size(png.read_bytes()) == (1400, 900)


def test_the_headless_lesson_window_is_at_the_lessons_first_step(qtbot, monkeypatch, tmp_path: Path) -> None:  # noqa: ANN001
    import gui.qtapp
    import gui.render
    from graph import lessons

    path = ROOT / "resources" / "lessons" / "05_grads_accumulate.json"
    lesson = lessons.load(path)
    drawn = []
    monkeypatch.setattr(gui.qtapp, "delete_closed_window", drawn.append)  # the window, kept to look at
    gui.render.render_window(str(path), str(tmp_path / "out.png"), None, (1400, 900), as_lesson=True)
    (window,) = drawn
    dock = window.lesson_dock
    assert dock.lesson.title == lesson.title and dock.counter.text() == f"step 1 of {len(lesson.steps)}"
    assert sorted(window.doc.graph.nodes) == sorted(lesson.graph.nodes)
    assert window.doc.target == dock.target_at(0) and window.run.current is not None
    assert png_size((tmp_path / "out.png").read_bytes()) == (1400, 900)
    window.deleteLater()
