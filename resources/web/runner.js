// AI4ArtsEd code sandbox runner: reports errors with the student's line number and starts a
// Tone.js piece (its play()) at once or, where sound needs a click inside the page, behind a
// start button. It has no bridge to the app: reports go to the console, each starting with
// the tag and this run's secret, which the app's scheme handler writes into this file once
// per run. The secret lives only in this closure, and the console function used is the one
// taken before any other script ran, so the student's code can neither read nor forge it.
(function () {
  "use strict";
  var TAG = "__ai4a__";
  var SECRET = "__AI4A_RUN_SECRET__";
  var CODE_RE = /code\.js(?:\?[^:\s)]*)?:(\d+):(\d+)/;
  var stringify = JSON.stringify;
  var toText = String;
  var taken = typeof window.__ai4aHardened === "function" ? window.__ai4aHardened() : null;
  var sendReport = taken || console.error.bind(console);
  var params = new URLSearchParams(window.location.search);

  function report(kind, message, line, column) {
    sendReport(TAG + SECRET + stringify({
      kind: kind, message: toText(message).slice(0, 500), line: line || 0, column: column || 0
    }));
  }

  function where(filename, lineno, colno, error) {
    if (filename && CODE_RE.test(filename + ":" + lineno + ":" + colno)) {
      return [lineno, colno];
    }
    var match = error && error.stack ? CODE_RE.exec(String(error.stack)) : null;
    return match ? [Number(match[1]), Number(match[2])] : [0, 0];
  }

  function describe(error) {
    if (error && error.name && error.message !== undefined) {
      return error.name + ": " + error.message;
    }
    return String(error);
  }

  window.addEventListener("error", function (event) {
    var error = event.error;
    var pos = where(event.filename, event.lineno, event.colno, error);
    report("error", error ? describe(error) : event.message, pos[0], pos[1]);
    event.preventDefault();
  });

  window.addEventListener("unhandledrejection", function (event) {
    var pos = where("", 0, 0, event.reason);
    report("error", describe(event.reason), pos[0], pos[1]);
    event.preventDefault();
  });

  // No peer-to-peer connections from student code (they would bypass the request guard).
  ["RTCPeerConnection", "webkitRTCPeerConnection", "RTCDataChannel"].forEach(function (name) {
    try { window[name] = undefined; } catch (e) { /* read-only in this browser */ }
  });

  function isPiece() {
    return typeof window.play === "function";
  }

  function runPiece(button) {
    if (button) {
      button.remove();
    }
    var ready = window.Tone && window.Tone.start ? window.Tone.start() : Promise.resolve();
    ready.then(function () {
      try {
        var result = window.play();
        if (result && typeof result.catch === "function") {
          result.catch(function (error) {
            var pos = where("", 0, 0, error);
            report("error", describe(error), pos[0], pos[1]);
          });
        }
      } catch (error) {
        var pos = where("", 0, 0, error);
        report("error", describe(error), pos[0], pos[1]);
      }
    });
  }

  function startLabel() {
    return params.get("start") || window.AI4A_START_LABEL || "Start";
  }

  function audioRunning() {
    try {
      return window.Tone.getContext().state === "running";
    } catch (error) {
      return false;
    }
  }

  window.addEventListener("load", function () {
    if (!isPiece()) {
      return;
    }
    // The app loads the page on a click on its Play button: start at once where the browser
    // lets audio run. Elsewhere (an exported page in a browser) sound needs a click inside
    // the page, so a start button covers it.
    if (params.get("autostart") === "1" && audioRunning()) {
      runPiece(null);
      return;
    }
    var button = document.createElement("button");
    button.id = "ai4a-start";
    button.type = "button";
    button.textContent = "\u25B6 " + (startLabel());
    button.setAttribute("aria-label", startLabel());
    button.addEventListener("click", function () { runPiece(button); });
    document.body.appendChild(button);
    button.focus();
  });
})();
