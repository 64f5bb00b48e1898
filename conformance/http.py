"""The one way this suite talks to Jira: bounded, rate-limit aware, read-only unless asked, and
unable to lock the bot out.

Every probe goes through ``JiraHttp`` so that the safety rules (docs/architecture.md §7) hold in one place:

* every request has a timeout and a wall-clock bound (a watchdog cuts a server that drips its
  answer), and the run has an overall deadline;
* at most ``concurrency`` requests are in flight, and credentialed ones are paced by a mirror of
  Jira's token bucket (:mod:`conformance.pacer`); 429 answers are retried after ``Retry-After``
  (at least 1 s, at most a cap, never beyond the deadline);
* until one credentialed request has been accepted, credentialed requests go one at a time;
  after that, Jira's session cookie (kept in memory only) replaces the secret, so a password
  that stops working mid-run costs one failed login, not one per request in flight; after the
  first rejected login no credentialed request is sent at all;
* anonymous requests carry no credentials at all (``~/.netrc`` is never consulted here);
* without write mode, a request that could change Jira is refused before it leaves the process;
* each distinct GET is sent once per run; later callers get the recorded answer;
* every exchange is recorded with secrets and cookies removed, and no exception that could carry
  the secret leaves this module.
"""

from __future__ import annotations

import base64
import functools
import heapq
import http.cookiejar
import os
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

import orjson
import requests
import requests.adapters
import requests.cookies
import requests.structures
import requests.utils
import urllib3.connection
import urllib3.connectionpool

from conformance import __version__
from conformance.evidence import (
    BODY_EXCERPT_CHARS,
    DIAGNOSTIC_HEADERS,
    Exchange,
    Failure,
    FailureKind,
)
from conformance.pacer import (
    RETRY_AFTER_CAP_S,
    BucketJson,
    BucketSeen,
    Pacer,
    clamp_retry_after,
    parse_retry_after,
)
from conformance.secrets import Redactor
from conformance.settings import Credentials, Settings

MAX_BODY_BYTES = 16 * 1024 * 1024
ORJSON_MAX_BYTES = 1024 * 1024  # an import page of 100 large issues; see HttpResult.json
MAX_RETRIES_429 = 3
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Failure kinds that mean "no answer in time" (as opposed to a refusal or a broken handshake).
TIMEOUT_KINDS = frozenset({"timeout", "connect_timeout", "read_timeout", "too_slow"})
# A request may take its connect timeout plus its read timeout, and a little more.
BOUND_MARGIN_S = 0.5
SESSION_COOKIE = "JSESSIONID"
_HEADER_TOKEN = re.compile(r"[\x21-\x7e]+")
_UTF8 = ("utf-8", "utf8", "utf_8")  # the charsets orjson reads (it reads UTF-8 only)
_LONG_NUMBER = re.compile(rb"[0-9]{19}")  # may be an integer beyond 64 bits

__all__ = ["RETRY_AFTER_CAP_S", "Failure", "FailureKind", "HttpResult", "JiraHttp"]


@dataclass
class HttpResult:
    exchange: Exchange
    response: requests.Response | None = None
    failure: Failure | None = None

    @property
    def status(self) -> int | None:
        return self.response.status_code if self.response is not None else None

    @property
    def text(self) -> str:
        return self.response.text if self.response is not None else ""

    @property
    def content_type(self) -> str:
        if self.response is None:
            return ""
        return self.response.headers.get("Content-Type", "").split(";")[0].strip().lower()

    def header(self, name: str) -> str | None:
        return self.response.headers.get(name) if self.response is not None else None

    def json(self) -> tuple[Any, str | None]:
        """(value, None) for a JSON body, else (None, why not): never raises.

        A UTF-8 body of up to ORJSON_MAX_BYTES is decoded by orjson, at half the CPU of
        ``json`` (an import's pages are most of a large run's decoding). orjson sets aside about
        15 times the body before it reads a byte (``json`` about 4 times, less for a body it
        refuses early), so a larger body is left to ``json``, as is whatever orjson refuses
        (another charset, NaN, a lone surrogate, a BOM, nesting beyond 1,024) and a body with a
        number of 19 digits or more (orjson turns an integer beyond 64 bits into a float): the
        value is the same either way (tests/integration/test_http.py).
        """
        response = self.response
        if response is None:
            return None, "no response"
        content = response.content
        if (
            len(content) <= ORJSON_MAX_BYTES
            and (response.encoding or "utf-8").lower() in _UTF8
            and not _LONG_NUMBER.search(content)
        ):
            try:
                return orjson.loads(content), None
            except orjson.JSONDecodeError:
                pass
        try:
            return response.json(), None
        except (ValueError, RecursionError) as exc:
            return None, f"not JSON ({type(exc).__name__})"


@dataclass(frozen=True)
class ProxyInfo:
    proxy: str | None  # proxy URL without credentials
    source: str  # e.g. "HTTPS_PROXY", "NO_PROXY matches host", "none"

    def describe(self) -> str:
        return f"{self.proxy} (from {self.source})" if self.proxy else f"direct ({self.source})"


class RateLimitCounts(TypedDict):
    """``Counters.rate_limit_json``: in the JSON result and the ``search.rate_limit`` facts."""

    answered_429: int
    failed_after_retries: int
    paced_requests: int
    paced_wait_s: float
    retry_after_waits: int
    retry_after_wait_s: float
    bucket: BucketJson


@dataclass
class Counters:
    requests: int = 0
    mutating_requests: int = 0
    failed_logins: int = 0
    rate_limited: int = 0  # answers with status 429
    rate_limited_failures: int = 0  # requests still 429 after the retries
    paced: int = 0  # requests that waited for the mirrored bucket
    paced_wait_s: float = 0.0
    retry_after_waits: int = 0
    retry_after_wait_s: float = 0.0
    too_slow: int = 0  # requests cut by the wall-clock watchdog
    session_reused: int = 0  # credentialed requests sent with Jira's session cookie
    sessions_lost: int = 0  # sessions Jira stopped honouring (each cost one new login)
    by_method: dict[str, int] = field(default_factory=dict)
    bucket: BucketSeen = field(default_factory=BucketSeen)

    def rate_limit_json(self) -> RateLimitCounts:
        """What a report needs to explain pacing and 429s."""
        return {
            "answered_429": self.rate_limited,
            "failed_after_retries": self.rate_limited_failures,
            "paced_requests": self.paced,
            "paced_wait_s": round(self.paced_wait_s, 3),
            "retry_after_waits": self.retry_after_waits,
            "retry_after_wait_s": round(self.retry_after_wait_s, 3),
            "bucket": self.bucket.as_json(),
        }


# -- the wall-clock watchdog ----------------------------------------------------------------------


class _Guard:
    """One request's wall-clock bound and the sockets it uses."""

    def __init__(self, due: float) -> None:
        self.due = due
        self.expired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []

    def attach(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shut(sock)

    def fire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    """shutdown() wakes a recv blocked in another thread; close() alone would not."""
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread that fires each guard at its due time."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Guard]] = []
        self._seq = 0
        self._thread: threading.Thread | None = None

    def watch(self, guard: _Guard) -> None:
        with self._cond:
            self._seq += 1
            # The thread sleeps until the earliest due time; it is woken only when this guard is
            # due before that (guards share a timeout, so rarely): a wake-up per request would
            # cost a thread switch per request.
            earliest = not self._heap or guard.due < self._heap[0][0]
            heapq.heappush(self._heap, (guard.due, self._seq, guard))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="jira-http-watchdog", daemon=True
                )
                self._thread.start()
            elif earliest:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                due, _, guard = self._heap[0]
                now = time.monotonic()
                if due > now:
                    self._cond.wait(timeout=due - now)
                    continue
                heapq.heappop(self._heap)
            if guard.due <= time.monotonic():
                guard.fire()


_WATCHDOG = _Watchdog()
_current = threading.local()


@contextmanager
def _bounded(seconds: float) -> Iterator[_Guard]:
    """Sockets opened or reused in this thread inside the block are cut after ``seconds``."""
    guard = _Guard(time.monotonic() + seconds)
    _WATCHDOG.watch(guard)
    _current.guard = guard
    try:
        yield guard
    finally:
        _current.guard = None
        guard.due = float("inf")  # done: the watchdog ignores it


def _attach(sock: socket.socket | None) -> None:
    guard: _Guard | None = getattr(_current, "guard", None)
    if guard is not None and sock is not None:
        guard.attach(sock)


class _WatchedHTTPConnection(urllib3.connection.HTTPConnection):
    def _new_conn(self) -> socket.socket:
        _current.opened = True  # this request opens its own connection: nothing to retry
        sock = super()._new_conn()
        _attach(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(urllib3.connection.HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        _current.opened = True  # this request opens its own connection: nothing to retry
        sock = super()._new_conn()
        _attach(sock)
        return sock

    def _tunnel(self) -> None:
        """Note that the proxy's answer to CONNECT is awaited: a silence here is the proxy's."""
        _current.tunnel = "waiting"
        super()._tunnel()
        _current.tunnel = "open"

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self.sock)
        super().request(*args, **kwargs)


def _fresh_if_asked(conn: Any) -> Any:
    """A pooled connection, closed first when this thread asked for a new one (its request then
    opens a new socket): the retry after a reset of a kept-alive connection. Until the request
    opens a socket of its own (``_new_conn``), it runs on a kept-alive one."""
    _current.opened = False
    if getattr(_current, "fresh", False):
        conn.close()
    return conn


class _WatchedHTTPPool(urllib3.connectionpool.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        return _fresh_if_asked(super()._get_conn(timeout))


class _WatchedHTTPSPool(urllib3.connectionpool.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection

    def _get_conn(self, timeout: float | None = None) -> Any:
        return _fresh_if_asked(super()._get_conn(timeout))


_WATCHED_POOLS: dict[str, type[urllib3.connectionpool.HTTPConnectionPool]] = {
    "http": _WatchedHTTPPool,
    "https": _WatchedHTTPSPool,
}


class _Adapter(requests.adapters.HTTPAdapter):
    """Connection pools whose sockets the watchdog can cut; optionally the OS trust store."""

    def __init__(self, *, system_trust: bool, pool_maxsize: int) -> None:
        self._system_trust = system_trust
        super().__init__(pool_maxsize=pool_maxsize)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self._system_trust:
            import ssl

            import truststore

            kwargs["ssl_context"] = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _WATCHED_POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = _WATCHED_POOLS
        return manager


# -- the client -----------------------------------------------------------------------------------


@dataclass
class _Attempt:
    """How one request is sent: its timeout, its bound, and whether the deadline shortened it."""

    timeout_s: float
    bound_s: float
    timeout_shortened: bool  # the deadline cut the per-request timeout
    bound_shortened: bool  # the deadline cut the wall-clock bound
    cleanup: bool  # the deletion of test data: sent even once the run was stopped


class JiraHttp:
    def __init__(
        self, settings: Settings, redactor: Redactor, *, allow_writes: bool = False
    ) -> None:
        self.settings = settings
        self.redactor = redactor
        self.allow_writes = allow_writes
        self.counters = Counters()
        self.notes: list[str] = []  # things about the environment a report should mention
        self.login_state: Literal["unknown", "proven", "rejected"] = "unknown"
        self._login_accepted_once = False  # a credentialed answer of this run was the bot's
        self.rejection: Exchange | None = None
        self.rate_limit: Mapping[str, str] = {}
        self._deadline = time.monotonic() + settings.deadline_s
        self._lock = threading.Lock()
        self._gate = threading.Condition()
        self._in_flight = 0
        self._login_lock = threading.Lock()
        self._cache: dict[tuple[str, bool], HttpResult] = {}
        self._cache_locks: dict[tuple[str, bool], threading.Lock] = {}
        self._stopped = False
        self._session_cookie: str | None = None
        self._sessions_seen = False  # Jira opened a session: a password request is a login
        self._sessions_work = True  # False once a session was lost without ever being honoured
        self._session_honoured = False  # a request with the current session was answered
        self.pacer = Pacer()
        self.counters.bucket = self.pacer.stats.bucket
        creds = settings.credentials
        if creds is not None:
            redactor.register_login(creds.user, creds.secret)
        self.proxy = self._proxy_info()
        self._proxies = self._environ_proxies()
        self._verify = self._trust()
        # A TLS client certificate for a Jira behind mutual TLS (--jira-client-cert).
        self._client_cert: tuple[str, str] | str | None = (
            (str(settings.client_cert), str(settings.client_key))
            if settings.client_cert is not None and settings.client_key is not None
            else str(settings.client_cert)
            if settings.client_cert is not None
            else None
        )
        self.session = self._make_session()

    # -- set-up ---------------------------------------------------------------------------------

    def _make_session(self) -> requests.Session:
        session = requests.Session()
        # No environment: requests would otherwise add ~/.netrc credentials to anonymous
        # requests. Proxies and the CA bundle from the environment are applied explicitly.
        session.trust_env = False
        session.headers.update(
            {"Accept": "application/json", "User-Agent": f"visor-jira-conformance/{__version__}"}
        )
        session.cookies.set_policy(_NoCookies())
        size = self.settings.concurrency
        session.mount(
            "https://", _Adapter(system_trust=self.settings.system_trust, pool_maxsize=size)
        )
        session.mount("http://", _Adapter(system_trust=False, pool_maxsize=size))
        return session

    def _environ_proxies(self) -> dict[str, str]:
        try:
            return dict(requests.utils.get_environ_proxies(self.settings.url, no_proxy=None))
        except ValueError:
            return {}

    def _trust(self) -> str | bool:
        """What verifies TLS: --jira-ca-bundle, else REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE if it
        exists (a missing one is noted and ignored), else the default bundle."""
        if self.settings.ca_bundle is not None:
            return str(self.settings.ca_bundle)
        if self.settings.system_trust:
            return True
        for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            value = os.environ.get(name)
            if not value:
                continue
            if os.path.exists(value):
                return value
            self.notes.append(
                f"{name} names {value!r}, which does not exist: ignored, so TLS is verified with "
                "the default CA bundle (use --jira-ca-bundle PATH to name the right one)"
            )
        return True

    def _proxy_info(self) -> ProxyInfo:
        url = self.settings.url
        try:
            environ = requests.utils.get_environ_proxies(url, no_proxy=None)
            chosen = requests.utils.select_proxy(url, environ) if environ else None
        except ValueError:
            return ProxyInfo("(unreadable proxy setting)", "HTTPS_PROXY/HTTP_PROXY")
        if chosen:
            source = "HTTPS_PROXY" if url.startswith("https") else "HTTP_PROXY"
            return ProxyInfo(self._describe_proxy(chosen), source)
        if urllib.request.getproxies():
            return ProxyInfo(None, "NO_PROXY matches the Jira host")
        return ProxyInfo(None, "no proxy configured")

    def _describe_proxy(self, chosen: str) -> str:
        """The proxy URL without its credentials (which are registered for redaction)."""
        try:
            parts = urlsplit(chosen if "://" in chosen else f"http://{chosen}")
            if parts.password:
                # As written (percent-encoded) and as sent: requests decodes the user info and
                # sends base64(user:password) in Proxy-Authorization, which a proxy may quote.
                self.redactor.register(parts.password)
                self.redactor.register_login(unquote(parts.username or ""), unquote(parts.password))
            netloc = parts.hostname or ""
            if parts.port:
                netloc += f":{parts.port}"
        except ValueError:
            hidden = re.search(r"//[^/@:]*:([^@]*)@", chosen)
            if hidden and hidden.group(1):
                self.redactor.register(hidden.group(1), unquote(hidden.group(1)))
            return "(unreadable proxy URL)"
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    # -- public API -------------------------------------------------------------------------------

    def url_for(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        url = path if "://" in path else self.settings.url + path
        if params:
            query = urlencode(
                sorted((k, v) for k, v in params.items() if v is not None), doseq=True
            )
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        return url

    def stop(self) -> None:
        """The run is ending (interrupted): send nothing more, except the deletion of test data."""
        self._stopped = True

    @property
    def stopped(self) -> bool:
        return self._stopped

    def remaining_s(self) -> float:
        return self._deadline - time.monotonic()

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        credentialed: bool = True,
        timeout_s: float | None = None,
    ) -> HttpResult:
        """GET once per run: the same URL asked again returns the recorded answer."""
        url = self.url_for(path, params)
        key = (url, credentialed and self.settings.credentials is not None)
        with self._lock:
            key_lock = self._cache_locks.setdefault(key, threading.Lock())
        with key_lock:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
            result = self._send("GET", url, credentialed=credentialed, timeout_s=timeout_s)
            transient = ("latched", "deadline", "interrupted", "rate_limited", "too_slow")
            if result.failure is None or result.failure.kind not in transient:
                self._cache[key] = result
            return result

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        credentialed: bool = True,
        cleanup: bool = False,
    ) -> HttpResult:
        """Any other request; mutating ones only in write mode. A GET sent here is not kept:
        for an answer its one reader keeps what it needs of (an import page, one project's
        grants, a poll that must see Jira's answer now).

        ``cleanup`` marks the deletion of something this run created: it is sent even after the
        run's deadline (bounded by its own timeout), because leaving data behind is worse.
        """
        return self._send(
            method.upper(),
            self.url_for(path, params),
            json=json,
            credentialed=credentialed,
            cleanup=cleanup,
        )

    def close(self) -> None:
        self.session.close()

    # -- login --------------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        credentialed: bool = True,
        timeout_s: float | None = None,
        cleanup: bool = False,
    ) -> HttpResult:
        creds = self.settings.credentials if credentialed else None
        exchange = Exchange(
            method=method,
            url=self.redactor.scrub(url),
            auth_scheme=creds.scheme if creds else None,
            user=creds.user if creds else None,
            proxy=self.proxy.proxy,
            request_json=self.redactor.scrub_obj(json) if json is not None else None,
            login_proven=creds is not None and self._login_accepted_once,
        )
        if method not in READ_METHODS and not self.allow_writes:
            return self._not_sent(
                exchange,
                "read_only",
                "not sent: the suite is read-only unless --jira-write-project is given",
            )
        if self._stopped and not cleanup:
            return self._not_sent(exchange, "interrupted", "not sent: the run was interrupted")
        if creds is None:
            return self._send_gated(method, url, exchange, json, None, timeout_s, cleanup)
        send = functools.partial(
            self._send_gated,
            method,
            url,
            json=json,
            creds=creds,
            timeout_s=timeout_s,
            cleanup=cleanup,
        )
        if self._login() == "rejected":
            return self._not_sent(exchange, "latched", self._latch_reason())
        result, exchange = self._by_session(url, exchange, send)
        if result is not None:
            return result
        if self._login() == "proven" and not self._sessions_seen:
            # A Jira that opens no session (tokens, Cloud): the secret goes with each request.
            return send(exchange)
        # A login: until one is accepted, and again whenever Jira stopped honouring the session
        # (a node failover, a load balancer without sticky sessions), credentialed requests go
        # one at a time; none after a refusal.
        with self._login_lock:
            if self._login() == "rejected":
                return self._not_sent(exchange, "latched", self._latch_reason())
            # Another request may have logged in while this one waited: its session carries it.
            result, exchange = self._by_session(url, exchange, send)
            return result if result is not None else send(exchange)

    def _by_session(
        self, url: str, exchange: Exchange, send: Callable[..., HttpResult]
    ) -> tuple[HttpResult | None, Exchange]:
        """Send with Jira's session cookie when the login is proven and a session is held:
        (its answer, the exchange), or (None, a fresh exchange to send as a login) when there
        is no session or Jira no longer honoured it."""
        cookie = self._session_for(url)
        if self._login() != "proven" or cookie is None:
            return None, exchange
        result = send(exchange, cookie=cookie)
        if not self._session_lost(result, cookie):
            self._session_honoured = True
            return result, exchange
        return None, _fresh(exchange)

    def _session_for(self, url: str) -> str | None:
        """The session cookie to send to ``url`` instead of the secret (Jira's own host only)."""
        return self._session_cookie if self._same_host(url) else None

    def _login(self) -> str:
        """The login state now (other threads change it)."""
        return self.login_state

    def _same_host(self, url: str) -> bool:
        try:
            ours, theirs = urlsplit(self.settings.url), urlsplit(url)
            return (ours.scheme, ours.netloc) == (theirs.scheme, theirs.netloc)
        except ValueError:
            return False

    def _session_lost(self, result: HttpResult, cookie: str) -> bool:
        """A cookie request answered 401 (or as anonymous): Jira no longer honours the session.
        Forget it: the next credentialed request is a new login, sent one at a time. Such a 401
        is not a failed login (no secret was sent), nor a sign that Jira ignores the credentials."""
        if result.response is None:
            return False
        user = (result.header("X-AUSERNAME") or "").lower()
        if result.status != 401 and user != "anonymous":
            return False
        with self._lock:
            if self._session_cookie == cookie:
                self._session_cookie = None
                self.counters.sessions_lost += 1
                # A session never honoured once (a proxy that drops cookies): stop sending them,
                # which would cost a wasted request each time. Logins then go one at a time.
                self._sessions_work = self._sessions_work and self._session_honoured
                if self.login_state == "proven":
                    self.login_state = "unknown"
        return True

    def _latch_reason(self) -> str:
        where = self.rejection.url if self.rejection else "an earlier request"
        return (
            "not sent: Jira rejected the bot's login at "
            f"{where}; the suite sends no more credentialed requests so as not to lock the account"
        )

    def _not_sent(self, exchange: Exchange, kind: FailureKind, detail: str) -> HttpResult:
        exchange.error = detail
        refused = self.rejection if kind == "latched" else None
        return HttpResult(exchange=exchange, failure=Failure(kind, detail, False, refused))

    # -- pacing, retries, the deadline ----------------------------------------------------------

    def _send_gated(
        self,
        method: str,
        url: str,
        exchange: Exchange,
        json: Any,
        creds: Credentials | None,
        timeout_s: float | None,
        cleanup: bool,
        *,
        cookie: str | None = None,
    ) -> HttpResult:
        attempt = 0
        paced = creds is not None
        while True:
            attempt += 1
            exchange.attempt = attempt
            if paced:
                refused = self._wait_for_token(exchange, cleanup)
                if refused is not None:
                    return refused
            plan = self._plan(timeout_s, cleanup)
            if plan is None:
                if paced:
                    self.pacer.cancel()
                return self._not_sent(
                    exchange,
                    "deadline",
                    f"not sent: the run's deadline of {self.settings.deadline_s:g} s passed",
                )
            result = self._send_once(method, url, exchange, json, creds, cookie, plan)
            if paced:
                self.pacer.observe(
                    result.response.headers if result.response is not None else None,
                    result.status,
                )
            if result.status != 429:
                return result
            stated = parse_retry_after(result.header("Retry-After"))
            wait = clamp_retry_after(stated)
            beyond = stated is not None and stated > RETRY_AFTER_CAP_S
            if attempt > MAX_RETRIES_429 or beyond or wait > self._time_left(cleanup):
                if paced and beyond and stated is not None:
                    self.pacer.hold(stated)  # later requests are refused without being sent
                return self._rate_limited(result, stated, attempt)
            if paced:
                self.pacer.hold(wait)
            else:
                self._sleep(wait, retry_after=True)
            exchange = _fresh(exchange)

    def _time_left(self, cleanup: bool) -> float:
        remaining = self.remaining_s()
        return max(remaining, self.settings.timeout_s) if cleanup else remaining

    def _wait_for_token(self, exchange: Exchange, cleanup: bool) -> HttpResult | None:
        """Wait until the mirrored bucket has a token; None when one was taken."""
        first = True
        while True:
            wait = self.pacer.wait_needed()
            if wait <= 0:
                return None
            if wait > self._time_left(cleanup):
                limit = self.counters.bucket.limit
                return self._not_sent(
                    exchange,
                    "rate_limited",
                    f"not sent: Jira's rate limit (bucket {limit or 'not stated'}) would need a "
                    f"wait of {wait:.1f} s, beyond the run's deadline",
                )
            held = self.pacer.held_until() > time.monotonic()
            self._sleep(min(wait, 1.0), retry_after=held, first=first)
            first = False

    def _sleep(self, seconds: float, *, retry_after: bool, first: bool = True) -> None:
        self.pacer.note_wait(seconds, retry_after=retry_after, first=first)
        with self._lock:
            stats = self.pacer.stats
            self.counters.paced, self.counters.paced_wait_s = stats.paced, stats.paced_wait_s
            self.counters.retry_after_waits = stats.retry_after_waits
            self.counters.retry_after_wait_s = stats.retry_after_wait_s
        time.sleep(seconds)

    def _plan(self, timeout_s: float | None, cleanup: bool) -> _Attempt | None:
        wanted = timeout_s or self.settings.timeout_s
        remaining = self._time_left(cleanup)
        if remaining <= 0:
            return None
        timeout = min(wanted, remaining)
        bound = min(2 * timeout, remaining) + BOUND_MARGIN_S
        return _Attempt(timeout, bound, remaining < wanted, remaining < 2 * timeout, cleanup)

    def _rate_limited(self, result: HttpResult, stated: float | None, attempts: int) -> HttpResult:
        bucket = self.counters.bucket
        if stated is not None and stated > RETRY_AFTER_CAP_S:
            why = f"Retry-After asked for {stated:g} s, more than the suite waits"
        elif attempts > MAX_RETRIES_429:
            why = f"still 429 after {attempts} attempts"
        else:
            why = "the wait Jira asked for would pass the run's deadline"
        detail = (
            f"Jira answered 429 Too Many Requests ({why}; bucket limit "
            f"{bucket.limit if bucket.limit is not None else 'not stated'}, refill "
            f"{_refill_text(bucket)})"
        )
        with self._lock:
            self.counters.rate_limited_failures += 1
        result.exchange.error = detail
        result.failure = Failure("rate_limited", detail)
        return result

    def _acquire(self) -> None:
        with self._gate:
            while self._in_flight >= self.settings.concurrency:
                self._gate.wait(timeout=0.5)
            self._in_flight += 1

    def _release(self) -> None:
        with self._gate:
            self._in_flight -= 1
            # One slot freed, one waiter woken: waking them all costs each a thread switch
            # (a GIL hand-off) for nothing, and with a busy main thread that delays the request.
            self._gate.notify()

    # -- one request on the wire ----------------------------------------------------------------

    def _send_once(
        self,
        method: str,
        url: str,
        exchange: Exchange,
        json: Any,
        creds: Credentials | None,
        cookie: str | None,
        plan: _Attempt,
    ) -> HttpResult:
        headers: dict[str, str] = {}
        if cookie is not None:
            headers["Cookie"] = f"{SESSION_COOKIE}={cookie}"
        elif creds is not None:
            value = _authorization(creds)
            if value is None:
                return self._not_sent(
                    exchange,
                    "bad_secret",
                    f"not sent: the bot's {creds.secret_kind} contains characters that cannot "
                    "travel in an HTTP header (a line break, a control character or a non-ASCII "
                    "character)",
                )
            headers["Authorization"] = value
            del value
        if method not in READ_METHODS:
            headers["X-Atlassian-Token"] = "no-check"
        response: requests.Response | None = None
        truncated, received = False, 0
        _current.tunnel = None
        # The slot is held while the request is on the wire, and given back before its answer is
        # examined (decoded, redacted, recorded): at most ``concurrency`` requests in flight.
        self._acquire()
        try:
            if self._stopped and not plan.cleanup:
                # Stopped while it waited for its slot (more workers than slots wait there).
                return self._not_sent(exchange, "interrupted", "not sent: the run was interrupted")
            with self._lock:  # counted once it has a slot: every request counted is sent
                self.counters.requests += 1
                self.counters.by_method[method] = self.counters.by_method.get(method, 0) + 1
                if method not in READ_METHODS:
                    self.counters.mutating_requests += 1
                if cookie is not None:
                    self.counters.session_reused += 1
            started = time.monotonic()
            with _bounded(plan.bound_s) as guard:
                try:
                    response = self._request(method, url, headers, json, plan, exchange)
                    truncated, received = _read_body(response)
                    error: BaseException | None = None
                except Exception as exc:  # nothing that may hold the secret escapes
                    error = exc
        finally:
            self._release()
        headers.clear()
        exchange.elapsed_ms = (time.monotonic() - started) * 1000
        if guard.expired:
            got = f"{received} bytes of the body" if error is None else "an incomplete answer"
            return self._failed(exchange, self._cut(plan, got))
        if error is not None:
            failure = classify_exception(
                error,
                timeout_s=plan.timeout_s,
                via_proxy=self.proxy.proxy is not None,
                tunnel_waiting=getattr(_current, "tunnel", None) == "waiting",
            )
            if plan.timeout_shortened and failure.kind in ("connect_timeout", "read_timeout"):
                failure = Failure(
                    "deadline",
                    f"{failure.detail}; the timeout was shortened to {plan.timeout_s:.1f} s "
                    "because the run's deadline was near",
                )
            return self._failed(exchange, failure)
        assert response is not None
        return self._answered(exchange, response, creds, cookie, truncated)

    def _request(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        json: Any,
        plan: _Attempt,
        exchange: Exchange,
    ) -> requests.Response:
        """Send once; a GET whose kept-alive connection was reset before any byte came back (a
        load balancer closing idle connections) is sent once more, on a new connection.

        Nothing reached Jira the first time, so this costs no second login; what fails again
        on a fresh connection is reported.
        """
        try:
            return self._send_request(method, url, headers, json, plan)
        except requests.exceptions.ConnectionError as exc:
            reused = not getattr(_current, "opened", True)
            if method != "GET" or not reused or not _no_answer(exc):
                raise
        exchange.reconnected = True
        with self._lock:
            self.counters.requests += 1
            self.counters.by_method[method] = self.counters.by_method.get(method, 0) + 1
        _current.fresh = True
        try:
            return self._send_request(method, url, headers, json, plan)
        finally:
            _current.fresh = False

    def _send_request(
        self, method: str, url: str, headers: dict[str, str], json: Any, plan: _Attempt
    ) -> requests.Response:
        """The request, prepared here and handed to the session's adapter.

        ``Session.request`` would merge what this session never uses (the environment, which
        is off and applied explicitly; a cookie jar that stays empty; hooks; redirects, which
        are never followed) at about a quarter of a request's CPU, for the same bytes on the wire;
        and it reads a redirect's whole body before handing it back (a gateway's 302 to its
        identity provider may carry any amount), where ``_read_body`` stops at the body limit.
        The adapter still builds the response, its cookies included.
        """
        request = requests.PreparedRequest()
        request.prepare_method(method)
        request.prepare_url(url, None)
        request.prepare_headers({**self.session.headers, **headers})
        request.prepare_body(None, None, json)
        return self.session.get_adapter(url).send(
            request,
            stream=True,
            timeout=(plan.timeout_s, plan.timeout_s),
            verify=self._verify,
            cert=self._client_cert,
            proxies=self._proxies,
        )

    def _cut(self, plan: _Attempt, got: str) -> Failure:
        with self._lock:
            self.counters.too_slow += 1
        if plan.bound_shortened:
            return Failure(
                "deadline",
                f"cut after {plan.bound_s:.1f} s at the run's deadline with {got} received",
            )
        return Failure(
            "too_slow",
            f"the answer was still arriving after {plan.bound_s:.1f} s (twice the "
            f"{plan.timeout_s:g} s timeout), with {got} received: the suite cut the request",
        )

    def _failed(self, exchange: Exchange, failure: Failure) -> HttpResult:
        exchange.error = self.redactor.scrub(failure.detail)
        return HttpResult(exchange=exchange, failure=Failure(failure.kind, exchange.error))

    def _answered(
        self,
        exchange: Exchange,
        response: requests.Response,
        creds: Credentials | None,
        cookie: str | None,
        truncated: bool,
    ) -> HttpResult:
        exchange.status = response.status_code
        exchange.reason = self.redactor.scrub(response.reason or "")
        exchange.headers = {
            name: self.redactor.scrub(response.headers[name])
            for name in DIAGNOSTIC_HEADERS
            if name in response.headers
        }
        body = response.text if response.content else ""  # decoded once: it is not cached
        # Scrubbed before it is cut, so that the cut cannot leave part of a secret behind.
        exchange.body_excerpt = self.redactor.scrub(body[: 2 * BODY_EXCERPT_CHARS])[
            :BODY_EXCERPT_CHARS
        ]
        exchange.body_truncated = truncated or len(body) > BODY_EXCERPT_CHARS
        self._note_rate_limit(response)
        if creds is not None and cookie is None:
            self._note_login(response, body, exchange)
        return HttpResult(exchange=exchange, response=_kept(response))

    def _note_rate_limit(self, response: requests.Response) -> None:
        values = {k: v for k, v in response.headers.items() if k.lower().startswith("x-ratelimit-")}
        if values:
            self.rate_limit = requests.structures.CaseInsensitiveDict(values)
        if response.status_code == 429:
            with self._lock:
                self.counters.rate_limited += 1

    def _note_login(self, response: requests.Response, body: str, exchange: Exchange) -> None:
        proven = self.login_state == "proven"
        if is_login_rejection(response.status_code, response.headers, body, login_proven=proven):
            with self._lock:
                self.counters.failed_logins += 1
                if self.login_state != "rejected":
                    self.login_state = "rejected"
                    self.rejection = exchange
                self._session_cookie = None
            return
        if response.status_code == 429:
            return
        with self._lock:
            if self.login_state == "unknown":
                self.login_state = "proven"
            if response.ok and (response.headers.get("X-AUSERNAME") or "").lower() != "anonymous":
                self._login_accepted_once = True
            sessions = session_cookies(response, self.settings.url) if response.ok else []
            if sessions:
                self.redactor.register(*sessions)
                self._sessions_seen = True
                if self._session_cookie is None and self._sessions_work:
                    self._session_cookie = sessions[0]
                    self._session_honoured = False


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """The session's jar stays empty: the one cookie the suite uses is held apart, in memory."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


def _fresh(exchange: Exchange) -> Exchange:
    """A new record for a repeated request (a retry after 429, or after a lost session)."""
    return Exchange(
        method=exchange.method,
        url=exchange.url,
        auth_scheme=exchange.auth_scheme,
        user=exchange.user,
        proxy=exchange.proxy,
        request_json=exchange.request_json,
        attempt=exchange.attempt,
        login_proven=exchange.login_proven,
    )


def session_cookies(response: requests.Response, base_url: str) -> list[str]:
    """Every JSESSIONID value the answer set, the one for Jira's own path first.

    An answer may set two (one for the context path, one for ``/`` from an agent or another
    application): each is registered for redaction, and the one whose path is the longest prefix
    of Jira's base path is used, as a browser would send it first.
    """
    base_path = urlsplit(base_url).path.rstrip("/") + "/"
    found: list[tuple[int, str]] = []
    for cookie in response.cookies:
        if cookie.name != SESSION_COOKIE or not cookie.value:
            continue
        path = (cookie.path or "/").rstrip("/") + "/"
        fits = base_path.startswith(path)
        found.append((-len(path) if fits else 1, cookie.value))
    found.sort(key=lambda pair: pair[0])
    return [value for _, value in found]


def _refill_text(bucket: BucketSeen) -> str:
    if bucket.fill_rate is None:
        return "not stated"
    return f"{bucket.fill_rate:g} per {bucket.interval_s or 1:g} s"


def _authorization(creds: Credentials) -> str | None:
    """The Authorization header value, or None when the secret cannot travel in a header.

    Kept tiny and free of exceptions on purpose: this is the only frame that holds the raw
    secret, and a frame that raises is printed with its locals under ``pytest -l``. A Latin-1
    user:password is encoded as requests always did; anything else as UTF-8 (RFC 7617's
    charset), instead of raising UnicodeEncodeError.
    """
    try:
        if creds.scheme == "basic":
            pair = f"{creds.user or ''}:{creds.secret.reveal()}"
            try:
                raw = pair.encode("latin-1")
            except UnicodeEncodeError:
                raw = pair.encode("utf-8")
            return "Basic " + base64.b64encode(raw).decode("ascii")
        token = creds.secret.reveal()
        return "Bearer " + token if _HEADER_TOKEN.fullmatch(token) else None
    except Exception:  # e.g. a lone surrogate: not sendable, and not shown
        return None


def _kept(response: requests.Response) -> requests.Response:
    """The answer as a GET's recorded result keeps it for the run: status, headers and body.

    A run keeps every answer it may be asked for again, so the transport's objects are let go
    once the body is read: the connection's response and its parsed headers, the prepared
    request (which carries the Authorization header), the cookie jar (its session cookies were
    read by then). They were 9% of what a run of 400 projects kept.
    """
    response.raw = None
    response.request = None  # type: ignore[assignment]
    response.cookies = requests.cookies.RequestsCookieJar()
    response.history = []
    return response


def _read_body(response: requests.Response) -> tuple[bool, int]:
    """Read at most MAX_BODY_BYTES (the watchdog bounds the time); (truncated, bytes read)."""
    chunks: list[bytes] = []
    size = 0
    truncated = False
    try:
        for chunk in response.iter_content(chunk_size=65536):
            chunks.append(chunk)
            size += len(chunk)
            if size >= MAX_BODY_BYTES:
                truncated = True
                break
    finally:
        response._content = b"".join(chunks)
        response.close()
    return truncated, size


def is_login_rejection(
    status: int, headers: Mapping[str, str], body: str, *, login_proven: bool = False
) -> bool:
    """Did Jira refuse the credentials themselves (as opposed to refusing an action)?

    Decided from status and headers, never from the message, which Jira localises: a 403 before
    any login was accepted refuses the login (basic auth disabled, a CAPTCHA whose headers a
    proxy stripped) in whatever language it says so. After an accepted login a 403 refuses an
    action, unless Jira says basic authentication is disabled.
    """
    reason = (headers.get("X-Seraph-LoginReason") or "").upper()
    if "AUTHENTICATED_FAILED" in reason or "AUTHENTICATION_DENIED" in reason:
        return True
    if headers.get("X-Authentication-Denied-Reason"):
        return True
    if status == 401:
        return True
    if status == 403 and not login_proven:
        return True
    return status == 403 and "basic authentication has been disabled" in (body or "")[:2000].lower()


def _no_answer(exc: BaseException) -> bool:
    """The connection was closed or reset before a single byte of the answer came back (not a
    timeout, a TLS or proxy failure, or an answer cut short)."""
    if isinstance(exc, requests.exceptions.Timeout | requests.exceptions.SSLError):
        return False
    text = _chain_text(exc).lower()
    if any(s in text for s in ("incompleteread", "chunkedencodingerror", "invalidchunklength")):
        return False
    return any(
        s in text
        for s in ("remotedisconnected", "connectionreseterror", "connection reset", "broken pipe")
    )


def retry_after_seconds(value: str | None) -> float:
    """Retry-After as the wait the suite makes: at least 1 s (Jira sends 0), at most the cap."""
    return clamp_retry_after(parse_retry_after(value))


def classify_exception(
    exc: BaseException,
    *,
    timeout_s: float | None = None,
    via_proxy: bool = False,
    tunnel_waiting: bool = False,
) -> Failure:
    """Name the layer that failed; never collapse TLS or proxy failures into 'bad URL'.

    Timeouts get a sentence that says which wait ran out and how long it was; other kinds keep
    the error chain, whose informative part the findings quote.
    """
    text = _chain_text(exc)
    lowered = text.lower()
    waited = f" within {timeout_s:g} s" if timeout_s else ""  # "within 2.5 s": diagnosis reads it
    timed_out = "timed out" in lowered or "timeout" in lowered
    if tunnel_waiting and timed_out:
        return Failure(
            "proxy_silent",
            f"the proxy accepted the connection but did not answer the CONNECT request{waited}",
        )
    if via_proxy and isinstance(
        exc, requests.exceptions.InvalidURL | requests.exceptions.InvalidProxyURL
    ):
        return Failure("proxy", f"the proxy setting is not a usable URL ({_short(text, 200)})")
    if isinstance(exc, requests.exceptions.ProxyError) or "tunnel connection failed" in lowered:
        if timed_out:
            return Failure(
                "proxy_silent",
                f"the proxy accepted the connection but did not answer the CONNECT request{waited}",
            )
        return Failure("proxy", _short(text))
    if isinstance(exc, requests.exceptions.SSLError) or "certificate verify failed" in lowered:
        if "wrong_version_number" in lowered or "wrong version number" in lowered:
            return Failure(
                "tls_protocol",
                "the port answered the TLS handshake with something that is not TLS "
                f"(plain HTTP, most likely): {_essence_ssl(text)}",
            )
        if "expired" in lowered:
            return Failure("tls_expired", _short(text))
        if (
            "hostname mismatch" in lowered
            or "doesn't match" in lowered
            or "ip address mismatch" in lowered
        ):
            return Failure("tls_hostname", _short(text))
        if (
            "certificate verify failed" in lowered
            or "self-signed" in lowered
            or "self signed" in lowered
        ):
            return Failure("tls_untrusted", _short(text))
        return Failure("tls_other", _short(text))
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        where = "the proxy" if via_proxy else "the server"
        return Failure("connect_timeout", f"the TCP connection to {where} was not accepted{waited}")
    if isinstance(exc, requests.exceptions.Timeout) or (
        isinstance(exc, requests.exceptions.ConnectionError) and "read timed out" in lowered
    ):
        return Failure(
            "read_timeout",
            f"nothing came back{waited} of sending the request",
        )
    if any(
        s in lowered
        for s in (
            "name or service not known",
            "nodename nor servname",
            "getaddrinfo failed",
            "name resolution",
            "failed to resolve",
            "no address associated",
            "temporary failure in name",
        )
    ):
        return Failure("dns", _short(text))
    if "refused" in lowered:
        return Failure("refused", _short(text))
    if any(
        s in lowered
        for s in (
            "remotedisconnected",
            "connection aborted",
            "connection reset",
            "connectionreseterror",
            "broken pipe",
            "incompleteread",
            "protocolerror",
            "chunkedencodingerror",
        )
    ):
        return Failure("reset", _short(text))
    return Failure("other", _short(text))


def _essence_ssl(text: str) -> str:
    match = re.search(r"\[SSL[^\]]*\][^()']*", text)
    return match.group(0).strip() if match else _short(text, 120)


def _chain_text(exc: BaseException) -> str:
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append(f"{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return " <- ".join(parts)


def _short(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
