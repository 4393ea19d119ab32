"""Start-up: the window shows before torch, pyqtgraph and networkx are imported, nothing looks
for devices until it is needed, and the device list arrives with torch (a fresh process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from window_driver import EX01, ROOT

STARTUP = """
import sys, time
from PySide6.QtCore import QSettings
from gui.app import application
app = application()
from gui.window import MainWindow
w = MainWindow(QSettings(sys.argv[1], QSettings.Format.IniFormat))
w.show()
def heavy():
    return [m for m in ("torch", "pyqtgraph", "networkx") if m in sys.modules]
print("shown", w.isVisible(), heavy(), flush=True)
probed = []
w.computer.devicesReady.connect(probed.append)
deadline = time.monotonic() + 1.0  # an empty window left alone loads neither
while time.monotonic() < deadline:
    app.processEvents()
    w.computer.wait(20)
print("idle", heavy(), probed, flush=True)
if sys.argv[2] == "popup":
    w.device_box.showPopup()  # opening the device list asks the worker to look
else:
    w.open_file(sys.argv[2])  # the first compute imports torch; the devices come with it
deadline = time.monotonic() + 60
while not probed and time.monotonic() < deadline:
    app.processEvents()
    w.computer.wait(20)
print("later", "torch" in sys.modules, probed, w.device_box.devices(), flush=True)
w.device_box.hidePopup()
w.close()
"""


@pytest.mark.parametrize("how", ["popup", "open"])
def test_window_shows_before_torch_pyqtgraph_and_networkx_are_imported(tmp_path: Path, how: str) -> None:
    # The thread worker loads torch in the window's process (the compute process never does:
    # tests/test_compute_process.py).
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT), "GRADCANVAS_COMPUTE": "thread"}
    arg = "popup" if how == "popup" else str(EX01)
    proc = subprocess.run([sys.executable, "-c", STARTUP, str(tmp_path / "s.ini"), arg], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split("\n")
    assert "shown True []" in lines
    assert "idle [] []" in lines  # nothing looks for devices until it is needed
    later = next(line for line in lines if line.startswith("later "))
    assert later.startswith("later True [['cpu'"), proc.stdout  # torch does arrive, with the devices
    assert later.endswith("['cpu']") or "cuda" in later or "mps" in later


LAUNCH_IMPORTS = """
import sys
from gradcanvas import cli  # the command's own path: `gradcanvas` imports this first
from gui import app
app.application()
from gui.window import MainWindow
w = MainWindow()
w.show()
order = list(sys.modules)  # a dict keeps the order modules were first imported in
print(order.index("PySide6"), max(order.index(m) for m in ("numpy", "autograd_bridge.compute", "graph.model")))
print(sorted(m for m in ("gui.export_dialog", "gui.import_dialog", "importlib.metadata") if m in sys.modules))
w.close()
"""


def test_launch_imports_the_non_qt_modules_before_pyside6_and_leaves_the_dialogs_for_later(tmp_path: Path) -> None:
    # PySide6's import hook reads the source of every module imported after it (gui/app.py):
    # numpy, graph and the compute model come first. The export and import dialogs and the
    # About box's importlib.metadata load when first used, not at every launch.
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT), "GRADCANVAS_COMPUTE": "thread",
           "GRADCANVAS_RECOVERY_DIR": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", LAUNCH_IMPORTS], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    pyside, last_non_qt = (int(x) for x in proc.stdout.split("\n")[0].split())
    assert last_non_qt < pyside
    assert proc.stdout.split("\n")[1] == "[]"


def test_the_deferred_dialogs_and_about_box_still_work(qtbot) -> None:  # noqa: ANN001
    from gui import actions, help

    assert actions._export_dialog().__name__ == "gui.export_dialog"
    assert actions._import_dialog().__name__ == "gui.import_dialog"
    about = help.about_text()
    assert "GradCanvas 0.1.0" in about and "torch " in about and "(not installed)" not in about.split("torch ")[1][:20]
