"""SystemGauges: live GPU memory per GPU (and who holds it), GPU load/temperature, RAM and CPU.

Fed by :class:`~ai4artsed_desktop.ui.viewmodels.status_vm.StatusViewModel`, which reads the
GPU in a thread and RAM/CPU through psutil about once a second.
"""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from ...system.gpu import GpuInfo, GpuProcess
from ...system.resources import SystemSnapshot
from ..formatting import gb
from ..i18n import Translator
from ..viewmodels.status_vm import GpuStatus, StatusViewModel

#: Processes listed per GPU (the biggest first).
MAX_PROCESSES = 6


class GpuGauge(QFrame):
    """Name, a VRAM bar, load/temperature and the processes holding memory for one GPU."""

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
        self.process_label = QLabel()
        self.process_label.setObjectName("hint")
        self.process_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(self.name_label)
        layout.addWidget(self.bar)
        layout.addWidget(self.detail_label)
        layout.addWidget(self.process_label)

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
        lines = [self._process_line(p) for p in _biggest_first(gpu.processes)[:MAX_PROCESSES]]
        self.process_label.setText("\n".join(lines))
        self.process_label.setAccessibleName(self._tr.tr("training.gpu_processes"))
        self.process_label.setVisible(bool(lines))

    def _process_line(self, process: GpuProcess) -> str:
        if process.used_bytes is None:
            return self._tr.tr("training.process_unknown", name=process.name, pid=process.pid)
        return self._tr.tr(
            "training.process_vram", name=process.name, pid=process.pid, used=gb(process.used_bytes)
        )


def _biggest_first(processes: tuple[GpuProcess, ...]) -> list[GpuProcess]:
    return sorted(processes, key=lambda p: -(p.used_bytes or 0))


class SystemGauges(QWidget):
    """GPU gauges plus a RAM and a CPU line, following the status view-model."""

    def __init__(
        self, status: StatusViewModel, translator: Translator, parent: QWidget | None = None
    ):
        super().__init__(parent)
        self._vm = status
        self._tr = translator
        self.gauges: list[GpuGauge] = []
        self.gpu_message = QLabel()
        self.gpu_message.setObjectName("emptyState")
        self.gpu_message.setWordWrap(True)
        self.gauge_box = QVBoxLayout()
        self.gauge_box.setSpacing(10)
        self.ram_label = QLabel()
        self.cpu_label = QLabel()
        row = QHBoxLayout()
        row.addWidget(self.ram_label)
        row.addSpacing(24)
        row.addWidget(self.cpu_label)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.gpu_message)
        layout.addLayout(self.gauge_box)
        layout.addLayout(row)
        status.gpu_changed.connect(self.update_gpus)
        status.ram_changed.connect(self.update_system)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    def retranslate(self) -> None:
        self.update_gpus()
        self.update_system()

    def update_system(self, _value: object = None) -> None:
        ram: SystemSnapshot | None = self._vm.ram
        tr = self._tr.tr
        if ram is None:
            self.ram_label.setText(tr("status.ram_unknown"))
            self.cpu_label.setText(tr("training.cpu_unknown"))
        else:
            self.ram_label.setText(
                tr("training.ram", used=gb(ram.ram_used_bytes), total=gb(ram.ram_total_bytes))
            )
            self.cpu_label.setText(tr("training.cpu", percent=round(ram.cpu_percent)))
        self.ram_label.setAccessibleName(self.ram_label.text())
        self.cpu_label.setAccessibleName(self.cpu_label.text())

    def update_gpus(self, _value: object = None) -> None:
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
