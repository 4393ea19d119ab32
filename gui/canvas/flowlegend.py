"""The gradient-flow view's legend: an overlay in the canvas's top-right corner with the colour
scale (log), the two thresholds (editable factors, and what they come to), how many wires each
kind has, and whether the flows shown are being computed or could not be."""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QPainter, QPen, QPixmap
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QLineEdit, QWidget

from graph.safetext import visible
from gui.canvas import flowstyle
from gui.canvas.flowstate import FlowState
from gui.canvas.flowstyle import EXPLODING, FIRST_BIN, NO_FLOW, NONFINITE, VANISHING

MARGIN = 10  # px from the view's corner


def swatch(code: int, w: int = 34, h: int = 14) -> QPixmap:
    """A short wire of this code, as the canvas draws it at 100 %."""
    pix = QPixmap(w, h)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    pen = QPen(flowstyle.SCALED[code])
    p.setPen(pen)
    p.drawLine(QPointF(2, h / 2), QPointF(w - 2, h / 2))
    p.end()
    return pix


def scale_bar(w: int = 160, h: int = 16) -> QPixmap:
    """The bins, small to large: colour and width of each."""
    pix = QPixmap(w, h)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    step = w / flowstyle.BINS
    for k in range(flowstyle.BINS):
        pen = QPen(flowstyle.SCALED[FIRST_BIN + k])
        p.setPen(pen)
        p.drawLine(QPointF(k * step, h / 2), QPointF((k + 1) * step, h / 2))
    p.end()
    return pix


def _number(v: float) -> str:
    return f"{v:.3g}" if math.isfinite(v) else str(v)


class FlowLegend(QFrame):
    """Shown with the view. `edited` is called after a threshold factor changes."""

    def __init__(self, view: QWidget, state: FlowState, edited: Callable[[], None]) -> None:
        super().__init__(view)
        self.state, self.edited = state, edited
        self.setObjectName("flowLegend")
        self.setStyleSheet("#flowLegend { background: rgba(21, 24, 29, 225); border: 1px solid #3a404a; "
                           "border-radius: 4px; } QLabel { color: #e8eaed; }")
        grid = QGridLayout(self)
        grid.setContentsMargins(8, 6, 8, 6)
        grid.setVerticalSpacing(3)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        grid.addWidget(self.title, 0, 0, 1, 5)
        bar = QLabel()
        bar.setPixmap(scale_bar())
        self.low, self.high = QLabel(), QLabel()
        self.high.setAlignment(Qt.AlignmentFlag.AlignRight)
        grid.addWidget(bar, 1, 0, 1, 5)
        grid.addWidget(self.low, 2, 0, 1, 2)
        grid.addWidget(self.high, 2, 2, 1, 3)
        self.vanish_edit, self.explode_edit = QLineEdit(), QLineEdit()
        self.counts: dict[int, QLabel] = {}
        rows = ((VANISHING, "vanishing: below", self.vanish_edit, "× the largest flow"),
                (EXPLODING, "exploding: above", self.explode_edit, "× the median flow"),
                (NONFINITE, "NaN/Inf", None, ""), (NO_FLOW, "no gradient flows", None, ""))
        for i, (code, words, edit, unit) in enumerate(rows, start=3):
            icon = QLabel()
            icon.setPixmap(swatch(code))
            grid.addWidget(icon, i, 0)
            grid.addWidget(QLabel(words), i, 1)
            if edit is not None:
                edit.setFixedWidth(52)
                edit.setToolTip(f"{words.split(':')[0]} threshold, as a factor {unit} (Enter applies)")
                edit.editingFinished.connect(self._apply)
                grid.addWidget(edit, i, 2)
                grid.addWidget(QLabel(unit), i, 3)  # what the factor multiplies, always in view
            self.counts[code] = QLabel()
            self.counts[code].setTextFormat(Qt.TextFormat.PlainText)
            grid.addWidget(self.counts[code], i, 4 if edit is not None else 2, 1, 1 if edit is not None else 3)
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #9aa0a6;")
        grid.addWidget(self.status, len(rows) + 3, 0, 1, 5)
        view.installEventFilter(self)  # follow the view's corner when it is resized
        self.refresh()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Resize:
            self.place()
        return False

    def place(self) -> None:
        self.adjustSize()
        view = self.parentWidget()
        self.move(max(0, view.width() - self.width() - MARGIN - 16), MARGIN)  # 16: the scroll bar

    def refresh(self, title: str = "Gradient flow along each wire", status: str = "") -> None:
        """Texts from the state: the thresholds, the colour scale's ends, the counts."""
        t = self.state.thresholds
        self.title.setText(title)
        self.vanish_edit.setText(f"{t.vanish_factor:g}")
        self.explode_edit.setText(f"{t.explode_factor:g}")
        known = self.state.result is not None and not self.state.result.error
        self.low.setText(f"{_number(t.low)}" if known and t.high else "")
        self.high.setText(f"{_number(t.high)}  (log)" if known and t.high else "")
        counts = self.state.counts
        self.counts[VANISHING].setText(f"= {_number(t.vanish)}: {counts[VANISHING]} wires" if known else "")
        self.counts[EXPLODING].setText(f"= {_number(t.explode)}: {counts[EXPLODING]} wires" if known else "")
        self.counts[NONFINITE].setText(f"{counts[NONFINITE]} wires" if known else "")
        self.counts[NO_FLOW].setText(f"{counts[NO_FLOW]} wires" if known else "")
        self.status.setText(status)
        self.status.setVisible(bool(status))
        self.place()

    def _apply(self) -> None:
        """A factor typed in: a positive number, else the old one back and a word why."""
        t = self.state.thresholds
        problems = []
        for edit, name in ((self.vanish_edit, "vanish_factor"), (self.explode_edit, "explode_factor")):
            text = edit.text().strip()
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if not (math.isfinite(value) and value > 0):
                problems.append(f"{visible(text[:20])!r} is not a positive number")
                edit.setText(f"{getattr(t, name):g}")
            elif value != getattr(t, name):
                setattr(t, name, value)
        self.edited()
        if problems:
            self.status.setText("threshold: " + "; ".join(problems))
            self.status.setVisible(True)
            self.place()
