"""`gradcanvas render`: a PNG of the asked size with something drawn in it, one-line refusals of
a bad --size, and the file's own target and grad-output kept in the window it draws."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication
from window_driver import EX01, EXAMPLES, ROOT

from gradcanvas.cli import main as cli_main
from graph.fileformat import load
from gui.window import MainWindow


def test_render_command_writes_a_png_of_that_size(qtbot, tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    assert cli_main(["render", str(EXAMPLES[3]), "-o", str(out), "--size", "800x600"]) == 0
    image = QImage(str(out))
    assert not image.isNull()
    assert (image.width(), image.height()) == (800, 600)
    colours = {image.pixel(x, y) for x in range(0, 800, 7) for y in range(0, 600, 7)}
    assert len(colours) > 20


def test_render_deletes_its_window_before_it_returns(tmp_path: Path) -> None:
    """Not left to Python's cyclic GC (gui.qtapp.delete_closed_window says why)."""
    def windows() -> list:
        return [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow)]

    before = len(windows())
    assert cli_main(["render", str(EX01), "-o", str(tmp_path / "out.png"), "--size", "400x300"]) == 0
    assert len(windows()) == before


@pytest.mark.parametrize("size", ["10x10", "800", "axb", "800x600x3", "99999x600"])
def test_render_command_refuses_a_bad_size(tmp_path: Path, capsys: pytest.CaptureFixture[str], size: str) -> None:
    out = tmp_path / "out.png"
    assert cli_main(["render", str(EX01), "-o", str(out), "--size", size]) == 1
    assert not out.exists()
    err = capsys.readouterr().err
    assert err.startswith("error:") and "--size" in err and "Traceback" not in err


def test_render_keeps_the_files_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gui.render
    from graph.fileformat import save

    g = load(ROOT / "resources" / "examples" / "03_vector_element.json")  # its only sink is y1
    g.target, g.grad_output = "y", [1, 0]
    path = tmp_path / "t.json"
    save(g, path)
    seen = {}
    real = gui.render.save_png_atomic

    def spy(image, out):  # noqa: ANN001, ANN202 - what the window held when it was drawn
        window = next(w for w in QApplication.topLevelWidgets()
                      if isinstance(w, MainWindow) and w.doc.path == str(path))
        seen["target"], seen["result"] = window.doc.target, window.run.result
        return real(image, out)

    monkeypatch.setattr(gui.render, "save_png_atomic", spy)
    gui.render.render_window(str(path), str(tmp_path / "t.png"), None, (1000, 700))
    assert seen["target"] == "y" and seen["result"].grad_output == [1, 0] and seen["result"].error is None


def test_render_where_qt_cannot_load_is_one_line(tmp_path: Path) -> None:
    """As a machine without libEGL: PySide6 raises ImportError. render said so in a traceback."""
    import os
    import subprocess
    import sys

    fake = tmp_path / "noqt" / "PySide6"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('raise ImportError("libEGL.so.1: cannot open shared object file")\n')
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "noqt"), str(ROOT)])}
    proc = subprocess.run([sys.executable, "-m", "gradcanvas", "render", str(EX01), "-o", str(tmp_path / "x.png")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "error: render needs Qt, which cannot be loaded here: libEGL.so.1: cannot open shared object file"]
    assert not (tmp_path / "x.png").exists()
