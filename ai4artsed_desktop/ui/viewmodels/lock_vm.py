"""LockViewModel: the teacher lock for the UI (unlock, lock, set/change/clear the PIN).

Every PIN check hashes for about 0.1 s on purpose, so it runs in a worker thread; the
results arrive as signals. Wrong PINs and the brute-force wait become inline messages.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from ...errors import AppError
from ...tasks import TaskRegistry
from ...teacher_lock import LockError, LockThrottled, TeacherLock, check_new_pin
from ..async_action import AsyncAction
from ..i18n import Translator

log = logging.getLogger(__name__)


class LockViewModel(QObject):
    """The teacher lock of this session.

    Signals:
        locked_changed(bool): the locked areas (settings, training, ...) are locked now.
        pin_set_changed(bool): a teacher PIN exists now.
        research_changed(bool): the research level is confirmed for this session.
        unlock_failed(str): an inline message for the PIN field (wrong PIN, wait, file).
        pin_changed(str): set/change/clear succeeded; the message says what happened.
        pin_failed(str): set/change/clear was refused; the inline message says why.
        busy_changed(bool): a PIN check runs.
    """

    locked_changed = Signal(bool)
    pin_set_changed = Signal(bool)
    research_changed = Signal(bool)
    unlock_failed = Signal(str)
    pin_changed = Signal(str)
    pin_failed = Signal(str)
    busy_changed = Signal(bool)

    def __init__(
        self,
        lock: TeacherLock,
        translator: Translator,
        tasks: TaskRegistry | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._lock = lock
        self._tr = translator
        self._action = AsyncAction("teacher-lock", tasks, parent=self)
        self._action.busy_changed.connect(self.busy_changed)
        self._locked = lock.is_set and not lock.unlocked
        self._is_set = lock.is_set
        self._research = lock.research_confirmed_for_session

    # ------------------------------------------------------------------ state
    @property
    def locked(self) -> bool:
        """True when students see only Create and History."""
        return self._locked

    @property
    def is_set(self) -> bool:
        return self._is_set

    @property
    def busy(self) -> bool:
        return self._action.busy

    @property
    def research_confirmed(self) -> bool:
        return self._research

    @property
    def can_confirm_research(self) -> bool:
        """A teacher PIN is set and this session is unlocked."""
        return self._is_set and not self._locked

    # ------------------------------------------------------------------ actions
    def unlock(self, pin: str) -> None:
        """Check ``pin`` in a worker thread; ``locked_changed`` or ``unlock_failed`` follows."""
        self._action.start(
            asyncio.to_thread(self._lock.unlock, pin),
            name="teacher-unlock",
            done=self._unlocked,
            error=self._unlock_error,
            catch=(LockError,),
        )

    def lock(self) -> None:
        """Lock again now; the research confirmation ends too."""
        self._lock.lock()
        self._sync()

    def set_pin(self, new: str, repeat: str, current: str = "") -> None:
        """Set (or, with ``current``, change) the PIN; ``pin_changed`` or ``pin_failed``."""
        if new != repeat:
            self.pin_failed.emit(self._tr.tr("lock.pin_mismatch"))
            return
        try:
            check_new_pin(new)
        except LockError:
            self.pin_failed.emit(self._tr.tr("lock.pin_rules"))
            return
        if self._lock.is_set and not current:
            self.pin_failed.emit(self._tr.tr("lock.current_needed"))
            return
        was_set = self._lock.is_set
        key = "lock.pin_changed_done" if was_set else "lock.pin_set_done"

        def work() -> None:
            self._lock.set_pin(new, current=current if was_set else None)

        self._change(work, key, "teacher-set-pin")

    def clear(self, current: str) -> None:
        """Remove the lock (needs the current PIN); ``pin_changed`` or ``pin_failed``."""
        if not current:
            self.pin_failed.emit(self._tr.tr("lock.current_needed"))
            return
        self._change(
            lambda: self._lock.clear(current), "lock.pin_cleared_done", "teacher-clear-pin"
        )

    def confirm_research(self) -> bool:
        """Record the teacher's confirmation of the research level; False when not allowed."""
        try:
            self._lock.confirm_research()
        except LockError:
            return False
        self._sync()
        return True

    async def shutdown(self) -> None:
        """Wait for (cancel) a running PIN check."""
        await self._action.shutdown()

    # ------------------------------------------------------------------ internals
    def _message(self, exc: LockError) -> str:
        if isinstance(exc, LockThrottled):
            return self._tr.tr("lock.wait", seconds=max(1, math.ceil(exc.retry_after_s)))
        if exc.detail:  # the lock file is unusable (the core names it in the detail)
            return self._tr.tr("lock.file_error", path=str(self._lock.path))
        return self._tr.tr("lock.wrong_pin")

    def _unlocked(self, ok: bool) -> None:
        if not ok:
            self.unlock_failed.emit(self._tr.tr("lock.wrong_pin"))
        self._sync()

    def _unlock_error(self, exc: AppError) -> None:
        assert isinstance(exc, LockError)
        self.unlock_failed.emit(self._message(exc))

    def _change(self, work: Callable[[], None], done_key: str, name: str) -> None:
        def changed(_none: None) -> None:
            self._sync()
            self.pin_changed.emit(self._tr.tr(done_key))

        def refused(exc: AppError) -> None:
            assert isinstance(exc, LockError)
            self.pin_failed.emit(self._message(exc))
            self._sync()

        self._action.start(
            asyncio.to_thread(work), name=name, done=changed, error=refused, catch=(LockError,)
        )

    def _sync(self) -> None:
        locked = self._lock.is_set and not self._lock.unlocked
        is_set = self._lock.is_set
        research = self._lock.research_confirmed_for_session
        if is_set != self._is_set:
            self._is_set = is_set
            self.pin_set_changed.emit(is_set)
        if locked != self._locked:
            self._locked = locked
            self.locked_changed.emit(locked)
        if research != self._research:
            self._research = research
            self.research_changed.emit(research)
