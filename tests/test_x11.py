"""The app on a real X server, as a user's keyboard drives it.

Offscreen is not X11: the two platforms bind the standard keys differently (Redo is Ctrl+Y
offscreen, Ctrl+Shift+Z under xcb; xcb's Delete also has Ctrl+D), so a shortcut bug can pass
every offscreen test. Here tests/x11_driver.py runs the window with QT_QPA_PLATFORM=xcb on an
Xvfb server of its own and sends real key sequences with xdotool (XTEST, through the X server to
the focused window); these tests read its report.

Needs Xvfb, xdotool and Qt's xcb libraries (.ci/run installs them with apt-get; see
README "Tests"). Where they cannot be had the tests are skipped with a message saying what is
missing, unless GRADCANVAS_REQUIRE_X11=1 (CI sets it when its install worked), which makes that a
failure instead.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DRIVER = Path(__file__).resolve().parent / "x11_driver.py"
EX01 = ROOT / "resources" / "examples" / "01_scalar_partial.json"
PACKAGES = ("xvfb xauth xdotool libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 "
            "libxcb-render-util0 libxcb-xinerama0 libxcb-shape0 libegl1 libgl1 libfontconfig1 libdbus-1-3")
REQUIRED = os.environ.get("GRADCANVAS_REQUIRE_X11") == "1"

# The driver's steps, in order: (name, keys sent).
STEPS = [
    ("copy", "ctrl+c"), ("paste", "ctrl+v"), ("undo", "ctrl+z"), ("redo ctrl+shift+z", "ctrl+shift+z"),
    ("undo again", "ctrl+z"), ("redo ctrl+y", "ctrl+y"), ("duplicate", "ctrl+d"), ("delete", "Delete"),
    ("help", "F1"), ("close help", "Escape"), ("search", "Tab"), ("close search", "Escape"),
    ("search and add", "Tab e x p Return"), ("group", "ctrl+g"), ("ungroup", "ctrl+shift+g"),
    ("undo in a field", "ctrl+z"), ("redo in a field", "ctrl+shift+z"), ("typing taken back", "a b c Escape"),
    ("expression refused", "w space equal space f o o parenleft x parenright Return"),
    ("typing after a refusal", "BackSpace"), ("expression added", "v space equal space 2 asterisk x Return"),
    ("expression undone", "ctrl+z"), ("expression redone", "ctrl+shift+z"), ("view menu mnemonic", "alt+v t"),
    ("arrow selects", "Right"), ("arrows walk", "Right Right"), ("target the walked-to node", "ctrl+t"),
    ("find node", "ctrl+f t h r e e Return"), ("delete the walked-to node", "Left Delete"),
    ("ctrl+f in a field", "ctrl+f q Escape"),
    ("cancel compute", "Escape"), ("compute again", "F5"),
]


def _cannot(reason: str) -> None:
    message = (f"real-X11 test not run: {reason}. Install with: apt-get install -y {PACKAGES} "
               "(.ci/run does this)")
    if REQUIRED:
        pytest.fail(message + " [GRADCANVAS_REQUIRE_X11=1]")
    pytest.skip(message)


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    """A private Xvfb server; its display name (":N")."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        _cannot("Xvfb is not installed (package xvfb)")
    if shutil.which("xdotool") is None:
        _cannot("xdotool is not installed")
    if not sys.platform.startswith("linux"):
        _cannot(f"X11 under Xvfb is tested on Linux only, not {sys.platform}")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([xvfb, "-displayfd", str(write_fd), "-screen", "0", "1920x1200x24", "-nolisten", "tcp"],
                            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write_fd)
    number = b""
    deadline = time.monotonic() + 30
    while not number.endswith(b"\n") and time.monotonic() < deadline:
        ready, _, _ = select.select([read_fd], [], [], 0.5)
        if ready:
            chunk = os.read(read_fd, 16)
            if not chunk:
                break
            number += chunk
    os.close(read_fd)
    if not number.strip().isdigit():
        proc.kill()
        err = proc.communicate(timeout=10)[1].decode("utf-8", "replace").strip().splitlines()[-3:]
        _cannot(f"Xvfb did not start ({' / '.join(err) or 'no display number'})")
    try:
        yield f":{number.strip().decode()}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def report(display: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run the driver once on the xcb platform; its JSON report."""
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    # The app as a user runs it: computing in its compute process (tests/conftest.py picks a thread).
    env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(ROOT), GRADCANVAS_COMPUTE="process")
    settings = tmp_path_factory.mktemp("x11") / "settings.ini"
    proc = subprocess.run([sys.executable, str(DRIVER), str(settings), str(EX01)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    if 'Qt platform plugin "xcb"' in proc.stderr:  # Qt's own message for missing xcb libraries
        missing = [line.strip() for line in proc.stderr.splitlines() if "xcb" in line][:3]
        _cannot(f"Qt cannot load its xcb platform plugin ({' / '.join(missing)})")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("REPORT ")]
    assert proc.returncode == 0 and lines, f"driver failed (rc {proc.returncode}):\n{proc.stderr[-4000:]}"
    return json.loads(lines[-1].removeprefix("REPORT "))


def test_the_window_runs_on_xcb(report: dict) -> None:
    assert report["platform"] == "xcb" and report["exposed"]
    assert [s["name"] for s in report["steps"]] == [name for name, _keys in STEPS]


@pytest.mark.parametrize(("name", "keys"), STEPS, ids=[name for name, _ in STEPS])
def test_real_key_sequences_act(report: dict, name: str, keys: str) -> None:
    (step,) = [s for s in report["steps"] if s["name"] == name]
    assert step["keys"] == keys.split()
    assert step["focused"], f"{name}: could not give the window the keyboard focus"
    assert step["ok"], f"{keys} did nothing: before {step['before']}, after {step['after']}"


def test_keys_change_the_document_as_expected(report: dict) -> None:
    n0 = report["nodes_at_start"]
    after = {s["name"]: s["after"] for s in report["steps"]}
    assert after["paste"]["nodes"] == n0 + 2 and after["undo"]["nodes"] == n0
    assert after["redo ctrl+shift+z"]["index"] == after["redo ctrl+y"]["index"] == 1
    assert after["duplicate"]["nodes"] == n0 + 3 and after["delete"]["nodes"] == n0 + 2
    assert after["search and add"]["index"] == 4 and report["added"]


def test_typing_taken_back_with_esc_never_reaches_the_document(report: dict) -> None:
    assert report["label_after_esc"] is None


def test_the_expression_bar_stays_after_a_refusal_under_xcb(report: dict) -> None:
    """Typed in the bar and refused: the bar, its text and the refusal stay in view, and the next
    key edits the text (the status bar's message once hid the bar and the key went elsewhere)."""
    shown = report["bar_after_refusal"]
    assert shown["visible"] and shown["text"] == "w = foo(x)", shown
    assert "foo" in shown["message"] and "foo" in shown["status"], shown


def test_esc_cancels_a_running_compute_under_xcb(report: dict) -> None:
    assert report["computing_before_esc"]
    assert report["status_after_esc"] == "cancelled: stale"


def test_no_two_actions_share_a_key_sequence_under_xcb(report: dict) -> None:
    assert report["clashes"] == {}
    shortcuts = report["shortcuts"]
    redo = shortcuts["&Redo"]
    assert len(redo) == len(set(redo)) and {"Ctrl+Shift+Z", "Ctrl+Y"} <= set(redo)
    assert redo[0] == "Ctrl+Shift+Z"  # xcb's own Redo comes first; Ctrl+Y is added
    assert shortcuts["Dupl&icate"] == ["Ctrl+D"]
    assert "Ctrl+D" not in shortcuts["&Delete"] and "Del" in shortcuts["&Delete"]  # X11 binds Delete to Ctrl+D too


def test_no_ambiguous_shortcut_warnings(report: dict) -> None:
    assert not [m for m in report["messages"] if "mbiguous" in m], report["messages"]


def test_the_shortcut_sheet_on_x11_lists_what_the_keys_do(report: dict) -> None:
    text = report["sheet_text"]
    for key in ("Ctrl+Z", "Ctrl+Shift+Z", "Ctrl+Y", "Ctrl+C", "Ctrl+V", "Ctrl+D", "Del", "F1"):
        assert key in text, key
    assert "Alt-drag" in text and "Tab" in text


def test_dragging_a_number_scrubs_it_under_xcb(report: dict) -> None:
    """xdotool mousedown / mousemove / mouseup on x's number: 60 pixels at 0.02 per pixel (from
    x = 2) make x = 3.2, live while dragging, then one undo step; a second drag cancelled with
    Esc puts the value back and leaves no undo step."""
    scrub = report["scrub"]
    start, during, after, cancelled = scrub["start"], scrub["during"], scrub["after"], scrub["cancelled"]
    assert during["dragging"] == "ScrubDrag" and during["index"] == start["index"], scrub
    assert during["value"] != start["value"], scrub  # live, before the release
    assert after["value"] == round(start["value"] + 60 * 0.02, 2) and after["index"] == start["index"] + 1, scrub
    assert after["undo_text"] == "Scrub x" and after["grad_x"] == f"{4 * after['value']:g}", scrub
    assert cancelled["moved_to"] != after["value"], scrub
    assert cancelled["value"] == after["value"] and cancelled["index"] == after["index"], scrub


def test_a_rubber_band_selects_the_nodes_it_meets_under_xcb(report: dict) -> None:
    """xdotool drags a band from empty canvas to the middle of the view: it is drawn while the
    button is down, gone after, and selects the nodes whose bodies it meets, and no wire."""
    band = report["band"]
    assert band["expected"] and band["selected"] == band["expected"], band
    assert band["shown"] and not band["left"] and band["edges"] == 0, band


def test_dragging_a_group_by_its_header_moves_its_nodes_under_xcb(report: dict) -> None:
    """xdotool drags x and x_sq's frame by its header 50 x 30 pixels: both move that far (in
    scene units at the view's scale), y stays, and it is one undo step."""
    drag = report["group_drag"]
    assert drag["dragging"] == "GroupDrag", drag
    assert drag["index_after"] == drag["index"] + 1 and drag["undo_text"].startswith("Move group"), drag
    for n in ("x", "x_sq"):
        dx, dy = (a - b for a, b in zip(drag["after"][n], drag["before"][n], strict=True))
        assert abs(dx * drag["scale"] - 50) < 1.5 and abs(dy * drag["scale"] - 30) < 1.5, (n, drag)
    assert drag["after"]["y"] == drag["before"]["y"], drag


def test_a_real_wheel_notch_ends_in_the_exact_picture_under_xcb(report: dict) -> None:
    """One notch of a real wheel over 300 nodes, zoomed out and at 50 %: the gesture's picture
    while it lasts, then what the X server shows is what the view draws afresh (the pieces of
    gui.canvas.zoomcache: the overview's image, the bands at full detail)."""
    wheel = report["wheel"]
    assert wheel["overview"]["overview"] and not wheel["detail"]["overview"], wheel
    assert wheel["overview"]["scale"] < 0.08 < 0.5 < wheel["detail"]["scale"], wheel
    for name in ("overview", "detail"):
        assert wheel[name]["zooming_during"] and wheel[name]["settled"], (name, wheel)
        assert wheel[name]["exact_on_screen"], (name, wheel)


def test_the_next_window_has_the_layout_the_last_one_closed_with_under_xcb(report: dict) -> None:
    """Resized and History closed, then closed: a new window with the same settings has both
    (gui.layout_state; the real window's geometry, not offscreen's screen of 800×600)."""
    layout = report["layout"]
    assert layout["closed"] == {"size": [1100, 750], "history": False}, layout
    assert layout["again"] == layout["closed"], layout


def test_files_dropped_from_another_program_under_xcb(report: dict) -> None:
    """Real XDND drags from another process (as a file manager drags, text/uri-list): one .json
    opens (onto the canvas, and onto a dock), as a copy; a .py goes to the import dialog (which
    runs nothing until a definition is chosen); two files are refused (the drag ends in
    IgnoreAction) and the status line says why."""
    drops = report["drops"]
    files = drops["files"]
    for case, path in (("graph on the canvas", files[0]), ("graph on a dock", files[1])):
        seen = drops[case]
        assert seen["ready"] == "ready" and seen["source"] == ["drop result: CopyAction"], (case, seen)
        assert seen["path"] == path and seen["title"].startswith(path.rsplit("/", 1)[-1]), (case, seen)
    seen = drops["two graphs"]
    assert seen["source"] == ["drop result: IgnoreAction"], seen
    assert seen["path"] == files[1] and "not 2 files" in seen["status"], seen
    seen = drops["python"]
    assert seen["source"] == ["drop result: CopyAction"] and drops["import asked for"] == [drops["script"]], drops
    assert seen["path"] == files[1], seen  # the document stays until an import is chosen


def test_left_clicks_act_after_the_canvas_menu_under_xcb(report: dict) -> None:
    """The empty canvas's right-click menu takes the right button's release on X11; closed with
    Esc, or used to add a tensor, it leaves no gesture behind, and real left clicks on a node
    select it (they were all swallowed, waiting for that release)."""
    menu = report["canvas_menu"]
    for case, added in (("esc", 0), ("add", 1)):
        seen = menu[case]
        assert seen["popup"] == ["QMenu"] and not seen["open"] and seen["added"] == added, (case, seen)
        assert seen["clicks"] == [["z"], ["z"]], (case, seen)
        assert seen["interaction"] == "NoneType" and not seen["band"], (case, seen)


def test_no_drag_makes_qt_warn_under_xcb(report: dict) -> None:
    assert not [m for m in report["messages"] if "drag" in m.lower()], report["messages"]
