"""A reverse proxy in front of the emulator that bends chosen answers (and counts concurrency).

Everything is forwarded to the emulator as it came (method, path, query, body, Authorization,
Host), so the emulator still does the work and logs it; a ``bend`` function may then replace
the answer the suite receives, or hold it. This is how the self-tests play a replaying proxy, a
Jira that hides an issue from the bot, or a slow create, without changing the emulator.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import itertools
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

from tests.servers import serve

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "upgrade",
}


@dataclass
class Passed:
    """One request through the proxy: what was asked, what the emulator answered."""

    seq: int
    method: str
    path: str
    query: str
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)  # the emulator's, hop-by-hop left out

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


# bend(proxy, request, upstream answer) -> None to pass the answer on, else the replacement.
Bend = Callable[["BendingProxy", Passed], "Response | None"]
# forward(proxy, arrival number, request, headers to send upstream): edits the headers in place
# (a node that does not know the session, a proxy that drops a header).
Forward = Callable[["BendingProxy", int, Request, dict[str, str]], None]
# intercept(proxy, request) -> an answer given in Jira's place, the request never forwarded (a
# web application firewall that blocks it), or None to forward it.
Intercept = Callable[["BendingProxy", Request], "Response | None"]


@dataclass
class BendingProxy:
    upstream: str
    bend: Bend | None = None
    forward: Forward | None = None
    intercept: Intercept | None = None
    url: str = ""
    intercepted: list[tuple[str, str]] = field(default_factory=list)  # (method, path) blocked
    passed: list[Passed] = field(default_factory=list)
    # Requests in flight at once, among those whose path ``counted`` accepts (default: all).
    counted: Callable[[str], bool] = lambda path: True
    in_flight: int = 0
    max_in_flight: int = 0
    # Hold each counted request until this many are in flight at once (once), to prove
    # concurrency by counting rather than by the clock; 0: never hold.
    gather: int = 0
    gather_timeout_s: float = 10.0
    _gathered: bool = False
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _arrivals: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self._session.trust_env = False  # no environment proxies, no netrc: forward as given
        # No cookie jar of its own: a cookie reaches the emulator only if the client sent it.
        self._session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        counted = self.counted(request.path)
        with self._cond:
            seq = next(self._arrivals)
            if counted:
                self._enter()
        try:
            blocked = self.intercept(self, request) if self.intercept is not None else None
            if blocked is not None:
                with self._cond:
                    self.intercepted.append((request.method, request.path))
            response = blocked if blocked is not None else self._forward(request, seq)
        finally:
            with self._cond:
                self.in_flight -= counted
                self._cond.notify_all()
        return response(environ, start_response)

    def _enter(self) -> None:
        """Count one more request in flight; gather them if asked (the lock is held)."""
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self._cond.notify_all()
        if self.gather and not self._gathered:
            self._cond.wait_for(
                lambda: self._gathered or self.in_flight >= self.gather,
                timeout=self.gather_timeout_s,
            )
            self._gathered = True
            self._cond.notify_all()

    def _forward(self, request: Request, seq: int) -> Response:
        headers = {
            k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}
        }
        headers["Host"] = request.host
        if self.forward is not None:
            self.forward(self, seq, request, headers)
        query = request.query_string.decode("latin-1")
        answer = self._session.request(
            request.method,
            self.upstream + request.path + (f"?{query}" if query else ""),
            headers=headers,
            data=request.get_data(),
            allow_redirects=False,
            timeout=60,
        )
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
        passed = Passed(
            seq, request.method, request.path, query, answer.status_code, answer.content, kept
        )
        with self._cond:
            self.passed.append(passed)
            self._cond.notify_all()
        bent = self.bend(self, passed) if self.bend is not None else None
        if bent is not None:
            return bent
        out = Response(answer.content, status=answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in HOP_BY_HOP:
                out.headers[name] = value
        return out

    def wait_for(self, predicate: Callable[[], bool], timeout_s: float) -> bool:
        """Block (bounded) until ``predicate`` holds over the proxy's state."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout=timeout_s)

    def requests_after(self, seq: int) -> list[Passed]:
        with self._cond:
            return [p for p in self.passed if p.seq > seq]


def json_answer(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


@contextlib.contextmanager
def bending_proxy(
    upstream: str, bend: Bend | None = None, **options: Any
) -> Iterator[BendingProxy]:
    """Serve a :class:`BendingProxy` to ``upstream`` on loopback for the ``with`` block."""
    proxy = BendingProxy(upstream.rstrip("/"), bend, **options)
    with serve(proxy) as url:
        proxy.url = url
        try:
            yield proxy
        finally:
            proxy._session.close()
