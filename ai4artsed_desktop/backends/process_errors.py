"""Pre-start checks and user-facing start errors of the supervisor, enriched by diagnostics."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from ..errors import BackendNotInstalled, BackendUnavailable, PortInUse, ProcessCrashed
from ..system import processes
from .diagnostics import diagnose
from .process_types import LaunchSpec, ProcessOutcome

#: "Not found" with the install advice of each program, in the UI catalogues.
NOT_FOUND_KEYS = {
    "ollama": "error.backend_not_found.ollama",
    "comfyui": "error.backend_not_found.comfyui",
    "swarmui": "error.backend_not_found.swarmui",
    "kohya": "error.backend_not_found.kohya",
}


def resolve_argv(spec: LaunchSpec) -> tuple[str, ...]:
    """``spec.argv`` with the program resolved through ``shutil.which``.

    Raises:
        BackendNotInstalled: the program or one of ``spec.required_paths`` is missing.
    """
    exe = shutil.which(spec.argv[0], path=spec.env.get("PATH"))
    missing = [p for p in spec.required_paths if not p.exists()]
    if exe is not None and not missing:
        return (exe, *spec.argv[1:])
    what = str(missing[0]) if exe is not None else spec.argv[0]
    message = f"{spec.display_name} was not found ({what})."
    if spec.install_hint:
        message = f"{message} {spec.install_hint}"
    raise BackendNotInstalled(
        message,
        detail=f"{message}\nargv: {list(spec.argv)}\nmissing: {what}",
        key=NOT_FOUND_KEYS.get(spec.name, "error.backend_not_found"),
        params={"backend": spec.display_name, "missing": what},
    )


def check_port(spec: LaunchSpec) -> None:
    """Make sure nobody listens on the spec's port.

    Raises:
        PortInUse: naming the program that holds it ("another program" when hidden).
    """
    if spec.port is None:
        return
    owner = processes.port_owner(spec.port)
    if owner is None:
        return
    message = (
        f"{spec.display_name} cannot start: port {spec.port} is already used by "
        f"{owner.describe()}. Stop that program, or choose another port for "
        f"{spec.display_name} in Settings."
    )
    raise PortInUse(
        message,
        detail=f"port {spec.port}: {owner}",
        key="error.port_in_use",
        params={"backend": spec.display_name, "port": spec.port, "owner": owner.describe()},
    )


def advice_and_detail(lines: Sequence[str], log_file: Path, extra: str = "") -> tuple[str, str]:
    """``(" <advice>" or "", detail text)`` for the output ``lines`` of a failed child."""
    advice = diagnose(lines)
    sentence = f" {advice.title} {advice.action}" if advice else ""
    head = [extra] if extra else []
    return sentence, "\n".join([*head, f"Log file: {log_file}", "Last output:", *lines])


def early_exit_error(
    spec: LaunchSpec, outcome: ProcessOutcome, lines: Sequence[str], log_file: Path
) -> ProcessCrashed:
    """The child exited before it was ready."""
    advice, detail = advice_and_detail(lines, log_file)
    return ProcessCrashed(
        f"{spec.display_name} stopped while starting: {outcome.summary()}"
        f"{advice} See the log for details.",
        detail=f"{outcome.summary()}{advice}\n{detail}",
        key="error.backend_start_died",
        params={"backend": spec.display_name},
    )


def timeout_error(spec: LaunchSpec, lines: Sequence[str], log_file: Path) -> BackendUnavailable:
    """The child did not become ready within ``spec.startup_timeout``."""
    advice, detail = advice_and_detail(lines, log_file, f"Command: {' '.join(spec.argv)}")
    return BackendUnavailable(
        f"{spec.display_name} did not become ready within {spec.startup_timeout:g} seconds "
        f"and was stopped.{advice} See the log for details.",
        detail=f"{advice.strip()}\n{detail}".strip(),
        key="error.backend_start_timeout",
        params={"backend": spec.display_name, "seconds": f"{spec.startup_timeout:g}"},
    )
