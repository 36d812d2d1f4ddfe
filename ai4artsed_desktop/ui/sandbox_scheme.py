"""The confined web profile of the code sandbox: a custom scheme and a request guard.

The ``ai4a-sandbox:`` scheme serves exactly five things from memory: the sandbox page, our
runner script, the bundled p5.js and Tone.js, and the student's code of the current run.
Nothing is served from disk by path. A request interceptor on the sandbox's own
off-the-record profile blocks and logs every other request (http, https, file, ws, other
schemes). Every run gets a fresh profile, so nothing a sketch stores (IndexedDB, Cache API)
reaches the next one, and nothing is written to disk. :func:`register_sandbox_scheme` must
run before the ``QApplication`` exists; it also caps the JavaScript heap of the web engine's
renderer processes.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QUrl, QUrlQuery
from PySide6.QtWebEngineCore import (
    QWebEngineDownloadRequest,
    QWebEngineProfile,
    QWebEngineSettings,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
    QWebEngineUrlRequestJob,
    QWebEngineUrlScheme,
    QWebEngineUrlSchemeHandler,
)

from ..paths import resources_dir

log = logging.getLogger(__name__)

SCHEME = "ai4a-sandbox"
HOST = "app"
PAGE_PATH = "/sandbox.html"
CODE_PATH = "/code.js"
# Served names -> (file under resources/web, MIME type). The code is added per run.
BUNDLED = {
    PAGE_PATH: ("sandbox.html", "text/html"),
    "/runner.js": ("runner.js", "text/javascript"),
    "/p5.min.js": ("p5.min.js", "text/javascript"),
    "/Tone.js": ("Tone.js", "text/javascript"),
}
# Schemes a page may use besides ours: in-memory data made by the page itself
# (Tone.js loads its AudioWorklet from a blob: URL).
INTERNAL_SCHEMES = {SCHEME, "blob", "data"}
# V8's old-generation limit for the renderers (Chromium's default is several GiB): a sketch
# that piles up objects without end ends its renderer within a second or two instead of
# filling the computer's memory. Ordinary sketches and pieces use well under 100 MiB.
JS_HEAP_LIMIT_MB = 512
CHROMIUM_FLAGS_ENV = "QTWEBENGINE_CHROMIUM_FLAGS"

_registered = False
# Bundled files, read once per process (every run's profile has its own handler).
_bundled_cache: dict[str, bytes] = {}


def web_dir() -> Path:
    """Where the bundled web files live."""
    return resources_dir() / "web"


def register_sandbox_scheme() -> None:
    """Register the sandbox scheme with QtWebEngine (once, before the QApplication exists).

    Importing ``QtWebEngineWidgets`` here also satisfies QtWebEngine's rule that it is
    loaded before the application object is created.
    """
    global _registered
    if _registered:
        return
    limit_js_heap()
    import PySide6.QtWebEngineWidgets  # noqa: F401  (must be imported before QApplication)

    scheme = QWebEngineUrlScheme(SCHEME.encode())
    scheme.setSyntax(QWebEngineUrlScheme.Syntax.Host)
    scheme.setFlags(QWebEngineUrlScheme.Flag.SecureScheme)  # AudioWorklet needs a secure origin
    QWebEngineUrlScheme.registerScheme(scheme)
    _registered = True


def limit_js_heap(limit_mb: int = JS_HEAP_LIMIT_MB) -> None:
    """Add ``--js-flags=--max-old-space-size`` to Chromium's flags (before QtWebEngine starts).

    Flags the user set keep priority: an existing ``--js-flags`` is left alone.
    """
    flags = os.environ.get(CHROMIUM_FLAGS_ENV, "")
    if "--js-flags" in flags:
        log.info("Chromium flags already set --js-flags; the sandbox heap limit is not added")
        return
    os.environ[CHROMIUM_FLAGS_ENV] = f"{flags} --js-flags=--max-old-space-size={limit_mb}".strip()


def sandbox_url(path: str, run: int, query: dict[str, str] | None = None) -> QUrl:
    """The URL of one served file for run number ``run``."""
    url = QUrl()
    url.setScheme(SCHEME)
    url.setHost(HOST)
    url.setPath(path)
    items = {"run": str(run), **(query or {})}
    q = QUrlQuery()
    for key, value in items.items():
        q.addQueryItem(key, value)
    url.setQuery(q)
    return url


def is_sandbox_page(url: QUrl) -> bool:
    """True for our sandbox page (any run)."""
    return url.scheme() == SCHEME and url.host() == HOST and url.path() == PAGE_PATH


@dataclass
class BlockedRequest:
    """One request the guard refused (kept for the panel and for tests)."""

    url: str
    kind: str  # "request", "navigation", "window", "download", "permission"


@dataclass
class SandboxLog:
    """Blocked requests of the current profile (newest last, bounded)."""

    items: list[BlockedRequest] = field(default_factory=list)
    limit: int = 200

    def add(self, url: str, kind: str) -> None:
        """Record and log one blocked request."""
        log.warning("Code sandbox blocked a %s: %s", kind, url[:300])
        self.items.append(BlockedRequest(url[:2000], kind))
        del self.items[: -self.limit]


class SandboxSchemeHandler(QWebEngineUrlSchemeHandler):
    """Serves the sandbox page, the runner, p5.js, Tone.js and the current code; nothing else."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.code = ""
        self.run = 0

    def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:
        """Answer one request from memory or fail it."""
        url = job.requestUrl()
        data, mime = self._lookup(url)
        if data is None or bytes(job.requestMethod().data()) != b"GET":
            log.info("Code sandbox: no such file %s", url.toString()[:300])
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        buffer = QBuffer(job)  # deleted with the job
        buffer.setData(QByteArray(data))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        job.reply(mime.encode(), buffer)

    def _lookup(self, url: QUrl) -> tuple[bytes | None, str]:
        if url.host() != HOST:
            return None, ""
        path = url.path()
        if path == CODE_PATH:
            return self.code.encode("utf-8"), "text/javascript"
        entry = BUNDLED.get(path)
        if entry is None:
            return None, ""
        name, mime = entry
        if name not in _bundled_cache:
            _bundled_cache[name] = (web_dir() / name).read_bytes()
        return _bundled_cache[name], mime


class SandboxInterceptor(QWebEngineUrlRequestInterceptor):
    """Blocks every request that does not stay inside the sandbox scheme."""

    def __init__(self, record: SandboxLog, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._record = record

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        """Let our scheme (and in-page blob:/data:) through; block and log the rest."""
        url = info.requestUrl()
        if url.scheme() in INTERNAL_SCHEMES and (url.scheme() != SCHEME or url.host() == HOST):
            return
        info.block(True)
        self._record.add(url.toString(), "request")


def _harden(settings: QWebEngineSettings) -> None:
    attr = QWebEngineSettings.WebAttribute
    off = (
        attr.LocalStorageEnabled,
        attr.JavascriptCanAccessClipboard,
        attr.JavascriptCanPaste,
        attr.LocalContentCanAccessRemoteUrls,
        attr.LocalContentCanAccessFileUrls,
        attr.PluginsEnabled,
        attr.PdfViewerEnabled,
        attr.ScreenCaptureEnabled,
        attr.AllowRunningInsecureContent,
        attr.AllowGeolocationOnInsecureOrigins,
        attr.DnsPrefetchEnabled,
        attr.HyperlinkAuditingEnabled,
        attr.NavigateOnDropEnabled,
        attr.AutoLoadIconsForPage,
        attr.TouchIconsEnabled,
        attr.AllowWindowActivationFromJavaScript,
        attr.FullScreenSupportEnabled,
        attr.ErrorPageEnabled,
    )
    for item in off:
        settings.setAttribute(item, False)
    settings.setAttribute(attr.PlaybackRequiresUserGesture, True)
    # window.open must reach createWindow(), which refuses and logs it.
    settings.setAttribute(attr.JavascriptCanOpenWindows, True)
    settings.setAttribute(attr.WebRTCPublicInterfacesOnly, True)
    settings.setAttribute(attr.JavascriptEnabled, True)


def _refuse_download(record: SandboxLog, download: QWebEngineDownloadRequest) -> None:
    record.add(download.url().toString(), "download")
    download.cancel()


@dataclass
class SandboxProfile:
    """The sandbox's profile with its scheme handler, guard and record of blocked requests.

    Keep this object: QtWebEngine holds only raw pointers to the handler and the
    interceptor, so their Python objects must stay referenced here.
    """

    profile: QWebEngineProfile
    handler: SandboxSchemeHandler
    interceptor: SandboxInterceptor
    blocked: SandboxLog


def make_sandbox_profile(parent: QObject, record: SandboxLog | None = None) -> SandboxProfile:
    """An off-the-record profile with the scheme handler and the guard installed.

    Its storage (IndexedDB, Cache API, session storage) lives in memory and goes with the
    profile; local storage is off and cookies are never kept. ``record`` carries the
    blocked requests over from an earlier profile.
    """
    profile = QWebEngineProfile(parent)  # no storage name: off the record
    profile.setHttpCacheType(QWebEngineProfile.HttpCacheType.NoCache)
    profile.setPersistentCookiesPolicy(
        QWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies
    )
    profile.setPersistentPermissionsPolicy(
        QWebEngineProfile.PersistentPermissionsPolicy.AskEveryTime
    )
    profile.setSpellCheckEnabled(False)
    record = record if record is not None else SandboxLog()
    handler = SandboxSchemeHandler(profile)
    interceptor = SandboxInterceptor(record, profile)
    profile.installUrlSchemeHandler(SCHEME.encode(), handler)
    profile.setUrlRequestInterceptor(interceptor)
    profile.downloadRequested.connect(lambda download: _refuse_download(record, download))
    _harden(profile.settings())
    return SandboxProfile(profile, handler, interceptor, record)
