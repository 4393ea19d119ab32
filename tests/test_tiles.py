"""Node items live in tiles (gui.canvas.tiles): each tile holds its nodes wherever they move or
grow, so that Qt finds and paints them; a paint enters only the tiles it meets; a node just made
is drawn over older ones and CanvasScene.node_at picks the node Qt draws on top; an open
replaces the tiles; the empty canvas inside a tile is still empty canvas."""

from __future__ import annotations

import dataclasses

from helpers import on_screen, scene_and_view
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QMouseEvent
from PySide6.QtWidgets import QApplication, QGraphicsItem, QGraphicsRectItem

from graph.model import Edge, Graph, Node
from gui.canvas.interactions import RubberBand
from gui.canvas.items import NodeItem
from gui.canvas.style import COLORS
from gui.canvas.tiles import TILE
from gui.clipboard import PASTE_STEP, free_offset


def _grid(columns: int = 10, rows: int = 10, spacing: float = 300.0) -> Graph:
    g = Graph()
    for i in range(columns * rows):
        row, col = divmod(i, columns)
        g.add_node(Node(f"n{i}", "neg"), pos=(col * spacing, row * spacing))
        if i:
            g.add_edge(Edge(f"n{i - 1}", f"n{i}", "input"))
    return g


def _held(scene) -> list[str]:  # noqa: ANN001 - a CanvasScene
    """The nodes whose box (port dots included) is not inside their tile's rect."""
    out = []
    for node_id, item in scene.nodes.items():
        tile = item.parentItem()
        if not (tile in scene.tiles.tiles.values() and tile.rect().contains(item.sceneBoundingRect())):
            out.append(node_id)
    return out


def _topmost_node(scene, pos: QPointF) -> NodeItem | None:  # noqa: ANN001
    """The node Qt draws on top at pos (QGraphicsScene.items: descending stacking order)."""
    return next((item for item in scene.items(pos) if isinstance(item, NodeItem)), None)


def test_every_node_is_in_a_tile_that_holds_it_and_draws_nothing(qtbot) -> None:  # noqa: ANN001
    scene, _ = scene_and_view(qtbot, _grid())
    tiles = list(scene.tiles.tiles.values())
    assert len(tiles) >= 4  # 3,000 x 3,000 units
    assert _held(scene) == []
    for tile in tiles:
        assert type(tile) is QGraphicsRectItem  # no Python override for Qt to look up
        assert tile.flags() & QGraphicsItem.GraphicsItemFlag.ItemContainsChildrenInShape
        assert tile.pen().style() == Qt.PenStyle.NoPen and tile.brush().style() == Qt.BrushStyle.NoBrush
        assert tile.acceptedMouseButtons() == Qt.MouseButton.NoButton
        assert tile.zValue() < 1.0  # under collapsed group boxes (z 1)
    # each node went to the tile of the square its box's centre is in
    for item in scene.nodes.values():
        centre = item.sceneBoundingRect().center()
        key = (int(centre.x() // TILE), int(centre.y() // TILE))
        assert scene.tiles.tiles[key] is item.parentItem()


def test_a_node_moved_or_grown_out_of_its_tile_is_still_held_found_and_painted(qtbot) -> None:  # noqa: ANN001
    scene, view = scene_and_view(qtbot, _grid())
    doc = scene.doc
    item = scene.nodes["n0"]
    tile = item.parentItem()
    start = tile.rect()
    doc.move({"n0": (5000.0, 4200.0)})  # far outside its tile, past the others
    assert item.parentItem() is tile and _held(scene) == []
    assert not start.contains(item.sceneBoundingRect()) and tile.rect().contains(item.sceneBoundingRect())
    centre = item.sceneBoundingRect().center()
    assert _topmost_node(scene, centre) is item  # Qt's hit test enters the grown tile
    view.resetTransform()
    view.centerOn(centre)
    QApplication.processEvents()
    image = view.viewport().grab().toImage()
    at = view.mapFromScene(item.mapToScene(QPointF(item.rect().width() / 2, item.rect().height() - 8)))
    assert QColor(image.pixel(at)) != COLORS["background"]  # the node is drawn there
    # a node that grows (more input rows) out of its tile's rect
    grown_id = "n99"
    grown = scene.nodes[grown_id]
    rect = grown.parentItem().rect()
    doc.move({grown_id: (rect.left(), rect.bottom() - grown.rect().height() + 2)})  # its bottom at the edge
    height = grown.rect().height()
    doc.edit_node(dataclasses.replace(doc.graph.nodes[grown_id], op="where"))
    assert grown.rect().height() > height
    assert _held(scene) == []


def test_a_paint_enters_only_the_tiles_it_meets(qtbot, monkeypatch) -> None:  # noqa: ANN001
    """Qt asks an item for its bounds wherever its walk of the scene enters: with every node
    under one parent it entered all of them on every paint."""
    asked: set[str] = set()

    def bounds(self: NodeItem) -> QRectF:
        asked.add(self.node_id)
        return QGraphicsRectItem.boundingRect(self)

    monkeypatch.setattr(NodeItem, "boundingRect", bounds, raising=False)
    scene, view = scene_and_view(qtbot, _grid(20, 20))  # 6,000 x 6,000 units, 16 tiles
    view.resetTransform()
    view.centerOn(QPointF(150.0, 150.0))
    QApplication.processEvents()
    asked.clear()
    vp = view.viewport()
    vp.repaint()
    shown = view.mapToScene(vp.rect()).boundingRect()
    met = {n for n, item in scene.nodes.items() if item.parentItem().sceneBoundingRect().intersects(shown)}
    assert asked and asked <= met
    assert len(asked) < len(scene.nodes) / 4


def test_a_new_node_is_loose_and_drawn_over_older_nodes_of_every_tile_and_node_at_agrees(qtbot) -> None:  # noqa: ANN001
    g = Graph()
    g.add_node(Node("old", "neg"), pos=(TILE - 40.0, 0.0))  # its centre in the second column of tiles
    g.add_node(Node("far", "neg"), pos=(10.0, 3 * TILE))  # a tile of its own, first column
    scene, _ = scene_and_view(qtbot, g)
    old = scene.nodes["old"]
    assert old.parentItem() is scene.tiles.tiles[(1, 0)]
    scene.doc.add_node(Node("new", "neg"), (TILE - 200.0, 10.0))  # over old, its centre in the first column
    new = scene.nodes["new"]
    assert new.parentItem() is None and new in scene.tiles.loose  # loose until the next open
    overlap = new.sceneBoundingRect().intersected(old.sceneBoundingRect()).center()
    assert _topmost_node(scene, overlap) is new and scene.node_at(overlap) is new
    # nodes added anywhere after it, in old's tile's square too, leave it over old
    scene.doc.add_node(Node("newer", "neg"), (TILE + 600.0, 900.0))
    scene.doc.add_node(Node("newest", "neg"), (10.0, 3 * TILE + 400.0))
    assert _topmost_node(scene, overlap) is new and scene.node_at(overlap) is new
    # and a newer one over both is over both
    scene.doc.add_node(Node("top", "neg"), (TILE - 120.0, 30.0))
    assert _topmost_node(scene, overlap) is scene.nodes["top"] and scene.node_at(overlap) is scene.nodes["top"]
    # removed, a loose node leaves the scene and the loose set
    scene.doc.remove(["top"])
    assert "top" not in scene.nodes and len(scene.tiles.loose) == 3
    assert _topmost_node(scene, overlap) is new


def test_a_paste_over_two_tiles_draws_each_copy_over_its_original(qtbot) -> None:  # noqa: ANN001
    # Ctrl+V: the copies of o1 and o2 land 40 units right and down; o1's copy in the next tile's
    # square, o2's in o1's. With tiles raised by their newest node, o1 was drawn over its copy.
    g = Graph()
    g.add_node(Node("o1", "neg"), pos=(0.0, 0.0))
    g.add_node(Node("o2", "neg"), pos=(0.0, 600.0))
    scene, _ = scene_and_view(qtbot, g)
    doc = scene.doc
    o1 = scene.nodes["o1"]
    doc.move({"o1": (TILE - o1.rect().width() / 2 - 25 - o1.rect().x(), 0.0)})  # its centre 25 left of the line
    text = doc.copy_text(["o1", "o2"])
    copies = doc.paste(text, free_offset(doc.graph, text, PASTE_STEP))
    for original in ("o1", "o2"):
        item = scene.nodes[original]
        copy = next(scene.nodes[n] for n in copies
                    if abs(scene.nodes[n].pos().y() - item.pos().y()) < 300)
        overlap = item.sceneBoundingRect().intersected(copy.sceneBoundingRect()).center()
        assert _topmost_node(scene, overlap) is copy and scene.node_at(overlap) is copy, original


def test_a_node_at_its_tiles_edge_leaves_no_pixel_of_its_selection_ring_when_deselected(qtbot) -> None:  # noqa: ANN001
    # The open's tiles held their nodes' exact union: Qt clips a child's repaint to its parent's
    # rect, and a repaint reaches a pixel past the node's box, so the ring's outer rows stayed.
    g = Graph()
    g.add_node(Node("a", "neg"), pos=(0.0, 0.0))
    scene, view = scene_and_view(qtbot, g)
    view.resetTransform()
    item = scene.nodes["a"]
    view.centerOn(item)

    before = on_screen(view)  # what the view shows: what it painted, not a fresh paint
    item.setSelected(True)
    assert on_screen(view) != before  # the ring is drawn
    item.setSelected(False)
    after = on_screen(view)
    assert after == view.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    assert after == before


def test_an_open_replaces_the_tiles(qtbot) -> None:  # noqa: ANN001
    scene, _ = scene_and_view(qtbot, _grid())
    before = set(scene.tiles.tiles.values())
    scene.doc.reset(_grid(2, 2))
    now = set(scene.tiles.tiles.values())
    assert now and not now & before
    assert all(tile.scene() is None for tile in before)  # and their nodes with them
    assert {item for item in scene.items() if isinstance(item, NodeItem)} == set(scene.nodes.values())
    assert _held(scene) == []


def test_a_node_item_still_held_after_an_open_is_out_of_the_scene_not_deleted(qtbot) -> None:  # noqa: ANN001
    # The selection last drawn (and anything else) may still hold an item of the graph before
    # an open; the paint that follows asks it whether it is in the scene (shiboken raised
    # "already deleted" there, and the X11 run crashed, when a dropped tile deleted its nodes).
    scene, view = scene_and_view(qtbot, _grid())
    old = scene.nodes["n3"]
    old.setSelected(True)
    scene.repaint_selection()
    scene.doc.reset(_grid(2, 2))
    assert old.scene() is None and old.parentItem() is None
    assert old.node_id == "n3"  # its Python side and its C++ side both still there
    scene.repaint_selection()
    view.viewport().repaint()
    assert old not in scene.items()


def test_a_press_on_empty_canvas_inside_a_tile_begins_a_rubber_band(qtbot) -> None:  # noqa: ANN001
    scene, view = scene_and_view(qtbot, _grid(3, 3, 600.0))
    view.resetTransform()
    gap = QPointF(450.0, 450.0)  # between four nodes, inside the first tile
    assert scene.tiles.tiles[(0, 0)].sceneBoundingRect().contains(gap) and scene.node_at(gap) is None
    view.centerOn(gap)
    QApplication.processEvents()
    vp = view.viewport()
    at = QPointF(view.mapFromScene(gap))
    QApplication.sendEvent(vp, QMouseEvent(QEvent.Type.MouseButtonPress, at, vp.mapToGlobal(at),
                                           Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton,
                                           Qt.KeyboardModifier.NoModifier))
    assert isinstance(scene.interaction, RubberBand)
    QApplication.sendEvent(vp, QMouseEvent(QEvent.Type.MouseButtonRelease, at, vp.mapToGlobal(at),
                                           Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton,
                                           Qt.KeyboardModifier.NoModifier))
