"""The bundled examples and lessons are a new user's first graphs: no wire may run under a node
it does not join, where it reads as wired into that node (example 04's W2 → out wire passed
under y_true, review). Checked with the results shown, which set the nodes' heights."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import scene_and_view

from autograd_bridge.compute import ComputeSession
from graph import lessons
from graph.fileformat import load

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
BUNDLED = sorted([*RESOURCES.glob("examples/*.json"), *RESOURCES.glob("lessons/*.json")])
SAMPLES = 200  # points along each wire
INSET = 2.0  # scene units: a wire grazing a box's edge, as it leaves its own port, is not under it


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_wire_runs_under_a_node_it_does_not_join(qtbot, path: Path) -> None:  # noqa: ANN001
    graph = lessons.load(path).graph if path.parent.name == "lessons" else load(path)
    target = graph.target
    scene, _view = scene_and_view(qtbot, graph, target)
    doc = scene.doc
    scene.show_result(ComputeSession().compute(doc.graph, doc.target, doc.revision, grad_output=graph.grad_output))
    boxes = {n: item.sceneBoundingRect().adjusted(INSET, INSET, -INSET, -INSET) for n, item in scene.nodes.items()}
    under = []
    for edge, wire in scene.edges.items():
        wire.update_path()  # with the heights the result gave
        curve = wire.path()
        points = [curve.pointAtPercent(k / SAMPLES) for k in range(SAMPLES + 1)]
        for n, box in boxes.items():
            if n not in (edge.src, edge.dst) and any(box.contains(p) for p in points):
                under.append(f"{edge.src} → {edge.dst}.{edge.port} under {n}")
    assert not under, under
