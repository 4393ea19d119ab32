"""The user's code as an import sees it (autograd_bridge.fx_import, fx_script): where it is (its
innermost frame outside torch and this package, 'file.py line 12 (the code)'), and what it
raised or exited with, as one line (ImportRefused).
"""

from __future__ import annotations

import contextlib
import os
import re
import traceback
from collections.abc import Iterator

import torch

from autograd_bridge.cancel import Cancelled
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
    if isinstance(e, SystemExit):  # sys.exit() or exit(): None is status 0, a text status 1
        status = 0 if e.code is None else e.code if isinstance(e.code, int) else f"1 ({e.code})"
        return ImportRefused(f"{where}{doing} exited with status {status} (SystemExit) while importing")
    message = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return ImportRefused(f"{where}{doing} raised {type(e).__name__}" + (f": {message}" if message else ""))


@contextlib.contextmanager
def user_code(doing: str, where: str = "") -> Iterator[None]:
    """Runs the user's code: whatever it raises, or exits with (SystemExit and any other
    BaseException of its own), becomes one line (user_error). Ctrl+C (KeyboardInterrupt), the
    app's Cancelled and the import's own refusals pass through."""
    try:
        yield
    except (KeyboardInterrupt, Cancelled, ImportRefused):
        raise
    except BaseException as e:  # noqa: BLE001 - the user's code: any exit becomes one line
        raise user_error(e, doing, where) from None
