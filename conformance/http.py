"""The one way this suite talks to Jira: bounded, rate-limit aware, read-only unless asked, and
unable to lock the bot out.

Every probe goes through ``JiraHttp`` so that the rules of DESIGN.md hold in one place:

* every request has a timeout, and the run has an overall deadline;
* at most ``concurrency`` requests are in flight, fewer when Jira's ``X-RateLimit-Remaining``
  runs low, and 429 answers are retried after ``Retry-After`` (at least 1 s, at most a cap);
* until one credentialed request has been accepted, credentialed requests go one at a time, and
  after the first rejected login no credentialed request is sent at all (Jira puts an account
  behind a CAPTCHA after a few failed logins);
* without write mode, a request that could change Jira is refused before it leaves the process;
* each distinct GET is sent once per run; later callers get the recorded answer;
* every exchange is recorded with secrets and cookies removed.
"""

from __future__ import annotations

import email.utils
import http.cookiejar
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
import requests.adapters
import requests.structures
import requests.utils

from conformance import __version__
from conformance.evidence import BODY_EXCERPT_CHARS, DIAGNOSTIC_HEADERS, Exchange
from conformance.secrets import Redactor
from conformance.settings import Settings

MAX_BODY_BYTES = 16 * 1024 * 1024
RETRY_AFTER_CAP_S = 30.0
MAX_RETRIES_429 = 3
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

FailureKind = Literal[
    "dns",
    "refused",
    "timeout",
    "tls_untrusted",
    "tls_hostname",
    "tls_expired",
    "tls_other",
    "proxy",
    "reset",
    "deadline",
    "latched",
    "read_only",
    "too_large",
    "interrupted",
    "other",
]


@dataclass(frozen=True)
class TransportFailure:
    """Why no HTTP answer came back (or why the request was not sent)."""

    kind: FailureKind
    detail: str


@dataclass
class HttpResult:
    exchange: Exchange
    response: requests.Response | None = None
    failure: TransportFailure | None = None

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
        """(value, None) for a JSON body, else (None, why not): never raises."""
        if self.response is None:
            return None, "no response"
        try:
            return self.response.json(), None
        except (ValueError, RecursionError) as exc:
            return None, f"not JSON ({type(exc).__name__})"


@dataclass(frozen=True)
class ProxyInfo:
    proxy: str | None  # proxy URL without credentials
    source: str  # e.g. "HTTPS_PROXY", "NO_PROXY matches host", "none"

    def describe(self) -> str:
        return f"{self.proxy} (from {self.source})" if self.proxy else f"direct ({self.source})"


@dataclass
class Counters:
    requests: int = 0
    mutating_requests: int = 0
    failed_logins: int = 0
    rate_limited: int = 0
    by_method: dict[str, int] = field(default_factory=dict)


class _NoCookies(http.cookiejar.DefaultCookiePolicy):
    """Every request authenticates itself; a session cookie would hide what the bot really sends."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


class _SystemTrustAdapter(requests.adapters.HTTPAdapter):
    """Verify TLS with the operating system's trust store (``--jira-system-trust``)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        import ssl

        import truststore

        kwargs["ssl_context"] = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        super().init_poolmanager(*args, **kwargs)


class JiraHttp:
    def __init__(
        self, settings: Settings, redactor: Redactor, *, allow_writes: bool = False
    ) -> None:
        self.settings = settings
        self.redactor = redactor
        self.allow_writes = allow_writes
        self.counters = Counters()
        self.exchanges: list[Exchange] = []
        self.login_state: Literal["unknown", "proven", "rejected"] = "unknown"
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
        self.session = self._make_session()
        self.proxy = self._proxy_info()

    # -- set-up ---------------------------------------------------------------------------------

    def _make_session(self) -> requests.Session:
        session = requests.Session()
        session.headers.update(
            {"Accept": "application/json", "User-Agent": f"visor-jira-conformance/{__version__}"}
        )
        session.cookies.set_policy(_NoCookies())
        if self.settings.system_trust:
            session.mount("https://", _SystemTrustAdapter(pool_maxsize=self.settings.concurrency))
        else:
            adapter = requests.adapters.HTTPAdapter(pool_maxsize=self.settings.concurrency)
            session.mount("https://", adapter)
            session.mount(
                "http://", requests.adapters.HTTPAdapter(pool_maxsize=self.settings.concurrency)
            )
        return session

    def _proxy_info(self) -> ProxyInfo:
        url = self.settings.url
        environ = requests.utils.get_environ_proxies(url)
        chosen = requests.utils.select_proxy(url, environ) if environ else None
        if chosen:
            parts = urlsplit(chosen)
            if parts.password:
                self.redactor.register(parts.password)
            netloc = parts.hostname or ""
            if parts.port:
                netloc += f":{parts.port}"
            source = "HTTPS_PROXY" if url.startswith("https") else "HTTP_PROXY"
            return ProxyInfo(urlunsplit((parts.scheme, netloc, parts.path, "", "")), source)
        any_proxy = requests.utils.getproxies()
        if any_proxy and requests.utils.should_bypass_proxies(url, no_proxy=None):
            return ProxyInfo(None, "NO_PROXY matches the Jira host")
        return ProxyInfo(None, "no proxy configured")

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
            if result.failure is None or result.failure.kind not in (
                "latched",
                "deadline",
                "interrupted",
            ):
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
        """Any other request; mutating ones only in write mode.

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

    # -- machinery --------------------------------------------------------------------------------

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
        )
        if method not in READ_METHODS and not self.allow_writes:
            return self._not_sent(
                exchange,
                "read_only",
                "not sent: the suite is read-only unless --jira-write-project is given",
            )
        if self._stopped and not cleanup:
            return self._not_sent(exchange, "interrupted", "not sent: the run was interrupted")
        if creds is not None and self.login_state == "rejected":
            return self._not_sent(exchange, "latched", self._latch_reason())
        if creds is None or self.login_state == "proven":
            return self._send_gated(
                method, url, exchange, json=json, creds=creds, timeout_s=timeout_s, cleanup=cleanup
            )
        # Until a login has been accepted, credentialed requests go one at a time.
        with self._login_lock:
            if self.login_state == "rejected":
                return self._not_sent(exchange, "latched", self._latch_reason())
            return self._send_gated(
                method, url, exchange, json=json, creds=creds, timeout_s=timeout_s, cleanup=cleanup
            )

    def _latch_reason(self) -> str:
        where = self.rejection.url if self.rejection else "an earlier request"
        return (
            "not sent: Jira rejected the bot's login at "
            f"{where}; the suite sends no more credentialed requests so as not to lock the account"
        )

    def _not_sent(self, exchange: Exchange, kind: FailureKind, detail: str) -> HttpResult:
        exchange.error = detail
        return HttpResult(exchange=exchange, failure=TransportFailure(kind, detail))

    def _send_gated(
        self,
        method: str,
        url: str,
        exchange: Exchange,
        *,
        json: Any,
        creds: Any,
        timeout_s: float | None,
        cleanup: bool = False,
    ) -> HttpResult:
        attempt = 0
        while True:
            attempt += 1
            exchange.attempt = attempt
            remaining = self.remaining_s()
            if cleanup:
                remaining = max(remaining, self.settings.timeout_s)
            if remaining <= 0:
                return self._not_sent(
                    exchange,
                    "deadline",
                    f"not sent: the run's deadline of {self.settings.deadline_s:g} s passed",
                )
            self._acquire()
            try:
                result = self._send_once(
                    method,
                    url,
                    exchange,
                    json=json,
                    creds=creds,
                    timeout_s=min(timeout_s or self.settings.timeout_s, remaining),
                )
            finally:
                self._release()
            if result.status != 429 or attempt > MAX_RETRIES_429:
                return result
            wait = retry_after_seconds(result.header("Retry-After"))
            if wait > self.remaining_s():
                return result
            time.sleep(wait)
            exchange = Exchange(**{**exchange.__dict__, "headers": {}, "status": None})

    def _acquire(self) -> None:
        with self._gate:
            while self._in_flight >= self._limit():
                self._gate.wait(timeout=0.5)
            self._in_flight += 1

    def _release(self) -> None:
        with self._gate:
            self._in_flight -= 1
            self._gate.notify_all()

    def _limit(self) -> int:
        """Fewer requests in flight as Jira's rate-limit bucket runs low."""
        limit = self.settings.concurrency
        remaining = self.rate_limit.get("X-RateLimit-Remaining")
        if remaining is not None and remaining.isdigit():
            limit = min(limit, max(1, int(remaining) // 2))
        return limit

    def _send_once(
        self,
        method: str,
        url: str,
        exchange: Exchange,
        *,
        json: Any,
        creds: Any,
        timeout_s: float,
    ) -> HttpResult:
        headers: dict[str, str] = {}
        auth = None
        if creds is not None:
            if creds.scheme == "basic":
                auth = (creds.user or "", creds.secret.reveal())
            else:
                headers["Authorization"] = f"Bearer {creds.secret.reveal()}"
        if method not in READ_METHODS:
            headers["X-Atlassian-Token"] = "no-check"
        with self._lock:
            self.counters.requests += 1
            self.counters.by_method[method] = self.counters.by_method.get(method, 0) + 1
            if method not in READ_METHODS:
                self.counters.mutating_requests += 1
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                headers=headers,
                auth=auth,
                json=json,
                timeout=(timeout_s, timeout_s),
                allow_redirects=False,
                stream=True,
                # Explicit, because requests lets REQUESTS_CA_BUNDLE override a session's verify.
                verify=str(self.settings.ca_bundle) if self.settings.ca_bundle else True,
            )
            truncated = self._read_body(response, min(self._deadline, started + 6 * timeout_s))
        except requests.RequestException as exc:
            exchange.elapsed_ms = (time.monotonic() - started) * 1000
            failure = classify_exception(exc)
            exchange.error = self.redactor.scrub(f"{type(exc).__name__}: {failure.detail}")
            self._record(exchange)
            return HttpResult(
                exchange=exchange, failure=TransportFailure(failure.kind, exchange.error)
            )
        exchange.elapsed_ms = (time.monotonic() - started) * 1000
        exchange.status = response.status_code
        exchange.reason = response.reason or ""
        exchange.headers = {
            name: self.redactor.scrub(response.headers[name])
            for name in DIAGNOSTIC_HEADERS
            if name in response.headers
        }
        body = response.text if response.content else ""
        exchange.body_excerpt = self.redactor.scrub(body[:BODY_EXCERPT_CHARS])
        exchange.body_truncated = truncated or len(body) > BODY_EXCERPT_CHARS
        self._note_rate_limit(response)
        if creds is not None:
            self._note_login(response, exchange)
        self._record(exchange)
        return HttpResult(exchange=exchange, response=response)

    def _read_body(self, response: requests.Response, read_deadline: float) -> bool:
        """Read at most MAX_BODY_BYTES, giving up at a deadline: a drip-feeding server cannot hang us."""
        chunks: list[bytes] = []
        size = 0
        truncated = False
        for chunk in response.iter_content(chunk_size=65536):
            chunks.append(chunk)
            size += len(chunk)
            if size >= MAX_BODY_BYTES or time.monotonic() > read_deadline:
                truncated = True
                break
        response._content = b"".join(chunks)
        response.close()
        return truncated

    def _note_rate_limit(self, response: requests.Response) -> None:
        values = {k: v for k, v in response.headers.items() if k.lower().startswith("x-ratelimit-")}
        if values:
            self.rate_limit = requests.structures.CaseInsensitiveDict(values)
        if response.status_code == 429:
            with self._lock:
                self.counters.rate_limited += 1

    def _note_login(self, response: requests.Response, exchange: Exchange) -> None:
        if is_login_rejection(response.status_code, response.headers, response.text):
            with self._lock:
                self.counters.failed_logins += 1
                if self.login_state != "rejected":
                    self.login_state = "rejected"
                    self.rejection = exchange
        elif self.login_state == "unknown" and response.status_code != 429:
            self.login_state = "proven"

    def _record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def close(self) -> None:
        self.session.close()


def is_login_rejection(status: int, headers: Mapping[str, str], body: str) -> bool:
    """Did Jira refuse the credentials themselves (as opposed to refusing an action)?"""
    reason = (headers.get("X-Seraph-LoginReason") or "").upper()
    if "AUTHENTICATED_FAILED" in reason or "AUTHENTICATION_DENIED" in reason:
        return True
    if headers.get("X-Authentication-Denied-Reason"):
        return True
    if status == 401:
        return True
    return status == 403 and "basic authentication has been disabled" in (body or "")[:2000].lower()


def retry_after_seconds(value: str | None) -> float:
    """Retry-After as a wait: at least 1 s (Jira sends 0), at most the cap."""
    if not value:
        return 1.0
    value = value.strip()
    seconds: float
    if value.replace(".", "", 1).isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
            seconds = when.timestamp() - time.time()
        except (TypeError, ValueError, IndexError, OverflowError):
            seconds = 1.0
    return min(max(seconds, 1.0), RETRY_AFTER_CAP_S)


def classify_exception(exc: BaseException) -> TransportFailure:
    """Name the layer that failed; never collapse TLS or proxy failures into 'bad URL'."""
    text = _chain_text(exc)
    lowered = text.lower()
    if isinstance(exc, requests.exceptions.ProxyError) or "tunnel connection failed" in lowered:
        return TransportFailure("proxy", _short(text))
    if isinstance(exc, requests.exceptions.SSLError) or "certificate verify failed" in lowered:
        if "expired" in lowered:
            return TransportFailure("tls_expired", _short(text))
        if (
            "hostname mismatch" in lowered
            or "doesn't match" in lowered
            or "ip address mismatch" in lowered
        ):
            return TransportFailure("tls_hostname", _short(text))
        if (
            "certificate verify failed" in lowered
            or "self-signed" in lowered
            or "self signed" in lowered
        ):
            return TransportFailure("tls_untrusted", _short(text))
        return TransportFailure("tls_other", _short(text))
    if isinstance(
        exc,
        requests.exceptions.ConnectTimeout
        | requests.exceptions.ReadTimeout
        | requests.exceptions.Timeout,
    ):
        return TransportFailure("timeout", _short(text))
    if any(
        s in lowered
        for s in (
            "name or service not known",
            "nodename nor servname",
            "getaddrinfo failed",
            "name resolution",
            "no address associated",
            "temporary failure in name",
        )
    ):
        return TransportFailure("dns", _short(text))
    if "refused" in lowered:
        return TransportFailure("refused", _short(text))
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
        return TransportFailure("reset", _short(text))
    return TransportFailure("other", _short(text))


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
