"""The status bar's message: one line that fits the room the bar gives it, cut after whole
"; "-separated parts and saying how many it leaves out, fitted again when the bar is resized.
(Qt clips a message at the bar's edge, so "… and N more" at the end of a long one was unseen.)"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QStatusBar, QWidget

from graph.safetext import visible

STATUS_MAX = 300  # characters of a status bar message: one line shows no more, and Qt lays out
# all of it on every change (5,001 nodes' errors, 160,000 characters: ~40 ms an edit)
_SEPARATOR_OR_BRACKET = re.compile(r"; |[][(){}]")
EDGE_PX = 32  # the bar's margins, its size grip and the gap before its permanent widgets
TOOLTIP_PARTS = 30  # parts of a cut message its tooltip lists, one a line


def _always(_line: str) -> bool:
    return True


def _part_ends(text: str) -> list[int]:
    """Where each "; " outside brackets is: "[3 × (zero_grad(); backward())]" is one part."""
    ends, depth = [], 0
    for m in _SEPARATOR_OR_BRACKET.finditer(text):  # a regex: 160,000 characters in ~2 ms
        ch = m.group()
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        elif depth == 0:
            ends.append(m.start())
    return ends


def status_line(text: str, limit: int = STATUS_MAX, fits: Callable[[str], bool] = _always) -> str:
    """The text, or as many of its "; "-separated parts as fit (at most `limit` characters and
    `fits`), then how many parts are left out (the canvas marks every node's own). When not even
    the first part fits, the first part cut short, marked "…"."""
    if len(text) <= limit and fits(text):
        return text
    head = text[:limit]
    ends = _part_ends(text)
    cuts = [i for i in ends if i < limit]
    total = len(ends)  # parts after the first
    for shown, cut in reversed(list(enumerate(cuts))):  # `shown` separators before this cut
        line = f"{text[:cut]}; … and {total - shown:,} more"
        if fits(line):
            return line
    whole = text[: ends[0]] if ends else text  # the first part, whole
    first = text[: cuts[0]] if cuts else head
    rest = f"; … and {total:,} more" if total else ""
    low, high = 0, len(first)  # the longest start of the first part that fits, by bisection
    while low < high:
        mid = (low + high + 1) // 2
        if fits(f"{first[:mid].rstrip()}…{rest}"):
            low = mid
        else:
            high = mid - 1
    # Cut after a whole word, not "… no zero_grad() fi…", unless that loses a third of the line.
    space = whole.rfind(" ", 0, low + 1)
    if low < len(whole) and whole[low] != " " and space >= 2 * low / 3:
        low = space
    return f"{first[:low].rstrip()}…{rest}"


def whole_message(text: str, parts: int = TOOLTIP_PARTS) -> str:
    """A cut message's tooltip: its first `parts` parts, one a line, then how many more; rich
    text only so that Qt wraps a long part, every character of the message escaped."""
    ends = _part_ends(text)
    starts = [0, *(i + 2 for i in ends)]
    lines = [text[a:b] for a, b in zip(starts, [*ends, len(text)], strict=True)][:parts]
    if len(starts) > parts:
        lines.append(f"… and {len(starts) - parts:,} more")
    return "<qt>" + "<br>".join(html.escape(visible(line)) for line in lines) + "</qt>"


class StatusMessage(QObject):
    """Shows messages on `bar`, each fitted to the width left of its permanent widgets, the
    whole of a cut one in the bar's tooltip."""

    def __init__(self, bar: QStatusBar, permanent: list[QWidget]) -> None:
        super().__init__(bar)
        self.bar = bar
        self.permanent = permanent
        self.text = ""  # the whole message last said, to fit again on a resize
        self.shown = ""
        bar.installEventFilter(self)

    def room(self) -> int:
        """Pixels for the message, or 0 when the bar is not on screen (nothing to fit to)."""
        if not self.bar.isVisible():
            return 0
        taken = sum(w.sizeHint().width() for w in self.permanent if not w.isHidden())
        return self.bar.width() - taken - EDGE_PX

    def say(self, text: str) -> None:
        """A status bar message; ids, labels and paths in it are escaped (graph.safetext)."""
        room, metrics = self.room(), self.bar.fontMetrics()
        fits = (lambda line: metrics.horizontalAdvance(visible(line)) <= room) if room > 0 else _always
        self.text = text
        self.shown = visible(status_line(text, fits=fits))
        self.bar.showMessage(self.shown)
        # What the line leaves out is a hover away (a training run's whole line is also on its panel).
        self.bar.setToolTip(whole_message(text) if self.shown != visible(text) else "")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Resize and self.shown and self.bar.currentMessage() == self.shown:
            self.say(self.text)  # the same message, fitted to the new width
        return False
