"""Colours, number and text formats, and the plot styling the inspector's parts share."""

from __future__ import annotations

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
    return text if len(text) <= n else text[:n - 1] + "…"


def styled_plot(plot: pg.PlotItem) -> None:
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen("#555555"))
        axis.setTextPen(pg.mkPen("#333333"))
    plot.showGrid(x=True, y=True, alpha=0.25)
