"""Small pictures of tensors drawn on nodes: the preview under a node whose value is too big to
write out (heatmap or sparkline), and the colour swatch of the summary level of detail."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QPen, QPolygonF

from graph.values import INLINE_MAX
from gui.canvas.style import COLORS


def heatmap(a: np.ndarray) -> QImage:
    """A diverging heatmap, one pixel per (sampled) entry: blue < 0 < red, white at 0, scaled by
    the largest finite magnitude; NaN and ±inf in their own colour. A 1-D array is one row, a
    scalar one pixel; more than 2-D is shown as rows by the rest flattened. At most 64 x 64."""
    a = np.asarray(a, dtype=np.float64)
    m = a.reshape(1, -1) if a.ndim <= 1 else a.reshape(a.shape[0], -1)
    rows = np.linspace(0, m.shape[0] - 1, min(m.shape[0], 64)).astype(int)
    cols = np.linspace(0, m.shape[1] - 1, min(m.shape[1], 64)).astype(int)
    m = m[np.ix_(rows, cols)]
    ok = np.isfinite(m)
    peak = float(np.abs(m[ok]).max()) if ok.any() else 0.0
    v = np.clip(np.where(ok, m, 0.0) / (peak or 1.0), -1.0, 1.0)
    r = np.where(v >= 0, 1.0, 1.0 + v)
    g = 1.0 - np.abs(v)
    b = np.where(v >= 0, 1.0 - v, 1.0)
    bad = COLORS["nonfinite"]
    rgb = np.stack([np.where(ok, c, alt / 255) for c, alt in ((r, bad.red()), (g, bad.green()),
                                                              (b, bad.blue()))], axis=-1)
    rgb = np.round(rgb * 255).astype(np.uint32)
    argb = np.ascontiguousarray((0xFF << 24) | (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2])
    # QImage does not copy the buffer: copy the image so it owns its pixels.
    return QImage(argb.tobytes(), m.shape[1], m.shape[0], m.shape[1] * 4, QImage.Format.Format_RGB32).copy()


def preview_image(a: np.ndarray | None, width: int, height: int) -> QImage | None:
    """A tiny heatmap (2-D and up) or sparkline (1-D) of a tensor too big to write out.

    NaN and ±inf entries are drawn in their own colour (a cell, or a tick on the sparkline),
    and the colour scale is taken from the finite entries only.
    """
    if a is None or a.size <= INLINE_MAX:
        return None
    a = np.asarray(a, dtype=np.float64)
    img = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    if a.ndim <= 1:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        ys = a.reshape(-1)[::max(1, a.size // width)]
        ok = np.isfinite(ys)
        lo, hi = (float(ys[ok].min()), float(ys[ok].max())) if ok.any() else (0.0, 1.0)
        span = hi - lo or 1.0
        run: list[QPointF] = []

        def flush() -> None:
            p.setPen(QPen(COLORS["dim_text"], 1.2))
            if len(run) > 1:
                p.drawPolyline(QPolygonF(run))
            elif run:
                p.drawPoint(run[0])
            run.clear()

        for i, v in enumerate(ys):
            x = i * (width - 1) / max(1, len(ys) - 1)
            if ok[i]:
                run.append(QPointF(x, height - 2 - (v - lo) / span * (height - 4)))
            else:
                flush()
                p.setPen(QPen(COLORS["nonfinite"], 1.5))
                p.drawLine(QPointF(x, 0), QPointF(x, height))
        flush()
    else:
        p.drawImage(QRectF(0, 0, width, height), heatmap(a))
    p.end()
    return img
