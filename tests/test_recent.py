"""File > Open Recent (gui/recent.py): a path is shown as text from outside (& doubled, control
characters escaped), kept byte for byte however it is spelt (a name that is not UTF-8 reopens the
same file), read from the plain strings older versions wrote, and an entry whose file is gone
is dropped when chosen."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from graph.safetext import visible
from gui.actions import mnemonic, plain_text
from gui.recent import KEY, MAX_RECENT, OLD_KEY, decode, encode

EX01 = Path(__file__).resolve().parent.parent / "resources" / "examples" / "01_scalar_partial.json"


def _entries(window) -> list:  # noqa: ANN001 - a MainWindow
    return [a for a in window.recent_menu.actions() if not a.isSeparator()][:-1]  # without Clear list


def test_menu_text_escapes_mnemonic_marks_tabs_and_newlines(window, tmp_path: Path) -> None:  # noqa: ANN001
    names = ["a&b.json", "tab\tCtrl+Q.json", "new\nline.json"]
    for name in reversed(names):
        window.recent.add(str(tmp_path / name))
    texts = [a.text() for a in _entries(window)]
    assert [plain_text(t) for t in texts] == [f"{n} {visible(str(tmp_path / name))}" for n, name in enumerate(names, 1)]
    assert "a&&b.json" in texts[0] and mnemonic(texts[0]) == "1"  # & shown, not a mark
    assert not any(c in "".join(texts) for c in "\t\n")  # no shortcut column, no hidden line break
    assert "tab\\x09Ctrl+Q.json" in texts[1] and "new\\x0aline.json" in texts[2]
    assert [a.shortcut().isEmpty() for a in _entries(window)] == [True] * 3


def test_a_name_that_is_not_utf8_reopens_that_very_file(qtbot, window, tmp_path: Path) -> None:  # noqa: ANN001
    from helpers import new_window

    raw = os.fsencode(tmp_path) + b"/\xffbad.json"
    shutil.copy(EX01, raw)
    assert window.open_file(os.fsdecode(raw))  # as the command line gives it
    stored = window.settings.value(KEY)
    stored = [stored] if isinstance(stored, str) else stored
    assert os.fsencode(decode(stored[0])) == raw  # not "\ufffdbad.json"
    window.close()
    again = new_window(qtbot, tmp_path)  # the same settings file: the next session
    (entry, *_rest) = _entries(again)
    assert "\\udcffbad.json" in entry.text()  # the byte shown as what it is
    entry.trigger()
    assert again.doc.path is not None and os.fsencode(again.doc.path) == raw
    assert "x" in again.doc.graph.nodes
    assert "cannot open" not in again.statusBar().currentMessage()


def test_encoding_round_trips_any_bytes() -> None:
    for raw in (b"/tmp/plain.json", b"/tmp/\xff\xfe.json", "/tmp/ünï\tcode\n.json".encode()):
        assert os.fsencode(decode(encode(os.fsdecode(raw)))) == raw
    assert decode("not base64!") is None


def test_entries_written_as_plain_strings_are_still_read(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    from helpers import new_window

    old = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    old.setValue(OLD_KEY, [str(tmp_path / "old1.json"), str(tmp_path / "old2.json")])
    old.sync()
    w = new_window(qtbot, tmp_path)
    assert w.recent.paths() == [str(tmp_path / "old1.json"), str(tmp_path / "old2.json")]
    w.recent.add(str(tmp_path / "new.json"))  # now kept losslessly, the old ones with it
    assert w.recent.paths() == [str(tmp_path / n) for n in ("new.json", "old1.json", "old2.json")]
    assert not w.settings.contains(OLD_KEY)


def test_the_list_keeps_the_newest_few_once_each(window, tmp_path: Path) -> None:  # noqa: ANN001
    for i in range(MAX_RECENT + 2):
        window.recent.add(str(tmp_path / f"{i}.json"))
    window.recent.add(str(tmp_path / "3.json"))
    paths = window.recent.paths()
    assert len(paths) == MAX_RECENT and paths[0] == str(tmp_path / "3.json") and len(set(paths)) == MAX_RECENT
    window.recent_menu.actions()[-1].trigger()  # Clear list
    assert window.recent.paths() == [] and not window.recent_menu.isEnabled()


def test_a_recent_file_that_is_gone_is_dropped_and_the_document_kept(window, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "moved.json"
    shutil.copy(EX01, path)
    assert window.open_file(str(path))
    window.recent.add(str(tmp_path / "kept.json"))
    window.doc.choose_target(None)  # an unsaved change: nothing is asked for a file that is not there
    asked = []
    window.ask_unsaved = lambda: asked.append(1) or QMessageBox.StandardButton.Cancel
    path.unlink()
    (entry,) = [a for a in _entries(window) if "moved.json" in a.text()]
    entry.trigger()
    assert asked == [] and window.doc.path == str(path)  # still the open document
    assert window.recent.paths() == [str(tmp_path / "kept.json")]
    message = window.statusBar().currentMessage()
    assert f"cannot open {path}" in message and "removed from Open Recent" in message
