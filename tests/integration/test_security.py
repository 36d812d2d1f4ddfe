"""Security checks (issue 7, item 4; the code sandbox is tested elsewhere).

* path traversal: file names a server hands back never lead outside their folder (ComfyUI
  output files, SwarmUI image paths, media names in the run store), property-tested and
  against a hostile ComfyUI server on 127.0.0.1;
* API keys never reach a log record, an error text or a formatted traceback, whatever an
  OpenAI-compatible server echoes back;
* every child server (demo simulators, managed launch specs) listens on 127.0.0.1 only;
* the settings file and the teacher-lock file are readable by the user only (0600), even
  with a permissive umask. (Both promise it; run folders make no such promise.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ntpath
import os
import posixpath
import stat
import traceback
from collections.abc import AsyncIterator, Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath
from urllib.parse import unquote

import httpx
import psutil
import pytest
import pytest_asyncio
from aiohttp import web
from hypothesis import given, settings
from hypothesis import strategies as st

from ai4artsed_desktop.backends import launchers
from ai4artsed_desktop.backends.comfyui import ComfyClient
from ai4artsed_desktop.backends.comfyui_parsing import check_output_file
from ai4artsed_desktop.backends.manager import BackendManager
from ai4artsed_desktop.backends.swarmui_parsing import view_url_path
from ai4artsed_desktop.errors import (
    AppError,
    BackendProtocolError,
    BackendRequestError,
    BackendUnavailable,
)
from ai4artsed_desktop.events import OutputFile
from ai4artsed_desktop.paths import AppPaths
from ai4artsed_desktop.pipeline.prompts import Message
from ai4artsed_desktop.pipeline.providers import OpenAICompatibleProvider
from ai4artsed_desktop.settings import BackendSettings, Settings, save
from ai4artsed_desktop.store.media import check_media_name
from ai4artsed_desktop.teacher_lock import MIN_ITERATIONS, TeacherLock

FUZZ = settings(max_examples=300, deadline=None, derandomize=True)

# Path pieces an attacker would combine: parents, roots, drives, separators, NUL, encodings.
_PIECES = st.sampled_from(
    ["..", ".", "", "a", "b.png", "C:", "c:", "\\", "/", "\x00", "~", "%2e%2e", " ", "..."]
)
_PATHS = st.lists(_PIECES | st.text(alphabet="./\\:a\x00 ", max_size=4), max_size=6).map(
    "".join
) | st.lists(_PIECES, max_size=5).map("/".join)

# ================================================================= path traversal


def _inside_posix(base: str, *parts: str) -> bool:
    joined = posixpath.normpath(posixpath.join(base, *parts))
    return joined.startswith(base + "/")


def _inside_windows(base: str, *parts: str) -> bool:
    joined = ntpath.normpath(ntpath.join(base, *parts))
    return joined.lower().startswith(base.lower() + "\\")


@FUZZ
@given(filename=_PATHS, subfolder=_PATHS, kind=st.sampled_from(["output", "temp", "x", ""]))
def test_accepted_comfy_output_files_stay_inside_their_folder(
    filename: str, subfolder: str, kind: str
) -> None:
    file = OutputFile(filename, subfolder, kind)
    try:
        check_output_file(file)
    except BackendProtocolError:
        return
    assert "\x00" not in filename + subfolder
    # The server's own folder, on either operating system ...
    assert _inside_posix("/srv/comfy/output", subfolder, filename)
    assert _inside_windows("C:\\comfy\\output", subfolder, filename)
    # ... and our download folder (ComfyClient.download keeps the base name only).
    assert Path("/dl", os.path.basename(filename)).parent == Path("/dl")


@FUZZ
@given(name=_PATHS | st.text(max_size=12))
def test_accepted_media_names_are_one_plain_component(name: str) -> None:
    try:
        check_media_name(name)
    except ValueError:
        return
    assert PurePosixPath(name).parts == (name,)
    assert PureWindowsPath(name).parts == (name,)
    assert name not in (".", "..")
    assert not name.endswith((".", " "))  # Windows would silently strip these


@FUZZ
@given(path=_PATHS)
def test_accepted_swarm_image_paths_never_climb(path: str) -> None:
    try:
        url_path = view_url_path(path)
    except BackendRequestError:
        return
    segments = url_path[1:].split("/")
    assert url_path.startswith("/")
    assert all(s not in ("", ".", "..") for s in segments)
    assert all("/" not in unquote(s) and unquote(s) not in (".", "..") for s in segments)
    assert posixpath.normpath(url_path) == url_path
    # httpx sends the path exactly as built (no re-normalisation that could undo the check).
    assert httpx.URL("http://127.0.0.1:1" + url_path).raw_path.decode() == url_path


HOSTILE_FILES = [
    {"filename": "../../../.bashrc", "subfolder": "", "type": "output"},
    {"filename": "evil.png", "subfolder": "../../..", "type": "output"},
    {"filename": "/etc/passwd", "subfolder": "", "type": "output"},
    {"filename": "evil.png", "subfolder": "/etc", "type": "output"},
    {"filename": "..\\..\\evil.png", "subfolder": "", "type": "output"},
    {"filename": "C:evil.png", "subfolder": "", "type": "output"},
    {"filename": "evil.png", "subfolder": "D:\\Users", "type": "output"},
    {"filename": "evil.png\x00.txt", "subfolder": "", "type": "output"},
    {"filename": "sub/evil.png", "subfolder": "", "type": "output"},
    {"filename": "evil.png", "subfolder": "", "type": "../output"},
]
GOOD_FILE = {"filename": "ComfyUI_00001_.png", "subfolder": "run", "type": "output"}


@pytest_asyncio.fixture
async def hostile_comfy() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """A 'ComfyUI' whose history names files outside its folders; records /view calls."""
    views: list[dict[str, str]] = []

    async def history(request: web.Request) -> web.Response:
        prompt_id = request.match_info["prompt_id"]
        outputs = {"9": {"images": [*HOSTILE_FILES, GOOD_FILE]}}
        entry = {"outputs": outputs, "status": {"status_str": "success", "completed": True}}
        return web.json_response({prompt_id: entry})

    async def view(request: web.Request) -> web.Response:
        views.append(dict(request.query))
        return web.Response(body=b"\x89PNG fake", content_type="image/png")

    app = web.Application()
    app.router.add_get("/history/{prompt_id}", history)
    app.router.add_get("/view", view)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", views
    finally:
        await runner.cleanup()


@pytest.mark.asyncio
async def test_hostile_comfy_history_names_are_refused_before_any_request(
    hostile_comfy: tuple[str, list[dict[str, str]]], tmp_path: Path
) -> None:
    url, views = hostile_comfy
    dest = tmp_path / "dest"
    dest.mkdir()
    async with ComfyClient(url) as client:
        entry = await client.history("p1")
        assert entry is not None
        *bad, good = entry.outputs
        assert len(bad) == len(HOSTILE_FILES)
        for file in bad:
            with pytest.raises(BackendProtocolError):
                await client.view(file)
            with pytest.raises(BackendProtocolError):
                await client.download(file, dest)
        saved = await client.download(good, dest)
    assert views == [GOOD_FILE]  # no hostile name ever reached the server
    assert saved == dest / "ComfyUI_00001_.png"
    tree = await asyncio.to_thread(lambda: sorted(tmp_path.rglob("*")))
    assert [p.relative_to(tmp_path) for p in tree] == [
        Path("dest"),
        Path("dest/ComfyUI_00001_.png"),
    ]


# ================================================================= API keys

KEY = "sk-proj-Secr3t_Key-0123456789abcdef"
KEY_ENV = "SECURITY_TEST_API_KEY"

# model -> (status, body) the server answers; every body echoes the key it was sent.
ECHOES: dict[str, tuple[int, str]] = {
    "bad-request": (400, '{"error": {"message": "Malformed request with key %s"}}'),
    "unauthorized": (401, '{"error": {"message": "Incorrect API key provided: %s"}}'),
    "forbidden": (403, '{"error": "key %s has no access"}'),
    "missing": (404, '{"message": "No model for key %s"}'),
    "quota": (429, '{"detail": "Quota used up for %s"}'),
    "crash": (500, "Internal error while handling %s"),
    "busy": (503, '{"error": {"message": "overloaded (key %s)"}}'),
    "plain": (418, "I am a teapot and your key is %s"),
    "midstream": (200, 'data: {"error": {"message": "upstream refused %s"}}\n\n'),
    "garbage": (200, "data: {not json %s\n\n"),
}


async def _echo(request: web.Request) -> web.StreamResponse:
    body = await request.json()
    key = request.headers.get("Authorization", "").removeprefix("Bearer ")
    status, template = ECHOES[body["model"]]
    text = template % key
    if status != 200:
        return web.Response(status=status, text=text, content_type="application/json")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    chunk = {"choices": [{"index": 0, "delta": {"content": "Hel"}, "finish_reason": None}]}
    await response.write(f"data: {web.json_response(chunk).text}\n\n".encode())
    await response.write(text.encode())
    await response.write_eof()
    return response


@pytest_asyncio.fixture
async def echo_server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/v1/chat/completions", _echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
    finally:
        await runner.cleanup()


def _texts_of(error: BaseException) -> list[str]:
    texts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    if isinstance(error, AppError):
        texts += [error.user_message, error.detail]
    return texts


@pytest.mark.asyncio
@pytest.mark.parametrize("model", list(ECHOES))
async def test_api_key_echoed_by_the_server_never_reaches_logs_or_errors(
    echo_server: str, model: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # everything: our loggers, httpx, httpcore, asyncio
    provider = OpenAICompatibleProvider(
        echo_server, KEY_ENV, "echo", env={KEY_ENV: f"  {KEY}\n"}, trust_env=False
    )
    try:
        with pytest.raises((BackendRequestError, BackendProtocolError, BackendUnavailable)) as info:
            await provider.chat_once(model, [Message("user", "hello")])
    finally:
        await provider.aclose()
    assert caplog.records, "the request should have been logged (without the key)"
    logged = [caplog.text] + [
        f"{record.getMessage()} {record.args!r} {record.exc_text or ''}"
        for record in caplog.records
    ]
    for text in logged + _texts_of(info.value):
        assert KEY not in text
    assert "***" in info.value.detail  # the echo was there and was redacted


# ================================================================= loopback only


def _listening(proc: psutil.Process) -> list[str]:
    """``ip`` of every TCP socket ``proc`` listens on."""
    with contextlib.suppress(psutil.NoSuchProcess):
        return [
            c.laddr.ip for c in proc.net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN
        ]
    return []


@pytest_asyncio.fixture
async def demo_manager(tmp_path: Path) -> AsyncIterator[BackendManager]:
    paths = AppPaths.under(tmp_path / "app")
    paths.ensure()
    manager = BackendManager(Settings(), paths, demo=True)
    try:
        yield manager
    finally:
        await manager.shutdown()


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_demo_simulators_listen_on_loopback_only(demo_manager: BackendManager) -> None:
    await demo_manager.ollama()
    await demo_manager.comfy()
    await demo_manager.swarm()
    children = psutil.Process().children(recursive=True)
    addresses = {child.pid: _listening(child) for child in children}
    # Ollama, ComfyUI, SwarmUI and (when SwarmUI starts one) its ComfyUI child.
    assert sum(1 for ips in addresses.values() if ips) >= 3, addresses
    assert {ip for ips in addresses.values() for ip in ips} == {"127.0.0.1"}, addresses


def test_managed_launch_specs_bind_loopback(tmp_path: Path) -> None:
    backend = BackendSettings(path=str(tmp_path))
    ollama = launchers.ollama_spec(backend, port=1234)
    assert ollama.env["OLLAMA_HOST"] == "127.0.0.1:1234"
    for spec, flag in (
        (launchers.comfyui_spec(backend, port=1235), "--listen"),
        (launchers.swarmui_spec(backend, port=1236), "--host"),
    ):
        argv = list(spec.argv)
        assert argv[argv.index(flag) + 1] == "127.0.0.1"
        assert argv.count(flag) == 1
        assert not any("0.0.0.0" in part or part == "*" for part in argv)


# ================================================================= file permissions


@contextlib.contextmanager
def permissive_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_settings_file_is_user_only_even_when_it_existed_before(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{}", encoding="utf-8")
    path.chmod(0o644)
    with permissive_umask():
        save(Settings(), path)
        assert _mode(path) == 0o600
        fresh = tmp_path / "new" / "settings.json"
        save(Settings(), fresh)
        assert _mode(fresh) == 0o600
    assert not [p for p in tmp_path.rglob(".*") if p.is_file()]  # no temp file left behind


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_teacher_lock_file_is_user_only(tmp_path: Path) -> None:
    lock = TeacherLock(tmp_path / "teacher_lock.json", iterations=MIN_ITERATIONS)
    with permissive_umask():
        lock.set_pin("4711")
        assert _mode(lock.path) == 0o600
        lock.set_pin("0815", current="4711")
        assert _mode(lock.path) == 0o600
    assert "4711" not in lock.path.read_text(encoding="utf-8")
    assert "0815" not in lock.path.read_text(encoding="utf-8")
