"""The one exception taxonomy: everything a user may see is an ``AppError``."""

from __future__ import annotations

from collections.abc import Mapping


class AppError(Exception):
    """An error with a message meant for a student or teacher, plus technical detail.

    ``user_message`` says what happened and what to do, in plain words (English: the log,
    the CLI). ``detail`` holds the raw text (server answer, log tail, exception) behind a
    "copy details" button. ``key`` (optional) names the same message in the UI's
    catalogues, ``params`` fill its ``{placeholders}``: the window shows it in the UI
    language and falls back to ``user_message`` when the key is unknown.
    """

    def __init__(
        self,
        user_message: str,
        *,
        detail: str = "",
        key: str = "",
        params: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.detail = detail
        self.key = key
        self.params = {name: str(value) for name, value in (params or {}).items()}

    def __str__(self) -> str:
        return self.user_message


class ConfigError(AppError):
    """A settings, content or profile file is unusable."""


class BackendUnavailable(AppError):
    """A backend cannot be reached or started right now."""


class BackendNotInstalled(BackendUnavailable):
    """The executable or folder of a managed backend was not found."""


class PortInUse(BackendUnavailable):
    """A foreign program holds the port a managed backend needs."""


class BackendProtocolError(AppError):
    """A backend answered something that does not follow its protocol."""


class BackendRequestError(AppError):
    """A backend understood the request and refused it (unknown model, bad graph, ...).

    ``status`` is the HTTP status (0 when the refusal came inside a 200 answer).
    """

    def __init__(
        self,
        user_message: str,
        *,
        detail: str = "",
        status: int = 0,
        key: str = "",
        params: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(user_message, detail=detail, key=key, params=params)
        self.status = status


class ProcessCrashed(AppError):
    """A managed child process exited while it was needed."""


class InsufficientResources(AppError):
    """Not enough GPU memory, disk space or RAM for the requested work."""


class UserCancelled(Exception):
    """The user stopped the operation; swallowed silently by the UI."""
