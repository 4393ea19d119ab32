"""Switching a leaf's dtype in the inspector turns its numbers into the new dtype's in the same
undo step (3.0 -> 3 for int64, 0/1 -> false/true for bool, ints -> floats back), as
torch.tensor(value, dtype=...) takes them; what no dtype holds exactly (2.5 as int64) is refused
saying what to do. A typed value is taken the same way in an int64 or bool leaf. Driven through
the window's inspector editors, as a person does."""

from __future__ import annotations

import json
import math

import pytest
import torch
from helpers import RESULT_TIMEOUT_MS, row_error, type_and_enter

from graph.errors import FileFormatError, ValueSpecError
from graph.fileformat import loads
from graph.model import Node
from graph.ops import DTYPES, TENSOR

EXAMPLE = "01_scalar_partial.json"  # x (2.0, requires grad), z (3.0), y = 2*x**2 + 3*z


def _open(qtbot, window, examples_dir, node_id: str):  # noqa: ANN001, ANN202
    """Example 01 open, node_id selected: the inspector's rows."""
    window.open_file(str(examples_dir / EXAMPLE))
    window.scene.select_nodes([node_id])
    qtbot.waitUntil(lambda: window.inspector.rows.get("id") is not None
                    and window.inspector.rows["id"].editor.text() == node_id, timeout=5000)
    return window.inspector.rows


def _set_value(qtbot, window, node_id: str, value: object) -> None:  # noqa: ANN001
    type_and_enter(qtbot, window.inspector.rows["value"].editor, json.dumps(value))
    assert window.doc.graph.nodes[node_id].value == value


def _switch(window, dtype: str) -> None:  # noqa: ANN001
    window.inspector.rows["dtype"].editor.setCurrentIndex(DTYPES.index(dtype))


def _types(value: object) -> set[type]:
    return set().union(*map(_types, value)) if isinstance(value, list) else {type(value)}


@pytest.mark.parametrize(("floats", "ints"), [
    (3.0, 3),  # example 01's z as it is
    ([1.0, -2.0], [1, -2]),
    ([[0.0, -0.0], [4.0, 2.0**62]], [[0, 0], [4, 2**62]]),
])
def test_a_float_leaf_of_whole_numbers_switches_to_int64_in_one_undo_step(
        qtbot, window, examples_dir, floats: object, ints: object) -> None:  # noqa: ANN001
    _open(qtbot, window, examples_dir, "z")
    doc = window.doc
    if floats != 3.0:
        _set_value(qtbot, window, "z", floats)
    steps = doc.undo_stack.count()
    _switch(window, "int64")
    z = doc.graph.nodes["z"]
    assert (z.dtype, z.value, _types(z.value)) == ("int64", ints, {int})
    assert row_error(window.inspector, "dtype") == ""
    assert window.inspector.rows["value"].editor.text() == json.dumps(ints)
    assert torch.equal(torch.tensor(z.value, dtype=torch.int64), torch.tensor(floats, dtype=torch.int64))
    assert doc.undo_stack.count() == steps + 1
    doc.undo_stack.undo()  # one undo: float32 and the floats, as they were
    z = doc.graph.nodes["z"]
    assert (z.dtype, z.value, _types(z.value)) == ("float32", floats, {float})
    assert window.inspector.rows["dtype"].editor.currentText() == "float32"
    doc.undo_stack.redo()
    assert (doc.graph.nodes["z"].dtype, doc.graph.nodes["z"].value) == ("int64", ints)


@pytest.mark.parametrize(("value", "shown", "advice"), [
    (2.5, "2.5", "round the value first"),
    ([1.0, 2.5], "2.5", "round the value first"),
    (1e30, "1e+30", "make the value smaller first"),
])
def test_a_value_int64_cannot_hold_keeps_the_refusal_saying_what_to_do(
        qtbot, window, examples_dir, value: object, shown: str, advice: str) -> None:  # noqa: ANN001
    _open(qtbot, window, examples_dir, "z")
    doc = window.doc
    window.doc.edit_node(Node("z", TENSOR, value=3.0, label="depth"))  # named by its title
    _set_value(qtbot, window, "z", value)
    steps = doc.undo_stack.count()
    _switch(window, "int64")
    message = row_error(window.inspector, "dtype")
    assert message.startswith(f"depth: value holds {shown}: an int64 tensor holds only integers")
    assert message.endswith(advice)
    z = doc.graph.nodes["z"]
    assert (z.dtype, z.value) == ("float32", value) and doc.undo_stack.count() == steps
    assert window.inspector.rows["dtype"].editor.currentText() == "float32"  # the combo shows the model


@pytest.mark.parametrize("v", [math.nan, math.inf, -math.inf])
def test_a_non_finite_entry_is_refused_for_int64_and_bool(v: float) -> None:
    from graph.values import as_dtype

    with pytest.raises(ValueSpecError, match="an int64 tensor holds only integers: give a whole number instead"):
        as_dtype([1.0, v], "int64")
    with pytest.raises(ValueSpecError, match="a bool tensor holds only true and false"):
        as_dtype([1.0, v], "bool")


def test_typing_into_an_int64_leaf_keeps_ints(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    rows = _open(qtbot, window, examples_dir, "z")
    doc = window.doc
    type_and_enter(qtbot, rows["value"].editor, "3")  # over 3.0 in a float leaf: no change
    assert repr(doc.graph.nodes["z"].value) == "3.0" and doc.undo_stack.count() == 0
    _switch(window, "int64")
    type_and_enter(qtbot, window.inspector.rows["value"].editor, "3.0")  # the same number: no change
    assert repr(doc.graph.nodes["z"].value) == "3" and doc.undo_stack.count() == 1
    type_and_enter(qtbot, window.inspector.rows["value"].editor, "[5.0, -1]")  # as torch takes it
    z = doc.graph.nodes["z"]
    assert z.value == [5, -1] and _types(z.value) == {int} and doc.undo_stack.count() == 2
    type_and_enter(qtbot, window.inspector.rows["value"].editor, "[5.5, -1]")
    assert row_error(window.inspector, "value") == (
        "value holds 5.5: an int64 tensor holds only integers: round the value first")
    assert doc.graph.nodes["z"].value == [5, -1] and doc.undo_stack.count() == 2


def test_an_int64_leaf_switches_back_to_floats(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    _open(qtbot, window, examples_dir, "z")
    doc = window.doc
    _switch(window, "int64")
    type_and_enter(qtbot, window.inspector.rows["value"].editor, "[7, -2]")
    _switch(window, "float64")
    z = doc.graph.nodes["z"]
    assert (z.dtype, z.value, _types(z.value)) == ("float64", [7.0, -2.0], {float})
    assert window.inspector.rows["value"].editor.text() == "[7.0, -2.0]"
    doc.undo_stack.undo()
    assert (doc.graph.nodes["z"].dtype, doc.graph.nodes["z"].value) == ("int64", [7, -2])
    assert _types(doc.graph.nodes["z"].value) == {int}


def test_a_bool_leaf_holds_true_and_false_from_0_and_1(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    _open(qtbot, window, examples_dir, "z")
    doc = window.doc
    _set_value(qtbot, window, "z", [1.0, 0.0])
    _switch(window, "bool")
    assert doc.graph.nodes["z"].value == [True, False] and doc.graph.nodes["z"].dtype == "bool"
    value = window.inspector.rows["value"].editor
    type_and_enter(qtbot, value, "[0, 1.0]")  # typed as torch takes it
    assert doc.graph.nodes["z"].value == [False, True] and _types(doc.graph.nodes["z"].value) == {bool}
    type_and_enter(qtbot, value, "[true, true]")  # was refused before: a value typed without its dtype
    assert doc.graph.nodes["z"].value == [True, True]
    type_and_enter(qtbot, value, "[2, 0]")
    assert row_error(window.inspector, "value").startswith("value holds 2: a bool tensor holds only true and false")
    _switch(window, "int64")
    assert doc.graph.nodes["z"].value == [1, 1] and _types(doc.graph.nodes["z"].value) == {int}
    _switch(window, "float32")
    assert doc.graph.nodes["z"].value == [1.0, 1.0] and _types(doc.graph.nodes["z"].value) == {float}
    _set_value(qtbot, window, "z", [2.0, 0.0])
    _switch(window, "bool")
    assert row_error(window.inspector, "dtype") == ("z: value holds 2.0: a bool tensor holds only true and false "
                                                    "(1 and 0): set each entry to 0 or 1 first")
    assert doc.graph.nodes["z"].dtype == "float32"


def test_a_leaf_requiring_grad_switched_to_int64_turns_it_off_saying_so(
        qtbot, window, examples_dir) -> None:  # noqa: ANN001
    rows = _open(qtbot, window, examples_dir, "x")
    doc = window.doc
    doc.set_target("y")
    assert rows["requires_grad"].editor.isChecked()
    _switch(window, "int64")
    x = doc.graph.nodes["x"]
    assert (x.dtype, x.value, x.requires_grad) == ("int64", 2, False)
    rows = window.inspector.rows
    assert not rows["requires_grad"].editor.isChecked()
    assert rows["dtype"].hint.text().startswith("requires grad is off now: only floating point tensors can "
                                                "require gradients")
    assert row_error(window.inspector, "dtype") == "" and doc.undo_stack.count() == 1
    # the canvas says why x has no partial, as for any int64 leaf
    qtbot.waitUntil(lambda: window.run.current is not None and window.run.current.revision == doc.revision
                    and "x" in window.run.current.nodes, timeout=RESULT_TIMEOUT_MS)
    view = window.run.current.nodes["x"]
    assert (view.grad_text, view.no_grad_reason) == (None, "int64: no gradient")
    doc.undo_stack.undo()  # both come back in one step; the note goes
    x = doc.graph.nodes["x"]
    assert (x.dtype, x.value, x.requires_grad) == ("float32", 2.0, True)
    assert window.inspector.rows["requires_grad"].editor.isChecked()
    assert not window.inspector.rows["dtype"].hint.isVisibleTo(window.inspector)
    doc.undo_stack.redo()
    assert (doc.graph.nodes["x"].dtype, doc.graph.nodes["x"].requires_grad) == ("int64", False)


def test_an_init_leaf_switches_its_whole_numbers_to_int64(qtbot, window, examples_dir) -> None:  # noqa: ANN001
    rows = _open(qtbot, window, examples_dir, "z")
    doc = window.doc
    rows["mode"].editor.setCurrentIndex(1)  # randn
    window.inspector.rows["init.fn"].editor.setCurrentText("full")  # fill_value 1.0
    assert doc.graph.nodes["z"].init["fill_value"] == 1.0
    _switch(window, "int64")
    z = doc.graph.nodes["z"]
    assert z.dtype == "int64" and type(z.init["fill_value"]) is int and z.init["fill_value"] == 1
    type_and_enter(qtbot, window.inspector.rows["init.fill_value"].editor, "4.0")
    assert repr(doc.graph.nodes["z"].init["fill_value"]) == "4"
    type_and_enter(qtbot, window.inspector.rows["init.fill_value"].editor, "4.5")
    assert row_error(window.inspector, "init.fill_value").endswith("must be an integer, not 4.5: round it first")
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.graph.nodes["z"].dtype == "float32" and repr(doc.graph.nodes["z"].init["fill_value"]) == "1.0"


def test_a_file_holding_3_0_in_an_int64_leaf_is_still_refused_in_one_line() -> None:
    """Files stay strict: the app writes an int64 leaf's numbers as ints."""
    text = json.dumps({"format": "gradcanvas", "version": 2,
                       "nodes": [{"id": "z", "op": "tensor", "value": 3.0, "dtype": "int64"}], "edges": []})
    with pytest.raises(FileFormatError, match="value holds 3.0: an int64 tensor holds only integers"):
        loads(text)
