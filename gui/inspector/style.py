"""Colours, number and text formats, and the plot styling the inspector's parts share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from graph.safetext import visible
from gui.titles import partial_names

if TYPE_CHECKING:
    import pyqtgraph as pg

RED = "#c0392b"
GREY = "#666666"
ORANGE = "#b9770e"
BLUE = "#1f77b4"
TANGENT = "#d62728"


def fmt(v: float) -> str:
    return f"{v:.4g}"


def shape_text(shape: tuple[int, ...]) -> str:
    return "scalar ()" if not shape else "shape (" + ", ".join(map(str, shape)) + ")"


def elide(text: str, n: int = 400) -> str:
    """Text for a label, escaped (graph.safetext: ids in messages come from files) and cut to n."""
    text = visible(text)
    return text if len(text) <= n else text[:n - 1] + "…"


def partial_name(target: str, node: str, vjp: bool = False) -> str:
    """∂target/∂node by the titles the canvas shows; vᵀ·∂target/∂node for a vector–Jacobian
    product (a grad-output v given for a non-scalar target)."""
    return partial_names(target, node, vjp)[0]


def short(value: object, n: int = 80) -> str:
    """A grad-output or other small nested list as one short line."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    return elide(str(value), n)


def styled_plot(plot: pg.PlotItem) -> None:
    import pyqtgraph as pg  # imported on first plot: the window opens without it

    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen("#555555"))
        axis.setTextPen(pg.mkPen("#333333"))
        axis.enableAutoSIPrefix(False)  # ticks as the values are: 0.6591, not 659.1 and "(x0.001)"
    plot.showGrid(x=True, y=True, alpha=0.25)
