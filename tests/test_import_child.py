"""`gradcanvas import` runs the user's code in a throwaway child, as the window's import does
(autograd_bridge.file_tasks.import_task): code that crashes the process running it (a segfault,
os.abort()) is one line naming the script, exit 1, no file written; it died silently with exit
139 or 134 (review). -o - writes the graph to standard output (it wrote a file named "-"), and
Ctrl+C during an import ends the child and whatever it started."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from autograd_bridge.file_tasks import import_task
from gradcanvas.cli import main
from graph.fileformat import loads

ROOT = Path(__file__).resolve().parent.parent
SIMPLE = textwrap.dedent('''
    import torch

    def f(x=torch.ones(3), w=torch.full((3,), 2.0, requires_grad=True)):
        return (x * w).sum()
''')


@pytest.mark.parametrize(("crash", "signal_name"), [
    ("import signal, os; os.kill(os.getpid(), signal.SIGSEGV)", "SIGSEGV"),
    ("import os; os.abort()", "SIGABRT"),
])
def test_a_script_that_crashes_its_process_is_one_line_and_no_file(tmp_path: Path, crash: str,
                                                                    signal_name: str) -> None:
    script = tmp_path / "crashes.py"
    script.write_text(SIMPLE + crash + "\n", encoding="utf-8")
    out = tmp_path / "out.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "gradcanvas", "import", str(script), "--function", "f",
                           "-o", str(out)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert done.stderr.startswith("error: crashes.py: its code ended the process that imported it")
    assert signal_name in done.stderr and "nothing imported" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_dash_o_writes_the_graph_to_standard_output(tmp_path: Path, capsys, monkeypatch) -> None:  # noqa: ANN001
    script = tmp_path / "simple.py"
    script.write_text(SIMPLE, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["import", str(script), "--function", "f", "-o", "-"]) == 0
    captured = capsys.readouterr()
    graph = loads(captured.out)
    assert {"x", "w"} <= set(graph.nodes) and graph.nodes["w"].requires_grad
    assert captured.err.startswith("wrote the graph to standard output: ")
    assert not (tmp_path / "-").exists()


class _InterruptOnceStarted:
    """A cancel token that is Ctrl+C once the child's script is running (it wrote its pid)."""

    def __init__(self, pid_file: Path) -> None:
        self.pid_file = pid_file

    @property
    def cancelled(self) -> bool:
        if self.pid_file.exists() and self.pid_file.read_text():
            raise KeyboardInterrupt
        return False


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")  # ended, not yet reaped


def _sleeper(tmp_path: Path) -> tuple[Path, Path]:
    """A script that writes the pid of the process running it to a file, then sleeps."""
    pid_file = tmp_path / "pid"
    script = tmp_path / "sleeps.py"
    script.write_text(SIMPLE + textwrap.dedent(f'''
        import os, time
        with open({str(pid_file)!r}, "w") as fh:
            fh.write(str(os.getpid()))
        time.sleep(600)
    '''), encoding="utf-8")
    return script, pid_file


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_ctrl_c_during_an_import_ends_the_child_running_the_script(tmp_path: Path) -> None:
    script, pid_file = _sleeper(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        import_task(None, _InterruptOnceStarted(pid_file), str(script), "f", None, [])
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(pid)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_sigterm_to_the_command_ends_the_child_running_the_script(tmp_path: Path) -> None:
    """A timeout or kill of `gradcanvas import` left the user's script running in its child's
    session of its own (review): SIGTERM ends the command as Ctrl+C does."""
    import signal

    script, pid_file = _sleeper(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = subprocess.Popen([sys.executable, "-m", "gradcanvas", "import", str(script), "--function", "f",
                                "-o", str(tmp_path / "out.json")], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(pid_file.read_text())
    command.send_signal(signal.SIGTERM)
    assert command.wait(timeout=30) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 10
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(child)
    assert b"Traceback" not in command.stderr.read()
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("where", ["top", "function"])
def test_a_keyboardinterrupt_the_script_raises_names_its_line(tmp_path: Path, capsys, where: str) -> None:  # noqa: ANN001
    """Raised by the code (not Ctrl+C, which ends the command), it said only "error: KeyboardInterrupt"."""
    script = tmp_path / "stops.py"
    body = SIMPLE.replace("    return (x * w).sum()", "    raise KeyboardInterrupt  # f stops")
    script.write_text(body if where == "function" else SIMPLE + "raise KeyboardInterrupt  # top stops\n",
                      encoding="utf-8")
    out = tmp_path / "out.json"
    assert main(["import", str(script), "--function", "f", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    said = "raise KeyboardInterrupt  # f stops" if where == "function" else "raise KeyboardInterrupt  # top stops"
    assert err.startswith("error: stops.py line ") and f"({said})" in err, err
    assert "raised KeyboardInterrupt" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
