"""A nested group's frame title never overlaps its parent's: zoomed out, titles grow up out of
their band to stay readable, and a nested one may grow only into the padding between it and its
parent's band."""

from __future__ import annotations

import json

import pytest
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
