"""Review round: editing must never lose or corrupt work. A document's path is absolute (a
relative one would follow the working folder of the next start); Save asks before writing over
a file another program changed; a renamed target's grad-output does not stay with the old id;
pasting the same clipboard again never stacks copies; long names on screen are shortened,
never cut bare, and every number still says what it is."""

from __future__ import annotations

import json
import os
from pathlib import Path

from graph.fileformat import load, save
from graph.model import Edge, Graph, Node
from gui.file_guard import CANCEL, OVERWRITE, SAVE_AS
from gui.recovery import _read, encode


def _two_node_file(path: Path) -> None:
    g = Graph()
    g.add_node(Node("a", "tensor", value=1.0), pos=(0.0, 0.0))
    save(g, path)


# ---- 1: the document's path is absolute ----


def test_a_relative_path_is_made_absolute_at_open_and_save_as(window, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    (tmp_path / "A").mkdir()
    (tmp_path / "B").mkdir()
    _two_node_file(tmp_path / "A" / "m.json")
    monkeypatch.chdir(tmp_path / "A")
    assert window.open_file("m.json")
    assert window.doc.path == str(tmp_path / "A" / "m.json")
    window.doc.add_node(Node("extra", "tensor", value=7.0), (0.0, 300.0))
    monkeypatch.chdir(tmp_path / "B")  # the next start, from another folder
    assert window.save_document()
    assert "extra" in load(tmp_path / "A" / "m.json").nodes
    assert not (tmp_path / "B" / "m.json").exists()
    assert window._save_to("other.json")  # noqa: SLF001 - Save As's own path
    assert window.doc.path == str(tmp_path / "B" / "other.json")


def test_a_symlink_is_kept_as_named(window, tmp_path: Path) -> None:  # noqa: ANN001
    _two_node_file(tmp_path / "real.json")
    (tmp_path / "link.json").symlink_to(tmp_path / "real.json")
    assert window.open_file(str(tmp_path / "link.json"))
    assert window.doc.path == str(tmp_path / "link.json")


def test_recovery_stores_an_absolute_path_and_drops_a_relative_one(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.chdir(tmp_path)
    g = Graph()
    g.add_node(Node("a", "tensor", value=1.0), pos=(0.0, 0.0))
    assert json.loads(encode(g, "m.json"))["path"] == str(tmp_path / "m.json")
    old = tmp_path / "old.json"  # written by an older version, relative to a folder nobody knows
    old.write_text(json.dumps({**json.loads(encode(g, None)), "path": "m.json"}), encoding="utf-8")
    _graph, path, _saved_at, _stamp = _read(old)
    assert path is None  # recovered untitled: Save asks where, never writes into the start folder


# ---- 2: Save asks before writing over another program's change ----


def _changed_by_another_program(path: Path) -> None:
    d = json.loads(path.read_text(encoding="utf-8"))
    d["nodes"].append({"id": "theirs", "op": "tensor", "value": 2.0, "pos": [0, 600]})
    path.write_text(json.dumps(d), encoding="utf-8")


def test_save_asks_before_overwriting_a_file_changed_on_disk(window, tmp_path: Path) -> None:  # noqa: ANN001
    file = tmp_path / "ext.json"
    _two_node_file(file)
    assert window.open_file(str(file))
    window.doc.add_node(Node("mine", "tensor", value=1.0), (0.0, 400.0))
    _changed_by_another_program(file)
    asked: list[str] = []
    window.ask_overwrite = lambda path: asked.append(path) or CANCEL
    assert not window.save_document()
    assert asked == [str(file)]
    assert "theirs" in load(file).nodes and "mine" not in load(file).nodes  # untouched
    assert window.isWindowModified()
    window.ask_overwrite = lambda path: OVERWRITE
    assert window.save_document()
    assert "mine" in load(file).nodes
    # saved by us now: the next Save does not ask
    window.ask_overwrite = lambda path: asked.append(path) or CANCEL
    window.doc.add_node(Node("more", "tensor", value=1.0), (0.0, 500.0))
    assert window.save_document()
    assert len(asked) == 1 and "more" in load(file).nodes


def test_save_as_is_offered_when_the_file_changed(window, tmp_path: Path) -> None:  # noqa: ANN001
    file = tmp_path / "ext.json"
    _two_node_file(file)
    assert window.open_file(str(file))
    window.doc.add_node(Node("mine", "tensor", value=1.0), (0.0, 400.0))
    _changed_by_another_program(file)
    chose: list[bool] = []
    window.save_as = lambda: chose.append(True) or window._save_to(str(tmp_path / "copy.json"))  # noqa: SLF001
    window.ask_overwrite = lambda path: SAVE_AS
    assert window.save_document()
    assert chose == [True]
    assert "theirs" in load(file).nodes and "mine" not in load(file).nodes
    assert "mine" in load(tmp_path / "copy.json").nodes


def test_an_unchanged_file_saves_without_asking(window, tmp_path: Path) -> None:  # noqa: ANN001
    file = tmp_path / "m.json"
    _two_node_file(file)
    assert window.open_file(str(file))
    window.ask_overwrite = lambda path: (_ for _ in ()).throw(AssertionError("asked"))
    window.doc.add_node(Node("mine", "tensor", value=1.0), (0.0, 400.0))
    assert window.save_document()
    os.remove(file)  # deleted by another program: saving puts it back, nothing of theirs is lost
    window.doc.add_node(Node("more", "tensor", value=1.0), (0.0, 500.0))
    assert window.save_document()
    assert "more" in load(file).nodes


# ---- 3: a renamed target's grad-output leaves the old id ----


def test_a_new_node_with_a_renamed_targets_old_id_has_no_grad_output(window, tmp_path: Path) -> None:  # noqa: ANN001
    doc = window.doc
    doc.add_node(Node("x", "tensor", value=[1.0, 2.0], requires_grad=True), (0, 0))
    doc.add_node(Node("y", "neg"), (300, 0))
    doc.connect(Edge("x", "y", "input"))
    doc.choose_target("y")
    window.grad_output_edit.setText("[1, 0]")
    window.grad_output_edit.editingFinished.emit()
    doc.rename("y", "y2")
    assert window.grad_output_edit.text() == "[1, 0]" and window.grad_output == [1.0, 0.0]
    doc.add_node(Node("y", "tensor", value=5.0, requires_grad=True), (0, 200))
    doc.choose_target("y")
    assert window.grad_output_edit.text() == "" and window.grad_output is None
    assert window._save_to(str(tmp_path / "out.json"))  # noqa: SLF001
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8")).get("grad_output") is None
    # undo back past the rename: y is the target again with its own [1, 0]
    for _ in range(3):  # choose_target, add y, rename
        doc.undo_stack.undo()
    assert doc.target == "y" and "y2" not in doc.graph.nodes
    assert window.grad_output_edit.text() == "[1, 0]" and window.grad_output == [1.0, 0.0]
    doc.undo_stack.redo()  # the rename again
    assert doc.target == "y2" and window.grad_output == [1.0, 0.0]


# ---- 4: pasting the same clipboard again never stacks the copies ----


def test_each_paste_of_the_same_clipboard_goes_further(window) -> None:  # noqa: ANN001
    doc = window.doc
    doc.add_node(Node("a", "tensor", value=1.0), (0.0, 0.0))
    doc.add_node(Node("b", "neg"), (300.0, 0.0))
    doc.connect(Edge("a", "b", "input"))
    doc.group(["a", "b"], "layer")
    window.scene.select_nodes(["a", "b"])
    window.copy()
    for _ in range(3):
        window.paste()
    pos = [doc.graph.position(n) for n in doc.graph.nodes]
    assert len(pos) == 8 and len(set(pos)) == 8  # no copy on top of another
    assert [doc.graph.position(n) for n in doc.graph.nodes if doc.graph.nodes[n].op == "tensor"] == [
        (0.0, 0.0), (40.0, 40.0), (80.0, 80.0), (120.0, 120.0)]
    window.scene.groups.rebuild()
    frames = [item.sceneBoundingRect().topLeft().toTuple() for item in window.scene.groups.items.values()]
    assert len(frames) == 4 and len(set(frames)) == 4  # the pasted groups' frames do not stack either
    # a new clipboard starts again just beside its original
    window.scene.select_nodes(["a"])
    window.copy()
    window.paste()
    assert doc.graph.position(window.scene.selected_node_ids()[0]) == (160.0, 160.0)  # +40… are taken by the copies


def test_a_duplicate_of_the_same_selection_twice_does_not_stack(window) -> None:  # noqa: ANN001
    doc = window.doc
    doc.add_node(Node("a", "tensor", value=1.0), (0.0, 0.0))
    window.scene.select_nodes(["a"])
    window.duplicate()
    window.scene.select_nodes(["a"])
    window.duplicate()
    pos = [doc.graph.position(n) for n in doc.graph.nodes]
    assert len(set(pos)) == 3


# ---- 5: long names on screen are shortened with "…", never cut bare or wrapped into columns ----



def _long_graph() -> Graph:
    g = Graph()
    w, y = "W" * 200, "y_" + "long_" * 30
    g.add_node(Node("x", "tensor", value=[1.0, 2.0], requires_grad=True), pos=(0.0, 0.0))
    g.add_node(Node(w, "mul"), pos=(300.0, 0.0))
    g.add_node(Node(y, "sum", label="a very long label that goes on " * 12), pos=(600.0, 0.0))
    g.add_edge(Edge("x", w, "input"))
    g.add_edge(Edge("x", w, "other"))
    g.add_edge(Edge(w, y, "input"))
    g.target = y
    return g


def test_inspector_headings_are_one_line_with_the_whole_text_in_the_tooltip(qtbot, window, tmp_path: Path) -> None:  # noqa: ANN001
    from helpers import RESULT_TIMEOUT_MS

    save(_long_graph(), tmp_path / "long.json")
    window.resize(1600, 900)
    assert window.open_file(str(tmp_path / "long.json"))
    result = lambda: window.last_result is not None and bool(window.last_result.nodes)  # noqa: E731
    qtbot.waitUntil(result, timeout=RESULT_TIMEOUT_MS)
    window.scene.select_nodes(["x"])
    insp = window.inspector
    qtbot.waitUntil(lambda: insp.grad_panel.title.text().startswith("∂"), timeout=RESULT_TIMEOUT_MS)
    for panel in (insp.value_panel, insp.grad_panel):
        title = panel.title
        line = title.fontMetrics().height()
        assert title.height() < 2 * line, title.text()  # one line, not a tall column
        assert title.text() in title.toolTip()  # the whole heading, on hover
    assert "a very long label that goes on a very long label" in insp.grad_panel.title.toolTip()
    shown = insp.grad_panel.title.shown_text()
    assert shown == "∂(a very lo…)/∂x"  # the short name of the partial, as on the canvas
    window.scene.select_nodes([window.doc.target])  # the node's own title, at the inspector's top
    qtbot.waitUntil(lambda: "a very long label" in insp.title.text(), timeout=RESULT_TIMEOUT_MS)
    assert insp.title.height() < 2 * insp.title.fontMetrics().height()  # it wrapped into six lines
    assert insp.title.shown_text().endswith("…") and insp.title.text() in insp.title.toolTip()



def test_the_value_heading_of_an_equation_is_its_name_with_a_gap_before_the_partials(qtbot, window) -> None:  # noqa: ANN001
    """'value of y = 2*x**2 + 3…' ran into '∂y/∂y' beside it: the heading names y as ∂y/∂y
    does when the whole does not fit, and the two panels keep a gap."""
    from helpers import RESULT_TIMEOUT_MS

    from gui.inspector.plots import PANEL_GAP

    window.resize(1400, 900)
    assert window.expression_bar.add_text("y = 2*x**2 + 3*z")
    graph = window.doc.graph
    y = next(n for n in graph.nodes if graph.nodes[n].title.startswith("y = "))
    window.doc.set_target(y)
    window.scene.select_nodes([y])
    insp = window.inspector
    qtbot.waitUntil(lambda: insp.grad_panel.title.shown_text() == "∂y/∂y", timeout=RESULT_TIMEOUT_MS)
    value = insp.value_panel.title
    assert value.text() == f"value of {graph.nodes[y].title}" and value.shown_text() == "value of y"
    partial = insp.grad_panel.title
    gap = partial.mapTo(insp, partial.rect().topLeft()).x() - value.mapTo(insp, value.rect().topRight()).x()
    assert gap >= PANEL_GAP  # side by side, a heading cut with "…" ends this far before the next


def test_a_group_frames_long_header_ends_in_an_ellipsis_inside_the_frame(window) -> None:  # noqa: ANN001
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtWidgets import QStyleOptionGraphicsItem

    class Recording(QPainter):
        def __init__(self, image: QImage) -> None:
            super().__init__(image)
            self.texts: list[tuple[object, str]] = []

        def drawText(self, rect, flags, text) -> None:  # noqa: ANN001, N802
            self.texts.append((rect, text, self.fontMetrics().horizontalAdvance(text)))
            super().drawText(rect, flags, text)

    doc = window.doc
    doc.add_node(Node("a", "tensor", value=1.0), (0.0, 0.0))
    doc.add_node(Node("b", "neg"), (300.0, 0.0))
    doc.connect(Edge("a", "b", "input"))
    g = doc.group(["a", "b"], "G" * 150)
    window.scene.groups.rebuild()
    item = window.scene.groups.items[g]
    image = QImage(2000, 600, QImage.Format.Format_ARGB32)
    p = Recording(image)
    item.paint(p, QStyleOptionGraphicsItem())
    p.end()
    (rect, text, width), = [t for t in p.texts if "GGG" in t[1]]
    assert text.startswith("▾  GGG") and text.endswith("…")
    assert width <= rect.width()


def test_the_partial_row_of_a_narrow_node_still_names_its_partial() -> None:
    """gui.canvas.labels.partial_row_names, for NodeItem.grad_line: the last choice, taken when
    nothing longer fits, still says which partial (the canvas showed "∂ = [1, 1]")."""
    from gui.canvas.labels import partial_row_names

    target, node = "a very long label that goes on " * 12, "W" * 200
    names = partial_row_names(target, node, vjp=False)
    assert names[0] == f"∂({target})/∂{node}"
    assert names[-2:] == ["∂(a very lo…)/∂W…", "∂(a…)/∂W…"]  # a formula stays in parentheses
    assert all(n.startswith("∂") and "/∂" in n for n in names)
    assert partial_row_names("y", "x", vjp=True) == ["vᵀ·∂y/∂x"]


def test_a_node_whose_titles_do_not_fit_names_its_partial_on_the_canvas(qtbot, window, tmp_path: Path) -> None:  # noqa: ANN001
    from helpers import RESULT_TIMEOUT_MS
    from PySide6.QtGui import QFontMetricsF

    from gui.canvas.items import NODE_W

    save(_long_graph(), tmp_path / "long.json")
    assert window.open_file(str(tmp_path / "long.json"))
    computed = lambda: window.last_result is not None and bool(window.last_result.nodes)  # noqa: E731
    qtbot.waitUntil(computed, timeout=RESULT_TIMEOUT_MS)
    item = window.scene.nodes["W" * 200]
    line = item.grad_line(QFontMetricsF(window.scene.mono_font), NODE_W - 16)  # as _paint_overlay asks
    assert "/∂" in line and not line.startswith("∂ ="), line  # it read "∂ = [1, 1]"


def test_the_node_menus_duplicate_twice_does_not_stack(window) -> None:  # noqa: ANN001
    doc = window.doc
    doc.add_node(Node("a", "tensor", value=1.0), (0.0, 0.0))
    for _ in range(2):
        menu = window.scene.node_menu("a")  # held: its actions go with it
        (action,) = [a for a in menu.actions() if a.text().startswith("Duplicate")]
        action.trigger()
    spots = [doc.graph.position(n) for n in doc.graph.nodes]
    assert len(spots) == 3 and len(set(spots)) == 3, spots


def test_status_lines_shorten_a_long_target_title(qtbot, window, tmp_path: Path) -> None:  # noqa: ANN001
    from helpers import RESULT_TIMEOUT_MS

    save(_long_graph(), tmp_path / "long.json")  # its target's label is 372 characters
    assert window.open_file(str(tmp_path / "long.json"))
    qtbot.waitUntil(lambda: "shown on every node" in window.statusBar().currentMessage(), timeout=RESULT_TIMEOUT_MS)
    message, right = window.statusBar().currentMessage(), window.status.text()
    assert message.startswith("∂(a very lo") and "…" in message and len(message) < 120, message
    assert right.startswith("target (a very long") and right.endswith("on cpu") and len(right) < 60, right
