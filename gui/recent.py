"""File > Open Recent: the last files opened or saved, newest first, kept in the settings.

A path is any bytes the file system allows (on Linux, b"\\xffbad.json" opens fine from the
command line; Python holds it as a str with a surrogate escape). A QSettings string cannot hold
such a str (it becomes U+FFFD, naming another file), so each path is stored as base64 of its
bytes (os.fsencode) and comes back exactly. Entries an older version wrote as plain strings are
still read. In the menu a path is text from outside: `&` is doubled (not a mnemonic mark) and
control characters are escaped (graph.safetext.visible), so a tab cannot forge a shortcut column
nor a newline hide in a space.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from graph.safetext import visible
from gui.actions import make_action

if TYPE_CHECKING:
    from gui.window import MainWindow

MAX_RECENT = 8
KEY = "recent_files"  # base64 of each path's bytes
OLD_KEY = "recent"  # plain strings, as versions before this one wrote them


def encode(path: str) -> str:
    return base64.b64encode(os.fsencode(path)).decode("ascii")


def decode(text: str) -> str | None:
    """The path an entry of KEY holds, or None when it is not one (edited by hand)."""
    try:
        return os.fsdecode(base64.b64decode(text, validate=True))
    except (binascii.Error, ValueError):
        return None


def _strings(value: object) -> list[str]:
    """A QSettings list as strings (an ini file gives back a one-entry list as a bare string)."""
    if isinstance(value, str):
        return [value]
    return [v for v in (value or []) if isinstance(v, str)]


def menu_text(number: int, path: str) -> str:
    """'&1 /home/me/a&&b.json': a number as the mnemonic, the path shown as it is."""
    return f"&{number} {visible(path).replace('&', '&&')}"


class RecentFiles(QObject):
    """The list in the settings and the File > Open Recent menu drawn from it."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.settings = window.settings
        self.menu = window.recent_menu
        self.refresh()

    def paths(self) -> list[str]:
        if self.settings.contains(KEY):
            found = (decode(text) for text in _strings(self.settings.value(KEY)))
            return [p for p in found if p]
        return _strings(self.settings.value(OLD_KEY, []))

    def _store(self, paths: list[str]) -> None:
        self.settings.setValue(KEY, [encode(p) for p in paths[:MAX_RECENT]])
        self.settings.remove(OLD_KEY)  # read once more above, now kept under KEY
        self.refresh()

    def add(self, path: str) -> None:
        path = str(Path(path).resolve())
        self._store([path, *(p for p in self.paths() if p != path)])

    def remove(self, path: str) -> None:
        self._store([p for p in self.paths() if p != path])

    def clear(self) -> None:
        self._store([])

    def refresh(self) -> None:
        self.menu.clear()
        paths = self.paths()
        for number, path in enumerate(paths, 1):
            action = make_action(self.w, menu_text(number, path), lambda _=False, p=path: self.open(p))
            action.setToolTip(visible(path))
            self.menu.addAction(action)
        if paths:
            self.menu.addSeparator()
            self.menu.addAction(make_action(self.w, "&Clear list", self.clear))
        self.menu.setEnabled(bool(paths))

    def open(self, path: str) -> bool:
        """Open a listed file. One that is gone (moved, renamed, deleted) is taken off the list,
        and nothing is asked about the open document first: it stays."""
        if not os.path.exists(path):
            self.remove(path)
            self.w.report_error("Cannot open", f"cannot open {path}: it is no longer there (moved, renamed or "
                                               "deleted); removed from Open Recent")
            return False
        return self.w.open_file(path)


def install(window: MainWindow) -> RecentFiles:
    window.recent = RecentFiles(window)
    return window.recent
