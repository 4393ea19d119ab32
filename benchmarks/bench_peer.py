"""GradCanvas's canvas against NodeGraphQt 0.6.44 on the same graph, in fresh processes run
alternately (GradCanvas, peer, peer, GradCanvas, ...), 3 of each; the medians and their ratios.

    pip install -c constraints.txt -e '.[bench]'     # NodeGraphQt==0.6.44 and Qt.py
    python -m benchmarks.bench_peer [--quick]

The workload is ../shared/peers/README.md's: bench_canvas.peer_graph(n), 5,000 nodes with two
inputs and one output on a 250 x 150 grid, ~7,500 wires; NodeGraphQt gets the very same wires,
in the same order. In each child, offscreen, 1600 x 1000, in this order:

  build    the model and its items: Document.reset(peer_graph(n)) / create_node + connect_to
  repaint  a synchronous viewport repaint, whole graph in view (QGraphicsView.fitInView of the
           grid, the same call for both), median of 5
  frame    a drag of 50 selected nodes: a press on one, then mouse moves of one viewport pixel,
           each timed until the viewport has painted; median of 10, GUI-thread CPU and wall
           (the nodes must have moved by the end, else the row says the drag did not happen)
  rss      peak RSS (VmHWM, common.peak_rss_mb) at that point
  fit      the editor's own fit-to-view (CanvasView.fit_graph / NodeGraph.fit_to_selection),
           last, because NodeGraphQt's is O(n^2): it is stopped after 60 s and reported "> 60 s".
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import signal
import statistics
import time

from benchmarks.common import SKIPPED, CommandFailed, Row, ms, peak_rss_mb, run_child, standalone, unavailable

FIT_LIMIT_S = 60.0
SELECTED, FRAMES, REPAINTS = 50, 10, 5
VIEW_W, VIEW_H = 1600, 1000
NOT_INSTALLED = "NodeGraphQt not installed (pip install .[bench])"


# ---- children ----

def _measure(app, view, items: list, select, clear_selection, fit, n: int, build_s: float) -> None:  # noqa: ANN001
    """Everything after the build, the same for both editors; prints RESULT, then FIT."""
    from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    class PaintWatch(QObject):
        painted = 0

        def eventFilter(self, obj, event) -> bool:  # noqa: N802, ANN001 - Qt's name
            if event.type() == QEvent.Type.Paint:
                self.painted += 1
            return False

    def settle() -> None:
        for _ in range(3):
            app.processEvents()

    settle()
    vp = view.viewport()
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    view.fitInView(QRectF(-50, -50, cols * 250 + 200, rows * 150 + 100), Qt.AspectRatioMode.KeepAspectRatio)
    t0 = time.perf_counter()
    vp.repaint()
    first_paint = time.perf_counter() - t0
    repaints = []
    for _ in range(REPAINTS):
        t0 = time.perf_counter()
        vp.repaint()
        repaints.append(time.perf_counter() - t0)
    select()
    settle()
    vp.repaint()
    watch = PaintWatch()
    vp.installEventFilter(watch)

    def mouse(kind: QEvent.Type, pos: QPointF, button: Qt.MouseButton, buttons: Qt.MouseButton) -> None:
        QApplication.sendEvent(vp, QMouseEvent(kind, pos, vp.mapToGlobal(pos), button, buttons,
                                               Qt.KeyboardModifier.NoModifier))

    # A user's drag: press on a selected node, then mouse moves of one pixel, each timed until
    # the viewport has painted (what each editor does per move, its own handlers included).
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    press = QPointF(view.mapFromScene(items[0].sceneBoundingRect().center()))
    before = items[-1].scenePos()
    mouse(QEvent.Type.MouseButtonPress, press, left, left)
    wall, cpu = [], []
    for i in range(FRAMES):
        settle()
        watch.painted = 0
        c0, w0 = time.thread_time(), time.perf_counter()
        mouse(QEvent.Type.MouseMove, press + QPointF(i + 1, 0), none, left)
        deadline = w0 + 30
        while not watch.painted and time.perf_counter() < deadline:
            app.processEvents()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.thread_time() - c0)
    mouse(QEvent.Type.MouseButtonRelease, press + QPointF(FRAMES, 0), left, none)
    moved = items[-1].scenePos().x() - before.x()
    rss = peak_rss_mb()
    print("RESULT " + json.dumps({"build_s": build_s, "first_paint_s": first_paint,
                                  "repaint_s": statistics.median(repaints), "frame_s": statistics.median(wall),
                                  "frame_cpu_s": statistics.median(cpu), "rss_mb": rss,
                                  "nodes": n, "view_scale": view.transform().m11(),
                                  "dragged_px": moved * view.transform().m11()}), flush=True)
    clear_selection()
    settle()

    def stop(_sig, _frame) -> None:  # noqa: ANN001 - runs between bytecodes of the fit's Python
        print("FIT " + json.dumps({"fit_s": None}), flush=True)
        os._exit(0)

    signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, FIT_LIMIT_S)
    t0 = time.perf_counter()
    fit()
    fit_s = time.perf_counter() - t0
    signal.setitimer(signal.ITIMER_REAL, 0)
    print("FIT " + json.dumps({"fit_s": fit_s}), flush=True)
    os._exit(0)  # tearing down thousands of items is not part of the measurement


def child_gradcanvas(n: int) -> None:
    from PySide6.QtWidgets import QApplication

    from benchmarks.bench_canvas import peer_graph
    from gui.canvas import CanvasScene, CanvasView
    from gui.document import Document

    app = QApplication.instance() or QApplication([])
    doc = Document()
    scene = CanvasScene(doc)
    view = CanvasView(scene)
    view.resize(VIEW_W, VIEW_H)
    view.show()
    for _ in range(5):
        app.processEvents()
    t0 = time.perf_counter()
    doc.reset(peer_graph(n))
    build_s = time.perf_counter() - t0
    start = max(0, n // 2 - SELECTED // 2)
    items = [scene.nodes[f"n{i}"] for i in range(start, min(n, start + SELECTED))]
    _measure(app, view, items, lambda: [item.setSelected(True) for item in items], scene.clearSelection,
             view.fit_graph, n, build_s)


def child_nodegraphqt(n: int) -> None:
    os.environ.setdefault("QT_PREFERRED_BINDING", "PySide6")
    from NodeGraphQt import BaseNode, NodeGraph
    from Qt import QtWidgets

    from benchmarks.bench_canvas import peer_graph

    class BenchNode(BaseNode):
        __identifier__ = "bench"
        NODE_NAME = "Bench"

        def __init__(self) -> None:
            super().__init__()
            self.add_input("a")
            self.add_input("b")
            self.add_output("out")

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([])
    graph = NodeGraph()
    graph.register_node(BenchNode)
    graph.widget.resize(VIEW_W, VIEW_H)
    graph.widget.show()
    for _ in range(5):
        app.processEvents()
    wires = peer_graph(n)
    cols = math.ceil(math.sqrt(n))
    ports = {"input": 0, "other": 1}
    t0 = time.perf_counter()
    nodes = []
    for i in range(n):
        row, col = divmod(i, cols)
        nodes.append(graph.create_node("bench.BenchNode", name=f"n{i}", selected=False,
                                       pos=(col * 250.0, row * 150.0), push_undo=False))
    for e in wires.edges:  # in the graph's order: each target has no downstream yet, as the peer likes
        nodes[int(e.src[1:])].output(0).connect_to(nodes[int(e.dst[1:])].input(ports[e.port]), push_undo=False)
    build_s = time.perf_counter() - t0
    start = max(0, n // 2 - SELECTED // 2)
    chosen = nodes[start:start + SELECTED]
    _measure(app, graph.viewer(), [nd.view for nd in chosen], lambda: [nd.set_selected(True) for nd in chosen],
             graph.clear_selection, graph.fit_to_selection, n, build_s)


# ---- the parent ----

def installed() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("NodeGraphQt", "Qt"))


def rows(quick: bool) -> list[Row]:
    metric = "peer: NodeGraphQt 0.6.44, same graph"
    if not installed():
        return [unavailable(metric, NOT_INSTALLED, status=SKIPPED)]
    n, rounds = (100, 1) if quick else (5000, 3)
    runs: dict[str, list[dict]] = {"gradcanvas": [], "nodegraphqt": []}
    try:
        for r in range(rounds):  # alternately, the order flipped every round
            for editor in ("gradcanvas", "nodegraphqt") if r % 2 == 0 else ("nodegraphqt", "gradcanvas"):
                runs[editor].append(run_child("bench_peer", [editor, str(n)], timeout=900))
    except CommandFailed as e:
        return [unavailable(metric, str(e))]

    def median(editor: str, key: str) -> float:
        return statistics.median(math.inf if r.get(key) is None else r[key] for r in runs[editor])

    out = []
    for key, name, unit in (("build_s", "build", "s"), ("fit_s", "fit to view", "s"),
                            ("repaint_s", "full repaint", "s"), ("frame_s", "drag frame, 50 nodes", "s"),
                            ("rss_mb", "peak RSS", "MB")):
        ours, theirs = median("gradcanvas", key), median("nodegraphqt", key)
        note = f"{n:,} nodes; median of {rounds} fresh processes each, alternated"
        if key == "frame_s":
            note += (f"; GUI CPU {ms(median('gradcanvas', 'frame_cpu_s'))} vs "
                     f"{ms(median('nodegraphqt', 'frame_cpu_s'))}")
        if math.isinf(theirs):
            theirs_text, ratio = f"> {FIT_LIMIT_S:.0f} s", ours / FIT_LIMIT_S
            note += f"; the peer was stopped at {FIT_LIMIT_S:.0f} s, so the ratio is an upper bound"
        else:
            theirs_text, ratio = (f"{theirs:.0f} MB" if unit == "MB" else ms(theirs)), ours / theirs
        if math.isinf(ours):
            out.append(unavailable(f"peer: {name}", f"GradCanvas did not finish within {FIT_LIMIT_S:.0f} s"))
            continue
        stuck = [e for e, got in runs.items() if key == "frame_s" and min(r["dragged_px"] for r in got) < 1]
        if stuck:
            out.append(unavailable(f"peer: {name}", f"the drag did not move the nodes in {', '.join(stuck)}"))
            continue
        out.append(Row(f"peer: {name} (GradCanvas / NodeGraphQt)", f"{ours:.0f} MB" if unit == "MB" else ms(ours),
                       theirs_text, ratio, "≤ 1x", ratio, 1.0, note=note,
                       numbers={"gradcanvas": ours, "nodegraphqt": None if math.isinf(theirs) else theirs}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()
    if args.child:
        {"gradcanvas": child_gradcanvas, "nodegraphqt": child_nodegraphqt}[args.child[0]](int(args.child[1]))
    else:
        standalone(rows, __doc__)


if __name__ == "__main__":
    main()
