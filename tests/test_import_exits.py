"""`gradcanvas import` when the user's code exits or stops: SystemExit (sys.exit, exit(), raise
SystemExit(3)) and the code's own BaseExceptions, at the script's top level, in __init__, in
example_inputs() or in forward, are one line naming the line and the status, exit 1; Ctrl+C
(KeyboardInterrupt) and the app's Cancelled are never swallowed. Also the in-place refusals
(tests/test_import_inplace.py) as the command prints them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

from autograd_bridge.cancel import Cancelled
from autograd_bridge.fx_import import ImportRefused, import_module
from gradcanvas.cli import main

SCRIPT = textwrap.dedent('''
    import sys
    import torch
    import torch.nn as nn

    class Stop(BaseException):
        pass

    class Exits(nn.Module):
        def forward(self, x):
            raise SystemExit(3)

    class ExitsInInit(nn.Module):
        def __init__(self):
            super().__init__()
            sys.exit()

    class Stops(nn.Module):
        def forward(self, x):
            if x.sum() > -1e9:  # traced or recorded, the same
                raise Stop("no more")
            return x.sum()

    class Mut(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("count", torch.zeros(1))

        def forward(self, x):
            self.count += 1
            return (x * self.count).sum()

    def f_inplace(x=torch.ones(3, 4)):
        y = x * 2
        y[0] = 0.0
        return y.sum()

    def example_inputs():
        return (torch.ones(2),)
''')


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "model.py"
    path.write_text(SCRIPT)
    return path


def _import(capsys, script: Path, *which: str) -> tuple[int, str]:  # noqa: ANN001
    out = script.parent / "out.json"
    code = main(["import", str(script), *which, "-o", str(out)])
    captured = capsys.readouterr()
    assert not out.exists()
    return code, captured.out + captured.err


@pytest.mark.parametrize(("which", "expected"), [
    (("--module", "Exits"), "model.py line 11 (raise SystemExit(3)): running the code exited with status 3 "
                            "(SystemExit) while importing"),
    (("--module", "ExitsInInit"), "model.py line 16 (sys.exit()): ExitsInInit() exited with status 0 (SystemExit) "
                                  "while importing"),
    (("--module", "Stops"), "model.py line 21 (raise Stop(\"no more\")): running the code raised Stop: no more"),
    (("--module", "Mut"), "model.py line 30 (self.count += 1): in-place update of the buffer count is not supported"),
    (("--function", "f_inplace"), "model.py line 35 (y[0] = 0.0): in-place item assignment (x[...] = ...) is not "
                                  "supported"),
], ids=["forward", "init", "own-base-exception", "buffer-update", "item-assignment"])
def test_code_that_exits_or_cannot_be_followed_is_one_line_and_exit_1(capsys, script: Path, which: tuple,  # noqa: ANN001
                                                                       expected: str) -> None:
    code, printed = _import(capsys, script, *which)
    assert code == 1
    assert printed.startswith(f"error: {expected}") and printed.count("\n") == 1, printed


def test_a_script_that_exits_at_its_top_level_is_one_line(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "quits.py"
    path.write_text("import sys\nsys.exit('bye')\n")
    code, printed = _import(capsys, path, "--function", "f")
    assert code == 1
    assert printed == "error: quits.py line 2 (sys.exit('bye')): running the script exited with status 1 (bye) " \
                      "(SystemExit) while importing\n"


class Interrupted(nn.Module):
    def __init__(self, stop: BaseException) -> None:
        super().__init__()
        self.stop = stop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise self.stop


@pytest.mark.parametrize("stop", [KeyboardInterrupt, Cancelled], ids=["ctrl-c", "cancelled"])
def test_ctrl_c_and_the_apps_cancel_pass_through(stop: type) -> None:
    with pytest.raises(stop):
        import_module(Interrupted(stop()), (torch.ones(2),))


def test_a_systemexit_through_the_api_is_an_import_refusal() -> None:
    with pytest.raises(ImportRefused, match=r"running the code exited with status 4 \(SystemExit\) while importing"):
        import_module(Interrupted(SystemExit(4)), (torch.ones(2),))
