"""Refusals say true numbers: a text's length is its own (not its quoted repr's), and a seed out
of range gets the documented range 0 … 2**63 − 1 on both sides."""

from __future__ import annotations

import json

import pytest

from graph.errors import GraphError
from graph.fileformat import loads
from graph.lessons import LessonError
from graph.lessons import loads as lesson_loads
from graph.limits import short

GRAPH = {"format": "gradcanvas", "version": 2, "nodes": [{"id": "x", "op": "tensor", "value": 1.0}], "edges": []}


def lesson_message(**fields: object) -> str:
    doc = {"format": "gradcanvas-lesson", "version": 1, "graph": GRAPH, "steps": [{"text": "hi"}], **fields}
    with pytest.raises(LessonError) as caught:
        lesson_loads(json.dumps(doc))
    return caught.value.message


def test_a_long_title_is_counted_as_the_text_it_is() -> None:
    message = lesson_message(title="t" * 121)
    assert message.endswith("(121 characters)"), message


@pytest.mark.parametrize("text", ["é" * 50, "\x01" * 50, "'" * 50, "a\\" * 25])
def test_short_counts_a_text_s_characters_not_its_repr_s(text: str) -> None:
    assert short(text).endswith("(50 characters)")
    assert short(list(range(30))).endswith(f"({len(repr(list(range(30))))} characters)")  # written out


def test_an_unknown_long_field_name_is_counted_as_written() -> None:
    assert lesson_message(**{"k" * 45: 1}).endswith("(45 characters)")


@pytest.mark.parametrize("seed", [-1, 2**63, 2**64, -(2**63) - 1])
def test_an_init_seed_out_of_range_gets_the_documented_range(seed: int) -> None:
    doc = {**GRAPH, "nodes": [{"id": "r", "op": "tensor", "init": {"fn": "randn", "shape": [2], "seed": seed}}]}
    with pytest.raises(GraphError) as caught:
        loads(json.dumps(doc)).validate()
    assert f"init parameter 'seed' must be from 0 to 2**63 - 1, not {seed}" in caught.value.message
    assert caught.value.node_ids == ("r",)


def test_the_largest_seed_is_taken() -> None:
    doc = {**GRAPH, "nodes": [{"id": "r", "op": "tensor", "init": {"fn": "randint", "high": 5, "shape": [2],
                                                                   "seed": 2**63 - 1}, "dtype": "int64"}]}
    loads(json.dumps(doc)).validate()
