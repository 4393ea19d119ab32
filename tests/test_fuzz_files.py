"""Fuzzing the loader in CI (issue 9): 500 mutated or random files, each loaded, validated and
shape-checked; every outcome is a graph or a clear GraphError with a printable message
(benchmarks/fuzz.py holds the cases and the check, and runs 10,000 and more by hand)."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.fuzz import EXAMPLES, case, check_text, grouped_doc, mutate

FUZZ = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.integers(0, 2**32 - 1))
def test_mutated_and_random_files_load_or_are_refused_cleanly(seed: int) -> None:
    check_text(case(random.Random(seed)))


@FUZZ
@given(st.text(max_size=300))
def test_any_text_loads_or_is_refused_cleanly(text: str) -> None:
    check_text(text)


def test_the_fuzzer_reaches_both_outcomes() -> None:
    """The cases are not all refused at the first byte: some mutations still load."""
    outcomes = {check_text(case(random.Random(seed))) for seed in range(300)}
    assert outcomes == {"ok", "refused"}
    doc = json.loads(EXAMPLES[0].read_text())
    assert mutate(doc, random.Random(1)) != doc


def test_the_fuzzer_mutates_version_2_groups_too() -> None:
    """The grouped file loads as it is, and some of its mutations reach the group checks."""
    from graph.fileformat import loads

    assert check_text(json.dumps(grouped_doc())) == "ok" and loads(json.dumps(grouped_doc())).groups
    hit = [mutate(grouped_doc(), random.Random(seed)) for seed in range(200)]
    assert any(doc.get("groups") != grouped_doc()["groups"] for doc in hit)


def test_the_check_itself_catches_a_raw_control_character(monkeypatch: pytest.MonkeyPatch) -> None:
    """check_text can fail: a loader that let ESC into its message would be a finding."""
    from graph import fileformat
    from graph.errors import FileFormatError

    def leaky(_text: str) -> None:
        raise FileFormatError("bad id \x1b[2J")

    monkeypatch.setattr(fileformat, "loads", leaky)
    with pytest.raises(AssertionError, match="raw control"):
        check_text("{}")
