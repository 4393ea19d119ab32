"""Canvas cost at scale, offscreen: build the scene for N nodes, then time drag frames.

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_canvas.py [--nodes 2000 5000 10000]

A "drag frame" moves 50 selected nodes by a few pixels and repaints the whole viewport
(1600x1000, whole graph in view, the worst case). Nothing is asserted; compare runs.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF  # noqa: E402
from PySide6.QtGui import QImage, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from graph.model import Edge, Graph, Node  # noqa: E402
from gui.canvas import CanvasScene, CanvasView  # noqa: E402
from gui.document import Document  # noqa: E402


def grid_graph(n: int) -> Graph:
    """n nodes in columns of 50: tensors in the first column, then adds fed from the left."""
    g = Graph()
    rows = 50
    for i in range(n):
        col, row = divmod(i, rows)
        pos = (col * 260.0, row * 140.0)
        if col == 0:
            g.add_node(Node(f"t{i}", "tensor", value=1.0, requires_grad=True, pos=pos))
        else:
            g.add_node(Node(f"t{i}", "add", pos=pos))
            left = f"t{i - rows}"
            g.add_edge(Edge(left, f"t{i}", "input"))
            g.add_edge(Edge(f"t{(col - 1) * rows + (row + 1) % rows}", f"t{i}", "other"))
    return g


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, nargs="+", default=[2000, 5000])
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    print(f"{'nodes':>6} {'edges':>6} {'build':>9} {'full frame':>11} {'drag frame':>11}")
    for n in args.nodes:
        graph = grid_graph(n)
        doc = Document()
        t0 = time.perf_counter()
        doc.reset(graph)
        scene = CanvasScene(doc)
        view = CanvasView(scene)
        view.resize(1600, 1000)
        view.fit_graph()
        build = time.perf_counter() - t0
        image = QImage(1600, 1000, QImage.Format.Format_ARGB32_Premultiplied)

        def frame(view: CanvasView = view, image: QImage = image) -> float:
            t = time.perf_counter()
            painter = QPainter(image)
            view.render(painter)
            painter.end()
            return time.perf_counter() - t

        full = min(frame() for _ in range(3))
        movers = list(scene.nodes.values())[:50]
        drags = []
        for step in range(5):
            t = time.perf_counter()
            for item in movers:
                item.setPos(item.pos() + QPointF(3, 2 if step % 2 else -2))
            app.processEvents()
            drags.append(time.perf_counter() - t + frame())
        print(f"{n:>6} {len(graph.edges):>6} {build * 1e3:>7.0f}ms {full * 1e3:>9.0f}ms {min(drags) * 1e3:>9.0f}ms")


if __name__ == "__main__":
    main()
