"""Listeners on 127.0.0.1 that count what reaches them (for the sandbox's escape tests).

Each listener runs in a daemon thread and only records: a TCP listener the connections and
their first bytes, a UDP listener the datagrams. A test asserts that nothing arrived after
the page said its attempt was over.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Arrivals:
    """What reached one listener: one entry per connection (TCP) or datagram (UDP)."""

    port: int
    items: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, data: bytes) -> None:
        with self.lock:
            self.items.append(data)

    def count(self) -> int:
        """How many connections or datagrams arrived so far."""
        with self.lock:
            return len(self.items)


def _serve_tcp(server: socket.socket, arrivals: Arrivals, stop: threading.Event) -> None:
    server.settimeout(0.05)
    while not stop.is_set():
        try:
            conn, _addr = server.accept()
        except TimeoutError:
            continue
        except OSError:
            return
        with conn:
            conn.settimeout(0.5)
            try:
                data = conn.recv(4096)
            except OSError:
                data = b""
            arrivals.add(data or b"<connected>")


def _serve_udp(server: socket.socket, arrivals: Arrivals, stop: threading.Event) -> None:
    server.settimeout(0.05)
    while not stop.is_set():
        try:
            data, _addr = server.recvfrom(65536)
        except TimeoutError:
            continue
        except OSError:
            return
        arrivals.add(data)


@contextmanager
def listening(kind: str, port: int = 0) -> Iterator[Arrivals]:
    """A ``"tcp"`` or ``"udp"`` listener on 127.0.0.1 (a free port unless ``port``)."""
    tcp = kind == "tcp"
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
    if tcp:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    if tcp:
        server.listen(16)
    arrivals = Arrivals(server.getsockname()[1])
    stop = threading.Event()
    thread = threading.Thread(
        target=_serve_tcp if tcp else _serve_udp, args=(server, arrivals, stop), daemon=True
    )
    thread.start()
    try:
        yield arrivals
    finally:
        stop.set()
        thread.join()
        server.close()
