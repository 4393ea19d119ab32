"""The canvas view: zoom on the wheel, pan with the middle button or space-drag, fit the graph,
drops from the palette, and the canvas keys (Tab search, Delete, Esc; the arrows walk the
selection from node to node, Ctrl/Alt+arrows pan: gui.canvas.keyboard). Over a scalar leaf's
number the cursor is ↔: dragging there scrubs the value (interactions.ScrubDrag; Shift: fine).

Esc cancels the gesture in progress (a wire, a cut, a move, a rubber band) and is accepted;
with no gesture it is ignored, so it goes on to the window. Settings follow ENVIRONMENT.md:
BoundingRectViewportUpdate, DontSavePainterState, DontAdjustForAntialiasing, CacheBackground.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QEvent, QPointF, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QPainter, QTransform
from PySide6.QtWidgets import (
    QGraphicsView,
    QLineEdit,
    QRubberBand,
    QStyle,
    QStyleOptionGraphicsItem,
    QStyleOptionRubberBand,
    QWidget,
)

from gui.canvas import style
from gui.canvas.editor import open_value_editor
from gui.canvas.interactions import RubberBand, ScrubDrag, scrubbable
from gui.canvas.items import COLORS, MAX_ZOOM, MIN_ZOOM
from gui.canvas.keyboard import SelectionWalk
from gui.canvas.scene import CanvasScene
from gui.canvas.zoomcache import ZoomCache
from gui.palette import MIME_OP

FIT_MARGIN = 12  # screen pixels around the graph after Fit
FIT_MAX_SCALE = 1.2  # Fit never zooms a small graph in further than this
HINT = ("Drag an op from the palette, or press Tab / double-click to add a node.\n"
        "Right-click for a menu. Drag from an output dot to an input port to wire.")


class CanvasView(QGraphicsView):
    """Zoom on the wheel, pan with the middle button or space-drag, Ctrl+0 fits the graph."""

    dropOp = Signal(str, QPointF)  # a palette item dropped at a scene position
    searchRequested = Signal(QPointF)  # Tab / double-click on empty canvas

    def __init__(self, scene: CanvasScene, parent: QWidget | None = None) -> None:
        super().__init__(scene, parent)
        self._scene = scene  # keep a Python reference (ENVIRONMENT.md)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.BoundingRectViewportUpdate)
        self.setOptimizationFlags(QGraphicsView.OptimizationFlag.DontSavePainterState
                                  | QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        # No Qt rubber band: it hit-tests every item on each mouse move (interactions.RubberBand).
        self.setDragMode(QGraphicsView.DragMode.NoDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setAcceptDrops(True)
        # No fixed scene rect: the scene's follows its nodes (CanvasScene.include).
        self._pan_from: QPointF | None = None
        self._space = False
        self._scrub_cursor = False  # the ↔ cursor is shown over a scrubbable number
        self.value_editor: QLineEdit | None = None
        self.walk = SelectionWalk(self)  # the arrow keys
        self.zoom_cache = ZoomCache(self)  # a big canvas's picture while the wheel turns
        self._after_paint: list[Callable[[], None]] = []
        scene.editValueRequested.connect(self.edit_value)
        self._was_empty = not scene.nodes
        for signal in (scene.doc.nodeAdded, scene.doc.nodeRemoved, scene.doc.graphReset):
            signal.connect(self._check_empty)

    # ---- the first-run hint, on an empty canvas only ----

    def hint_shown(self) -> bool:
        return not self._scene.nodes

    def _check_empty(self, *_args: object) -> None:
        empty = not self._scene.nodes
        if empty != self._was_empty:  # the hint appears or goes: the whole viewport changes
            self._was_empty = empty
            self.viewport().update()

    def drawBackground(self, painter: QPainter, rect) -> None:  # noqa: N802, ANN001 - Qt API
        if not self.zoom_cache.draw_exact(painter):  # the end of a wheel gesture: drawn in pieces
            super().drawBackground(painter, rect)

    def drawForeground(self, painter: QPainter, rect) -> None:  # noqa: N802, ANN001 - Qt API
        if self._scene.overview.on:
            self._scene.paint_overview_selection(painter)
            self._paint_overlays(painter)
        band = self.rubberBandRect()
        if not band.isNull():
            self._paint_band(painter, band)
        if not self.hint_shown():
            return
        painter.save()
        painter.resetTransform()  # viewport pixels
        painter.setFont(style.small_font(15))
        painter.setPen(COLORS["dim_text"])
        painter.drawText(self.viewport().rect().adjusted(20, 20, -20, -20),
                         Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, HINT)
        painter.restore()

    def rubberBandRect(self) -> QRect:  # noqa: N802 - Qt's name (its band is not used)
        """The rubber band in progress, in viewport pixels; null when there is none."""
        band = self._scene.interaction
        return band.viewport_rect() if isinstance(band, RubberBand) else QRect()

    def _paint_band(self, painter: QPainter, band: QRect) -> None:
        """As QGraphicsView draws its own band: the style's rubber band, in viewport pixels."""
        option = QStyleOptionRubberBand()
        option.initFrom(self.viewport())
        option.rect = band
        option.shape = QRubberBand.Shape.Rectangle
        painter.save()
        painter.resetTransform()
        self.style().drawControl(QStyle.ControlElement.CE_RubberBand, option, painter, self.viewport())
        painter.restore()

    # ---- the overview: where every node is a flat rectangle the view draws all in one pass ----

    def _follow_scale(self) -> None:
        self._scene.set_overview(self.transform().m11() < self._scene.overview.below())

    def setTransform(self, matrix: QTransform, combine: bool = False) -> None:  # noqa: N802 - Qt API
        super().setTransform(matrix, combine)
        self._follow_scale()

    def resetTransform(self) -> None:  # noqa: N802 - Qt API
        super().resetTransform()
        self._follow_scale()

    def scale(self, sx: float, sy: float) -> None:
        super().scale(sx, sy)
        self._follow_scale()

    def after_next_paint(self, fn: Callable[[], None]) -> None:
        """Call fn (once, however often asked) when the view has next been painted: work the
        user need not wait for to see what changed."""
        if fn not in self._after_paint:
            self._after_paint.append(fn)

    def paintEvent(self, event) -> None:  # noqa: N802, ANN001 - Qt API
        for fn in self._after_paint:  # queued now, they run once this paint is done
            QTimer.singleShot(0, fn)
        self._after_paint.clear()
        self._follow_scale()  # a transform set some other way (Qt's own calls come here too late)
        if self.zoom_cache.paint(self.viewport(), event.region()):  # a wheel gesture on a big canvas: its picture
            return
        self._scene.repaint_selection()  # before the cached background is drawn from
        super().paintEvent(event)

    def _paint_overlays(self, painter: QPainter) -> None:
        """What the gesture in progress draws (a wire, a cutting line): in the overview Qt draws
        no item (CanvasScene.set_overview)."""
        interaction = self._scene.interaction
        if interaction is None:
            return
        painter.save()
        for item in interaction.overlays():
            painter.setTransform(item.deviceTransform(self.viewportTransform()))
            item.paint(painter, QStyleOptionGraphicsItem(), None)
        painter.restore()

    # ---- zoom and pan ----

    def zoom(self, factor: float) -> None:
        """Zoom in up to 4x; out down to 0.05x, or as far as it takes to see every node."""
        scale = self.transform().m11() * factor
        content = self._scene.content_rect()
        vp = self.viewport().rect()
        fit = min(vp.width() / max(1.0, content.width()), vp.height() / max(1.0, content.height())) * 0.8
        if (factor > 1 and scale <= MAX_ZOOM) or (factor < 1 and scale >= min(MIN_ZOOM, fit)):
            self.zoom_cache.zoomed()
            self.scale(factor, factor)

    def wheelEvent(self, event) -> None:  # noqa: N802, ANN001
        self.zoom(math.pow(1.0015, event.angleDelta().y()))

    def fit_graph(self) -> None:
        """Frame every node tightly (FIT_MARGIN screen pixels around them), at most FIT_MAX_SCALE.
        Where that scale is too small for full detail the nodes draw their summary level, whose
        text is still ≥ 12 px on screen (gui.canvas.lod)."""
        self.zoom_cache.settle()  # mid-gesture: the exact picture of where Fit goes
        rect = self._scene.fit_scene_rect()
        if rect.isEmpty():
            self.resetTransform()
            self.centerOn(0, 0)
            return
        vp = self.viewport().rect()
        scale = min((vp.width() - 2 * FIT_MARGIN) / max(1.0, rect.width()),
                    (vp.height() - 2 * FIT_MARGIN) / max(1.0, rect.height()), FIT_MAX_SCALE)
        self.setTransform(QTransform.fromScale(scale, scale))
        self.centerOn(rect.center())

    def mousePressEvent(self, event) -> None:  # noqa: N802, ANN001
        if event.button() == Qt.MouseButton.MiddleButton or (
                self._space and event.button() == Qt.MouseButton.LeftButton):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802, ANN001
        interaction = self._scene.interaction
        if isinstance(interaction, ScrubDrag):  # the gesture sees positions only: Shift from here
            interaction.fine = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        elif interaction is None and self._pan_from is None and not self._space:
            self._scrub_hover(self.mapToScene(event.position().toPoint()))
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def _scrub_hover(self, pos: QPointF) -> None:
        """↔ over a number that a drag changes (a scalar leaf's value line)."""
        item = self._scene.node_at(pos)
        over = item is not None and scrubbable(item, pos)
        if over != self._scrub_cursor:
            self._scrub_cursor = over
            if over:
                self.viewport().setCursor(Qt.CursorShape.SizeHorCursor)
            else:
                self.viewport().unsetCursor()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802, ANN001
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802, ANN001
        pos = self.mapToScene(event.position().toPoint())
        item = self._scene.node_at(pos)
        if event.button() == Qt.MouseButton.LeftButton:
            if item is None:
                self.searchRequested.emit(pos)
                return
            if item.node.is_tensor and item.port_at(item.mapFromScene(pos)) is None:
                self.edit_value(item.node_id)
                return
        super().mouseDoubleClickEvent(event)

    def edit_value(self, node_id: str) -> QLineEdit | None:
        """A line edit over the node's value line: Enter sets the value, Escape cancels."""
        editor = open_value_editor(self, node_id)
        if editor is not None:
            self.value_editor = editor
        return editor

    # ---- keys ----

    def event(self, event: QEvent) -> bool:
        if (event.type() == QEvent.Type.ShortcutOverride and event.key() == Qt.Key.Key_Escape
                and self._scene.interaction is not None):
            event.accept()  # a gesture in progress takes Esc before any shortcut of the window
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802, ANN001
        if event.key() == Qt.Key.Key_Escape:
            if self._scene.cancel_interaction():
                event.accept()
            else:
                event.ignore()  # nothing to cancel here: the window may want it
            return
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            return
        if event.key() == Qt.Key.Key_Tab:
            cursor = self.viewport().mapFromGlobal(self.cursor().pos())  # viewport, not view, coords
            inside = self.viewport().rect().contains(cursor)
            pos = self.mapToScene(cursor if inside else self.viewport().rect().center())
            self.searchRequested.emit(pos)
            return
        if self.hasFocus() and self.walk.key(event):  # not an arrow meant for the value editor
            return
        if event.matches(QKeySequence.StandardKey.Delete) or event.key() == Qt.Key.Key_Backspace:
            self._scene.doc.remove(self._scene.selected_node_ids(), self._scene.selected_edges())
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:  # noqa: N802, ANN001
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self.viewport().unsetCursor()
            return
        super().keyReleaseEvent(event)

    def focusNextPrevChild(self, forward: bool) -> bool:  # noqa: N802
        return False  # Tab opens the search popup instead of moving focus

    # ---- drops from the palette (files from a file manager: gui.file_drop, before these) ----
    #
    # No drag reaches the scene (QGraphicsView's own handlers are never called), so no leave may
    # go to QGraphicsView either: it would warn "drag leave received before drag enter".

    def dragEnterEvent(self, event) -> None:  # noqa: N802, ANN001
        if event.mimeData().hasFormat(MIME_OP):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802, ANN001
        if event.mimeData().hasFormat(MIME_OP):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:  # noqa: N802, ANN001
        data = event.mimeData()
        if not data.hasFormat(MIME_OP):
            event.ignore()
            return
        op = bytes(data.data(MIME_OP)).decode("utf-8", "replace")
        self.dropOp.emit(op, self.mapToScene(event.position().toPoint()))
        event.acceptProposedAction()

    def dragLeaveEvent(self, event) -> None:  # noqa: N802, ANN001
        event.accept()
