"""A tiny configurable HTTP server child for supervisor tests (stdlib only, run by path).

Switches: readiness delay, never ready, crash after N seconds, spawn a grandchild, print
lines with \\r, ignore SIGTERM, dump the environment, append the pid to a spawn log.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ready-delay", type=float, default=0.0, help="seconds before binding")
    p.add_argument("--never-ready", action="store_true", help="print lines but never serve")
    p.add_argument("--crash-after", type=float, default=None, help="exit after N seconds")
    p.add_argument("--exit-code", type=int, default=3)
    p.add_argument("--grandchild-pidfile", default="", help="spawn a sleeping grandchild")
    p.add_argument("--spawn-log", default="", help="append our pid to this file")
    p.add_argument("--env-dump", default="", help="write our environment as JSON")
    p.add_argument("--cr-lines", type=int, default=0, help="print N progress lines with \\r")
    p.add_argument("--say", action="append", default=[], help="print this line on stderr")
    p.add_argument("--ignore-term", action="store_true")
    return p.parse_args()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/slow":
            sys.stdout.write("slow request started\n")
            sys.stdout.flush()
            time.sleep(30)
        body = json.dumps({"pid": os.getpid()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        sys.stdout.write("access " + (format % args) + "\n")
        sys.stdout.flush()


def main() -> int:
    args = parse_args()
    if args.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if args.spawn_log:
        with open(args.spawn_log, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")
    if args.env_dump:
        with open(args.env_dump, "w", encoding="utf-8") as fh:
            json.dump(dict(os.environ), fh)
    if args.grandchild_pidfile:
        child = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(600)"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with open(args.grandchild_pidfile + ".tmp", "w", encoding="utf-8") as fh:
            fh.write(str(child.pid))
        os.replace(args.grandchild_pidfile + ".tmp", args.grandchild_pidfile)
    sys.stderr.write("fake server: starting up\n")
    for line in args.say:
        sys.stderr.write(line + "\n")
    for i in range(args.cr_lines):
        sys.stderr.write(f"steps: {i + 1}/{args.cr_lines}\r")
    if args.cr_lines:
        sys.stderr.write("\n")
    sys.stderr.flush()
    if args.crash_after is not None:
        threading.Timer(args.crash_after, lambda: os._exit(args.exit_code)).start()
    if args.never_ready:
        sys.stderr.write("fake server: waiting for something that never comes\n")
        sys.stderr.flush()
        time.sleep(600)
        return 0
    time.sleep(args.ready_delay)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    sys.stderr.write(f"Listening on 127.0.0.1:{args.port}\n")
    sys.stderr.flush()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
