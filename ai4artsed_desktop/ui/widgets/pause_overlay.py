"""PauseOverlay: the "eyes on me" screen the teacher's console lays over a student's window.

It covers the whole window with a friendly message and lets no input through to the page
below: mouse, wheel, keys and shortcuts aimed at any widget of the window are dropped by an
application-wide event filter while it is shown (a covered widget could still hold the
keyboard focus). The widgets below are neither cleared nor disabled, so every text a student
typed is exactly as it was when the screen goes away; the focus goes back where it was.
The class listens too: sound and films under the screen are paused where they are and a
running sketch or piece is stopped (its code stays; the student starts it again).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QLabel, QVBoxLayout, QWidget

from ..i18n import Translator
from .audio_player import AudioPlayer
from .code_sandbox import CodeSandbox
from .video_player import VideoPlayer

#: The input events that must not reach the covered window.
BLOCKED_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.KeyRelease,
        QEvent.Type.ShortcutOverride,
        QEvent.Type.Shortcut,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseButtonRelease,
        QEvent.Type.MouseButtonDblClick,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TouchUpdate,
        QEvent.Type.TouchEnd,
        QEvent.Type.ContextMenu,
        QEvent.Type.InputMethod,
        QEvent.Type.DragEnter,
        QEvent.Type.DragMove,
        QEvent.Type.Drop,
    }
)


class PauseOverlay(QWidget):
    """A full-window cover with the teacher's message; :meth:`pause` / :meth:`resume`."""

    def __init__(self, window: QWidget, translator: Translator) -> None:
        super().__init__(window)
        self.setObjectName("pauseOverlay")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._window = window
        self._tr = translator
        self._message = ""
        self._focus_before: QWidget | None = None
        self.title = QLabel()
        self.title.setObjectName("pauseTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)
        self.message_label = QLabel()
        self.message_label.setObjectName("pauseMessage")
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_label.setWordWrap(True)
        self.hint = QLabel()
        self.hint.setObjectName("pauseHint")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        column = QVBoxLayout(self)
        column.setContentsMargins(48, 48, 48, 48)
        column.setSpacing(24)
        column.addStretch(2)
        column.addWidget(self.title)
        column.addWidget(self.message_label)
        column.addWidget(self.hint)
        column.addStretch(3)
        self.hide()
        window.installEventFilter(self)
        translator.language_changed.connect(self.retranslate)
        self.retranslate()

    @property
    def paused(self) -> bool:
        return self.isVisible()

    def retranslate(self) -> None:
        tr = self._tr.tr
        self.title.setText(tr("lab.pause.title"))
        self.hint.setText(tr("lab.pause.hint"))
        self.message_label.setText(self._message)
        self.message_label.setVisible(bool(self._message))
        self.setAccessibleName(tr("lab.pause.title"))
        self.setAccessibleDescription(" ".join(filter(None, [self._message, tr("lab.pause.hint")])))

    def pause(self, message: str) -> None:
        """Cover the window with ``message`` (a second call only changes the message)."""
        self._message = message.strip()
        self.retranslate()
        if self.isVisible():
            return
        focus = QApplication.focusWidget()
        self._focus_before = focus if focus is not None and self._covers(focus) else None
        self._hush()
        self.setGeometry(self._window.rect())
        self.show()
        self.raise_()
        self.setFocus(Qt.FocusReason.OtherFocusReason)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)

    def resume(self) -> None:
        """Take the cover away; the focus goes back to where the student was typing."""
        if not self.isVisible():
            return
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.hide()
        focus, self._focus_before = self._focus_before, None
        if focus is not None and focus.isVisible():
            focus.setFocus(Qt.FocusReason.OtherFocusReason)

    def _hush(self) -> None:
        """Silence the window: players pause where they are, sketches and pieces stop."""
        for player in self._window.findChildren(AudioPlayer):
            player.pause()
        for film in self._window.findChildren(VideoPlayer):
            film.pause()
        for sandbox in self._window.findChildren(CodeSandbox):
            sandbox.stop()

    def _covers(self, widget: QWidget) -> bool:
        """True for a widget of the covered window (this screen itself excepted)."""
        if widget is self or self.isAncestorOf(widget):
            return False
        return widget is self._window or self._window.isAncestorOf(widget)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.Resize:
            self.setGeometry(self._window.rect())
            return False
        if not self.isVisible() or event.type() not in BLOCKED_EVENTS:
            return False
        owner = _owner_widget(watched)  # an action's shortcut belongs to its widget
        return owner is not None and self._covers(owner)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride:
            event.accept()  # every key is ours while paused: no shortcut of the window fires
            return True
        return super().event(event)

    def focusNextPrevChild(self, next: bool) -> bool:
        return False  # Tab must not walk into the covered window


def _owner_widget(obj: QObject | None) -> QWidget | None:
    while obj is not None and not isinstance(obj, QWidget):
        obj = obj.parent()
    return obj
