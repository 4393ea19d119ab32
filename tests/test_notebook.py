"""Notebook export (autograd_bridge/notebook.py, `gradcanvas export -o X.ipynb`, the export
dialog): valid nbformat 4, one code cell per stage holding the script export's very lines,
markdown saying what each partial means; run cell by cell in a plain Python subprocess, it
prints the numbers `gradcanvas grad --json` gives."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograd_bridge.engine import Compiled
from autograd_bridge.export import export_script
from autograd_bridge.notebook import export_notebook
from gradcanvas.cli import main
from graph.fileformat import load
from graph.lessons import load as load_lesson

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "resources" / "examples").glob("*.json"))
# Graphs beyond the examples: a grad-output (vector target), a diamond, a deep chain, non-leaves.
LESSON_GRAPHS = [ROOT / "resources" / "lessons" / f"{n}.json" for n in ("06_vector_target", "07_diamond",
                                                                          "08_vanishing_sigmoid")]

# Run a notebook's code cells in order in one namespace, as a kernel would, printing what they print.
RUN_CELLS = """
import json, sys
nb = json.load(open(sys.argv[1], encoding="utf-8"))
namespace = {}
for cell in nb["cells"]:
    if cell["cell_type"] == "code":
        exec(compile("".join(cell["source"]), "<cell>", "exec"), namespace)
"""

_RECORD = re.compile(r"^(\w+)(\.grad)? = ", re.M)
_NUMBER = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|nan|-?inf")


def printed(out: str) -> dict[str, list[float] | None]:
    """{"y": numbers, "x.grad": numbers or None} from what the cells printed."""
    starts = list(_RECORD.finditer(out))
    found = {}
    for m, nxt in zip(starts, [*starts[1:], None], strict=True):
        body = out[m.end():nxt.start() if nxt else len(out)]
        body = re.sub(r"dtype=torch\.\w+|grad_fn=<\w+>|requires_grad=True", "", body)
        key = m.group(1) + (m.group(2) or "")
        found[key] = None if body.strip() == "None" else [float(v) for v in _NUMBER.findall(body)]
    return found


def flat(v: object) -> list[float]:
    if isinstance(v, list):
        return [x for item in v for x in flat(item)]
    return [float(v)]


def grad_json(capsys: pytest.CaptureFixture[str], path: Path, target: str) -> dict:
    capsys.readouterr()
    assert main(["grad", str(path), "--target", target, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def graph_and_target(path: Path):  # noqa: ANN201 - (Graph, target id, the file to pass to grad)
    if path.parent.name == "lessons":
        graph = load_lesson(path).graph
        return graph, graph.target, path
    graph = load(path)
    return graph, graph.target or graph.sinks()[0], path


@pytest.mark.parametrize("path", EXAMPLES + LESSON_GRAPHS, ids=lambda p: p.stem)
def test_notebook_runs_and_prints_the_grad_commands_numbers(path: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    graph, target, _ = graph_and_target(path)
    file = tmp_path / "graph.json"
    from graph.fileformat import save

    save(graph, file)  # a lesson's graph as a plain graph file, for the command line
    out = tmp_path / "partials.ipynb"
    assert main(["export", str(file), "--target", target, "-o", str(out)]) == 0
    assert "open it in Jupyter" in capsys.readouterr().out
    nb = nbformat.read(out, as_version=4)
    nbformat.validate(nb)

    proc = subprocess.run([sys.executable, "-c", RUN_CELLS, str(out)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    got = printed(proc.stdout)
    expected = grad_json(capsys, file, target)
    names = Compiled(graph).source.names
    assert got[names[target]] == pytest.approx(flat(expected["value"]), rel=1e-3, abs=1e-4)
    for node, grad in expected["grads"].items():
        shown = got[f"{names[node]}.grad"]
        if grad is None:
            assert shown is None, node
        else:
            assert shown == pytest.approx(flat(grad), rel=1e-3, abs=1e-4), node


def code_cells(text: str) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(text)["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", EXAMPLES + LESSON_GRAPHS, ids=lambda p: p.stem)
def test_one_code_cell_per_stage_holding_the_scripts_lines(path: Path) -> None:
    graph, target, _ = graph_and_target(path)
    grad_output = graph.grad_output if target == graph.target else None
    text = export_notebook(graph, target, grad_output)
    assert text == export_notebook(graph, target, grad_output)  # the same graph, the same text
    cells = code_cells(text)
    assert len(cells) == 4  # leaves, forward, backward, partials
    assert "requires_grad" in cells[0] or "torch.tensor" in cells[0]
    assert ".backward(" in cells[2] or "would raise" in cells[2]
    assert cells[3].count(".grad)") == len(graph.nodes)
    script = export_script(graph, target, grad_output)
    assert "".join(f"{c}\n" for c in cells).replace("\n", "") == script.replace("\n", "")  # nothing forked


def test_markdown_says_what_each_partial_means() -> None:
    graph = load(EXAMPLES[0])  # y = 2x² + 3z: z, two, three need no grad; three_z has no input that does
    cells = json.loads(export_notebook(graph, "y"))["cells"]
    words = "".join(cells[-1]["source"])
    assert cells[-1]["cell_type"] == "markdown"
    assert "`x.grad` = 8: ∂y/∂x" in words
    assert "`z.grad` is None: z does not require grad." in words
    assert "`three_z.grad` is None: no input of three_z requires grad" in words
    assert "`x_sq.grad` = 2" in words and "retain_grad()" in words
    assert "`y.grad` = 1: ∂y/∂y = 1" in words
    kinds = [c["cell_type"] for c in cells]
    assert kinds.count("markdown") >= 5 and kinds.count("code") == 4


def test_markdown_for_a_node_the_target_does_not_depend_on(tmp_path: Path) -> None:
    graph = load(EXAMPLES[0])
    words = "".join(json.loads(export_notebook(graph, "two_x_sq"))["cells"][-1]["source"])
    assert "`three_z.grad` is None" in words and "`y.grad` is None: two_x_sq does not depend on y." in words


def test_export_dialog_writes_a_notebook_for_an_ipynb_name(qtbot, window, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from PySide6.QtWidgets import QFileDialog

    out = tmp_path / "lesson.ipynb"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "Notebook (*.ipynb)"))
    window.open_file(str(EXAMPLES[1]))
    window.export_dialog()
    qtbot.waitUntil(out.exists, timeout=60_000)  # made by the worker
    nb = nbformat.read(out, as_version=4)
    nbformat.validate(nb)
    assert code_cells(out.read_text(encoding="utf-8"))[2].strip().endswith('print("y =", y.detach())')
