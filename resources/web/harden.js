// AI4ArtsEd code sandbox: runs in every frame of the sandbox before any other script (a
// profile script at document creation, also in iframes). It removes what a sketch never
// needs and could use to reach out or to annoy: peer connections, WebTransport, sign-in,
// file pickers, clipboard, storage; and it rate-limits the console so that a flood of
// messages never reaches the app. This is one layer of several (docs/sandbox.md): the
// browser's own switches and the page's security policy close the same channels again.
(function () {
  "use strict";
  var global = window;
  if (global.__ai4aHardened) {
    return;
  }
  function remove(target, name) {
    try {
      delete target[name];
    } catch (error) { /* not configurable */ }
    try {
      if (name in target) {
        Object.defineProperty(target, name, { value: undefined, configurable: false, writable: false });
      }
    } catch (error) { /* leave it to the other layers */ }
  }
  [
    "RTCPeerConnection", "webkitRTCPeerConnection", "RTCDataChannel", "RTCIceCandidate",
    "RTCSessionDescription", "WebTransport", "IdentityCredential", "IdentityProvider",
    "showOpenFilePicker", "showSaveFilePicker", "showDirectoryPicker",
    "caches", "indexedDB", "SharedWorker",
  ].forEach(function (name) { remove(global, name); });
  if (global.Navigator) {
    ["clipboard", "credentials", "storage", "serviceWorker"].forEach(function (name) {
      remove(global.Navigator.prototype, name);
    });
  }

  // No frames: the policy lets nothing load into one, but a fresh frame's empty document is a
  // whole new realm that this script reaches too late. Every way to put nodes into the
  // document removes any frame at once, before the sketch can touch it.
  var nativeRemove = global.Node && global.Node.prototype.removeChild;
  function dropFrames() {
    var guard = 0;
    while (global.length > 0 && guard < 1000) {
      guard += 1;
      var element = null;
      try {
        element = global[0].frameElement;
      } catch (error) { /* not ours */ }
      if (!element || !element.parentNode) {
        return;
      }
      nativeRemove.call(element.parentNode, element);
    }
  }
  function afterward(original) {
    return function () {
      try {
        return original.apply(this, arguments);
      } finally {
        dropFrames();
      }
    };
  }
  var INSERTING = [
    "appendChild", "insertBefore", "replaceChild", "append", "prepend", "before", "after",
    "replaceWith", "replaceChildren", "insertAdjacentElement", "insertAdjacentHTML",
    "setHTMLUnsafe", "write", "writeln", "insertNode", "surroundContents",
  ];
  [
    "Node", "Element", "CharacterData", "DocumentType", "Document", "DocumentFragment",
    "ShadowRoot", "Range",
  ].forEach(function (name) {
    var type = global[name];
    if (!type) {
      return;
    }
    var proto = type.prototype;
    INSERTING.forEach(function (method) {
      var descriptor = Object.getOwnPropertyDescriptor(proto, method);
      if (descriptor && typeof descriptor.value === "function") {
        Object.defineProperty(proto, method, {
          configurable: false, writable: false, enumerable: descriptor.enumerable,
          value: afterward(descriptor.value),
        });
      }
    });
    ["innerHTML", "outerHTML"].forEach(function (property) {
      var descriptor = Object.getOwnPropertyDescriptor(proto, property);
      if (descriptor && descriptor.set) {
        Object.defineProperty(proto, property, {
          configurable: false, enumerable: descriptor.enumerable, get: descriptor.get,
          set: afterward(descriptor.set),
        });
      }
    });
  });

  // No copying, cutting or pasting through the page (the app's own clipboard stays untouched).
  if (global.Document && global.Document.prototype.execCommand) {
    var nativeExec = global.Document.prototype.execCommand;
    Object.defineProperty(global.Document.prototype, "execCommand", {
      configurable: false,
      writable: false,
      value: afterward(function (command) {
        if (/^(copy|cut|paste)$/i.test(String(command))) {
          return false;
        }
        return nativeExec.apply(this, arguments);
      }),
    });
  }
  ["copy", "cut", "paste"].forEach(function (type) {
    global.addEventListener(type, function (event) {
      event.stopImmediatePropagation();  // a sketch's handler never gets to write the data
    }, true);
  });

  // The console: at most BURST messages at once and RATE more per second, each at most
  // MAX_CHARS long; what is dropped is counted and said once a second.
  var MAX_CHARS = 500;
  var BURST = 50;
  var RATE = 20;
  var nativeConsole = {};
  var tokens = BURST;
  var last = Date.now();
  var dropped = 0;
  function take() {
    var now = Date.now();
    tokens = Math.min(BURST, tokens + (now - last) * RATE / 1000);
    last = now;
    if (tokens >= 1) {
      tokens -= 1;
      if (dropped > 0) {
        nativeConsole.warn("[sandbox] " + dropped + " console messages dropped (too many)");
        dropped = 0;
      }
      return true;
    }
    dropped += 1;
    return false;
  }
  function text(args) {
    var parts = [];
    var length = 0;
    for (var i = 0; i < args.length && length < MAX_CHARS; i++) {
      var part;
      try {
        part = String(args[i]);
      } catch (error) {
        part = "?";
      }
      part = part.slice(0, MAX_CHARS - length);
      parts.push(part);
      length += part.length + 1;
    }
    return parts.join(" ").slice(0, MAX_CHARS);
  }
  var console = global.console;
  Object.keys(console).concat([
    "log", "info", "warn", "error", "debug", "trace", "dir", "dirxml", "table", "assert",
    "count", "countReset", "group", "groupCollapsed", "groupEnd", "time", "timeLog",
    "timeEnd", "timeStamp", "profile", "profileEnd", "clear",
  ]).forEach(function (name) {
    var original = console[name];
    if (typeof original !== "function" || nativeConsole[name]) {
      return;
    }
    nativeConsole[name] = original.bind(console);
    var level = name === "error" || name === "assert" ? "error" : name === "warn" ? "warn" : "log";
    var wrapped = function () {
      var args = arguments;
      if (name === "assert") {
        if (args[0]) {
          return;
        }
        args = Array.prototype.slice.call(args, 1);
      }
      if (take()) {
        nativeConsole[level](text(args));
      }
    };
    try {
      Object.defineProperty(console, name, { value: wrapped, configurable: false, writable: false });
    } catch (error) { /* leave it to the app's own budget */ }
  });
  // The runner (top frame only) takes the true error channel once; nothing else can.
  var handedOver = false;
  Object.defineProperty(global, "__ai4aHardened", {
    configurable: false,
    value: function () {
      if (handedOver) {
        return null;
      }
      handedOver = true;
      return nativeConsole.error;
    },
  });
})();
