"""Safe text on screen (issue 9, #5): every id, label and message drawn on the canvas, held by
the inspector, shown in a tooltip, the status bar or the title goes through
graph.safetext.visible. A node id `w\u202eyx` whose gradient is [1, 2] must not draw as
"∂y/∂w[2 ,1] = xy", and a label with newlines must not spill out of its header."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import RESULT_TIMEOUT_MS
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGroupBox, QLabel, QLineEdit

from graph.model import Edge, Graph, Node

W = "w\u202eyx"  # U+202E RIGHT-TO-LEFT OVERRIDE
C_LABEL = "\u202eexe.txt"  # would read "txt.exe"
Y_LABEL = "loss\nsecond line\u2028third\x1b[2J"


def _hostile() -> Graph:
    g = Graph()
    g.add_node(Node(W, "tensor", value=[3.0, 4.0], requires_grad=True), pos=(0.0, 0.0))
    g.add_node(Node("c", "tensor", value=[1.0, 2.0], label=C_LABEL), pos=(0.0, 250.0))
    g.add_node(Node("m\u2066", "mul"), pos=(300.0, 100.0))  # U+2066 LEFT-TO-RIGHT ISOLATE
    g.add_node(Node("y", "sum", label=Y_LABEL), pos=(600.0, 100.0))
    g.add_edge(Edge(W, "m\u2066", "input"))
    g.add_edge(Edge("c", "m\u2066", "other"))
    g.add_edge(Edge("m\u2066", "y", "input"))
    return g


def _printable(texts: list[str]) -> list[str]:
    """The texts holding a character that is not printable."""
    return [t for t in texts if not t.isprintable()]


def _raw(texts: list[str]) -> list[str]:
    """The texts holding a hostile character of the graph's as it is (the app's own texts, such
    as an op's two-line rule, may hold a newline)."""
    return [t for t in texts if any(ch in t for ch in "\u202e\u2066\u2028\x1b")
            or ("\n" in t and "second line" in t)]


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every string the canvas and inspector hand to QPainter.drawText."""
    texts: list[str] = []
    real = QPainter.drawText

    def record(self, *args):  # noqa: ANN001, ANN002, ANN202
        texts.extend(a for a in args if isinstance(a, str))
        return real(self, *args)

    monkeypatch.setattr(QPainter, "drawText", record)
    return texts


def test_hostile_ids_and_labels_show_escaped_everywhere(qtbot, window, drawn: list[str], tmp_path: Path) -> None:  # noqa: ANN001
    w = window
    w.doc.reset(_hostile(), str(tmp_path / "x\u202egnp.json"))
    w.doc.set_target("y")
    qtbot.waitUntil(lambda: w.last_result is not None and w.last_result.revision == w.doc.revision
                    and w.last_result.target == "y", timeout=RESULT_TIMEOUT_MS)
    assert w.last_result.error is None
    w.scene.select_nodes([W])
    w.view.fit_graph()
    drawn.clear()  # the empty canvas's hint (two lines of the app's own) is gone now
    w.grab()
    assert drawn and _printable(drawn) == []  # zoomed out to fit: the summaries
    # the partial named even zoomed out, in shortened titles (escaped, as _printable checks)
    assert "w\\u202eyx" in drawn and "∂(l…)/∂(w…) = [1, 2]" in drawn

    # the canvas, in full detail
    drawn.clear()
    w.view.resetTransform()
    w.view.centerOn(w.scene.nodes["m\u2066"])
    image = w.grab()
    image.save(str(tmp_path / "hostile.png"))  # looked at once: escapes, no reversed numbers
    assert drawn and _printable(drawn) == []
    assert "w\\u202eyx" in drawn  # the header, escaped
    assert "\\u202eexe.txt" in drawn
    # the partial of w, named by titles as short as fit (∂y/∂(w\u202eyx), ∂y/∂(w…)); numbers in order
    assert any(t.startswith("∂") and "/∂" in t and t.endswith(" = [1, 2]") for t in drawn), drawn
    assert any(t.startswith("loss\\x0asecond line\\u2028third\\x1b[2J") or t.startswith("loss\\x0a")
               for t in drawn)  # one header line, not three

    # tooltips, the inspector, the status bar and the title
    tips = [item.toolTip() for item in [*w.scene.nodes.values(), *w.scene.edges.values()]]
    # a line each for id (op), label, rule: the label's own line breaks are escaped
    assert _printable([line for tip in tips for line in tip.split("\n")]) == []
    assert len(w.scene.nodes["y"].toolTip().split("\n")) == 3
    assert "loss\\x0asecond line\\u2028third\\x1b[2J" in w.scene.nodes["y"].toolTip().split("\n")
    insp = w.inspector
    texts = [label.text() for label in insp.findChildren(QLabel)]
    texts += [edit.text() for edit in insp.findChildren(QLineEdit)]
    texts += [box.title() for box in insp.findChildren(QGroupBox)]
    assert any("w\\u202eyx" in t for t in texts)
    assert _raw(texts) == []
    w.scene.select_nodes(["y"])
    texts = [label.text() for label in insp.findChildren(QLabel)] + [e.text() for e in insp.findChildren(QLineEdit)]
    assert _raw(texts) == [] and any("loss\\x0a" in t for t in texts)
    assert _printable([w.windowTitle(), w.statusBar().currentMessage(), w.status.text()]) == []
    assert "x\\u202egnp.json" in w.windowTitle()


def test_an_escaped_id_or_label_left_as_shown_is_not_changed(qtbot, window) -> None:  # noqa: ANN001
    """The inspector shows the escapes; finishing the editor unchanged renames nothing."""
    w = window
    w.doc.reset(_hostile())
    w.scene.select_nodes(["c"])
    form = w.inspector.form
    form.rows["label"].editor.editingFinished.emit()
    assert w.doc.graph.nodes["c"].label == C_LABEL and w.doc.undo_stack.count() == 0
    w.scene.select_nodes([W])
    form.rows["id"].editor.editingFinished.emit()
    assert W in w.doc.graph.nodes and w.doc.undo_stack.count() == 0


def test_a_markup_id_is_not_read_as_html_in_a_tooltip_or_message_box(qtbot, window) -> None:  # noqa: ANN001
    w = window
    g = Graph()
    g.add_node(Node("<h1>big</h1>", "tensor", value=1.0), pos=(0.0, 0.0))
    w.doc.reset(g)
    tip = w.scene.nodes["<h1>big</h1>"].toolTip()
    assert "&lt;h1&gt;big&lt;/h1&gt;" in tip and "<h1>" not in tip
    w.report_error("Cannot open", "<b>x\u202e</b>")
    assert w.statusBar().currentMessage() == "Cannot open: <b>x\\u202e</b>"
