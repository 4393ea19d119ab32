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

The exact picture of the overview is itself drawn in pieces (ExactPicture): into an image, its
wires STEP_PIXELS at a time, one piece a turn of the event loop while the gesture's picture
stays on screen, then shown by the view's next paint (CanvasView.drawBackground), so that no
turn takes long (the 10,000-node peer graph's 2.8 million wire pixels were one 20-26 ms paint on
a slow machine). Anything that changes the background meanwhile (CanvasScene.background_changes),
a new notch or another size of the viewport drops the pieces, and the view draws exactly at
once. At full detail the nodes draw themselves in the view's next paint, as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, QTimer
from PySide6.QtGui import QImage, QPainter, QPixmap
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from gui.canvas.view import CanvasView

SETTLE_MS = 150  # after the last notch: the exact picture
SNAPSHOT_FROM = 64  # nodes in view: fewer draw an exact notch at full detail in ~10 ms or less
STEP_PIXELS = 400_000  # wire pixels drawn a turn of the event loop: ~5 ms at ~13 ns a pixel


class ZoomCache:
    """The picture a wheel gesture began with, and the gesture's end."""

    def __init__(self, view: CanvasView) -> None:
        self.view = view
        self.picture: QPixmap | None = None  # while a gesture shows it
        self.shows = QRectF()  # the scene rect the picture shows
        self.timer = QTimer(view, singleShot=True, interval=SETTLE_MS)
        self.timer.timeout.connect(self.gesture_over)
        self.exact: ExactPicture | None = None  # the exact picture being drawn, then drawn
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
        self._drop_exact()  # drawn for the scale this notch leaves
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
        """SETTLE_MS after the last notch: in the overview, the exact picture is drawn in pieces
        (ExactPicture), the gesture's picture shown until it is done; at full detail, `settle`."""
        self.timer.stop()
        if self.picture is None:
            return
        if not self.view.scene().overview.on:
            self.settle()
            return
        self._drop_exact()
        self.exact = ExactPicture(self.view)
        self._step_timer.start()

    def _step(self) -> None:
        exact = self.exact
        if exact is None or exact.done:
            return
        if not exact.current():
            self.settle()  # the scene or the view changed meanwhile: the exact picture at once
            return
        if exact.step():  # the last piece: the view's next paint shows it (draw_exact)
            self.picture = None
            self.view.viewport().update()
        else:
            self._step_timer.start()

    def settle(self) -> None:
        """The exact picture now: drawn whole by the view's next paint."""
        self.timer.stop()
        self._drop_exact()
        if self.picture is not None:
            self.picture = None
            self.view.viewport().update()

    def _drop_exact(self) -> None:
        self._step_timer.stop()
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


class ExactPicture:
    """The view's background at its transform now, as the view would cache it, drawn into an
    image one piece at a time (CanvasScene.background_steps)."""

    def __init__(self, view: CanvasView) -> None:
        self.view = view
        scene = view.scene()
        vp = view.viewport()
        ratio = vp.devicePixelRatioF()
        self.image = QImage(vp.size() * ratio, QImage.Format.Format_ARGB32_Premultiplied)
        self.image.setDevicePixelRatio(ratio)
        self.image.fill(vp.palette().brush(vp.backgroundRole()).color())  # as Qt fills its cache
        self.transform = view.viewportTransform()
        self.size = vp.size()
        self.changes = scene.background_changes
        self.done = False
        # A painter as Qt's for its cache: the view's transform, not its render hints (the
        # antialiased fill of a row the scene's edge half covers leaves that row unfilled)
        self._painter: QPainter | None = QPainter(self.image)
        self._painter.setTransform(self.transform)
        shown = view.mapToScene(vp.rect()).boundingRect()  # as Qt maps what it draws
        self._steps = scene.background_steps(self._painter, shown, STEP_PIXELS)

    def current(self) -> bool:
        """Nothing the picture shows has changed since it was begun."""
        view = self.view
        return (view.scene().background_changes == self.changes and view.viewportTransform() == self.transform
                and view.viewport().size() == self.size)

    def step(self) -> bool:
        """Draw the next piece; True when the picture is done."""
        if next(self._steps, StopIteration) is StopIteration:
            self.end()
            self.done = True
        return self.done

    def end(self) -> None:
        if self._painter is not None:
            self._steps.close()
            self._painter.end()
            self._painter = None
