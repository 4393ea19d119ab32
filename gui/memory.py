"""The memory limit of a run in the app (issue 9): the setting, and the question when a run is
estimated over it.

A graph compiled anew is first checked against the limit (autograd_bridge.budget, through
ComputeSession.compute); over it, nothing is allocated and the window asks whether to run
anyway. The setting is text as the command line's --memory-limit takes it: "default" (a share
of the memory free here), a size such as 4G or 512M, or "none".
"""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMessageBox, QWidget

from autograd_bridge.budget import DEFAULT_WHY, parse_size, size_text
from autograd_bridge.compute import ComputeResult
from graph.safetext import visible

SETTING = "memory_limit"
DEFAULT = "default"


class MemoryLimit:
    """The limit runs are held to, and the one revision the user let run over it."""

    def __init__(self, parent: QWidget, settings: QSettings) -> None:
        self.parent, self.settings = parent, settings
        self.run_anyway: int | None = None  # the document revision allowed over the limit
        # Replaced by tests with stubs that answer.
        self.ask_run_anyway = self._ask_run_anyway
        self.ask_text = self._ask_text

    def never_ask(self) -> None:
        """Keep every run over the limit uncomputed without asking: for a window drawn offscreen
        (gui.render), where the question would wait forever for an answer nobody can give."""
        self.ask_run_anyway = lambda needed, limit, message: False

    @property
    def text(self) -> str:
        text = str(self.settings.value(SETTING, DEFAULT) or DEFAULT)
        try:
            if text != DEFAULT:
                parse_size(text)
        except ValueError:  # a settings file edited by hand: the default, not an error at each run
            return DEFAULT
        return text

    def for_run(self, revision: int) -> int | str | None:
        """What ComputeSession.compute takes as memory_limit for this revision."""
        if revision == self.run_anyway:
            return None
        return DEFAULT if self.text == DEFAULT else parse_size(self.text)

    def over_budget(self, result: ComputeResult) -> bool:
        """Ask whether to run a result's graph over the limit; True (and remembered for that
        revision) if so."""
        needed, limit = result.over_budget
        if not self.ask_run_anyway(needed, limit, result.error or ""):
            return False
        self.run_anyway = result.revision
        return True

    def _ask_run_anyway(self, needed: int, limit: int, message: str) -> bool:
        answer = QMessageBox.warning(
            self.parent, "Over the memory limit",
            (f"{visible(message[:1].upper() + message[1:])}." if message else
             f"This run would need about {size_text(needed)}, over the memory limit of {size_text(limit)}.")
            + "\n\nIf memory runs out, the computer may slow down or the app may be stopped. "
            "Run anyway?", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def edit(self) -> bool:
        """Ask for a new limit until one reads as a size (or the dialog is cancelled); True if
        it changed."""
        text, error = self.text, ""
        while True:
            got = self.ask_text(text, error)
            if got is None:
                return False
            got = got.strip() or DEFAULT
            try:
                if got.lower() != DEFAULT:
                    parse_size(got)
            except ValueError as e:
                text, error = got, str(e)
                continue
            got = DEFAULT if got.lower() == DEFAULT else got
            changed = got != self.text
            self.settings.setValue(SETTING, got)
            return changed

    def _ask_text(self, current: str, error: str) -> str | None:
        """The dialog; `error` says why the last answer was refused."""
        text, ok = QInputDialog.getText(
            self.parent, "Memory limit",
            (f"{visible(error)}\n\n" if error else "")
            + f"The most memory one run may use, e.g. 4G or 512M.\n\"{DEFAULT}\" is {DEFAULT_WHY}; "
            "\"none\" is no limit.\nA run over it asks before it starts.", QLineEdit.EchoMode.Normal, current)
        return text if ok else None
