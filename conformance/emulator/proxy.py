"""A forward proxy to put in front of the emulator (``HTTP_PROXY``/``HTTPS_PROXY`` point at it),
speaking HTTP by hand so that it can misbehave the way real proxies do:

* ``pass``: forwards plain requests (absolute-form) and tunnels CONNECT, adding ``Via``;
* ``refuse``: answers every request that carries an Authorization header with its vendor's
  block page (a squid access list refusing the bot's login), and CONNECT with the same page;
* ``plain-tunnel``: accepts CONNECT (200), then answers in plain HTTP (its block page) inside the
  tunnel where the client starts its TLS handshake.

One request per connection (it answers ``Connection: close``). It counts what it refused and
what it let through, so tests assert from the proxy's side.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .blockpages import PROXY_HOST, VENDORS

PROXY_MODES = ("pass", "refuse", "plain-tunnel")
HEAD_LIMIT = 65536


def accept_each(
    listener: socket.socket,
    stop: threading.Event,
    handle: Callable[[socket.socket], None],
    *,
    name: str = "accept",
) -> threading.Thread:
    """Hand each connection ``listener`` accepts to ``handle``, in a thread of its own, until
    ``stop`` is set (looked at every 0.2 s); the accepting thread, started. The test servers
    that speak HTTP by hand use it too."""
    listener.settimeout(0.2)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, name=name, daemon=True)
    thread.start()
    return thread


@dataclass
class ForwardProxy:
    mode: str = "pass"
    vendor: str = "squid"
    host: str = "127.0.0.1"
    refused: int = 0
    passed: int = 0
    tunnels: int = 0
    _listener: socket.socket | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if self.mode not in PROXY_MODES:
            raise ValueError(f"unknown proxy mode {self.mode!r}; known: {', '.join(PROXY_MODES)}")
        if self.vendor not in VENDORS:
            raise ValueError(f"unknown vendor {self.vendor!r}; known: {', '.join(VENDORS)}")

    @property
    def url(self) -> str:
        if self._listener is None:
            raise RuntimeError("the proxy is not started")
        return f"http://{self.host}:{self._listener.getsockname()[1]}"

    def start(self) -> ForwardProxy:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, 0))
        listener.listen(64)
        self._listener = listener
        accept_each(listener, self._stop, self._serve, name="emulator-proxy")
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._listener is not None:
            self._listener.close()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            try:
                head, rest = _read_head(conn)
                if head is None:
                    return
                self._answer(conn, head, rest)
            except OSError:
                return

    def _answer(self, conn: socket.socket, head: bytes, rest: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = [*lines[0].split(" "), "", ""][:3]
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])
        }
        page = VENDORS[self.vendor]
        if method == "CONNECT":
            if self.mode == "refuse":
                self.refused += 1
                conn.sendall(page.raw())
                return
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self.tunnels += 1
            if self.mode == "plain-tunnel":
                conn.recv(4096)  # the client's TLS ClientHello: answered in plain HTTP
                conn.sendall(page.raw())
                return
            self._tunnel(conn, target, rest)
            return
        if self.mode == "refuse" and headers.get("authorization"):
            self.refused += 1
            conn.sendall(page.raw())
            return
        self._forward(conn, method, target, lines[1:], headers, rest)

    def _tunnel(self, conn: socket.socket, target: str, rest: bytes) -> None:
        host, _, port = target.rpartition(":")
        with socket.create_connection((host.strip("[]"), int(port)), timeout=10) as upstream:
            if rest:
                upstream.sendall(rest)
            _pipe(conn, upstream)

    def _forward(
        self,
        conn: socket.socket,
        method: str,
        target: str,
        header_lines: list[str],
        headers: dict[str, str],
        rest: bytes,
    ) -> None:
        parts = urlsplit(target)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        body = rest
        length = int(headers.get("content-length") or 0)
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        kept = [
            line
            for line in header_lines
            if line and line.split(":")[0].strip().lower() not in ("proxy-connection", "connection")
        ]
        request = "\r\n".join(
            [f"{method} {path} HTTP/1.1", *kept, "Connection: close", f"Via: 1.1 {PROXY_HOST}"]
        )
        self.passed += 1
        port = parts.port or 80
        with socket.create_connection((parts.hostname or "", port), timeout=10) as upstream:
            upstream.sendall(request.encode("latin-1") + b"\r\n\r\n" + body)
            head, rest = _read_head(upstream)
            if head is None:
                return
            answer = [
                line
                for line in head.split(b"\r\n")
                if line.split(b":")[0].strip().lower() != b"connection"
            ]
            # One request per connection, said so: the client opens a new one for the next.
            answer += [b"Connection: close", f"Via: 1.1 {PROXY_HOST}".encode()]
            conn.sendall(b"\r\n".join(answer) + b"\r\n\r\n" + rest)
            while chunk := upstream.recv(65536):
                conn.sendall(chunk)


def _read_head(conn: socket.socket) -> tuple[bytes | None, bytes]:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < HEAD_LIMIT:
        chunk = conn.recv(4096)
        if not chunk:
            return None, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _pipe(left: socket.socket, right: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""

    def copy(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    other = threading.Thread(target=copy, args=(right, left), daemon=True)
    other.start()
    copy(left, right)
    other.join(timeout=30)
