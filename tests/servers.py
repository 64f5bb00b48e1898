"""Small real servers for self-tests of the layers below Jira: TLS, proxies, dead ports.

Everything listens on 127.0.0.1 and stops at the end of its ``with`` block.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from conformance.emulator.proxy import accept_each

WsgiApp = Callable[..., Any]


@contextlib.contextmanager
def serve(
    app: WsgiApp, *, ssl_context: ssl.SSLContext | None = None, host: str = "127.0.0.1"
) -> Iterator[str]:
    """Serve ``app`` in a thread; yields the base URL (https when ``ssl_context`` is given)."""
    server: BaseWSGIServer = make_server(host, 0, app, threaded=True, ssl_context=ssl_context)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if ssl_context else "http"
    try:
        yield f"{scheme}://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)


def tiny_jira(*, state: str = "RUNNING", context_path: str = "") -> WsgiApp:
    """Just enough Jira for the reachability layer: /status, serverInfo and /myself."""

    @Request.application
    def app(request: Request) -> Response:
        path = request.path
        if context_path:
            if not path.startswith(context_path + "/") and path != context_path:
                return Response(
                    "<html><body><h1>HTTP Status 404 - Not Found</h1></body></html>",
                    404,
                    mimetype="text/html",
                )
            path = path[len(context_path) :]
        if path == "/status":
            return json_response(
                {"state": state}, 200 if state not in ("MAINTENANCE", "ERROR") else 503
            )
        if state != "RUNNING":
            return Response("<html>Jira is starting</html>", 503, mimetype="text/html")
        if path == "/rest/api/2/serverInfo":
            return json_response(
                {
                    "baseUrl": request.host_url.rstrip("/") + context_path,
                    "version": "10.3.5",
                    "versionNumbers": [10, 3, 5],
                    "deploymentType": "Server",
                    "buildNumber": 10030005,
                    "serverTitle": "Jira",
                }
            )
        if path == "/rest/api/2/myself":
            auth = request.authorization
            if auth and auth.username == "visor-bot" and auth.password == "visor-bot-password":
                return json_response(
                    {"name": "visor-bot", "displayName": "Visor Bot"},
                    headers={"X-AUSERNAME": "visor-bot"},
                )
            return json_response(
                {
                    "message": "Client must be authenticated to access this resource.",
                    "status-code": 401,
                },
                401,
            )
        if path == "/rest/api/2/project":
            return json_response([])
        return json_response({"errorMessages": ["null for uri: " + request.url], "errors": {}}, 404)

    return app


def not_jira() -> WsgiApp:
    @Request.application
    def app(request: Request) -> Response:
        return Response(
            "<html><head><title>Welcome to nginx!</title></head><body>It works</body></html>",
            mimetype="text/html",
        )

    return app


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A port on which nothing listens (connections are refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    yield port


@contextlib.contextmanager
def raw_server(
    handle: Callable[[socket.socket, threading.Event], None], *, backlog: int = 64
) -> Iterator[int]:
    """A TCP listener on loopback that hands each connection to ``handle`` (in a thread, with the
    server's stop event); yields the port. For answers no HTTP framework would send."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(backlog)
    stop = threading.Event()
    thread = accept_each(listener, stop, lambda conn: handle(conn, stop))
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()


def read_head(conn: socket.socket) -> bytes | None:
    """The request line and headers, or None if the client closed first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
    return data


@contextlib.contextmanager
def black_hole() -> Iterator[int]:
    """Accepts TCP connections and never says a word: a server that hangs."""
    held: list[socket.socket] = []

    def hold(conn: socket.socket, _stop: threading.Event) -> None:
        held.append(conn)

    try:
        with raw_server(hold) as port:
            yield port
    finally:
        for conn in held:
            conn.close()


@contextlib.contextmanager
def proxy_requiring_auth() -> Iterator[str]:
    """An HTTP proxy that answers every request, CONNECT included, with 407."""
    answer = (
        b'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="corp"\r\n'
        b"Content-Type: text/html\r\nContent-Length: 38\r\nConnection: close\r\n\r\n"
        b"<html>Proxy authentication needed</html>"[:38]
    )

    def handle(conn: socket.socket, _stop: threading.Event) -> None:
        with conn:
            conn.settimeout(2)
            try:
                if read_head(conn) is not None:
                    conn.sendall(answer)
            except OSError:
                return

    with raw_server(handle) as port:
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def quoting_proxy() -> Iterator[str]:
    """An HTTP proxy that answers every request 502 with a page quoting what it received: the
    request head, and the Proxy-Authorization credentials decoded (as some proxies' error pages
    and debugging gateways do)."""
    import base64

    def handle(conn: socket.socket, _stop: threading.Event) -> None:
        with conn:
            conn.settimeout(2)
            try:
                head = read_head(conn)
                if head is None:
                    return
                text = head.decode("latin-1")
                decoded = ""
                for line in text.split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "proxy-authorization":
                        raw = value.strip().partition(" ")[2]
                        decoded = base64.b64decode(raw).decode("utf-8", "replace")
                body = (
                    f"<html><body><h1>502 Bad Gateway</h1><pre>{text}</pre>"
                    f"<p>credentials: {decoded}</p></body></html>"
                ).encode()
                conn.sendall(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n"
                    + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
            except OSError:
                return

    with raw_server(handle) as port:
        yield f"http://127.0.0.1:{port}"


def tls_context(ca: Any, *names: str, expired: bool = False) -> ssl.SSLContext:
    """A server-side TLS context with a certificate from the ``trustme`` CA ``ca``."""
    import datetime

    kwargs: dict[str, Any] = {}
    if expired:
        now = datetime.datetime.now(datetime.UTC)
        kwargs = {
            "not_before": now - datetime.timedelta(days=60),
            "not_after": now - datetime.timedelta(days=1),
        }
    cert = ca.issue_cert(*names, **kwargs)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    return context


class Counter:
    """A WSGI app that answers ``{}`` to everything and keeps the path of each request: a test
    that must send nothing asserts ``requests == []``."""

    def __init__(self) -> None:
        self.requests: list[str] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.requests.append(Request(environ).path)
        return Response("{}", mimetype="application/json")(environ, start_response)
