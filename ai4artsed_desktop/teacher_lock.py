"""Teacher lock: settings, safety level, backends and training behind a teacher PIN (no Qt).

Only a salted PBKDF2-SHA256 hash is stored, in a small JSON file in the config folder that
only the user can read. There is no default PIN: without a lock file nothing is locked.
A lock file that cannot be read counts as "set" (it never unlocks silently) and every check
fails with a message that names the file to delete for a reset.

After :data:`FREE_TRIES` wrong PINs in a row each further check has to wait, longer every
time (in memory, per app session). Hashing takes about 0.1 s on purpose: call :meth:`verify`,
:meth:`unlock`, :meth:`set_pin` and :meth:`clear` through ``asyncio.to_thread`` from the UI.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import hmac
import json
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import AppError
from .fileio import atomic_write_json

log = logging.getLogger(__name__)

FILE_NAME = "teacher_lock.json"
FILE_VERSION = 1
HASH_SCHEME = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 300_000
MIN_ITERATIONS = 200_000
SALT_BYTES = 16
MIN_PIN_DIGITS = 4
MAX_PIN_DIGITS = 12
MIN_PASSPHRASE = 6
MAX_PASSPHRASE = 256
FREE_TRIES = 5
FIRST_DELAY_S = 2.0
MAX_DELAY_S = 300.0
_MAX_FILE_BYTES = 64 * 1024


class LockedArea(enum.Enum):
    """What the teacher lock protects."""

    settings = "settings"
    safety_level = "safety_level"
    backends = "backends"
    training = "training"


LOCKED_AREAS = frozenset(LockedArea)


class LockError(AppError):
    """A wrong PIN, an unusable new PIN, or a lock file that cannot be used."""


class LockThrottled(LockError):
    """Too many wrong PINs: the next check is accepted after ``retry_after_s`` seconds."""

    def __init__(self, retry_after_s: float) -> None:
        seconds = max(1, math.ceil(retry_after_s))
        super().__init__(f"Too many wrong PINs. Wait {seconds} seconds, then try again.")
        self.retry_after_s = retry_after_s


def check_new_pin(pin: str) -> None:
    """Raise :class:`LockError` unless ``pin`` is 4–12 digits or a passphrase of 6+ characters.

    Raises:
        LockError: with a sentence saying what a usable PIN looks like.
    """
    if pin.isdecimal():
        if not MIN_PIN_DIGITS <= len(pin) <= MAX_PIN_DIGITS:
            raise LockError(
                f"A PIN needs {MIN_PIN_DIGITS} to {MAX_PIN_DIGITS} digits; "
                f"or use a passphrase of at least {MIN_PASSPHRASE} characters."
            )
        return
    if len(pin.strip()) < MIN_PASSPHRASE:
        raise LockError(
            f"A passphrase needs at least {MIN_PASSPHRASE} characters "
            f"(or use a PIN of {MIN_PIN_DIGITS} to {MAX_PIN_DIGITS} digits)."
        )
    if len(pin) > MAX_PASSPHRASE:
        raise LockError(f"A passphrase may have at most {MAX_PASSPHRASE} characters.")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_pin(pin: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    """The stored form ``pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>`` of ``pin``."""
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations)
    return f"{HASH_SCHEME}${iterations}${_b64(salt)}${_b64(digest)}"


def _parse_hash(text: str) -> tuple[int, bytes, bytes]:
    """``(iterations, salt, digest)`` of a stored hash.

    Raises:
        ValueError: unknown scheme, too few iterations (a weakened file), bad encoding.
    """
    parts = text.split("$")
    if len(parts) != 4 or parts[0] != HASH_SCHEME:
        raise ValueError(f"unknown hash format (expected {HASH_SCHEME})")
    if not parts[1].isdecimal() or int(parts[1]) < MIN_ITERATIONS:
        raise ValueError(f"iteration count must be a number of at least {MIN_ITERATIONS}")
    try:
        salt = base64.b64decode(parts[2], validate=True)
        digest = base64.b64decode(parts[3], validate=True)
    except binascii.Error as exc:
        raise ValueError(f"bad base64 ({exc})") from None
    if len(salt) < SALT_BYTES or len(digest) != hashlib.sha256().digest_size:
        raise ValueError("salt or hash has the wrong length")
    return int(parts[1]), salt, digest


def _matches(pin: str, stored: str) -> bool:
    iterations, salt, digest = _parse_hash(stored)
    candidate = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(candidate, digest)


class TeacherLock:
    """The teacher PIN and this session's unlock state.

    Args:
        path: The lock file, usually ``<config dir>/teacher_lock.json``.
        clock: Monotonic seconds; tests inject a fake one for the brute-force delay.
        iterations: PBKDF2 iterations for new hashes (at least :data:`MIN_ITERATIONS`).
    """

    def __init__(
        self,
        path: Path,
        *,
        clock: Callable[[], float] = time.monotonic,
        iterations: int = DEFAULT_ITERATIONS,
    ) -> None:
        if iterations < MIN_ITERATIONS:
            raise ValueError(f"iterations must be at least {MIN_ITERATIONS}")
        self.path = path
        self._clock = clock
        self._iterations = iterations
        self._guard = threading.Lock()
        self._failures = 0
        self._not_before = 0.0
        self._unlocked = False
        self._research_confirmed = False

    # ------------------------------------------------------------------ state
    @property
    def is_set(self) -> bool:
        """True when a lock file exists (readable or not)."""
        return self.path.exists()

    @property
    def locked_areas(self) -> frozenset[LockedArea]:
        """The areas that are locked right now (empty without a PIN or when unlocked)."""
        return LOCKED_AREAS if self.is_set and not self._unlocked else frozenset()

    def is_locked(self, area: LockedArea) -> bool:
        """True when ``area`` needs the teacher PIN right now."""
        return area in self.locked_areas

    @property
    def unlocked(self) -> bool:
        """True when a teacher unlocked this session (or no PIN is set)."""
        return self._unlocked or not self.is_set

    @property
    def research_confirmed_for_session(self) -> bool:
        """True after :meth:`confirm_research` in this unlocked session."""
        return self._research_confirmed and self._unlocked and self.is_set

    @property
    def retry_after_s(self) -> float:
        """Seconds until the next PIN check is accepted (0 when it is accepted now)."""
        return max(0.0, self._not_before - self._clock())

    # ------------------------------------------------------------------ file
    def _read_hash(self) -> str:
        """The stored hash.

        Raises:
            LockError: no lock file, or one that cannot be used (with reset advice).
        """
        try:
            with self.path.open("rb") as handle:
                raw = handle.read(_MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            raise LockError("No teacher PIN is set.") from None
        except OSError as exc:
            raise self._unreadable(str(exc.strerror or exc)) from exc
        try:
            if len(raw) > _MAX_FILE_BYTES:
                raise ValueError("the file is too large")
            data: Any = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict) or data.get("version") != FILE_VERSION:
                raise ValueError(f"expected an object with version {FILE_VERSION}")
            stored = data.get("hash")
            if not isinstance(stored, str):
                raise ValueError("the 'hash' field is missing")
            _parse_hash(stored)
        except (ValueError, UnicodeDecodeError) as exc:
            raise self._unreadable(str(exc)) from exc
        return stored

    def _unreadable(self, reason: str) -> LockError:
        log.error("Teacher lock file %s is unusable: %s", self.path, reason)
        return LockError(
            "The teacher lock file cannot be read, so the PIN cannot be checked and the "
            f"locked areas stay locked. To reset the lock, an administrator deletes the file "
            f"{self.path} and then sets a new PIN.",
            detail=reason,
        )

    def _write(self, pin: str) -> None:
        record = {"version": FILE_VERSION, "hash": hash_pin(pin, iterations=self._iterations)}
        try:
            atomic_write_json(self.path, record, mode=0o600)
        except OSError as exc:
            raise LockError(
                f"The teacher PIN could not be saved in {self.path}: {exc.strerror or exc}.",
                detail=str(exc),
            ) from exc

    # ------------------------------------------------------------------ checks
    def verify(self, pin: str) -> bool:
        """True when ``pin`` is the teacher PIN (False when none is set).

        Raises:
            LockThrottled: too many wrong tries; the PIN was not checked.
            LockError: the lock file exists but cannot be used (message names the file).
        """
        if not self.is_set:
            return False
        with self._guard:
            wait = self.retry_after_s
            if wait > 0:
                raise LockThrottled(wait)
            ok = _matches(pin, self._read_hash())
            if ok:
                self._failures = 0
                self._not_before = 0.0
            else:
                self._failures += 1
                if self._failures >= FREE_TRIES:
                    extra = self._failures - FREE_TRIES
                    delay = min(MAX_DELAY_S, FIRST_DELAY_S * 2.0**extra)
                    self._not_before = self._clock() + delay
                log.info("Wrong teacher PIN (%d in a row)", self._failures)
            return ok

    def _require(self, pin: str) -> None:
        if not self.verify(pin):
            raise LockError("The teacher PIN is wrong.")

    # ------------------------------------------------------------------ changes
    def set_pin(self, pin: str, *, current: str | None = None) -> None:
        """Set the teacher PIN; changing an existing one needs ``current``.

        Raises:
            LockError: ``pin`` is unusable, ``current`` is wrong or missing, the file is
                unusable or cannot be written.
        """
        check_new_pin(pin)
        if self.is_set:
            if current is None:
                raise LockError("A teacher PIN is already set; enter it to change it.")
            self._require(current)
        self._write(pin)
        self._unlocked = True
        log.info("Teacher PIN set")

    def clear(self, pin: str) -> None:
        """Remove the teacher lock (nothing is locked afterwards).

        Raises:
            LockError: wrong PIN, unusable lock file, or the file cannot be removed.
        """
        self._require(pin)
        try:
            self.path.unlink(missing_ok=True)
        except OSError as exc:
            raise LockError(
                f"The teacher lock file {self.path} could not be removed: {exc.strerror or exc}.",
                detail=str(exc),
            ) from exc
        self.lock()
        log.info("Teacher lock removed")

    # ------------------------------------------------------------------ session
    def unlock(self, pin: str) -> bool:
        """Unlock the locked areas for this session; False for a wrong PIN.

        Raises:
            LockThrottled, LockError: see :meth:`verify`.
        """
        if not self.is_set:
            return True
        ok = self.verify(pin)
        self._unlocked = ok or self._unlocked
        return ok

    def lock(self) -> None:
        """Lock again (end of the teacher's turn); the research confirmation ends too."""
        self._unlocked = False
        self._research_confirmed = False

    def confirm_research(self) -> None:
        """Record the teacher's confirmation of the research level for this session.

        Raises:
            LockError: no teacher PIN is set, or the session is not unlocked.
        """
        if not self.is_set:
            raise LockError("The research level needs a teacher PIN; set one first.")
        if not self._unlocked:
            raise LockError("Unlock with the teacher PIN to confirm the research level.")
        self._research_confirmed = True


def default_path(config_dir: Path) -> Path:
    """Where the lock file lives in a config folder."""
    return config_dir / FILE_NAME


__all__ = [
    "LOCKED_AREAS",
    "LockError",
    "LockThrottled",
    "LockedArea",
    "TeacherLock",
    "check_new_pin",
    "default_path",
    "hash_pin",
]
