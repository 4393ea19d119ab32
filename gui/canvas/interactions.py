"""Mouse gestures on the canvas, one small object per gesture (as orange-canvas does it). Long
(~560 lines) because it holds every gesture, each short, behind the one contract below.

The scene holds at most one gesture in progress (`CanvasScene.interaction`) and forwards the
mouse to it: `start` on the press, `move` while the button is down, `finish` on the release of
the button that began it, `cancel` on Esc (or when the document is replaced under it). Only
`finish` edits the document, and each gesture is one undo step; `cancel` leaves the document
untouched and takes away whatever the gesture drew.

Gestures whose `passthrough` is true let Qt's own mouse handling run as well: Qt moves the
dragged items (MoveDrag); the gesture only remembers what it needs to finish or undo that.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QLineF, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsSceneMouseEvent,
    QGraphicsView,
)

from graph.errors import GraphError
from graph.groups import nodes_within
from graph.model import Edge
from gui.canvas.items import COLORS, HEADER_H, NODE_W, PORT_H, NodeItem, wire_path

if TYPE_CHECKING:
    from gui.canvas.scene import CanvasScene

LEFT = Qt.MouseButton.LeftButton


class Interaction:
    """A gesture in progress, begun by a press of `button`."""

    passthrough = False  # True: Qt's default handling of the mouse runs too

    def __init__(self, scene: CanvasScene, button: Qt.MouseButton = LEFT) -> None:
        self.scene = scene
        self.button = button

    def start(self, pos: QPointF) -> None:
        """The press at `pos` (scene coordinates) began the gesture."""

    def move(self, pos: QPointF) -> None:
        """The mouse moved to `pos` with the button down."""

    def finish(self, pos: QPointF) -> None:
        """The button came up at `pos`: make the edit, if any, and clean up."""

    def cancel(self) -> None:
        """Esc: take back what the gesture showed; the document is not touched."""

    def overlays(self) -> list[QGraphicsItem]:
        """The items the gesture shows, for the view to draw in the overview (where Qt does not)."""
        return []

    def result_shown(self) -> None:
        """The canvas has just drawn a compute result (a gesture that edits live waits for it)."""

    def view(self) -> QGraphicsView | None:
        """The view showing the scene (the canvas has one); None before it has any."""
        views = self.scene.views()
        return views[0] if views else None

    def scale(self) -> float:
        """Screen pixels per scene unit (1 without a view)."""
        view = self.view()
        return view.transform().m11() if view is not None else 1.0


class WireDrag(Interaction):
    """Drag from a node's output dot to an input port. The wire says where it would land, or
    why the edge would be refused (cycle, port already fed, ...), while the mouse moves."""

    def __init__(self, scene: CanvasScene, src: str) -> None:
        super().__init__(scene)
        self.src = src
        self.upstream = scene.doc.graph.upstream(src)  # once per drag, not per mouse move
        self.wire = QGraphicsPathItem()
        self.wire.setZValue(10)
        self.label = WireLabel(scene.small_font)
        self.label.setZValue(11)

    def start(self, pos: QPointF) -> None:
        self.scene.addItem(self.wire)
        self.scene.addItem(self.label)
        self.move(pos)

    def target_port(self, pos: QPointF) -> tuple[str, str] | None:
        """(node id, input port) the wire would land on at pos, or None."""
        item = self.scene.node_at(pos)
        if item is None:
            return None
        hit = item.port_at(item.mapFromScene(pos))
        if hit is not None and hit[0] == "in":
            return item.node_id, hit[1]
        # Dropped on a node body: its first free input port.
        free = [p for p in item.inputs if p not in item.fed]
        return (item.node_id, free[0]) if free else (item.node_id, item.inputs[0]) if item.inputs else (
            item.node_id, "input")

    def refusal(self, pos: QPointF) -> tuple[tuple[str, str] | None, str | None]:
        """The port under pos and why an edge to it is refused (None: it would be accepted)."""
        target = self.target_port(pos)
        if target is None:
            return None, None
        return target, self.scene.doc.graph.edge_refusal(self.src, target[0], target[1], self.upstream)

    def move(self, pos: QPointF) -> None:
        src = self.scene.nodes.get(self.src)
        if src is None:  # the source went away under the drag (a delete, an undo)
            self.scene.cancel_interaction()
            return
        start = src.mapToScene(src.output_pos())
        target, reason = self.refusal(pos)
        end = pos
        if target is not None and reason is None:
            dst = self.scene.nodes[target[0]]
            end = dst.mapToScene(dst.input_pos(target[1]))
        color = COLORS["refused"] if reason else COLORS["ok"] if target else COLORS["edge"]
        self.wire.setPen(QPen(color, 2.0, Qt.PenStyle.DashLine if reason else Qt.PenStyle.SolidLine))
        self.wire.setPath(wire_path(start, end))
        where = f"→ {self.scene.doc.graph.nodes[target[0]].title}.{target[1]}" if target else ""
        self.label.set_text(f"✕ {reason}" if reason else where, color)
        self.label.setPos(self.label_place(pos, target[0] if target else None))

    def label_place(self, pos: QPointF, over: str | None) -> QPointF:
        """Where the label's bottom-left corner goes: above the node the wire points at (or the
        cursor), else below it, else anywhere off every node nearby, so that it never covers
        a node's text."""
        scale = self.scale()
        w, h = self.label.size_px()
        w, h, gap = w / scale, h / scale, 8 / scale
        node = self.scene.nodes.get(over) if over else None
        box = node.sceneBoundingRect() if node is not None else QRectF(pos, pos)
        x = pos.x() + 12 / scale
        candidates = [QPointF(x, box.top() - gap), QPointF(x, box.bottom() + gap + h),
                      QPointF(x, pos.y() - gap), QPointF(x, pos.y() + gap + h)]
        for place in candidates:
            rect = QRectF(place.x(), place.y() - h, w, h)
            if not self._covers_a_node(rect):
                return place
        return candidates[0]

    def _covers_a_node(self, rect: QRectF) -> bool:
        near = set()
        for corner in (rect.topLeft(), rect.topRight(), rect.bottomLeft(), rect.bottomRight(), rect.center()):
            near.update(self.scene.grid.near(corner.x(), corner.y()))
        return any(self.scene.nodes[n].sceneBoundingRect().intersects(rect) for n in near if n in self.scene.nodes)

    def finish(self, pos: QPointF) -> None:
        self.cancel()  # the temporary wire goes in every case
        if self.src not in self.scene.nodes:
            return
        target, reason = self.refusal(pos)
        if target is None:
            return
        if reason is not None:
            self.scene.message.emit(f"edge refused: {reason}")
            return
        self.scene.doc.connect(Edge(self.src, target[0], target[1]))
        self.scene.message.emit(f"connected {self.src} → {target[0]}.{target[1]}")

    def cancel(self) -> None:
        for item in (self.wire, self.label):
            if item.scene() is self.scene:
                self.scene.removeItem(item)

    def overlays(self) -> list[QGraphicsItem]:
        return [self.wire, self.label]


class WireLabel(QGraphicsItem):
    """What a dragged wire says (where it lands, or why it is refused): text on a dark box, the
    same size on screen at any zoom (ItemIgnoresTransformations). Its position is its box's
    bottom-left corner."""

    PAD = 4.0

    def __init__(self, font: QFont) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.font = QFont(font)
        self._text = ""
        self.color = QColor(COLORS["text"])
        self._rect = QRectF()

    def set_text(self, text: str, color: QColor) -> None:
        if text == self._text and color == self.color:
            return
        self.prepareGeometryChange()
        self._text, self.color = text, QColor(color)
        fm = QFontMetricsF(self.font)
        w = fm.horizontalAdvance(text) + 2 * self.PAD if text else 0.0
        h = fm.height() + 2 * self.PAD if text else 0.0
        self._rect = QRectF(0, -h, w, h)
        self.update()

    def text(self) -> str:
        return self._text

    def size_px(self) -> tuple[float, float]:
        return self._rect.width(), self._rect.height()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(self, p: QPainter, option, widget=None) -> None:  # noqa: ANN001
        if not self._text:
            return
        p.setPen(QPen(self.color, 1))
        p.setBrush(QColor(15, 17, 21, 235))
        p.drawRoundedRect(self._rect, 3, 3)
        p.setFont(self.font)
        p.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self._text)


class CutDrag(Interaction):
    """Alt-drag a line across wires: every wire it crosses is cut, as one undo step."""

    def __init__(self, scene: CanvasScene) -> None:
        super().__init__(scene)
        self.line = QGraphicsPathItem()
        self.line.setPen(QPen(COLORS["refused"], 1.5, Qt.PenStyle.DashLine))

    def start(self, pos: QPointF) -> None:
        self.line.setPath(QPainterPath(pos))
        self.scene.addItem(self.line)

    def move(self, pos: QPointF) -> None:
        path = self.line.path()
        path.lineTo(pos)
        self.line.setPath(path)

    def finish(self, pos: QPointF) -> None:
        cut = self.line.path()
        self.cancel()
        reach = cut.boundingRect().adjusted(-1, -1, 1, 1)  # a straight cut has no area
        crossed = [e for e, item in self.scene.edges.items()
                   if item.rect().intersects(reach)  # cheap test first, at thousands of edges
                   and (item.path().intersects(cut) or polyline_crosses(cut, item.path()))]
        if crossed:
            self.scene.doc.disconnect(crossed)
            self.scene.message.emit(f"cut {len(crossed)} edge(s)")

    def cancel(self) -> None:
        if self.line.scene() is self.scene:
            self.scene.removeItem(self.line)

    def overlays(self) -> list[QGraphicsItem]:
        return [self.line]


def polyline_crosses(cut: QPainterPath, wire: QPainterPath) -> bool:
    """Whether the cut stroke crosses the wire (sampled segments, cheap and exact enough)."""
    cut_pts = [cut.elementAt(i) for i in range(cut.elementCount())]
    segs = [QLineF(QPointF(a.x, a.y), QPointF(b.x, b.y)) for a, b in zip(cut_pts, cut_pts[1:], strict=False)]
    wire_pts = [wire.pointAtPercent(t / 24) for t in range(25)]
    for a, b in zip(wire_pts, wire_pts[1:], strict=False):
        w = QLineF(a, b)
        for s in segs:
            if s.intersects(w)[0] == QLineF.IntersectionType.BoundedIntersection:
                return True
    return False


class MoveDrag(Interaction):
    """Nodes dragged with the mouse. Qt moves the items (the selection, and the pressed node);
    the release makes it one Document.move; Esc puts them back where they were."""

    passthrough = True

    def start(self, pos: QPointF) -> None:
        # After the press: Qt has already (de)selected, and the pressed node moves even when a
        # Shift-click just took it out of the selection.
        self.press_pos = pos
        grabber = self.scene.mouseGrabberItem()
        moving = {*self.scene.selectedItems(), grabber}
        self.start_positions = {item.node_id: (item, item.pos()) for item in moving if isinstance(item, NodeItem)}
        self.shown = {n: p for n, (_, p) in self.start_positions.items()}  # where the scene last filed them
        self.scene.lift_wires(self.start_positions)

    def move(self, pos: QPointF) -> None:
        # Qt has moved the items: the scene moves their edges, once per frame.
        moved = []
        for n, (item, _) in self.start_positions.items():
            if self.scene.nodes.get(n) is item and item.pos() != self.shown[n]:
                self.shown[n] = item.pos()
                moved.append(item)
        self._follow(moved)

    def _follow(self, moved: list[NodeItem]) -> None:
        """A frame's moved nodes: their wires and the group frames follow, in this turn (on the
        next one the frames would be a second paint)."""
        if moved:
            self.scene.nodes_moved(moved)
            self.scene.groups.relayout()

    def _moved(self) -> dict[str, tuple[float, float]]:
        return {n: (item.pos().x(), item.pos().y()) for n, (item, p) in self.start_positions.items()
                if self.scene.nodes.get(n) is item and item.pos() != p}

    def finish(self, pos: QPointF) -> None:
        moves = self._moved()
        if moves:
            self.scene.doc.move(moves)
        self.scene.land_wires()

    def cancel(self) -> None:
        back = []
        for n, (item, p) in self.start_positions.items():
            if self.scene.nodes.get(n) is item and item.pos() != p:
                item.setPos(p)
                back.append(item)
        self.scene.nodes_moved(back)
        self.scene.land_wires()
        end_qt_item_drag(self.scene, self.press_pos)


class GroupDrag(MoveDrag):
    """A group's frame, by its header, or its collapsed box, dragged: every node in it moves
    along (those of nested groups, and those a box hides). As MoveDrag, but the nodes are
    moved here (Qt moves only the frame's item, which is no node); the release makes it one
    Document.move, Esc puts them back."""

    def __init__(self, scene: CanvasScene, group_id: str) -> None:
        super().__init__(scene)
        self.group_id = group_id

    def start(self, pos: QPointF) -> None:
        self.press_pos = pos
        inside = nodes_within(self.scene.doc.graph, self.group_id)
        self.start_positions = {n: (item, item.pos()) for n in self.scene.doc.graph.nodes
                                if n in inside and (item := self.scene.nodes.get(n)) is not None}
        self.scene.lift_wires(self.start_positions)

    def move(self, pos: QPointF) -> None:
        offset = pos - self.press_pos
        placed = []
        for n, (item, p) in self.start_positions.items():
            if self.scene.nodes.get(n) is item and item.pos() != p + offset:
                item.setPos(p + offset)
                placed.append(item)
        self._follow(placed)

    def finish(self, pos: QPointF) -> None:
        self.move(pos)
        moves = self._moved()
        if moves:
            self.scene.doc.move(moves, f"Move group {self.group_id}")
        self.scene.land_wires()


def end_qt_item_drag(scene: QGraphicsScene, press_pos: QPointF) -> None:
    """End Qt's own drag of the items before the button comes up.

    The mouse grabber is given the release it would get at the end of a drag, so Qt lets go of
    the mouse and forgets the positions the drag started from (were they kept, the next drag
    would start from them). The release is placed off the press point so that Qt does not take
    it for a click, which would change the selection.
    """
    if scene.mouseGrabberItem() is None:
        return
    release = QGraphicsSceneMouseEvent(QEvent.Type.GraphicsSceneMouseRelease)
    release.setButton(LEFT)
    release.setButtons(Qt.MouseButton.NoButton)
    release.setButtonDownScenePos(LEFT, press_pos)
    release.setScenePos(press_pos + QPointF(1.0, 1.0))
    QGraphicsScene.mouseReleaseEvent(scene, release)


class RubberBand(Interaction):
    """A drag on empty canvas selects the nodes the rectangle meets, found in the overview's
    arrays (numpy: no hit test of 25,000 items a mouse move, as Qt's own band does). Only nodes,
    as the help says: a wire that merely passes through is not picked up (Delete would cut it).
    Ctrl held at the press adds to the selection there was; Esc gives that selection back. The
    view draws the band (CanvasView.drawForeground)."""

    def __init__(self, scene: CanvasScene, button: Qt.MouseButton, selection: list[QGraphicsItem],
                 add: bool = False) -> None:
        super().__init__(scene, button)
        self.selection = selection
        self.kept = set(selection) if add else set()  # stays selected whatever the band covers
        self.picked: set[NodeItem] = set()  # what the band selected at the last move
        self.origin = QPointF()
        self.rect: QRectF | None = None  # in scene coordinates, once the mouse moved far enough

    def start(self, pos: QPointF) -> None:
        self.origin = pos

    def move(self, pos: QPointF) -> None:
        view = self.view()
        if view is None:
            return
        if self.rect is None and (view.mapFromScene(pos) - view.mapFromScene(self.origin)).manhattanLength() \
                < QApplication.startDragDistance():
            return
        old = self.viewport_rect()
        self.rect = QRectF(self.origin, pos).normalized()
        self._repaint(view, old)
        self._select()

    def finish(self, pos: QPointF) -> None:
        self._drop()

    def cancel(self) -> None:
        self._drop()
        before = set(self.selection)
        _set_selected(self.scene, [it for it in self.scene.selectedItems() if it not in before], self.selection)

    def viewport_rect(self) -> QRect:
        """The band on screen (as QGraphicsView.rubberBandRect gives Qt's); null when none."""
        view = self.view()
        if self.rect is None or view is None:
            return QRect()
        return view.mapFromScene(self.rect).boundingRect()

    def _drop(self) -> None:
        view, old = self.view(), self.viewport_rect()
        self.rect = None
        if view is not None:
            self._repaint(view, old)

    def _repaint(self, view: QGraphicsView, old: QRect) -> None:
        view.viewport().update(old.united(self.viewport_rect()).adjusted(-2, -2, 2, 2))

    def _select(self) -> None:
        scene = self.scene
        nodes = scene.nodes
        now = {nodes[n] for n in scene.overview.nodes.keys_within(self.rect)}  # visible nodes only
        _set_selected(scene, self.picked - now - self.kept, now - self.picked)
        self.picked = now
        scene.repaint_selection()  # now: the band's repaint and the selection's are then one paint


def _set_selected(scene: QGraphicsScene, off: Iterable[QGraphicsItem], on: Iterable[QGraphicsItem]) -> None:
    """Deselect `off`, then select `on` (items of this scene), with one selectionChanged at the
    end: Qt sends one per item, and a band's move may select hundreds."""
    off = [item for item in off if item.scene() is scene and item.isSelected()]
    on = [item for item in on if item.scene() is scene and not item.isSelected()]
    if not off and not on:
        return
    was_blocked = scene.blockSignals(True)
    try:
        for item in off:
            item.setSelected(False)
        for item in on:
            item.setSelected(True)
    finally:
        scene.blockSignals(was_blocked)
    scene.selection_changed_quietly()
    if not was_blocked:
        scene.selectionChanged.emit()


# ---- scrubbing a scalar leaf's value (Blender-style) ----

SCRUB_STEP = 0.01  # of max(1, |value|) per screen pixel; Shift: a tenth of that
FINE = 0.1


SCRUB_MIN_W = 40.0  # the grip is at least this wide, however short the number


def scrub_rect(item: NodeItem) -> QRectF:
    """The number on a leaf's value line ("= 2"), in the item's coordinates (where
    gui.canvas.items draws it); the rest of the node still moves it."""
    top = HEADER_H + max(1, len(item.inputs)) * PORT_H
    fm = QFontMetricsF(item.canvas.mono_font)
    width = NODE_W - 16
    text = item.value_line(fm, width) if item.view is not None else f"= {item.node.value}"
    return QRectF(4, top + 1, min(NODE_W - 8, max(SCRUB_MIN_W, fm.horizontalAdvance(text) + 12)), 20)


def scrubbable(item: NodeItem, pos: QPointF) -> bool:
    """Whether a press at `pos` (scene) is on the value of a scalar float leaf written as a number."""
    node = item.node
    return (node.is_tensor and node.init is None and isinstance(node.value, int | float)
            and not isinstance(node.value, bool) and node.dtype.startswith("float")
            and scrub_rect(item).contains(item.mapFromScene(pos)))


class ScrubDrag(Interaction):
    """Press on a scalar leaf's number and drag sideways: the value follows the mouse
    (SCRUB_STEP of max(1, |value|) per screen pixel, a tenth of that while Shift is held), every
    node's value and partial recompute as it moves (a value edit: the compiled code is reused),
    the release makes it one undo step and Esc puts the value back.

    A new value is shown only once the result for the last one has been drawn: fast mouse
    moves never cancel one compute after another; the newest value waits for its turn. The
    selection is left as it is (as Blender leaves it)."""

    def __init__(self, scene: CanvasScene, node_id: str) -> None:
        super().__init__(scene)
        self.node_id = node_id
        self.start_node = scene.doc.graph.nodes[node_id]
        value = float(self.start_node.value)
        self.step = SCRUB_STEP * max(1.0, abs(value))
        self.fine = False  # Shift, as the view saw it on the last mouse event
        self._base = (0.0, value, False)  # (screen x, value, fine) the motion counts from
        self.value = value
        self._pending: float | None = None

    def _screen_x(self, pos: QPointF) -> float:
        return pos.x() * self.scale()

    def start(self, pos: QPointF) -> None:
        self._base = (self._screen_x(pos), self.value, self.fine)
        self._last_x = self._base[0]

    def move(self, pos: QPointF) -> None:
        if self.node_id not in self.scene.nodes:  # the node went away under the drag
            self.scene.cancel_interaction()
            return
        x = self._screen_x(pos)
        x0, v0, fine = self._base
        if fine != self.fine:  # Shift went down or up: from the last position on, the new rate
            self._base = x0, v0, fine = self._last_x, self.value, self.fine
        self._last_x = x
        step = self.step * (FINE if fine else 1.0)
        digits = max(0, -math.floor(math.log10(step)))  # no float noise beyond the step
        value = round(v0 + round(x - x0) * step, digits)
        if value != self.value:
            self.value = value
            self._pending = value
            self._show()

    def _computing(self) -> bool:
        result = self.scene.result
        return result is not None and result.revision != self.scene.doc.revision

    def _show(self, force: bool = False) -> None:
        if self._pending is None or (self._computing() and not force):
            return
        value, self._pending = self._pending, None
        node = dataclasses.replace(self.scene.doc.graph.nodes[self.node_id], value=value)
        try:
            self.scene.doc.preview_node(node)
        except GraphError as e:  # outside its dtype's range, say
            self.scene.message.emit(f"{self.node_id}: {e.message.removeprefix(self.node_id + ': ')}")

    def result_shown(self) -> None:
        self._show()

    def finish(self, pos: QPointF) -> None:
        if self.node_id not in self.scene.doc.graph.nodes:
            return
        self._show(force=True)
        self.scene.doc.commit_preview(self.start_node, "Scrub")

    def cancel(self) -> None:
        self._pending = None
        if self.scene.doc.graph.nodes.get(self.node_id, self.start_node) != self.start_node:
            self.scene.doc.preview_node(self.start_node)
