"""Import from a script: the `gradcanvas import` command (a file `gradcanvas check` accepts, one-line
refusals with no traceback), listing a file without running it, and File > Import Python… in the
window (the worker runs it; the nodes arrive as one undo step)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from helpers import RESULT_TIMEOUT_MS

from autograd_bridge.fx_script import MAX_SCRIPT_BYTES, ImportRefused, list_definitions, parse_input
from gradcanvas.cli import main
from graph.fileformat import load

SCRIPT = textwrap.dedent('''
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    def f(x=torch.tensor([1.0, 2.0]), y=torch.tensor(3.0)):
        return (2 * x ** 2 + 3 * y).sum()

    def needs_input(x):
        return torch.tanh(x).mean()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 2, 3)
            self.bn = nn.BatchNorm2d(2)
            self.fc = nn.Linear(2 * 2 * 2, 3)
            self.eval()

        def forward(self, x):
            h = F.relu(self.bn(self.conv1(x)))
            return self.fc(torch.flatten(F.avg_pool2d(h, 2), 1)).sum()

    class Cumulative(nn.Module):
        def forward(self, x):
            return torch.cumprod(x, 0).sum()

    def example_inputs():
        return (torch.randn(1, 1, 6, 6),)
''')


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "model.py"
    path.write_text(SCRIPT)
    return path


def _run(capsys, *argv: str) -> tuple[int, str, str]:  # noqa: ANN001
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_function_writes_a_file_check_accepts(script: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    out_file = tmp_path / "f.json"
    code, out, _err = _run(capsys, "import", str(script), "--function", "f", "-o", str(out_file))
    assert code == 0 and out.startswith(f"wrote {out_file}")
    graph = load(out_file)
    assert graph.nodes["x"].value == [1.0, 2.0] and graph.nodes["x"].requires_grad
    assert graph.target in graph.nodes and all(n in graph.layout for n in graph.nodes)
    assert _run(capsys, "check", str(out_file))[0] == 0
    code, out, _err = _run(capsys, "grad", str(out_file))
    assert code == 0 and out.startswith("target sum_1 = 28 ")  # (2·1 + 9) + (2·4 + 9)


def test_import_module_with_example_inputs_and_with_input(script: Path, tmp_path: Path, capsys) -> None:  # noqa: ANN001
    out_file = tmp_path / "net.json"
    assert _run(capsys, "import", str(script), "--module", "Net", "-o", str(out_file))[0] == 0
    graph = load(out_file)
    assert {"conv1.weight", "bn.running_var", "fc.bias"} <= set(graph.nodes)
    assert "bn.num_batches_tracked" not in graph.nodes
    assert _run(capsys, "check", str(out_file))[0] == 0
    code, _out, _err = _run(capsys, "import", str(script), "--function", "needs_input", "--input", "x=2,3",
                            "-o", str(tmp_path / "n.json"))
    assert code == 0 and load(tmp_path / "n.json").nodes["x"].leaf_shape() == (2, 3)


@pytest.mark.parametrize(("args", "message"), [
    (["--module", "Cumulative"], r"^error: model.py line \d+ \(return torch.cumprod\(x, 0\).sum\(\)\): "
                                 r"torch.cumprod is not in the catalogue$"),
    (["--function", "nope"], r"^error: model.py defines no function 'nope'; its functions: f, needs_input$"),
    (["--module", "nope"], r"^error: model.py defines no nn.Module class 'nope'; its modules: Net, Cumulative$"),
    (["--module", "f"], r"^error: f in model.py is a function: import it with --function f$"),
    (["--function", "Net"], r"^error: Net in model.py is an nn.Module class: import it with --module Net$"),
    (["--function", "needs_input"],
     r"^error: needs_input: the argument x has no default: give it with --input x=SHAPE$"),
    (["--function", "f", "--input", "x=two"], r"^error: --input 'x=two': expected NAME=SHAPE, e.g. x=2,3$"),
    (["--function", "f", "--input", "x=2", "--input", "y=1", "--input", "x=3"],
     r"^error: --input x is given twice: give each argument once$"),
])
def test_refusals_are_one_line_without_traceback(script: Path, tmp_path: Path, capsys, args, message) -> None:  # noqa: ANN001
    code, out, err = _run(capsys, "import", str(script), *args, "-o", str(tmp_path / "x.json"))
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert __import__("re").match(message, err.strip()), err
    assert not (tmp_path / "x.json").exists()


def test_syntax_error_and_failing_script_are_one_line(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    bad = tmp_path / "bad.py"
    bad.write_text("import torch\ndef f(x=torch.ones(2)):\n    return x +\n")
    code, _out, err = _run(capsys, "import", str(bad), "--function", "f", "-o", str(tmp_path / "x.json"))
    assert code == 1 and err.startswith("error: bad.py line 3: syntax error: ") and len(err.splitlines()) == 1
    raising = tmp_path / "raising.py"
    raising.write_text("import torch\nx = 1 / 0\ndef f(x=torch.ones(2)):\n    return x.sum()\n")
    code, _out, err = _run(capsys, "import", str(raising), "--function", "f", "-o", str(tmp_path / "x.json"))
    assert code == 1 and err.strip() == ("error: raising.py line 2 (x = 1 / 0): running the script raised "
                                         "ZeroDivisionError: division by zero")


def test_a_pipe_a_device_or_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """File > Import Python lists a file's definitions on the GUI thread: a FIFO waited for a
    writer for ever, /dev/zero filled the memory. Each is refused in a subprocess that must end."""
    import os
    import subprocess
    import sys

    fifo, zero, huge = tmp_path / "fifo.py", tmp_path / "zero.py", tmp_path / "huge.py"
    os.mkfifo(fifo)
    zero.symlink_to("/dev/zero")
    huge.write_bytes(b"#" * (MAX_SCRIPT_BYTES + 1))
    code = ("import sys\nfrom autograd_bridge.fx_script import ImportRefused, list_definitions\n"
            "try:\n    list_definitions(sys.argv[1])\nexcept ImportRefused as e:\n    print(e.message)\n")
    root = Path(__file__).resolve().parent.parent
    for path, said in ((fifo, "it is a device, pipe or socket, not a regular file"),
                       (zero, "it is a device, pipe or socket, not a regular file"),
                       (tmp_path, "it is a folder, not a regular file"),
                       (huge, "larger than 8 MiB, too large a script to import")):
        done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                              timeout=60, cwd=root)
        assert done.returncode == 0 and said in done.stdout, (path, done.stdout, done.stderr[-500:])


def test_a_crlf_script_with_a_bom_reads_as_python_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "windows.py"
    path.write_bytes(b"\xef\xbb\xbfimport torch\r\ndef f(x=torch.ones(2)):\r\n    return x.sum()\r\n")
    assert list_definitions(str(path))[0] == ["f"]


@pytest.mark.parametrize(("text", "said"), [
    ("x=99999999999999999999999", "--input x: shape holds 99999999999999999999999, beyond the limit of ±2,147,483,648"),
    ("x=100000,100000,100000", "--input x: shape [100000, 100000, 100000] has about 1e+15 elements, "
                               "more than the limit of 67,108,864"),
])
def test_an_input_shape_beyond_the_file_formats_limits_is_refused_in_one_line(text: str, said: str) -> None:
    with pytest.raises(ImportRefused) as refused:
        parse_input(text)
    assert refused.value.message == said


def test_a_module_failing_on_the_files_example_inputs_is_told_where_they_came_from(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    """One example_inputs() serves every class of a file: an embedding given another class's
    float batch failed with torch's words alone."""
    path = tmp_path / "two.py"
    path.write_text(textwrap.dedent('''
        import torch
        import torch.nn as nn

        def example_inputs():
            return (torch.randn(2, 4),)

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 1)
            def forward(self, x):
                return self.fc(x).sum()

        class Emb(nn.Module):
            def __init__(self):
                super().__init__()
                self.e = nn.Embedding(10, 4)
            def forward(self, ids):
                return self.e(ids).sum()
    '''))
    code, _out, _err = _run(capsys, "import", str(path), "--module", "Net", "-o", str(tmp_path / "net.json"))
    assert code == 0
    code, out, err = _run(capsys, "import", str(path), "--module", "Emb", "-o", str(tmp_path / "emb.json"))
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert "raised RuntimeError" in err and "embedding" in err
    assert err.strip().endswith("(on what example_inputs() of two.py returns, which every module class there is "
                                "called on: --input NAME=SHAPE gives others)")


def test_listing_a_file_never_runs_it(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "side_effect.py"
    path.write_text(f"open({str(marker)!r}, 'w').close()\n" + SCRIPT + "class Sub(Net):\n    pass\n")
    assert list_definitions(str(path))[:3] == (["f", "needs_input"], ["Net", "Cumulative", "Sub"], [])
    assert not marker.exists()
    path.write_text("def broken(:\n")
    with pytest.raises(ImportRefused, match=r"side_effect.py line 1: syntax error"):
        list_definitions(str(path))


def test_file_import_python_adds_the_model_as_one_undo_step(window, script: Path, qtbot) -> None:  # noqa: ANN001
    from gui.import_dialog import TASK, importer

    doc = window.doc
    with qtbot.waitSignal(window.computer.taskReady, timeout=RESULT_TIMEOUT_MS,
                          check_params_cb=lambda name, _result: name == TASK):
        importer(window).start(str(script), module="Net")
    assert "conv1.weight" in doc.graph.nodes and doc.target in doc.graph.nodes
    assert doc.undo_stack.count() == 1 and doc.undo_stack.text(0) == "Import Net"
    assert "imported Net" in window.statusBar().currentMessage()
    target = doc.target
    doc.undo_stack.undo()
    assert not doc.graph.nodes and doc.target is None
    doc.undo_stack.redo()
    assert doc.target == target  # the target is part of the import's step
    count = len(doc.graph.nodes)
    with qtbot.waitSignal(window.computer.taskReady, timeout=RESULT_TIMEOUT_MS,
                          check_params_cb=lambda name, _result: name == TASK):
        importer(window).start(str(script), module="Cumulative")
    assert len(doc.graph.nodes) == count  # refused: nothing added
    assert "torch.cumprod is not in the catalogue" in window.statusBar().currentMessage()
    window.grab().save(str(Path(script).with_suffix(".png")))


def test_what_does_not_reach_the_result_is_named_in_a_note(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    """A layer forward never calls, a detached branch, an argument the function ignores: torch
    leaves their .grad None, and the import dropped them without a word, though finding them is
    what a practitioner imports for. A note names them; what reaches the result is not named."""
    path = tmp_path / "unused.py"
    path.write_text(textwrap.dedent("""
        import torch
        from torch import nn

        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(3, 4)
                self.extra = nn.Linear(4, 4)
                self.never = nn.Linear(4, 4)
                self.out = nn.Linear(4, 1)

            def forward(self, x):
                h = self.fc(x)
                return (self.out(h) + 0 * self.extra(h).detach().sum()).sum()

        def example_inputs():
            return (torch.randn(2, 3),)

        def f(x=torch.ones(2), w=torch.ones(2)):
            return (x * 2).sum()
    """), encoding="utf-8")
    assert main(["import", str(path), "--module", "M", "-o", str(tmp_path / "m.json")]) == 0
    out = capsys.readouterr().out
    note = next(line for line in out.splitlines() if "do not reach the result" in line)
    named = note.split(": ")[-1].split(", ")
    assert sorted(named) == ["extra.bias", "extra.weight", "never.bias", "never.weight"]
    assert {"fc.weight", "out.weight", "x"} <= {n.label for n in load(tmp_path / "m.json").nodes.values()}
    assert main(["import", str(path), "--function", "f", "-o", str(tmp_path / "f.json")]) == 0
    out = capsys.readouterr().out
    assert "note: left out, as they do not reach the result (in torch their .grad stays None): w\n" in out
    assert "wrote " in out and ": 4 nodes (2 tensors, 2 ops), 3 edges; target " in out
