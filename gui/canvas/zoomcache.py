"""While the wheel turns, a big canvas shows the picture it had when the gesture began, scaled;
the exact picture at the scale reached comes SETTLE_MS after the last notch (as map viewers do).

Why: a notch changes every pixel. Zoomed out, the overview's exact picture of a big graph is
mostly one-pixel wires (the 10,000-node peer graph: 15,000 wires, 2.8 million pixels, ~10 ns
each in Qt's raster: 20-27 ms a notch on a slow machine); at full detail every node in view
draws itself again at the new scale (a Python paint each: ~60 ms for 300 nodes there). Scaling
the picture costs about a millisecond, and the exact one is drawn once per gesture.

Only where an exact notch is slow: with SNAPSHOT_FROM nodes or more in view (~0.17 ms a node at
full detail on a slow machine: 150 nodes, 26 ms a notch), zoomed out or not, and no value editor
open over the canvas. The keys that zoom (View > Zoom in / out) go the same way. The
picture is taken (QWidget.grab, which draws from the caches still valid at the old scale) at
the gesture's first notch; what changes during the gesture shows when it ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, QTimer
from PySide6.QtGui import QPainter, QPixmap
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from gui.canvas.view import CanvasView

SETTLE_MS = 150  # after the last notch: the exact picture
SNAPSHOT_FROM = 64  # nodes in view: fewer draw an exact notch at full detail in ~10 ms or less


class ZoomCache:
    """The picture a wheel gesture began with, and the gesture's end."""

    def __init__(self, view: CanvasView) -> None:
        self.view = view
        self.picture: QPixmap | None = None  # while a gesture shows it
        self.shows = QRectF()  # the scene rect the picture shows
        self.timer = QTimer(view, singleShot=True, interval=SETTLE_MS)
        self.timer.timeout.connect(self.settle)

    @property
    def zooming(self) -> bool:
        return self.picture is not None

    def zoomed(self) -> None:
        """A notch (or a zoom key), before the view takes its scale: the gesture's first keeps
        the picture."""
        view = self.view
        scene = view.scene()
        if self.picture is None:
            shows = view.mapToScene(view.viewport().rect()).boundingRect()
            if len(scene.overview.nodes.within(shows)) < SNAPSHOT_FROM:
                return  # an exact notch is cheap here (an empty canvas's hint stays put)
            editor = view.value_editor
            if editor is not None and editor.isVisible():
                return  # a widget over the canvas: the picture would show it twice
            self.shows, self.picture = shows, view.viewport().grab()
        self.timer.start()

    def settle(self) -> None:
        """The gesture is over: the exact picture at the scale reached."""
        self.timer.stop()
        if self.picture is not None:
            self.picture = None
            self.view.viewport().update()

    def paint(self, viewport: QWidget) -> bool:
        """During a gesture: the kept picture where the view puts its scene rect now (the
        background colour around it); False when there is no gesture."""
        picture = self.picture
        if picture is None:
            return False
        p = QPainter(viewport)
        p.fillRect(viewport.rect(), self.view.scene().backgroundBrush())
        p.setTransform(self.view.viewportTransform())
        p.drawPixmap(self.shows, picture, QRectF(picture.rect()))  # source in the picture's pixels
        p.end()
        return True
