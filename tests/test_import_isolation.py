"""Importing a user's script must change nothing that comes after it: the app runs the import in a
throwaway child process (a patched torch function, an os._exit or a crash stays there), the
command line resolves its paths before the script runs and puts the working folder back, and a
file Python can read but the import could not (a coding line, a base class from another file, a
parser that gives up, quit() at the top) is imported or refused in one line naming the script."""

from __future__ import annotations

import os
import textwrap
import threading
from pathlib import Path

import pytest
import torch.nn.functional as F  # noqa: N812
from helpers import RESULT_TIMEOUT_MS

from autograd_bridge.cancel import CancelToken
from autograd_bridge.file_tasks import import_task
from autograd_bridge.fx_script import ImportRefused, import_script, list_definitions
from gradcanvas.cli import main

PATCHER = textwrap.dedent("""
    import torch
    import torch.nn.functional as F
    F.gelu = lambda x, approximate='none': x * torch.sigmoid(1.702 * x)  # 'fast gelu'
    def f(x=torch.ones(3, dtype=torch.float64, requires_grad=True)):
        return F.gelu(x).sum()
""")


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def _cli(capsys, *argv: str) -> tuple[int, str]:  # noqa: ANN001
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


# ---- 1. the app's import runs where no later compute runs ----

def test_a_script_that_patches_torch_leaves_the_apps_process_alone(tmp_path: Path) -> None:
    gelu = F.gelu
    try:
        status, imported = import_task(None, CancelToken(), str(_write(tmp_path, "patcher.py", PATCHER)), "f", None, [])
        assert F.gelu is gelu  # the patch stayed in the import's own process
    finally:
        F.gelu = gelu  # the test session's torch, whatever the import did
    assert status == "ok" and imported.sink in imported.graph.nodes


def test_the_window_imports_and_then_computes_with_torchs_own_functions(window, tmp_path: Path, qtbot) -> None:  # noqa: ANN001
    from gui.import_dialog import TASK, importer

    gelu = F.gelu
    try:
        with qtbot.waitSignal(window.computer.taskReady, timeout=RESULT_TIMEOUT_MS,
                              check_params_cb=lambda name, _result: name == TASK):
            importer(window).start(str(_write(tmp_path, "patcher.py", PATCHER)), function="f")
        assert F.gelu is gelu
    finally:
        F.gelu = gelu
    assert "imported f" in window.statusBar().currentMessage()


@pytest.mark.parametrize(("code", "said"), [
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n", "killed by signal 9"),
    ("import os\nos._exit(3)\n", "crash.py line 5 (os._exit(3))"),
], ids=["killed", "os-exit"])
def test_a_script_that_ends_its_process_is_one_line_naming_it_and_the_app_goes_on(
        window, tmp_path: Path, qtbot, code: str, said: str) -> None:  # noqa: ANN001
    from gui.import_dialog import TASK, importer

    path = _write(tmp_path, "crash.py", "import torch\ndef f(x=torch.ones(2)):\n    return x.sum()\n" + code)
    status, message = import_task(None, CancelToken(), str(path), "f", None, [])
    assert status == "error" and "crash.py" in message and said in message and "\n" not in message
    with qtbot.waitSignal(window.computer.taskReady, timeout=RESULT_TIMEOUT_MS,
                          check_params_cb=lambda name, _result: name == TASK):
        importer(window).start(str(path), function="f")
    shown = window.statusBar().currentMessage()
    assert shown.startswith("cannot import f: ") and "crash.py" in shown and "import.python" not in shown


def test_cancel_ends_a_script_that_never_finishes(tmp_path: Path) -> None:
    path = _write(tmp_path, "forever.py", "import time\nwhile True:\n    time.sleep(0.01)\n")
    token = CancelToken()
    threading.Timer(0.5, token.cancel).start()
    assert import_task(None, token, str(path), "f", None, []) is None


FORKS = """
    import multiprocessing, os, time, torch
    def _loop():
        while True:
            time.sleep(0.05)
    if __name__ != "__mp_main__":
        child = multiprocessing.get_context("fork").Process(target=_loop, daemon=True)
        child.start()
        open({pid_file!r}, "w").write(str(child.pid))
    def f(x=torch.ones(2, requires_grad=True)):
        return (x * 2).sum()
"""


def _gone(pid: int) -> bool:
    """The process has ended (a zombie waiting for its reaper counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _run_in_thread(*args: object) -> list[object]:
    """import_task in a thread, waited for 60 s at most: a hang fails the test instead of the suite."""
    got: list[object] = []
    thread = threading.Thread(target=lambda: got.append(import_task(*args)), daemon=True)
    thread.start()
    thread.join(60)
    return got


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
@pytest.mark.parametrize("cancelled", [False, True], ids=["answered", "cancelled"])
def test_a_process_the_script_starts_neither_holds_the_import_nor_outlives_it(tmp_path: Path, cancelled: bool) -> None:
    import time

    pid_file = tmp_path / "child.pid"
    path = _write(tmp_path, "forks.py", FORKS.format(pid_file=str(pid_file)))
    token = CancelToken()
    if cancelled:
        threading.Timer(0.5, token.cancel).start()
    got = _run_in_thread(None, token, str(path), "f", None, [])
    assert got, "the import waited for the process its script started"
    assert got[0] is None if cancelled else got[0][0] == "ok"
    if pid_file.exists():  # (cancelled early, the script may not have started it)
        pid = int(pid_file.read_text())
        for _ in range(100):
            if _gone(pid):
                break
            time.sleep(0.05)
        assert _gone(pid), "the script's child outlived the import"


def test_each_import_asked_runs_and_is_named_as_asked(window, tmp_path: Path, qtbot) -> None:  # noqa: ANN001
    from gui.import_dialog import TASK, importer

    answers: list[str] = []
    window.computer.taskReady.connect(lambda name, _result: answers.append(name) if name == TASK else None)
    imp = importer(window)
    for name in ("fa", "fb", "fc"):
        imp.start(str(_write(tmp_path, f"{name}.py", f"import torch\ndef {name}(x=torch.ones(2, requires_grad=True)):\n"
                                                      "    return (x * 3).sum()\n")), function=name)
    qtbot.waitUntil(lambda: len(answers) == 3, timeout=3 * RESULT_TIMEOUT_MS)
    stack = window.doc.undo_stack
    assert [stack.text(i) for i in range(stack.count())] == ["Import fa", "Import fb", "Import fc"]


def test_a_cancelled_import_says_so(window, tmp_path: Path, qtbot) -> None:  # noqa: ANN001
    from gui.import_dialog import TASK, importer

    path = _write(tmp_path, "slow.py", "import time\ntime.sleep(60)\n")
    with qtbot.waitSignal(window.computer.taskReady, timeout=RESULT_TIMEOUT_MS,
                          check_params_cb=lambda name, _result: name == TASK):
        importer(window).start(str(path), function="f")
        qtbot.waitUntil(lambda: window.computer.computing, timeout=RESULT_TIMEOUT_MS)
        window.cancel_compute()
    qtbot.waitUntil(lambda: not window.computer.busy, timeout=RESULT_TIMEOUT_MS)
    assert window.status.text() == "cancelled"
    assert window.statusBar().currentMessage() == "import of f stopped: nothing imported"
    assert window.doc.undo_stack.count() == 0


# ---- 2. the working folder ----

NET = """
    import os
    import torch
    import torch.nn as nn
    os.chdir(os.path.dirname(os.path.abspath(__file__)))  # find data files next to this script

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.l = nn.Linear(3, 2)
        def forward(self, x):
            return self.l(x).pow(2).sum()

    def example_inputs():
        return (torch.randn(4, 3),)
"""


@pytest.mark.parametrize("absolute", [False, True], ids=["relative-script", "absolute-script"])
def test_a_script_that_changes_folder_writes_where_the_user_said(capsys, tmp_path: Path, monkeypatch,  # noqa: ANN001
                                                                 absolute: bool) -> None:
    script = _write(tmp_path, "models/net.py", NET)
    precious = _write(tmp_path, "models/graph.json", "precious, not a graph")
    monkeypatch.chdir(tmp_path)
    code, printed = _cli(capsys, "import", str(script) if absolute else "models/net.py", "--module", "Net",
                         "-o", "graph.json")
    assert code == 0, printed
    assert (tmp_path / "graph.json").read_text().startswith("{")
    assert precious.read_text() == "precious, not a graph"
    assert os.getcwd() == str(tmp_path)


# ---- 3. a module class whose base is defined in another file ----

def test_a_class_based_on_an_imported_class_is_listed_and_imports(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    _write(tmp_path, "base.py", """
        import torch.nn as nn
        class Backbone(nn.Module):
            def __init__(self):
                super().__init__()
                self.l = nn.Linear(3, 3)
            def forward(self, x):
                return self.l(x)
    """)
    model = _write(tmp_path, "model.py", """
        import torch
        from base import Backbone

        class Net(Backbone):
            def forward(self, x):
                return super().forward(x).pow(2).sum()

        class Plain:
            pass

        class Settings(Plain, dict):
            pass

        def example_inputs():
            return (torch.randn(2, 3),)
    """)
    found = list_definitions(str(model))
    assert (found.functions, found.modules, found.classes) == ([], [], ["Net"])
    assert "l.weight" in import_script(str(model), module="Net").graph.nodes
    code, printed = _cli(capsys, "import", str(model), "--module", "Nett", "-o", str(tmp_path / "x.json"))
    assert code == 1 and printed == "error: model.py defines no nn.Module class 'Nett'; its modules: Net\n"


def test_the_dialog_lists_a_class_it_cannot_judge_and_says_so(window, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from gui.import_dialog import ImportDialog, importer

    model = _write(tmp_path, "model.py", """
        import torch.nn as nn
        from base import Backbone
        class Net(Backbone):
            pass
        class Head(nn.Module):
            pass
        def loss(x):
            return x.sum()
    """)
    shown = []
    monkeypatch.setattr(ImportDialog, "exec", lambda self: shown.append(self) or 0)
    importer(window).ask_file(str(model))
    dialog = shown[0]
    rows = [dialog.choices.item(i).text() for i in range(dialog.choices.count())]
    assert rows[0].startswith("function  loss") and rows[1].startswith("nn.Module  Head")
    assert rows[2].startswith("class  Net") and "Backbone" in rows[2]
    assert [dialog.choices.item(i).data(256) for i in range(3)] == [("function", "loss"), ("module", "Head"),
                                                                       ("module", "Net")]
    dialog.grab().save(str(tmp_path / "import_dialog.png"))


# ---- 4. os._exit in the command line ----

@pytest.mark.parametrize("status", [0, 5])
def test_os_exit_at_the_top_is_a_refusal_naming_the_line(capsys, tmp_path: Path, status: int) -> None:  # noqa: ANN001
    path = _write(tmp_path, "r5.py", f"""
        import os, torch
        def f(x=torch.ones(3, requires_grad=True)):
            return (x * 2).sum()
        os._exit({status})
    """)
    code, printed = _cli(capsys, "import", str(path), "--function", "f", "-o", str(tmp_path / "x.json"))
    assert code == 1 and printed.count("\n") == 1
    assert printed.startswith(f"error: r5.py line 5 (os._exit({status})): ") and "would end the process" in printed
    assert os._exit.__module__ == "posix"  # put back


# ---- 5. files the parser cannot build ----

def test_a_file_too_deep_to_parse_is_one_line_in_the_cli_and_the_app(capsys, tmp_path: Path, window) -> None:  # noqa: ANN001
    from gui.import_dialog import importer

    deep = tmp_path / "deep.py"
    deep.write_text("import torch\nTABLE = " + "+".join(["1"] * 200_000) + "\ndef f(x=torch.ones(2)):\n"
                    "    return x.sum()\n")
    with pytest.raises(ImportRefused, match=r"^deep\.py: cannot parse: "):
        list_definitions(str(deep))
    code, printed = _cli(capsys, "import", str(deep), "--function", "f", "-o", str(tmp_path / "x.json"))
    assert code == 1 and printed.startswith("error: deep.py: cannot parse: ") and printed.count("\n") == 1
    importer(window).ask_file(str(deep))  # no exception out of it
    assert window.statusBar().currentMessage().startswith("Cannot import: deep.py: cannot parse: ")


def test_a_nul_byte_names_no_line_none(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "nul.py"
    path.write_bytes(b"import torch\ndef f(x=torch.ones(2)):\n    return x.sum()\n# \x00\n")
    code, printed = _cli(capsys, "import", str(path), "--function", "f", "-o", str(tmp_path / "x.json"))
    assert code == 1 and printed == "error: nul.py: syntax error: source code string cannot contain null bytes\n"


# ---- 6. --input with --function ----

DOT = """
    import torch
    def f(x, w):
        return (x @ w).relu().sum()
"""


def test_an_input_the_function_does_not_take_is_refused(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    path = _write(tmp_path, "dot.py", DOT)
    out = tmp_path / "x.json"
    code, printed = _cli(capsys, "import", str(path), "--function", "f", "--input", "x=2,3", "--input", "w=3,4",
                         "--input", "z=5", "-o", str(out))
    assert code == 1 and printed == "error: f has no argument z (it takes x, w)\n" and not out.exists()


def test_a_zero_size_input_keeps_its_shape_and_computes_as_torch_does(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    import torch

    import gradcanvas

    path = _write(tmp_path, "dot.py", DOT)
    out = tmp_path / "x.json"
    code, printed = _cli(capsys, "import", str(path), "--function", "f", "--input", "x=0,3", "--input", "w=3,4",
                         "-o", str(out))
    assert code == 0, printed
    graph = gradcanvas.load(out)
    x_node = next(n for n in graph.nodes.values() if n.label == "x")
    assert x_node.leaf_shape() == (0, 3)  # not the literal [] of shape [0]
    result = gradcanvas.grad(graph)
    x = torch.zeros(0, 3, requires_grad=True)
    w_id = next(n.id for n in graph.nodes.values() if n.label == "w")
    w = torch.tensor(graph.nodes[w_id].value, requires_grad=True)
    (x @ w).relu().sum().backward()
    assert result.value.item() == 0.0
    assert torch.equal(result.grads[x_node.id], x.grad) and torch.equal(result.grads[w_id], w.grad)


# ---- 7. quit() and a coding line ----

def test_quit_at_the_top_names_the_scripts_line(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    path = _write(tmp_path, "q.py", """
        import torch
        def f(x=torch.ones(3, requires_grad=True)):
            return (x * 2).sum()
        quit()
    """)
    code, printed = _cli(capsys, "import", str(path), "--function", "f", "-o", str(tmp_path / "x.json"))
    assert code == 1 and printed.startswith("error: q.py line 5 (quit()): running the script exited with status 0")


def test_quit_inside_forward_names_the_users_line(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    path = _write(tmp_path, "q.py", """
        import torch
        def f(x=torch.ones(3, requires_grad=True)):
            y = (x * 2).sum()
            quit()
            return y
    """)
    code, printed = _cli(capsys, "import", str(path), "--function", "f", "-o", str(tmp_path / "x.json"))
    assert code == 1 and printed.startswith("error: q.py line 5 (quit())"), printed


def test_a_latin1_file_with_a_coding_line_imports(capsys, tmp_path: Path) -> None:  # noqa: ANN001
    path = tmp_path / "latin.py"
    path.write_bytes("# -*- coding: latin-1 -*-\nimport torch\n# café\ndef f(x=torch.ones(2, requires_grad=True)):\n"
                     "    return x.sum()  # 'é'\n".encode("latin-1"))
    assert list_definitions(str(path)).functions == ["f"]
    code, printed = _cli(capsys, "import", str(path), "--function", "f", "-o", str(tmp_path / "x.json"))
    assert code == 0, printed
    path.write_bytes(b"import torch\n# caf\xe9\ndef f(x=torch.ones(2)):\n    return x.sum()\n")  # no coding line
    code, printed = _cli(capsys, "import", str(path), "--function", "f", "-o", str(tmp_path / "x.json"))
    assert code == 1 and printed.startswith("error: latin.py: cannot read: ") and printed.count("\n") == 1


@pytest.mark.parametrize("name", ["graph.json", "model.ipynb", "LESSON.JSON"])
def test_a_json_file_or_a_notebook_is_refused_before_anything_runs(capsys, tmp_path: Path, name: str) -> None:  # noqa: ANN001
    marker = tmp_path / "ran"
    path = _write(tmp_path, name, f"""
        open({str(marker)!r}, "w").write("ran")
        {{"format": "gradcanvas", "nodes": [{{"value": true}}]}}
    """)
    code, printed = _cli(capsys, "import", str(path), "--function", "f", "-o", str(tmp_path / "x.json"))
    assert code == 1 and printed.startswith(f"error: {name} is a ") and "not a Python script" in printed
    assert printed.count("\n") == 1 and not marker.exists()
