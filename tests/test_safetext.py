"""graph.safetext.visible: what a hostile id, port or label may hold never acts on a screen."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from graph.safetext import visible


def test_printable_text_is_unchanged() -> None:
    for text in ("x", "∂y/∂x = [14, 22]", "weight matrix W₁", "αβγ 中文 🙂", "a b"):
        assert visible(text) is text


def test_controls_separators_and_bidi_are_escaped() -> None:
    assert visible("\x1b]0;pwned\x07") == "\\x1b]0;pwned\\x07"
    assert visible("a\nerror: fake") == "a\\x0aerror: fake"
    assert visible("w\u202eyx") == "w\\u202eyx"
    assert visible("\u2028\u2029\u0085\u009b") == "\\u2028\\u2029\\x85\\x9b"
    assert visible("tag\U000e0041") == "tag\\U000e0041"


@given(st.text())
def test_nothing_unprintable_survives(text: str) -> None:
    out = visible(text)
    assert out.isprintable()
    # no character that moves the cursor, breaks a line or turns the text around
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in out)
    if text.isprintable():
        assert out == text
