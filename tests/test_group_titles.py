"""A nested group's frame title never overlaps its parent's: zoomed out, titles grow up out of
their band to stay readable, and a nested one may grow only into the padding between it and its
parent's band."""

from __future__ import annotations

import json

import pytest
from helpers import RecordingPainter
from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QApplication

from graph.fileformat import loads
from gui.window import MainWindow

NESTED = {
    "format": "gradcanvas", "version": 2,
    "nodes": [{"id": "x", "op": "tensor", "value": [1.0, 2.0], "requires_grad": True, "pos": [0, 0]},
              {"id": "t", "op": "tanh", "pos": [200, 0]}, {"id": "s", "op": "sum", "pos": [400, 0]}],
    "edges": [{"from": "x", "to": "t", "port": "input"}, {"from": "t", "to": "s", "port": "input"}],
    "groups": [{"id": "outer", "members": ["s"]},
               {"id": "inner", "parent": "outer", "members": ["x", "t"]}],
}


@pytest.mark.parametrize("scale", [1.0, 0.6, 0.36, 0.2])
def test_a_nested_frames_title_stays_below_its_parents_title(window: MainWindow, scale: float) -> None:
    window.doc.reset(loads(json.dumps(NESTED)))
    QApplication.processEvents()
    layer = window.scene.groups
    layer.rebuild()
    outer, inner = layer.items["outer"], layer.items["inner"]
    assert inner.nested and not outer.nested
    _font, outer_band = outer.title_band(scale)
    font, inner_band = inner.title_band(scale)
    assert inner_band.top() >= outer_band.bottom() - 1e-6  # the inner title starts below the outer's
    assert font.pixelSize() * scale >= 6  # still drawn at a size one can read at this zoom


def _overview_titles(layer: object, scale: float) -> list[tuple[str, QRectF]]:
    image = QImage(2000, 2000, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    painter.scale(scale, scale)
    recorder = RecordingPainter(painter)
    try:
        layer.paint_overview(recorder, QRectF(-1e5, -1e5, 2e5, 2e5), collapsed=False)
    finally:
        painter.end()
    return [(text, QRectF(rect)) for rect, _flags, text in recorder.drawn]


def test_zoomed_out_a_nested_frames_title_is_not_written_over_its_parents(window: MainWindow) -> None:
    """In the overview titles are 12 px on screen at the frame's top: a nested frame's top is a
    pixel or two below its parent's there, and "outer" and "inner" were written over each other
    (an imported model's "blocks.0" and "blocks.0.ln"). The parent's is written; the nested one's
    where it has a line of its own."""
    window.doc.reset(loads(json.dumps(NESTED)))
    QApplication.processEvents()
    layer = window.scene.groups
    layer.rebuild()
    far = _overview_titles(layer, 0.25)
    assert [t for t, _ in far] == ["outer"]
    near = _overview_titles(layer, 2.0)
    assert sorted(t for t, _ in near) == ["inner", "outer"]
    assert not near[0][1].intersects(near[1][1])
