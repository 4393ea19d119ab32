"""The window's export and import as worker tasks (gui/export_dialog.py, gui/import_dialog.py).

Both need torch (an export compiles and shapes the graph; an import traces the user's code),
so they run where computes run — in the compute process by default — and never on the GUI
thread. Qt-free, and no torch until a task runs, so that the window can name them.
"""

from __future__ import annotations

from dataclasses import dataclass

from graph.errors import GraphError
from graph.model import Graph

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
    """('ok', fx_import.Imported) or ('error', one line); None once cancelled."""
    from autograd_bridge.fx_script import import_script

    try:
        imported = import_script(path, function, module, inputs)
    except GraphError as e:
        return "error", e.message
    except Exception as e:  # noqa: BLE001 - the user's code may raise anything; it must not end the app
        return "error", f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
    return None if cancel.cancelled else ("ok", imported)
