"""Node items live in tiles: each is the child of the tile of the square of the scene where it was
made (TILE units a side), an item that says it holds its children (ItemContainsChildrenInShape)
and whose rect does. Qt's walk of the scene on every paint and hit test (the index is off:
CanvasScene) then tests the tiles and enters only those meeting the exposed rect, instead of
testing every node: at 10,000 nodes that walk was ~3-4 ms of every paint at full detail, and the
first one after an open ~40 ms more (each item's first virtual calls through shiboken).

A tile is a plain QGraphicsRectItem that draws nothing (no pen, no brush; it must have contents:
Qt skips the bounds test of an item without, unless the scene's minimumRenderSize is set, and
walks its children) and takes no mouse button. Its rect grows, with TILE_SLACK to spare, when a
child moves or grows out of it; a child never changes tile (a tile's rect never shrinks).

A tile holds its nodes with EDGE to spare at least: Qt clips what it repaints of a child to its
parent's rect, and a node's repaint reaches a pixel past its box (a selection ring's outer row
stayed on screen when the rect was the nodes' exact union).

Stacking: Qt draws top-level items by z, then in the order they were added, and each tile's
children in the order they were added. The nodes of an open go into tiles, each tile's z
(`stacking_z`, within [0.5, 1): collapsed group boxes are at 1, group frames and wire items
below 0) rising with the newest node in it, so two nodes of different tiles that overlap are
stacked by their tiles. A node made after the open (added, pasted, duplicated, brought back
by an undo) stays loose, a top-level item at its own stacking_z, above every tile and every
older loose node, as when every node was top-level: in a tile, a paste that spreads over two
tiles could draw an original over its own copy. The loose ones go into tiles at the next open;
until then Qt's walk tests each of them. CanvasScene.node_at stacks as Qt does (`stacking_key`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem

if TYPE_CHECKING:
    from PySide6.QtWidgets import QGraphicsScene

    from gui.canvas.items import NodeItem

TILE = 1500.0  # scene units: about a 1600 x 1000 viewport at 100 %, ~60 nodes of a dense grid
TILE_SLACK = TILE / 2  # a tile grown for a child grows this much more, so a drag grows it rarely
EDGE = 8.0  # scene units a tile holds past its nodes' boxes: a pixel down to 12.5 % (Qt draws no node below)


def stacking_z(order: int) -> float:
    """A tile's z for the newest node in it, or a loose node's (NodeItem.stack_order): rising,
    within [0.5, 1)."""
    return 1.0 - 1.0 / (2.0 + order)


def stacking_key(item: NodeItem) -> tuple[float, int]:
    """Higher for the node Qt draws over the other: by its tile's z or its own, loose; then in
    the order added (a tile's children, and loose nodes of one z, are drawn in that order)."""
    return (item.parentItem() or item).zValue(), item.stack_order


class Tiles:
    """The tiles of one scene, by (column, row) of their square."""

    def __init__(self, scene: QGraphicsScene) -> None:
        self.scene = scene
        self.tiles: dict[tuple[int, int], QGraphicsRectItem] = {}
        self._pending: dict[QGraphicsRectItem, list] = {}  # bounds and newest node, while building
        self.loose: set[NodeItem] = set()  # nodes made since the open: top-level, see above

    def adopt(self, item: NodeItem, building: bool) -> None:
        """Put the new item in the scene: while the scene is built (an open), in the tile of its
        place, whose rect waits for `built` (one rect change a tile, not one a node); after, loose."""
        if not building:
            item.setZValue(stacking_z(item.stack_order))
            self.scene.addItem(item)
            self.loose.add(item)
            return
        rect = item.mapRectToScene(item.boundingRect())
        centre = rect.center()
        key = (math.floor(centre.x() / TILE), math.floor(centre.y() / TILE))
        tile = self.tiles.get(key)
        if tile is None:
            tile = self.tiles[key] = QGraphicsRectItem()
            tile.setPen(QPen(Qt.PenStyle.NoPen))
            tile.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
            tile.setFlag(QGraphicsItem.GraphicsItemFlag.ItemContainsChildrenInShape)
            self.scene.addItem(tile)
        pending = self._pending.setdefault(tile, [math.inf, math.inf, -math.inf, -math.inf, 0])
        pending[0] = min(pending[0], rect.left())
        pending[1] = min(pending[1], rect.top())
        pending[2] = max(pending[2], rect.right())
        pending[3] = max(pending[3], rect.bottom())
        pending[4] = item.stack_order  # items come in stacking order: the newest so far
        item.setParentItem(tile)

    def built(self) -> None:
        """The scene is built: each tile gets the rect of what was put in it, and its z."""
        for tile, (x0, y0, x1, y1, newest) in self._pending.items():
            tile.setRect(QRectF(x0, y0, x1 - x0, y1 - y0).adjusted(-EDGE, -EDGE, EDGE, EDGE))
            tile.setZValue(stacking_z(newest))
        self._pending.clear()

    def follow(self, item: NodeItem) -> None:
        """The item moved or changed size: its tile still holds it."""
        tile = item.parentItem()
        if tile is not None and tile not in self._pending:
            self._hold(tile, item.mapRectToScene(item.boundingRect()))

    @staticmethod
    def _hold(tile: QGraphicsRectItem, rect: QRectF) -> None:
        held = tile.rect()
        if not held.contains(rect.adjusted(-EDGE, -EDGE, EDGE, EDGE)):
            tile.setRect(held.united(rect).adjusted(-TILE_SLACK, -TILE_SLACK, TILE_SLACK, TILE_SLACK))

    def remove(self, item: NodeItem) -> None:
        """Take a node item out of the scene (its node was removed)."""
        self.loose.discard(item)
        self.scene.removeItem(item)

    def clear(self) -> None:
        """Remove every tile, and every node item with it. The node items are taken out of their
        tile first: a tile dropped deletes its children, and a node item may still be held
        (the selection last drawn, a dialog's node) by code that asks it whether it is in the
        scene, as when it was removed on its own. Out of the scene that costs no index work."""
        for tile in self.tiles.values():
            self.scene.removeItem(tile)
            for item in tile.childItems():
                item.setParentItem(None)
        for item in self.loose:
            self.scene.removeItem(item)
        self.loose.clear()
        self.tiles.clear()
        self._pending.clear()
