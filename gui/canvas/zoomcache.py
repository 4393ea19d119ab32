"""While the wheel turns in the overview, the view shows its last exact picture scaled; the exact
picture at the scale reached comes SETTLE_MS after the last notch (as map viewers do).

Why: a notch changes every pixel, and the overview's exact picture of a big graph is mostly
one-pixel wires (the 10,000-node peer graph: 15,000 wires, 2.8 million pixels, ~10 ns each in
Qt's raster: 12-19 ms a notch on a slow machine), while scaling a picture of the viewport costs
about a millisecond. The exact picture is drawn once per gesture instead of once per notch.

The picture kept is the last exact drawing of the whole viewport (a drawing of a part, after an
edit or a scroll, drops it: it would no longer show the scene). Only the cached background is
concerned: the selection and a gesture's overlays are drawn over it exactly, every paint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QTimer
from PySide6.QtGui import QImage, QPainter

if TYPE_CHECKING:
    from gui.canvas.view import CanvasView

SETTLE_MS = 150  # after the last notch: the exact picture


class ZoomCache:
    """The last exact picture of the view's background in the overview, and the wheel gesture."""

    def __init__(self, view: CanvasView) -> None:
        self.view = view
        self.image: QImage | None = None
        self.shows = QRectF()  # the scene rect the image shows
        self.zooming = False
        self.timer = QTimer(view, singleShot=True, interval=SETTLE_MS)
        self.timer.timeout.connect(self.settle)

    def zoomed(self) -> None:
        """A notch: scaled pictures until SETTLE_MS pass without another."""
        self.zooming = True
        self.timer.start()

    def settle(self) -> None:
        """The gesture is over: the exact picture at the scale reached."""
        self.timer.stop()
        if self.zooming:
            self.zooming = False
            if self.view.scene().overview.on:  # at full detail every notch was drawn exactly
                self.view.resetCachedContent()
                self.view.viewport().update()

    def draw(self, painter: QPainter, rect: QRectF, exact: Callable[[QPainter, QRectF], None]) -> None:
        """Draw the background of `rect` (scene coordinates) in the overview: the kept picture
        scaled while zooming, else `exact` (kept when it covers the whole viewport)."""
        view = self.view
        if self.zooming and self.image is not None:
            painter.fillRect(rect, view.scene().backgroundBrush())  # what the picture does not cover
            painter.drawImage(self.shows, self.image)
            return
        visible = view.mapToScene(view.viewport().rect()).boundingRect()
        slack = 2.0 / max(painter.worldTransform().m11(), 1e-9)  # two pixels: Qt's rect is rounded out
        if not rect.adjusted(-slack, -slack, slack, slack).contains(visible):
            self.image = None  # a part changed, or scrolled in: the kept picture is not the scene now
            exact(painter, rect)
            return
        dpr = view.viewport().devicePixelRatioF()
        # Opaque, as the view's cached background is: one-pixel lines draw ~1.5x faster into it
        # than into an image with alpha.
        image = QImage(view.viewport().size() * dpr, QImage.Format.Format_RGB32)
        image.setDevicePixelRatio(dpr)
        image.fill(view.scene().backgroundBrush().color())
        p = QPainter(image)
        # A clip as Qt's cache painter has: without one, Qt's raster takes ~2x as long over the
        # one-pixel lines (measured, 10,000 nodes: 40-57 ms against 20).
        p.setClipRect(QRect(QPoint(0, 0), view.viewport().size()))
        p.setRenderHints(painter.renderHints())
        p.setWorldTransform(painter.worldTransform())  # the scene where the cache has it
        exact(p, rect)
        p.end()
        painter.save()
        painter.resetTransform()
        painter.drawImage(QPointF(0, 0), image)
        painter.restore()
        self.image, self.shows = image, visible
