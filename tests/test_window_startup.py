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
