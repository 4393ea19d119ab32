"""Text from a file, shown safely: in a terminal, a message box or on the canvas.

Ids, ports, labels and values come from files people are sent. A control character (ESC opens
terminal sequences that set the title or clear the screen), a line break or separator (forges
a second "error:" line or spills out of a node's header) or a bidi override (U+202E makes
"∂y/∂w[2 ,1]" out of [1, 2]) must show as what it is, not act. `visible` writes every character
Python does not call printable (controls, format characters such as bidi overrides and
zero-width marks, line and paragraph separators, unassigned code points) as an escape,
`\\x1b`, `\\u202e` or `\\U000e0001`, and leaves the rest alone.
"""

from __future__ import annotations


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible(text: str) -> str:
    """text with every non-printable character escaped; printable text is returned as it is."""
    if text.isprintable():  # the common case, in C
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)
