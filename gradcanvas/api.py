"""The Python API, for scripts and notebooks: `load`, `grad`, `to_script`, `to_notebook`,
`from_function`, `show`. README (Python API) has a runnable example.

Importing this module loads neither torch nor Qt: each function imports what it needs when it
is called. Each one calls the code the command line and the window call — the file loader, the
command line's target rule (`gradcanvas.cli._pick_target`), `engine.Compiled.run`, the script
and notebook exports, the fx import, `gui.render.render_window` — never a copy of it.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graph.model import Graph

if TYPE_CHECKING:
    import torch

    from autograd_bridge.engine import Compiled, Result

GraphLike = Graph | str | os.PathLike


def load(path: str | os.PathLike) -> Graph:
    """A graph file, read as strictly as the app reads it and checked (data, wiring, no cycle):
    a bad file raises GraphError with the one-line message the command line prints."""
    from graph.fileformat import load as load_file

    graph = load_file(path)
    _load_checked(graph)
    return graph


def _load_checked(graph: Graph):  # noqa: ANN202 - a graph.model.CheckedGraph
    from gradcanvas.cli import _validated

    return _validated(graph)


def _graph(graph: GraphLike) -> Graph:
    return graph if isinstance(graph, Graph) else load(graph)


@dataclass
class Grads:
    """What `grad` computed: the target's value and ∂target/∂node for every node.

    `grads[node_id]` is a tensor, or None where PyTorch's .grad would be None; `why_none(node_id)`
    says why ("requires_grad is off", "y does not depend on it", …).
    """

    target: str
    value: torch.Tensor
    grads: dict[str, torch.Tensor | None]
    values: dict[str, torch.Tensor]
    notes: list[str] = field(default_factory=list)
    _result: Result | None = field(default=None, repr=False)
    _compiled: Compiled | None = field(default=None, repr=False)

    def why_none(self, node_id: str) -> str | None:
        return self._result.no_grad_reason(node_id, self._compiled)

    def __repr__(self) -> str:
        from autograd_bridge.formatting import tensor_text
        from graph.safetext import visible

        lines = [f"target {visible(self.target)} = {tensor_text(self.value)}"]
        for n, g in self.grads.items():
            shown = tensor_text(g) if g is not None else f"None ({visible(self.why_none(n) or '')})"
            lines.append(f"  ∂{visible(self.target)}/∂{visible(n)} = {shown}")
        return "\n".join(lines)


def _dtype_name(dtype: object) -> str | None:
    """A dtype as the engine takes it: "float64" given as that name or as torch.float64, as
    torch's users write it; None for each node's own. Anything else is refused, naming the
    choices (it failed deep in the run, and only once a leaf was big enough to be stored packed)."""
    if dtype is None:
        return None
    from graph.ops import FLOAT_DTYPES

    name = str(dtype).removeprefix("torch.")
    if name not in FLOAT_DTYPES:
        raise ValueError(f"dtype {dtype!r}: use one of {', '.join(FLOAT_DTYPES)} (or torch.float32, torch.float64)")
    return name


def grad(graph: GraphLike, target: str | None = None, grad_output: object = None, *,
         device: object = "cpu", dtype: object = None) -> Grads:
    """Forward, then ∂target/∂node for every node: what `gradcanvas grad` prints.

    target: a node id; by default the file's own target, else the only sink. grad_output: the
    vector v of backward(gradient=v) for a non-scalar target (nested lists of numbers).
    device: "cpu", "cuda", "cuda:1" or a torch.device; dtype: None (each node's own), "float32",
    "float64", or the torch dtypes of those names.
    """
    import torch

    from autograd_bridge.engine import Compiled
    from gradcanvas.cli import _pick_target

    checked = _load_checked(_graph(graph))
    target, grad_output = _pick_target(checked, target, grad_output)
    compiled = Compiled(checked, str(device), _dtype_name(dtype))
    with torch.enable_grad():  # the partials, even where the caller turned autograd off
        result = compiled.run(target, grad_output)
    values = {n: v.detach() for n, v in result.values.items()}  # numbers to read, not a graph to extend
    return Grads(target, values[target], result.grads, values, result.notes, result, compiled)


def to_script(graph: GraphLike, target: str | None = None, grad_output: object = None,
              dtype: object = None) -> str:
    """The standalone torch script `gradcanvas export -o x.py` writes."""
    return _export(".py", graph, target, grad_output, dtype)


def to_notebook(graph: GraphLike, target: str | None = None, grad_output: object = None,
                dtype: object = None) -> str:
    """The Jupyter notebook (JSON text) `gradcanvas export -o x.ipynb` writes."""
    return _export(".ipynb", graph, target, grad_output, dtype)


def _export(suffix: str, graph: GraphLike, target: str | None, grad_output: object, dtype: object) -> str:
    from autograd_bridge.notebook import export_for_path
    from gradcanvas.cli import _pick_target

    checked = _load_checked(_graph(graph))
    target, grad_output = _pick_target(checked, target, grad_output)
    return export_for_path(suffix, checked, target, grad_output, _dtype_name(dtype))


def from_function(fn: Any, **example_inputs: object) -> Graph:  # noqa: ANN401 - a function or nn.Module
    """A function of tensors (or an nn.Module) as a graph, by torch.fx (what `gradcanvas import`
    does): each keyword is an argument's example value; floating tensor arguments become leaves
    that require grad. The graph's target is the function's result. Notes about the import
    (e.g. a trace specialised to the example inputs) come as warnings."""
    import inspect

    import torch

    from autograd_bridge import fx_import

    if isinstance(fn, torch.nn.Module):
        try:
            bound = inspect.signature(fn.forward).bind(**example_inputs)
        except TypeError as e:
            raise TypeError(f"{type(fn).__name__}.forward does not take these inputs: {e}") from None
        imported = fx_import.import_module(fn, bound.args, bound.kwargs)
    else:
        imported = fx_import.import_function(fn, example_inputs)
    for note in imported.notes:
        warnings.warn(note, stacklevel=2)
    return imported.graph


class PNG:
    """A rendered window as PNG bytes; IPython shows it inline (_repr_png_)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def _repr_png_(self) -> bytes:
        return self.data

    def save(self, path: str | os.PathLike) -> None:
        Path(path).write_bytes(self.data)


def show(graph_or_fn: Any, **inputs: object) -> object:  # noqa: ANN401 - a graph, a file or a function
    """Open the app on a graph, a graph file, or a function (imported with `from_function(fn,
    **inputs)`).

    With a screen: the window opens. Inside IPython / Jupyter it does not block (the kernel runs
    Qt's event loop, as `%gui qt` does) and the window is returned; in a plain script this call
    runs the app until the window is closed. With no screen (a server, CI, a remote kernel):
    returns a PNG of the window as `gradcanvas render` draws it, which a notebook shows inline.
    """
    if callable(graph_or_fn) and not isinstance(graph_or_fn, Graph):
        graph = from_function(graph_or_fn, **inputs)
    else:
        if inputs:
            raise TypeError("show: keyword inputs are for a function; a graph has its own values")
        graph = _graph(graph_or_fn)
    _load_checked(graph)
    if has_screen():
        return _open_window(graph)
    return render_png(graph)


def has_screen() -> bool:
    """Whether a window would be seen: the app's own test (gui.app.has_display), and not Qt's
    offscreen platform."""
    from gui.app import has_display

    return has_display() and os.environ.get("QT_QPA_PLATFORM") != "offscreen"


def render_png(graph: Graph, size: tuple[int, int] = (1400, 900)) -> PNG:
    """The window with this graph drawn offscreen (gui.render.render_window), as PNG bytes."""
    from graph.fileformat import save
    from gui.render import render_window

    with tempfile.TemporaryDirectory(prefix="gradcanvas-show-") as tmp:
        file, out = Path(tmp) / "graph.json", Path(tmp) / "window.png"
        save(graph, file)
        refused = render_window(str(file), str(out), None, size)
        if refused is not None:  # drawn uncomputed: say why the numbers are missing
            warnings.warn(f"not computed: {refused}", stacklevel=2)
        return PNG(out.read_bytes())


_open_windows: list[object] = []  # Qt closes a window nobody holds


def _open_window(graph: Graph) -> object:
    from PySide6.QtCore import QTimer

    from gui.app import leave, start_window
    from gui.qtapp import application

    app = application()
    window = start_window()
    window.doc.reset(graph, None)  # an untitled document, its target the graph's own
    sinks = graph.sinks()
    if window.doc.target is None and len(sinks) == 1:  # else the only sink, as File > Open does
        window.doc.set_target(sinks[0])
    window.schedule_recompute()
    QTimer.singleShot(0, window.view.fit_graph)
    _open_windows.append(window)
    shell = _ipython()
    if shell is not None:
        shell.enable_gui("qt")  # the kernel runs Qt's events between cells: no blocking
        return window
    leave(window, app.exec())
    return None


def _ipython() -> Any:  # noqa: ANN401 - IPython's InteractiveShell, or None outside IPython
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    return get_ipython()
