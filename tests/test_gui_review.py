"""Review findings on the GUI: ids that outgrow the loader, pasted cycles, render sizes and
atomic PNGs, a scene that reaches every node, the toolbar dtype in export and slice plots,
big and non-finite tensors on the canvas, positions filled in at open, the headless PNG.

Expected values come from the loader, plain torch or the engine, computed here.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import RESULT_TIMEOUT_MS, delete_at_teardown
from PySide6.QtCore import QPointF, QSettings
from PySide6.QtGui import QColor, QFontMetricsF, QImage
from PySide6.QtWidgets import QApplication, QFileDialog

import gui.app
from autograd_bridge.compute import PREVIEW_SIDE, ComputeSession
from autograd_bridge.engine import Compiled
from autograd_bridge.formatting import tensor_text
from gradcanvas.cli import main as cli_main
from graph.edits import POS_LIMIT, unique_id
from graph.errors import GraphError
from graph.fileformat import MAX_ID_LENGTH, dumps, load, loads, save
from graph.layout import COLUMN_GAP, STRIP_ASPECT, STRIP_MIN_GENERATIONS
from graph.model import Edge, Graph, Node
from gui.canvas import COLORS, NODE_W, _preview_image
from gui.document import Document
from gui.window import MainWindow

ROOT = Path(__file__).resolve().parent.parent
EX01 = ROOT / "resources" / "examples" / "01_scalar_partial.json"
EX04 = ROOT / "resources" / "examples" / "04_small_mlp.json"


def _chain(n: int, positions: bool = False) -> Graph:
    g = Graph()
    g.add_node(Node("x0", "tensor", value=0.5, requires_grad=True), pos=(0.0, 0.0) if positions else None)
    for i in range(1, n):
        g.add_node(Node(f"x{i}", "neg"), pos=(i * 240.0, 0.0) if positions else None)
        g.edges.append(Edge(f"x{i - 1}", f"x{i}", "input"))
    return g


def _visible(w: MainWindow):  # noqa: ANN202 - QRectF
    return w.view.mapToScene(w.view.viewport().rect()).boundingRect()


# ---- 1. ids never outgrow the loader's limit ----

def test_duplicating_a_longest_id_gives_ids_the_loader_takes(qtbot, tmp_path: Path) -> None:
    doc = delete_at_teardown(Document())
    g = Graph()
    long_id = "a" * MAX_ID_LENGTH
    g.add_node(Node(long_id, "tensor", value=1.0), pos=(0.0, 0.0))
    doc.reset(g)
    for _ in range(11):  # up to _12: the number grows, the id does not
        doc.paste(doc.copy_text([long_id]))
    assert len(doc.graph.nodes) == 12
    assert all(len(n) <= MAX_ID_LENGTH for n in doc.graph.nodes)
    path = tmp_path / "long.json"
    save(doc.graph, path)
    assert set(load(path).nodes) == set(doc.graph.nodes)


def test_unique_id_of_a_long_numbered_stem_is_trimmed_and_new() -> None:
    g = Graph()
    base = "b" * (MAX_ID_LENGTH - 3) + "_99"
    g.add_node(Node(base, "tensor", value=1.0))
    new = unique_id(g, base)
    assert len(new) <= MAX_ID_LENGTH and new not in g.nodes and new.endswith("_2")
    assert unique_id(g, "c" * (MAX_ID_LENGTH + 5)) == "c" * (MAX_ID_LENGTH - 2) + "_2"


# ---- 2. paste follows the edge rules ----

CYCLE = {"format": "gradcanvas", "version": 1,
         "nodes": [{"id": "a", "op": "exp"}, {"id": "b", "op": "exp"}, {"id": "c", "op": "neg"}],
         "edges": [{"from": "a", "to": "b", "port": "input"}, {"from": "b", "to": "a", "port": "input"},
                   {"from": "b", "to": "c", "port": "input"}]}


def test_paste_refuses_a_fragment_with_a_cycle_and_changes_nothing() -> None:
    doc = delete_at_teardown(Document())
    doc.reset(load(EX01))
    before = dumps(doc.graph)
    with pytest.raises(GraphError) as info:
        doc.paste(json.dumps(CYCLE))
    assert "cycle" in info.value.message
    assert set(info.value.node_ids) == {"a", "b"}
    assert dumps(doc.graph) == before and doc.undo_stack.count() == 0


def test_window_paste_of_a_cycle_says_why(window: MainWindow) -> None:
    window.doc.reset(load(EX01))
    before = dumps(window.doc.graph)
    window._paste_text(json.dumps(CYCLE))
    assert dumps(window.doc.graph) == before
    assert "cannot paste" in window.statusBar().currentMessage()
    assert "cycle" in window.statusBar().currentMessage()


def test_paste_of_an_absurd_position_lands_near_the_origin() -> None:
    doc = delete_at_teardown(Document())
    frag = {"format": "gradcanvas", "version": 1,
            "nodes": [{"id": "x", "op": "tensor", "value": 1.0, "pos": [1e300, -1e300]}], "edges": []}
    (new,) = doc.paste(json.dumps(frag))
    x, y = doc.graph.position(new)
    assert abs(x) <= POS_LIMIT and abs(y) <= POS_LIMIT


# ---- 3. render: exactly the size asked for, written atomically, .png only ----

@pytest.mark.parametrize("size", [(300, 200), (1000, 700)])
def test_render_writes_exactly_the_requested_size(qtbot, tmp_path: Path, size: tuple[int, int]) -> None:
    out = tmp_path / "out.png"
    out.write_bytes(b"an older render")
    assert cli_main(["render", str(EX04), "-o", str(out), "--size", f"{size[0]}x{size[1]}"]) == 0
    image = QImage(str(out))
    assert (image.width(), image.height()) == size
    colours = {image.pixel(x, y) for x in range(0, size[0], 5) for y in range(0, size[1], 5)}
    assert len(colours) > 20
    assert sorted(os.listdir(tmp_path)) == ["out.png"]  # no temporary file left behind


@pytest.mark.parametrize("size", [(300, 200), (1000, 700)])
def test_render_window_takes_the_size_itself(qtbot, tmp_path: Path, size: tuple[int, int]) -> None:
    from gui.render import fit_window

    w = MainWindow(QSettings(str(tmp_path / "render.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    fit_window(w, size)
    w.show()
    QApplication.processEvents()
    assert (w.width(), w.height()) == size
    assert (w.grab().width(), w.grab().height()) == size
    assert w.view.width() > size[0] * 0.55  # the canvas keeps most of a smaller window


def test_render_refuses_an_output_that_is_not_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.jpg"
    assert cli_main(["render", str(EX01), "-o", str(out)]) == 1
    assert not out.exists() and os.listdir(tmp_path) == []
    err = capsys.readouterr().err
    assert err.startswith("error:") and ".png" in err and "Traceback" not in err


# ---- 4. the scene reaches every node ----

def test_two_thousand_nodes_without_positions_are_all_reachable(window: MainWindow) -> None:
    window.doc.reset(_chain(2000))
    nodes = window.scene.nodes
    xs = sorted({item.pos().x() for item in nodes.values()})
    ys = sorted({item.pos().y() for item in nodes.values()})
    assert len(xs) == math.ceil(math.sqrt(2000)) and len(ys) == math.ceil(2000 / len(xs))  # square-ish
    scene_rect = window.scene.sceneRect()
    assert all(scene_rect.contains(item.sceneBoundingRect()) for item in nodes.values())
    window.view.fit_graph()
    visible = _visible(window)
    assert all(visible.contains(item.sceneBoundingRect()) for item in nodes.values())
    window.view.resetTransform()  # at 100 %, the last node can be scrolled to
    window.view.centerOn(nodes["x1999"])
    assert _visible(window).contains(nodes["x1999"].sceneBoundingRect().center())


def test_layout_of_a_long_chain_wraps_and_fit_shows_it_all(window: MainWindow) -> None:
    window.doc.reset(_chain(2000, positions=True))
    window.doc.auto_layout()
    nodes = window.scene.nodes
    xs = [item.pos().x() for item in nodes.values()]
    ys = [item.pos().y() for item in nodes.values()]
    width, height = max(xs) - min(xs), max(ys) - min(ys)
    assert width < 100_000 and 0.2 < width / height < 5  # wrapped into bands, not 480,000 wide
    assert len({(x, y) for x, y in zip(xs, ys, strict=True)}) == 2000  # no two on one spot
    window.view.fit_graph()
    visible = _visible(window)
    assert all(visible.contains(item.sceneBoundingRect()) for item in nodes.values())
    scale = window.view.transform().m11()
    window.view.zoom(1.25)  # a fit below the usual minimum zoom can still zoom in
    assert window.view.transform().m11() == pytest.approx(scale * 1.25)


def test_short_layouts_are_not_wrapped(window: MainWindow) -> None:
    n = STRIP_MIN_GENERATIONS
    window.doc.reset(_chain(n, positions=True))
    window.doc.auto_layout()
    pitch = NODE_W + COLUMN_GAP
    assert {window.doc.graph.position(f"x{i}") for i in range(n)} == {(i * pitch, 0.0) for i in range(n)}


def test_a_chain_that_would_be_a_thin_strip_wraps_so_that_fit_shows_it_readably(window: MainWindow) -> None:
    """An imported MLP laid out in one row was ~15 times wider than tall: fitted to the window its
    nodes were specks. A chain past STRIP_MIN_GENERATIONS that would be a strip wraps into bands,
    read left to right, one band below the other, each starting at the left."""
    window.doc.reset(_chain(14, positions=True))
    window.doc.auto_layout()
    pos = [window.doc.graph.position(f"x{i}") for i in range(14)]
    xs, ys = [x for x, _ in pos], [y for _, y in pos]
    assert len(set(ys)) > 1 and (max(xs) - min(xs)) / (max(ys) - min(ys) + 100) < STRIP_ASPECT
    for (x0, y0), (x1, y1) in zip(pos, pos[1:], strict=False):  # the next node is right of it, or starts a band below
        assert (y1 == y0 and x1 > x0) or (y1 > y0 and x1 == min(xs))


def test_scene_rect_grows_when_a_node_moves_far_away(window: MainWindow) -> None:
    window.doc.reset(load(EX01))
    window.doc.move({"y": (400_000.0, -300_000.0)})
    item = window.scene.nodes["y"]
    assert window.scene.sceneRect().contains(item.sceneBoundingRect())
    window.view.centerOn(item)
    assert _visible(window).contains(item.sceneBoundingRect().center())


def test_absurd_positions_are_drawn_on_the_grid(window: MainWindow, tmp_path: Path) -> None:
    path = tmp_path / "hugepos.json"
    path.write_text('{"format": "gradcanvas", "version": 1, "nodes": ['
                    '{"id": "x", "op": "tensor", "value": 1.0, "requires_grad": true, "pos": [1e308, 1e308]},'
                    '{"id": "s", "op": "exp", "pos": [-1e308, -1e308]}, {"id": "t", "op": "neg", "pos": [10, 20]}],'
                    '"edges": [{"from": "x", "to": "s", "port": "input"}, {"from": "s", "to": "t", "port": "input"}]}')
    assert window.open_file(str(path))
    for n in ("x", "s"):
        item = window.scene.nodes[n]
        assert abs(item.pos().x()) <= POS_LIMIT and abs(item.pos().y()) <= POS_LIMIT
        assert window.doc.graph.position(n) == (item.pos().x(), item.pos().y())
    assert window.scene.nodes["t"].pos() == QPointF(10, 20)
    assert window.doc.undo_stack.count() == 0 and window.doc.undo_stack.isClean()
    window.view.fit_graph()
    visible = _visible(window)
    assert all(visible.contains(item.sceneBoundingRect()) for item in window.scene.nodes.values())


# ---- 5. the toolbar's dtype reaches export and the slice plot ----

def test_export_uses_the_toolbar_dtype(qtbot, window: MainWindow, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    out = tmp_path / "graph.py"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(out), "")))
    window.doc.reset(load(EX01))
    window.doc.set_target("y")
    window.dtype_box.setCurrentText("float64")
    window.export_dialog()
    qtbot.waitUntil(out.exists, timeout=RESULT_TIMEOUT_MS)  # made by the worker
    text = out.read_text()
    assert "dtype=torch.float64" in text and "float32" not in text


def test_slice_plot_uses_the_toolbar_dtype(qtbot, window: MainWindow) -> None:
    g = load(EX01)
    # 0.1 is not exact in binary: float32 and float64 differ
    g.replace_node(dataclasses.replace(g.nodes["x"], value=0.1))
    window.doc.reset(g)
    window.dtype_box.setCurrentText("float64")
    window.doc.set_target("y")
    qtbot.waitUntil(lambda: window.last_result is not None, timeout=RESULT_TIMEOUT_MS)
    with qtbot.waitSignal(window.computer.sliceReady, timeout=RESULT_TIMEOUT_MS,
                          check_params_cb=lambda s: s is not None and s.leaf == "x") as got:
        window._request_slice("x")
    s = got.args[0]
    x = torch.tensor(0.1, dtype=torch.float64)
    y64 = (2.0 * x ** 2 + 3.0 * torch.tensor(3.0, dtype=torch.float64)).item()
    x32 = torch.tensor(0.1, dtype=torch.float32)
    y32 = (2.0 * x32 ** 2 + 3.0 * torch.tensor(3.0)).item()
    assert y64 != y32
    assert s.x0 == 0.1 and s.y0 == y64


# ---- 6. big tensors: short text, a preview, NaN / inf drawn ----

def test_tensor_text_of_a_big_tensor_is_short_and_keeps_the_norm() -> None:
    t = torch.full((2000, 2000), 3.0)
    text = tensor_text(t)
    norm = torch.linalg.vector_norm(t.double()).item()  # 6000
    assert text.startswith("[2000, 2000] ") and "norm" in text and len(text) <= 28
    assert float(text.rsplit(" ", 1)[1]) == pytest.approx(norm, rel=1e-3)
    big = tensor_text(torch.full((64, 3, 224, 224), 7.0))
    assert len(big) <= 32 and float(big.rsplit(" ", 1)[1]) == pytest.approx(
        torch.linalg.vector_norm(torch.full((64, 3, 224, 224), 7.0, dtype=torch.float64)).item(), rel=1e-3)


def _big_graph() -> Graph:
    g = Graph()
    g.add_node(Node("W", "tensor", init={"fn": "randn", "shape": [600, 500], "seed": 1}, requires_grad=True),
               pos=(0.0, 0.0))
    g.add_node(Node("l", "log"), pos=(300.0, 0.0))
    g.add_node(Node("s", "sum"), pos=(600.0, 0.0))
    for _e in [Edge("W", "l", "input"), Edge("l", "s", "input")]:
        g.add_edge(_e)
    return g


def test_big_tensors_get_a_strided_preview_with_their_nan(qtbot, window: MainWindow) -> None:
    g = _big_graph()
    result = ComputeSession().compute(g, "s", 0)
    values = Compiled(g).run("s").values
    view = result.nodes["l"]
    assert view.value is None  # too big for the plots (300,000 elements)
    rows, cols = view.value_preview.shape
    assert rows <= PREVIEW_SIDE and cols <= PREVIEW_SIDE
    expected = values["l"].detach()[::math.ceil(600 / PREVIEW_SIDE), ::math.ceil(500 / PREVIEW_SIDE)].double()
    np.testing.assert_array_equal(view.value_preview, expected.numpy())  # NaN where W < 0
    assert np.isnan(view.value_preview).any()
    # On the canvas: a preview drawn, with the NaN cells in their own colour.
    window.doc.reset(g)
    window.scene.show_result(result)
    item = window.scene.nodes["l"]
    value_img, grad_img = item._previews
    assert value_img is not None and grad_img is not None
    nonfinite = COLORS["nonfinite"].rgb()
    assert nonfinite in {value_img.pixel(x, y) for x in range(value_img.width()) for y in range(value_img.height())}
    fm = QFontMetricsF(window.scene.mono_font)
    for line in (item.value_line(fm, NODE_W - 16), item.grad_line(fm, NODE_W - 16)):
        assert fm.horizontalAdvance(line) <= NODE_W - 16 and "norm" in line


def test_sparkline_marks_inf_and_nan() -> None:
    a = np.array([1.0, 2.0, np.inf, 3.0, np.nan, 2.0, 1.0, 0.0, -1.0, 4.0])
    img = _preview_image(a, 80, 24)
    assert img is not None
    colours = {QColor(img.pixel(x, y)).rgb() for x in range(80) for y in range(24)}
    assert COLORS["nonfinite"].rgb() in colours
    finite = _preview_image(np.arange(10.0), 80, 24)
    assert COLORS["nonfinite"].rgb() not in {finite.pixel(x, y) for x in range(80) for y in range(24)}


# ---- 7. positions are filled in at open, not behind the undo stack at save ----

def test_positions_are_given_at_open_and_saving_changes_nothing(window: MainWindow, tmp_path: Path) -> None:
    src = tmp_path / "nopos.json"
    save(_chain(5), src)
    assert window.open_file(str(src))
    doc = window.doc
    assert all(doc.graph.position(n) is not None for n in doc.graph.nodes)
    for n in doc.graph.nodes:
        assert (window.scene.nodes[n].pos().x(), window.scene.nodes[n].pos().y()) == doc.graph.position(n)
    assert doc.undo_stack.count() == 0 and doc.undo_stack.isClean() and not window.isWindowModified()
    before = dumps(doc.graph)
    out = tmp_path / "saved.json"
    assert window._save_to(str(out))
    assert dumps(doc.graph) == before
    assert dumps(loads(out.read_text())) == before


# ---- 8. no screen: the PNG goes to a new file in the temporary folder ----

def test_headless_start_writes_a_new_png_in_the_temp_folder(qtbot, tmp_path: Path, monkeypatch,  # noqa: ANN001
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    temp, work = tmp_path / "temp", tmp_path / "work"
    temp.mkdir()
    work.mkdir()
    (work / "01_scalar_partial.png").write_bytes(b"the user's own picture")
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    monkeypatch.chdir(work)
    paths = []
    for _ in range(2):
        assert gui.app._headless(str(EX01)) == 0
        out = capsys.readouterr().out
        (path,) = [p for p in temp.iterdir() if str(p) in out and p not in paths]
        paths.append(path)
        image = QImage(str(path))
        assert (image.width(), image.height()) == (1400, 900)
    assert paths[0] != paths[1]
    assert (work / "01_scalar_partial.png").read_bytes() == b"the user's own picture"
    assert os.listdir(work) == ["01_scalar_partial.png"]
