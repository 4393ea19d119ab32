"""Which nodes are near a point, without asking Qt to test every item.

With the scene's NoIndex (the fast setting for moving many items, see ENVIRONMENT.md),
QGraphicsScene.items(point) tests every item, ~1.5 ms at 2,000 nodes and 4,000 wires when wires
were items too, and a press asks it more than once. This grid buckets nodes by the cell of their position
(kept up to date as they move), so a point is answered from the few nodes in the cells around it.
"""

from __future__ import annotations

import math

CELL = 512.0  # larger than a node is wide or tall, so a node's position is at most one cell away


class NodeGrid:
    def __init__(self) -> None:
        self._cells: dict[tuple[int, int], set[str]] = {}
        self._cell_of: dict[str, tuple[int, int]] = {}

    @staticmethod
    def cell(x: float, y: float) -> tuple[int, int]:
        return math.floor(x / CELL), math.floor(y / CELL)

    def place(self, node_id: str, x: float, y: float) -> None:
        cell = self.cell(x, y)
        old = self._cell_of.get(node_id)
        if old == cell:
            return
        if old is not None:
            self._cells[old].discard(node_id)
        self._cells.setdefault(cell, set()).add(node_id)
        self._cell_of[node_id] = cell

    def remove(self, node_id: str) -> None:
        old = self._cell_of.pop(node_id, None)
        if old is not None:
            self._cells[old].discard(node_id)

    def clear(self) -> None:
        self._cells.clear()
        self._cell_of.clear()

    def near(self, x: float, y: float) -> list[str]:
        """Every node whose position is within a cell of (x, y): a superset of those covering it."""
        cx, cy = self.cell(x, y)
        return [n for i in (cx - 1, cx, cx + 1) for j in (cy - 1, cy, cy + 1)
                for n in self._cells.get((i, j), ())]
