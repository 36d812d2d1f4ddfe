"""Model files: SHA-256 verify speed, and download throughput against ``curl`` in the same run.

A file of random bytes (default 512 MB, written once) is served by an aiohttp server on
127.0.0.1 on a thread of its own (``FileResponse``: sendfile, ranges). Each round fetches it
once with ``curl -s -o`` and once with the app's downloader (httpx streaming into a
``.part`` file, SHA-256 while writing, fsync, atomic rename), alternating which goes first;
the hash check reads the finished file again as ``models verify --full`` does. Every
download lands in the page cache on a local disk, so the numbers are the cost of the client
itself, not of a network.

Run: ``python -m benchmarks.model_download [--mb 512] [--rounds 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from aiohttp import web

from ai4artsed_desktop.models.download import Downloader, DownloadRequest
from ai4artsed_desktop.models.verify import sha256_file

from ._stats import machine, summary


def _write_random(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(4 * 2**20)
    with path.open("wb") as out:
        left = size
        while left:
            piece = block[: min(left, len(block))]
            out.write(piece)
            digest.update(piece)
            left -= len(piece)
    return digest.hexdigest()


class _Server:
    """Serves one folder's files on a free loopback port from its own thread and loop."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._runner: web.AppRunner | None = None

    async def _file(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(self.folder / request.match_info["name"])

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            app = web.Application()
            app.router.add_get("/{name}", self._file)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

        self._loop.run_until_complete(start())
        self._ready.set()
        self._loop.run_forever()
        assert self._runner is not None
        self._loop.run_until_complete(self._runner.cleanup())

    def __enter__(self) -> _Server:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


def _curl(url: str, target: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["curl", "-s", "-f", "-o", str(target), url], check=True)
    return time.perf_counter() - start


def _ours(url: str, target: Path, size: int, sha: str) -> float:
    request = DownloadRequest(target.name, (url,), target, size=size, sha256=sha)
    start = time.perf_counter()
    result = asyncio.run(Downloader(request).run())
    elapsed = time.perf_counter() - start
    assert result.verified
    return elapsed


def _mb_s(size: int, seconds: list[float]) -> float:
    return size / 1e6 / statistics.median(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=512, help="file size in MB (10^6 bytes)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if shutil.which("curl") is None:
        print("curl is not installed; the comparison needs it")
        return 1
    size = args.mb * 10**6
    print(f"# model_download ({machine()})")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        served = base / "served"
        served.mkdir()
        source = served / "model.bin"
        sha = _write_random(source, size)
        hashing: list[float] = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            assert sha256_file(source) == sha
            hashing.append(time.perf_counter() - start)
        curl_s: list[float] = []
        ours_s: list[float] = []
        with _Server(served) as server:
            url = f"{server.url}/model.bin"
            for index in range(args.rounds):
                got_curl, got_ours = base / "curl.bin", base / "ours.bin"
                order = [True, False] if index % 2 == 0 else [False, True]
                for use_curl in order:
                    if use_curl:
                        curl_s.append(_curl(url, got_curl))
                    else:
                        ours_s.append(_ours(url, got_ours, size, sha))
                assert got_curl.stat().st_size == got_ours.stat().st_size == size
                got_curl.unlink()
                got_ours.unlink()
    print(summary(f"SHA-256 verify of {args.mb} MB", [s * 1000 for s in hashing]))
    print(f"SHA-256 verify speed: {_mb_s(size, hashing):.0f} MB/s")
    print(summary(f"download {args.mb} MB, curl", [s * 1000 for s in curl_s]))
    print(summary(f"download {args.mb} MB, app downloader", [s * 1000 for s in ours_s]))
    curl_rate, ours_rate = _mb_s(size, curl_s), _mb_s(size, ours_s)
    print(f"download throughput: curl {curl_rate:.0f} MB/s, app {ours_rate:.0f} MB/s")
    print(
        f"ratio app / curl throughput (medians): {ours_rate / curl_rate:.2f}"
        " (the app also hashes, fsyncs and renames)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
