"""The toolbar's grad-output for a non-scalar target, offscreen with pytest-qt: bad vectors are
refused, each target keeps its own, it follows its node through a rename and goes when the node
is deleted, is saved and opened with the file, and File > Export writes it into the script.

Expected numbers come from plain torch, computed here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers import RESULT_TIMEOUT_MS, new_window
from window_driver import ROOT, wait_result

from graph.fileformat import load
from graph.model import Edge, Node
from gui.window import MainWindow


def test_grad_output_field_gives_a_non_scalar_target_its_vector(window, qtbot) -> None:  # noqa: ANN001
    graph = load(ROOT / "resources" / "examples" / "03_vector_element.json")
    window.doc.reset(graph)
    window.doc.set_target("y")  # y = x**2 has shape [2]
    window.recompute()
    qtbot.waitUntil(lambda: window.last_result is not None and window.last_result.error is not None, timeout=30_000)
    assert "select an element, reduce it, or give a grad-output" in window.last_result.error
    assert window.scene.nodes["y"].error

    window.grad_output_edit.setText("[1, NaN]")  # refused, nothing recomputed
    window.grad_output_edit.editingFinished.emit()
    assert window.grad_output is None and "NaN" in window.statusBar().currentMessage()

    window.grad_output_edit.setText("[0.5, -3]")
    window.grad_output_edit.editingFinished.emit()
    window.recompute()
    qtbot.waitUntil(lambda: window.last_result is not None and window.last_result.grad_output == [0.5, -3]
                    and not window.last_result.error, timeout=30_000)
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x ** 2).backward(gradient=torch.tensor([0.5, -3.0]))
    assert window.last_result.nodes["x"].grad.tolist() == x.grad.tolist()
    assert window.scene.nodes["y"].error is None

    window.doc.set_target("y1")  # another target (a scalar): its own, empty, grad-output
    assert window.grad_output is None and window.grad_output_edit.text() == ""
    window.doc.set_target("y")  # back: the vector typed for y is still there
    assert window.grad_output == [0.5, -3] and window.grad_output_edit.text() == "[0.5, -3]"
    qtbot.waitUntil(lambda: window.last_result is not None and window.last_result.target == "y"
                    and window.last_result.grad_output == [0.5, -3], timeout=30_000)
    window.doc.set_target("x")  # a vector with no grad-output yet: the status bar says what to type
    assert window.grad_output_edit.text() == "" and window.grad_output is None
    message = window.statusBar().currentMessage()
    assert message.startswith("target x has shape [2]") and "grad-output" in message and "[1, 0]" in message
    window.grad_output_edit.setText("[0, 1]")
    window.grad_output_edit.editingFinished.emit()
    window.doc.set_target("y")
    assert window.grad_output_edit.text() == "[0.5, -3]"
    window.doc.set_target("x")
    assert window.grad_output_edit.text() == "[0, 1]" and window.grad_output == [0, 1]
    window.grad_output_edit.setText("")  # emptied: forgotten for x
    window.grad_output_edit.editingFinished.emit()
    window.doc.set_target("y")
    window.doc.set_target("x")
    assert window.grad_output_edit.text() == "" and window.grad_output is None

    window.new_document()  # a new document starts with no kept grad-outputs
    window.doc.reset(load(ROOT / "resources" / "examples" / "03_vector_element.json"))
    window.doc.set_target("y")
    assert window.grad_output_edit.text() == "" and window.grad_output is None


def test_a_saved_file_reopens_with_its_target_and_grad_output(qtbot, window: MainWindow, tmp_path: Path) -> None:
    window.doc.reset(load(ROOT / "resources" / "examples" / "03_vector_element.json"))
    window.doc.set_target("y")
    window.grad_output_edit.setText("[0.5, -3]")
    window.grad_output_edit.editingFinished.emit()
    path = tmp_path / "vjp.json"
    assert window._save_to(str(path))
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert (saved["target"], saved["grad_output"]) == ("y", [0.5, -3])

    other = new_window(qtbot, tmp_path, "other")
    assert other.open_file(str(path))
    assert other.doc.target == "y"  # not the only sink, y1: the file's own target
    assert other.grad_output_edit.text() == "[0.5, -3]" and other.grad_output == [0.5, -3]
    other.doc.set_target("y1")
    assert other.grad_output_edit.text() == ""
    other.doc.set_target("y")
    assert other.grad_output_edit.text() == "[0.5, -3]"
    result = wait_result(qtbot, other)
    assert result.target == "y" and result.grad_output == [0.5, -3]
    other.computer.wait(RESULT_TIMEOUT_MS)


def test_file_export_uses_the_toolbars_grad_output(window, qtbot, monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
                                                   tmp_path: Path) -> None:
    from PySide6.QtWidgets import QFileDialog

    window.doc.reset(load(ROOT / "resources" / "examples" / "03_vector_element.json"))
    window.doc.set_target("y")  # a vector: the script needs y.backward(gradient=v)
    window.grad_output_edit.setText("[1, 0.5]")
    window.grad_output_edit.editingFinished.emit()
    out = tmp_path / "vjp.py"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "Python (*.py)"))
    window.export_dialog()
    qtbot.waitUntil(out.exists, timeout=RESULT_TIMEOUT_MS)  # made by the worker
    printed = subprocess.run([sys.executable, str(out)], capture_output=True, text=True, timeout=120)
    assert printed.returncode == 0, printed.stderr
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x ** 2).backward(gradient=torch.tensor([1.0, 0.5]))
    assert f"x.grad = {x.grad}" in printed.stdout


def test_a_grad_output_follows_its_node_through_a_rename_and_goes_with_it(window, qtbot) -> None:  # noqa: ANN001
    window.doc.reset(load(ROOT / "resources" / "examples" / "03_vector_element.json"))
    window.doc.set_target("y")
    window.grad_output_edit.setText("[1, 0]")
    window.grad_output_edit.editingFinished.emit()
    window.doc.rename("y", "sq")
    assert window.doc.target == "sq" and window.grad_output == [1, 0]
    assert window.grad_output_edit.text() == "[1, 0]"
    qtbot.waitUntil(lambda: window.run.current is not None, timeout=RESULT_TIMEOUT_MS)
    assert window.run.current.error is None and window.run.current.grad_output == [1, 0]
    window.doc.remove(["sq"])  # deleted: a new node that reuses the id starts without one
    window.doc.add_node(Node("sq", "neg"), (0.0, 300.0))
    window.doc.connect(Edge("x", "sq", "input"))
    window.doc.set_target("sq")
    assert window.grad_output is None and window.grad_output_edit.text() == ""
