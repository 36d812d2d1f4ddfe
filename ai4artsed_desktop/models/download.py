"""Download one model file: resumable, checked while it is written, never half under its name.

The bytes go to ``<name>.part`` beside the target; SHA-256 is computed as they are written
(a resumed download first re-reads what it has). Only a complete file whose size and hash
match the catalogue (or, without a published hash, whose header is whole) is renamed to its
final name, atomically. Dropped connections are retried with growing pauses and continue
with an HTTP ``Range`` request; a server that ignores the range (200 instead of 206) makes
the download start over; 416 means the part is already complete or unusable.

Proxies come from the environment (``HTTPS_PROXY``, ``NO_PROXY``: httpx ``trust_env``),
redirects are followed (Hugging Face sends file requests on to its storage), and a
Hugging Face token (``HF_TOKEN``) is sent to Hugging Face only: httpx drops the
``Authorization`` header on a redirect to another host.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import os
import re
import shutil
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

import httpx

from ..errors import AppError, InsufficientResources, UserCancelled
from ..fileio import sync_folder
from ..pipeline.model_files import check_model_file
from .progress import Listener, Meter, Phase, TransferControl

log = logging.getLogger(__name__)

#: Bytes read from the network per chunk.
CHUNK = 1024 * 1024
#: Free space kept beyond the file itself (other programs need some, too).
DISK_MARGIN = 256 * 1024 * 1024
#: Tries per address after a dropped connection or a server error, and the pauses between.
RETRIES = 6
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0
#: The environment variable with a Hugging Face access token (Hugging Face's own name).
TOKEN_ENV = "HF_TOKEN"
TOKEN_HOSTS = ("huggingface.co", "hf.co")
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED = re.compile(r"bytes \*/(\d+)")
#: The catalogue keys of download errors: ``error.models_<reason>``.
KEY_PREFIX = "error.models_"

Opener = Callable[[Path], BinaryIO]
DiskFree = Callable[[Path], int]


class DownloadError(AppError):
    """A download that cannot succeed as things are.

    ``key`` is ``error.models_<reason>``; :attr:`reason` is one of ``not_found`` (404/410),
    ``gated`` (401/403: licence not accepted or no token), ``hash_mismatch``,
    ``size_mismatch``, ``damaged`` (not a model file), ``network`` (gave up after
    retries), ``server`` (another HTTP error).
    """

    def __init__(
        self,
        user_message: str,
        *,
        key: str,
        detail: str = "",
        params: Mapping[str, object] | None = None,
    ) -> None:
        if not key.startswith(KEY_PREFIX):
            raise ValueError(f"a download error's key starts with {KEY_PREFIX}: {key}")
        super().__init__(user_message, detail=detail, key=key, params=params)
        self.reason = key.removeprefix(KEY_PREFIX)


@dataclass(frozen=True)
class DownloadRequest:
    """What to fetch and what it must be.

    Attributes:
        name: The file name (for messages and progress).
        urls: Addresses, tried in order.
        target: The final path.
        size: The published size, when known (a different size is refused).
        sha256: The published hash, when known (a different hash is refused).
        approx_size: The size to check free disk space against when ``size`` is unknown.
        licence_page: Where the teacher accepts a gated licence (for the 401/403 message).
    """

    name: str
    urls: tuple[str, ...]
    target: Path
    size: int | None = None
    sha256: str | None = None
    approx_size: int = 0
    licence_page: str = ""

    @property
    def part(self) -> Path:
        """Where the bytes go until the file is complete and checked."""
        return self.target.with_name(self.target.name + ".part")


@dataclass(frozen=True)
class DownloadResult:
    """A finished download.

    Attributes:
        path: The final file.
        size: Its size.
        sha256: Its SHA-256 (computed while writing).
        verified: The hash was compared with a published one.
        resumed_from: Bytes that were already there from an earlier try.
    """

    path: Path
    size: int
    sha256: str
    verified: bool
    resumed_from: int


def default_token() -> str | None:
    """The Hugging Face token from the environment, if set."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    return token or None


def token_header(url: str, token: str | None) -> dict[str, str]:
    """The ``Authorization`` header for ``url``: only Hugging Face addresses get the token."""
    host = (urlsplit(url).hostname or "").lower()
    if token and any(host == h or host.endswith("." + h) for h in TOKEN_HOSTS):
        return {"Authorization": f"Bearer {token}"}
    return {}


def new_client() -> httpx.AsyncClient:
    """A client for downloads: proxies from the environment, redirects followed."""
    return httpx.AsyncClient(
        follow_redirects=True,
        trust_env=True,
        timeout=httpx.Timeout(30.0, read=60.0),
        headers={"User-Agent": "ai4artsed-desktop model downloader"},
    )


def _gb(count: int) -> str:
    return f"{count / 1e9:.1f} GB"


def _disk_free(path: Path) -> int:
    return shutil.disk_usage(path).free


def _open_append(path: Path) -> BinaryIO:
    return path.open("ab")


class _Retry(Exception):
    """The connection broke; try again from where the part ends."""


class _Restart(Exception):
    """The part cannot be continued; start again from byte 0."""


class _Complete(Exception):
    """416 for a part that already holds every byte: nothing more to fetch."""


class _Paused(Exception):
    """The teacher paused: the connection is closed; wait, then continue with a range."""


class _NextUrl(Exception):
    """This address cannot give the file; try the next one."""

    def __init__(self, error: DownloadError) -> None:
        super().__init__(error.user_message)
        self.error = error


class Downloader:
    """Downloads one :class:`DownloadRequest`.

    Args:
        request: What to fetch.
        client: The HTTP client (:func:`new_client` when None; then closed at the end).
        token: A Hugging Face token, sent to Hugging Face addresses only.
        control: Pause and cancel.
        listener: Progress events.
        opener: Opens the part file for appending (tests inject write failures).
        disk_free: Free bytes of the folder (tests inject a small disk).
        retries: Tries per address after dropped connections and server errors.
        backoff: The first pause between tries, in seconds (doubling up to 30 s).
    """

    def __init__(
        self,
        request: DownloadRequest,
        *,
        client: httpx.AsyncClient | None = None,
        token: str | None = None,
        control: TransferControl | None = None,
        listener: Listener | None = None,
        opener: Opener = _open_append,
        disk_free: DiskFree = _disk_free,
        retries: int = RETRIES,
        backoff: float = BACKOFF_FIRST_S,
    ) -> None:
        self.request = request
        self._client = client
        self._token = token
        self.control = control or TransferControl()
        self._meter = Meter(request.name, listener)
        self._opener = opener
        self._disk_free = disk_free
        self._retries = retries
        self._backoff = backoff
        self._hash = hashlib.sha256()
        self._offset = 0
        self._total: int | None = request.size

    # ------------------------------------------------------------------ public
    async def run(self) -> DownloadResult:
        """Download, check and move the file into place.

        Raises:
            DownloadError: 404, licence not accepted, wrong hash or size, gave up.
            InsufficientResources: not enough free disk space, or the disk filled up.
            UserCancelled: cancelled (the part file is removed).
        """
        request = self.request
        request.target.parent.mkdir(parents=True, exist_ok=True)
        try:
            resumed = self._prepare_part()
            self._check_space()
            if self._client is None:
                async with new_client() as client:
                    await self._fetch(client)
            else:
                await self._fetch(self._client)
            return self._finish(resumed)
        except UserCancelled:
            with contextlib.suppress(OSError):
                request.part.unlink()
            raise

    # ------------------------------------------------------------------ steps
    def _prepare_part(self) -> int:
        """Re-hash a partial download left by an earlier try; returns its length."""
        part, size = self.request.part, self.request.size
        if not part.exists():
            return 0
        length = part.stat().st_size
        if size is not None and length > size:
            log.info("%s: partial file longer than the published size; starting over", part)
            part.unlink()
            return 0
        self._meter.update(Phase.checking, 0, length, force=True)
        with part.open("rb") as handle:
            while chunk := handle.read(4 * CHUNK):
                self.control.check()
                self._hash.update(chunk)
        self._offset = length
        log.info("%s: resuming after %d bytes", self.request.name, length)
        return length

    def _check_space(self) -> None:
        request = self.request
        wanted = (request.size or request.approx_size) - self._offset
        if wanted <= 0:
            return
        free = self._disk_free(request.target.parent)
        if free < wanted + DISK_MARGIN:
            raise InsufficientResources(
                f"Not enough free disk space for '{request.name}': it needs {_gb(wanted)} "
                f"more, {_gb(free)} are free in {request.target.parent}. Free some space "
                "and try again.",
                detail=f"free={free} needed={wanted} margin={DISK_MARGIN}",
                key="error.models_disk_space",
                params={"name": request.name, "needed": _gb(wanted), "free": _gb(free)},
            )

    def _headers(self, url: str) -> dict[str, str]:
        headers = {"Accept-Encoding": "identity", **token_header(url, self._token)}
        if self._offset:
            headers["Range"] = f"bytes={self._offset}-"
        return headers

    async def _fetch(self, client: httpx.AsyncClient) -> None:
        last: DownloadError | None = None
        for url in self.request.urls:
            try:
                await self._fetch_from(client, url)
                return
            except _NextUrl as moved_on:
                log.info("%s: %s", url, moved_on.error.detail or moved_on.error.user_message)
                last = moved_on.error
        assert last is not None
        raise last

    async def _fetch_from(self, client: httpx.AsyncClient, url: str) -> None:
        failures = 0
        while True:
            await self._wait_if_paused()
            before = self._offset
            try:
                await self._one_request(client, url)
                return
            except _Complete:
                return
            except _Paused:
                continue
            except _Restart:
                self._truncate()
                continue
            except _Retry as broke:
                failures = 0 if self._offset > before else failures + 1
                if failures >= self._retries:
                    raise DownloadError(
                        f"The download of '{self.request.name}' kept breaking off "
                        f"({failures} tries). Check the internet connection and try again; "
                        "what was downloaded is kept.",
                        key="error.models_network",
                        detail=f"{url}: {broke}",
                        params={"name": self.request.name},
                    ) from None
                pause = min(BACKOFF_MAX_S, self._backoff * 2 ** max(0, failures - 1))
                log.info("%s: %s; next try in %.1f s", self.request.name, broke, pause)
                self._meter.update(Phase.retrying, self._offset, self._total, force=True)
                await self.control.sleep(pause)

    async def _wait_if_paused(self) -> None:
        if self.control.paused:
            self._meter.update(Phase.paused, self._offset, self._total, force=True)
            await self.control.wait_running()
            self._meter.restart(self._offset)
        self.control.check()

    async def _one_request(self, client: httpx.AsyncClient, url: str) -> None:
        try:
            async with client.stream("GET", url, headers=self._headers(url)) as response:
                self._judge(response, url)
                await self._receive(response)
        except (httpx.TransportError, httpx.StreamError) as exc:
            raise _Retry(f"{type(exc).__name__}: {exc}") from exc
        if self._total is not None and self._offset < self._total:
            raise _Retry(f"the answer ended after {self._offset} of {self._total} bytes")

    def _judge(self, response: httpx.Response, url: str) -> None:
        """Check the status and what the server offers; set the total."""
        status = response.status_code
        name = self.request.name
        if status == 206:
            match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
            if match is None or int(match.group(1)) != self._offset:
                raise _Restart()
            if match.group(3) != "*":
                self._offer(int(match.group(3)), url)
            return
        if status == 200:
            if self._offset:
                log.info("%s: the server ignored the range request; starting over", name)
                self._truncate()
            length = response.headers.get("Content-Length")
            if length is not None and length.isdigit():
                self._offer(int(length), url)
            return
        if status == 416:
            # "Range Not Satisfiable": complete when the part already has every byte (the
            # answer's "Content-Range: bytes */N" tells N when the size is not published).
            total = self._total
            unsatisfied = _UNSATISFIED.fullmatch(response.headers.get("Content-Range", ""))
            if total is None and unsatisfied is not None:
                total = int(unsatisfied.group(1))
            if self._offset and total == self._offset:
                self._total = total
                raise _Complete()
            raise _Restart()
        if status == 429 or status >= 500:
            raise _Retry(f"HTTP {status}")
        raise _NextUrl(self._refusal(status, url))

    def _refusal(self, status: int, url: str) -> DownloadError:
        """The error for a status that this address will not change its mind about."""
        name = self.request.name
        if status in (404, 410):
            return DownloadError(
                f"'{name}' is no longer at its download address (HTTP {status}). "
                "An update of the app may know the new one.",
                key="error.models_not_found",
                detail=f"{url}: HTTP {status}",
                params={"name": name},
            )
        if status in (401, 403):
            page = self.request.licence_page or url
            return DownloadError(
                f"The publisher of '{name}' lets only signed-in users who accepted its "
                f"licence download it (HTTP {status}). Accept the licence at {page}, "
                f"create an access token in your Hugging Face settings and give it to "
                f"the app (environment variable {TOKEN_ENV}), then try again.",
                key="error.models_gated",
                detail=f"{url}: HTTP {status}",
                params={"name": name, "page": page, "env": TOKEN_ENV},
            )
        return DownloadError(
            f"The server refused the download of '{name}' (HTTP {status}).",
            key="error.models_server",
            detail=f"{url}: HTTP {status}",
            params={"name": name, "status": status},
        )

    def _offer(self, total: int, url: str) -> None:
        expected = self.request.size
        if expected is not None and total != expected:
            raise _NextUrl(
                DownloadError(
                    f"The server offers another file than the published '{self.request.name}' "
                    f"({total} bytes instead of {expected}). It was not downloaded.",
                    key="error.models_size_mismatch",
                    detail=f"{url}: {total} != {expected}",
                    params={"name": self.request.name},
                )
            )
        self._total = total

    async def _receive(self, response: httpx.Response) -> None:
        self._meter.restart(self._offset)
        chunks = response.aiter_raw(CHUNK)
        async with contextlib.aclosing(chunks):  # type: ignore[type-var]
            await self._write_chunks(chunks)

    async def _write_chunks(self, chunks: AsyncIterator[bytes]) -> None:
        """Write and hash each chunk on a worker thread while the next one arrives.

        One chunk is in flight at a time, so the file, the hash and ``_offset`` always
        agree; every exit waits for it before the file is closed.
        """
        received = self._offset
        pending: asyncio.Future[None] | None = None
        paused = False
        with self._opener(self.request.part) as out:
            try:
                async for chunk in chunks:
                    self.control.check()
                    if self._total is not None and received + len(chunk) > self._total:
                        raise _Restart()  # more bytes than announced: not the file we want
                    if pending is not None:
                        await pending
                    pending = asyncio.ensure_future(asyncio.to_thread(self._store, out, chunk))
                    received += len(chunk)
                    self._meter.update(Phase.downloading, received, self._total)
                    if self.control.paused:
                        paused = True
                        break
            finally:
                if pending is not None:
                    await asyncio.wait({pending})
            if pending is not None:
                pending.result()  # a failed write (disk full) ends the download here
            out.flush()
            if paused:
                raise _Paused()  # closes the connection; _fetch_from waits, then resumes
            os.fsync(out.fileno())

    def _store(self, out: BinaryIO, chunk: bytes) -> None:
        """Append ``chunk`` to the part and the hash (on a worker thread)."""
        self._write(out, chunk)
        self._hash.update(chunk)
        self._offset += len(chunk)

    def _write(self, out: BinaryIO, chunk: bytes) -> None:
        try:
            out.write(chunk)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise InsufficientResources(
                    f"The disk filled up while '{self.request.name}' was downloading. Free "
                    "some space and try again: the part downloaded so far is kept and "
                    "the download continues from there.",
                    detail=f"{self.request.part}: {exc}",
                    key="error.models_disk_full",
                    params={"name": self.request.name},
                ) from exc
            raise

    def _truncate(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.request.part.unlink()
        self._hash = hashlib.sha256()
        self._offset = 0
        self._total = self.request.size

    def _finish(self, resumed: int) -> DownloadResult:
        request, part = self.request, self.request.part
        digest = self._hash.hexdigest()
        size = part.stat().st_size if part.exists() else 0
        self._meter.update(Phase.verifying, size, size, force=True)
        if request.size is not None and size != request.size:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"The download of '{request.name}' has {size} bytes instead of the published "
                f"{request.size}; it was removed. Try again.",
                key="error.models_size_mismatch",
                detail=f"{part}: {size} != {request.size}",
                params={"name": request.name},
            )
        if request.sha256 is not None and digest != request.sha256:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"The downloaded '{request.name}' is not the published file (its SHA-256 "
                "differs); it was removed. Try again; if it happens again the server sends "
                "a changed or damaged file.",
                key="error.models_hash_mismatch",
                detail=f"{part}: sha256 {digest} != {request.sha256}",
                params={"name": request.name},
            )
        check = check_model_file(part, request.size, suffix=request.target.suffix)
        if check.damaged:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"The downloaded '{request.name}' is not a usable model file "
                f"({check.health.value}); it was removed.",
                key="error.models_damaged",
                detail=check.detail,
                params={"name": request.name},
            )
        os.replace(part, request.target)
        sync_folder(request.target.parent)
        self._meter.update(Phase.done, size, size, force=True)
        log.info("%s: downloaded, %d bytes, sha256 %s", request.target, size, digest)
        return DownloadResult(request.target, size, digest, request.sha256 is not None, resumed)
