"""The confined web profile of the code sandbox: a custom scheme and a request guard.

The ``ai4a-sandbox:`` scheme serves exactly five things from memory: the sandbox page, our
runner script, the bundled p5.js and Tone.js, and the student's code of the current run.
Nothing is served from disk by path. Every answer carries a strict Content-Security-Policy
and Permissions-Policy; what the policy blocks, the browser reports back to this handler.
A request interceptor on the sandbox's own off-the-record profile blocks and logs every
other request (http, https, file, ws, other schemes), and ``harden.js`` runs in every frame
before the page's own scripts. Every run gets a fresh profile, so nothing a sketch stores
reaches the next one, and nothing is written to disk. :func:`register_sandbox_scheme` must
run before the ``QApplication`` exists; it also caps the JavaScript heap of the web engine's
renderer processes and adds the Chromium switches that leave the browser no way out.
``docs/sandbox.md`` lists every channel and the layers that close it.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QUrl, QUrlQuery
from PySide6.QtWebEngineCore import (
    QWebEngineDownloadRequest,
    QWebEngineProfile,
    QWebEngineScript,
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
RUNNER_PATH = "/runner.js"
REPORT_PATH = "/policy-report"
HARDEN_FILE = "harden.js"
# Replaced in runner.js by the run's secret, on the first request of a run only.
SECRET_PLACEHOLDER = b"__AI4A_RUN_SECRET__"
POLICY_BLOCKED = "a request the page's security policy refused"
BUNDLED = {
    PAGE_PATH: ("sandbox.html", "text/html"),
    RUNNER_PATH: ("runner.js", "text/javascript"),
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
# Sent with every file the scheme serves (the page, and so every worker, worklet and iframe
# it makes, which inherit the page's policy). Scripts only from us or from the page's own
# blobs (Tone.js loads its AudioWorklet from one); no connection anywhere but blob:/data:;
# no frames, objects, forms, base or manifest. See docs/sandbox.md for every channel.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        f"script-src {SCHEME}: blob: 'unsafe-eval'",
        "worker-src blob:",
        f"style-src {SCHEME}: 'unsafe-inline'",
        f"img-src {SCHEME}: blob: data:",
        "media-src blob: data:",
        "font-src blob: data:",
        "connect-src blob: data:",
        "child-src 'none'",
        "frame-src 'none'",
        "fenced-frame-src 'none'",
        "object-src 'none'",
        "form-action 'none'",
        "base-uri 'none'",
        "manifest-src 'none'",
        # The browser reports what the policy blocked to our own handler, which logs it:
        # such requests never reach the interceptor.
        f"report-uri {SCHEME}://{HOST}{REPORT_PATH}",
    )
)
# Powerful features off for the page and every frame: sign-in (FedCM), clipboard, devices.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "identity-credentials-get",
        "publickey-credentials-get",
        "publickey-credentials-create",
        "otp-credentials",
        "clipboard-read",
        "clipboard-write",
        "camera",
        "microphone",
        "display-capture",
        "geolocation",
        "usb",
        "serial",
        "hid",
        "bluetooth",
        "payment",
        "local-fonts",
        "storage-access",
        "window-management",
        "browsing-topics",
        "attribution-reporting",
        "join-ad-interest-group",
        "run-ad-auction",
        "private-state-token-issuance",
        "private-state-token-redemption",
        "direct-sockets",
    )
)
RESPONSE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
# Chromium switches for the whole web engine (only the sandbox uses it). Browser-initiated
# traffic that no request interceptor sees is switched off at the source, and whatever is
# left has nowhere to go: every host name fails to resolve and every connection would go
# through a proxy whose name fails to resolve too.
# Checked by tests/ui/test_sandbox_channels.py (see docs/sandbox.md): the proxy (with the
# implicit loopback bypass removed) stops TURN over TCP, preconnect and every other
# connection; the WebRTC policy stops STUN over UDP; FedCm off removes the sign-in API.
# ("WebTransport" and "NetworkPrediction" as feature names were tried and changed nothing
# in this Chromium, so they are not listed.) The last three are cheap extra hardening
# whose effect no test here can see.
NO_NETWORK_FLAGS = (
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-features=FedCm",
    "--disable-background-networking",
    "--dns-prefetch-disable",
    "--no-pings",
)

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
    add_chromium_flags(NO_NETWORK_FLAGS)
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


def add_chromium_flags(flags: tuple[str, ...]) -> None:
    """Add ``flags`` to Chromium's flags (before QtWebEngine starts); the user's stay first.

    A switch the user already set (by name) is not added again.
    """
    current = os.environ.get(CHROMIUM_FLAGS_ENV, "")
    names = {item.split("=", 1)[0] for item in current.split()}
    extra = [flag for flag in flags if flag.split("=", 1)[0] not in names]
    os.environ[CHROMIUM_FLAGS_ENV] = " ".join([current, *extra]).strip()


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
    kind: str  # "request", "policy", "navigation", "window", "download", "permission", "file"


class LogBudget:
    """At most ``per_window`` log lines per ``window_s``; the rest is counted and summed up."""

    def __init__(self, per_window: int = 30, window_s: float = 10.0) -> None:
        self.per_window = per_window
        self.window_s = window_s
        self._start = time.monotonic()
        self._used = 0
        self.suppressed = 0

    def allow(self) -> bool:
        """True when one more line may be logged now."""
        now = time.monotonic()
        if now - self._start >= self.window_s:
            if self.suppressed:
                log.warning(
                    "Code sandbox: %d more lines were not logged (too many)", self.suppressed
                )
            self._start, self._used, self.suppressed = now, 0, 0
        if self._used < self.per_window:
            self._used += 1
            return True
        self.suppressed += 1
        return False


@dataclass
class SandboxLog:
    """Blocked requests of the current profile (newest last, bounded); log lines rate-limited.

    Entries come only from the browser side: the request interceptor, the scheme handler
    (policy reports), and the page's navigation, window, download, permission and file
    hooks. Nothing the page prints to its console becomes an entry.
    """

    items: list[BlockedRequest] = field(default_factory=list)
    limit: int = 200
    budget: LogBudget = field(default_factory=LogBudget)

    def add(self, url: str, kind: str) -> None:
        """Record and log one blocked request."""
        self.items.append(BlockedRequest(url[:2000], kind))
        del self.items[: -self.limit]
        if self.budget.allow():
            log.warning("Code sandbox blocked a %s: %s", kind, url[:300])


def _header_map(headers: dict[str, str]) -> dict[QByteArray, list[QByteArray]]:
    # PySide6 takes a QMultiMap as a dict of lists (a plain dict is silently dropped).
    return {QByteArray(k.encode()): [QByteArray(v.encode())] for k, v in headers.items()}


class SandboxSchemeHandler(QWebEngineUrlSchemeHandler):
    """Serves the sandbox page, the runner, p5.js, Tone.js and the current code; nothing else.

    Every answer carries the sandbox's security headers. The runner gets this run's
    :attr:`secret` written into it, once per run. Policy reports (what the page's
    Content-Security-Policy blocked) are recorded in ``record``.
    """

    def __init__(self, record: SandboxLog, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.code = ""
        self.secret = ""
        self._record = record
        self._runner_served = False

    def start_run(self, code: str, secret: str) -> None:
        """The code and secret of the next run (the runner may be served once more)."""
        self.code, self.secret = code, secret
        self._runner_served = False

    def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:
        """Answer one request from memory or fail it."""
        url = job.requestUrl()
        method = bytes(job.requestMethod().data())
        if method == b"POST" and url.host() == HOST and url.path() == REPORT_PATH:
            self._take_report(job)
            return
        data, mime = self._lookup(url)
        if data is None or method != b"GET":
            log.info("Code sandbox: no such file %s", url.toString()[:300])
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        self._reply(job, data, mime)

    def _reply(self, job: QWebEngineUrlRequestJob, data: bytes, mime: str) -> None:
        buffer = QBuffer(job)  # deleted with the job
        buffer.setData(QByteArray(data))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        # The stubs say dict[QByteArray, QByteArray]; the binding wants lists (a QMultiMap).
        job.setAdditionalResponseHeaders(_header_map(RESPONSE_HEADERS))  # type: ignore[arg-type]
        job.reply(mime.encode(), buffer)

    def _take_report(self, job: QWebEngineUrlRequestJob) -> None:
        # The report's body (the blocked URL) cannot be read: QWebEngineUrlRequestJob's
        # requestBody() crashes on these requests (PySide6 6.11). The entry says what
        # happened without the address.
        self._record.add(POLICY_BLOCKED, "policy")
        self._reply(job, b"", "text/plain")

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
        data = bundled(name)
        if path == RUNNER_PATH:
            # The secret only on the run's first request: a sketch that loads the runner
            # again gets one without it.
            secret = b"" if self._runner_served else self.secret.encode("ascii")
            self._runner_served = True
            data = data.replace(SECRET_PLACEHOLDER, secret)
        return data, mime


def bundled(name: str) -> bytes:
    """A bundled web file (read once per process)."""
    if name not in _bundled_cache:
        _bundled_cache[name] = (web_dir() / name).read_bytes()
    return _bundled_cache[name]


class SandboxInterceptor(QWebEngineUrlRequestInterceptor):
    """Blocks every request that does not stay inside the sandbox scheme."""

    def __init__(self, record: SandboxLog, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._record = record
        self._allowed_budget = LogBudget()

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        """Let our scheme (and in-page blob:/data:) through; block the rest. Logs each verdict."""
        url = info.requestUrl()
        if url.scheme() in INTERNAL_SCHEMES and (url.scheme() != SCHEME or url.host() == HOST):
            if log.isEnabledFor(logging.DEBUG) and self._allowed_budget.allow():
                log.debug("Code sandbox allowed a request: %s", url.toString()[:300])
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


def _harden_script() -> QWebEngineScript:
    """harden.js in every frame, before any of the page's own scripts."""
    script = QWebEngineScript()
    script.setName("ai4a-harden")
    script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
    script.setWorldId(QWebEngineScript.ScriptWorldId.MainWorld)
    script.setRunsOnSubFrames(True)
    script.setSourceCode(bundled(HARDEN_FILE).decode("utf-8"))
    return script


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
    profile.scripts().insert(_harden_script())
    handler = SandboxSchemeHandler(record, profile)
    interceptor = SandboxInterceptor(record, profile)
    profile.installUrlSchemeHandler(SCHEME.encode(), handler)
    profile.setUrlRequestInterceptor(interceptor)
    profile.downloadRequested.connect(lambda download: _refuse_download(record, download))
    _harden(profile.settings())
    return SandboxProfile(profile, handler, interceptor, record)
