"""Nothing lost on a crash (gui.recovery): a modified document is autosaved to a recovery file,
a SIGKILLed session's file is offered at the next start and restores the document exactly,
and a cleanly closed or saved document leaves no recovery file behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import new_window
from PySide6.QtWidgets import QMessageBox

from graph.fileformat import dumps, loads, save
from graph.model import Edge, Graph, Node
from gui.recovery import claim_orphan

ROOT = Path(__file__).resolve().parent.parent

# The app as gui.app starts it, with its settings and recovery folder in tmp_path. "edit" opens
# a file, edits it and waits for the autosave, then says so and waits to be killed; "start"
# accepts the offered recovery and prints what the window holds, then closes cleanly.
CHILD = r"""
import sys, time
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox
from gui.app import application, start_window
from graph.fileformat import dumps
from graph.model import Edge, Node
app = application()
mode, tmp = sys.argv[1], sys.argv[2]
w = start_window(None, QSettings(tmp + "/s.ini", QSettings.Format.IniFormat), tmp + "/recovery")
w.ask_unsaved = lambda: QMessageBox.StandardButton.Discard
asked = []
w.ask_recover = lambda found: asked.append(found.path) or QMessageBox.StandardButton.Yes
w.autosave.timer.setInterval(200)
def pump(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)
pump(0.3)
def state():
    g = w.doc.graph.copy()
    g.target = w.doc.target
    g.grad_output = w.grad_output if w.doc.target is not None else None
    return dumps(g)
if mode == "edit":
    assert not asked
    assert w.open_file(tmp + "/mine.json")
    doc = w.doc
    doc.add_node(Node("x", "tensor", value=[1.0, 2.0], requires_grad=True), (0.0, 0.0))
    doc.add_node(Node("y", "neg", label="minus x"), (300.0, 40.0))
    doc.connect(Edge("x", "y", "input"))
    doc.move({"y": (320.5, 60.0)})
    doc.add_node(Node("z", "mul"), (600.0, 0.0))
    doc.remove(["z"])
    doc.set_target("y")
    w.grad_output_edit.setText("[1, 0.5]")
    w.grad_output_edit.editingFinished.emit()
    writes = w.autosave.writes
    deadline = time.monotonic() + 60  # the 200 ms timer fires late on a loaded machine
    while w.autosave.writes <= writes and time.monotonic() < deadline:
        pump(0.1)
        w.autosave.flush()
    assert w.autosave.writes > writes and w.autosave.error is None, w.autosave.error
    open(tmp + "/expected.json", "w", encoding="utf-8").write(state())
    print("autosaved", flush=True)
    pump(600)  # killed here
else:
    print("asked", asked, flush=True)
    print("path", w.doc.path, flush=True)
    print("modified", w.isWindowModified(), not w.doc.undo_stack.isClean(), w.doc.undo_stack.count(), flush=True)
    open(tmp + "/recovered.json", "w", encoding="utf-8").write(state())
    w.close()
    print("closed", flush=True)
"""


def _child(mode: str, tmp: Path) -> subprocess.Popen:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", CHILD, mode, str(tmp)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_sigkilled_session_is_recovered_exactly_at_the_next_start(tmp_path: Path) -> None:
    mine = Graph()
    mine.add_node(Node("a", "tensor", value=3.0), pos=(0.0, 200.0))
    save(mine, tmp_path / "mine.json")
    edit = _child("edit", tmp_path)
    try:
        line = edit.stdout.readline()
        assert line == "autosaved\n", line + edit.stderr.read()
    finally:
        edit.send_signal(signal.SIGKILL)
        edit.wait(30)
    assert edit.returncode == -signal.SIGKILL
    assert loads((tmp_path / "mine.json").read_text()) == mine  # the user's file is never written
    assert len(list((tmp_path / "recovery").glob("*.json"))) == 1

    start = _child("start", tmp_path)
    out, err = start.communicate(timeout=120)
    assert start.returncode == 0, err
    lines = out.splitlines()
    assert lines[0] == f"asked [{str(tmp_path / 'mine.json')!r}]"
    assert lines[1] == f"path {tmp_path / 'mine.json'}"  # the path is kept: Save goes to it
    assert lines[2] == "modified True True 0"  # modified, with an empty history
    expected = loads((tmp_path / "expected.json").read_text(encoding="utf-8"))
    recovered = loads((tmp_path / "recovered.json").read_text(encoding="utf-8"))
    assert recovered == expected  # nodes, edges, positions, target, grad-output
    assert expected.target == "y" and expected.grad_output == [1, 0.5]
    assert expected.layout["y"] == (320.5, 60.0) and "z" not in expected.nodes
    # closed cleanly: nothing is offered again
    assert list((tmp_path / "recovery").glob("*.json")) == []
    assert claim_orphan(tmp_path / "recovery") is None


def _edited_window(qtbot, tmp_path: Path):  # noqa: ANN001, ANN202
    w = new_window(qtbot, tmp_path)
    w.autosave.folder = tmp_path / "recovery"
    w.autosave.file = w.autosave.folder / w.autosave.file.name
    w.doc.add_node(Node("x", "tensor", value=[1.0, 2.0]), (0.0, 0.0))
    w.autosave.save_now()
    w.autosave.flush()
    assert w.autosave.file.exists()
    return w


def test_a_clean_close_and_a_save_remove_the_recovery_file(qtbot, tmp_path: Path) -> None:
    w = _edited_window(qtbot, tmp_path)
    file = w.autosave.file
    assert claim_orphan(file.parent) is None  # its window is open: not an orphan, even in this process
    assert w._save_to(str(tmp_path / "saved.json"))  # noqa: SLF001
    w.autosave.flush()
    assert not file.exists()  # saved: the user's file holds it
    w.doc.add_node(Node("y", "neg"), (300.0, 0.0))
    w.autosave.save_now()
    w.autosave.flush()
    assert file.exists()
    w.close()
    assert not file.exists() and not file.with_suffix(".lock").exists()


def test_an_untouched_window_writes_nothing(qtbot, tmp_path: Path) -> None:
    w = new_window(qtbot, tmp_path)
    w.autosave.folder = tmp_path / "recovery"
    w.autosave.file = w.autosave.folder / w.autosave.file.name
    w.autosave.save_now()
    w.autosave.flush()
    assert not w.autosave.folder.exists()


def test_a_declined_recovery_is_removed_and_a_bad_file_is_skipped(qtbot, tmp_path: Path) -> None:
    folder = tmp_path / "recovery"
    folder.mkdir()
    (folder / "1-bad.json").write_text("{not json")
    g = Graph()
    g.add_node(Node("x", "tensor", value=1.0), pos=(0.0, 0.0))
    (folder / "2-good.json").write_text(
        '{"format": "gradcanvas-recovery", "version": 1, "path": null, "saved_at": 0, "document": '
        + __import__("json").dumps(dumps(g)) + "}")
    w = new_window(qtbot, tmp_path)
    w.autosave.folder = folder
    offered = []
    w.ask_recover = lambda found: offered.append(found.graph) or QMessageBox.StandardButton.Discard
    assert not w.offer_recovery()
    assert offered and offered[0] == g
    assert not w.doc.graph.nodes  # declined: the window keeps its empty document
    assert w.offer_recovery() is False and len(offered) == 1  # the bad file was dropped, not offered
    assert list(folder.glob("*.json")) == []


def test_autosave_copies_a_large_graph_on_the_gui_thread_and_writes_it_off_it(qtbot, tmp_path: Path) -> None:
    """The GUI thread only copies (nodes are frozen); serialising happens on the writer thread."""
    w = new_window(qtbot, tmp_path)
    w.autosave.folder = tmp_path / "recovery"
    w.autosave.file = w.autosave.folder / w.autosave.file.name
    g = Graph()
    g.add_node(Node("n0", "tensor", value=[1.0, 2.0]), pos=(0.0, 0.0))
    for i in range(1, 3000):
        g.add_node(Node(f"n{i}", "neg"), pos=(i * 10.0, 0.0))
        g.add_edge(Edge(f"n{i - 1}", f"n{i}", "input"))
    w.doc.reset(g)
    w.doc.undo_stack.resetClean()
    import gui.recovery as recovery

    threads = []
    real = recovery.dumps
    recovery.dumps = lambda graph: threads.append(__import__("threading").current_thread().name) or real(graph)
    try:
        w.autosave.save_now()
        w.autosave.flush()
    finally:
        recovery.dumps = real
    assert threads and threads[0].startswith("autosave")
    assert claim_orphan(w.autosave.folder) is None
    w.computer.wait(60_000)
    w.close()
    assert not w.autosave.file.exists()


# Closing never waits on a compute (issue 9, "never freeze"): the window closes while a
# seconds-long compute runs, and the app then ends cleanly (gui.app.leave) without waiting for
# it or crashing in it.
SLOW = r"""
import sys
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QMessageBox
from gui.app import application, leave, start_window
app = application()
tmp = sys.argv[1]
w = start_window(tmp + "/slow.json", QSettings(tmp + "/s.ini", QSettings.Format.IniFormat), tmp + "/recovery")
w.ask_unsaved = lambda: QMessageBox.StandardButton.Discard
w.ask_recover = lambda found: QMessageBox.StandardButton.Discard
waited = []
w.computer.wait = lambda *args: waited.append(args) or True  # closing must not call it
# Close once the compute runs (a close before it starts would simply not start it).
w.computer.busyChanged.connect(lambda busy: busy and QTimer.singleShot(300, w.close))
app.exec()  # returns when the window has closed
print("closed", w.computer.running(), waited, flush=True)
leave(w, 0)
print("left", flush=True)  # not while a compute thread runs: leave ends the process at once
"""


@pytest.mark.parametrize("mode", ["process", "thread"])
def test_closing_does_not_wait_for_a_compute_and_the_app_ends_cleanly(tmp_path: Path, mode: str) -> None:
    g = Graph()
    g.add_node(Node("a", "tensor", init={"fn": "randn", "shape": [2500, 2500], "seed": 0},
                    requires_grad=True), pos=(0.0, 0.0))
    prev = "a"
    for i in range(4):  # forward and backward: seconds on two cores
        g.add_node(Node(f"m{i}", "matmul"), pos=(300.0 * (i + 1), 0.0))
        g.add_edge(Edge(prev, f"m{i}", "input"))
        g.add_edge(Edge("a", f"m{i}", "other"))
        prev = f"m{i}"
    g.add_node(Node("y", "sum"), pos=(1600.0, 0.0))
    g.add_edge(Edge(prev, "y", "input"))
    g.target = "y"
    save(g, tmp_path / "slow.json")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT), "GRADCANVAS_COMPUTE": mode}
    proc = subprocess.run([sys.executable, "-c", SLOW, str(tmp_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    # Closed with the compute running: a compute thread is left behind (and leave ends the
    # process at once), a compute process is ended with the window.
    expected = "closed True []\n" if mode == "thread" else "closed False []\nleft\n"
    assert proc.stdout == expected, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "terminate" not in proc.stderr


def test_closing_drops_the_computes_not_yet_started(qtbot, tmp_path: Path) -> None:
    """A compute asked for but not started when the window closes is never run."""
    from helpers import new_window

    from gui.worker import Computer

    w = new_window(qtbot, tmp_path)
    ran: list[tuple] = []
    original = Computer._start

    def spy(self, job: tuple) -> None:  # noqa: ANN001
        ran.append(job)
        original(self, job)

    w.computer._start = spy.__get__(w.computer)  # noqa: SLF001
    w.open_file(str(Path(__file__).resolve().parent.parent / "resources" / "examples" / "04_small_mlp.json"))
    w.recompute()  # starts a compute at once
    assert w.computer.busy
    w.doc.set_target(None)
    w.recompute()  # waits behind the running one
    assert w.computer._pending  # noqa: SLF001
    started = len(ran)
    w.close()
    assert not w.computer._pending  # noqa: SLF001
    w.computer.wait(60_000)
    qtbot.wait(50)  # the running job's finish handler has run: it starts nothing more
    assert len(ran) == started


def test_a_dead_windows_lock_without_a_recovery_file_is_swept_at_the_next_start(tmp_path: Path) -> None:
    """A window whose document was clean again (its recovery file removed) still holds its lock
    until it closes; killed then, it left a lock with nothing to recover, which no start removed."""
    folder = tmp_path / "recovery"
    folder.mkdir()
    dead = folder / "111-dead.json"
    held = subprocess.run(  # a process that takes the lock and ends without releasing it
        [sys.executable, "-c", "import os, sys; from gui.recovery import _lock; from pathlib import Path; "
         "lock = _lock(Path(sys.argv[1])); assert lock.tryLock(0); os._exit(0)", str(dead)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert held.returncode == 0, held.stderr
    assert dead.with_suffix(".lock").exists() and not dead.exists()
    from gui.recovery import _lock

    alive = _lock(folder / "222-alive.json")  # an open window's, its document clean: kept
    assert alive.tryLock(0)
    try:
        assert claim_orphan(folder) is None
        assert not dead.with_suffix(".lock").exists()
        assert (folder / "222-alive.lock").exists()
    finally:
        alive.unlock()
