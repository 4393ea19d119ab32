"""The canvas's gradient-flow view (gui.canvas.flowview, flowstate, flowstyle, the overview's
drawing) and the gradient in a wire's tooltip.

Pens are read from the scene's own drawing: the helpers that draw a group of wires are wrapped
to record (pen, wires) while the view paints.
"""

from __future__ import annotations

import math

import pytest
from helpers import RESULT_TIMEOUT_MS, scene_and_view
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter

from autograd_bridge.flows import EdgeFlow, FlowResult
from graph.fileformat import load
from graph.model import Edge, Graph, Node
from graph.ops import TENSOR
from gui.canvas import flowstyle, overview
from gui.canvas.flowstyle import EXPLODING, FIRST_BIN, NO_FLOW, NONFINITE, VANISHING


def chain(n: int) -> Graph:
    """x → n0 → n1 → … (neg), and a constant c feeding n0's sibling add."""
    g = Graph()
    g.add_node(Node("x", TENSOR, value=1.0, requires_grad=True), pos=(0.0, 0.0))
    for i in range(n):
        g.add_node(Node(f"n{i}", "neg"), pos=(250.0 * (i + 1), 0.0))
        g.add_edge(Edge("x" if i == 0 else f"n{i - 1}", f"n{i}", "input"))
    return g


def drawn_pens(monkeypatch: pytest.MonkeyPatch, scene, view) -> dict[Edge, object]:  # noqa: ANN001
    """Each wire's pen as the scene draws it now (rendered into an image)."""
    seen: dict[Edge, object] = {}
    curves, lines = overview._draw_curves, overview._draw_lines

    def record_curves(p, wires, pen, scale):  # noqa: ANN001, ANN202
        seen.update((w.edge, pen) for w in wires)
        return curves(p, wires, pen, scale)

    def record_lines(p, wires, pen):  # noqa: ANN001, ANN202
        seen.update((w.edge, pen) for w in wires)
        return lines(p, wires, pen)

    monkeypatch.setattr(overview, "_draw_curves", record_curves)
    monkeypatch.setattr(overview, "_draw_lines", record_lines)
    scene.redraw(scene.sceneRect())
    view.viewport().repaint()
    if not seen:  # offscreen views may not paint a hidden part: draw the background by hand
        image = QImage(400, 300, QImage.Format.Format_ARGB32)
        p = QPainter(image)
        scene.drawBackground(p, scene.sceneRect())
        p.end()
    monkeypatch.undo()
    return seen


def with_flows(scene, norms: dict[Edge, float], none: tuple[Edge, ...] = ()) -> FlowResult:  # noqa: ANN001
    flows = FlowResult(0, "t", flows={e: EdgeFlow(v, (), f"{v:.4g}") for e, v in norms.items()},
                       none=dict.fromkeys(none, "no gradient flows"))
    state = scene.overview.flow
    state.on = True
    state.set_result(flows)
    scene.overview.flow_changed()
    return flows


def test_colours_and_widths_follow_the_norms(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    g = chain(12)
    scene, view = scene_and_view(qtbot, g)
    view.resetTransform()  # 100 %: scaled pens, wires as curves
    edges = list(g.edges)
    norms = {e: 10.0 ** (i - 6) for i, e in enumerate(edges[1:11])}  # 1e-6 … 1e3, one decade apart
    norms[edges[11]] = math.nan
    with_flows(scene, norms, none=(edges[0],))
    state = scene.overview.flow
    pens = drawn_pens(monkeypatch, scene, view)
    assert set(pens) == set(edges)
    assert pens[edges[0]].color() == flowstyle.colour(NO_FLOW)
    assert state.code(edges[11]) == NONFINITE and pens[edges[11]].color() == flowstyle.colour(NONFINITE)
    # default thresholds: largest 1e3 → vanishing below 1e-3; median (0.01 + 0.1) / 2 → exploding above 55
    assert state.thresholds.vanish == pytest.approx(1e-3)
    assert state.thresholds.explode == pytest.approx(55.0)
    codes = [state.code(e) for e in edges[1:11]]
    assert codes[:3] == [VANISHING] * 3  # 1e-6, 1e-5, 1e-4
    assert codes[-2:] == [EXPLODING] * 2  # 100, 1000
    middle = [e for e, c in zip(edges[1:11], codes, strict=True) if c >= FIRST_BIN]
    assert len(middle) == 5
    widths = [pens[e].widthF() for e in middle]
    assert widths == sorted(widths) and widths[0] < widths[-1]  # larger flow, wider wire
    assert [state.code(e) for e in middle] == sorted(state.code(e) for e in middle)
    assert state.code(middle[0]) == FIRST_BIN and state.code(middle[-1]) == FIRST_BIN + flowstyle.BINS - 1
    for e in middle:
        assert pens[e].color() == flowstyle.colour(state.code(e))
    assert pens[edges[10]].widthF() > widths[-1]  # exploding stands out

    scene.overview.flow.on = False  # off: every wire with the one plain pen
    pens = drawn_pens(monkeypatch, scene, view)
    assert len({(p.color().name(), p.widthF()) for p in pens.values()}) == 1


def test_zoomed_out_the_lines_keep_their_codes(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    g = chain(6)
    scene, view = scene_and_view(qtbot, g)
    edges = list(g.edges)
    with_flows(scene, {e: 10.0 ** i for i, e in enumerate(edges)})
    scene.set_overview(True)
    pens = drawn_pens(monkeypatch, scene, view)
    assert all(p.isCosmetic() for p in pens.values())
    assert pens[edges[0]].color() == flowstyle.colour(scene.overview.flow.code(edges[0]))
    assert pens[edges[-1]].widthF() >= pens[edges[1]].widthF()
    # a moved node keeps its wires' codes (the overview's rows are set again)
    scene.nodes["n2"].moveBy(0, 40)
    scene.update_edges_of("n2")
    assert drawn_pens(monkeypatch, scene, view)[edges[2]].color() == pens[edges[2]].color()


def test_thresholds_in_the_legend_change_what_is_highlighted(window, examples_dir, qtbot) -> None:  # noqa: ANN001
    w = window
    w.open_file(str(examples_dir / "04_small_mlp.json"))
    fv = w.flow_view
    fv.set_on(True)
    assert fv.legend.isVisible() and fv.action.isChecked()
    state = w.scene.overview.flow
    qtbot.waitUntil(lambda: state.result is not None and state.result.revision == w.doc.revision,
                    timeout=RESULT_TIMEOUT_MS)
    assert state.counts[VANISHING] == 0 and state.counts[EXPLODING] == 0
    assert state.counts[NO_FLOW] == 2  # inp and target do not require grad
    norms = sorted(f.norm for f in state.result.flows.values())
    fv.legend.vanish_edit.setText("0.1")  # below 0.1 × the largest: b1's flow (0.068 of 1.58)
    fv.legend.vanish_edit.editingFinished.emit()
    assert state.thresholds.vanish == pytest.approx(0.1 * norms[-1])
    assert state.counts[VANISHING] == sum(n < 0.1 * norms[-1] for n in norms) == 1
    assert state.code(Edge("b1", "h_pre", "other")) == VANISHING
    assert "1 wires" in fv.legend.counts[VANISHING].text()
    fv.legend.explode_edit.setText("1.5")  # above 1.5 × the median
    fv.legend.explode_edit.editingFinished.emit()
    median = sorted(norms)[len(norms) // 2]
    assert state.counts[EXPLODING] == sum(n > 1.5 * median for n in norms) > 0
    fv.legend.explode_edit.setText("big")  # refused in words, the factor kept
    fv.legend.explode_edit.editingFinished.emit()
    assert state.thresholds.explode_factor == 1.5 and fv.legend.explode_edit.text() == "1.5"
    assert "'big' is not a positive number" in fv.legend.status.text()
    fv.set_on(False)
    assert not fv.legend.isVisible() and not state.on


def test_a_wire_tooltip_names_the_gradient_along_it(window, examples_dir, qtbot) -> None:  # noqa: ANN001
    w = window
    w.open_file(str(examples_dir / "01_scalar_partial.json"))
    qtbot.waitUntil(lambda: w.run.current is not None, timeout=RESULT_TIMEOUT_MS)
    assert not w.flow_view.state.on  # the view is off: the tooltip still asks for the flows
    item = w.scene.edges[Edge("x", "x_sq", "input")]
    first = item.toolTip()
    assert first.splitlines()[0] == "x → x_sq.input"
    state = w.scene.overview.flow
    qtbot.waitUntil(lambda: state.result is not None, timeout=RESULT_TIMEOUT_MS)
    lines = item.toolTip().splitlines()
    assert "computing" in first or lines == first.splitlines()
    assert lines[1] == "∂y/∂x via (x**2).input: 8"
    assert lines[2] == "the gradient flowing along this wire: shape [], norm 8"
    none = w.scene.edges[Edge("z", "three_z", "other")].toolTip().splitlines()
    assert none[1] == "∂y/∂z via (3*z).other: no gradient flows: z does not require grad"
    w.doc.set_target(None)
    qtbot.waitUntil(lambda: w.run.current is not None and w.run.current.target is None, timeout=RESULT_TIMEOUT_MS)
    assert "no target" in item.toolTip()


def test_a_grad_output_reads_as_a_vjp_and_nan_is_flagged(qtbot) -> None:  # noqa: ANN001
    from autograd_bridge.compute import ComputeResult

    g = chain(2)
    scene, _view = scene_and_view(qtbot, g, target="n1")
    edges = list(g.edges)
    flows = with_flows(scene, {edges[0]: 2.0, edges[1]: math.inf})
    flows.target, flows.grad_output = "n1", [1.0]
    scene.result = ComputeResult(0, "n1", grad_output=[1.0])
    tip = scene.edges[edges[1]].toolTip().splitlines()
    assert tip[1].startswith("vᵀ·∂n1/∂n0 via n1.input: ")
    assert tip[-1] == "exploding: it holds NaN/Inf"


def test_the_toggle_is_in_the_view_menu_and_the_toolbar(window) -> None:  # noqa: ANN001
    action = window.flow_view.action
    assert action in window.view_menu.actions() and action in window.run_toolbar.actions()
    assert action.isCheckable() and not action.isChecked()
    action.trigger()
    assert window.scene.overview.flow.on and window.flow_view.legend.isVisible()
    assert window.flow_view.legend.geometry().right() < window.view.width()
    assert Qt.AlignmentFlag.AlignRight == window.flow_view.legend.high.alignment()


def test_the_example_loads_with_flows_drawn(window, examples_dir, qtbot) -> None:  # noqa: ANN001
    """Sanity of the whole loop on a file: each flowing edge of the run gets a code of its own."""
    w = window
    w.open_file(str(examples_dir / "02_matmul_vector.json"))
    w.flow_view.set_on(True)
    state = w.scene.overview.flow
    qtbot.waitUntil(lambda: state.result is not None, timeout=RESULT_TIMEOUT_MS)
    g = load(examples_dir / "02_matmul_vector.json")
    assert set(state.result.flows) | set(state.result.none) == set(g.edges)
    assert all(state.code(e) >= FIRST_BIN for e in state.result.flows)


def test_cancelled_flows_say_so_and_f5_asks_again(window, examples_dir, qtbot) -> None:  # noqa: ANN001
    from gui.canvas.flowview import FLOWS
    from gui.runstate import run_key

    w = window
    w.open_file(str(examples_dir / "01_scalar_partial.json"))
    qtbot.waitUntil(lambda: w.run.current is not None, timeout=RESULT_TIMEOUT_MS)
    fv = w.flow_view
    fv.w.computer.request_task = lambda *a: None  # the request goes nowhere: answered by hand below
    fv.set_on(True)
    shown = w.run.current
    assert fv.asked == run_key(shown)
    cancelled = FlowResult(shown.revision, shown.target, shown.device, shown.dtype, shown.grad_output,
                           cancelled=True)
    fv._on_task(FLOWS, cancelled)  # noqa: SLF001 - what the worker's taskReady calls
    assert fv.asked is None and "cancelled" in fv.legend.status.text()
    assert w.scene.overview.flow.result is None
    del fv.w.computer.request_task  # the real one again
    w.compute_action.trigger()  # F5
    qtbot.waitUntil(lambda: w.scene.overview.flow.result is not None, timeout=RESULT_TIMEOUT_MS)
    assert fv.legend.status.text() == ""


def test_a_nan_in_the_backward_pass_makes_its_wires_nonfinite() -> None:
    from autograd_bridge.compute import ComputeSession
    from autograd_bridge.flows import flow_task
    from gui.canvas.flowstate import FlowState

    g = Graph()
    g.add_node(Node("x", TENSOR, value=[-1.0, 4.0], requires_grad=True))
    g.add_node(Node("r", "sqrt"))
    g.add_node(Node("s", "sum"))
    g.add_edge(Edge("x", "r", "input"))
    g.add_edge(Edge("r", "s", "input"))
    session = ComputeSession()
    result = session.compute(g.snapshot(), "s", 1)
    assert "r" in result.nonfinite  # the node mark where NaN first appears, as before
    state = FlowState()
    state.set_result(flow_task(session, None, g.snapshot(), 1, "s"))
    assert state.code(Edge("x", "r", "input")) == NONFINITE  # sqrt'(-1) is NaN
    assert state.code(Edge("r", "s", "input")) >= FIRST_BIN  # ones: finite
