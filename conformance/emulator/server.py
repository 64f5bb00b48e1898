"""EmulatorServer: serves one scenario on a real socket in a daemon thread (HTTP/1.1 keep-alive,
optional TLS from a private CA made with trustme)."""

from __future__ import annotations

import contextlib
import io
import socket
import ssl
import struct
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import JiraApp
from .blockpages import Front
from .faults import Fault, FaultSet
from .log import RequestLog
from .proxy import ForwardProxy
from .scenarios import build_scenario
from .tlsfaults import RAW_FAULTS, cut_handshake, server_tls
from .world import World

_LINGER_ZERO = struct.pack("ii", 1, 0)  # close with a TCP reset


class _Handler(WSGIRequestHandler):
    """Werkzeug's handler with real keep-alive and no console logging.

    Werkzeug always answers ``Connection: close``; every response of the emulator carries a
    Content-Length and the app drains request bodies, so the connection can stay open.
    """

    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections are closed after this many seconds

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conns = getattr(self.server, "open_connections", None)
        if conns is not None:
            with self.server.conn_lock:  # type: ignore[attr-defined]
                conns.add(self.connection)

    def finish(self) -> None:
        conns = getattr(self.server, "open_connections", None)
        if conns is not None:
            with self.server.conn_lock:  # type: ignore[attr-defined]
                conns.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def run_wsgi(self) -> None:
        """Serve one request with a Content-Length body and keep the connection open.

        Replaces werkzeug's version, which always closes the connection and then waits 10 ms
        draining the socket (fatal for keep-alive throughput).
        """
        served = getattr(self, "served", 0)
        self.served = served + 1
        if served and self._reset_as_idle():
            return
        if self.headers.get("Expect", "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        environ = self.make_environ()
        self.environ = environ
        status_headers: list[Any] = ["500 Internal Server Error", []]

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            status_headers[0] = status
            status_headers[1] = headers
            return lambda data: None

        try:
            it = self.server.app(environ, start_response)
            try:
                body = b"".join(it)
            finally:
                close = getattr(it, "close", None)
                if close is not None:
                    close()
        except (ConnectionError, TimeoutError) as e:
            self.connection_dropped(e, environ)
            self.close_connection = True
            return
        except Exception:  # pragma: no cover - the app has its own catch-all
            status_headers = [
                "500 Internal Server Error",
                [("Content-Type", "application/json;charset=UTF-8")],
            ]
            body = b'{"errorMessages":["Internal server error"],"errors":{}}'
        status, headers = status_headers
        code_str, _, msg = status.partition(" ")
        code = int(code_str)
        self.send_response(code, msg)
        for key, value in headers:
            if key.lower() in ("content-length", "transfer-encoding", "connection"):
                continue
            self.send_header(key, value)
        if code not in (204, 304) and not 100 <= code < 200:
            self.send_header("Content-Length", str(len(body)))
        # headers and body in one write: avoids Nagle/delayed-ACK stalls on keep-alive
        self._headers_buffer.append(b"\r\n")
        if environ["REQUEST_METHOD"] != "HEAD" and code not in (204, 304):
            self._headers_buffer.append(body)
        self.flush_headers()

    def _reset_as_idle(self) -> bool:
        """A load balancer that closed this kept-alive connection while it was idle: the request
        arriving on it is reset, unanswered (``reset_reused`` such requests in all)."""
        budget = getattr(self.server, "reset_reused", None)
        if budget is None:
            return False
        with self.server.conn_lock:  # type: ignore[attr-defined]
            if budget[0] <= 0:
                return False
            budget[0] -= 1
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
        self.close_connection = True
        return True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def log(self, type: str, message: str, *args: Any) -> None:
        pass


class _BodyDrain:
    """WSGI middleware: read the whole request body so keep-alive stays in sync."""

    def __init__(self, app: JiraApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        stream = environ.get("wsgi.input")
        length = environ.get("CONTENT_LENGTH") or ""
        chunked = environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
        if stream is not None and ((length.isdigit() and int(length) > 0) or chunked):
            data = stream.read() if chunked else stream.read(int(length))
            environ["wsgi.input"] = io.BytesIO(data)
            environ["CONTENT_LENGTH"] = str(len(data))
            environ.pop("wsgi.input_terminated", None)
        return self.app(environ, start_response)


class EmulatorServer:
    """A running (or runnable) emulated Jira.

    ``faults`` are :class:`Fault` objects (or CLI strings); ``search_total_offset`` makes
    ``/search`` lie about ``total`` by +N; ``search_repeat_page_at`` makes the page at that
    ``startAt`` repeat the previous page's issues; ``broken_projects`` makes that many projects
    broken the way the scenario breaks one (see :func:`.scenarios.project_layout`).

    The network in front of it: ``tls_fault`` (:data:`.tlsfaults.TLS_FAULTS`) breaks its TLS;
    ``front`` (a vendor of :mod:`.blockpages`) puts a firewall before it that refuses every
    credentialed /rest/ call; ``forward_proxy`` ("pass", "refuse", "plain-tunnel", optionally
    ``MODE:VENDOR``) starts a forward proxy to reach it through (``proxy_url``);
    ``reset_reused`` resets that many requests arriving on kept-alive connections. Scenarios
    set these too (``scenarios.NETWORK``); arguments given here win.
    """

    def __init__(
        self,
        scenario: str = "dc-healthy",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: bool = False,
        latency_ms: float = 0,
        projects: int | None = None,
        issues: int | None = None,
        bot_user: str | None = None,
        bot_password: str | None = None,
        bot_token: str | None = None,
        context_path: str | None = None,
        faults: Iterable[Fault | str] = (),
        captcha_status: int = 403,
        rate_limit: tuple[int, float] | None = None,
        search_max_results: int = 1000,
        search_total_offset: int = 0,
        search_repeat_page_at: int | None = None,
        broken_projects: int | None = None,
        tls_fault: str | None = None,
        front: str | None = None,
        forward_proxy: str | None = None,
        reset_reused: int | None = None,
    ) -> None:
        self.scenario = scenario
        self.host = host
        self.port = port
        self.config = build_scenario(
            scenario,
            projects=projects,
            issues=issues,
            bot_user=bot_user,
            bot_password=bot_password,
            bot_token=bot_token,
            context_path=context_path,
            tls=tls,
            rate_limit=rate_limit,
            broken_projects=broken_projects,
        )
        cfg = self.config
        cfg.tls_fault = tls_fault or cfg.tls_fault
        cfg.tls = cfg.tls or cfg.tls_fault is not None
        cfg.front = front or cfg.front
        cfg.forward_proxy = forward_proxy or cfg.forward_proxy
        cfg.reset_reused = cfg.reset_reused if reset_reused is None else reset_reused
        self.log = RequestLog()
        self.app = JiraApp(
            self.config,
            self.log,
            FaultSet.of(list(faults)),
            latency_ms=latency_ms,
            captcha_status=captcha_status,
            search_max_results=search_max_results,
            search_total_offset=search_total_offset,
            search_repeat_page_at=search_repeat_page_at,
        )
        self.ca_path: Path | None = None
        self.client_cert_path: Path | None = None  # mutual TLS: a certificate the bot may use
        self.client_key_path: Path | None = None
        self.front: Front | None = None
        self.proxy: ForwardProxy | None = None
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def world(self) -> World:
        """The in-memory world, for assertions."""
        return self.config.world

    @property
    def url(self) -> str:
        """Base URL including the context path, without a trailing slash."""
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        scheme = "https" if self.config.tls else "http"
        host = self.host if self.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{self._server.server_port}{self.config.context_path}"

    @property
    def idle_resets(self) -> int:
        """How many requests on kept-alive connections were reset (``reset_reused``)."""
        if self._server is None:
            return 0
        left: list[int] = self._server.reset_reused  # type: ignore[attr-defined]
        return self.config.reset_reused - left[0]

    @property
    def proxy_url(self) -> str | None:
        """The forward proxy's URL (for HTTP_PROXY/HTTPS_PROXY), when one was asked for."""
        return self.proxy.url if self.proxy is not None else None

    def _ssl_context(self) -> ssl.SSLContext | None:
        names = ["127.0.0.1", "localhost"]
        if self.host not in names and self.host not in ("0.0.0.0", "::", ""):
            names.append(self.host)
        self._tmpdir = tempfile.TemporaryDirectory(prefix="jira-emulator-ca-")
        tls = server_tls(self.config.tls_fault, names, Path(self._tmpdir.name))
        self.ca_path = tls.ca_path
        self.client_cert_path, self.client_key_path = tls.client_cert_path, tls.client_key_path
        return tls.context

    def start(self) -> EmulatorServer:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        ctx = self._ssl_context() if self.config.tls else None
        app: Any = _BodyDrain(self.app)
        if self.config.front:
            self.front = app = Front(app, self.config.front)
        srv = make_server(
            self.host,
            self.port,
            app,
            threaded=True,
            request_handler=_Handler,
            ssl_context=ctx,
        )
        srv.open_connections = set()  # type: ignore[attr-defined]
        srv.conn_lock = threading.Lock()  # type: ignore[attr-defined]
        srv.reset_reused = [self.config.reset_reused]  # type: ignore[attr-defined]
        fault = self.config.tls_fault
        if fault in RAW_FAULTS:
            srv.get_request = _cutting(srv, fault)  # type: ignore[method-assign]
        if self.config.forward_proxy:
            mode, _, vendor = self.config.forward_proxy.partition(":")
            self.proxy = ForwardProxy(mode, vendor or "squid").start()
        self._server = srv
        self._thread = threading.Thread(
            target=srv.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"jira-emulator-{self.scenario}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open keep-alive connections, remove the CA file."""
        srv = self._server
        if srv is None:
            return
        if self.proxy is not None:
            self.proxy.stop()
        srv.shutdown()
        with srv.conn_lock:  # type: ignore[attr-defined]
            conns = list(srv.open_connections)  # type: ignore[attr-defined]
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)
        srv.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def serve_forever(self) -> None:
        """Block until :meth:`stop` is called from elsewhere (the CLI's signal handler)."""
        self.start()
        assert self._thread is not None
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _cutting(server: BaseWSGIServer, fault: str) -> Any:
    """``get_request`` for a TLS fault that cuts the handshake: every connection is read, then
    reset or closed, and never reaches the application (socketserver skips an OSError)."""
    accept = server.socket.accept

    def get_request() -> Any:
        conn, _ = accept()
        threading.Thread(target=cut_handshake, args=(conn, fault), daemon=True).start()
        raise OSError(f"emulator: {fault}")

    return get_request
