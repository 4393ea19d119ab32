"""What the canvas shows a newcomer: text readable at any zoom (semantic zoom), honest labels,
new ids that read well, a layout with wires off nodes, and the help the empty canvas gives.

Sizes on screen are read from what the items painted (NodeItem.painted: the level and the
smallest font in on-screen pixels), from the view's transform, and from the pixels of a grab.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest
import torch
from helpers import RESULT_TIMEOUT_MS, RecordingPainter, scene_and_view
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QContextMenuEvent, QFontMetricsF, QImage, QPainter
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu
from test_graph_edits import _random_dag

from autograd_bridge.compute import ComputeSession
from autograd_bridge.formatting import nested
from graph.fileformat import load
from graph.model import Edge, Graph, Node
from gui.canvas import COLORS, DIFF_BTN, HEADER_H, NODE_W, PORT_H, CanvasScene, CanvasView, NodeItem, WireDrag, lod
from gui.canvas.labels import badge
from gui.canvas.style import MIN_TEXT_PX
from gui.render import fit_window
from gui.window import MainWindow

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"
LEFT, RIGHT = Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton
NO_MOD = Qt.KeyboardModifier.NoModifier


def _canvas(qtbot, graph: Graph, target: str | None = None, grad_output: object = None,
            size: tuple[int, int] = (1000, 700)) -> tuple[CanvasScene, CanvasView]:
    """A scene and view of the graph (no window, no worker), showing a result computed here."""
    scene, view = scene_and_view(qtbot, graph, target, size)
    if graph.nodes:
        doc = scene.doc
        scene.show_result(ComputeSession().compute(doc.graph, target, doc.revision, grad_output=grad_output))
    return scene, view


def _zoom_to(view: CanvasView, scale: float, on: NodeItem | None = None) -> QImage:
    view.resetTransform()
    view.scale(scale, scale)
    if on is not None:
        view.centerOn(on.sceneBoundingRect().center())
    return view.grab().toImage()


def _level_drawn(view: CanvasView, item: NodeItem, image: QImage) -> str | None:
    """The level the node was drawn at. Where all nodes are SHAPE the view draws every node as its
    flat rectangle (SHAPE) in one pass, read here from the pixels; above, the item painted
    itself and says how (NodeItem.painted)."""
    if view.scene().overview.on:
        centre = view.viewport().mapTo(view, view.mapFromScene(item.sceneBoundingRect().center()))
        return lod.SHAPE if image.pixelColor(centre) == lod.head_color(item) else None
    return item.painted[0] if item.painted else None


def _one_node(title: str = "HEIGHT") -> Graph:
    g = Graph()
    g.add_node(Node("x", "tensor", value=2.0, requires_grad=True, label=title), pos=(0.0, 0.0))
    g.add_node(Node("s", "sin"), pos=(400.0, 0.0))
    g.add_edge(Edge("x", "s", "input"))
    return g


# ---- semantic zoom ----

def test_level_of_detail_is_chosen_by_the_on_screen_size_of_the_text() -> None:
    h = 82.0  # a one-input op without a preview
    assert lod.full_min_scale() == pytest.approx(1.0)  # 12 px fonts: full detail from 100 %
    assert lod.level_for(1.0, h) == lod.FULL and lod.level_for(3.0, h) == lod.FULL
    assert lod.level_for(0.99, h) == lod.SUMMARY
    assert lod.level_for(0.45, h) == lod.SUMMARY
    assert lod.level_for(0.2, h) == lod.SHAPE
    assert lod.level_for(0.3, 160.0) == lod.SUMMARY  # a taller node keeps its summary longer
    assert lod.level_for(0.3, h) == lod.TITLE  # two lines of 12 px do not fit 82 units at 0.3; one does
    for scale in (4.0, 1.0, 0.95, 0.7, 0.5, 0.42, 0.3, 0.1):
        for height in (82.0, 100.0, 130.0):
            level = lod.level_for(scale, height)
            px = lod.text_px_on_screen(level, scale, height)
            assert (px is None) == (level == lod.SHAPE)
            assert px is None or px >= MIN_TEXT_PX, (scale, height, level, px)
            if level == lod.TITLE:  # the one line fits its node
                assert lod.LINE * lod.title_line_px(scale, height) + 2 * lod.PAD <= height + 1e-9
            if level == lod.SUMMARY:  # the summary fits its node
                lay = lod.summary_layout(scale, height)
                assert lod.LINE * (lay.title_px + lay.number_px) + 2 * lod.PAD <= height + 1e-9


@pytest.mark.parametrize(("scale", "level"), [(1.5, lod.FULL), (1.0, lod.FULL), (0.8, lod.SUMMARY),
                                              (0.45, lod.SUMMARY), (0.15, lod.SHAPE)])
def test_a_node_paints_the_level_its_scale_gives_with_text_at_least_12_px(qtbot, scale: float, level: str) -> None:
    scene, view = _canvas(qtbot, _one_node(), target="s")
    item = scene.nodes["x"]
    image = _zoom_to(view, scale, item)
    assert _level_drawn(view, item, image) == level
    assert scene.overview.on == (scale < scene.overview.below())
    if level != lod.SHAPE:
        assert item.painted[1] >= MIN_TEXT_PX


def test_zooming_repaints_the_cached_node_at_its_new_level(qtbot) -> None:
    """DeviceCoordinateCache must not keep the drawing of the old zoom."""
    scene, view = _canvas(qtbot, _one_node(), target="s")
    item = scene.nodes["x"]
    assert item.cacheMode() == item.CacheMode.DeviceCoordinateCache
    seen = []
    for scale in (1.2, 0.5, 1.2, 0.12, 0.5, 1.0):
        item.painted = None
        seen.append(_level_drawn(view, item, _zoom_to(view, scale, item)))
    assert seen == [lod.FULL, lod.SUMMARY, lod.FULL, lod.SHAPE, lod.SUMMARY, lod.FULL]


@pytest.mark.parametrize("scale", [0.9, 0.6, 0.45])
def test_the_summary_draws_the_button_a_click_on_which_makes_the_target(qtbot, scale: float) -> None:
    """Below 100 % the status bar still says "click ∂ on a node": the summary draws a ∂ button
    (in the title's font, ≥ 12 px), and a click on it is a click on it."""
    scene, view = _canvas(qtbot, _one_node("x"), target="s")
    item = scene.nodes["x"]
    image = _zoom_to(view, scale, item)
    assert item.painted[0] == lod.SUMMARY
    button = item.diff_button
    assert button.contains(DIFF_BTN.center()) and button.height() * scale >= MIN_TEXT_PX
    on_screen = view.mapFromScene(item.mapToScene(button)).boundingRect().adjusted(2, 2, -2, -2)
    assert _ink_height(image, QRectF(on_screen), COLORS["text"]) >= 0.7 * MIN_TEXT_PX - 0.5  # the ∂ drawn
    corner = button.bottomLeft() + QPointF(2, -2)  # in the button; below 90 % outside the full level's
    assert DIFF_BTN.contains(corner) == (scale >= 0.9)
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view.mapFromScene(item.mapToScene(corner)))
    assert scene.doc.target == "x"


def _ink_height(image: QImage, rect: QRectF, ink: QColor) -> int:
    """How many pixel rows in rect hold a pixel close to the ink colour."""
    rows = 0
    for y in range(max(0, int(rect.top())), min(image.height(), int(rect.bottom()))):
        for x in range(max(0, int(rect.left())), min(image.width(), int(rect.right()))):
            c = image.pixelColor(x, y)
            if abs(c.red() - ink.red()) + abs(c.green() - ink.green()) + abs(c.blue() - ink.blue()) < 90:
                rows += 1
                break
    return rows


@pytest.mark.parametrize("scale", [1.0, 0.6, 0.45])
def test_the_title_is_at_least_12_px_font_on_screen_in_the_pixels(qtbot, scale: float) -> None:
    """Capital letters of a 12 px font are about 8.7 px tall: count the rows of the title's ink."""
    scene, view = _canvas(qtbot, _one_node("HEIGHT"), target="s")
    item = scene.nodes["x"]
    image = _zoom_to(view, scale, item)
    assert item.painted[0] in (lod.FULL, lod.SUMMARY)
    lay = lod.summary_layout(scale, item.height())
    header_h = HEADER_H if item.painted[0] == lod.FULL else lay.header_h
    header = view.mapFromScene(item.mapToScene(QRectF(2, 0, NODE_W * 0.6, header_h))).boundingRect()
    cap = _ink_height(image, QRectF(header), COLORS["text"])
    assert cap >= 0.7 * MIN_TEXT_PX - 0.5, cap  # 8 rows or more


def test_example_04_opens_readable_at_1400x900(qtbot, window: MainWindow) -> None:
    """What `gradcanvas render` draws: the window at 1400 x 900, the example's one sink as the
    target, Fit. Every node draws text, none smaller than 12 px on screen."""
    fit_window(window, (1400, 900))
    QApplication.processEvents()
    graph = load(EXAMPLES / "04_small_mlp.json")
    window.doc.reset(graph)
    window.doc.set_target("loss")
    qtbot.waitUntil(lambda: window.last_result is not None and window.last_result.target == "loss",
                    timeout=RESULT_TIMEOUT_MS)
    window.computer.wait(RESULT_TIMEOUT_MS)
    QApplication.processEvents()
    window.view.fit_graph()
    for item in window.scene.nodes.values():
        item.painted = None
    window.grab()
    scale = window.view.transform().m11()
    visible = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    for n, item in window.scene.nodes.items():
        assert visible.contains(item.sceneBoundingRect()), n
        level = lod.level_for(scale, item.height())
        assert level != lod.SHAPE, (n, scale)
        assert lod.text_px_on_screen(level, scale, item.height()) >= MIN_TEXT_PX
        assert item.painted is not None and item.painted[0] == level
        assert item.painted[1] >= MIN_TEXT_PX


def test_fit_frames_the_graph_tightly(qtbot) -> None:
    scene, view = _canvas(qtbot, load(EXAMPLES / "01_scalar_partial.json"), target="y")
    view.fit_graph()
    content = view.mapFromScene(scene.content_rect()).boundingRect()
    vp = view.viewport().rect()
    assert vp.contains(content)
    margins = (content.left() - vp.left(), vp.right() - content.right(),
               content.top() - vp.top(), vp.bottom() - content.bottom())
    assert min(margins[0] + margins[1], margins[2] + margins[3]) <= 2 * 14  # one axis is filled


# ---- honest labels ----

def _titled() -> Graph:
    """y = 2*x**2 with titles: x, "x**2" (id sq), "2*x**2" (id two_sq)."""
    g = Graph()
    g.add_node(Node("x", "tensor", value=2.0, requires_grad=True))
    g.add_node(Node("two", "tensor", value=2.0))
    g.add_node(Node("sq", "pow", attrs={"exponent": 2}, label="x**2"))
    g.add_node(Node("two_sq", "mul", label="2*x**2"))
    g.add_node(Node("out", "neg", label="y"))
    g.add_edge(Edge("x", "sq", "input"))
    g.add_edge(Edge("two", "two_sq", "input"))
    g.add_edge(Edge("sq", "two_sq", "other"))
    g.add_edge(Edge("two_sq", "out", "input"))
    return g


def _line(item: NodeItem, scene: CanvasScene) -> str:
    from PySide6.QtGui import QFontMetricsF

    return item.grad_line(QFontMetricsF(scene.mono_font), NODE_W - 16)


def test_overlays_name_the_partial_by_titles_not_ids(qtbot) -> None:
    scene, _view = _canvas(qtbot, _titled(), target="out")
    assert _line(scene.nodes["x"], scene) == "∂y/∂x = -8"  # y = -(2x²): -4x at x = 2
    assert _line(scene.nodes["sq"], scene) == "∂y/∂(x**2) = -2"
    assert _line(scene.nodes["two_sq"], scene) == "∂y/∂(2*x**2) = -1"
    assert "out" not in _line(scene.nodes["out"], scene)


def _summary_of_x(qtbot, **labels: str) -> tuple[NodeItem, str, str, QFontMetricsF]:  # noqa: ANN001
    """Node x of _titled() with these labels (by node id), target out: its summary's marker and
    text, and the summary's own font at 20 px."""
    g = _titled()
    for node_id, label in labels.items():
        g.nodes[node_id] = dataclasses.replace(g.nodes[node_id], label=label)
    scene, _view = _canvas(qtbot, g, target="out")
    item = scene.nodes["x"]
    marker, text, _color = lod.summary_content(item)
    return item, marker, text, QFontMetricsF(lod._number_font(20))  # noqa: SLF001


def test_the_summary_names_the_partial_where_it_fits(qtbot) -> None:
    """Zoomed out, a node shows one number: named ∂y/∂x = … where that fits the box, else ∂ …"""
    item, marker, text, fm = _summary_of_x(qtbot)
    assert lod.summary_line(item, marker, text, fm, 1000) == "∂y/∂x = -8"
    assert lod.summary_line(item, marker, text, fm, fm.horizontalAdvance("∂ -8")) == "∂ -8"
    two = item.canvas.nodes["two"]  # no partial (it does not require grad): its value
    assert lod.summary_line(two, *lod.summary_content(two)[:2], fm, 1000) == "= 2"
    # Too narrow for the name in this font, wide enough in half of it (the smallest the caller
    # may shrink to): named, in smaller type, not a bare ∂ (a student's first view showed ∂ [14, 22])
    narrow = fm.horizontalAdvance("∂y/∂x = -8") * 0.6
    assert lod.summary_line(item, marker, text, fm, narrow) == "∂ -8"
    assert lod.summary_line(item, marker, text, fm, narrow, shrink=0.5) == "∂y/∂x = -8"
    assert lod.summary_line(item, marker, text, fm, narrow / 3, shrink=0.5) == "∂ -8"  # not even then


def test_a_summary_too_narrow_for_long_titles_names_the_partial_by_shortened_ones(qtbot) -> None:
    """A long target title and node title: the summary shortens them ("∂(loss …/∂(weig… = -8")
    before it falls back to the bare marker."""
    item, marker, text, fm = _summary_of_x(qtbot, out="loss of the whole batch", x="weights of the first layer")
    full = "∂(loss of the whole batch)/∂(weights of the first layer) = -8"
    assert lod.summary_line(item, marker, text, fm, 10_000) == full
    line = lod.summary_line(item, marker, text, fm, fm.horizontalAdvance(full) / 3)
    assert line != "∂ -8" and line.endswith(" = -8") and "…" in line and "/∂" in line, line
    assert fm.horizontalAdvance(line) <= fm.horizontalAdvance(full) / 3


def test_a_partial_too_long_for_its_row_keeps_the_names_that_leave_its_first_number_whole(qtbot) -> None:
    """fc2.bias's row read "∂a…/∂f… = [-0.02668, -0.120…": the names cut to initials to show more
    digits. Names come first; the numbers after the first are what is cut."""
    g = Graph()
    g.add_node(Node("b", "tensor", value=[0.1941, -0.04462, 0.0135], requires_grad=True, label="fc2.bias"))
    g.add_node(Node("c", "tensor", value=[-0.02668, -0.1203, 0.04412]))
    g.add_node(Node("m", "mul"))
    g.add_node(Node("t", "sum", label="add"))
    g.add_edge(Edge("b", "m", "input"))
    g.add_edge(Edge("c", "m", "other"))
    g.add_edge(Edge("m", "t", "input"))
    scene, _view = _canvas(qtbot, g, target="t")
    fm, width = QFontMetricsF(scene.mono_font), NODE_W - 16
    line = scene.nodes["b"].grad_line(fm, width)
    assert line.endswith("= [-0.02668, -0.1203, 0.04412]")  # ∂add/∂b = c, cut by the painter
    name = line.split(" = ")[0]
    # "fc2.bias" shortened keeps its last part (graph.naming.formula_name): "∂add/∂…bias"
    assert name.startswith("∂add/∂") and name.endswith("bias")
    assert fm.horizontalAdvance(f"{name} = [-0.02668, …") <= width


def test_a_summary_names_the_partial_whole_in_smaller_type_before_shortening_it(qtbot) -> None:
    """Beside a node titled "a", a node "a_xw" showed "∂y/∂a… = [[1, 1]]" in big type: where the
    whole name fits in type the caller may shrink to, it is used; shortened only where not."""
    item, marker, text, fm = _summary_of_x(qtbot, x="a_xw")
    whole = "∂y/∂a_xw = -8"
    shortened = "∂y/∂a… = -8"
    width = (fm.horizontalAdvance(whole) + fm.horizontalAdvance(shortened)) / 2  # only the shortened fits
    assert lod.summary_line(item, marker, text, fm, width, shrink=0.6) == whole
    assert lod.summary_line(item, marker, text, fm, width, shrink=1.0) == shortened  # no smaller type


def test_the_partial_is_named_by_the_target_it_was_computed_for(qtbot) -> None:
    scene, _view = _canvas(qtbot, _titled(), target="out")
    scene.doc.set_target("sq")  # the result shown was computed for "out" (title y)
    assert _line(scene.nodes["x"], scene).startswith("∂y/∂x")


def test_a_grad_output_result_reads_as_a_vector_jacobian_product(qtbot) -> None:
    ex03 = load(EXAMPLES / "03_vector_element.json")
    scene, _view = _canvas(qtbot, ex03, target="y", grad_output=[1.0, 0.0])
    assert scene.result.grad_output is not None
    assert _line(scene.nodes["x"], scene) == "vᵀ·∂y/∂x = [2, 0]"
    assert lod.summary_content(scene.nodes["x"])[0] == "vᵀ·∂"
    scene2, _view2 = _canvas(qtbot, ex03, target="y1")  # a scalar target: a plain partial
    assert _line(scene2.nodes["x"], scene2) == "∂y[1]/∂x = [0, 4]"
    assert lod.summary_content(scene2.nodes["x"])[0] == "∂"


def test_without_a_target_a_node_shows_its_value_and_no_grad_line(qtbot) -> None:
    scene, view = _canvas(qtbot, _titled(), target=None)
    item = scene.nodes["sq"]
    assert item.view is not None and item.view.value_text == "4"
    assert not item.shows_partial()
    image = _zoom_to(view, 1.5, item)
    assert item.painted[0] == lod.FULL
    top = HEADER_H + PORT_H
    value_row = view.mapFromScene(item.mapToScene(QRectF(8, top + 3, 120, 16))).boundingRect()
    grad_row = view.mapFromScene(item.mapToScene(QRectF(8, top + 21, NODE_W - 16, 14))).boundingRect()
    assert _ink_height(image, QRectF(value_row), COLORS["text"]) > 0  # "= 4" is drawn
    for ink in (COLORS["dim_text"], COLORS["grad_text"], COLORS["text"]):
        assert _ink_height(image, QRectF(grad_row), ink) == 0  # no "no grad: …" under it
    assert lod.summary_content(item)[:2] == ("=", "4")


def test_the_header_badge_shows_the_attributes_that_say_what_an_op_does() -> None:
    assert badge(Node("p", "pow", attrs={"exponent": 2})) == "□ⁿ n=2"
    assert badge(Node("p", "pow", attrs={"exponent": 0.5})) == "□ⁿ n=0.5"
    assert badge(Node("s", "select", attrs={"dim": 0, "index": 1})) == "□[1]"
    assert badge(Node("s", "select", attrs={"dim": 1, "index": 2})) == "□[:, 2]"
    assert badge(Node("r", "reshape", attrs={"shape": [3, -1]})) == "reshape [3,-1]"
    assert badge(Node("t", "transpose", attrs={"dim0": 0, "dim1": 1})) == "□ᵀ 0↔1"
    assert badge(Node("m", "mse_loss", attrs={"reduction": "sum"})) == "MSE sum"
    assert badge(Node("m", "mse_loss")) == "MSE"
    assert badge(Node("s", "sum", attrs={"dim": [1]})) == "Σ dim=[1]"
    assert badge(Node("x", "tensor", value=1.0)) == "leaf"


# ---- new ids, layout, duplicate ----

def test_nodes_added_on_the_canvas_get_short_ids(qtbot) -> None:
    scene, _view = _canvas(qtbot, Graph())
    got = [scene.add_node_at(op, QPointF(i * 300.0, 0)) for i, op in
           enumerate(["tensor", "tensor", "mul", "mul", "tensor", "add"])]
    assert got == ["a", "b", "mul1", "mul2", "c", "add1"]


def _segments_clear(scene: CanvasScene) -> None:
    items = scene.nodes
    rects = {n: QRectF(item.pos(), item.pos() + QPointF(NODE_W, item.height())) for n, item in items.items()}
    for a, b in itertools.combinations(rects, 2):
        assert not rects[a].intersects(rects[b]), f"{a} overlaps {b}"
    from graph.edits import segment_hits_box

    for e in scene.doc.graph.edges:
        p = items[e.src].mapToScene(items[e.src].output_pos())
        q = items[e.dst].mapToScene(items[e.dst].input_pos(e.port))
        for n, r in rects.items():
            if n not in (e.src, e.dst):
                box = (r.x(), r.y(), r.width(), r.height())
                assert not segment_hits_box((p.x(), p.y(), q.x(), q.y()), box), f"{e} runs through {n}"


@pytest.mark.parametrize("name", ["01_scalar_partial", "02_matmul_vector", "04_small_mlp", "random"])
def test_auto_layout_on_the_canvas_keeps_nodes_apart_and_wires_off_nodes(qtbot, name: str) -> None:
    graph = _random_dag(3) if name == "random" else load(EXAMPLES / f"{name}.json")
    scene, _view = _canvas(qtbot, graph)  # values shown: previews make nodes taller
    scene.doc.auto_layout()
    _segments_clear(scene)


def _wires_at_their_ports(scene: CanvasScene) -> None:
    for e in scene.doc.graph.edges:
        path, src, dst = scene.edges[e].path(), scene.nodes[e.src], scene.nodes[e.dst]
        assert path.pointAtPercent(0) == src.mapToScene(src.output_pos()), e
        assert path.pointAtPercent(1) == dst.mapToScene(dst.input_pos(e.port)), e


def test_a_layout_and_its_undo_move_each_wire_once_and_every_wire_ends_at_its_ports(qtbot, monkeypatch) -> None:  # noqa: ANN001
    """A layout moves thousands of nodes in one undo step: the scene takes them in one pass
    (each wire redrawn once, not once per end and again per node)."""
    from gui.canvas.items import Wire

    scene, _view = _canvas(qtbot, _random_dag(3))
    before = {n: item.pos() for n, item in scene.nodes.items()}
    updates: list[Edge] = []
    update_path = Wire.update_path
    monkeypatch.setattr(Wire, "update_path", lambda wire: (updates.append(wire.edge), update_path(wire))[1])
    scene.doc.auto_layout()
    moved = {n for n, item in scene.nodes.items() if item.pos() != before[n]}
    assert moved, "the layout moved nothing: the test shows nothing"
    touched = {e for e in scene.doc.graph.edges if {e.src, e.dst} & moved}
    assert sorted(updates, key=str) == sorted(touched, key=str)  # each once, and only those
    _wires_at_their_ports(scene)
    rows = scene.overview.nodes
    for n in moved:  # the overview's box of each moved node is where it now is
        item = scene.nodes[n]
        assert rows.data[rows.index[n]][:2].tolist() == [item.x(), item.y()], n
    updates.clear()
    scene.doc.undo_stack.undo()
    assert {n: item.pos() for n, item in scene.nodes.items()} == before
    assert sorted(updates, key=str) == sorted(touched, key=str)
    _wires_at_their_ports(scene)


def test_duplicate_puts_the_copy_below_the_original_not_on_it(qtbot, window: MainWindow) -> None:
    window.doc.reset(_titled())
    QApplication.processEvents()
    for n in ("sq", "two_sq"):
        window.scene.nodes[n].setSelected(True)
    before = set(window.doc.graph.nodes)
    window.duplicate()
    new = set(window.doc.graph.nodes) - before
    assert len(new) == 2
    originals = [window.scene.nodes[n].sceneBoundingRect() for n in ("sq", "two_sq")]
    for n in new:
        copy = window.scene.nodes[n].sceneBoundingRect()
        assert not any(copy.intersects(r) for r in originals), n
    old_top = min(window.doc.graph.position(n)[1] for n in ("sq", "two_sq"))
    new_top = min(window.doc.graph.position(n)[1] for n in new)
    assert new_top > old_top + window.scene.nodes["sq"].height()
    assert window.doc.undo_stack.count() == 1


# ---- the empty canvas: menu and hint ----

def _right_click(view: CanvasView, at: QPoint, on_menu) -> list[str]:  # noqa: ANN001 - a callable
    """Right-click at a viewport point; while the menu that opens is up (QMenu.exec runs its
    own event loop), call on_menu(menu) and close it. Returns the menu's action texts."""
    seen: list[str] = []

    def while_open() -> None:
        menu = QApplication.activePopupWidget()
        if isinstance(menu, QMenu):
            seen.extend(a.text() for a in menu.actions())
            on_menu(menu)
        while QApplication.activePopupWidget() is not None:
            QApplication.activePopupWidget().close()

    QTimer.singleShot(100, while_open)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, at, view.viewport().mapToGlobal(at), NO_MOD)
    QApplication.sendEvent(view.viewport(), event)
    return seen


def _action(menu: QMenu, *path: str):  # noqa: ANN202 - a QAction
    for name in path[:-1]:
        menu = next(a.menu() for a in menu.actions() if a.menu() is not None and a.text() == name)
    return next(a for a in menu.actions() if a.text().split()[0] == path[-1])


def test_right_click_on_empty_canvas_offers_add_node_by_category_and_adds_it_there(qtbot) -> None:
    scene, view = _canvas(qtbot, _one_node())
    view.resetTransform()
    view.centerOn(0, 0)
    at = view.mapFromScene(QPointF(0, 300))
    assert scene.node_at(view.mapToScene(at)) is None
    categories: list[str] = []

    def add_mul(menu: QMenu) -> None:
        add = next(a.menu() for a in menu.actions() if a.text() == "Add node")
        categories.extend(a.text() for a in add.actions())
        _action(menu, "Add node", "arithmetic", "mul").trigger()

    assert _right_click(view, at, add_mul) == ["Add node"]
    assert categories[0] == "tensors" and "arithmetic" in categories and "activation" in categories
    assert "mul1" in scene.doc.graph.nodes
    expected = view.mapToScene(at)
    assert scene.doc.graph.position("mul1") == pytest.approx((expected.x(), expected.y()), abs=1.0)
    _right_click(view, at + QPoint(0, 200), lambda menu: _action(menu, "Add node", "tensors", "tensor").trigger())
    assert "a" in scene.doc.graph.nodes and scene.doc.undo_stack.count() == 2


def test_right_click_on_a_node_still_gives_the_node_menu(qtbot) -> None:
    scene, view = _canvas(qtbot, _one_node())
    view.resetTransform()
    view.centerOn(scene.nodes["s"])
    at = view.mapFromScene(scene.nodes["s"].mapToScene(QPointF(100, 40)))
    texts = _right_click(view, at, lambda menu: None)
    assert texts and texts[0].startswith("∂") and "Add node" not in texts


def _center_differs_from_background(view: CanvasView) -> bool:
    image = view.viewport().grab().toImage()
    bg = COLORS["background"]
    c = image.rect().center()
    return any(image.pixelColor(x, y) != bg for x in range(c.x() - 200, c.x() + 200, 2)
               for y in range(c.y() - 30, c.y() + 30))


def test_the_first_run_hint_shows_only_while_the_canvas_is_empty(qtbot) -> None:
    scene, view = _canvas(qtbot, Graph())
    assert view.hint_shown() and _center_differs_from_background(view)
    scene.add_node_at("tensor", QPointF(5000, 5000))  # far from the centre of the view
    assert not view.hint_shown() and not _center_differs_from_background(view)
    scene.doc.undo_stack.undo()
    assert view.hint_shown() and _center_differs_from_background(view)


# ---- a refused wire's label ----

def test_a_refused_wires_label_sits_on_a_dark_box_off_every_node(qtbot) -> None:
    g = Graph()
    g.add_node(Node("a", "tensor", value=2.0), pos=(0.0, 0.0))
    g.add_node(Node("m", "mul"), pos=(370.0, 0.0))
    g.add_node(Node("above", "neg"), pos=(370.0, -150.0))  # right where a label above m would go
    g.add_node(Node("n", "neg"), pos=(740.0, 0.0))
    g.add_edge(Edge("a", "m", "input"))
    g.add_edge(Edge("m", "n", "input"))
    scene, view = _canvas(qtbot, g)
    view.resetTransform()
    view.centerOn(scene.nodes["m"])
    vp = view.viewport()
    start = view.mapFromScene(scene.nodes["n"].mapToScene(scene.nodes["n"].output_pos()))
    end = view.mapFromScene(scene.nodes["m"].mapToScene(scene.nodes["m"].input_pos("other")))
    QTest.mousePress(vp, LEFT, NO_MOD, start)
    for t in (0.25, 0.5, 0.75, 1.0):
        QTest.mouseMove(vp, start + (end - start) * t)
    drag = scene.interaction
    assert isinstance(drag, WireDrag) and "cycle" in drag.label.text()
    w, h = drag.label.size_px()
    corner = view.mapFromScene(drag.label.pos())
    box = QRectF(corner.x(), corner.y() - h, w, h)
    for n, item in scene.nodes.items():
        assert not box.intersects(QRectF(view.mapFromScene(item.sceneBoundingRect()).boundingRect())), n
    image = vp.grab().toImage()
    inside = image.pixelColor(int(box.left()) + 2, int(box.center().y()))
    assert inside.lightness() < 40  # the dark box behind the text
    QTest.mouseRelease(vp, LEFT, NO_MOD, end)
    assert Edge("n", "m", "other") not in scene.doc.graph.edges


def test_the_summary_writes_small_tensors_out_and_keeps_swatches_for_big_ones(qtbot) -> None:
    ex02 = load(EXAMPLES / "02_matmul_vector.json")
    scene, _view = _canvas(qtbot, ex02, target="y")
    x = torch.tensor([1.0, 2.0], requires_grad=True)  # y = sum(a * (x.reshape(1, -1) @ w))
    (2.0 * (x.reshape(1, -1) @ torch.tensor([[3.0, 4.0], [5.0, 6.0]]))).sum().backward()
    assert lod.summary_content(scene.nodes["x"])[:2] == ("∂", "[14, 22]") == ("∂", nested(x.grad.tolist()))
    big = Graph()
    big.add_node(Node("W", "tensor", init={"fn": "ones", "shape": [3, 4]}, requires_grad=True), pos=(0.0, 0.0))
    big.add_node(Node("s", "sum"), pos=(400.0, 0.0))
    big.add_edge(Edge("W", "s", "input"))
    scene2, _view2 = _canvas(qtbot, big, target="s")
    assert scene2.nodes["W"].swatch is not None and lod.summary_content(scene2.nodes["W"])[1] == ""


def _colours_in(view: CanvasView, item: NodeItem, image: QImage) -> set[int]:
    box = view.mapFromScene(item.sceneBoundingRect()).boundingRect()
    return {image.pixelColor(x, y).rgb() for x in range(box.left() + 3, box.right() - 3)
            for y in range(box.top() + 3, box.bottom() - 3)}


def test_a_short_node_showing_a_partial_marks_it_beside_its_title(qtbot) -> None:
    """An imported bias (a short 1-D leaf) drawn as its title alone beside its weight's summary
    read as having no gradient: a ∂ in the partial's colour stands at its title's end; a leaf
    without a partial (y_true: no requires_grad) has none."""
    graph = load(EXAMPLES / "04_small_mlp.json")
    scene, view = _canvas(qtbot, graph, target="loss")
    bias, constant = scene.nodes["b1"], scene.nodes["y_true"]
    image = _zoom_to(view, 0.35, bias)
    assert _level_drawn(view, bias, image) == lod.TITLE and _level_drawn(view, constant, image) == lod.TITLE
    assert lod.summary_content(bias)[0] == "∂" and lod.summary_content(constant)[0] == "="
    grad = COLORS["grad_text"].rgb()
    assert grad in _colours_in(view, bias, image)
    assert grad not in _colours_in(view, constant, image)


def _summary_texts(item: NodeItem, scale: float) -> list[str]:
    image = QImage(400, 400, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    recorder = RecordingPainter(painter)
    try:
        lod.paint_summary(item, recorder, scale)
    finally:
        painter.end()
    return recorder.texts


@pytest.mark.parametrize("scale", [0.6, 0.69, 0.9])
def test_zoomed_out_a_node_shows_its_value_above_its_partial_where_two_lines_fit(qtbot, scale: float) -> None:
    """A lesson opens fitted (0.5–0.7): each node showed one number, its partial once there was a
    target, while the lesson's text spoke of values ("Here y = … = 17") no node showed. Where two
    lines of 12 px fit, the value stands above the partial."""
    graph = load(EXAMPLES / "01_scalar_partial.json")
    scene, _view = _canvas(qtbot, graph, target="y")
    y, x = scene.nodes["y"], scene.nodes["x"]
    assert lod.level_for(scale, y.height()) == lod.SUMMARY
    assert _summary_texts(y, scale)[-2:] == ["= 17", "∂y/∂y = 1"]
    assert _summary_texts(x, scale)[-2:] == ["= 2", "∂y/∂x = 8"]
    assert _summary_texts(scene.nodes["z"], scale)[-1] == "= 3"  # no partial (requires_grad off): one line


def test_where_one_line_fits_the_target_shows_its_value_not_its_partial_of_one(qtbot) -> None:
    """Example 02 opened fitted, its target y read "∂y/∂y = 1" and its value, 58, was nowhere on
    the canvas (review): the target's partial is 1 by definition, so one line holds its value."""
    graph = load(EXAMPLES / "01_scalar_partial.json")
    scene, _view = _canvas(qtbot, graph, target="y")
    y, x = scene.nodes["y"], scene.nodes["x"]
    scale = 0.45
    assert lod.level_for(scale, y.height()) == lod.SUMMARY
    y_texts, x_texts = _summary_texts(y, scale), _summary_texts(x, scale)
    assert y_texts[-1] == "= 17" and not any("∂y/∂y" in t for t in y_texts)
    assert x_texts[-1] == "∂y/∂x = 8" and "= 2" not in x_texts  # any other node: its partial, as before


def test_the_value_stands_for_the_partial_only_on_the_node_the_shown_partials_are_of(qtbot) -> None:
    """The document's target moves before its result arrives: until then x still shows ∂y/∂x = 8
    (the partials shown are y's), and y its value (review: the check read the new target)."""
    graph = load(EXAMPLES / "01_scalar_partial.json")
    scene, _view = _canvas(qtbot, graph, target="y")
    scene.doc.set_target("x")  # no new result shown here
    x, y = scene.nodes["x"], scene.nodes["y"]
    assert x.is_target and not y.is_target and x.view_target == "y"
    assert _summary_texts(x, 0.45)[-1] == "∂y/∂x = 8"
    assert _summary_texts(y, 0.45)[-1] == "= 17"


def test_a_target_with_a_grad_output_keeps_its_vjp_on_one_line(qtbot) -> None:
    """With a grad-output the target's partial is v, not 1 (and its swatch is v's colours): it stays."""
    g = Graph()
    g.add_node(Node("x", "tensor", value=[1.0, 2.0], requires_grad=True))
    g.add_node(Node("y", "neg"))
    g.add_edge(Edge("x", "y", "input"))
    scene, _view = _canvas(qtbot, g, target="y", grad_output=[1.0, 0.0])
    y = scene.nodes["y"]
    assert y.view_vjp
    texts = _summary_texts(y, 0.45)
    assert any("vᵀ·∂" in t for t in texts) and not any(t.startswith("=") for t in texts[-1:]), texts


def test_beside_taller_nodes_showing_their_summary_a_short_node_shows_its_title(qtbot) -> None:
    """Example 04 fitted: b1, W2 and target (82 units tall) were blank boxes beside W1's
    summary (112 units), since two lines of 12 px no longer fit them; now they show their title."""
    graph = load(EXAMPLES / "04_small_mlp.json")
    scene, view = _canvas(qtbot, graph, target="loss")
    tall, short = scene.nodes["W1"], scene.nodes["b1"]
    scale = 0.35
    assert short.height() < tall.height() and lod.summary_layout(scale, short.height()) is None
    image = _zoom_to(view, scale, short)
    assert not scene.overview.on
    assert _level_drawn(view, tall, image) == lod.SUMMARY and _level_drawn(view, short, image) == lod.TITLE
    assert short.painted[1] >= MIN_TEXT_PX
    assert COLORS["text"].rgb() in _colours_in(view, short, image), "no title drawn in the short node's box"
