"""Canvas cost at scale, offscreen, measured the way a user's gesture costs: the input event
goes to the view's viewport, Qt and our handlers run, and the clock stops when the viewport has
painted (processEvents until its Paint event) and what that left for the next turns of the event
loop has run. GUI-thread CPU time (time.thread_time) and wall time, the median of many frames.
(~550 lines, one piece: every gesture's row beside the one Canvas harness that times it.)

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_canvas.py [--nodes 2000 5000 10000]
        [--frames 15] [--opens 3] [--interaction-nodes 2000] [--json PATH] [--png DIR]

Several --nodes run one fresh process each (so that each RSS starts from the same base).

The graph is the peer workload of ../shared/peers/README.md (`peer_graph`): N add nodes on a
grid of ceil(sqrt(N)) columns, 250 x 150 apart; input `input` of node i from node i-1, input
`other` of every odd i >= 3 from a node drawn by random.Random(12345) from [max(0, i-2*cols), i-2].
The view is 1600 x 1000 with the whole graph fitted in (the worst case: everything in view).

Rows, per N:
  open        Document.reset + scene build + Fit + the first paint (a file's parse is not in it)
  open_file   the same from the JSON file: graph.fileformat.load first
  drag        one mouse move of a drag of 50 selected nodes (the middle of the graph), 1 px
  zoom        one wheel notch (120), alternately in and out, at the mouse in the middle (on a
              big canvas: the picture the gesture began with, scaled, gui.canvas.zoomcache)
  zoom_settle the exact picture drawn when a wheel gesture ends (SETTLE_MS after its last notch):
              the longest turn of the event loop until it is painted (it comes in pieces), and
              the CPU of all its turns (`total_cpu_ms`)
  zoom_detail, zoom_detail_settle
              the same two at 50 % about the middle of the graph, where nodes draw themselves
  pan         a middle-button drag of 40 px, alternately left and right
  select      a click on one node (press, release: the selection changes)
  band        one mouse move of a rubber band growing from the view's corner (2 x frames moves)
  wire        one mouse move of a wire being dragged from an output port, at 100 % (ports are
              under a pixel at the fitted scale)
  group       one mouse move of a group's frame (the 50 of drag, grouped) dragged by its title
              band, at 100 %, 1 px
  delete      the 50 of drag deleted (Document.remove of the selection, as the Delete key),
              at the fitted scale; undo_delete: that delete undone
  paste       a copy of the 50 pasted (the paste undone, untimed)
  select_all  every node selected (Ctrl+A: CanvasScene.select_nodes)
  rss         the process's resident memory grown by the open (MB, in `mb`; no times)

Then the interactions in the real window at --interaction-nodes (see `interactions`).
A metric with "[...]" appended did not happen as meant (no paint came, nothing moved): its
numbers mean nothing. Nothing is asserted; compare runs. `--json PATH` writes {"rows": [{"metric", "nodes",
"cpu_ms", "wall_ms"}, ...]} (the rss rows carry `mb` and null times).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, QSettings, Qt  # noqa: E402
from PySide6.QtGui import QCursor, QMouseEvent, QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QGraphicsSceneMouseEvent, QMessageBox  # noqa: E402

from graph.fileformat import load, save  # noqa: E402
from graph.model import Edge, Graph, Node  # noqa: E402
from gui.canvas import CanvasScene, CanvasView  # noqa: E402
from gui.document import Document  # noqa: E402

GOAL_MS = 2.0  # for (a) and (b) of the interactions: a press or a connect should not be felt
RUNS = 9
VIEW_W, VIEW_H = 1600, 1000
SELECTED = 50
LEFT, MIDDLE, NO_BUTTON = Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton, Qt.MouseButton.NoButton
NO_MOD = Qt.KeyboardModifier.NoModifier


def peer_graph(n: int) -> Graph:
    """The peer workload (../shared/peers/README.md) with our add nodes (ports input, other)."""
    g = Graph()
    cols = math.ceil(math.sqrt(n))
    for i in range(n):
        row, col = divmod(i, cols)
        g.add_node(Node(f"n{i}", "add"), pos=(col * 250.0, row * 150.0))
    rng = random.Random(12345)
    for i in range(1, n):
        g.add_edge(Edge(f"n{i - 1}", f"n{i}", "input"))
        if i % 2 == 1 and i >= 2:
            g.add_edge(Edge(f"n{rng.randint(max(0, i - 2 * cols), i - 2)}", f"n{i}", "other"))
    return g


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


class PaintWatch(QObject):
    """Counts the viewport's Paint events."""

    def __init__(self) -> None:
        super().__init__()
        self.painted = 0

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Paint:
            self.painted += 1
        return False


class Canvas:
    """A shown 1600 x 1000 view of a scene of its own, with the clock for one gesture frame."""

    def __init__(self, app: QApplication) -> None:
        self.app = app
        self.doc = Document()
        self.scene = CanvasScene(self.doc)
        self.view = CanvasView(self.scene)
        self.view.resize(VIEW_W, VIEW_H)
        self.view.show()
        self.vp = self.view.viewport()
        self.watch = PaintWatch()
        self.vp.installEventFilter(self.watch)
        self.unpainted = 0  # frames that never painted (the gesture did nothing visible)
        self.settle()

    def settle(self) -> None:
        for _ in range(3):
            self.app.processEvents()

    def frame(self, action: Callable[[], object]) -> tuple[float, float]:
        """GUI-thread CPU and wall seconds of action(), the paint it causes and whatever it left
        for the next turns of the event loop (a zero timer's work, a second paint): all of it
        comes before the next mouse move is handled."""
        self.settle()
        self.watch.painted = 0
        c0, w0 = time.thread_time(), time.perf_counter()
        action()
        deadline = w0 + 2.0
        while not self.watch.painted and time.perf_counter() < deadline:
            self.app.processEvents()
        self.settle()
        self.unpainted += not self.watch.painted
        return time.thread_time() - c0, time.perf_counter() - w0

    def gesture_end(self) -> tuple[float, float, float]:
        """The end of a wheel gesture, as its timer gives it, until the exact picture is painted:
        the GUI-thread CPU of the longest turn of the event loop (a turn here is one
        processEvents, which may run more than one of the pieces: never less than a turn), the
        wall time until that paint, and the GUI-thread CPU of all its turns."""
        cache = self.view.zoom_cache
        self.watch.painted = 0
        w0 = time.perf_counter()
        c0 = time.thread_time()
        cache.timer.timeout.emit()
        turns = [time.thread_time() - c0]
        while (cache.zooming or not self.watch.painted) and time.perf_counter() < w0 + 2.0:
            c0 = time.thread_time()
            self.app.processEvents()
            turns.append(time.thread_time() - c0)
        wall = time.perf_counter() - w0
        self.unpainted += not self.watch.painted
        return max(turns), wall, sum(turns)

    def mouse(self, kind: QEvent.Type, pos: QPointF, button: Qt.MouseButton, buttons: Qt.MouseButton) -> None:
        QApplication.sendEvent(self.vp, QMouseEvent(kind, pos, self.vp.mapToGlobal(pos), button, buttons, NO_MOD))

    def drag(self, press: QPointF, frames: int) -> list[tuple[float, float]]:
        """A left-button drag from press, 1 px right a frame: each move's cost, then the release."""
        self.mouse(QEvent.Type.MouseButtonPress, press, LEFT, LEFT)
        samples = []
        for i in range(frames):
            pos = press + QPointF(i + 1, 0)
            samples.append(self.frame(lambda pos=pos: self.mouse(QEvent.Type.MouseMove, pos, NO_BUTTON, LEFT)))
        self.mouse(QEvent.Type.MouseButtonRelease, press + QPointF(frames, 0), LEFT, NO_BUTTON)
        return samples

    def wheel(self, pos: QPointF, delta: int) -> None:
        QApplication.sendEvent(self.vp, QWheelEvent(pos, self.vp.mapToGlobal(pos), QPoint(), QPoint(0, delta),
                                                    NO_BUTTON, NO_MOD, Qt.ScrollPhase.NoScrollPhase, False))

    def at(self, node_id: str, local: QPointF) -> QPointF:
        """Viewport pixels of a point of a node (whole pixels: the view rounds presses so)."""
        item = self.scene.nodes[node_id]
        return QPointF(self.view.mapFromScene(item.mapToScene(local)))


def median_ms(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return (statistics.median(c for c, _ in samples) * 1e3, statistics.median(w for _, w in samples) * 1e3)


def gestures(app: QApplication, n: int, frames: int, opens: int, png: str | None) -> list[dict]:
    """The rows for one N (see the module docstring)."""
    rows: list[dict] = []

    def row(metric: str, samples: list[tuple[float, float]]) -> None:
        if canvas.unpainted:
            metric, canvas.unpainted = f"{metric} [NO PAINT]", 0
        cpu, wall = median_ms(samples)
        rows.append({"metric": metric, "nodes": n, "cpu_ms": round(cpu, 3), "wall_ms": round(wall, 3)})

    graph = peer_graph(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "peer.json")
        save(graph, path)
        samples, samples_file, grown = [], [], []
        for _ in range(opens):  # from memory, then from the file, alternately
            canvas = Canvas(app)  # the last one stays for the gestures
            graph = peer_graph(n)
            rss0 = rss_mb()
            samples.append(canvas.frame(lambda c=canvas, g=graph: (c.doc.reset(g), c.view.fit_graph())))
            grown.append(rss_mb() - rss0)
            other = Canvas(app)
            samples_file.append(other.frame(lambda c=other: (c.doc.reset(load(path)), c.view.fit_graph())))
            other.view.close()
        row("open", samples)
        row("open_file", samples_file)
    rows.append({"metric": "rss", "nodes": n, "cpu_ms": None, "wall_ms": None, "mb": round(grown[0], 1)})
    scene, view = canvas.scene, canvas.view
    if png:
        view.grab().save(os.path.join(png, f"fit_{n}.png"))

    # drag: press on a selected node, then 1 px mouse moves (Qt moves the 50, edges follow)
    ids = list(scene.nodes)[max(0, n // 2 - SELECTED // 2):][:SELECTED]
    for node_id in ids:
        scene.nodes[node_id].setSelected(True)
    item = scene.nodes[ids[0]]
    press = canvas.at(ids[0], QPointF(item.width() / 2, item.height() / 2))
    x0 = canvas.doc.graph.position(ids[-1])[0]
    samples = canvas.drag(press, frames)
    moved = canvas.doc.graph.position(ids[-1])[0] != x0  # the release made it one Document.move
    row("drag" if moved else "drag [NOT MOVED]", samples)

    # zoom: one notch in, one out, at the middle of the viewport. The view zooms about the
    # cursor (AnchorUnderMouse: QCursor.pos and the last mouse move), so both are put there.
    view.fit_graph()
    middle = QPointF(canvas.vp.width() / 2, canvas.vp.height() / 2)
    QCursor.setPos(canvas.vp.mapToGlobal(middle.toPoint()))
    canvas.mouse(QEvent.Type.MouseMove, middle, NO_BUTTON, NO_BUTTON)
    def zoom_rows(name: str) -> None:
        """`name`: a notch in, a notch out, …; then `name`_settle: the exact picture at the end
        of a wheel gesture (gui.canvas.zoomcache, drawn in pieces), once per gesture, after the
        notches' scaled pictures (none on a canvas this small: every notch is exact)."""
        row(name, [canvas.frame(lambda i=i: canvas.wheel(middle, 120 if i % 2 == 0 else -120))
                   for i in range(frames)])
        samples, totals = [], []
        for i in range(frames):
            canvas.wheel(middle, 120 if i % 2 == 0 else -120)
            canvas.settle()
            if view.zoom_cache.zooming:
                longest, wall, total = canvas.gesture_end()
                samples.append((longest, wall))
                totals.append(total)
        if samples:
            row(f"{name}_settle", samples)
            rows[-1]["total_cpu_ms"] = round(statistics.median(totals) * 1e3, 3)

    zoom_rows("zoom")
    # zoom_detail, zoom_detail_settle: the same at 50 % about the 50 nodes (full detail: every
    # node in view draws itself anew at a new scale)
    view.resetTransform()
    view.scale(0.5, 0.5)
    view.centerOn(item.sceneBoundingRect().center())
    canvas.settle()
    zoom_rows("zoom_detail")
    view.fit_graph()

    # pan: a middle-button drag, 40 px a move
    canvas.mouse(QEvent.Type.MouseButtonPress, middle, MIDDLE, MIDDLE)
    samples, x = [], middle.x()
    for i in range(frames):
        x += 40 if i % 2 == 0 else -40
        samples.append(canvas.frame(lambda x=x: canvas.mouse(QEvent.Type.MouseMove, QPointF(x, middle.y()),
                                                              NO_BUTTON, MIDDLE)))
    canvas.mouse(QEvent.Type.MouseButtonRelease, QPointF(x, middle.y()), MIDDLE, NO_BUTTON)
    row("pan", samples)

    # select: a click on one node, then on another
    view.fit_graph()
    samples = []
    for i in range(frames):
        node = ids[i % 2]
        where = canvas.at(node, QPointF(item.width() / 2, item.height() / 2))

        def click(where: QPointF = where) -> None:
            canvas.mouse(QEvent.Type.MouseButtonPress, where, LEFT, LEFT)
            canvas.mouse(QEvent.Type.MouseButtonRelease, where, LEFT, NO_BUTTON)

        samples.append(canvas.frame(click))
    row("select" if scene.nodes[ids[(frames - 1) % 2]].isSelected() else "select [NOT SELECTED]", samples)

    # band: a rubber band from the view's corner (off the graph) growing 20 x 12 px a frame
    view.fit_graph()
    scene.clearSelection()
    corner = QPointF(3, 3)
    canvas.mouse(QEvent.Type.MouseButtonPress, corner, LEFT, LEFT)
    samples = [canvas.frame(lambda i=i: canvas.mouse(QEvent.Type.MouseMove, corner + QPointF(20 * i, 12 * i),
                                                      NO_BUTTON, LEFT)) for i in range(1, 2 * frames + 1)]
    canvas.mouse(QEvent.Type.MouseButtonRelease, corner + QPointF(40 * frames, 24 * frames), LEFT, NO_BUTTON)
    row("band" if scene.selected_node_ids() else "band [NOTHING SELECTED]", samples)

    # wire: drag from an output port (the label and refusal checks included), at 100 %: ports
    # are a few scene units wide, less than a pixel at the fitted scale
    view.resetTransform()
    view.centerOn(item.sceneBoundingRect().center())
    out = canvas.at(ids[0], item.output_pos())
    canvas.mouse(QEvent.Type.MouseButtonPress, out, LEFT, LEFT)
    wiring = scene.interaction is not None
    samples = []
    for i in range(frames):
        pos = out + QPointF(3 * (i + 1), 2 * (i + 1))
        samples.append(canvas.frame(lambda pos=pos: canvas.mouse(QEvent.Type.MouseMove, pos, NO_BUTTON, LEFT)))
    scene.cancel_interaction()
    canvas.mouse(QEvent.Type.MouseButtonRelease, out, LEFT, NO_BUTTON)
    row("wire" if wiring else "wire [NO DRAG STARTED]", samples)

    # group: the same 50 nodes made a group, its frame dragged by its title band at 100 %
    doc = canvas.doc
    scene.clearSelection()
    group_id = doc.group(ids)
    scene.groups.rebuild()
    frame = scene.groups.items[group_id]
    band = QPointF(view.mapFromScene(frame.rect.topLeft() + QPointF(40, 8)))  # past the ▾
    steps = doc.undo_stack.index()
    samples = canvas.drag(band, frames)
    moved = doc.undo_stack.index() == steps + 1  # the release made it one Document.move
    row("group" if moved else "group [NOT MOVED]", samples)

    # edits of many nodes, at the fitted scale, each until painted: the 50 deleted (as the
    # Delete key: Document.remove of the selection) and that undone, alternately; pasted (their
    # copy) with the paste undone untimed; all nodes selected (Ctrl+A), deselected untimed
    view.fit_graph()
    deletes, undos, pastes, selects = [], [], [], []
    text = doc.copy_text(ids)
    for _ in range(frames):
        scene.select_nodes(ids)
        deletes.append(canvas.frame(lambda: doc.remove(scene.selected_node_ids())))
        deleted = ids[0] not in doc.graph.nodes
        undos.append(canvas.frame(doc.undo_stack.undo))
        pastes.append(canvas.frame(lambda: doc.paste(text)))
        doc.undo_stack.undo()
        scene.clearSelection()
        canvas.settle()
        selects.append(canvas.frame(lambda: scene.select_nodes(list(scene.nodes))))
    row("delete" if deleted else "delete [NOT DELETED]", deletes)
    row("undo_delete" if ids[0] in doc.graph.nodes else "undo_delete [NOT BACK]", undos)
    row("paste", pastes)
    row("select_all" if len(scene.selected_node_ids()) == len(scene.nodes) else "select_all [NOT ALL]", selects)
    # Deselected before the scene is dropped: Qt's ~QGraphicsScene removes the selected nodes tile
    # by tile, each removal a selectionChanged to the scene's own slot, gone by then (PySide
    # prints "Slot 'CanvasScene::' not found" for each).
    scene.clearSelection()
    view.close()
    return rows


def print_rows(rows: list[dict]) -> None:
    print(f"{'metric':<20} {'nodes':>6} {'cpu ms':>9} {'wall ms':>9}")
    for r in rows:
        if r.get("mb") is not None:
            print(f"{r['metric']:<20} {r['nodes']:>6} {r['mb']:>9.1f} MB")
        else:
            total = f"   (all its turns {r['total_cpu_ms']:.2f} ms)" if "total_cpu_ms" in r else ""
            print(f"{r['metric']:<20} {r['nodes']:>6} {r['cpu_ms']:>9.2f} {r['wall_ms']:>9.2f}{total}")


# ---- interactions in the window ----

def measure(action: Callable[[], object], undo: Callable[[], object] = lambda: None) -> tuple[float, float]:
    """Median GUI-thread CPU and wall seconds of `action` over RUNS runs (after one warm-up);
    `undo` runs untimed after each."""
    cpu, wall = [], []
    for i in range(RUNS + 1):
        c0, w0 = time.thread_time(), time.perf_counter()
        action()
        w1, c1 = time.perf_counter(), time.thread_time()
        undo()
        if i:
            cpu.append(c1 - c0)
            wall.append(w1 - w0)
    return statistics.median(cpu), statistics.median(wall)


def mouse(scene: CanvasScene, kind: QEvent.Type, pos: QPointF) -> None:
    """A left-button press or release at a scene position, delivered as Qt delivers one."""
    event = QGraphicsSceneMouseEvent(kind)
    event.setScenePos(pos)
    event.setButton(Qt.MouseButton.LeftButton)
    event.setButtons(Qt.MouseButton.LeftButton if kind == QEvent.Type.GraphicsSceneMousePress
                     else Qt.MouseButton.NoButton)
    QApplication.sendEvent(scene, event)


def interactions(app: QApplication, n: int) -> None:
    from gui.window import MainWindow  # only here: the rows above need no window

    settings_dir = tempfile.TemporaryDirectory()
    window = MainWindow(QSettings(os.path.join(settings_dir.name, "bench.ini"), QSettings.Format.IniFormat))
    window.ask_unsaved = lambda: QMessageBox.StandardButton.Discard
    window.resize(1600, 1000)
    window.show()
    doc, scene, timer = window.doc, window.scene, window.recompute_timer
    graph = peer_graph(n)
    last = f"n{n - 1}"  # the last column's node has the most upstream nodes: the longest walk
    graph.add_node(Node("sink", "neg"), pos=(-300.0, 0.0))  # a free input port to connect to
    doc.reset(graph)
    doc.set_target(last)
    fired = []
    timer.timeout.connect(lambda: fired.append(1))  # each firing is one compute requested

    def settle() -> None:
        """Let the debounce timer fire and the worker finish, so no compute runs while timing."""
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline:
            app.processEvents()
            if not timer.isActive() and window.computer.wait(50):
                app.processEvents()
                if not timer.isActive():
                    return
            time.sleep(0.01)

    def pump(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            app.processEvents()
            time.sleep(0.005)

    settle()
    rows: list[tuple[str, float, float, str]] = []

    # (a) press on the output port of the node with the most upstream nodes
    item = scene.nodes[last]
    port = item.mapToScene(item.output_pos())
    nowhere = QPointF(-1e5, -1e5)  # releasing over empty canvas drops the wire

    def press() -> None:
        mouse(scene, QEvent.Type.GraphicsSceneMousePress, port)

    def release() -> None:
        mouse(scene, QEvent.Type.GraphicsSceneMouseRelease, nowhere)

    items = len(scene.items())
    press()
    wiring = len(scene.items()) > items  # the press added the wire and its label
    release()
    cpu, wall = measure(press, release)
    rows.append((f"(a) start a wire drag from {last}'s output" + ("" if wiring else " [NO DRAG STARTED]"),
                 cpu, wall, f"≤ {GOAL_MS:g} ms"))
    cpu, wall = measure(lambda: doc.graph.upstream(last))
    rows.append((f"    of which graph.upstream({last}): {len(doc.graph.upstream(last)):,} nodes", cpu, wall, ""))
    cpu, wall = measure(lambda: scene.node_at(port))
    rows.append(("    and scene.node_at(the port), asked twice per press", cpu, wall, ""))

    # (b) connect one edge, refusal check included; undone (untimed) after each run
    edge = Edge(last, "sink", "input")

    def connect() -> None:
        reason = doc.connect(edge)
        if reason is not None:
            raise RuntimeError(f"the benchmark's edge was refused: {reason}")

    def undo_connect() -> None:
        # Computed again after the undo, so that each connect starts from a shown result and
        # pays for marking every overlay stale, as a connect does in use.
        doc.undo_stack.undo()
        settle()

    cpu, wall = measure(connect, undo_connect)
    rows.append((f"(b) connect {last} → sink.input (Document.connect)", cpu, wall, f"≤ {GOAL_MS:g} ms"))
    cpu, wall = measure(lambda: doc.graph.edge_refusal(last, "sink", "input"))
    rows.append(("    of which the refusal check (graph.edge_refusal)", cpu, wall, ""))

    # (c) move 50 nodes, alternately down and up
    movers = list(doc.graph.nodes)[:50]
    step = [0]

    def move() -> None:
        step[0] += 1
        dy = 20.0 if step[0] % 2 else -20.0
        doc.move({m: (doc.graph.position(m)[0], doc.graph.position(m)[1] + dy) for m in movers})

    cpu, wall = measure(move, timer.stop)
    rows.append(("(c) move 50 nodes (Document.move)", cpu, wall, ""))

    # (d) computes scheduled by one move, and by one connect as the control
    def computes_after(action: Callable[[], object]) -> tuple[int, bool, int]:
        settle()
        before, revision, edited = len(fired), doc.revision, []

        def count_edited() -> None:
            edited.append(1)

        doc.edited.connect(count_edited)
        action()
        scheduled = timer.isActive() or doc.revision != revision
        pump(3 * timer.interval() / 1000)
        doc.edited.disconnect(count_edited)
        return len(fired) - before, scheduled, len(edited)

    move_computes, move_sched, move_edited = computes_after(move)
    connect_computes, _, connect_edited = computes_after(connect)
    doc.undo_stack.undo()
    settle()

    print(f"\ninteractions at {n:,} nodes, {len(doc.graph.edges):,} edges, target {last} "
          f"(GUI thread, median of {RUNS})")
    print(f"{'':<56} {'cpu':>9} {'wall':>9}   goal")
    for label, cpu, wall, goal in rows:
        print(f"{label:<56} {cpu * 1e3:>7.2f}ms {wall * 1e3:>7.2f}ms   {goal}")
    print(f"(d) computes scheduled by one move of 50 nodes: {move_computes} (edited signals: {move_edited}, "
          f"recompute timer started or revision moved: {'yes' if move_sched else 'no'})")
    print(f"    the control, one connect: {connect_computes} (edited signals: {connect_edited})")
    window.close()
    settings_dir.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--nodes", type=int, nargs="+", default=[2000, 5000])
    parser.add_argument("--frames", type=int, default=15, help="frames per gesture (median)")
    parser.add_argument("--opens", type=int, default=3, help="opens per N (median; rss from the first)")
    parser.add_argument("--interaction-nodes", type=int, default=2000, help="0: skip the window's")
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--png", help="save the fitted view of each N as DIR/fit_N.png")
    args = parser.parse_args()
    rows = []
    if len(args.nodes) > 1:  # one fresh process per N, so that each RSS starts from the same base
        for n in args.nodes:
            with tempfile.TemporaryDirectory() as tmp:
                out = os.path.join(tmp, "rows.json")
                subprocess.run([sys.executable, __file__, "--nodes", str(n), "--frames", str(args.frames),
                                "--opens", str(args.opens), "--interaction-nodes", "0", "--json", out,
                                *(["--png", args.png] if args.png else [])], check=True, stdout=subprocess.DEVNULL)
                with open(out) as fh:
                    rows += json.load(fh)["rows"]
    app = QApplication.instance() or QApplication([])
    if len(args.nodes) == 1:
        rows = gestures(app, args.nodes[0], args.frames, args.opens, args.png)
    print_rows(rows)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rows": rows}, fh, indent=1)
    if args.interaction_nodes:
        interactions(app, args.interaction_nodes)


if __name__ == "__main__":
    main()
