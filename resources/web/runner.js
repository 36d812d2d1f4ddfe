// AI4ArtsEd code sandbox runner: reports errors with the student's line number, starts a
// Tone.js piece (its play()) at once or, where sound needs a click inside the page, behind a
// start button, and stops a running piece or sketch. It has no bridge to the app: reports go to the console.
(function () {
  "use strict";
  var TAG = "__ai4a__";
  var CODE_RE = /code\.js(?:\?[^:\s)]*)?:(\d+):(\d+)/;
  var nativeStop = window.stop;
  var params = new URLSearchParams(window.location.search);

  function report(kind, message, line, column) {
    console.error(TAG + JSON.stringify({
      kind: kind, message: String(message), line: line || 0, column: column || 0
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

  // Called by the app's Stop button.
  window.__ai4aStop = function () {
    var stopped = [];
    try {
      if (typeof window.stop === "function" && window.stop !== nativeStop) {
        window.stop();
        stopped.push("code");
      }
    } catch (error) {
      var pos = where("", 0, 0, error);
      report("error", describe(error), pos[0], pos[1]);
    }
    try {
      if (window.Tone) {
        window.Tone.getTransport().stop();
        window.Tone.getTransport().cancel();
        window.Tone.getContext().rawContext.suspend();
        stopped.push("tone");
      }
    } catch (error) { /* Tone was never started */ }
    try {
      if (typeof window.noLoop === "function" && window.p5 && window.p5.instance) {
        window.noLoop();
        stopped.push("p5");
      }
    } catch (error) { /* no sketch */ }
    return JSON.stringify(stopped);
  };
})();
