"""The window's local socket: a second start on the same data folder raises the first window.

The first window holds the data folder's :class:`~ai4artsed_desktop.instance_lock.InstanceLock`
and listens on a local socket (a Unix socket / named pipe) whose name is derived from the
data folder. A second start finds the lock taken, sends ``raise`` and exits; it never
builds a backend manager, so the first window's servers are never touched.
"""

from __future__ import annotations

import getpass
import hashlib
import logging
import time
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication, QWidget

log = logging.getLogger(__name__)

SERVER_PREFIX = "ai4artsed-desktop-"
RAISE = b"raise"
ANSWER = b"ok"
#: How long a second start waits for a first window that is still starting.
WAIT_FOR_FIRST_S = 15.0
_CONNECT_MS = 300
_ANSWER_MS = 3000


def server_name(data_dir: Path) -> str:
    """The socket name of the window that owns ``data_dir`` (one per user and folder)."""
    key = f"{getpass.getuser()}\n{data_dir.expanduser().resolve()}"
    return SERVER_PREFIX + hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


class InstanceServer(QObject):
    """Listens for second starts; emits ``raise_requested`` for each one.

    Signals:
        raise_requested(): another start of the app asked this window to come to the front.
    """

    raise_requested = Signal()

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._on_new_connection)

    def listen(self) -> bool:
        """Start listening; False (logged) when the socket cannot be created.

        The caller holds the instance lock, so a socket file that is still there was left
        by a window that crashed: it is removed first.
        """
        QLocalServer.removeServer(self.name)
        if self._server.listen(self.name):
            log.info("Listening for second starts on %s", self._server.fullServerName())
            return True
        log.warning("Cannot listen on %s: %s", self.name, self._server.errorString())
        return False

    def close(self) -> None:
        self._server.close()

    def _on_new_connection(self) -> None:
        while self._server.hasPendingConnections():
            socket = self._server.nextPendingConnection()
            socket.readyRead.connect(lambda s=socket: self._on_ready_read(s))
            socket.disconnected.connect(socket.deleteLater)

    def _on_ready_read(self, socket: QLocalSocket) -> None:
        if not socket.canReadLine():
            return
        line = bytes(socket.readLine().data()).strip()
        if line == RAISE:
            log.info("A second start asked this window to come to the front")
            self.raise_requested.emit()
            socket.write(ANSWER + b"\n")
            socket.flush()
        socket.disconnectFromServer()


def bring_to_front(window: QWidget) -> None:
    """Show ``window`` un-minimised and on top (the window manager may only flash it)."""
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()
    QApplication.alert(window)


def ask_first_to_raise(name: str, wait_s: float = WAIT_FOR_FIRST_S) -> bool:
    """Ask the window listening on ``name`` to come to the front; True when it answered.

    Blocking, without an event loop (the second start has nothing else to do). Retries
    while the first window is still starting (it holds the lock before it listens).
    """
    deadline = time.monotonic() + wait_s
    while True:
        socket = QLocalSocket()
        socket.connectToServer(name)
        if socket.waitForConnected(_CONNECT_MS):
            socket.write(RAISE + b"\n")
            socket.waitForBytesWritten(_ANSWER_MS)
            while not socket.canReadLine() and socket.waitForReadyRead(_ANSWER_MS):
                pass
            answered = socket.canReadLine() and bytes(socket.readLine().data()).strip() == ANSWER
            socket.abort()
            return answered
        socket.abort()
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)  # the first window is starting; it listens within a second or two
