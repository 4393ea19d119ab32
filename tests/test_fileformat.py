"""The strict v1 loader and canonical writer in graph/fileformat.py.

Every refusal is checked for its type (FileFormatError) and for a message that names where the
problem is (the node or edge, and the field), so that a user can find it in the file.
"""

from __future__ import annotations

import copy
import json
import math
import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graph import fileformat
from graph.errors import FileFormatError
from graph.fileformat import dumps, load, loads, save
from graph.model import Edge, Graph, Node
from graph.ops import DTYPES, INIT_FNS, OPS, TENSOR
from graph.values import MAX_DIMS, MAX_ELEMENTS

# The v1 example from the issue, verbatim.
ISSUE_EXAMPLE = (
    '{"format": "gradcanvas", "version": 1, "nodes": ['
    '{"id": "x", "op": "tensor", "value": [1.0, 2.0], "requires_grad": true}, '
    '{"id": "w", "op": "tensor", "value": [[3.0, 4.0], [5.0, 6.0]]}, '
    '{"id": "xr", "op": "reshape", "attrs": {"shape": [1, -1]}}, '
    '{"id": "mm", "op": "matmul"}], "edges": ['
    '{"from": "x", "to": "xr", "port": "input"}, '
    '{"from": "xr", "to": "mm", "port": "input"}, '
    '{"from": "w", "to": "mm", "port": "other"}]}'
)

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "resources" / "examples").glob("*.json"))


def base() -> dict:
    """A fresh, valid document (the issue's example) for a test to break in one place."""
    return json.loads(ISSUE_EXAMPLE)


def node(doc: dict, node_id: str) -> dict:
    return next(n for n in doc["nodes"] if n["id"] == node_id)


def refused(doc: dict | str, *needles: str, ids: tuple[str, ...] | None = None) -> FileFormatError:
    """Assert loading refuses with FileFormatError whose message contains every needle."""
    text = doc if isinstance(doc, str) else json.dumps(doc)
    with pytest.raises(FileFormatError) as info:
        loads(text)
    err = info.value
    for needle in needles:
        assert needle in err.message, f"{needle!r} not in {err.message!r}"
    assert str(err) == err.message
    if ids is not None:
        assert set(ids) <= set(err.node_ids), (ids, err.node_ids)
    return err


def test_base_document_is_valid() -> None:
    # The refusal tests below each break this document in one place; it must load as it is.
    assert list(loads(json.dumps(base())).nodes) == ["x", "w", "xr", "mm"]


# ---- the file as a whole ----

def test_refuses_text_that_is_not_json() -> None:
    refused('{"format": "gradcanvas", "version": 1,', "not valid JSON", "line 1")


def test_refuses_nan_literal_naming_node_and_field() -> None:
    text = ISSUE_EXAMPLE.replace("[1.0, 2.0]", "[1.0, NaN]")
    assert "NaN" in text
    refused(text, "node x", "'value'", ids=("x",))


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity"])
def test_refuses_infinity_literal_naming_node_and_field(literal: str) -> None:
    text = ISSUE_EXAMPLE.replace("[[3.0, 4.0]", f"[[3.0, {literal}]")
    assert literal in text
    refused(text, "node w", "'value'", ids=("w",))


def test_refuses_nan_where_no_node_is_involved() -> None:
    refused(ISSUE_EXAMPLE.replace('"version": 1', '"version": NaN'), "'version'")


def test_refuses_float_literal_beyond_float_range() -> None:
    # JSON parses 1e400 to inf without any NaN/Infinity literal in the text.
    refused(ISSUE_EXAMPLE.replace("[1.0, 2.0]", "[1.0, 1e400]"), "node x", "'value'", ids=("x",))


@pytest.mark.parametrize("text", ["[]", '"gradcanvas"', "1", "null"])
def test_refuses_top_level_that_is_not_an_object(text: str) -> None:
    refused(text, "JSON object")


def test_refuses_unknown_top_level_field() -> None:
    doc = base()
    doc["extra"] = 1
    refused(doc, "the file", "'extra'")


@pytest.mark.parametrize("fmt", ["GradCanvas", "", None, 1])
def test_refuses_wrong_format(fmt: object) -> None:
    doc = base()
    doc["format"] = fmt
    refused(doc, "'format'")


def test_refuses_missing_format() -> None:
    doc = base()
    del doc["format"]
    refused(doc, "'format'")


@pytest.mark.parametrize("version", ["1", 1.0, True, None, 0, -1])
def test_refuses_version_that_is_not_a_positive_int(version: object) -> None:
    doc = base()
    doc["version"] = version
    refused(doc, "'version'")


def test_refuses_newer_version() -> None:
    doc = base()
    doc["version"] = 2
    refused(doc, "version 2", str(fileformat.VERSION))


@pytest.mark.parametrize("key", ["nodes", "edges"])
@pytest.mark.parametrize("bad", [{}, "x", None])
def test_refuses_nodes_or_edges_not_a_list(key: str, bad: object) -> None:
    doc = base()
    doc[key] = bad
    refused(doc, f"'{key}'")


# ---- nodes ----

@pytest.mark.parametrize("bad", [["x"], "x", 3, None])
def test_refuses_node_that_is_not_an_object(bad: object) -> None:
    doc = base()
    doc["nodes"].insert(1, bad)
    refused(doc, "node #1", "object")


def test_refuses_node_without_id() -> None:
    doc = base()
    del doc["nodes"][2]["id"]
    refused(doc, "node #2", "'id'")


@pytest.mark.parametrize("bad_id", [7, None, ["x"], True], ids=["int", "null", "list", "bool"])
def test_refuses_id_that_is_not_a_string(bad_id: object) -> None:
    doc = base()
    doc["nodes"][1]["id"] = bad_id
    refused(doc, "node #1", "'id'")


def test_refuses_empty_id() -> None:
    doc = base()
    doc["nodes"][1]["id"] = ""
    refused(doc, "node #1", "'id'")


@pytest.mark.parametrize("bad_id", ["a\nb", "tab\there", "nul\x00", "del\x7f", "\x1b[31m"])
def test_refuses_id_with_control_characters(bad_id: str) -> None:
    doc = base()
    doc["nodes"][3]["id"] = bad_id
    refused(doc, "node #3", "'id'", "control")


def test_refuses_id_longer_than_the_limit() -> None:
    doc = base()
    doc["nodes"][0]["id"] = "x" * (fileformat.MAX_ID_LENGTH + 1)
    refused(doc, "node #0", "'id'")
    doc["nodes"][0]["id"] = "x" * fileformat.MAX_ID_LENGTH  # the limit itself is allowed
    for e in doc["edges"]:
        if e["from"] == "x":
            e["from"] = doc["nodes"][0]["id"]
    assert fileformat.MAX_ID_LENGTH * "x" in loads(json.dumps(doc)).nodes


def test_refuses_id_with_lone_surrogate() -> None:
    # A lone surrogate can only come from a \\uD800 escape, and could never be saved as UTF-8.
    text = ISSUE_EXAMPLE.replace('"id": "mm"', '"id": "m\\ud800"').replace('"to": "mm"', '"to": "m\\ud800"')
    refused(text, "node #3", "'id'")


def test_refuses_label_with_lone_surrogate() -> None:
    text = ISSUE_EXAMPLE.replace('{"id": "mm", ', '{"id": "mm", "label": "\\udfff", ')
    refused(text, "node mm", "'label'", ids=("mm",))


def test_refuses_label_that_is_not_a_string() -> None:
    doc = base()
    node(doc, "w")["label"] = 5
    refused(doc, "node w", "'label'", ids=("w",))


def test_refuses_node_without_op() -> None:
    doc = base()
    del node(doc, "mm")["op"]
    refused(doc, "node mm", "'op'", ids=("mm",))


@pytest.mark.parametrize("op", ["frobnicate", "Tensor", "torch.add", "", None, 3, ["add"], {"a": 1}])
def test_refuses_unknown_op(op: object) -> None:
    doc = base()
    node(doc, "mm")["op"] = op
    refused(doc, "node mm", "'op'", ids=("mm",))


@pytest.mark.parametrize(("node_id", "field"), [
    ("x", "colour"),
    ("mm", "value"),          # a tensor field on an op node
    ("x", "attrs"),           # an op field on a tensor node
    ("mm", "requires_grad"),
])
def test_refuses_unknown_field_on_a_node(node_id: str, field: str) -> None:
    doc = base()
    node(doc, node_id)[field] = {} if field == "attrs" else 1
    refused(doc, f"node {node_id}", f"'{field}'", ids=(node_id,))


def test_refuses_tensor_with_both_value_and_init() -> None:
    doc = base()
    node(doc, "w")["init"] = {"fn": "zeros", "shape": [2, 2]}
    refused(doc, "node w", "'value'", "'init'", ids=("w",))


def test_refuses_tensor_with_neither_value_nor_init() -> None:
    doc = base()
    del node(doc, "w")["value"]
    refused(doc, "node w", "'value'", "'init'", ids=("w",))


@pytest.mark.parametrize("value", [[[1.0, 2.0], [3.0]], [[1.0], 2.0], [[[1.0]], [[1.0, 2.0]]], [[], [1]]])
def test_refuses_ragged_value(value: object) -> None:
    doc = base()
    node(doc, "w")["value"] = value
    refused(doc, "node w", "'value'", "ragged", ids=("w",))


@pytest.mark.parametrize("value", ["1.0", [1.0, "2"], True, [1.0, False], None, {"a": 1}, [[None]]])
def test_refuses_value_holding_a_non_number(value: object) -> None:
    doc = base()
    node(doc, "x")["value"] = value
    refused(doc, "node x", "'value'", ids=("x",))


def test_refuses_value_with_more_than_max_dims() -> None:
    value: object = 1.0
    for _ in range(MAX_DIMS + 1):
        value = [value]
    doc = base()
    node(doc, "x")["value"] = value
    refused(doc, "node x", "'value'", ids=("x",))


def test_refuses_integer_too_big_for_a_float() -> None:
    text = ISSUE_EXAMPLE.replace("[1.0, 2.0]", "[1.0, 1" + "0" * 400 + "]")
    refused(text, "node x", "'value'", ids=("x",))


def test_refuses_integer_literal_too_long_to_convert() -> None:
    # Python refuses to convert integer literals of more than 4300 digits while parsing JSON.
    refused(ISSUE_EXAMPLE.replace("[1.0, 2.0]", "[1.0, " + "9" * 5000 + "]"), "not valid JSON")


@pytest.mark.parametrize("init", [
    {"fn": "random", "shape": [2]},
    {"fn": "__import__", "shape": [2]},
    {"shape": [2]},
    {"fn": ["zeros"], "shape": [2]},
    {"fn": None, "shape": [2]},
    "zeros",
    [2, 2],
])
def test_refuses_bad_init_fn(init: object) -> None:
    doc = base()
    w = node(doc, "w")
    del w["value"]
    w["init"] = init
    refused(doc, "node w", "'init'", ids=("w",))


@pytest.mark.parametrize(("init", "param"), [
    ({"fn": "zeros"}, "shape"),
    ({"fn": "full", "shape": [2]}, "fill_value"),
    ({"fn": "linspace", "start": 0, "end": 1}, "steps"),
    ({"fn": "arange"}, "end"),
])
def test_refuses_init_missing_a_parameter(init: dict, param: str) -> None:
    doc = base()
    w = node(doc, "w")
    del w["value"]
    w["init"] = init
    refused(doc, "node w", "'init'", f"'{param}'", ids=("w",))


@pytest.mark.parametrize(("init", "param"), [
    ({"fn": "zeros", "shape": [2], "seed": 1}, "seed"),
    ({"fn": "randn", "shape": [2], "mean": 0.0}, "mean"),
    ({"fn": "eye", "shape": [2], "dtype": "float64"}, "dtype"),
])
def test_refuses_init_with_unknown_parameter(init: dict, param: str) -> None:
    doc = base()
    w = node(doc, "w")
    del w["value"]
    w["init"] = init
    refused(doc, "node w", "'init'", f"'{param}'", ids=("w",))


@pytest.mark.parametrize("init", [
    {"fn": "zeros", "shape": [MAX_ELEMENTS + 1]},
    {"fn": "randn", "shape": [2**20, 2**20], "seed": 0},
    {"fn": "ones", "shape": [2**13] * 8},
    {"fn": "eye", "shape": [2**14]},                       # n × n
    {"fn": "arange", "end": MAX_ELEMENTS + 1},
    {"fn": "arange", "end": 1e308, "start": -1e308},       # (end - start) overflows to inf
    {"fn": "arange", "end": 1.0, "step": 5e-324},          # 1 / step overflows to inf
    {"fn": "linspace", "start": 0, "end": 1, "steps": MAX_ELEMENTS + 1},
])
def test_refuses_init_with_huge_shape(init: dict) -> None:
    doc = base()
    w = node(doc, "w")
    del w["value"]
    w["init"] = init
    refused(doc, "node w", "'init'", ids=("w",))


def test_accepts_init_of_exactly_max_elements() -> None:
    # The limit itself is allowed; loading never allocates, so this is cheap.
    doc = base()
    w = node(doc, "w")
    del w["value"]
    w["init"] = {"fn": "zeros", "shape": [2, MAX_ELEMENTS // 2]}
    g = loads(json.dumps(doc))
    assert g.nodes["w"].leaf_shape() == (2, MAX_ELEMENTS // 2)


@pytest.mark.parametrize("init", [
    {"fn": "zeros", "shape": [2, -1]},
    {"fn": "zeros", "shape": 4},
    {"fn": "zeros", "shape": [2.0]},
    {"fn": "full", "shape": [2], "fill_value": "1"},
    {"fn": "randn", "shape": [2], "seed": 1.5},
    {"fn": "arange", "end": 4, "step": 0},
    {"fn": "arange", "end": 4, "shape": [3]},             # 4 elements do not fit [3]
    {"fn": "eye", "shape": [2, 2, 2]},
])
def test_refuses_init_with_bad_parameter_value(init: dict) -> None:
    doc = base()
    w = node(doc, "w")
    del w["value"]
    w["init"] = init
    refused(doc, "node w", "'init'", ids=("w",))


@pytest.mark.parametrize("rg", ["true", 1, 0, None, [True]])
def test_refuses_requires_grad_that_is_not_a_bool(rg: object) -> None:
    doc = base()
    node(doc, "x")["requires_grad"] = rg
    refused(doc, "node x", "'requires_grad'", ids=("x",))


@pytest.mark.parametrize("dtype", ["float16", "int64", "torch.float32", "", None, 32])
def test_refuses_bad_dtype(dtype: object) -> None:
    doc = base()
    node(doc, "x")["dtype"] = dtype
    refused(doc, "node x", "'dtype'", ids=("x",))


@pytest.mark.parametrize("attrs", [[["shape", [1, -1]]], "shape=[1,-1]", None, 1])
def test_refuses_attrs_that_is_not_an_object(attrs: object) -> None:
    doc = base()
    node(doc, "xr")["attrs"] = attrs
    refused(doc, "node xr", "'attrs'", ids=("xr",))


def test_refuses_unknown_attribute() -> None:
    doc = base()
    node(doc, "xr")["attrs"]["axis"] = 0
    refused(doc, "node xr", "'attrs'", "'axis'", ids=("xr",))


def test_refuses_attribute_on_op_without_attributes() -> None:
    doc = base()
    node(doc, "mm")["attrs"] = {"out": None}
    refused(doc, "node mm", "'attrs'", "'out'", ids=("mm",))


def test_refuses_pow_exponent_of_wrong_type() -> None:
    doc = base()
    doc["nodes"].append({"id": "p", "op": "pow", "attrs": {"exponent": "2"}})
    refused(doc, "node p", "'attrs'", "'exponent'", ids=("p",))


def test_refuses_reshape_shape_of_wrong_type() -> None:
    doc = base()
    node(doc, "xr")["attrs"]["shape"] = [1, "a"]
    refused(doc, "node xr", "'attrs'", "'shape'", ids=("xr",))


@pytest.mark.parametrize(("op", "attrs", "name"), [
    ("sum", {"keepdim": 1}, "keepdim"),              # a bool attribute given an int
    ("sum", {"dim": 1.0}, "dim"),
    ("sum", {"dim": [0, True]}, "dim"),
    ("select", {"dim": 0, "index": 1.5}, "index"),
    ("mse_loss", {"reduction": "avg"}, "reduction"),
    ("pow", {"exponent": True}, "exponent"),
    ("pow", {"exponent": None}, "exponent"),
])
def test_refuses_other_attributes_of_wrong_type(op: str, attrs: dict, name: str) -> None:
    doc = base()
    doc["nodes"].append({"id": "n", "op": op, "attrs": attrs})
    refused(doc, "node n", "'attrs'", f"'{name}'", ids=("n",))


def test_refuses_pow_exponent_too_big_for_a_float() -> None:
    text = ISSUE_EXAMPLE.replace('{"id": "mm", "op": "matmul"}',
                                 '{"id": "p", "op": "pow", "attrs": {"exponent": 1' + "0" * 400 + "}}")
    text = text.replace('"to": "mm"', '"to": "p"')
    refused(text, "node p", "'attrs'", "'exponent'", ids=("p",))


def test_refuses_reshape_without_shape() -> None:
    doc = base()
    del node(doc, "xr")["attrs"]
    refused(doc, "node xr", "'attrs'", "'shape'", ids=("xr",))


@pytest.mark.parametrize("op", sorted(n for n, s in OPS.items() if any(a.required for a in s.attrs)))
def test_refuses_every_op_missing_a_required_attribute(op: str) -> None:
    doc = base()
    doc["nodes"].append({"id": "n", "op": op})
    required = next(a.name for a in OPS[op].attrs if a.required)
    refused(doc, "node n", "'attrs'", f"'{required}'", ids=("n",))


@pytest.mark.parametrize("pos", [[1], [1, 2, 3], [1, "2"], [True, 0], "1,2", {"x": 1, "y": 2}, None])
def test_refuses_bad_pos(pos: object) -> None:
    doc = base()
    node(doc, "mm")["pos"] = pos
    refused(doc, "node mm", "'pos'", ids=("mm",))


def test_refuses_pos_beyond_float_range() -> None:
    text = ISSUE_EXAMPLE.replace('{"id": "mm", "op": "matmul"}',
                                 '{"id": "mm", "op": "matmul", "pos": [0, -1e999]}')
    refused(text, "node mm", "'pos'", ids=("mm",))


def test_refuses_duplicate_id() -> None:
    doc = base()
    doc["nodes"].append({"id": "w", "op": "tensor", "value": 1.0})
    refused(doc, "node w", "duplicate", "'id'", ids=("w",))


# ---- edges ----

@pytest.mark.parametrize("bad", [["x", "xr", "input"], "x->xr", None])
def test_refuses_edge_that_is_not_an_object(bad: object) -> None:
    doc = base()
    doc["edges"].insert(1, bad)
    refused(doc, "edge #1", "object")


@pytest.mark.parametrize("field", ["from", "to", "port"])
def test_refuses_edge_missing_a_field(field: str) -> None:
    doc = base()
    del doc["edges"][2][field]
    refused(doc, "edge #2", f"'{field}'")


@pytest.mark.parametrize("field", ["from", "to", "port"])
def test_refuses_edge_field_that_is_not_a_string(field: str) -> None:
    doc = base()
    doc["edges"][2][field] = 1
    refused(doc, "edge #2", f"'{field}'")


def test_refuses_unknown_field_on_an_edge() -> None:
    doc = base()
    doc["edges"][0]["weight"] = 1
    refused(doc, "edge #0", "'weight'")


def test_refuses_edge_to_a_missing_node() -> None:
    doc = base()
    doc["edges"][1]["to"] = "nope"
    refused(doc, "edge #1", "'to'", "nope", ids=("xr",))


def test_refuses_edge_from_a_missing_node() -> None:
    doc = base()
    doc["edges"][2]["from"] = "ghost"
    refused(doc, "edge #2", "'from'", "ghost", ids=("mm",))


def test_refuses_edge_to_a_node_listed_nowhere_even_if_its_id_is_a_prefix() -> None:
    doc = base()
    doc["edges"][2]["from"] = "w "  # ids are compared exactly
    refused(doc, "edge #2", "'from'")


@pytest.mark.parametrize("port", ["weight", "Input", "target", ""])
def test_refuses_unknown_port(port: str) -> None:
    doc = base()
    doc["edges"][2]["port"] = port
    refused(doc, "edge #2", "'port'", "mm", ids=("mm",))


def test_refuses_port_on_a_tensor_node() -> None:
    doc = base()
    doc["edges"].append({"from": "mm", "to": "x", "port": "input"})
    refused(doc, "edge #3", "'port'", "tensor", ids=("x",))


def test_refuses_port_fed_twice() -> None:
    doc = base()
    doc["edges"].append({"from": "x", "to": "mm", "port": "other"})
    err = refused(doc, "edge #3", "'port'", "mm.other", "w", ids=("mm",))
    assert {"w", "x"} <= set(err.node_ids)


def test_refuses_duplicate_edge() -> None:
    doc = base()
    doc["edges"].append(dict(doc["edges"][0]))
    refused(doc, "edge #3", "'port'", ids=("xr",))


def test_load_of_unreadable_path_is_a_file_format_error(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="cannot read"):
        load(tmp_path / "missing.json")
    (tmp_path / "latin1.json").write_bytes(b'{"format": "gradcanvas\xff"}')
    with pytest.raises(FileFormatError, match="UTF-8"):
        load(tmp_path / "latin1.json")


# ---- what loads, and how it is written ----

def test_issue_example_loads_exactly() -> None:
    g = loads(ISSUE_EXAMPLE)
    expected = Graph()
    expected.add_node(Node("x", TENSOR, value=[1.0, 2.0], requires_grad=True))
    expected.add_node(Node("w", TENSOR, value=[[3.0, 4.0], [5.0, 6.0]]))
    expected.add_node(Node("xr", "reshape", attrs={"shape": [1, -1]}))
    expected.add_node(Node("mm", "matmul"))
    expected.add_edge(Edge("x", "xr", "input"))
    expected.add_edge(Edge("xr", "mm", "input"))
    expected.add_edge(Edge("w", "mm", "other"))
    assert g == expected
    # Field by field too, so that a too-lenient Graph.__eq__ cannot hide a difference.
    assert list(g.nodes) == ["x", "w", "xr", "mm"]
    x, w, xr, mm = g.nodes.values()
    assert (x.op, x.value, x.init, x.requires_grad, x.dtype) == (TENSOR, [1.0, 2.0], None, True, "float32")
    assert all(isinstance(v, float) for v in x.value)
    assert (w.value, w.requires_grad, w.leaf_shape()) == ([[3.0, 4.0], [5.0, 6.0]], False, (2, 2))
    assert (xr.op, xr.attrs, mm.op, mm.attrs) == ("reshape", {"shape": [1, -1]}, "matmul", {})
    assert all(n.pos is None and n.label is None for n in g.nodes.values())
    assert g.edges == [Edge("x", "xr", "input"), Edge("xr", "mm", "input"), Edge("w", "mm", "other")]
    assert g.validate() == ["x", "w", "xr", "mm"]


def test_dumps_is_canonical_json_one_item_per_line() -> None:
    text = dumps(loads(ISSUE_EXAMPLE))
    assert json.loads(text) == json.loads(ISSUE_EXAMPLE)
    lines = text.splitlines()
    assert lines[:4] == ["{", '  "format": "gradcanvas",', '  "version": 1,', '  "nodes": [']
    assert lines[4] == '    {"id": "x", "op": "tensor", "value": [1.0, 2.0], "requires_grad": true},'
    assert text.endswith("}\n")
    assert sum(line.startswith('    {"from"') for line in lines) == 3


def test_load_save_is_byte_stable() -> None:
    once = dumps(loads(ISSUE_EXAMPLE))
    assert dumps(loads(once)) == once


def test_dumps_keeps_non_ascii_as_text() -> None:
    g = Graph()
    g.add_node(Node("∂y/∂x", TENSOR, value=1.0, label="ÿ \"quoted\" \n two lines"))
    text = dumps(g)
    assert "∂y/∂x" in text and "\\n" in text
    assert loads(text) == g


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_every_example_is_already_canonical(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    g = load(path)
    assert text == dumps(g)
    g.validate()


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 4


def test_save_writes_what_load_reads(tmp_path: Path) -> None:
    g = loads(ISSUE_EXAMPLE)
    path = tmp_path / "g.json"
    save(g, path)
    assert path.read_text(encoding="utf-8") == dumps(g)
    assert load(path) == g
    assert os.listdir(tmp_path) == ["g.json"]


def test_save_into_an_existing_file_replaces_it(tmp_path: Path) -> None:
    path = tmp_path / "g.json"
    path.write_text("old content that is much longer than the new one " * 200, encoding="utf-8")
    g = Graph()
    g.add_node(Node("a", TENSOR, value=1.0))
    save(g, path)
    assert path.read_text(encoding="utf-8") == dumps(g)
    assert load(path) == g
    assert os.listdir(tmp_path) == ["g.json"]


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_failed_save_leaves_old_file_and_no_temp_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    path = tmp_path / "g.json"
    old = dumps(loads(ISSUE_EXAMPLE)).encode("utf-8")
    path.write_bytes(old)
    calls = []

    def boom(*args: object) -> None:
        calls.append(args)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, step, boom)
    g = Graph()
    g.add_node(Node("new", TENSOR, value=[0.0] * 1000))
    with pytest.raises(OSError, match="No space"):
        save(g, path)
    monkeypatch.undo()
    assert calls, f"save never called os.{step}"
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["g.json"]


def test_failed_save_of_a_new_file_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object) -> None:
        raise OSError(5, "I/O error")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        save(loads(ISSUE_EXAMPLE), tmp_path / "new.json")
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


# ---- loading never evaluates anything ----

def test_loading_never_evaluates_code(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    payloads = [f"__import__('os').system('touch {marker}')",
                "__import__('os').system('touch /tmp/gc_pwned')",
                f"open('{marker}', 'w')",
                "{{ self.__init__.__globals__ }}"]
    global_marker = Path("/tmp/gc_pwned")
    existed = global_marker.exists()

    # As ids and labels the strings are plain data: they load, unchanged, and save again.
    doc = base()
    for i, p in enumerate(payloads):
        doc["nodes"].append({"id": p, "op": "tensor", "value": float(i), "label": p})
        doc["nodes"].append({"id": f"n{i}", "op": "neg", "label": p})
        doc["edges"].append({"from": p, "to": f"n{i}", "port": "input"})
    g = loads(json.dumps(doc))
    for i, p in enumerate(payloads):
        assert g.nodes[p].label == p and g.nodes[p].value == float(i)
        assert g.inputs_of(f"n{i}") == {"input": p}
    assert loads(dumps(g)) == g

    # Anywhere else (values, ops, dtypes, init fns, attributes, ports) they are refused.
    p = payloads[0]
    placements = [
        lambda d: node(d, "x").__setitem__("value", p),
        lambda d: node(d, "x").__setitem__("value", [p, p]),
        lambda d: node(d, "mm").__setitem__("op", p),
        lambda d: node(d, "x").__setitem__("dtype", p),
        lambda d: node(d, "w").pop("value") and node(d, "w").__setitem__("init", {"fn": p, "shape": [2]}),
        lambda d: node(d, "xr")["attrs"].__setitem__("shape", p),
        lambda d: node(d, "xr")["attrs"].__setitem__(p, 1),
        lambda d: d["edges"][0].__setitem__("port", p),
        lambda d: d.__setitem__("format", p),
    ]
    for place in placements:
        d = base()
        place(d)
        with pytest.raises(FileFormatError):
            loads(json.dumps(d))

    assert not marker.exists()
    assert existed or not global_marker.exists()


# ---- property tests ----

# Ids: any printable text (unicode and punctuation included), but no control characters,
# which the loader refuses, and no lone surrogates, which UTF-8 cannot hold.
_ID_CHARS = st.one_of(
    st.sampled_from(string.punctuation + " "),
    st.characters(codec="utf-8", exclude_characters="".join(map(chr, [*range(32), 127]))),
)
ids = st.text(_ID_CHARS, min_size=1, max_size=12)
labels = st.text(st.characters(codec="utf-8"), max_size=12)  # labels may hold control characters
finite = st.floats(allow_nan=False, allow_infinity=False)
numbers = st.one_of(finite, st.integers(-(2**53), 2**53))
# What a float32 tensor holds: beyond ±3.4028234663852886e38 a number would become inf.
numbers_f32 = st.one_of(st.floats(allow_nan=False, allow_infinity=False, width=32),
                        st.integers(-(2**53), 2**53))
small_ints = st.integers(-4, 4)


@st.composite
def values(draw: st.DrawFn, dtype: str = "float64") -> object:
    shape = draw(st.lists(st.integers(0, 3), max_size=3))
    nums = numbers_f32 if dtype == "float32" else numbers

    def build(dims: list[int]) -> object:
        if not dims:
            return draw(nums)
        return [build(dims[1:]) for _ in range(dims[0])]

    return build(shape)


@st.composite
def inits(draw: st.DrawFn, dtype: str = "float64") -> dict:
    shape = draw(st.lists(st.integers(0, 4), min_size=1, max_size=3))
    fn = draw(st.sampled_from(sorted(INIT_FNS)))
    nums = numbers_f32 if dtype == "float32" else numbers
    if fn in ("zeros", "ones"):
        return {"fn": fn, "shape": shape}
    if fn == "full":
        return {"fn": fn, "shape": shape, "fill_value": draw(nums)}
    if fn in ("randn", "rand"):
        init = {"fn": fn, "shape": shape}
        if draw(st.booleans()):
            init["seed"] = draw(st.integers(0, 2**63 - 1))
        return init
    if fn == "eye":
        return {"fn": fn, "shape": shape[:2]}
    if fn == "arange":
        init = {"fn": fn, "end": draw(st.integers(-20, 20)), "start": draw(st.integers(-5, 5))}
        if draw(st.booleans()):  # a step whose sign fits start → end (any sign when they are equal)
            sign = -1 if init["end"] < init["start"] else 1
            init["step"] = sign * draw(st.sampled_from([1, 2, 0.5, 3.5]))
        elif init["end"] < init["start"]:
            init["end"], init["start"] = init["start"], init["end"]
        return init
    return {"fn": fn, "start": draw(nums), "end": draw(nums), "steps": draw(st.integers(0, 10))}


def attr_values(kind: str, choices: tuple[str, ...]) -> st.SearchStrategy:
    return {
        "int": small_ints,
        "number": numbers,
        "bool": st.booleans(),
        "ints": st.lists(small_ints, max_size=4),
        "dims": st.one_of(st.none(), small_ints, st.lists(small_ints, max_size=3)),
        "choice": st.sampled_from(choices or ("",)),
    }[kind]


@st.composite
def graphs(draw: st.DrawFn) -> Graph:
    node_ids = draw(st.lists(ids, min_size=1, max_size=8, unique=True))
    g = Graph()
    edges = []
    for i, node_id in enumerate(node_ids):
        op = draw(st.sampled_from([TENSOR, *OPS]))
        n = Node(node_id, op)
        if draw(st.booleans()):
            n.label = draw(labels)
        if draw(st.booleans()):
            n.pos = (draw(numbers), draw(numbers))
        if op == TENSOR:
            n.dtype = draw(st.sampled_from(DTYPES))
            if draw(st.booleans()):
                n.value = draw(values(n.dtype))
            else:
                n.init = draw(inits(n.dtype))
            n.requires_grad = draw(st.booleans())
        else:
            for a in OPS[op].attrs:
                if a.required or draw(st.booleans()):
                    n.attrs[a.name] = draw(attr_values(a.kind, a.choices))
            for port in OPS[op].inputs:
                if i and draw(st.booleans()):
                    edges.append(Edge(node_ids[draw(st.integers(0, i - 1))], node_id, port))
        g.add_node(n)
    for e in draw(st.permutations(edges)):
        g.add_edge(e)
    return g


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_random_graphs_round_trip(g: Graph) -> None:
    for n in g.nodes.values():
        n.check()  # the strategy makes valid graphs only
    text = dumps(g)
    back = loads(text)
    assert back == g
    assert list(back.nodes) == list(g.nodes) and back.edges == g.edges
    assert dumps(back) == text
    text.encode("utf-8")  # savable


def _paths(doc: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, (*prefix, i))
    return out


json_junk = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.just(10**400), st.floats(),
              st.text(max_size=5), st.sampled_from(["tensor", "input", "x", "mm", "shape", "fn"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6,
)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_files_load_or_are_refused_cleanly(data: st.DataObject) -> None:
    # A hostile file either loads into a graph that can be saved again, or is refused with a
    # FileFormatError; no other exception may reach the user.
    doc = base()
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(doc)))
        junk = data.draw(json_junk)
        if not path:
            doc = junk
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and data.draw(st.booleans()):
            parent[data.draw(st.text(max_size=6))] = copy.deepcopy(junk)  # a new key
        else:
            parent[path[-1]] = junk
    try:
        text = json.dumps(doc)
    except ValueError:  # a key json cannot write; not a file anyone could have
        return
    try:
        g = loads(text)
    except FileFormatError as e:
        assert e.message
        return
    again = dumps(g)
    again.encode("utf-8")
    assert loads(again) == g
    for n in g.nodes.values():
        if n.pos is not None:
            assert all(math.isfinite(v) for v in n.pos)


def test_save_keeps_the_mode_of_the_file_it_replaces(tmp_path):
    import stat

    from graph.fileformat import loads as _loads
    from graph.fileformat import save as _save

    path = tmp_path / "g.json"
    path.write_text("old")
    path.chmod(0o644)
    _save(_loads('{"format": "gradcanvas", "version": 1, "nodes": [], "edges": []}'), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert path.read_text().startswith("{")


def test_docs_ops_md_is_generated_from_the_catalogue():
    from pathlib import Path

    from graph.opsdoc import markdown

    doc = Path(__file__).resolve().parent.parent / "docs" / "ops.md"
    assert doc.read_text(encoding="utf-8") == markdown(), "run: python -m graph.opsdoc > docs/ops.md"
