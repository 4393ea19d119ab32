"""The cyclic garbage collector while a document is replaced (File > Open, New, a lesson, a
recovered file).

Opening a 5,000-node file makes ~100,000 objects that all live on (the graph, its items, the
overview's rows). With the collector on, it walked them several times during the open (two or
three young collections and one of every generation: ~120 ms of ~700 ms GUI CPU measured),
finding nothing. So it is off from the start of the replacement until the new document is
painted, when one whole collection runs: it frees what the old document left in cycles and
freezes the new one's objects, so that no collection during a later gesture walks them.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer

if TYPE_CHECKING:
    from gui.canvas import CanvasView

RESUME_MS = 2000  # a window not painted by then (minimized) has its collector back anyway


class ReplacementCollection:
    def __init__(self, view: CanvasView) -> None:
        self.view = view
        self.paused = False  # the collector is off because of us (never one someone else turned off)
        # One timer, restarted by each pause; without a parent, so that it still fires for a window
        # deleted without being closed.
        self._fallback = QTimer(singleShot=True)
        self._fallback.timeout.connect(self.resume)

    def pause(self) -> None:
        """Off until the next collect_after_paint has run, or RESUME_MS. A window not on screen
        (the tests', a script's) is never painted: it keeps the collector on."""
        if self.paused or not gc.isenabled() or not self.view.isVisible():
            return
        gc.disable()
        self.paused = True
        self._fallback.start(RESUME_MS)

    def resume(self) -> None:
        self._fallback.stop()
        if self.paused:
            self.paused = False
            gc.enable()

    def collect_after_paint(self) -> None:
        """The new document is in place: once it is painted, the collector is back and runs once
        (one collection however many replacements came before that paint)."""
        self.view.after_next_paint(self._collect_and_freeze)

    def _collect_and_freeze(self) -> None:
        """Collect what a replaced document left in cycles (its objects were frozen when it came,
        and frozen objects are never collected), then freeze what lives now: the new document's
        objects live until the next replacement, so a full collection during a gesture (~60 ms
        at 10,000 nodes) need not walk them."""
        self.resume()
        gc.unfreeze()
        gc.collect()
        gc.freeze()
