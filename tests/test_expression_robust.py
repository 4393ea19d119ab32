"""The expression bar never prints a traceback: a number beyond float32, a name too long for an
id, a chain of thousands of operators, or any other line either adds its nodes (one undo step)
or is refused in one line naming what is wrong (graph.expressions, gui.expression_bar)."""

from __future__ import annotations

import random

import pytest
from test_ops_round2 import _built

from graph.expressions import MAX_TEXT, ExpressionError, plan_expressions
from graph.model import Graph


def _refusal(text: str) -> str:
    with pytest.raises(ExpressionError) as info:
        plan_expressions(Graph(), text)
    message = info.value.message
    assert "\n" not in message and message.strip()
    return message


@pytest.mark.parametrize(("text", "says"), [
    ("y = x * 1e39", "1e39 is beyond float32's range"),
    ("y = x * -1e39", "-1e39 is beyond float32's range"),
    ("y = x * 1e999", "1e999 is beyond float32's range"),
    ("y = x * " + "9" * 400, "9999999999… is beyond float32's range"),
    ("y = " + "a" * 250 + " * 2", "longer than 200 characters"),
    ("a" * 250 + " = x * 2", "longer than 200 characters"),
])
def test_a_number_or_name_no_node_can_hold_is_refused_naming_it(text: str, says: str) -> None:
    assert says in _refusal(text)


@pytest.mark.parametrize(("text", "inner"), [
    ("mul1 = x*w*a", "mul"), ("c2 = 2*x", "tensor"), ("pow1 = x**2 + x**3", "pow"),
    ("y = 2*x; c2 = y*3", "tensor"),  # a later line's name is kept free too
])
def test_a_line_may_take_a_name_the_bar_would_give_a_part_of_it(text: str, inner: str) -> None:
    """mul1, c2, pow1 are the bar's own names for parts: typed as a line's name, its part was
    named so first, and the line refused as "used on its own right side"."""
    g = _built(text)
    target = text.split(";")[-1].split("=")[0].strip()
    assert g.nodes[target].title.startswith(f"{target} = ") and g.nodes[target].op != "tensor"
    assert any(n.op == inner for i, n in g.nodes.items() if i != target)  # the part, named otherwise


@pytest.mark.parametrize(("text", "says"), [
    ("z = cat(" + ", ".join(["x"] * 65) + ")", "cat takes 1 to 64 tensors, not 65"),
    ("z = cat()", "cat(): cat takes 1 to 64 tensors, not 0"),
    ("z = cat(x, x, num_inputs=7)", "num_inputs=7 but 2 tensor(s) are given: leave num_inputs out"),
])
def test_a_variadic_call_with_too_many_tensors_or_a_wrong_count_is_refused(text: str, says: str) -> None:
    assert says in _refusal(text)


def test_a_variadic_count_that_agrees_is_taken() -> None:
    g = _built("z = cat(x, x, x, num_inputs=3)")
    assert g.nodes["z"].attrs["num_inputs"] == 3 and len(g.inputs_of("z")) == 3


def test_the_largest_float32_number_is_taken() -> None:
    g = _built("y = x * 3.4e38")
    assert [n.value for n in g.nodes.values() if n.label == "3.4e+38"] == [3.4e38]


@pytest.mark.parametrize("terms", [1000, 2500])
def test_a_long_flat_sum_is_built_without_recursion(terms: int) -> None:
    text = "y = " + "+".join(f"a{i}" for i in range(terms)) if terms <= 1000 else "y = " + "+".join(["x"] * terms)
    assert len(text) <= MAX_TEXT
    g = _built(text)
    adds = [n for n in g.nodes.values() if n.op == "add"]
    assert len(adds) == terms - 1
    assert g.nodes["y"].title.startswith("y = ")


def test_a_long_chain_of_minus_signs_is_built() -> None:
    g = _built("y = " + "-" * 1000 + "x")
    assert sum(n.op == "neg" for n in g.nodes.values()) == 1000
    assert g.inputs_of("y") == {"input": next(s for s, d in ((e.src, e.dst) for e in g.edges) if d == "y")}


def test_minus_minus_a_number_is_that_number_negated() -> None:
    from autograd_bridge.engine import Compiled

    g = _built("y = x * --2 + ---3")
    assert Compiled(g, "cpu", "float64").run("y").values["y"].item() == 1.0 * 2 - 3


@pytest.mark.parametrize("text", [
    "y = " + "+".join(["x"] * 4990),  # past Python's own parser
    "y = " + "-" * 9990 + "x",
    "y = x" + "**x" * 3300,
])
def test_a_chain_past_python_s_parser_is_refused_in_one_line(text: str) -> None:
    assert "too deeply nested" in _refusal(text)


# ---- fuzz: every line adds nodes or is refused in one line ----

_PIECES = ["x", "y2", "W", "2", "1e39", "1e999", "9" * 50, "0x1F", "1j", "'s'", "b'b'", "f'{x}'", "True",
           "None", "...", "sin(x)", "sum(x, dim=1)", "cat(x, x, dim=0)", "x.T", "x[0]", "x[1:2]",
           "lambda: x", "(z := x)", "x < y2 < W", "x if W else y2", "[x]", "{x}", "{x: 1}", "*x", "not x",
           "~x", "x // 2", "x % 2", "x & W", "await x", "yield x", "torch.sin(x)", "print(x)",
           "pow(x, 2)", "sum(x, dim=10**400)", "sum(x, dim=[[1]])", "x ** 1e999", "x ** " + "9" * 400,
           "é", "ᵢ", "\u202e", "\x00", "\t", "\\", "#", "'''", "(", ")", "=", "==", ";", ",", ":", "+", "-",
           "*", "**", "/", "@"]


def _random_line(rng: random.Random) -> str:
    kind = rng.randrange(4)
    if kind == 0:  # random characters
        chars = "xy= +-*/()@.,:;[]{}'\"0123456789e_é∂\u202e\x00\t"
        return "".join(rng.choice(chars) for _ in range(rng.randrange(1, 30)))
    if kind == 1:  # pieces joined by operators
        pieces = [rng.choice(_PIECES) for _ in range(rng.randrange(1, 6))]
        return "y = " + rng.choice([" + ", " * ", " ** ", " - ", " ", ""]).join(pieces)
    if kind == 2:  # deep brackets and long chains
        n = rng.choice([5, 150, 250, 1200, 3000])
        return "y = " + rng.choice(["(" * n + "x" + ")" * n, "sin(" * n + "x" + ")" * n, "-" * n + "x",
                                    "+".join(["x"] * n), "x" + "**2" * n, "[" * n + "]" * n])[:MAX_TEXT - 4]
    return "".join(chr(rng.randrange(32, 0x3000)) for _ in range(rng.randrange(1, 40)))


def test_fuzzed_lines_add_nodes_or_are_refused_in_one_line() -> None:
    rng = random.Random(9)
    for _ in range(400):
        text = _random_line(rng)
        try:
            plan = plan_expressions(Graph(), text)
        except ExpressionError as e:
            assert "\n" not in e.message and e.message.strip(), repr(text)
            continue
        g = Graph()
        for node, pos in plan.nodes:
            g.add_node(node, pos=pos)
        for e in plan.edges:
            g.add_edge(e)


# ---- in the window: one line beside the bar, nothing half-added ----

@pytest.mark.parametrize(("text", "says"), [
    ("y = x * 1e39", "1e39 is beyond float32's range"),
    ("y = " + "a" * 250 + " * 2", "longer than 200 characters"),
    ("y = " + "+".join(["x"] * 4990), "too deeply nested"),
    ("y = x * 2\nz = x * 1e999", "1e999 is beyond float32's range"),  # the first line is not added alone
])
def test_the_bar_refuses_in_its_line_and_adds_nothing(window, text: str, says: str) -> None:  # noqa: ANN001
    bar, doc = window.expression_bar, window.doc
    before, steps = set(doc.graph.nodes), doc.undo_stack.count()
    assert not bar.add_text(text)
    assert says in bar.message.text() and "\n" not in bar.message.text()
    assert set(doc.graph.nodes) == before and doc.undo_stack.count() == steps


def test_the_bar_adds_a_thousand_term_sum_as_one_undo_step(window) -> None:  # noqa: ANN001
    bar, doc = window.expression_bar, window.doc
    steps = doc.undo_stack.count()
    assert bar.add_text("y = " + "+".join(f"a{i}" for i in range(1000)))
    assert doc.undo_stack.count() == steps + 1 and len(doc.graph.nodes) == 1999
    doc.undo_stack.undo()
    assert not doc.graph.nodes


def test_lines_typed_with_semicolons_and_spaces_are_added(window) -> None:  # noqa: ANN001
    """"y = 2*x; z = y*y" read " z = y*y" as an indented line (unexpected indent)."""
    bar = window.expression_bar
    bar.edit.setText("  y = 2*x;  z = y*y ; ")
    assert bar.submit(), bar.message.text()
    assert window.doc.graph.inputs_of("z") == {"input": "y", "other": "y"}


def test_a_part_written_over_lines_is_titled_on_one_line() -> None:
    g = _built("y = (x\n  * 2)\r\nz = (y +\r é)")
    assert g.nodes["y"].title == "y = x * 2" and g.nodes["z"].title == "z = y + é"
