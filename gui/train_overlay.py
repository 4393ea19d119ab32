"""The accumulated `.grad` of each requires-grad leaf, drawn on the canvas just below the leaf.

What a badge says is never a partial of one run: "x.grad after 2 backward()" / "= 16 (accumulated)".
The badges follow their nodes (moves, deletes) and go as soon as the graph, the target, the
grad-output (typed, or its edit undone), the device or the dtype changes: the next "Backward
again" starts from no .grad there (autograd_bridge.training.GradAccumulator). Except a step's own
write of the leaves: torch keeps .grad after optimizer.step(), so gui/train.py shows it again.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, SignalInstance
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem

from autograd_bridge.training import AccumulatedGrads
from graph.safetext import visible
from gui.canvas.items import NODE_W
from gui.canvas.scene import CanvasScene

GAP = 6.0  # scene units between the node's box and its badge
BADGE_COLOR = QColor("#f0a04b")  # not the partials' colour: this is a sum over runs


def badge_lines(leaf_title: str, grad_text: str, calls: int) -> tuple[str, str]:
    """Two lines that say what the number is: the leaf's .grad, summed over `calls` backward()."""
    name = f"{visible(leaf_title)}.grad"
    if calls == 0:
        return f"{name} zeroed", "= None"
    return f"{name} after {calls} backward()", f"= {visible(grad_text)} (accumulated)"


class GradBadge(QGraphicsItem):
    """Two lines of text on a dark box as wide as a node (longer text elided, whole in the
    tooltip); its position is its top-left corner."""

    PAD = 3.0

    def __init__(self, font: QFont) -> None:
        super().__init__()
        self.font = QFont(font)
        self.lines: tuple[str, ...] = ()
        fm = QFontMetricsF(self.font)
        self._line_h = fm.height()
        self._rect = QRectF(0, 0, NODE_W, 2 * self._line_h + 2 * self.PAD)
        self.setZValue(5)  # over wires, under a dragged wire's label

    @property
    def text(self) -> str:
        return " ".join(self.lines)

    def set_lines(self, lines: tuple[str, str]) -> None:
        fm = QFontMetricsF(self.font)
        width = NODE_W - 2 * self.PAD
        self.lines = lines
        self._shown = [fm.elidedText(t, Qt.TextElideMode.ElideRight, width) for t in lines]
        self.setToolTip("\n".join(lines))
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(self, p: QPainter, option, widget=None) -> None:  # noqa: ANN001
        p.setPen(QPen(BADGE_COLOR, 1))
        p.setBrush(QColor(15, 17, 21, 235))
        p.drawRoundedRect(self._rect, 3, 3)
        p.setFont(self.font)
        for i, line in enumerate(self._shown):
            p.drawText(QRectF(self.PAD, self.PAD + i * self._line_h, NODE_W - 2 * self.PAD, self._line_h),
                       Qt.AlignmentFlag.AlignVCenter, line)


class GradBadges:
    """One badge per requires-grad leaf of the last AccumulatedGrads shown."""

    def __init__(self, scene: CanvasScene, also_cleared_by: tuple[SignalInstance, ...] = ()) -> None:
        """`also_cleared_by`: the signals, besides the document's, of a change that makes the
        next backward() start from no .grad (the grad-output box's `edited`, device, dtype)."""
        self.scene = scene
        self.badges: dict[str, GradBadge] = {}
        doc = scene.doc
        doc.nodesMoved.connect(self._follow_all)
        doc.nodeChanged.connect(self._follow)
        doc.nodeRemoved.connect(self._drop)
        for signal in (doc.edited, doc.targetChanged, doc.graphReset, *also_cleared_by):
            signal.connect(self.clear)

    def show(self, grads: AccumulatedGrads) -> None:
        self.clear()
        for n, text in grads.texts.items():
            item = self.scene.nodes.get(n)
            if item is None:
                continue
            badge = GradBadge(self.scene.mono_font)
            badge.set_lines(badge_lines(item.node.title, text, grads.calls))
            self.scene.addItem(badge)
            self.badges[n] = badge
            self._follow(n)

    def _follow(self, node_id: str) -> None:
        badge, item = self.badges.get(node_id), self.scene.nodes.get(node_id)
        if badge is not None and item is not None:
            badge.setPos(item.pos() + QPointF(0, item.height() + GAP))

    def _follow_all(self, node_ids: list[str]) -> None:
        for n in node_ids:
            self._follow(n)

    def _drop(self, node_id: str) -> None:
        badge = self.badges.pop(node_id, None)
        if badge is not None and badge.scene() is self.scene:
            self.scene.removeItem(badge)

    def clear(self, *_args: object) -> None:
        for n in list(self.badges):
            self._drop(n)

    def texts(self) -> dict[str, str]:
        return {n: b.text for n, b in self.badges.items()}
