"""While the wheel turns, a big canvas shows the picture it had when the gesture began, scaled;
the exact picture at the scale reached comes SETTLE_MS after the last notch (as map viewers do).

Why: a notch changes every pixel. Zoomed out, the overview's exact picture of a big graph is
mostly one-pixel wires (the 10,000-node peer graph: 15,000 wires, 2.8 million pixels, ~10 ns
each in Qt's raster: 20-27 ms a notch on a slow machine); at full detail every node in view
draws itself again at the new scale (a Python paint each: ~60 ms for 300 nodes there). Scaling
the picture costs about a millisecond, and the exact one is drawn once per gesture.

Only where an exact notch is slow: with SNAPSHOT_FROM nodes or more in view (0.17-0.4 ms a node
at full detail on a slow machine: 45 nodes, 18 ms a notch there), zoomed out or not, and no value editor
open over the canvas. The keys that zoom (View > Zoom in / out) go the same way. The
picture is taken (QWidget.grab, which draws from the caches still valid at the old scale) at
the gesture's first notch; what changes during the gesture shows when it ends.

The exact picture's background is itself drawn in pieces (ExactPicture): into an image, its
wires STEP_PIXELS at a time, one piece a turn of the event loop while the gesture's picture
stays on screen, then shown by the view's next paint (CanvasView.drawBackground), so that no
turn takes long (the 10,000-node peer graph's 2.8 million wire pixels were one 20-26 ms paint on
a slow machine). Anything that changes the background meanwhile (CanvasScene.background_changes),
a new notch or another size of the viewport drops the pieces, and the view draws exactly at
once. In the overview that image is the whole picture. At full detail, where Qt's items draw
themselves over it, the exact picture then replaces the gesture's a band of the viewport at a
time, top to bottom (Reveal), each band holding the tops of at most NODES_PER_BAND nodes, which
paint themselves anew at the new scale (~0.4 ms each on a slow machine: 276 nodes just above the
overview's scale were one 107 ms paint there, its wires 18-27 ms of it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QTimer
from PySide6.QtGui import QImage, QPainter, QPixmap, QRegion
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from gui.canvas.view import CanvasView

SETTLE_MS = 150  # after the last notch: the exact picture
SNAPSHOT_FROM = 24  # nodes in view: fewer draw an exact notch at full detail in ~10 ms or less
STEP_PIXELS = 400_000  # wire pixels drawn a turn of the event loop: ~5 ms at ~13 ns a pixel
NODES_PER_BAND = 16  # nodes drawn anew a turn of the event loop at full detail: ~7 ms at 0.4 ms each


class ZoomCache:
    """The picture a wheel gesture began with, and the gesture's end."""

    def __init__(self, view: CanvasView) -> None:
        self.view = view
        self.picture: QPixmap | None = None  # while a gesture shows it
        self.shows = QRectF()  # the scene rect the picture shows
        self.timer = QTimer(view, singleShot=True, interval=SETTLE_MS)
        self.timer.timeout.connect(self.gesture_over)
        self.exact: ExactPicture | None = None  # the exact picture being drawn, then drawn
        self.reveal: Reveal | None = None  # at full detail: the exact picture shown a band at a time
        self._step_timer = QTimer(view, singleShot=True, interval=0)
        self._step_timer.timeout.connect(self._step)

    @property
    def zooming(self) -> bool:
        return self.picture is not None

    def zoomed(self) -> None:
        """A notch (or a zoom key), before the view takes its scale: the gesture's first keeps
        the picture."""
        view = self.view
        scene = view.scene()
        self._drop_pieces()  # drawn for the scale this notch leaves
        if self.picture is None:
            shows = view.mapToScene(view.viewport().rect()).boundingRect()
            if len(scene.overview.nodes.within(shows)) < SNAPSHOT_FROM:
                return  # an exact notch is cheap here (an empty canvas's hint stays put)
            editor = view.value_editor
            if editor is not None and editor.isVisible():
                return  # a widget over the canvas: the picture would show it twice
            self.shows, self.picture = shows, view.viewport().grab()
        self.timer.start()

    def gesture_over(self) -> None:
        """SETTLE_MS after the last notch: the exact picture, a piece a turn of the event loop
        (the background's ExactPicture, then at full detail a Reveal), the gesture's picture
        shown until then."""
        self.timer.stop()
        if self.picture is None:
            return
        self._drop_pieces()
        self.exact = ExactPicture(self.view)
        self._step_timer.start()

    def _step(self) -> None:
        exact, reveal = self.exact, self.reveal
        if exact is not None and not exact.done:
            if not exact.current():
                self.settle()  # the scene or the view changed meanwhile: the exact picture at once
            elif not exact.step():
                self._step_timer.start()
            elif self.view.scene().overview.on:  # the last piece: the view's next paint shows it (draw_exact)
                self.picture = None
                self.view.viewport().update()
            else:  # at full detail the nodes come a band at a time, over it (the first band's paint)
                self.reveal = Reveal(self.view)
                self._step_timer.start()
        elif reveal is not None:
            if not reveal.current():
                self.settle()
            elif reveal.step():  # the last band is painted: the whole viewport is exact
                self.reveal = self.picture = None
            else:
                self._step_timer.start()

    def settle(self) -> None:
        """The exact picture now: drawn whole by the view's next paint."""
        self.timer.stop()
        self._drop_pieces()
        if self.picture is not None:
            self.picture = None
            self.view.viewport().update()

    def _drop_pieces(self) -> None:
        self._step_timer.stop()
        self.reveal = None
        if self.exact is not None:
            self.exact.end()
            self.exact = None

    def draw_exact(self, painter: QPainter) -> bool:
        """The view's cached background is being drawn: the exact picture drawn in pieces, when
        it was drawn for this painter's transform and size and nothing changed since (once)."""
        exact = self.exact
        if exact is None or not exact.done:
            return False
        self.exact = None
        if not (exact.current() and painter.worldTransform() == exact.transform
                and painter.device().size() == exact.image.size()):
            return False
        painter.save()
        painter.resetTransform()
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(QPointF(0, 0), exact.image)
        painter.restore()
        return True

    def paint(self, viewport: QWidget, region: QRegion) -> bool:
        """During a gesture: the kept picture where the view puts its scene rect now (the
        background colour around it); False when there is no gesture, or the region to paint is
        where a Reveal shows the exact picture already (the view paints it)."""
        picture = self.picture
        if picture is None:
            return False
        reveal = self.reveal
        if reveal is not None:
            if reveal.covers(region):
                return False
            if not reveal.current() or region.intersects(reveal.shown):
                self.settle()  # a pan, a resize, or a paint across the revealed edge: exact now
                return False
        p = QPainter(viewport)
        p.fillRect(viewport.rect(), self.view.scene().backgroundBrush())
        p.setTransform(self.view.viewportTransform())
        p.drawPixmap(self.shows, picture, QRectF(picture.rect()))  # source in the picture's pixels
        p.end()
        return True


class _Pieces:
    """What a picture drawn over several turns was begun for: the view's transform and size."""

    def __init__(self, view: CanvasView) -> None:
        self.view = view
        self.transform = view.viewportTransform()
        self.size = view.viewport().size()

    def current(self) -> bool:
        """The view shows what it showed when the pieces began (no pan, zoom or resize since)."""
        return self.view.viewportTransform() == self.transform and self.view.viewport().size() == self.size


class Reveal(_Pieces):
    """At full detail: the viewport painted exactly (by the view, through Qt's items) a band at
    a time, top to bottom, the gesture's picture elsewhere until its band comes. The first band
    is one row of pixels (the background's turn: its image, ExactPicture, into the view's
    cache); each after it holds the tops of at most NODES_PER_BAND nodes, or of one row of
    nodes sharing a top."""

    def __init__(self, view: CanvasView) -> None:
        super().__init__(view)
        vp = view.viewport()
        self.shown = QRegion()  # viewport pixels already exact
        overview = view.scene().overview
        rows = overview.nodes.within(view.mapToScene(vp.rect()).boundingRect())
        tops = overview.nodes.data[rows, 1] * self.transform.m22() + self.transform.dy()
        # The first band is the top row of pixels: its turn puts the background, drawn in pieces
        # before (ExactPicture), in the view's cache, and draws the few nodes reaching into it.
        ends = [0, min(1, vp.height())]
        held = 0
        for y, count in zip(*np.unique(np.clip(tops, 1, vp.height()).astype(int), return_counts=True), strict=True):
            if held and held + count > NODES_PER_BAND:  # a row of nodes (one top) is never cut
                ends.append(int(y))
                held = 0
            held += int(count)
        ends.append(vp.height())
        self.bands = [QRect(0, a, vp.width(), b - a) for a, b in zip(ends, ends[1:], strict=False) if b > a]

    def covers(self, region: QRegion) -> bool:
        return region.subtracted(self.shown).isEmpty()

    def step(self) -> bool:
        """Paint the next band; True when it was the last."""
        if not self.bands:  # a viewport of no height
            return True
        band = self.bands.pop(0)
        self.shown = self.shown.united(band)
        self.view.viewport().repaint(band)
        return not self.bands


class ExactPicture(_Pieces):
    """The view's background at its transform now, as the view would cache it, drawn into an
    image one piece at a time (CanvasScene.background_steps). Its painter is active only within
    a step: nothing paints on the image between turns (a window closed meanwhile leaves an
    image and an idle painter)."""

    def __init__(self, view: CanvasView) -> None:
        super().__init__(view)
        scene = view.scene()
        vp = view.viewport()
        self.ratio = vp.devicePixelRatioF()
        self.changes = scene.background_changes
        self.image: QImage | None = None  # the first step makes it: its own turn (4x the pixels at a ratio of 2)
        self.done = False
        self._painter = QPainter()
        shown = view.mapToScene(vp.rect()).boundingRect()  # as Qt maps what it draws
        # STEP_PIXELS device pixels a piece: a line's logical pixel is `ratio` of them
        self._steps = scene.background_steps(self._painter, shown, STEP_PIXELS / self.ratio)

    def current(self) -> bool:
        """Nothing the picture shows has changed since it was begun: the view, nor the background."""
        return super().current() and self.view.scene().background_changes == self.changes

    def step(self) -> bool:
        """Make the image, or draw the next piece; True when the picture is done."""
        if self.image is None:
            vp = self.view.viewport()
            self.image = QImage(self.size * self.ratio, QImage.Format.Format_ARGB32_Premultiplied)
            self.image.setDevicePixelRatio(self.ratio)
            self.image.fill(vp.palette().brush(vp.backgroundRole()).color())  # as Qt fills its cache
            return False
        p = self._painter
        p.begin(self.image)
        # A painter as Qt's for its cache: the viewport's clip (lines are cut to it first, twice as
        # fast) and the view's transform, not its render hints (the antialiased fill of a row the
        # scene's edge half covers leaves that row unfilled). The pieces set what they use.
        p.setClipRect(QRect(QPoint(0, 0), self.size))
        p.setTransform(self.transform)
        try:
            self.done = next(self._steps, StopIteration) is StopIteration
        finally:
            p.end()
        return self.done

    def end(self) -> None:
        """Drop the pieces not drawn."""
        self._steps.close()
