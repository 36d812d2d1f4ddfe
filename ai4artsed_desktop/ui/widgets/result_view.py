"""ResultView: the live preview during generation, then the result with "Save as…"."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ...events import RunResult, SavedFile, Stage
from ..desktop import FolderOpener
from ..i18n import Translator
from ..viewmodels.run_vm import RunViewModel
from .audio_player import show_audio_result
from .code_sandbox import CodeSandbox
from .video_player import is_video, show_video_result


class SaveDialog:
    """Asks where to save a copy; tests replace :meth:`ask`."""

    @classmethod
    def ask(cls, parent: QWidget, title: str, suggested: Path) -> Path | None:
        """The chosen path, or None when the user cancelled."""
        chosen, _filter = QFileDialog.getSaveFileName(parent, title, str(suggested))
        return Path(chosen) if chosen else None


class ResultView(QWidget):
    """An image fitted to the space (preview frames, then the result).

    Code results (p5.js / Tone.js) run in a :class:`CodeSandbox`, created the first time one
    is shown. Audio and music results get the audio player (see ``show_audio_result``), films
    the video player (``show_video_result``).
    """

    def __init__(self, vm: RunViewModel, translator: Translator, parent: QWidget | None = None):
        super().__init__(parent)
        self._vm = vm
        self._tr = translator
        self._image = QImage()
        self._result: RunResult | None = None
        self._saved_key = ""
        self._saved_path = ""
        self.sandbox: CodeSandbox | None = None  # created for the first code result
        self.image_label = QLabel()
        self.image_label.setObjectName("resultImage")
        self.image_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image_label.setWordWrap(True)  # a long text: why the picture is hidden
        self.image_label.setMinimumSize(160, 160)
        self.image_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.note_label = QLabel()  # the picture check's "not checked" note
        self.note_label.setObjectName("safetyNote")
        self.note_label.setWordWrap(True)
        self.note_label.hide()
        self.file_label = QLabel()
        self.file_label.setObjectName("hint")
        self.file_label.setWordWrap(True)
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.save_button = QPushButton()
        self.folder_button = QPushButton()
        self.save_button.clicked.connect(self.save_as)
        self.folder_button.clicked.connect(self.open_folder)
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.folder_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.note_label)
        layout.addWidget(self.image_label, 1)
        self._layout = layout
        layout.addWidget(self.file_label)
        layout.addLayout(buttons)
        vm.preview.connect(self.show_preview)
        vm.result.connect(self.show_result)
        vm.stage_blocked.connect(self._on_stage_blocked)
        vm.blocked.connect(self._on_blocked)
        vm.stage_completed.connect(self._on_stage_completed)
        self._hidden = False
        self._hidden_text = ""
        vm.file_saved.connect(lambda path: self._set_saved("create.result_saved", path))
        vm.save_failed.connect(lambda path, _detail: self._set_saved("create.save_failed", path))
        translator.language_changed.connect(self.retranslate)
        vm.params.mode_changed.connect(self.retranslate)  # kids see no file names
        self.clear()
        self.retranslate()

    @property
    def image(self) -> QImage:
        """The image shown now (null when none)."""
        return self._image

    def retranslate(self, _language: str = "") -> None:
        tr = self._tr.tr
        self.save_button.setText(tr("create.save_as"))
        self.save_button.setAccessibleName(tr("create.save_as"))
        self.folder_button.setText(tr("create.open_folder"))
        self.folder_button.setAccessibleName(tr("create.open_folder"))
        self.image_label.setAccessibleName(tr("create.result_accessible"))
        self.file_label.setAccessibleName(tr("create.result_file_accessible"))
        self._show_placeholder()
        self._update_file_label()

    def clear(self) -> None:
        """Show nothing (a new run starts)."""
        self._image, self._result, self._saved_key = QImage(), None, ""
        self.image_label.clear()
        self._show_placeholder()
        self.image_label.show()
        self.note_label.clear()
        self.note_label.hide()
        self._hidden = False
        self._hidden_text = ""
        if self.sandbox is not None:
            self.sandbox.set_code("")
            self.sandbox.hide()
        self.file_label.clear()
        self.save_button.hide()
        self.folder_button.hide()
        show_audio_result(self, self._tr, ())  # stop and hide the audio player
        show_video_result(self, self._tr, ())  # and the video player

    def show_hidden(self, reason: str) -> None:
        """The picture check hid the picture: say so where the picture would be."""
        self._image = QImage()
        self.image_label.clear()
        self._hidden_text = reason
        self._show_placeholder()

    def _on_stage_blocked(self, stage: Stage) -> None:
        self._hidden = stage is Stage.media_check

    def _on_blocked(self, reason: str) -> None:
        if self._hidden:
            self.show_hidden(reason)

    def _on_stage_completed(self, stage: Stage, text: str, _badge: str) -> None:
        if stage is Stage.media_check and text:  # shown with the picture: "not checked …"
            self.note_label.setText(text)
            self.note_label.show()

    def show_preview(self, data: bytes) -> None:
        """A live frame; undecodable data is skipped."""
        image = QImage.fromData(data)
        if not image.isNull():
            self._image = image
            self._fit()

    def show_result(self, result: RunResult) -> None:
        """The finished run: the image (if any), its file name, the buttons."""
        self._result, self._saved_key = result, ""
        image = self._first_image(result)
        if image is not None:
            loaded = QImage(str(image.path))
            if not loaded.isNull():
                self._image = loaded
                self._fit()
        else:
            self._image = QImage()
            self.image_label.clear()  # a sound or a sketch: the player or sandbox shows it
        self.save_button.setVisible(self._saveable(result) is not None)
        self.folder_button.show()
        self._show_code(self._code_of(result))
        player = show_audio_result(self, self._tr, result.media)  # sound / music: the player
        film = show_video_result(self, self._tr, result.media)  # a film: the video player
        if (player is not None or film is not None) and image is None:
            self.image_label.hide()  # the player takes the room; no empty picture above it
        self._update_file_label()

    def save_as(self) -> None:
        """Ask for a place and copy the result image or film there (in a worker thread)."""
        item = self._saveable(self._result) if self._result else None
        if item is None:
            return
        target = SaveDialog.ask(self, self._tr.tr("create.save_as"), Path.home() / item.path.name)
        if target is not None:
            self._vm.save_result_as(item.path, target)

    def open_folder(self) -> None:
        """Show the run's folder in the file manager."""
        if self._result is not None:
            FolderOpener.open(self._result.folder)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Keep the image fitted."""
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self._image.isNull():
            return
        size = self.image_label.size()
        pixmap = QPixmap.fromImage(self._image).scaled(
            size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        self.image_label.setPixmap(pixmap)

    def _show_code(self, code: str) -> None:
        """Show the sandbox with ``code`` (or hide it when there is none)."""
        if not code.strip():
            if self.sandbox is not None:
                self.sandbox.set_code("")
                self.sandbox.hide()
            self.image_label.show()
            return
        if self.sandbox is None:
            self.sandbox = CodeSandbox(self._tr, self)
            self._layout.insertWidget(1, self.sandbox, 1)
        self.image_label.hide()
        self.sandbox.set_code(code)
        self.sandbox.show()

    @staticmethod
    def _code_of(result: RunResult) -> str:
        """The run's code: the final code, else the text of a JavaScript result file."""
        if result.code.strip():
            return result.code
        for media in result.media:
            if media.mime == "text/javascript" or media.path.suffix.lower() == ".js":
                try:
                    return media.path.read_text("utf-8", errors="replace")
                except OSError:
                    return ""
        return ""

    @staticmethod
    def _first_image(result: RunResult) -> SavedFile | None:
        return next((m for m in result.media if m.mime.startswith("image/")), None)

    @classmethod
    def _saveable(cls, result: RunResult) -> SavedFile | None:
        """What "Save as…" copies: the first image, else the first film."""
        return cls._first_image(result) or next((m for m in result.media if is_video(m)), None)

    def _set_saved(self, key: str, path: str) -> None:
        self._saved_key, self._saved_path = key, path
        self._update_file_label()

    def _show_placeholder(self) -> None:
        """Nothing to show yet: say where the result will appear."""
        if self._hidden_text:  # the picture check hid it: say why, where it would be
            self.image_label.setText(self._tr.tr("create.picture_hidden", reason=self._hidden_text))
        elif self._image.isNull() and self._result is None:
            self.image_label.setText(self._tr.tr("create.result_empty"))

    def _update_file_label(self) -> None:
        if self._result is None:
            return
        names = ", ".join(m.path.name for m in self._result.media)
        if self._vm.params.kids:  # a file name means nothing to a child
            text = self._tr.tr("create.result_files_kids") if names else ""
        else:
            text = self._tr.tr("create.result_files", files=names) if names else ""
        if self._saved_key:
            text = f"{text}\n{self._tr.tr(self._saved_key, path=self._saved_path)}"
        self.file_label.setText(text)
