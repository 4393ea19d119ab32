"""Where a save, an export or a render writes: a symlink is followed and stays a link, a FIFO,
device or folder is refused (never replaced), so is a read-only file, a hard link keeps the old
content, and temporary files an interrupted write left behind are cleaned up on the next write."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from gradcanvas.cli import main as cli_main
from graph.fileformat import STALE_TEMP_S, load, save, write_text_atomic
from graph.model import Graph, Node

EX01 = Path(__file__).resolve().parent.parent / "resources" / "examples" / "01_scalar_partial.json"


def _graph(value: float) -> Graph:
    g = Graph()
    g.add_node(Node("x", "tensor", value=value, requires_grad=True))
    return g


def test_a_symlink_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real" / "g.json"
    real.parent.mkdir()
    save(_graph(1.0), real)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    save(_graph(2.0), link)
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert load(real).nodes["x"].value == 2.0
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # the temporary went beside the target
    assert not [p for p in real.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "new.json")
    save(_graph(3.0), link)
    assert link.is_symlink() and load(tmp_path / "new.json").nodes["x"].value == 3.0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="not a regular file"):
        save(_graph(1.0), fifo)  # (opening it to write would block: it is never opened)
    assert fifo.is_fifo()
    assert [p.name for p in tmp_path.iterdir()] == ["pipe.json"]


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="folder"):
        write_text_atomic(tmp_path, "x")
    assert tmp_path.is_dir()


def test_a_read_only_file_is_refused_not_replaced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The rename over it needs only the folder's permission, so it replaced a file the user may
    not write (mode 444) without a word. Refused now, by save and the CLI's export alike."""
    path = tmp_path / "g.json"
    save(_graph(1.0), path)
    before = path.read_bytes()
    path.chmod(0o444)
    with pytest.raises(PermissionError, match="read-only"):
        save(_graph(2.0), path)
    assert path.read_bytes() == before and oct(path.stat().st_mode & 0o777) == "0o444"
    assert [p.name for p in tmp_path.iterdir()] == ["g.json"]  # no temporary left
    script = tmp_path / "grads.py"
    script.write_text("# mine\n")
    script.chmod(0o400)
    capsys.readouterr()
    assert cli_main(["export", str(EX01), "-o", str(script)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write") and "read-only" in err and "Traceback" not in err
    assert script.read_text() == "# mine\n"


def test_a_hard_link_keeps_the_old_content(tmp_path: Path) -> None:
    path, other = tmp_path / "g.json", tmp_path / "other.json"
    save(_graph(1.0), path)
    os.link(path, other)
    save(_graph(2.0), path)  # a new file at path: the other name still holds the old one
    assert load(path).nodes["x"].value == 2.0 and load(other).nodes["x"].value == 1.0


def test_stale_temporaries_of_that_file_are_removed(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    old, fresh = tmp_path / ".g.json.abc123.tmp", tmp_path / ".g.json.def456.tmp"
    unrelated = tmp_path / ".other.json.abc123.tmp"
    for p in (old, fresh, unrelated):
        p.write_text("half a file")
    past = time.time() - STALE_TEMP_S - 60
    os.utime(old, (past, past))
    os.utime(unrelated, (past, past))
    save(_graph(1.0), path)
    assert not old.exists()  # left by a write that was killed
    assert fresh.exists()  # may be another write in progress
    assert unrelated.exists()  # another file's


def test_cli_export_through_a_symlink_and_onto_a_fifo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = tmp_path / "grads.py"
    link = tmp_path / "link.py"
    link.symlink_to(real)
    assert cli_main(["export", str(EX01), "-o", str(link)]) == 0
    assert link.is_symlink() and "import torch" in real.read_text()
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.py"
        os.mkfifo(fifo)
        capsys.readouterr()
        assert cli_main(["export", str(EX01), "-o", str(fifo)]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: cannot write") and "not a regular file" in err and "Traceback" not in err
        assert fifo.is_fifo()


def test_export_to_standard_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["export", str(EX01), "-o", "-"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# GradCanvas export") and "wrote" not in out
    compile(out, "export", "exec")  # the script alone: valid Python
    assert not Path("-").exists()


def test_render_to_standard_output(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(root)}
    proc = subprocess.run([sys.executable, "-m", "gradcanvas", "render", str(EX01), "-o", "-", "--size", "640x480"],
                          cwd=tmp_path, env=env, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"\x89PNG\r\n\x1a\n")  # the PNG alone, no "wrote" line
    from PySide6.QtGui import QImage

    image = QImage.fromData(proc.stdout, "PNG")
    assert (image.width(), image.height()) == (640, 480)
    assert list(tmp_path.iterdir()) == []
