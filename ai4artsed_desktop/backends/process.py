"""ProcessSupervisor: one state machine for every managed child (Ollama, SwarmUI, ComfyUI, Kohya).

Lazy start behind a double-checked lock, readiness by HTTP probe and/or log line, output
drained into the child's own log, crash detection with backoff restarts, whole-tree stop,
and pid records so that a server left over from an earlier app run is adopted or removed.

Typical use (a backend service owns one supervisor per managed backend)::

    sup = ProcessSupervisor(launchers.ollama_spec(settings.ollama), log_dir=paths.log_dir,
                            state_dir=paths.state_dir, on_state=view_model_callback)
    await sup.ensure_ready()      # before every request; cheap once the server is ready
    ...
    await sup.stop()              # at app exit (ordered shutdown)

States: not_installed, stopped -> starting -> ready -> crashed -> restarting -> ready, and
failed when a start fails or the restart budget is used up. A trainer uses ``one_shot``
specs, ``add_line_listener`` for progress and ``wait_exit`` for the result. A spec with
``installs`` (SwarmUI's first start builds) says ``installing`` instead of ``starting``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from ..errors import AppError, BackendNotInstalled, BackendUnavailable
from ..events import BackendState
from ..system import processes
from .process_errors import (
    advice_and_detail,
    check_port,
    early_exit_error,
    resolve_argv,
    timeout_error,
)
from .process_kill import handle_for, remove_leftover, stop_tree
from .process_output import LineListener, OutputPump
from .process_platform import attach_to_job, child_env, signal_group, spawn_options
from .process_record import PidRecord, RecordFile
from .process_state import StateListener, StateNotifier
from .process_types import LaunchSpec, OutputLine, ProcessOutcome, RestartPolicy

__all__ = [
    "LaunchSpec",
    "OutputLine",
    "ProcessOutcome",
    "ProcessSupervisor",
    "RestartPolicy",
]

log = logging.getLogger(__name__)

#: How often an adopted server (not our child, so no ``wait()``) is checked for life.
ADOPTED_POLL = 0.25
#: Output lines kept in error details and outcomes.
DETAIL_LINES = 40
_KILL_GRACE_ON_FAILURE = 3.0


@dataclass(eq=False)
class _Run:
    """One process we watch: our own child, or an adopted server (``proc`` None).

    ``borrowed``: an adopted server that another running app process owns (the window while
    a headless ``run`` works): used, never stopped, its record left to its owner.
    """

    pid: int
    create_time: float | None
    proc: asyncio.subprocess.Process | None
    handle: psutil.Process | None = None
    started: float = field(default_factory=time.monotonic)
    exited: asyncio.Future[ProcessOutcome] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    first_line: int = 0
    ready_at: float | None = None
    watcher: asyncio.Task[None] | None = None
    killer: asyncio.Task[None] | None = None
    borrowed: bool = False

    def alive(self) -> bool:
        if self.exited.done():
            return False
        return processes.is_alive(self.pid, self.create_time)


class ProcessSupervisor(StateNotifier):
    """Owns one managed child process and its life cycle (see module docstring).

    State changes are reported to listeners as :class:`BackendStateChanged` events, in order,
    from the event loop. ``on_state`` is the first listener.
    """

    def __init__(
        self,
        spec: LaunchSpec,
        *,
        log_dir: Path,
        state_dir: Path,
        on_state: StateListener | None = None,
        restart: RestartPolicy | None = None,
    ) -> None:
        super().__init__(spec.name, on_state)
        self.spec = spec
        self.log_file = log_dir / f"{spec.log_name or spec.name}.log"
        self._record = RecordFile(state_dir, spec.name)
        self._policy = restart if restart is not None else RestartPolicy()
        self._lock = asyncio.Lock()
        self._pump = OutputPump(spec.logger_name, ready_line=spec.ready_line)
        self._run: _Run | None = None
        self._last_run: _Run | None = None
        self._restart_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._restarts = 0
        self._attempts = 0
        self._last_error: AppError | None = None
        self._last_crash: tuple[float, str] | None = None

    # ------------------------------------------------------------------ observation
    @property
    def pid(self) -> int | None:
        """The pid of the running server (own child or adopted), else None."""
        run = self._run
        return run.pid if run is not None and not run.exited.done() else None

    @property
    def adopted(self) -> bool:
        """True when the running server was left over from an earlier app run."""
        return self._run is not None and self._run.proc is None

    def crashed_since(self, since: float) -> str | None:
        """Why the server stopped unexpectedly after ``since`` (``time.monotonic()``), or None.

        E.g. "ComfyUI was killed by signal 9 (SIGKILL)." — kept while the supervisor
        restarts it, so that a client that lost the server can say what happened.
        """
        crash = self._last_crash
        return crash[1] if crash is not None and crash[0] >= since else None

    @property
    def tail(self) -> Sequence[str]:
        """The last output lines of the child (both streams, plus supervisor notes)."""
        return tuple(self._pump.tail)

    def add_line_listener(self, listener: LineListener) -> Callable[[], None]:
        """Call ``listener`` for every output line (the trainer parses progress this way)."""
        return self._pump.add_listener(listener)

    async def wait_exit(self) -> ProcessOutcome:
        """Wait until the current (or most recent) process has exited; return how it ended.

        Raises:
            RuntimeError: nothing was ever started.
        """
        run = self._run or self._last_run
        if run is None:
            raise RuntimeError(f"{self.spec.name}: no process was started")
        return await asyncio.shield(run.exited)

    # ------------------------------------------------------------------ control
    async def ensure_ready(self) -> None:
        """Start the server unless it runs; return when it is ready (lazy start).

        Concurrent callers share one start: the lock is double-checked, and callers that
        waited for a start that failed get that start's error instead of starting again.

        Raises:
            AppError: ``BackendNotInstalled``, ``PortInUse``, ``ProcessCrashed`` or
                ``BackendUnavailable`` with advice and the last output lines as detail.
        """
        if self._usable():
            return
        attempt = self._attempts
        async with self._lock:
            if self._usable():
                return
            if self._attempts != attempt and self._last_error is not None:
                raise self._last_error
            await self._start_locked()

    async def start(self) -> None:
        """Start now (same as :meth:`ensure_ready`; a running server is left alone)."""
        await self.ensure_ready()

    async def restart(self) -> None:
        """Stop, then start again (explicit; independent of the crash restart policy)."""
        await self.stop()
        await self.ensure_ready()

    async def stop(self, grace: float = 5.0) -> None:
        """Stop the server and its whole process tree; it is not restarted afterwards.

        SIGTERM (to the process group), ``grace`` seconds, then SIGKILL for whatever is left.
        A start in progress is interrupted.
        """
        self._stopping = True
        await self._cancel_restart()
        run = self._run
        if run is not None:
            await self._ensure_killed(run, grace)
        async with self._lock:
            self._run = None
            self._drop_record()
            if self._state is not BackendState.not_installed:
                self._set_state(BackendState.stopped, f"{self.spec.display_name} is stopped.")

    # ------------------------------------------------------------------ start
    def _usable(self) -> bool:
        run = self._run
        return self._state is BackendState.ready and run is not None and run.alive()

    async def _start_locked(self) -> None:
        self._stopping = False
        self._attempts += 1
        old, self._run = self._run, None
        if old is not None:
            await self._ensure_killed(old, _KILL_GRACE_ON_FAILURE)
        try:
            argv = resolve_argv(self.spec)
            if not await self._try_adopt():
                check_port(self.spec)
                await self._launch(argv)
        except AppError as exc:
            self._last_error = exc
            if self._stopping:
                self._set_state(BackendState.stopped, f"{self.spec.display_name} is stopped.")
            elif isinstance(exc, BackendNotInstalled):
                self._set_state(
                    BackendState.not_installed, exc.user_message, key=exc.key, params=exc.params
                )
            else:
                self._set_state(
                    BackendState.failed, exc.user_message, key=exc.key, params=exc.params
                )
            raise
        self._last_error = None

    async def _try_adopt(self) -> bool:
        """Adopt (or borrow) a recorded server that still answers, else clean up after it.

        A server whose recorded owner is another app process that still runs is never
        killed and its record never removed: it belongs to that live app.
        """
        record = self._record.read()
        if record is None:
            return False
        alive = processes.is_alive(record.pid, record.create_time)
        foreign = bool(record.owner) and record.owner != processes.owner_id()
        owned_elsewhere = foreign and processes.owner_alive(record.owner)
        if alive and self._matches(record) and await self._probe_once(self.spec.probe_timeout):
            self._adopt(record, borrowed=owned_elsewhere)
            return True
        if owned_elsewhere:
            log.info(
                "%s: pid %d belongs to the running app process %s; left alone",
                self.spec.name,
                record.pid,
                record.owner,
            )
            return False
        log.info("%s: removing leftover pid %d (alive: %s)", self.spec.name, record.pid, alive)
        await remove_leftover(
            record.pid, record.create_time, alive=alive, grace=_KILL_GRACE_ON_FAILURE
        )
        self._record.remove()
        return False

    def _matches(self, record: PidRecord) -> bool:
        spec = self.spec
        return (
            spec.ready_probe is not None
            and spec.port is not None
            and record.port == spec.port
            and record.argv == spec.argv
        )

    def _adopt(self, record: PidRecord, *, borrowed: bool) -> None:
        run = _Run(record.pid, record.create_time, None, borrowed=borrowed)
        if not borrowed:  # it is ours now: a later app start must not take it for a leftover
            self._write_record(run)
        run.first_line = self._pump.count
        run.ready_at = time.monotonic()
        self._run = self._last_run = run
        run.watcher = asyncio.get_running_loop().create_task(
            self._watch_adopted(run), name=f"{self.spec.name}-adopted"
        )
        how = "borrowed" if borrowed else "adopted"
        self._pump.emit("supervisor", f"{how} running server (pid {record.pid})")
        log.info("%s: %s pid %d on port %s", self.spec.name, how, record.pid, record.port)
        self._restarts = 0
        self._set_state(BackendState.ready, f"{self.spec.display_name} is ready.")

    async def _launch(self, argv: tuple[str, ...]) -> None:
        spec = self.spec
        if self._state is not BackendState.restarting:
            starting = spec.starting_message or f"{spec.display_name} is starting…"
            state = BackendState.installing if spec.installs else BackendState.starting
            self._set_state(state, starting)
        self._pump.reset()
        first_line = self._pump.count
        self._pump.emit("supervisor", f"starting: {' '.join(argv)}")
        proc = await self._spawn(argv)
        handle = handle_for(proc.pid)
        ctime = handle.create_time() if handle is not None else None
        run = _Run(proc.pid, ctime, proc, handle, first_line=first_line)
        self._run = self._last_run = run
        self._pump.attach(proc.stdout, proc.stderr)
        run.watcher = asyncio.get_running_loop().create_task(
            self._watch_child(run, proc), name=f"{spec.name}-watch"
        )
        try:
            await self._wait_ready(run)
        except BaseException as exc:
            await self._ensure_killed(run, _KILL_GRACE_ON_FAILURE)
            self._run = None
            if not isinstance(exc, AppError):  # cancelled: AppErrors are reported by the caller
                self._set_state(BackendState.stopped, f"{spec.display_name} is stopped.")
            raise
        self._on_ready(run)

    async def _spawn(self, argv: tuple[str, ...]) -> asyncio.subprocess.Process:
        spec = self.spec
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=spec.cwd,
                env=child_env(spec.env),
                **spawn_options(spec.new_session),
            )
        except OSError as exc:
            message = f"{spec.display_name} could not be started: {exc.strerror or exc}."
            detail = f"command: {list(argv)}\nfolder: {spec.cwd}\n{exc!r}"
            raise BackendUnavailable(
                message,
                detail=detail,
                key="error.backend_cannot_start",
                params={"backend": spec.display_name},
            ) from exc
        try:
            attach_to_job(proc.pid)
        except OSError as exc:  # Windows only; the child still runs, it may outlive a crash
            log.warning("%s: cannot add pid %d to the job object: %s", spec.name, proc.pid, exc)
        return proc

    async def _wait_ready(self, run: _Run) -> None:
        spec = self.spec
        loop = asyncio.get_running_loop()
        deadline = loop.time() + spec.startup_timeout
        while True:
            if self._stopping:
                raise BackendUnavailable(
                    f"{spec.display_name} was stopped before it was ready.",
                    key="error.backend_stopped_early",
                    params={"backend": spec.display_name},
                )
            if run.exited.done():
                raise early_exit_error(spec, run.exited.result(), self._lines(run), self.log_file)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise timeout_error(spec, self._lines(run), self.log_file)
            if self._pump.ready_line_seen.is_set() and await self._probe_once(remaining):
                return
            remaining = deadline - loop.time()
            await asyncio.wait([run.exited], timeout=max(0.0, min(spec.probe_interval, remaining)))

    async def _probe_once(self, budget: float) -> bool:
        probe = self.spec.ready_probe
        if probe is None:
            return True
        try:
            async with asyncio.timeout(max(0.01, min(self.spec.probe_timeout, budget))):
                return await probe()
        except (OSError, TimeoutError, AppError) as exc:
            log.debug("%s: probe failed: %r", self.spec.name, exc)
            return False

    def _on_ready(self, run: _Run) -> None:
        spec = self.spec
        run.ready_at = time.monotonic()
        self._write_record(run)
        log.info("%s ready (pid %d, port %s)", spec.name, run.pid, spec.port)
        self._set_state(BackendState.ready, f"{spec.display_name} is ready.")

    def _owned_elsewhere(self) -> bool:
        """True when the record on disk names another app process that still runs."""
        record = self._record.read()
        return (
            record is not None
            and bool(record.owner)
            and record.owner != processes.owner_id()
            and processes.owner_alive(record.owner)
        )

    def _drop_record(self) -> None:
        """Remove the record unless it belongs to another running app (then it is theirs)."""
        if not self._owned_elsewhere():
            self._record.remove()

    def _write_record(self, run: _Run) -> None:
        """Record ``run`` as ours, but never over another running app's record.

        That app's server would lose its clean-up; ours is then covered by the kernel's
        death signal.
        """
        spec = self.spec
        if run.create_time is None or self._owned_elsewhere():
            return
        try:
            self._record.write(
                run.pid, run.create_time, spec.port, spec.argv, owner=processes.owner_id()
            )
        except OSError as exc:
            log.error("%s: cannot write %s: %s", spec.name, self._record.path, exc)

    def _lines(self, run: _Run) -> list[str]:
        return self._pump.lines_since(run.first_line)[-DETAIL_LINES:]

    # ------------------------------------------------------------------ watching, crashes
    async def _watch_child(self, run: _Run, proc: asyncio.subprocess.Process) -> None:
        code = await proc.wait()
        await self._pump.drain(1.0)
        self._finish(run, code)

    async def _watch_adopted(self, run: _Run) -> None:
        # Not our child: no wait() is possible, so poll the process table.
        while True:
            if not processes.is_alive(run.pid, run.create_time):
                break
            await asyncio.sleep(ADOPTED_POLL)
        self._finish(run, None)

    def _finish(self, run: _Run, code: int | None) -> None:
        tail = tuple(self._lines(run))
        outcome = ProcessOutcome(self.spec.display_name, code, time.monotonic() - run.started, tail)
        run.exited.set_result(outcome)
        if run is not self._run or self._stopping or run.ready_at is None:
            return  # replaced, stopped on purpose, or still starting (the start reports it)
        self._run = None
        self._drop_record()
        if run.proc is not None and self.spec.new_session:
            signal_group(run.pid, kill=True)  # grandchildren must not keep port and VRAM
        if self.spec.one_shot:
            state = BackendState.stopped if outcome.ok else BackendState.failed
            self._set_state(
                state,
                str(outcome),
                key="" if outcome.ok else "backend.msg.exited",
                params={"backend": self.spec.display_name},
            )
            return
        advice, _detail = advice_and_detail(tail, self.log_file)
        log.warning("%s crashed: %s", self.spec.name, outcome.summary())
        self._last_crash = (time.monotonic(), outcome.summary())
        self._set_state(
            BackendState.crashed,
            f"{outcome.summary()}{advice}",
            key="backend.msg.crashed",
            params={"backend": self.spec.display_name},
        )
        if time.monotonic() - run.ready_at > self._policy.reset_after:
            self._restarts = 0
        self._schedule_restart()

    def _schedule_restart(self) -> None:
        policy, name = self._policy, self.spec.display_name
        if self._restarts >= policy.max_restarts:
            self._set_state(
                BackendState.failed,
                f"{name} stopped unexpectedly {self._restarts + 1} times and is not restarted "
                "automatically. Start it again from the backend status, and see the log.",
                key="backend.msg.gave_up",
                params={"backend": name, "count": self._restarts + 1},
            )
            return
        delay = policy.delay(self._restarts)
        self._restarts += 1
        self._set_state(BackendState.restarting, f"{name} stopped unexpectedly; restarting…")
        self._restart_task = asyncio.get_running_loop().create_task(
            self._restart_later(delay), name=f"{self.spec.name}-restart"
        )

    async def _restart_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        try:
            async with self._lock:
                if self._stopping or self._state is not BackendState.restarting:
                    return
                await self._start_locked()
        except AppError as exc:
            log.warning("%s: automatic restart failed: %s", self.spec.name, exc)

    async def _cancel_restart(self) -> None:
        task, self._restart_task = self._restart_task, None
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
            await asyncio.wait([task])

    # ------------------------------------------------------------------ killing
    async def _ensure_killed(self, run: _Run, grace: float) -> None:
        """Kill ``run``'s tree once, however many callers ask (shielded from cancellation).

        A borrowed server is only let go: its owner (another running app) stops it.
        """
        if run.borrowed:
            await self._let_go(run)
            return
        if run.killer is None:
            run.killer = asyncio.get_running_loop().create_task(
                self._kill(run, grace), name=f"{self.spec.name}-kill"
            )
        await asyncio.shield(run.killer)

    async def _let_go(self, run: _Run) -> None:
        if run.watcher is not None:
            run.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run.watcher
        if not run.exited.done():
            self._finish(run, None)

    async def _kill(self, run: _Run, grace: float) -> None:
        group = self.spec.new_session and run.proc is not None
        await stop_tree(run.pid, proc=run.proc, handle=run.handle, group=group, grace=grace)
        if run.watcher is not None:
            if run.proc is None:
                run.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run.watcher
        if not run.exited.done():
            self._finish(run, None)
