"""Assertions and input helpers shared by the test files (imported as `helpers`: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import contextlib
import os

import pytest

from graph.model import Edge, Graph, Node

RESULT_TIMEOUT_MS = 60_000  # how long a GUI test waits for the worker's result

# For a test that patches or inspects the worker in the test's own process (a local function
# as a task, a monkeypatched op or session, the thread a job runs on): it means the thread
# worker, the suite's default (tests/conftest.py), and is skipped when a run asks for the
# compute process (GRADCANVAS_COMPUTE=process), which tests/test_compute_process.py covers.
THREAD_ONLY = pytest.mark.skipif(os.environ.get("GRADCANVAS_COMPUTE") == "process",
                                 reason="patches or inspects the worker in the test's own process")


def make_graph(nodes: list[Node], edges: list[tuple[str, str, str]]) -> Graph:
    """A graph of these nodes and (src, dst, port) edges, in this order."""
    g = Graph()
    for n in nodes:
        g.add_node(n)
    for src, dst, port in edges:
        g.add_edge(Edge(src, dst, port))
    return g


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
    from gui.canvas.items import EdgeItem, NodeItem

    # and nothing else: no item of a node or edge gone (a rebuild drops the old ones at once); an
    # edge has an item only once Qt had to find it (Wire.item)
    kept = [i for i in scene.items() if isinstance(i, NodeItem | EdgeItem)]
    assert len(kept) == len(scene.nodes) + sum(w.proxy is not None for w in scene.edges.values())
    assert all(scene.nodes.get(i.node_id) is i if isinstance(i, NodeItem) else scene.edges[i.edge].proxy is i
               for i in kept)


def type_and_enter(qtbot, edit, text: str) -> None:  # noqa: ANN001 - pytest-qt's qtbot, a QLineEdit
    """Type text into a line edit as a person would and press Enter."""
    from PySide6.QtCore import Qt

    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def row_error(insp, key: str) -> str:  # noqa: ANN001 - gui.inspector.Inspector
    """The red message under an inspector row, or "" when none shows."""
    label = insp.rows[key].error
    return label.text() if label.isVisibleTo(insp) else ""


def new_window(qtbot, tmp_path, name: str = "settings"):  # noqa: ANN001, ANN201 - a gui.window.MainWindow
    """A shown main window with its own settings file, that never blocks on a dialog."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    from gui.window import MainWindow

    w = MainWindow(QSettings(str(tmp_path / f"{name}.ini"), QSettings.Format.IniFormat))
    w.ask_unsaved = lambda: QMessageBox.StandardButton.Discard  # never block on a dialog
    w.training.ask_to_leave_run = lambda: QMessageBox.StandardButton.Discard  # a run's steps, too
    w.ask_reload = lambda _path, _modified: False  # the file changed on disk: kept (gui.file_guard)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


# Qt objects a test made without a parent, deleted at its end by tests/conftest.py.
DELETE_AT_TEARDOWN: list = []


def delete_at_teardown(*objects):  # noqa: ANN002, ANN201 - QObjects; gives back the first
    """Delete these parentless Qt objects (a Document, a CanvasScene) when the test ends, in Qt's
    own order, not whenever Python's cyclic GC frees them: the GC may first free the wrapper of an
    undo command (or canvas item) the object owns, and its C++ destructor then deletes that command
    a second time (a segfault in QUndoStack::clear, seen in full test runs on a loaded machine)."""
    DELETE_AT_TEARDOWN.extend(objects)
    return objects[0]


def add_two_node_cycle(graph, a: str = "p", b: str = "q") -> None:  # noqa: ANN001 - a graph.model.Graph
    """Two neg nodes feeding each other: a -> b -> a."""
    from graph.model import Edge, Node

    graph.add_node(Node(a, "neg"))
    graph.add_node(Node(b, "neg"))
    graph.add_edge(Edge(a, b, "input"))
    graph.add_edge(Edge(b, a, "input"))


def scene_and_view(qtbot, graph, target: str | None = None, size: tuple[int, int] = (1000, 700)):  # noqa: ANN001, ANN201
    """A canvas scene and view of the graph, shown and exposed, with no window and no worker."""
    from gui.canvas import CanvasScene, CanvasView
    from gui.document import Document

    doc = Document()
    doc.reset(graph)
    if target is not None:
        doc.set_target(target)
    scene = CanvasScene(doc)
    delete_at_teardown(doc, scene)
    view = CanvasView(scene)
    view._keep = (doc, scene)  # noqa: SLF001 - keep Python references alive (ENVIRONMENT.md)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    return scene, view


@contextlib.contextmanager
def wires_drawn(scene):  # noqa: ANN001, ANN201 - a gui.canvas.CanvasScene; yields a list
    """The rects the scene's background draws its wires for (Overview.wire_steps), while within."""
    drawn: list = []
    overview = scene.overview
    real = overview.wire_steps

    def counted(p, rect, *rest):  # noqa: ANN001, ANN002, ANN202 - wire_steps' arguments
        drawn.append(rect)
        return real(p, rect, *rest)

    overview.wire_steps = counted
    try:
        yield drawn
    finally:
        del overview.wire_steps


def on_screen(view):  # noqa: ANN001, ANN201 - a CanvasView; a QImage
    """The view's viewport as last painted (its window's backing store, which the offscreen
    screen grabs), not painted again: after the paints already asked for."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication

    for _ in range(3):  # an update asked for during a paint is painted a turn or two later
        QApplication.processEvents()
    vp = view.viewport()
    window = view.window()
    top = vp.mapTo(window, QPoint(0, 0))
    shot = QApplication.primaryScreen().grabWindow(window.winId(), top.x(), top.y(), vp.width(), vp.height())
    return shot.toImage().convertToFormat(QImage.Format.Format_RGB32)


def fresh_paint(view):  # noqa: ANN001, ANN201 - a CanvasView; a QImage
    """The view's viewport drawn again from nothing kept (its cached background and the nodes'
    pixmaps): what `on_screen` must equal."""
    from PySide6.QtWidgets import QApplication

    for item in view.scene().nodes.values():
        item.update()
    view.resetCachedContent()
    QApplication.processEvents()
    return view.viewport().grab().toImage()


class RecordingPainter:
    """A QPainter that remembers what text was drawn through it, and where: `drawn` holds each
    drawText's arguments, `texts` its strings. Passed where the app's Python paint code takes a
    painter; every other call goes to the real one."""

    def __init__(self, painter) -> None:  # noqa: ANN001 - a QPainter
        self._painter, self.drawn = painter, []

    def drawText(self, *args: object) -> None:  # noqa: N802 - QPainter's name
        self.drawn.append(args)
        self._painter.drawText(*args)

    @property
    def texts(self) -> list[str]:
        return [a for args in self.drawn for a in args if isinstance(a, str)]

    def __getattr__(self, name: str) -> object:
        return getattr(self._painter, name)
