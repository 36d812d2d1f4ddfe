"""Training page: live GPU memory gauges and where training is set up; no fake controls."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...system.gpu import GpuInfo
from ..formatting import gb
from ..i18n import Translator
from ..viewmodels.status_vm import GpuStatus, StatusViewModel


class GpuGauge(QFrame):
    """Name and a VRAM bar for one GPU."""

    def __init__(self, translator: Translator, parent: QWidget | None = None):
        super().__init__(parent)
        self._tr = translator
        self.setObjectName("card")
        self.name_label = QLabel()
        self.name_label.setObjectName("sectionHeading")
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        self.detail_label = QLabel()
        self.detail_label.setObjectName("hint")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(self.name_label)
        layout.addWidget(self.bar)
        layout.addWidget(self.detail_label)

    def show_gpu(self, gpu: GpuInfo) -> None:
        used, total = gb(gpu.used_bytes), gb(gpu.total_bytes)
        self.name_label.setText(self._tr.tr("training.gpu_name", index=gpu.index, name=gpu.name))
        percent = round(100 * gpu.used_bytes / gpu.total_bytes) if gpu.total_bytes else 0
        self.bar.setRange(0, 100)
        self.bar.setValue(percent)
        text = self._tr.tr("training.vram", used=used, total=total)
        self.bar.setFormat(text)
        self.bar.setAccessibleName(self._tr.tr("training.vram_accessible", name=gpu.name))
        self.bar.setAccessibleDescription(text)
        extras = []
        if gpu.utilization_percent is not None:
            extras.append(self._tr.tr("training.load", percent=gpu.utilization_percent))
        if gpu.temperature_c is not None:
            extras.append(self._tr.tr("training.temperature", celsius=gpu.temperature_c))
        self.detail_label.setText(" · ".join(extras))
        self.detail_label.setVisible(bool(extras))


class TrainingPage(QWidget):
    """Shows the GPUs as they are now and points to Settings → Training.

    Signals:
        settings_requested(): the user wants to open the training settings.
    """

    settings_requested = Signal()

    def __init__(
        self, status: StatusViewModel, translator: Translator, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self._vm = status
        self._tr = translator
        self.gauges: list[GpuGauge] = []
        self.title = QLabel()
        self.title.setObjectName("pageTitle")
        self.intro = QLabel()
        self.intro.setObjectName("pageIntro")
        self.intro.setWordWrap(True)
        self.gpu_message = QLabel()
        self.gpu_message.setObjectName("emptyState")
        self.gpu_message.setWordWrap(True)
        self.gauge_box = QVBoxLayout()
        self.gauge_box.setSpacing(10)
        self.setup_text = QLabel()
        self.setup_text.setWordWrap(True)
        self.settings_button = QPushButton()
        self.settings_button.clicked.connect(self.settings_requested)
        row = QHBoxLayout()
        row.addWidget(self.setup_text, 1)
        row.addWidget(self.settings_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(12)
        layout.addWidget(self.title)
        layout.addWidget(self.intro)
        layout.addWidget(self.gpu_message)
        layout.addLayout(self.gauge_box)
        layout.addLayout(row)
        layout.addStretch(1)
        status.gpu_changed.connect(self._update_gpus)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self) -> None:
        tr = self._tr.tr
        self.title.setText(tr("training.title"))
        self.intro.setText(tr("training.intro"))
        self.setup_text.setText(tr("training.setup_in_settings"))
        self.settings_button.setText(tr("training.open_settings"))
        self.settings_button.setAccessibleName(tr("training.open_settings"))
        self._update_gpus()

    def _update_gpus(self, _value: object = None) -> None:
        gpus = self._vm.gpu.gpus if self._vm.gpu else ()
        while len(self.gauges) > len(gpus):
            gauge = self.gauges.pop()
            self.gauge_box.removeWidget(gauge)
            gauge.deleteLater()
        while len(self.gauges) < len(gpus):
            gauge = GpuGauge(self._tr, self)
            self.gauges.append(gauge)
            self.gauge_box.addWidget(gauge)
        for gauge, gpu in zip(self.gauges, gpus, strict=True):
            gauge.show_gpu(gpu)
        status = self._vm.gpu_status
        if status is GpuStatus.absent:
            self.gpu_message.setText(self._tr.tr("training.no_gpu"))
        elif status is GpuStatus.unknown:
            self.gpu_message.setText(self._tr.tr("training.gpu_unknown"))
        self.gpu_message.setVisible(status is not GpuStatus.present)
        self.gpu_message.setAccessibleName(self.gpu_message.text())
