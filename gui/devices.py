"""The toolbar's device list: cpu from the start, cuda / mps once torch has looked.

Finding devices means importing torch (~0.7 s, ~150 MB), so it is not done at start-up: an
empty window never loads torch. The worker looks after the first compute (torch is loaded by
then, so it costs nothing more) or when the user opens this list, whichever comes first.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QWidget

from gui.worker import Computer


class DeviceBox(QComboBox):
    def __init__(self, computer: Computer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.computer = computer
        self.probed = False  # asked the worker once; its answer fills the list
        self.addItem("cpu")
        computer.devicesReady.connect(self.set_devices)

    def probe(self) -> None:
        if not self.probed:
            self.probed = True
            self.computer.probe_devices()

    def showPopup(self) -> None:  # noqa: N802 - Qt's name
        self.probe()  # the list grows while open if cuda / mps turn up
        super().showPopup()

    def devices(self) -> list[str]:
        return [self.itemText(i) for i in range(self.count())]

    def set_devices(self, devices: list[str]) -> None:
        """Show these devices, keeping the current choice (cpu if it is gone), without a
        currentTextChanged that would ask for a recompute."""
        current = self.currentText()
        self.blockSignals(True)
        self.clear()
        self.addItems(devices)
        self.setCurrentText(current if current in devices else "cpu")
        self.blockSignals(False)
