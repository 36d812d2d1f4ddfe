"""Model downloads against a rude file host on 127.0.0.1 (tests/fakes/file_server.py).

Ranges, dropped connections and resume, a server that ignores ranges, 416, redirects, 404
and 403, wrong hashes, a slow server with cancel and pause, a disk that fills up during the
download (an ``OSError(ENOSPC)`` from the file layer) and the free-space check before it,
proxies from the environment.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from ai4artsed_desktop.errors import InsufficientResources, UserCancelled
from ai4artsed_desktop.models.download import Downloader, DownloadError, DownloadRequest
from ai4artsed_desktop.models.progress import Phase, TransferControl, TransferProgress
from tests.fakes.file_server import Faults, FileHost, file_host
from tests.fakes.safetensors_files import safetensors_bytes

NAME = "model.safetensors"
#: A real safetensors file of about 2.4 MB, so the header check passes too.
DATA = safetensors_bytes({f"w{i}": ("F16", (200_000,)) for i in range(6)})
SHA = hashlib.sha256(DATA).hexdigest()

pytestmark = pytest.mark.asyncio


@pytest.fixture
def host() -> Iterator[FileHost]:
    with file_host({NAME: DATA}) as served:
        yield served


@pytest.fixture(autouse=True)
def _no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)


def _request(host: FileHost, tmp_path: Path, **changes: object) -> DownloadRequest:
    values: dict[str, object] = {
        "name": NAME,
        "urls": (host.url(NAME),),
        "target": tmp_path / "models" / NAME,
        "size": len(DATA),
        "sha256": SHA,
        "approx_size": len(DATA),
    }
    values.update(changes)
    return DownloadRequest(**values)  # type: ignore[arg-type]


def _fast(request: DownloadRequest, **options: object) -> Downloader:
    options.setdefault("backoff", 0.01)
    return Downloader(request, **options)  # type: ignore[arg-type]


def _ranges(host: FileHost) -> list[str | None]:
    return [s.range for s in host.requests_for(NAME)]


async def test_a_plain_download_lands_whole_under_its_name(host: FileHost, tmp_path: Path) -> None:
    events: list[TransferProgress] = []
    request = _request(host, tmp_path)
    result = await _fast(request, listener=events.append).run()
    assert request.target.read_bytes() == DATA
    assert not request.part.exists()
    assert (result.sha256, result.verified, result.size, result.resumed_from) == (
        SHA,
        True,
        len(DATA),
        0,
    )
    assert events[-1].phase is Phase.done
    assert events[-1].done == events[-1].total == len(DATA)


async def test_redirects_are_followed(host: FileHost, tmp_path: Path) -> None:
    host.faults[NAME] = Faults(redirects=2)
    request = _request(host, tmp_path)
    await _fast(request).run()
    assert request.target.read_bytes() == DATA
    assert [s.status for s in host.seen] == [302, 302, 200]


async def test_a_dropped_connection_resumes_with_a_range_request(
    host: FileHost, tmp_path: Path
) -> None:
    half = len(DATA) // 2
    host.faults[NAME] = Faults(drop_after=half, drops=1)
    request = _request(host, tmp_path)
    await _fast(request).run()
    assert request.target.read_bytes() == DATA
    ranges = _ranges(host)
    assert ranges[0] is None
    assert len(ranges) == 2
    assert ranges[1] is not None
    resumed_at = int(ranges[1].removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= half  # what reached the disk before the hang-up
    assert [s.status for s in host.requests_for(NAME)] == [200, 206]


async def test_a_part_left_by_an_earlier_run_is_rehashed_and_continued(
    host: FileHost, tmp_path: Path
) -> None:
    request = _request(host, tmp_path)
    request.part.parent.mkdir(parents=True)
    request.part.write_bytes(DATA[:100_000])
    events: list[TransferProgress] = []
    result = await _fast(request, listener=events.append).run()
    assert request.target.read_bytes() == DATA
    assert result.resumed_from == 100_000
    assert _ranges(host) == ["bytes=100000-"]
    assert events[0].phase is Phase.checking


async def test_a_server_that_ignores_the_range_makes_the_download_start_over(
    host: FileHost, tmp_path: Path
) -> None:
    host.faults[NAME] = Faults(ignore_range=True)
    request = _request(host, tmp_path)
    request.part.parent.mkdir(parents=True)
    request.part.write_bytes(DATA[:100_000])
    await _fast(request).run()
    assert request.target.read_bytes() == DATA  # not the first 100 kB twice
    assert [s.status for s in host.requests_for(NAME)] == [200]


async def test_a_range_answer_starting_elsewhere_restarts_from_zero(
    host: FileHost, tmp_path: Path
) -> None:
    host.faults[NAME] = Faults(range_start_wrong=True)
    request = _request(host, tmp_path)
    request.part.parent.mkdir(parents=True)
    request.part.write_bytes(DATA[:100_000])
    await _fast(request).run()
    assert request.target.read_bytes() == DATA
    assert _ranges(host) == ["bytes=100000-", None]


async def test_416_for_a_complete_part_finishes_without_downloading_again(
    host: FileHost, tmp_path: Path
) -> None:
    request = _request(host, tmp_path, size=None)  # the size is learnt from the server
    request.part.parent.mkdir(parents=True)
    request.part.write_bytes(DATA)
    result = await _fast(request).run()
    assert request.target.read_bytes() == DATA
    assert result.verified
    assert [s.status for s in host.requests_for(NAME)] == [416]


async def test_a_wrong_hash_removes_the_file_and_names_it(host: FileHost, tmp_path: Path) -> None:
    request = _request(host, tmp_path, sha256="0" * 64)
    with pytest.raises(DownloadError) as caught:
        await _fast(request).run()
    assert caught.value.reason == "hash_mismatch"
    assert NAME in caught.value.user_message
    assert "removed" in caught.value.user_message
    assert not request.target.exists()
    assert not request.part.exists()


async def test_another_announced_size_is_refused_before_downloading(
    host: FileHost, tmp_path: Path
) -> None:
    request = _request(host, tmp_path, size=len(DATA) + 1, sha256=None)
    with pytest.raises(DownloadError) as caught:
        await _fast(request).run()
    assert caught.value.reason == "size_mismatch"
    assert not request.target.exists()


async def test_a_file_that_is_no_model_is_removed_when_no_hash_is_published(
    host: FileHost, tmp_path: Path
) -> None:
    host.files["page.safetensors"] = b"<html>Sign in to continue</html>"
    request = _request(
        host,
        tmp_path,
        name="page.safetensors",
        urls=(host.url("page.safetensors"),),
        target=tmp_path / "page.safetensors",
        size=None,
        sha256=None,
    )
    with pytest.raises(DownloadError) as caught:
        await _fast(request).run()
    assert caught.value.reason == "damaged"
    assert not request.target.exists()
    assert not request.part.exists()


async def test_404_tries_the_next_address_and_says_so_when_none_has_it(
    host: FileHost, tmp_path: Path
) -> None:
    request = _request(host, tmp_path, urls=(host.url("gone.bin"), host.url(NAME)))
    await _fast(request).run()
    assert request.target.read_bytes() == DATA

    only_gone = _request(host, tmp_path / "b", urls=(host.url("gone.bin"),))
    with pytest.raises(DownloadError) as caught:
        await _fast(only_gone).run()
    assert caught.value.reason == "not_found"
    assert "404" in caught.value.user_message


async def test_403_tells_the_teacher_to_accept_the_licence_and_give_a_token(
    host: FileHost, tmp_path: Path
) -> None:
    host.faults[NAME] = Faults(status=403)
    request = _request(host, tmp_path, licence_page="https://huggingface.co/org/model")
    with pytest.raises(DownloadError) as caught:
        await _fast(request).run()
    error = caught.value
    assert error.reason == "gated"
    assert "https://huggingface.co/org/model" in error.user_message
    assert "HF_TOKEN" in error.user_message
    assert error.key == "error.models_gated"


async def test_server_errors_are_retried_with_backoff(host: FileHost, tmp_path: Path) -> None:
    host.faults[NAME] = Faults(status=503, status_times=2)
    request = _request(host, tmp_path)
    await _fast(request).run()
    assert request.target.read_bytes() == DATA
    assert [s.status for s in host.requests_for(NAME)] == [503, 503, 200]


async def test_it_gives_up_after_the_retries_and_keeps_the_part(
    host: FileHost, tmp_path: Path
) -> None:
    host.faults[NAME] = Faults(drop_after=0, drops=100)
    request = _request(host, tmp_path)
    with pytest.raises(DownloadError) as caught:
        await _fast(request, retries=3).run()
    assert caught.value.reason == "network"
    assert len(host.requests_for(NAME)) == 3
    assert not request.target.exists()


async def test_cancel_on_a_slow_server_stops_and_removes_the_part(
    host: FileHost, tmp_path: Path
) -> None:
    host.faults[NAME] = Faults(chunk_delay=0.02)
    control = TransferControl()

    def on_progress(event: TransferProgress) -> None:
        if event.phase is Phase.downloading:
            control.cancel()

    request = _request(host, tmp_path)
    with pytest.raises(UserCancelled):
        await _fast(request, control=control, listener=on_progress).run()
    assert not request.target.exists()
    assert not request.part.exists()


async def test_pause_closes_the_connection_and_resume_continues_with_a_range(
    host: FileHost, tmp_path: Path
) -> None:
    host.faults[NAME] = Faults(chunk_delay=0.005)
    control = TransferControl()
    phases: list[Phase] = []
    loop = asyncio.get_running_loop()

    def on_progress(event: TransferProgress) -> None:
        phases.append(event.phase)
        if event.phase is Phase.downloading and not control.paused and len(phases) < 3:
            control.pause()
        if event.phase is Phase.paused:
            loop.call_soon(control.resume)

    request = _request(host, tmp_path)
    await _fast(request, control=control, listener=on_progress).run()
    assert request.target.read_bytes() == DATA
    assert Phase.paused in phases
    ranges = _ranges(host)
    assert ranges[0] is None
    assert ranges[1] is not None
    assert ranges[1].startswith("bytes=")


class _FillingDisk(io.RawIOBase):
    """A file that takes ``room`` bytes, then fails as a full disk does."""

    def __init__(self, path: Path, room: int) -> None:
        self._file = path.open("ab")
        self._room = room

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        chunk = bytes(data)  # type: ignore[call-overload]
        if len(chunk) > self._room:
            self._file.write(chunk[: self._room])
            self._file.flush()
            self._room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self._room -= len(chunk)
        return self._file.write(chunk)

    def fileno(self) -> int:
        return self._file.fileno()

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()

    def close(self) -> None:
        self._file.close()
        super().close()


async def test_a_full_disk_leaves_nothing_under_the_final_name_and_the_part_resumes(
    host: FileHost, tmp_path: Path
) -> None:
    request = _request(host, tmp_path)

    def small_disk(path: Path) -> BinaryIO:
        return _FillingDisk(path, 1_500_000)  # type: ignore[return-value]

    with pytest.raises(InsufficientResources) as caught:
        await _fast(request, opener=small_disk).run()
    assert "disk filled up" in caught.value.user_message
    assert not request.target.exists()
    kept = request.part.stat().st_size
    assert 0 < kept <= 1_500_000

    # Space freed: the next try continues from the part and ends whole.
    result = await _fast(request).run()
    assert result.resumed_from == kept
    assert _ranges(host)[-1] == f"bytes={kept}-"
    assert request.target.read_bytes() == DATA


async def test_too_little_free_space_is_refused_before_any_request(
    host: FileHost, tmp_path: Path
) -> None:
    request = _request(host, tmp_path)
    with pytest.raises(InsufficientResources) as caught:
        await _fast(request, disk_free=lambda _path: 1_000_000).run()
    assert "Not enough free disk space" in caught.value.user_message
    assert NAME in caught.value.user_message
    assert host.seen == []


async def test_the_proxy_comes_from_the_environment(
    host: FileHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file host doubles as the proxy: httpx sends the absolute address to it.
    monkeypatch.setenv("HTTP_PROXY", host.base_url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    request = _request(host, tmp_path, urls=(f"http://models.invalid/files/{NAME}",))
    await _fast(request).run()  # models.invalid cannot resolve: only the proxy reaches it
    assert request.target.read_bytes() == DATA
