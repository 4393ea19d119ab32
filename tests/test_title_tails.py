"""A node title too long for its header keeps what tells it apart: imported models name their
nodes by module path ("blocks.0.ln.weight", fx's "blocks_0_fc2"), and a header cut at the right
read "blocks…" on every node of every block. Such names keep their end ("…ln.weight"); other
titles ("input batch") keep their beginning (gui.canvas.labels.fitted_title, which the node
headers at every level of detail and the group frames use); so does a partial's name on a node
(graph.naming.formula_name: "∂mean/∂…weight", not "∂mean/∂blo…")."""

from __future__ import annotations

import pytest
from helpers import RecordingPainter, scene_and_view
from PySide6.QtGui import QFontMetricsF, QImage, QPainter

from graph.model import Edge, Graph, Node
from gui.canvas.labels import fitted_title, partial_row_names
from gui.canvas.style import title_font


@pytest.fixture
def fm(qapp) -> QFontMetricsF:  # noqa: ANN001, ARG001 - fonts need the application
    return QFontMetricsF(title_font())


def test_a_title_that_fits_is_whole(fm: QFontMetricsF) -> None:
    assert fitted_title(fm, "blocks.0.ln.weight", fm.horizontalAdvance("blocks.0.ln.weight")) == "blocks.0.ln.weight"


@pytest.mark.parametrize(("title", "room_for", "shown"), [
    ("blocks.0.ln.weight", "…ln.weight", "…ln.weight"),
    ("blocks.0.ln.weight", "…ln.weigh", "…weight"),  # whole parts only, as many as fit
    ("blocks_0_fc2", "…0_fc2", "…0_fc2"),
    ("encoder.layers.11.self_attn.out_proj.bias", "…out_proj.bias", "…out_proj.bias"),
])
def test_a_name_in_parts_keeps_its_end(fm: QFontMetricsF, title: str, room_for: str, shown: str) -> None:
    assert fitted_title(fm, title, fm.horizontalAdvance(room_for)) == shown


def test_a_name_whose_last_part_does_not_fit_keeps_its_beginning(fm: QFontMetricsF) -> None:
    width = fm.horizontalAdvance("…ight")
    shown = fitted_title(fm, "blocks.0.ln.weight", width)
    assert shown.endswith("…") and "blocks.0.ln.weight".startswith(shown[:-1]) and len(shown) > 1
    assert fm.horizontalAdvance(shown) <= width


@pytest.mark.parametrize("title", ["input batch values", "averylongplainnamewithoutparts",
                                   "scaled_dot_product_attention_12", "layers.10"])
def test_other_titles_keep_their_beginning(fm: QFontMetricsF, title: str) -> None:
    shown = fitted_title(fm, title, fm.horizontalAdvance(title[:6]))
    assert shown.endswith("…") and title.startswith(shown[:-1]) and len(shown) > 1


def test_a_name_ending_in_a_separator_shows_more_than_the_ellipsis(fm: QFontMetricsF) -> None:
    shown = fitted_title(fm, "averylongname_", fm.horizontalAdvance("…name_"))
    assert shown.endswith("…") and len(shown) > 2 and "averylongname_".startswith(shown[:-1])


def test_a_node_header_shows_the_end_of_an_imported_name(qtbot) -> None:  # noqa: ANN001
    g = Graph()
    g.add_node(Node("encoder.layers.11.self_attn.out_proj.weight", "tensor", value=[1.0, 2.0]))
    scene, _view = scene_and_view(qtbot, g)
    item = scene.nodes["encoder.layers.11.self_attn.out_proj.weight"]
    image = QImage(400, 400, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    recorder = RecordingPainter(painter)
    try:
        item._paint_full(recorder)
    finally:
        painter.end()
    headers = [t for t in recorder.texts if "weight" in t]
    assert headers and all(t.startswith("…") and t.endswith("out_proj.weight") for t in headers), recorder.texts


def test_the_partial_row_offers_the_last_part_before_the_first_letters() -> None:
    names = partial_row_names("mean", "blocks.0.ln.weight", vjp=False)
    assert names[0] == "∂mean/∂blocks.0.ln.weight"
    assert names.index("∂mean/∂…ln.weight") < names.index("∂mean/∂…weight") < names.index("∂mean/∂blo…")
    assert names[-1] == "∂m…/∂b…"  # the least that still names both


def test_a_leaf_without_grad_says_why_whole_on_its_partial_line(qtbot) -> None:  # noqa: ANN001
    """Example 02's constant a read "no grad: requires_grad is o…" at every zoom (the node's
    width is fixed in scene units): where the prefix does not fit, the reason stands alone."""
    from autograd_bridge.compute import ComputeSession

    g = Graph()
    g.add_node(Node("a", "tensor", value=2.0))
    g.add_node(Node("x", "tensor", value=3.0, requires_grad=True))
    g.add_node(Node("y", "mul"))
    g.add_edge(Edge("a", "y", "input"))
    g.add_edge(Edge("x", "y", "other"))
    scene, _view = scene_and_view(qtbot, g, target="y")
    scene.show_result(ComputeSession().compute(scene.doc.graph, "y", scene.doc.revision))
    image = QImage(400, 400, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    recorder = RecordingPainter(painter)
    try:
        scene.nodes["a"]._paint_full(recorder)
    finally:
        painter.end()
    assert "requires_grad is off" in recorder.texts or "no grad: requires_grad is off" in recorder.texts, recorder.texts
    assert not any(t.endswith("…") and "requires_grad" in t for t in recorder.texts), recorder.texts
