"""Assertions shared by the GUI test files (imported as `helpers`: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import pytest


def assert_scene_mirrors(window) -> None:  # noqa: ANN001 - gui.window.MainWindow
    """The canvas shows exactly the document: its nodes, edges, positions and fed ports."""
    doc, scene = window.doc, window.scene
    assert set(scene.nodes) == set(doc.graph.nodes)
    assert set(scene.edges) == set(doc.graph.edges)
    for n in doc.graph.nodes:
        pos = doc.graph.position(n)
        if pos is not None:
            assert (scene.nodes[n].pos().x(), scene.nodes[n].pos().y()) == pytest.approx(pos)
        assert scene.nodes[n].fed == set(doc.graph.inputs_of(n))
