"""The window's export and import as worker tasks (gui/export_dialog.py, gui/import_dialog.py).

Both need torch (an export compiles and shapes the graph; an import traces the user's code),
so they run where computes run — in the compute process by default — and never on the GUI
thread; an import runs the user's code in a throwaway child of its own (import_task). Qt-free,
and no torch until a task runs, so that the window can name them.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from graph.errors import GraphError
from graph.model import Graph
from graph.safetext import visible

PREVIEW_LINES = 40


@dataclass(frozen=True)
class ExportOptions:
    target: str
    grad_output: object = None
    dtype: str | None = None
    form: str = "script"
    device: str = "cpu"
    retain_grad: bool = True


def export_text(graph: Graph, path: str, o: ExportOptions) -> str:
    from autograd_bridge.notebook import export_for_path  # imports torch

    return export_for_path(path, graph, o.target, o.grad_output, o.dtype, form=o.form, device=o.device,
                           retain_grad=o.retain_grad)


def export_task(_session: object, _cancel: object, graph: Graph, options: ExportOptions, path: str,
                lines: int | None = None) -> tuple[str, str]:
    """("ok", the export's text, or its first `lines` lines) or ("error", one line)."""
    try:
        text = export_text(graph, path, options)
    except GraphError as e:
        return "error", e.message
    except Exception as e:  # noqa: BLE001 - an export must not take the app down
        return "error", f"internal error: {type(e).__name__}: {e}"
    return "ok", text if lines is None else "\n".join(text.splitlines()[:lines])


def import_task(_session: object, cancel: object, path: str, function: str | None, module: str | None,
                inputs: list[str]) -> tuple[str, object] | None:
    """('ok', fx_import.Imported) or ('error', one line); None once cancelled. The import runs the
    user's code, which may patch torch (F.gelu = ...), leave threads, end or crash its process:
    so it runs in a throwaway child (`python -m autograd_bridge.file_tasks`, _import_child), and
    the process that runs the app's computes never runs it. Cancel ends the child."""
    import pickle
    import subprocess
    import threading

    path = os.path.abspath(path)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    # -P: the working folder is not on sys.path (a torch.py there must not replace torch). A
    # session of its own: what the script starts (a multiprocessing child) ends with the import.
    child = subprocess.Popen([sys.executable, "-P", "-m", "autograd_bridge.file_tasks"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, env=env, start_new_session=True)
    answer: list[bytes | None] = []
    # The answer is read by its length, not to the end of the pipe: a process the script forked
    # holds the pipe open as long as it lives.
    reader = threading.Thread(target=lambda: answer.append(_read_answer(child.stdout)), daemon=True)
    try:
        reader.start()
        try:
            child.stdin.write(pickle.dumps((path, function, module, list(inputs))))
            child.stdin.close()
        except OSError:  # it ended before reading the request: its exit status says why
            pass
        while reader.is_alive() and not cancel.cancelled:
            if child.poll() is not None:  # ended: what it wrote is in the pipe; its forks may hold it open
                _end_session(child)
            reader.join(CANCEL_POLL_S)
    finally:  # also on Ctrl+C in `gradcanvas import`: its own session does not get the terminal's signal
        _end_session(child)  # the child and whatever the script started in it
    child.wait()
    reader.join()
    child.stdout.close()
    if cancel.cancelled:
        return None
    data = answer[0] if answer else None
    if data is not None:
        try:
            return pickle.loads(data)  # noqa: S301 - this program's own child, started just above
        except Exception as e:  # noqa: BLE001 - something else on its stdout (a sitecustomize)
            return "error", f"internal error: the import's process gave no answer ({type(e).__name__})"
    ended = (f"killed by signal {-child.returncode} ({_signal_name(-child.returncode)})" if child.returncode < 0
             else f"exit status {child.returncode}")  # 0: an os._exit(0) that got past its refusal
    return "error", (f"{visible(os.path.basename(path))}: its code ended the process that imported it ({ended}) "
                     "before the import was done: nothing imported")


def _read_answer(stream) -> bytes | None:  # noqa: ANN001 - the child's stdout
    """The child's answer: 8 bytes of length, then that many bytes; None if it ended first."""
    head = stream.read(8)
    if len(head) < 8:
        return None
    size = int.from_bytes(head, "big")
    data = stream.read(size)
    return data if len(data) == size else None


def _end_session(child) -> None:  # noqa: ANN001 - a subprocess.Popen started in a session of its own
    import signal

    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):  # all gone already
        pass


CANCEL_POLL_S = 0.05  # how often a running import looks at its cancel token
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # where the autograd_bridge package lives


def _signal_name(number: int) -> str:
    import signal

    try:
        return signal.Signals(number).name
    except ValueError:
        return "unknown signal"


def _import_here(path: str, function: str | None, module: str | None, inputs: list[str]) -> tuple[str, object]:
    """import_task's answer, computed in its child."""
    from autograd_bridge.fx_script import import_script

    try:
        return "ok", import_script(path, function, module, inputs)
    except GraphError as e:
        return "error", e.message
    except KeyboardInterrupt as e:  # the script's own (a real Ctrl+C ends the command, which ends this child)
        from autograd_bridge.fx_user import user_error

        return "error", user_error(e, "the code").message
    except BaseException as e:  # noqa: BLE001 - the user's code may raise anything; the answer is one line
        text = str(e).strip()
        return "error", f"{type(e).__name__}: {text.splitlines()[0]}" if text else type(e).__name__


def _import_child() -> None:
    """The child of import_task: the request (pickled) on stdin, the answer (pickled) on stdout."""
    import pickle

    request = sys.stdin.buffer.read()
    answer = os.fdopen(os.dup(1), "wb")
    # The script's prints (Python's and C's) go to stderr, never into the answer; input() reads
    # an empty stdin rather than waiting.
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    result = _import_here(*pickle.loads(request))  # noqa: S301 - from import_task, this program's own
    try:
        data = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as e:  # noqa: BLE001 - something of the user's in the result
        data = pickle.dumps(("error", f"internal error: the import's result cannot be sent: {type(e).__name__}: {e}"))
    answer.write(len(data).to_bytes(8, "big") + data)  # by length: import_task reads no further
    answer.flush()
    os._exit(0)  # now: threads the script started must not keep the child alive


if __name__ == "__main__":
    # As the package's module, not __main__, as compute_process does.
    from autograd_bridge.file_tasks import _import_child as package_import_child

    package_import_child()
