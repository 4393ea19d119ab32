"""Run by tests/test_x11.py in a process of its own, on the xcb platform of a real X server
(Xvfb): opens the main window, sends real key sequences with xdotool (XTEST: what a keyboard
sends, through the X server, to whatever window has the focus) and prints one JSON report.

Not a test module itself (pytest collects only test_*.py). Usage:
    QT_QPA_PLATFORM=xcb DISPLAY=:N python tests/x11_driver.py SETTINGS.ini EXAMPLE.json
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QPoint, QPointF, QRectF, QSettings, QTimer, QtMsgType, qInstallMessageHandler  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from gui.qtapp import application  # noqa: E402

WAIT_S = 5.0  # how long a key press may take to act
messages: list[str] = []


def _on_message(kind: QtMsgType, _context, text: str) -> None:  # noqa: ANN001
    if kind != QtMsgType.QtDebugMsg:
        messages.append(text)


def wait_for(condition, timeout: float = WAIT_S) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if condition():
            return True
        time.sleep(0.01)
    QApplication.processEvents()
    return bool(condition())


def xdo(*args: str) -> None:
    """One xdotool command, through the X server, then the events it caused."""
    subprocess.run(["xdotool", *args], check=True, timeout=20)
    QApplication.processEvents()


def main(settings: str, example: str) -> dict:
    qInstallMessageHandler(_on_message)
    app = application()
    from gui.actions import portable, shortcut_clashes, window_actions
    from gui.window import MainWindow

    w = MainWindow(QSettings(settings, QSettings.Format.IniFormat))
    w.ask_unsaved = lambda: QMessageBox.StandardButton.Discard
    w.show()
    report: dict = {"platform": app.platformName(), "steps": [], "messages": messages}
    report["exposed"] = wait_for(lambda: w.windowHandle() is not None and w.windowHandle().isExposed(), 10)
    report["shortcuts"] = {a.text(): [portable(s) for s in a.shortcuts()]
                           for a in window_actions(w) if a.shortcuts()}
    report["clashes"] = shortcut_clashes(w)
    assert w.open_file(example)
    doc, scene, stack = w.doc, w.scene, w.doc.undo_stack

    def focus_canvas() -> bool:
        """The main window active and the canvas focused, as after a click on it."""
        for attempt in range(3):
            w.raise_()
            w.activateWindow()
            if attempt:  # no window manager to ask: set the X input focus directly
                subprocess.run(["xdotool", "windowfocus", "--sync", str(int(w.winId()))], check=False,
                               capture_output=True, timeout=10)
            if wait_for(lambda: QApplication.activeWindow() is w, 3):
                w.view.setFocus()
                return wait_for(lambda: w.view.hasFocus(), 2)
        return False

    def select(*ids: str) -> None:
        scene.clearSelection()
        for n in ids:
            scene.nodes[n].setSelected(True)

    def state() -> dict:
        sheet = w.shortcut_sheet
        return {"index": stack.index(), "count": stack.count(), "nodes": len(doc.graph.nodes),
                "sheet": bool(sheet is not None and sheet.isVisible()), "search": w.search.isVisible(),
                "computing": w.computer.computing, "groups": len(doc.graph.groups),
                "training_dock": w.training.dock.isVisible(),
                "active": type(QApplication.activeWindow()).__name__, "selected": scene.selected_node_ids(),
                "inspected": w.inspector.node_id, "finder": w.node_finder.isVisible(), "target": doc.target}

    def step(name: str, keys: list[str], done, focus=focus_canvas) -> None:  # noqa: ANN001
        """Focus (by default the canvas), send `keys` with xdotool and wait until `done(before,
        after)` holds; record what was seen."""
        focused = focus()
        before = state()
        for k in keys:
            subprocess.run(["xdotool", "key", "--delay", "30", k], check=True, timeout=20)
        ok = wait_for(lambda: done(before, state()))
        report["steps"].append({"name": name, "keys": keys, "focused": focused, "ok": ok,
                                "before": before, "after": state()})

    n0 = len(doc.graph.nodes)
    report["nodes_at_start"] = n0
    select("x", "x_sq")
    step("copy", ["ctrl+c"], lambda b, a: QGuiApplication.clipboard().mimeData().hasFormat(
        "application/x-gradcanvas+json"))
    step("paste", ["ctrl+v"], lambda b, a: a["nodes"] == n0 + 2 and a["index"] == b["index"] + 1)
    step("undo", ["ctrl+z"], lambda b, a: a["nodes"] == n0 and a["index"] == b["index"] - 1)
    step("redo ctrl+shift+z", ["ctrl+shift+z"], lambda b, a: a["nodes"] == n0 + 2 and a["index"] == b["index"] + 1)
    step("undo again", ["ctrl+z"], lambda b, a: a["nodes"] == n0 and a["index"] == b["index"] - 1)
    step("redo ctrl+y", ["ctrl+y"], lambda b, a: a["nodes"] == n0 + 2 and a["index"] == b["index"] + 1)
    select("z")
    step("duplicate", ["ctrl+d"], lambda b, a: a["nodes"] == n0 + 3 and a["index"] == b["index"] + 1)
    duplicated = scene.selected_node_ids()
    report["duplicated"] = duplicated
    select(*duplicated)
    step("delete", ["Delete"], lambda b, a: a["nodes"] == n0 + 2 and a["index"] == b["index"] + 1)
    step("help", ["F1"], lambda b, a: a["sheet"])
    report["sheet_text"] = w.shortcut_sheet.text() if w.shortcut_sheet is not None else ""
    # As a user would: Esc once the sheet has the focus it takes when it opens.
    step("close help", ["Escape"], lambda b, a: not a["sheet"],
         focus=lambda: wait_for(lambda: QApplication.activeWindow() is w.shortcut_sheet))
    step("search", ["Tab"], lambda b, a: a["search"])
    step("close search", ["Escape"], lambda b, a: not a["search"],
         focus=lambda: wait_for(lambda: w.search.edit.hasFocus()))
    step("search and add", ["Tab", "e", "x", "p", "Return"],
         lambda b, a: a["nodes"] == b["nodes"] + 1 and not a["search"])
    report["added"] = [n for n in doc.graph.nodes if doc.graph.nodes[n].op == "exp"]
    select("x", "x_sq")
    step("group", ["ctrl+g"], lambda b, a: a["groups"] == b["groups"] + 1 and a["index"] == b["index"] + 1)
    select("x")  # a member: ungroup takes its group apart
    step("ungroup", ["ctrl+shift+g"], lambda b, a: a["groups"] == b["groups"] - 1 and a["index"] == b["index"] + 1)
    # In an inspector field with nothing typed, Undo and Redo are the document's; Esc takes
    # typing back (gui.fields.FieldEdit).
    field = w.inspector.rows["label"].editor
    typed: list[str] = []
    field.textEdited.connect(typed.append)

    def focus_field() -> bool:
        if not focus_canvas():
            return False
        field.setFocus()
        return wait_for(field.hasFocus, 2)

    step("undo in a field", ["ctrl+z"], lambda b, a: a["groups"] == b["groups"] + 1 and a["index"] == b["index"] - 1,
         focus=focus_field)
    step("redo in a field", ["ctrl+shift+z"],
         lambda b, a: a["groups"] == b["groups"] - 1 and a["index"] == b["index"] + 1, focus=focus_field)
    step("typing taken back", ["a", "b", "c", "Escape"],
         lambda b, a: typed[-1:] == ["abc"] and field.text() == "" and a["index"] == b["index"], focus=focus_field)
    report["label_after_esc"] = doc.graph.nodes["x"].label
    # The expression bar: a refusal is said beside it and in the status bar, and the bar stays,
    # with what was typed and the keyboard focus (a status message once hid it: keys went elsewhere).
    bar = w.expression_bar

    def focus_bar() -> bool:
        if not focus_canvas():
            return False
        bar.edit.setFocus()
        return wait_for(bar.edit.hasFocus, 2)

    def bar_shown(text: str) -> bool:
        return bar.isVisible() and bar.edit.hasFocus() and bar.edit.text() == text and "foo" in bar.message.text()

    step("expression refused", ["w", "space", "equal", "space", "f", "o", "o", "parenleft", "x", "parenright",
                                "Return"],
         lambda b, a: bar_shown("w = foo(x)") and a["index"] == b["index"], focus=focus_bar)
    report["bar_after_refusal"] = {"visible": bar.isVisible(), "text": bar.edit.text(),
                                   "message": bar.message.text(), "status": w.statusBar().currentMessage()}
    step("typing after a refusal", ["BackSpace"], lambda b, a: bar_shown("w = foo(x") and a["index"] == b["index"],
         focus=bar.edit.hasFocus)  # no focus given: the key goes where the refusal left it
    # A line added, then Ctrl+Z and Ctrl+Shift+Z in the bar, which keeps the focus after Enter: with
    # nothing typed they are the document's (a plain QLineEdit took them and did nothing).
    def empty_bar() -> bool:
        bar.edit.setText("")  # the refused line gone, and its typing history with it
        return focus_bar()

    step("expression added", ["v", "space", "equal", "space", "2", "asterisk", "x", "Return"],
         lambda b, a: "v" in doc.graph.nodes and a["index"] == b["index"] + 1 and bar.edit.text() == "",
         focus=empty_bar)
    step("expression undone", ["ctrl+z"],
         lambda b, a: "v" not in doc.graph.nodes and a["index"] == b["index"] - 1 and bar.edit.text() == "",
         focus=bar.edit.hasFocus)
    step("expression redone", ["ctrl+shift+z"],
         lambda b, a: "v" in doc.graph.nodes and a["index"] == b["index"] + 1 and bar.edit.text() == "",
         focus=bar.edit.hasFocus)
    # Menu mnemonics: Alt+V opens View, T there brings back the Training dock closed with its ×.
    w.training.dock.close()
    step("view menu mnemonic", ["alt+v", "t"], lambda b, a: a["training_dock"] and not b["training_dock"])
    # Keyboard only (gui.canvas.keyboard), in the example opened afresh with nothing selected: the
    # arrows walk the selection, the inspector follows, Ctrl+T / Del act on the node walked to,
    # Find node selects one by name; in a text field Ctrl+F is left to the field.
    w.open_file(example)
    wait_for(lambda: False, 0.2)  # the Fit open_file asks for
    scene.select_nodes([])
    step("arrow selects", ["Right"], lambda b, a: len(a["selected"]) == 1 and a["inspected"] == a["selected"][0])
    scene.select_nodes(["x"])
    step("arrows walk", ["Right", "Right"], lambda b, a: a["selected"] == ["two_x_sq"] and a["inspected"] == "two_x_sq")
    step("target the walked-to node", ["ctrl+t"], lambda b, a: a["target"] == "two_x_sq")
    step("find node", ["ctrl+f", "t", "h", "r", "e", "e", "Return"],
         lambda b, a: a["selected"] == ["three"] and a["inspected"] == "three" and not a["finder"])
    step("delete the walked-to node", ["Left", "Delete"],
         lambda b, a: a["nodes"] == b["nodes"] - 1 and "z" not in doc.graph.nodes and a["index"] == b["index"] + 1)
    step("ctrl+f in a field", ["ctrl+f", "q", "Escape"],
         lambda b, a: typed[-1:] == ["q"] and field.text() == "" and not a["finder"], focus=focus_field)
    report["scrub"] = scrub_x(w, example)
    report["band"] = band_select(w)
    report["group_drag"] = drag_group(w)
    report["drops"] = drop_files(w, Path(settings).parent)
    report["canvas_menu"] = canvas_menu_then_click(w, example)
    report["wheel"] = wheel_gestures(w)
    # A compute of seconds: Esc (no gesture in progress) cancels it, F5 runs it again.
    from benchmarks.liveness import slow_graph

    doc.reset(slow_graph())
    doc.set_target("y")
    report["computing_before_esc"] = wait_for(lambda: w.computer.computing, 60)
    step("cancel compute", ["Escape"], lambda b, a: not a["computing"])
    report["status_after_esc"] = w.status.text()
    step("compute again", ["F5"], lambda b, a: a["computing"])
    w.cancel_compute()
    w.resize(1100, 750)  # a layout of the user's, kept for the next window (gui.layout_state)
    w.history_dock.close()
    wait_for(lambda: w.size().toTuple() == (1100, 750))
    closed = {"size": w.size().toTuple(), "history": w.history_dock.isVisible()}
    w.close()
    w.computer.wait(10_000)
    QApplication.processEvents()
    again = MainWindow(QSettings(settings, QSettings.Format.IniFormat))
    again.show()
    wait_for(lambda: again.windowHandle() is not None and again.windowHandle().isExposed(), 10)
    report["layout"] = {"closed": closed, "again": {"size": again.size().toTuple(),
                                                    "history": again.history_dock.isVisible()}}
    again.close()
    QApplication.processEvents()
    return report


def scrub_x(w, example: str) -> dict:  # noqa: ANN001 - the MainWindow
    """A real mouse drag on x's number (interactions.ScrubDrag) in the example opened afresh (the
    pasted copies lie over x): press, 60 pixels right in steps, release; then one more press and
    drag, cancelled with Esc before the release."""
    from gui.canvas.interactions import scrub_rect

    doc, view = w.doc, w.view
    w.open_file(example)
    doc.set_target("y")
    view.fit_graph()
    wait_for(lambda: w.run.current is not None and w.run.current.revision == doc.revision, 30)
    item = w.scene.nodes["x"]
    at = view.viewport().mapToGlobal(view.mapFromScene(item.mapToScene(scrub_rect(item).center())))
    x0, y0 = at.x(), at.y()
    start = {"value": doc.graph.nodes["x"].value, "index": doc.undo_stack.index()}

    def drag(dx_steps: list[int]) -> None:
        xdo("mousemove", "--sync", str(x0), str(y0))
        wait_for(lambda: False, 0.2)
        xdo("mousedown", "1")
        wait_for(lambda: w.scene.interaction is not None, 3)
        for dx in dx_steps:
            xdo("mousemove", "--sync", str(x0 + dx), str(y0))
            wait_for(lambda: False, 0.05)

    def settled() -> bool:
        current = w.run.current
        return current is not None and current.revision == doc.revision and not w.computer.computing

    drag([10, 20, 30, 40, 50, 60])
    during = {"dragging": type(w.scene.interaction).__name__, "value": doc.graph.nodes["x"].value,
              "index": doc.undo_stack.index()}
    xdo("mouseup", "1")
    wait_for(lambda: w.scene.interaction is None and settled())
    current = w.run.current
    after = {"value": doc.graph.nodes["x"].value, "index": doc.undo_stack.index(),
             "undo_text": doc.undo_stack.undoText(), "grad_x": current.nodes["x"].grad_text if current else None}
    drag([15, 30])
    moved = doc.graph.nodes["x"].value
    xdo("key", "Escape")
    wait_for(lambda: w.scene.interaction is None and settled())
    xdo("mouseup", "1")
    wait_for(settled)
    cancelled = {"moved_to": moved, "value": doc.graph.nodes["x"].value, "index": doc.undo_stack.index()}
    return {"start": start, "during": during, "after": after, "cancelled": cancelled}


def band_select(w) -> dict:  # noqa: ANN001 - the MainWindow
    """A rubber band dragged with a real mouse from the view's top-left corner (empty canvas) to
    its middle (interactions.RubberBand): what it selects, and whether it showed."""
    view, scene = w.view, w.scene
    scene.clearSelection()
    boxes = {n: item.sceneBoundingRect() for n, item in scene.nodes.items()}
    start, end = QPoint(4, 4), view.viewport().rect().center()  # the viewport's corner: empty canvas
    assert scene.node_at(view.mapToScene(start)) is None
    band = QRectF(view.mapToScene(start), view.mapToScene(end)).normalized()
    # The nodes' bodies (their boxes less the port dots that stick out left and right) it meets.
    meets = sorted(n for n, r in boxes.items() if r.adjusted(6, 0, -6, 0).intersects(band))
    origin, finish = view.viewport().mapToGlobal(start), view.viewport().mapToGlobal(end)

    xdo("mousemove", "--sync", str(origin.x()), str(origin.y()))
    wait_for(lambda: False, 0.2)
    xdo("mousedown", "1")
    for k in range(1, 6):
        xdo("mousemove", "--sync", str(origin.x() + (finish.x() - origin.x()) * k // 5),
            str(origin.y() + (finish.y() - origin.y()) * k // 5))
        wait_for(lambda: False, 0.05)
    shown = not view.rubberBandRect().isNull()
    xdo("mouseup", "1")
    wait_for(lambda: scene.interaction is None)
    selected = sorted(scene.selected_node_ids())
    scene.clearSelection()
    return {"expected": meets, "selected": selected, "shown": shown, "left": not view.rubberBandRect().isNull(),
            "edges": len(scene.selected_edges())}


def drag_group(w) -> dict:  # noqa: ANN001 - the MainWindow
    """x and x_sq grouped (Ctrl+G's function), then the frame dragged by its header with a real
    mouse, 50 pixels right and 30 down in steps (interactions.GroupDrag)."""
    from gui.group_commands import group_selection

    doc, view, scene = w.doc, w.view, w.scene
    scene.select_nodes(["x", "x_sq"])
    group_selection(w)
    (group_id,) = doc.graph.groups
    scene.groups.rebuild()
    scene.clearSelection()
    frame = scene.groups.items[group_id]
    # A point of the header no node lies over (a node outside the group may overlap the frame).
    header = next(pt for dx in range(30, int(frame.rect.width()), 10)
                  if scene.node_at(pt := frame.rect.topLeft() + QPointF(dx, 8)) is None)
    at = view.viewport().mapToGlobal(view.mapFromScene(header))
    scale = view.transform().m11()
    before = {n: list(doc.graph.layout[n]) for n in ("x", "x_sq", "y")}
    index = doc.undo_stack.index()

    xdo("mousemove", "--sync", str(at.x()), str(at.y()))
    wait_for(lambda: False, 0.2)
    xdo("mousedown", "1")
    wait_for(lambda: scene.interaction is not None, 3)
    for k in range(1, 6):
        xdo("mousemove", "--sync", str(at.x() + 10 * k), str(at.y() + 6 * k))
        wait_for(lambda: False, 0.05)
    dragging = type(scene.interaction).__name__
    xdo("mouseup", "1")
    wait_for(lambda: scene.interaction is None and doc.undo_stack.index() == index + 1)
    return {"dragging": dragging, "scale": scale, "before": before, "index": index,
            "after": {n: list(doc.graph.layout[n]) for n in ("x", "x_sq", "y")},
            "index_after": doc.undo_stack.index(), "undo_text": doc.undo_stack.undoText()}


def wheel_gestures(w) -> dict:  # noqa: ANN001 - the MainWindow
    """Wheel notches from a real mouse (buttons 4 and 5) over a graph of 300 nodes, zoomed out
    (the overview) and at 50 % (full detail): the gesture's picture while it lasts, then the
    exact one, drawn in pieces (gui.canvas.zoomcache). Whether the window on the X server (its
    pixels, QScreen.grabWindow) is then what the view draws afresh."""
    from graph.model import Edge, Graph, Node

    view, scene, doc = w.view, w.scene, w.doc
    g = Graph()
    for i in range(300):
        g.add_node(Node(f"w{i}", "tensor", value=float(i)) if i % 3 == 0 else Node(f"w{i}", "neg"),
                   pos=(260.0 * (i % 20), 150.0 * (i // 20)))
        if i % 3:
            g.add_edge(Edge(f"w{i - 1}", f"w{i}", "input"))
    doc.reset(g)
    vp = view.viewport()
    cache = view.zoom_cache

    def on_screen():  # noqa: ANN202 - a QImage: the window's pixels on the X server
        wait_for(lambda: False, 0.3)  # X has shown what was painted
        corner = vp.mapToGlobal(QPoint(0, 0))
        shot = QGuiApplication.primaryScreen().grabWindow(0, corner.x(), corner.y(), vp.width(), vp.height())
        return shot.toImage().convertToFormat(QImage.Format.Format_RGB32)

    def exact():  # noqa: ANN202 - the view drawn afresh, from no cache
        for item in scene.nodes.values():
            item.update()
        view.resetCachedContent()
        QApplication.processEvents()
        return vp.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)

    out = {}
    for name, scale, button in (("overview", 0.08, "5"), ("detail", 0.5, "4")):
        view.resetTransform()
        view.scale(scale, scale)
        view.centerOn(scene.itemsBoundingRect().center())
        wait_for(lambda: False, 0.3)
        middle = vp.mapToGlobal(vp.rect().center())
        xdo("mousemove", "--sync", str(middle.x()), str(middle.y()))
        wait_for(lambda: False, 0.1)
        xdo("click", button)  # one notch: 4 is up (in), 5 down (out)
        during = cache.zooming
        settled = wait_for(lambda: not cache.zooming, 5)
        shown = on_screen()
        out[name] = {"zooming_during": during, "settled": settled, "overview": scene.overview.on,
                     "scale": view.transform().m11(), "exact_on_screen": shown == exact()}
    return out


def canvas_menu_then_click(w, example: str) -> dict:  # noqa: ANN001 - the MainWindow
    """A real right-click on empty canvas opens its menu (which takes the right button's release:
    the canvas once kept waiting for it and swallowed every left click after); the menu closed
    with Esc, then opened again and used, by keys, to add a tensor (Add node ▸ tensors ▸ tensor).
    After each: what popup was open, the gesture left on the canvas, and what two real left
    clicks on z selected."""
    from gui.canvas.items import EdgeItem, NodeItem

    doc, view, scene = w.doc, w.view, w.scene
    w.open_file(example)
    view.fit_graph()
    wait_for(lambda: False, 0.3)
    vp = view.viewport()

    def bare(p: QPointF) -> bool:  # no node, and no wire (an item only once the mouse finds it)
        return scene.wire_at(p) is None and not any(isinstance(it, NodeItem | EdgeItem) for it in scene.items(p))

    empty = next(p for x in range(40, vp.width(), 25) for y in range(40, vp.height(), 25)
                 if bare(p := view.mapToScene(x, y)))

    def at(scene_pos: QPointF) -> list[str]:
        g = vp.mapToGlobal(view.mapFromScene(scene_pos))
        return [str(g.x()), str(g.y())]

    def xdo(*args: str) -> None:
        subprocess.run(["xdotool", *args], check=True, timeout=20)
        wait_for(lambda: False, 0.2)

    def right_click_then(keys: list[str]) -> dict:
        seen: list[str] = []

        def in_menu() -> None:  # polled: the menu runs an event loop of its own until closed
            if QApplication.activePopupWidget() is not None and not seen:
                seen.append(type(QApplication.activePopupWidget()).__name__)
                subprocess.run(["xdotool", "key", "--delay", "100", *keys], check=True, timeout=20)

        poll = QTimer(interval=50)
        poll.timeout.connect(in_menu)
        poll.start()
        scene.clearSelection()
        nodes = len(doc.graph.nodes)
        xdo("mousemove", "--sync", *at(empty))
        xdo("click", "3")
        wait_for(lambda: bool(seen) and QApplication.activePopupWidget() is None)
        poll.stop()
        after = {"popup": seen, "open": QApplication.activePopupWidget() is not None,
                 "interaction": type(scene.interaction).__name__, "added": len(doc.graph.nodes) - nodes}
        clicks = []
        for _ in range(2):
            scene.clearSelection()
            xdo("mousemove", "--sync", *at(scene.nodes["z"].sceneBoundingRect().center()))
            xdo("click", "1")
            wait_for(lambda: scene.selected_node_ids() == ["z"], 2)
            clicks.append(scene.selected_node_ids())
        return {**after, "clicks": clicks, "band": not view.rubberBandRect().isNull()}

    return {"esc": right_click_then(["Escape"]), "add": right_click_then(["Down", "Right", "Right", "Return"])}


# A file manager's drag, from a process of its own: a label that drags the files named on its
# command line as text/uri-list (offering copy, move and link) and prints how the drop ended.
DRAG_SOURCE = """
import sys
from PySide6.QtCore import QMimeData, QTimer, QUrl, Qt
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication(sys.argv[:1])
class Source(QLabel):
    started = False
    def mouseMoveEvent(self, e):
        if e.buttons() & Qt.MouseButton.LeftButton and not self.started:
            self.started = True
            drag, data = QDrag(self), QMimeData()
            data.setUrls([QUrl.fromLocalFile(p) for p in sys.argv[1:]])
            drag.setMimeData(data)
            actions = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction | Qt.DropAction.LinkAction
            print("drop result:", drag.exec(actions).name, flush=True)
            app.quit()
source = Source("drag me")
source.setGeometry(1600, 100, 200, 200)
source.show()
QTimer.singleShot(300, lambda: print("ready", flush=True))
app.exec()
"""
SOURCE_AT = (1700, 200)  # inside the source's label


def drop_files(w, folder: Path) -> dict:  # noqa: ANN001 - the MainWindow
    """Real XDND drags from another process onto the window: one graph onto the canvas, one onto
    the inspector dock, two graphs and a .py file onto the canvas; for each, how the drag ended,
    the document's path and the window's title after it, and the status line; and which file the
    import dialog was asked for."""
    graphs = []
    for name in ("dropme.json", "onto_the_dock.json", "second.json"):
        graphs.append(folder / name)
        shutil.copyfile(ROOT / "resources" / "examples" / "02_matmul_vector.json", graphs[-1])
    script = folder / "model.py"
    script.write_text("def f(x):\n    return x * 2\n")
    view, dock = w.view, w.inspector_dock
    on_canvas = view.viewport().mapToGlobal(view.viewport().rect().center())
    on_dock = dock.mapToGlobal(dock.rect().center())

    def drag(paths: list[Path], to) -> dict:  # noqa: ANN001 - a QPoint, global
        w.say("before the drop")
        source = subprocess.Popen([sys.executable, "-c", DRAG_SOURCE, *map(str, paths)], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        ready = source.stdout.readline().strip()
        xdo("mousemove", "--sync", *map(str, SOURCE_AT))
        wait_for(lambda: False, 0.2)
        xdo("mousedown", "1")
        steps = 12
        for k in range(1, steps + 1):
            x = SOURCE_AT[0] + (to.x() - SOURCE_AT[0]) * k // steps
            y = SOURCE_AT[1] + (to.y() - SOURCE_AT[1]) * k // steps
            xdo("mousemove", str(x), str(y))
            wait_for(lambda: False, 0.08)
        wait_for(lambda: False, 0.3)
        xdo("mouseup", "1")
        wait_for(lambda: source.poll() is not None, 15)
        if source.poll() is None:
            source.kill()
        out = source.communicate(timeout=10)[0]
        wait_for(lambda: False, 0.5)  # the drop opens on the next turn of the event loop
        return {"ready": ready, "source": out.strip().splitlines(), "path": w.doc.path,
                "title": w.windowTitle(), "status": w.statusBar().currentMessage()}

    from gui.import_dialog import importer

    asked: list[str] = []
    importer(w).ask_file = asked.append  # the import dialog is modal: which file it was asked for
    return {"graph on the canvas": drag(graphs[:1], on_canvas), "graph on a dock": drag(graphs[1:2], on_dock),
            "two graphs": drag(graphs[:3:2], on_canvas), "python": drag([script], on_canvas),
            "import asked for": asked, "files": [str(p) for p in graphs], "script": str(script)}


if __name__ == "__main__":
    out = main(sys.argv[1], sys.argv[2])
    print("REPORT " + json.dumps(out), flush=True)
    QApplication.clipboard().clear()
