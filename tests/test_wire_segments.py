"""A wide wire's straight segments (gui.canvas.wires.shape_lines) stay within FLAT_PX screen
pixels of its curve, for wires going right (the stretched shape: segments from a cached curve of
the next powers of two up) and every other shape; the curve is taken from Qt's own path of the
wire (wire_path) and sampled densely here, the distance to the segments computed here.
"""

from __future__ import annotations

import math

import pytest
from PySide6.QtCore import QPointF

from gui.canvas.wires import FLAT_PX, shape_lines, wire_path


def _curve_points(dx: float, dy: float, samples: int = 3000) -> list[tuple[float, float]]:
    path = wire_path(QPointF(0, 0), QPointF(dx, dy))
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = [(path.elementAt(i).x, path.elementAt(i).y) for i in range(4)]
    points = []
    for k in range(samples + 1):
        t = k / samples
        u = 1 - t
        w = (u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t)
        points.append((w[0] * x0 + w[1] * x1 + w[2] * x2 + w[3] * x3, w[0] * y0 + w[1] * y1 + w[2] * y2 + w[3] * y3))
    return points


def _distance_to_segment(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    ax, ay = a
    vx, vy = b[0] - ax, b[1] - ay
    length2 = vx * vx + vy * vy
    s = 0.0 if length2 == 0 else max(0.0, min(1.0, ((p[0] - ax) * vx + (p[1] - ay) * vy) / length2))
    return math.hypot(p[0] - (ax + s * vx), p[1] - (ay + s * vy))


@pytest.mark.parametrize(("dx", "dy"), [(80.0, 0.0), (80.0, -300.0), (250.0, 150.0), (333.3, -47.0),
                                        (1000.0, 2.5), (3100.0, -1900.0), (9000.0, 150.0),
                                        (40.0, 200.0), (-500.0, 300.0), (-1.0, 0.5), (0.0, 0.0)])
@pytest.mark.parametrize("octave", [0, 1, 2])
def test_segments_stay_on_the_curve_on_screen(dx: float, dy: float, octave: int) -> None:
    scale = 2.0 ** octave
    lines = shape_lines(dx, dy, octave)
    assert (lines[0].p1().x(), lines[0].p1().y()) == (0.0, 0.0)
    assert math.isclose(lines[-1].p2().x(), dx, abs_tol=1e-9) and math.isclose(lines[-1].p2().y(), dy, abs_tol=1e-9)
    assert all(p.p2() == q.p1() for p, q in zip(lines, lines[1:], strict=False))
    segments = [((ln.x1(), ln.y1()), (ln.x2(), ln.y2())) for ln in lines]
    worst = 0.0
    for p in _curve_points(dx, dy):
        worst = max(worst, min(_distance_to_segment(p, a, b) for a, b in segments))
    assert worst * scale <= FLAT_PX * 1.01, (dx, dy, octave, worst * scale, len(lines))


@pytest.mark.parametrize(("dx", "dy"), [(1.7e308, 5.0), (100.0, 1.7e308), (math.inf, 0.0), (math.nan, 1.0)])
def test_absurd_offsets_give_segments_not_an_error(dx: float, dy: float) -> None:
    assert shape_lines(dx, dy, 0)  # a position can be anything a float holds while a file loads
