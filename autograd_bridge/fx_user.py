"""The user's code as an import sees it (autograd_bridge.fx_import, fx_script): where it is (its
innermost frame outside torch and this package, 'file.py line 12 (the code)'), and what it
raised, as one line (ImportRefused).
"""

from __future__ import annotations

import os
import re
import traceback

import torch

from autograd_bridge.fx_script import ImportRefused

_TORCH_DIR = os.path.dirname(torch.__file__)
_HERE = os.path.dirname(__file__)


def is_users(filename: str) -> bool:
    """Whether a frame is the user's code: outside torch and this package."""
    return not filename.startswith((_TORCH_DIR, _HERE))


def _frame_text(filename: str, lineno: int | None, line: str | None) -> str:
    text = f"{os.path.basename(filename)} line {lineno}"
    return f"{text} ({line.strip()})" if line and line.strip() else text


def where_from_fx(stack_trace: str | None) -> str:
    """The innermost user frame of fx's recorded stack: 'file.py line 12 (the code)'."""
    if not stack_trace:
        return ""
    frames = re.findall(r'File "([^"]+)", line (\d+), in [^\n]*\n(?:    ([^\n]*))?', stack_trace)
    frames = [f for f in frames if is_users(f[0])]
    if not frames:
        return ""
    filename, lineno, line = frames[-1]
    return _frame_text(filename, int(lineno), line)


def where_now() -> str:
    """The innermost frame of the running user code."""
    for frame in reversed(traceback.extract_stack()):
        if is_users(frame.filename):
            return _frame_text(frame.filename, frame.lineno, frame.line)
    return ""


def user_error(e: BaseException, doing: str, where: str = "") -> ImportRefused:
    """An exception raised by the user's code, as one line naming its innermost user frame
    (or `where`, the traced line that ran)."""
    frames = [f for f in traceback.extract_tb(e.__traceback__) if is_users(f.filename)]
    if frames:
        where = _frame_text(frames[-1].filename, frames[-1].lineno, frames[-1].line)
    where = f"{where}: " if where else ""
    message = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return ImportRefused(f"{where}{doing} raised {type(e).__name__}" + (f": {message}" if message else ""))
