"""docs/ops.md (graph.opsdoc) says what a file may hold: every attribute's range (minimum and
maximum) and note (Attr.doc), a variadic op's real ports (tensors.0 …), a port that is there only
while an attribute is null (pow's exponent), and which dtypes ports take (torch's promotion)."""

from __future__ import annotations

import re

import pytest

from autograd_bridge.engine import Compiled
from graph.errors import GraphError
from graph.fileformat import loads
from graph.inits import INITS
from graph.limits import number_text
from graph.model import Edge, Graph, Node
from graph.ops import OPS
from graph.ops.spec import VARIADIC_COUNT
from graph.opsdoc import markdown


def row(name: str) -> str:
    """The op's (or init's) row of the catalogue page."""
    return next(line for line in markdown().splitlines() if line.startswith(f"| `{name}` |"))


def cell(name: str, column: int) -> str:
    return row(name).split(" | ")[column]


def check_message(text: str) -> str:
    """The one-line message the file loader and check give for a graph file's text."""
    with pytest.raises(GraphError) as caught:
        loads(text).validate()
    return caught.value.message


@pytest.mark.parametrize("name", ["cat", "stack"])
def test_a_variadic_op_lists_its_numbered_ports_and_the_count_s_range(name: str) -> None:
    spec = OPS[name]
    assert spec.ports({VARIADIC_COUNT: 3}) == ("tensors.0", "tensors.1", "tensors.2")
    assert cell(name, 3) == f"`tensors.0` … `tensors.(n − 1)`, n = `{VARIADIC_COUNT}`"
    assert "`num_inputs` (int, 1 to 64, required" in cell(name, 4)
    # what the page says is what check says
    doc = ('{"format":"gradcanvas","version":2,"nodes":[{"id":"x","op":"tensor","value":[1.0]},'
           f'{{"id":"o","op":"{name}","attrs":{{"num_inputs":%s}}}}],"edges":[]}}')
    for count in (0, 65):
        assert "'num_inputs' must be from 1 to 64" in check_message(doc % count)


def test_a_port_named_like_an_attribute_is_documented_as_there_only_while_it_is_null() -> None:
    spec = OPS["pow"]
    assert spec.ports({"exponent": 2}) == ("input",) and spec.ports({"exponent": None}) == ("input", "exponent")
    assert cell("pow", 3) == "`input`, `exponent` (only while attribute `exponent` is null)"
    assert "`exponent`: the power; null: the tensor on the exponent port" in cell("pow", 5)
    doc = ('{"format":"gradcanvas","version":2,"nodes":[{"id":"x","op":"tensor","value":[1.0]},'
           '{"id":"p","op":"pow","attrs":{"exponent":%s}}],"edges":[{"from":"x","to":"p","port":"exponent"}]}')
    assert "p has no input port 'exponent' (its ports: input)" in check_message(doc % 2)
    assert check_message(doc % "null") == "unconnected input: p.input"  # the port is there


def test_every_attribute_s_range_and_note_is_on_the_page() -> None:
    for op in OPS.values():
        attrs, notes = cell(op.name, 4), cell(op.name, 5)
        for a in op.attrs:
            assert f"`{a.name}` (" in attrs
            if a.doc:
                assert f"`{a.name}`: {a.doc}" in notes, (op.name, a.name)
            each = "each " if a.kind.endswith("ints") else ""
            least, most = op.bounds(a)
            if least is not None and most is not None:
                assert f"{each}{number_text(least)} to {number_text(most)}" in attrs, (op.name, a.name)
            elif least is not None:
                assert f"{each}≥ {number_text(least)}" in attrs, (op.name, a.name)
            elif most is not None:
                assert f"{each}≤ {number_text(most)}" in attrs, (op.name, a.name)
    for spec in INITS.values():
        notes = cell(spec.name, 3)
        for a in spec.params:
            assert f"`{a.name}`: {a.doc}" in notes, (spec.name, a.name)
    assert "`seed` (int, 0 to 2**63 - 1, default `0`)" in cell("randn", 2)


def test_the_page_says_ports_promote_dtypes_as_torch_does() -> None:
    intro = re.sub(r"\s+", " ", markdown().split("Attribute and parameter kinds", 1)[0])
    assert "Ports take floating tensors unless" not in intro
    assert "type promotion" in intro and "an int64 or bool tensor into `add`" in intro
    # as it says: int64 into add checks and promotes; mean of int64 is refused by check, naming it
    g = Graph()
    g.add_node(Node("x", "tensor", value=[1.0, 2.0], requires_grad=True))
    g.add_node(Node("i", "tensor", value=[1, 2], dtype="int64"))
    g.add_node(Node("o", "add"))
    g.add_edge(Edge("i", "o", "input"))
    g.add_edge(Edge("x", "o", "other"))
    assert Compiled(g.validate()).infer_shapes()["o"] == (2,)
    g.add_node(Node("m", "mean"))
    g.add_edge(Edge("i", "m", "input"))
    with pytest.raises(GraphError) as caught:
        Compiled(g.validate()).infer_shapes()
    assert caught.value.message.startswith("m: mean of [2]") and "int64" in caught.value.message
