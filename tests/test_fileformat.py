"""The strict v1 loader and canonical writer in graph/fileformat.py.

Every refusal is checked for its type (FileFormatError), for a message that names where the
problem is (the node or edge, and the field), so that a user can find it in the file, and for
the node ids the error carries (the nodes the canvas marks). The refusals are one table, REFUSED:
each row breaks the issue's example in one place.
"""

from __future__ import annotations

import copy
import json
import math
import os
import string
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.fuzz import json_paths
from graph import fileformat
from graph.errors import FileFormatError
from graph.fileformat import dumps, load, loads, save
from graph.inits import INITS
from graph.model import Edge, Graph, Node
from graph.ops import FLOAT_DTYPES, OPS, TENSOR, Attr
from graph.ops.spec import VARIADIC_COUNT
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


def test_base_document_is_valid() -> None:
    # The refusal rows below each break this document in one place; it must load as it is.
    assert list(loads(json.dumps(base())).nodes) == ["x", "w", "xr", "mm"]


# ---- the refusal table ----
# A row's input is a text, or changes to base(): put(where, field, value) sets a field of the
# node with id `where`, of edge #where (an int) or of the file (None), and deletes it when no
# value is given; add(key, item, index) inserts into "nodes" or "edges" (appends by default).

Change = Callable[[dict], None]
_DELETE = object()


def put(where: str | int | None, field: str, value: object = _DELETE) -> Change:
    def change(doc: dict) -> None:
        obj = doc if where is None else doc["edges"][where] if isinstance(where, int) else node(doc, where)
        if value is _DELETE:
            del obj[field]
        else:
            obj[field] = value
    return change


def add(key: str, item: object, index: int | None = None) -> Change:
    return lambda doc: doc[key].insert(len(doc[key]) if index is None else index, item)


def init(spec: object) -> tuple[Change, ...]:
    """Tensor w made by an init spec instead of its value."""
    return put("w", "value"), put("w", "init", spec)


def swap(old: str, new: str, text: str = ISSUE_EXAMPLE) -> str:
    """The text with every `old` replaced by `new`; `old` must be there."""
    assert old in text, old
    return text.replace(old, new)


def text_of(given: str | Change | tuple[Change, ...]) -> str:
    if isinstance(given, str):
        return given
    doc = base()
    for change in given if isinstance(given, tuple) else (given,):
        change(doc)
    return json.dumps(doc)


def row(name: str, given: str | Change | tuple[Change, ...], *needles: str,
        ids: tuple[str, ...] = ()) -> object:
    """One refusal: the input, the fragments its message must hold, and exactly the node ids
    the error must carry (none for problems no node can be blamed for)."""
    return pytest.param(given, needles, ids, id=name)


def rows(name: str, values: list, make: Callable[[object], object], *needles: str,
         ids: tuple[str, ...] = ()) -> list:
    """One row per value, each with the same expectations."""
    return [row(f"{name}-{json.dumps(v)[:40]}", make(v), *needles, ids=ids) for v in values]


def _deep(levels: int) -> object:
    value: object = 1.0
    for _ in range(levels):
        value = [value]
    return value


_POW_TOO_BIG = swap('"to": "mm"', '"to": "p"', swap(
    '{"id": "mm", "op": "matmul"}', '{"id": "p", "op": "pow", "attrs": {"exponent": 1' + "0" * 400 + "}}"))
_REQUIRED_ATTR = {op: next(a.name for a in s.attrs if a.required)
                  for op, s in sorted(OPS.items()) if any(a.required for a in s.attrs)}

REFUSED = [
    # the file as a whole
    row("not_json", '{"format": "gradcanvas", "version": 1,', "not valid JSON", "line 1"),
    row("nan_literal", swap("[1.0, 2.0]", "[1.0, NaN]"), "node x", "'value'", ids=("x",)),
    *rows("infinity_literal", ["Infinity", "-Infinity"], lambda lit: swap("[[3.0, 4.0]", f"[[3.0, {lit}]"),
          "node w", "'value'", ids=("w",)),
    row("nan_version", swap('"version": 1', '"version": NaN'), "'version'"),
    row("float_beyond_range", swap("[1.0, 2.0]", "[1.0, 1e400]"), "node x", "'value'", ids=("x",)),
    *rows("top_not_object", ["[]", '"gradcanvas"', "1", "null"], lambda t: t, "JSON object"),
    row("unknown_top_field", put(None, "extra", 1), "the file", "'extra'"),
    *rows("wrong_format", ["GradCanvas", "", None, 1], lambda v: put(None, "format", v), "'format'"),
    row("missing_format", put(None, "format"), "'format'"),
    *rows("bad_version", ["1", 1.0, True, None, 0, -1], lambda v: put(None, "version", v), "'version'"),
    row("newer_version", put(None, "version", fileformat.VERSION + 1), f"version {fileformat.VERSION + 1}",
        f"version {fileformat.VERSION}"),
    *(r for key in ("nodes", "edges")
      for r in rows(f"{key}_not_list", [{}, "x", None], lambda v, k=key: put(None, k, v), f"'{key}'")),
    # nodes
    *rows("node_not_object", [["x"], "x", 3, None], lambda v: add("nodes", v, 1), "node #1", "object"),
    row("no_id", put("xr", "id"), "node #2", "'id'"),
    *rows("id_not_a_nonempty_string", [7, None, ["x"], True, ""], lambda v: put("w", "id", v), "node #1", "'id'"),
    *rows("id_control_chars", ["a\nb", "tab\there", "nul\x00", "del\x7f", "\x1b[31m"],
          lambda v: put("mm", "id", v), "node #3", "'id'", "control"),
    row("id_too_long", put("x", "id", "x" * (fileformat.MAX_ID_LENGTH + 1)), "node #0", "'id'"),
    row("id_lone_surrogate", swap('"to": "mm"', '"to": "m\\ud800"', swap('"id": "mm"', '"id": "m\\ud800"')),
        "node #3", "'id'"),
    row("label_lone_surrogate", swap('{"id": "mm", ', '{"id": "mm", "label": "\\udfff", '),
        "node mm", "'label'", ids=("mm",)),
    row("label_not_string", put("w", "label", 5), "node w", "'label'", ids=("w",)),
    row("no_op", put("mm", "op"), "node mm", "'op'", ids=("mm",)),
    *rows("unknown_op", ["frobnicate", "Tensor", "torch.add", "", None, 3, ["add"], {"a": 1}],
          lambda v: put("mm", "op", v), "node mm", "'op'", ids=("mm",)),
    *(row(f"unknown_field-{n}.{f}", put(n, f, {} if f == "attrs" else 1), f"node {n}", f"'{f}'", ids=(n,))
      for n, f in [("x", "colour"), ("mm", "value"), ("x", "attrs"), ("mm", "requires_grad")]),
    row("value_and_init", put("w", "init", {"fn": "zeros", "shape": [2, 2]}),
        "node w", "'value'", "'init'", ids=("w",)),
    row("no_value_nor_init", put("w", "value"), "node w", "'value'", "'init'", ids=("w",)),
    *rows("ragged_value", [[[1.0, 2.0], [3.0]], [[1.0], 2.0], [[[1.0]], [[1.0, 2.0]]], [[], [1]]],
          lambda v: put("w", "value", v), "node w", "'value'", "ragged", ids=("w",)),
    *rows("value_not_numbers", ["1.0", [1.0, "2"], True, [1.0, False], None, {"a": 1}, [[None]]],
          lambda v: put("x", "value", v), "node x", "'value'", ids=("x",)),
    row("value_too_many_dims", put("x", "value", _deep(MAX_DIMS + 1)), "node x", "'value'", ids=("x",)),
    row("int_beyond_float", swap("[1.0, 2.0]", "[1.0, 1" + "0" * 400 + "]"), "node x", "'value'", ids=("x",)),
    # Python refuses to convert integer literals of more than 4300 digits while parsing JSON: the
    # loader decodes again keeping such a number as a marker, refused where it stands.
    row("int_literal_too_long", swap("[1.0, 2.0]", "[1.0, " + "9" * 5000 + "]"), "node x", "'value'",
        "5,000 digits", ids=("x",)),
    *rows("bad_init_fn", [{"fn": "random", "shape": [2]}, {"fn": "__import__", "shape": [2]}, {"shape": [2]},
                          {"fn": ["zeros"], "shape": [2]}, {"fn": None, "shape": [2]}, "zeros", [2, 2]],
          init, "node w", "'init'", ids=("w",)),
    *(row(f"init_param-{json.dumps(spec)}", init(spec), "node w", "'init'", f"'{param}'", ids=("w",))
      for spec, param in [  # missing, then unknown
          ({"fn": "zeros"}, "shape"), ({"fn": "full", "shape": [2]}, "fill_value"),
          ({"fn": "linspace", "start": 0, "end": 1}, "steps"), ({"fn": "arange"}, "end"),
          ({"fn": "zeros", "shape": [2], "seed": 1}, "seed"), ({"fn": "randn", "shape": [2], "mean": 0.0}, "mean"),
          ({"fn": "eye", "shape": [2], "dtype": "float64"}, "dtype")]),
    *rows("init_too_big", [
        {"fn": "zeros", "shape": [MAX_ELEMENTS + 1]}, {"fn": "randn", "shape": [2**20, 2**20], "seed": 0},
        {"fn": "ones", "shape": [2**13] * 8},
        {"fn": "eye", "shape": [2**14]},                       # n × n
        {"fn": "arange", "end": MAX_ELEMENTS + 1},
        {"fn": "arange", "end": 1e308, "start": -1e308},       # (end - start) overflows to inf
        {"fn": "arange", "end": 1.0, "step": 5e-324},          # 1 / step overflows to inf
        {"fn": "linspace", "start": 0, "end": 1, "steps": MAX_ELEMENTS + 1}], init, "node w", "'init'", ids=("w",)),
    *rows("init_bad_param", [
        {"fn": "zeros", "shape": [2, -1]}, {"fn": "zeros", "shape": 4}, {"fn": "zeros", "shape": [2.0]},
        {"fn": "full", "shape": [2], "fill_value": "1"}, {"fn": "randn", "shape": [2], "seed": 1.5},
        {"fn": "arange", "end": 4, "step": 0},
        {"fn": "arange", "end": 4, "shape": [3]},             # 4 elements do not fit [3]
        {"fn": "eye", "shape": [2, 2, 2]}], init, "node w", "'init'", ids=("w",)),
    *rows("requires_grad", ["true", 1, 0, None, [True]], lambda v: put("x", "requires_grad", v),
          "node x", "'requires_grad'", ids=("x",)),
    *rows("dtype", ["float16", "int32", "torch.float32", "", None, 32], lambda v: put("x", "dtype", v),
          "node x", "'dtype'", ids=("x",)),
    *rows("attrs_not_object", [[["shape", [1, -1]]], "shape=[1,-1]", None, 1], lambda v: put("xr", "attrs", v),
          "node xr", "'attrs'", ids=("xr",)),
    *(row(f"attr-{n}-{json.dumps(attrs)}", put(n, "attrs", attrs), f"node {n}", "'attrs'", f"'{name}'", ids=(n,))
      for n, attrs, name in [("xr", {"shape": [1, -1], "axis": 0}, "axis"),  # unknown attribute
                             ("mm", {"out": None}, "out"),                   # on an op without any
                             ("xr", {"shape": [1, "a"]}, "shape")]),
    *(row(f"attr-{op}-{json.dumps(attrs)}", add("nodes", {"id": n, "op": op, "attrs": attrs}),
          f"node {n}", "'attrs'", f"'{name}'", ids=(n,))
      for n, op, attrs, name in [
          ("p", "pow", {"exponent": "2"}, "exponent"),
          ("n", "sum", {"keepdim": 1}, "keepdim"),              # a bool attribute given an int
          ("n", "sum", {"dim": 1.0}, "dim"), ("n", "sum", {"dim": [0, True]}, "dim"),
          ("n", "select", {"dim": 0, "index": 1.5}, "index"), ("n", "mse_loss", {"reduction": "avg"}, "reduction"),
          ("n", "pow", {"exponent": True}, "exponent"), ("n", "pow", {"exponent": [2]}, "exponent")]),
    row("pow_exponent_beyond_float", _POW_TOO_BIG, "node p", "'attrs'", "'exponent'", ids=("p",)),
    row("reshape_without_shape", put("xr", "attrs"), "node xr", "'attrs'", "'shape'", ids=("xr",)),
    *(row(f"missing_required_attr-{op}", add("nodes", {"id": "n", "op": op}), "node n", "'attrs'", f"'{name}'",
          ids=("n",)) for op, name in _REQUIRED_ATTR.items()),
    *rows("bad_pos", [[1], [1, 2, 3], [1, "2"], [True, 0], "1,2", {"x": 1, "y": 2}, None],
          lambda v: put("mm", "pos", v), "node mm", "'pos'", ids=("mm",)),
    row("pos_beyond_float", swap('{"id": "mm", "op": "matmul"}', '{"id": "mm", "op": "matmul", "pos": [0, -1e999]}'),
        "node mm", "'pos'", ids=("mm",)),
    row("duplicate_id", add("nodes", {"id": "w", "op": "tensor", "value": 1.0}),
        "node w", "duplicate", "'id'", ids=("w",)),
    # edges
    *rows("edge_not_object", [["x", "xr", "input"], "x->xr", None], lambda v: add("edges", v, 1),
          "edge #1", "object"),
    *(row(f"edge_missing_field-{f}", put(2, f), "edge #2", f"'{f}'") for f in ("from", "to", "port")),
    *(row(f"edge_field_not_string-{f}", put(2, f, 1), "edge #2", f"'{f}'") for f in ("from", "to", "port")),
    row("edge_unknown_field", put(0, "weight", 1), "edge #0", "'weight'"),
    row("edge_to_missing_node", put(1, "to", "nope"), "edge #1", "'to'", "nope", ids=("xr",)),
    row("edge_from_missing_node", put(2, "from", "ghost"), "edge #2", "'from'", "ghost", ids=("mm",)),
    row("edge_from_id_plus_space", put(2, "from", "w "), "edge #2", "'from'", ids=("mm",)),  # ids compare exactly
    *rows("unknown_port", ["weight", "Input", "target", ""], lambda p: put(2, "port", p),
          "edge #2", "'port'", "mm", ids=("mm",)),
    row("port_on_tensor", add("edges", {"from": "mm", "to": "x", "port": "input"}),
        "edge #3", "'port'", "tensor", ids=("x",)),
    row("port_fed_twice", add("edges", {"from": "x", "to": "mm", "port": "other"}),
        "edge #3", "'port'", "mm.other", "w", ids=("mm", "w", "x")),
    row("duplicate_edge", add("edges", {"from": "x", "to": "xr", "port": "input"}),
        "edge #3", "'port'", ids=("xr", "x")),
]


@pytest.mark.parametrize(("given", "needles", "node_ids"), REFUSED)
def test_refused(given: str | Change | tuple[Change, ...], needles: tuple[str, ...],
                 node_ids: tuple[str, ...]) -> None:
    with pytest.raises(FileFormatError) as info:
        loads(text_of(given))
    err = info.value
    for needle in needles:
        assert needle in err.message, f"{needle!r} not in {err.message!r}"
    assert str(err) == err.message
    assert set(err.node_ids) == set(node_ids), err.node_ids


def test_accepts_id_of_exactly_max_length() -> None:
    long_id = "x" * fileformat.MAX_ID_LENGTH
    doc = base()
    doc["nodes"][0]["id"] = long_id
    doc["edges"][0]["from"] = long_id
    assert long_id in loads(json.dumps(doc)).nodes


def test_accepts_init_of_exactly_max_elements() -> None:
    # The limit itself is allowed; loading never allocates, so this is cheap.
    doc = base()
    w = node(doc, "w")
    del w["value"]
    w["init"] = {"fn": "zeros", "shape": [2, MAX_ELEMENTS // 2]}
    g = loads(json.dumps(doc))
    assert g.nodes["w"].leaf_shape() == (2, MAX_ELEMENTS // 2)


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
    assert not g.layout and all(n.label is None for n in g.nodes.values())
    assert g.edges == [Edge("x", "xr", "input"), Edge("xr", "mm", "input"), Edge("w", "mm", "other")]
    assert g.validate().order == ("x", "w", "xr", "mm")


def test_dumps_is_canonical_json_one_item_per_line() -> None:
    text = dumps(loads(ISSUE_EXAMPLE))
    assert json.loads(text) == {**json.loads(ISSUE_EXAMPLE), "version": 2, "seed": 0, "groups": []}  # migrated
    lines = text.splitlines()
    assert lines[:5] == ["{", '  "format": "gradcanvas",', '  "version": 2,', '  "seed": 0,', '  "nodes": [']
    assert lines[5] == '    {"id": "x", "op": "tensor", "value": [1.0, 2.0], "requires_grad": true},'
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
    fn = draw(st.sampled_from(sorted(n for n, spec in INITS.items() if dtype in spec.dtypes)))
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
    if fn == "randint":
        return {"fn": fn, "high": draw(st.integers(1, 9)), "shape": shape}
    if fn == "arange":
        init = {"fn": fn, "end": draw(st.integers(-20, 20)), "start": draw(st.integers(-5, 5))}
        if draw(st.booleans()):  # a step whose sign fits start → end (any sign when they are equal)
            sign = -1 if init["end"] < init["start"] else 1
            init["step"] = sign * draw(st.sampled_from([1, 2, 0.5, 3.5]))
        elif init["end"] < init["start"]:
            init["end"], init["start"] = init["start"], init["end"]
        return init
    return {"fn": fn, "start": draw(nums), "end": draw(nums), "steps": draw(st.integers(0, 10))}


def attr_values(attr: Attr) -> st.SearchStrategy:
    ints = small_ints if attr.minimum is None else small_ints.filter(lambda v: v >= attr.minimum)
    choices = attr.choices
    return {
        "int": ints,
        "number": numbers if attr.minimum is None else numbers.filter(lambda v: v >= attr.minimum),
        "bool": st.booleans(),
        "ints": st.lists(ints, max_size=4),
        "optional_ints": st.one_of(st.none(), st.lists(ints, max_size=4)),
        "optional_dim": st.one_of(st.none(), small_ints),
        "dims": st.one_of(small_ints, st.lists(small_ints, max_size=3)),
        "optional_dims": st.one_of(st.none(), small_ints, st.lists(small_ints, max_size=3)),
        "dim": small_ints,
        "optional_number": st.one_of(st.none(), numbers),
        "choice": st.sampled_from(choices or ("",)),
    }[attr.kind]


@st.composite
def graphs(draw: st.DrawFn) -> Graph:
    node_ids = draw(st.lists(ids, min_size=1, max_size=8, unique=True))
    g = Graph()
    edges = []
    for i, node_id in enumerate(node_ids):
        op = draw(st.sampled_from([TENSOR, *OPS]))
        fields: dict = {}
        if draw(st.booleans()):
            fields["label"] = draw(labels)
        pos = (draw(numbers), draw(numbers)) if draw(st.booleans()) else None
        if op == TENSOR:
            fields["dtype"] = dtype = draw(st.sampled_from(FLOAT_DTYPES))
            if draw(st.booleans()):
                fields["value"] = draw(values(dtype))
            else:
                fields["init"] = draw(inits(dtype))
            fields["requires_grad"] = draw(st.booleans())
        else:
            fields["attrs"] = {a.name: draw(attr_values(a))
                               for a in OPS[op].attrs if a.required or draw(st.booleans())}
            if OPS[op].variadic:  # how many ports the node has (cat's tensors.0, …)
                fields["attrs"][VARIADIC_COUNT] = draw(st.integers(1, 4))
            for port in OPS[op].ports(fields["attrs"]):
                if i and draw(st.booleans()):
                    edges.append(Edge(node_ids[draw(st.integers(0, i - 1))], node_id, port))
        g.add_node(Node(node_id, op, **fields), pos=pos)
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
        path = data.draw(st.sampled_from(json_paths(doc)))
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
    for pos in g.layout.values():
        assert all(math.isfinite(v) for v in pos)


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


def test_the_target_and_its_grad_output_round_trip(examples_dir) -> None:
    g = load(examples_dir / "03_vector_element.json")
    assert g.target is None and '"target"' not in dumps(g)
    g.target, g.grad_output = "y", [1, 0.5]
    text = dumps(g)
    back = loads(text)
    assert (back.target, back.grad_output) == ("y", [1, 0.5]) and back == g and dumps(back) == text


@pytest.mark.parametrize(("extra", "needle"), [
    ('"target": "nope",', "no node 'nope'"),
    ('"target": 3,', "field 'target'"),
    ('"grad_output": [1, 0],', "needs a field 'target'"),
    ('"target": "y", "grad_output": [1, [0]],', "ragged"),
    ('"target": "y", "grad_output": [1, NaN],', "only finite numbers"),
])
def test_a_bad_target_or_grad_output_is_refused(examples_dir, extra: str, needle: str) -> None:
    text = (examples_dir / "03_vector_element.json").read_text().replace('"version": 2,', '"version": 2, ' + extra)
    with pytest.raises(FileFormatError, match=needle):
        loads(text)


# ---- the fast path: a plain decode when no key repeats, the careful one otherwise ----

def _careful_reads(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    reads: list[bool] = []
    real = fileformat._parse

    def counted(text: str, careful: bool):  # noqa: ANN202
        reads.append(careful)
        return real(text, careful)

    monkeypatch.setattr(fileformat, "_parse", counted)
    return reads


def test_a_good_file_is_read_once_even_with_colons_and_quotes_in_strings(monkeypatch: pytest.MonkeyPatch) -> None:
    g = Graph()
    g.add_node(Node('a: "x":{1}', TENSOR, value=[1.0, 2.0], requires_grad=True, label='say "a:b" \\ :'))
    g.add_node(Node("s:", "sum", attrs={"dim": [0]}, label="λ: ∂"))
    g.add_edge(Edge('a: "x":{1}', "s:", "input"))
    reads = _careful_reads(monkeypatch)
    assert loads(dumps(g)) == g
    assert reads == [False]


@pytest.mark.parametrize(("old", "new"), [
    ('"version": 2,', '"version": 2, "version": 2,'),
    ('"op": "sum"', '"op": "sum", "op": "sum"'),
    ('"attrs": {"dim": [0]}', '"attrs": {"dim": [0], "dim": [0]}'),
    ('"port": "input"', '"port": "input", "port": "input"'),
    ('"value": [1.0, 2.0]', '"value": [{"k": 1, "k": 1}, 2.0]'),
])
def test_a_repeated_key_anywhere_sends_the_file_to_the_careful_read(old: str, new: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Even where the last value would pass every check: the plain decoder keeps it silently."""
    g = Graph()
    g.add_node(Node("x", TENSOR, value=[1.0, 2.0], requires_grad=True))
    g.add_node(Node("s", "sum", attrs={"dim": [0]}))
    g.add_edge(Edge("x", "s", "input"))
    text = dumps(g)
    assert old in text
    reads = _careful_reads(monkeypatch)
    with pytest.raises(FileFormatError, match="twice|must be a number"):
        loads(text.replace(old, new, 1))
    assert reads[-1] is True
