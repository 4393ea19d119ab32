"""Adding an op or an init function is ONE catalogue entry: a test-only entry, registered with
monkeypatch.setitem, reaches validation, the palette and Tab search, the inspector's form,
code generation (the compiled graph runs and differentiates), and the generated docs.

The entries: `clip` (torch.clip, torch's other name for clamp, with two optional numbers, min
and max), `tri` (an init
making torch.tril of ones with its own `n` and `diagonal` parameters), and a softmax whose `dim`
is declared with kind "dim" or "int" (the rank check reads the kind, not the name).
Gradients are checked with torch.autograd.gradcheck in float64 and against torch computations
written here.
"""

from __future__ import annotations

import ast

import pytest
import torch
from helpers import delete_at_teardown, row_error, type_and_enter
from PySide6.QtWidgets import QLineEdit

from autograd_bridge.engine import Compiled
from graph.errors import GraphError, ShapeError, ValueSpecError
from graph.inits import INITS, InitSpec
from graph.limits import check_shape
from graph.model import Edge, Graph, Node
from graph.ops import OPS, TENSOR, Attr, OpSpec
from graph.opsdoc import markdown
from gui.document import Document
from gui.inspector import Inspector, init_as_literal
from gui.palette import NodeSearch, Palette, _tooltip

CLIP = OpSpec(
    "clip", "torch.clip", ("input",), "elementwise", "clip",
    "∂/∂input = 1 where min ≤ input ≤ max, else 0",
    attrs=(Attr("min", "optional_number", None, doc="lower bound; null: none"),
           Attr("max", "optional_number", None, doc="upper bound; null: none")),
    example_shapes={"input": (2, 3)}, example_attrs={"min": -0.5, "max": 0.5},
    kinks=("min", "max"))


def _tri_values(p: dict[str, object], shape: tuple[int, ...]) -> list[float]:
    n, k = shape[0], p["diagonal"]
    return [1.0 if j <= i + k else 0.0 for i in range(n) for j in range(n)]


TRI = InitSpec(
    "tri", "torch.tril",
    (Attr("n", "int", None, required=True, doc="rows and columns"),
     Attr("diagonal", "int", 0, doc="the last diagonal kept")),
    lambda p: check_shape([p["n"], p["n"]]),
    lambda a, dt, _s: (f"torch.tril(torch.ones({a['n']}, {a['n']}, dtype={dt}, device=device), "
                       f"diagonal={a['diagonal']})"),
    _tri_values,
    lambda shape: {"n": shape[0] if shape else 1},
    "ones on and below the diagonal")


@pytest.fixture
def clip(monkeypatch: pytest.MonkeyPatch) -> OpSpec:
    monkeypatch.setitem(OPS, "clip", CLIP)
    return CLIP


@pytest.fixture
def tri(monkeypatch: pytest.MonkeyPatch) -> InitSpec:
    monkeypatch.setitem(INITS, "tri", TRI)
    return TRI


def _clip_graph(x: torch.Tensor, attrs: dict[str, object]) -> Graph:
    g = Graph()
    g.add_node(Node("x", TENSOR, value=x.tolist(), requires_grad=True, dtype="float64"))
    g.add_node(Node("c", "clip", attrs=dict(attrs)))
    g.add_edge(Edge("x", "c", "input"))
    return g


def _away_from(points: list[float], shape: tuple[int, ...], seed: int = 0) -> torch.Tensor:
    """Seeded values in [-1, 1), each at least 0.1 from every point (kinks of clamp)."""
    gen = torch.Generator().manual_seed(seed)
    t = torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1
    for p in points:
        t = torch.where((t - p).abs() < 0.1, p + 0.1 * torch.sign(t - p + 1e-12), t)
    return t


# ---- validation ----

def test_the_entries_are_validated_like_the_built_in_ones(clip: OpSpec, tri: InitSpec) -> None:
    Node("c", "clip", attrs={"min": None, "max": 2}).check()
    with pytest.raises(ValueSpecError, match="'min' must be null or a finite number, not 'a'"):
        Node("c", "clip", attrs={"min": "a"}).check()
    assert Node("t", TENSOR, init={"fn": "tri", "n": 3}).leaf_shape() == (3, 3)
    with pytest.raises(ValueSpecError, match="needs the parameter 'n'"):
        Node("t", TENSOR, init={"fn": "tri"}).check()
    with pytest.raises(ValueSpecError, match="has no parameter 'k'"):
        Node("t", TENSOR, init={"fn": "tri", "n": 2, "k": 1}).check()
    with pytest.raises(ValueSpecError, match="negative size"):
        Node("t", TENSOR, init={"fn": "tri", "n": -1}).check()


def test_without_registration_the_entries_are_unknown() -> None:
    assert "clip" not in OPS and "tri" not in INITS
    with pytest.raises(ValueSpecError, match="init fn must be one of"):
        Node("t", TENSOR, init={"fn": "tri", "n": 3}).check()


# ---- docs ----

def test_the_docs_list_the_entries(clip: OpSpec, tri: InitSpec) -> None:
    text = markdown()
    assert ("| `clip` | clip | `torch.clip` | `input` | `min` (optional_number, default `None`)"
            "<br>`max` (optional_number, default `None`)") in text
    section = text[text.index("## elementwise"):]
    assert section.index("`clip`") < section.index("## activation")  # under its category
    assert "| `tri` | `torch.tril` | `n` (int, required)<br>`diagonal` (int, default `0`) |" in text
    assert "- `optional_number`:" in text and "- `dim`:" in text


# ---- palette ----

def test_the_op_is_in_the_palette_and_found_by_search(qtbot, clip: OpSpec, tri: InitSpec) -> None:
    palette = Palette()
    qtbot.addWidget(palette)
    item = palette.item_for("clip")
    assert item.parent().text(0) == "elementwise"
    assert "min=None" in item.toolTip(0) and "torch.clip" in item.toolTip(0)
    palette.set_filter("clip")
    assert palette.visible_ops() == ["clip"]
    search = NodeSearch()
    qtbot.addWidget(search)
    search.edit.setText("clip")
    assert search.visible_ops() == ["clip"] and search.current_op() == "clip"
    assert "tri" in _tooltip(TENSOR)  # the tensor entry lists the initialisers


def test_a_new_category_appears_in_the_palette(qtbot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(OPS, "clip", OpSpec(**{**CLIP.__dict__, "category": "bounds"}))
    palette = Palette()
    qtbot.addWidget(palette)
    assert palette.item_for("clip").parent().text(0) == "bounds"


# ---- inspector ----

@pytest.fixture
def doc() -> Document:
    g = Graph()
    g.add_node(Node("x", TENSOR, value=[[1.0, 2.0], [3.0, 4.0]], requires_grad=True))
    g.add_node(Node("c", "clip"))
    g.add_edge(Edge("x", "c", "input"))
    d = delete_at_teardown(Document())
    d.reset(g)
    return d


@pytest.fixture
def insp(qtbot, clip: OpSpec, tri: InitSpec, doc: Document) -> Inspector:
    w = Inspector(doc)
    qtbot.addWidget(w)
    w.resize(460, 900)
    w.show()
    return w


def test_the_inspector_edits_optional_numbers(qtbot, doc: Document, insp: Inspector) -> None:
    insp.set_node("c")
    lo, hi = insp.rows["attr.min"].editor, insp.rows["attr.max"].editor
    assert isinstance(lo, QLineEdit) and lo.text() == "null" and hi.text() == "null"
    type_and_enter(qtbot, lo, "-0.5")
    assert doc.graph.nodes["c"].attrs == {"min": -0.5}
    type_and_enter(qtbot, hi, "2")
    assert doc.graph.nodes["c"].attrs == {"min": -0.5, "max": 2}
    for bad in ("inf", "nan", "low", "[1]"):
        type_and_enter(qtbot, lo, bad)
        assert row_error(insp, "attr.min"), bad
    assert doc.graph.nodes["c"].attrs == {"min": -0.5, "max": 2}
    type_and_enter(qtbot, lo, "null")  # back to the default: not stored
    assert doc.graph.nodes["c"].attrs == {"max": 2}
    assert row_error(insp, "attr.min") == ""
    assert doc.undo_stack.count() == 3
    doc.undo_stack.undo()
    assert lo.text() == "-0.5"  # the form follows the model


def test_the_inspector_switches_a_leaf_to_the_new_init(qtbot, doc: Document, insp: Inspector) -> None:
    insp.set_node("x")
    insp.rows["mode"].editor.setCurrentIndex(1)
    insp.rows["init.fn"].editor.setCurrentText("tri")
    assert doc.graph.nodes["x"].init == {"fn": "tri", "n": 2}  # the spec's default for [2, 2]
    assert {"init.n", "init.diagonal"} <= set(insp.rows)
    assert insp.rows["init.diagonal"].editor.placeholderText() == "default: 0"
    type_and_enter(qtbot, insp.rows["init.n"].editor, "3")
    type_and_enter(qtbot, insp.rows["init.diagonal"].editor, "-1")
    assert doc.graph.nodes["x"].init == {"fn": "tri", "n": 3, "diagonal": -1}
    type_and_enter(qtbot, insp.rows["init.n"].editor, "-2")
    assert "negative size" in row_error(insp, "init.n")
    assert doc.graph.nodes["x"].init == {"fn": "tri", "n": 3, "diagonal": -1}
    insp.rows["mode"].editor.setCurrentIndex(0)  # an exact literal, from the spec's values
    expected = torch.tril(torch.ones(3, 3, dtype=torch.float64), diagonal=-1).tolist()
    assert doc.graph.nodes["x"].value == expected
    assert init_as_literal({"fn": "tri", "n": 3, "diagonal": -1}) == (expected, True)


# ---- code generation, run and gradients ----

def test_clip_compiles_runs_and_passes_gradcheck(clip: OpSpec) -> None:
    x = _away_from([-0.5, 0.5], (3, 4)).requires_grad_()
    compiled = Compiled(_clip_graph(x, {"min": -0.5, "max": 0.5}), "cpu", "float64")
    call = ast.parse(compiled.source.lines["c"]).body[0].value
    assert ast.unparse(call) == "torch.clip(x, min=-0.5, max=0.5)"

    def f(t: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return compiled._forward(t)

    assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-5, rtol=1e-3)
    result = compiled.run("c", torch.ones(3, 4).tolist())
    torch.testing.assert_close(result.values["c"], torch.minimum(torch.maximum(x, torch.tensor(-0.5)),
                                                                 torch.tensor(0.5)))
    inside = ((x > -0.5) & (x < 0.5)).to(torch.float64)
    assert 0 < inside.sum() < x.numel()  # both sides of the kinks are exercised
    torch.testing.assert_close(result.grads["x"], inside)


@pytest.mark.parametrize(("attrs", "call"), [
    ({"max": 0.25}, "torch.clip(x, max=0.25)"),
    ({"min": -1, "max": None}, "torch.clip(x, min=-1)"),
])
def test_clip_passes_only_the_bounds_given(clip: OpSpec, attrs: dict, call: str) -> None:
    x = _away_from([0.25, -1.0], (5,)).requires_grad_()
    compiled = Compiled(_clip_graph(x, attrs), "cpu", "float64")
    assert ast.unparse(ast.parse(compiled.source.lines["c"]).body[0].value) == call
    lo, hi = attrs.get("min"), attrs.get("max")
    expected = x
    if lo is not None:
        expected = torch.where(x < lo, torch.tensor(float(lo), dtype=torch.float64), expected)
    if hi is not None:
        expected = torch.where(x > hi, torch.tensor(float(hi), dtype=torch.float64), expected)
    result = compiled.run("c", torch.ones(5).tolist())
    torch.testing.assert_close(result.values["c"], expected)
    torch.testing.assert_close(result.grads["x"], torch.autograd.grad(expected.sum(), x)[0])


def test_clip_without_bounds_is_a_node_error_not_a_traceback(clip: OpSpec) -> None:
    compiled = Compiled(_clip_graph(torch.zeros(2), {}), "cpu", "float64")
    with pytest.raises(GraphError) as info:
        compiled.forward()
    assert "c" in info.value.node_ids and "min and max" in info.value.message


def test_tri_init_compiles_and_runs(tri: InitSpec) -> None:
    g = Graph()
    g.add_node(Node("L", TENSOR, init={"fn": "tri", "n": 3, "diagonal": 1}, requires_grad=True,
                    dtype="float64"))
    g.add_node(Node("w", TENSOR, value=[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]],
                    dtype="float64"))
    g.add_node(Node("m", "mul"))
    g.add_node(Node("s", "sum"))
    for edge in (Edge("L", "m", "input"), Edge("w", "m", "other"), Edge("m", "s", "input")):
        g.add_edge(edge)
    compiled = Compiled(g, "cpu", "float64")
    line = compiled.source.lines["L"]
    assert "torch.tril(torch.ones(3, 3, dtype=torch.float64, device=device), diagonal=1)" in line
    result = compiled.run("s")
    L = torch.tril(torch.ones(3, 3, dtype=torch.float64), diagonal=1)
    w = torch.tensor(g.nodes["w"].value, dtype=torch.float64)
    torch.testing.assert_close(result.values["L"], L)
    torch.testing.assert_close(result.values["s"], (L * w).sum())
    torch.testing.assert_close(result.grads["L"], w)  # ∂ sum(L ⊙ w) / ∂L = w


# ---- the "dim" kind: the rank check reads the kind, whatever the attribute is called ----

def _softmax_graph(kind: str, dim: int) -> Graph:
    g = Graph()
    g.add_node(Node("x", TENSOR, value=[[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]], requires_grad=True))
    g.add_node(Node("sm", "special_softmax", attrs={"dim": dim}))
    g.add_edge(Edge("x", "sm", "input"))
    return g


@pytest.mark.parametrize("kind", ["dim", "int"])
def test_dim_kind_is_checked_against_the_input_rank(monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    # torch.special.softmax on the meta device accepts any dim: the catalogue's kind "dim" says
    # one is out of range in the graph's words; a plain int is left to torch on a real device.
    monkeypatch.setitem(OPS, "special_softmax", OpSpec(
        "special_softmax", "torch.special.softmax", ("input",), "activation", "softmax", "",
        attrs=(Attr("dim", kind, -1, required=True),), example_shapes={"input": (2, 3)}))
    shapes = Compiled(_softmax_graph(kind, -2)).infer_shapes()
    assert shapes["sm"] == (2, 3)
    compiled = Compiled(_softmax_graph(kind, 2))
    if kind == "dim":
        with pytest.raises(ShapeError, match=r"dim 2 is out of range \(expected -2 to 1\)"):
            compiled.infer_shapes()
    else:  # declared as a plain int: torch's own refusal on a real device, as grad meets it
        with pytest.raises(GraphError, match=r"^sm: special_softmax of \[2, 3\]: Dimension out of range"):
            compiled.infer_shapes()
