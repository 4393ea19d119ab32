"""Shared test setup. Qt must know it has no screen before anything imports it."""

import os
import tempfile
from pathlib import Path

import pytest
from helpers import DELETE_AT_TEARDOWN, RESULT_TIMEOUT_MS, new_window

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Windows autosave to a recovery folder (gui/recovery.py): never the user's real one in tests.
os.environ.setdefault("GRADCANVAS_RECOVERY_DIR", tempfile.mkdtemp(prefix="gradcanvas-test-recovery-"))
# Windows compute on a thread of the test's own process (a child process per window would add
# an interpreter and `import torch` to every test); tests/test_compute_process.py runs the
# app's default, the compute process, on purpose.
os.environ.setdefault("GRADCANVAS_COMPUTE", "thread")

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES


@pytest.fixture(autouse=True)
def _clear_clipboard_after_test():
    """Mime data left on the offscreen clipboard is freed twice at interpreter exit (a
    segfault after all tests passed); the app clears it on quit, tests clear it here."""
    yield
    import sys

    if "PySide6.QtWidgets" in sys.modules:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        if app is not None:
            app.clipboard().clear()


@pytest.fixture(autouse=True)
def _garbage_collector_left_on():
    """The window turns the cyclic collector off while it replaces a document, until the new one
    is painted or it closes (gui.collection): no test may leave it off for the tests after it."""
    import gc

    yield
    if not gc.isenabled():
        gc.enable()
        pytest.fail("the test left the garbage collector off")


@pytest.fixture(autouse=True)
def _delete_parentless_qt_objects():
    """What the test gave helpers.delete_at_teardown: deleted after its widgets (closed by
    pytest-qt, deleted here), the last made first (a scene before its document)."""
    yield
    if not DELETE_AT_TEARDOWN:
        return
    from PySide6.QtCore import QCoreApplication, QEvent
    from shiboken6 import Shiboken

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # the views showing them
    while DELETE_AT_TEARDOWN:
        obj = DELETE_AT_TEARDOWN.pop()
        if Shiboken.isValid(obj):
            Shiboken.delete(obj)


@pytest.fixture
def window(qtbot, tmp_path: Path):  # noqa: ANN201 - a gui.window.MainWindow
    """The main window, shown offscreen; the worker is waited for at the end."""
    w = new_window(qtbot, tmp_path)
    yield w
    w.computer.wait(RESULT_TIMEOUT_MS)


@pytest.fixture
def float64_models():  # noqa: ANN201
    """torch's default dtype float64 and its generator seeded, then put back: models built in a
    test (nn.Linear, …) get float64 parameters that repeat, for comparisons to 1e-9."""
    import torch

    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    yield
    torch.set_default_dtype(old)
