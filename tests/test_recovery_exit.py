"""A window never closed when the interpreter ends (a script, or IPython after a non-blocking
gradcanvas.show()): the exit is silent, and unsaved work is left in a recovery file that the
next start offers (gui.recovery.Autosave.exit)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from graph.fileformat import loads
from gui.recovery import claim_orphan

ROOT = Path(__file__).resolve().parent.parent

# argv: the recovery folder, the settings file, and what to do before the script just ends:
# "pending" edits with the autosave not yet due, "written" edits and waits for the autosave,
# "clean" edits nothing. It prints the document as it stands when it ends.
CHILD = r"""
import sys, time
from PySide6.QtCore import QPointF, QSettings
from PySide6.QtWidgets import QApplication
from graph.fileformat import dumps
app = QApplication([])
from gui.window import MainWindow
folder, settings, mode = sys.argv[1:4]
w = MainWindow(QSettings(settings, QSettings.Format.IniFormat), folder)
w.show()
w.open_file("resources/examples/01_scalar_partial.json")
if mode != "clean":
    w.scene.add_node_at("tensor", QPointF(0, 300))  # an unsaved change
if mode == "written":
    w.autosave.timer.setInterval(50)
    w.autosave.changed()
for _ in range(50):
    app.processEvents()
    time.sleep(0.01)
if mode == "written":
    w.autosave.flush()
    assert w.autosave.writes, "no autosave"
w.computer.wait(60_000)  # a compute thread still importing torch at exit is another matter
g = w.doc.graph.copy()
g.target = w.doc.target
print(dumps(g), end="", flush=True)
# the script ends with the window open
"""


def _run(tmp_path: Path, mode: str) -> tuple[subprocess.CompletedProcess, Path]:
    folder = tmp_path / "recovery"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT), "GRADCANVAS_COMPUTE": "thread"}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(tmp_path / "s.ini"), mode],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "Error" not in proc.stderr, proc.stderr
    return proc, folder


@pytest.mark.parametrize("mode", ["pending", "written"])
def test_unsaved_work_of_a_window_never_closed_is_kept_silently_for_the_next_start(tmp_path: Path, mode: str) -> None:
    proc, folder = _run(tmp_path, mode)
    found = claim_orphan(folder)
    assert found is not None, list(folder.glob("*"))
    try:
        assert found.graph == loads(proc.stdout)  # the edit is in it
    finally:
        found.lock.unlock()


def test_a_clean_window_never_closed_leaves_nothing(tmp_path: Path) -> None:
    _, folder = _run(tmp_path, "clean")
    assert claim_orphan(folder) is None
