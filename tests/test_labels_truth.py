"""Every label says what its number is and names what it is about: the grad table's columns with
--accumulate, the header badge's placeholder for an op's input, shortened partial names, the
batch_norm rule for both of its modes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_cli import run_main

from graph.lessons import load as load_lesson
from graph.model import Node
from graph.naming import formula_name
from graph.ops import OPS
from gui.canvas.labels import badge, partial_row_names
from gui.titles import op_symbol

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "resources" / "lessons").glob("*.json"))


# ---- grad --accumulate N: one run's ∂y/∂node apart from the leaves' summed .grad ----

def _table(out: str) -> tuple[list[str], dict[str, list[str]]]:
    """(header cells, row cells by node id) of the grad table: cells are two or more spaces apart."""
    lines = out.splitlines()[1:]
    cells = [re.split(r"\s{2,}", ln.strip()) for ln in lines if not ln.startswith("note:")]
    return cells[0], {row[0]: row for row in cells[1:]}


def test_grad_accumulate_table_keeps_one_runs_partial_under_its_header(examples_dir: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """y = 2x² + 3z at x = 2: ∂y/∂x = 4x = 8 each run; x.grad after 3 backward() calls is 24."""
    code, out, _ = run_main(capsys, "grad", str(examples_dir / "01_scalar_partial.json"), "--accumulate", "3")
    assert code == 0
    header, rows = _table(out)
    assert header == ["node", "kind", "shape", "value", "∂y/∂node", ".grad after 3 backward()"]
    assert rows["x"][4:] == ["8", "24"]
    assert rows["x_sq"][4:] == ["2"]  # a non-leaf's .grad does not add up: no second cell
    assert rows["z"][4:] == ["None: requires_grad is off"]


def test_grad_without_accumulate_keeps_its_one_column(examples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "grad", str(examples_dir / "01_scalar_partial.json"))
    header, rows = _table(out)
    assert header == ["node", "kind", "shape", "value", "∂y/∂node"] and rows["x"][4:] == ["8"]


def test_grad_accumulate_json_says_which_grads_are_summed(examples_dir: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_main(capsys, "grad", str(examples_dir / "01_scalar_partial.json"), "--accumulate", "3", "--json")
    doc = json.loads(out)
    assert doc["grads"]["x"] == 24 and doc["grads"]["x_sq"] == 2  # PyTorch's .grad after the loop
    acc = doc["accumulated"]
    assert acc["backward_calls"] == 3 and acc["one_run"] == {"x": 8}
    assert ".grad after 3 backward() calls" in acc["note"]
    code, out, _ = run_main(capsys, "grad", str(examples_dir / "01_scalar_partial.json"), "--json")
    assert "accumulated" not in json.loads(out)


def test_grad_accumulate_with_a_grad_output_says_vjp(examples_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """02: y = sum(a·(x_row @ w)); the table's target is a scalar, so take the vector a_xw with v."""
    code, out, _ = run_main(capsys, "grad", str(examples_dir / "02_matmul_vector.json"), "--target", "a_xw",
                            "--grad-output", "[[1, 10]]", "--accumulate", "2", "--json")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["accumulated"]["note"].endswith("vᵀ·∂a_xw/∂leaf of one call")
    assert doc["grads"]["x"] == [2 * g for g in doc["accumulated"]["one_run"]["x"]]


# ---- the header badge: the op's input is a placeholder no node is titled ----

def test_badge_names_the_input_by_a_placeholder_not_by_a_letter() -> None:
    """Lesson 03 selects y[1] from y = x**2, x the user's leaf: the badge read "x[1]"."""
    assert badge(Node("y1", "select", attrs={"dim": 0, "index": 1})) == "□[1]"
    assert badge(Node("y", "pow", attrs={"exponent": 2})) == "□ⁿ n=2"
    for name, spec in OPS.items():
        shown = op_symbol(spec.symbol)
        assert not re.search(r"(?<![A-Za-z])x(?![A-Za-z])|ˣ", shown), (name, shown)
    assert op_symbol("max") == "max" and op_symbol("softmax") == "softmax"  # an x inside a word stays
    assert op_symbol("eˣ−1") == "e^□−1"


def test_no_lesson_node_badge_holds_a_lone_x() -> None:
    for path in LESSONS:
        for node in load_lesson(path).graph.nodes.values():
            assert not re.search(r"(?<![A-Za-z])x(?![A-Za-z])", badge(node)), (path.name, node.id, badge(node))


# ---- shortened partial names: a formula stays in parentheses ----

def _wrt(name: str) -> str:
    return name.split("/∂", 1)[1]


def test_a_shortened_formula_title_never_reads_as_a_number() -> None:
    """Lesson 01 step 4 at the fitted zoom: node 2*x**2 showed "∂y/∂2… = 1"."""
    names = partial_row_names("y = 2*x**2 + 3*z", "2*x**2", vjp=False)
    assert names == ["∂y/∂(2*x**2)", "∂y/∂(2*x…)", "∂y/∂(2…)"]
    assert partial_row_names("2*x**2", "x", vjp=True) == ["vᵀ·∂(2*x**2)/∂x", "vᵀ·∂(2…)/∂x"]
    assert partial_row_names("y", "W" * 20, vjp=False)[-1] == "∂y/∂W…"  # a plain name shortens bare


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_every_lesson_partial_name_keeps_its_parentheses(path: Path) -> None:
    graph = load_lesson(path).graph
    titles = [n.title for n in graph.nodes.values()]
    for target in titles:
        for title in titles:
            formula = formula_name(title).startswith("(")
            for name in partial_row_names(target, title, vjp=False):
                wrt = _wrt(name)
                assert wrt.startswith("(") == formula and (not formula or wrt.endswith(")")), (target, title, name)


# ---- batch_norm's rule: both modes ----

def test_batch_norm_rule_says_both_modes() -> None:
    """training=true normalises with the batch's mean and variance, not the running stats."""
    rule = OPS["batch_norm"].rule
    off, on = rule.split("training on")
    assert "training off" in off and "running_mean" in off and "running_var" in off
    assert "batch" in on and "biased variance" in on and "running" not in on


# ---- the expression bar: the assigned name titles its node, and what it adds is in view ----

def test_the_assigned_name_titles_the_lines_node() -> None:
    """"y = 2*x**2 + 3*z" titled node y "2*x**2 + 3*z": its partials read ∂(2*x**2 + 3*z)/∂x."""
    from graph.expressions import plan_expressions
    from graph.model import Graph

    nodes = {node.id: node for node, _pos in plan_expressions(Graph(), "y = 2*x**2 + 3*z\nw = sin(y)").nodes}
    assert nodes["y"].title == "y = 2*x**2 + 3*z" and nodes["w"].title == "w = sin(y)"  # as the lessons title
    assert formula_name(nodes["y"].title) == "y"
    assert {nodes[n].title for n in nodes if n not in ("y", "w")} >= {"2*x**2", "x**2", "3*z"}
    assert partial_row_names(nodes["y"].title, nodes["x"].title, vjp=False)[0] == "∂y/∂x"


def _in_view(window, ids: list[str]) -> list[str]:  # noqa: ANN001 - gui.window.MainWindow
    view = window.view
    shown = view.mapToScene(view.viewport().rect()).boundingRect()
    return [n for n in ids if not shown.contains(window.scene.nodes[n].sceneBoundingRect())]


@pytest.mark.parametrize("example", [None, "04_small_mlp.json"])
def test_the_nodes_the_bar_adds_are_brought_into_view(window, examples_dir: Path, example: str | None) -> None:  # noqa: ANN001
    if example is not None:
        assert window.open_file(str(examples_dir / example), ask=False)
    window.resize(1600, 1000)
    scale = window.view.transform().m11()
    before = set(window.doc.graph.nodes)
    assert window.expression_bar.add_text("y = 2*x**2 + 3*z")
    added = sorted(set(window.doc.graph.nodes) - before)
    assert len(added) == 8 and _in_view(window, added) == []
    assert window.view.transform().m11() <= scale  # zoomed out if need be, never in
    before = set(window.doc.graph.nodes)
    assert window.expression_bar.add_text("u = sin(y) * q + y")  # below the first: scrolled to
    added = sorted(set(window.doc.graph.nodes) - before)
    assert len(added) == 4 and _in_view(window, added) == []


def test_the_palette_and_the_inspector_write_the_op_s_input_as_the_badge_does(window) -> None:  # noqa: ANN001
    """The palette and the inspector's op row read "xⁿ" beside a user's leaf titled x."""
    from PySide6.QtWidgets import QLabel

    from graph.model import Node as _Node
    from gui.palette import Palette

    palette = window.findChild(Palette)
    assert palette.item_for("pow").text(0) == "□ⁿ  pow" and palette.item_for("exp").text(0).startswith("e^□")
    assert "xⁿ" not in palette.item_for("pow").toolTip(0)
    window.doc.add_node(_Node("p", "pow", attrs={"exponent": 2}), (0.0, 0.0))
    window.inspector.set_node("p")
    texts = [label.text() for label in window.inspector.findChildren(QLabel)]
    assert any(t.startswith("□ⁿ   torch.pow(") for t in texts), texts
    assert any(t.endswith("pow  □ⁿ") for t in texts), texts
    assert not any("xⁿ" in t for t in texts)


def test_the_canvas_add_node_menu_writes_the_op_s_input_as_the_badge_does(window) -> None:  # noqa: ANN001
    from PySide6.QtCore import QPointF

    menu = window.scene.canvas_menu(QPointF(0, 0))
    add = menu.actions()[0].menu()
    texts = [a.text() for sub in add.actions() if sub.menu() for a in sub.menu().actions()]
    assert f"pow   {op_symbol(OPS['pow'].symbol)}" in texts and "□" in op_symbol(OPS["pow"].symbol)
    assert not any(re.search(r"\bx", t.split("   ", 1)[1]) for t in texts if "   " in t), texts
