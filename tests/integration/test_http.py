"""The HTTP layer's rules, against a real local server: bounded, read-only, never locks the bot out."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
import requests
from werkzeug.wrappers import Request, Response

from conformance.evidence import Exchange
from conformance.http import HttpResult, JiraHttp, retry_after_seconds
from conformance.probes.permissions import project_permissions
from conformance.secrets import Redactor, Secret
from conformance.settings import Credentials, Settings
from tests.runs import target_for
from tests.servers import black_hole, json_response, serve

PASSWORD = "correct-horse-battery"


@dataclass
class Recorder:
    """A Jira-ish app that records what it was sent and answers as told."""

    seen: list[tuple[str, str, str | None]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    throttle_first: int = 0
    retry_after: str = "0"
    delay_s: float = 0.0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(Request(environ))(environ, start_response)

    def app(self, request: Request) -> Response:
        auth = request.authorization
        with self.lock:
            self.seen.append(
                (request.method, request.full_path.rstrip("?"), auth.password if auth else None)
            )
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            throttle = self.throttle_first > 0
            if throttle:
                self.throttle_first -= 1
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            if throttle:
                return json_response({}, 429, {"Retry-After": self.retry_after})
            if request.path == "/big":
                return Response(b"x" * (20 * 1024 * 1024), mimetype="text/plain")
            if auth is not None and auth.password != PASSWORD:
                return json_response(
                    {"message": "Client must be authenticated", "status-code": 401},
                    401,
                    {
                        "X-Seraph-LoginReason": "AUTHENTICATED_FAILED",
                        "Set-Cookie": "JSESSIONID=abc123",
                    },
                )
            return json_response(
                {"ok": True, "echo": request.args.get("q")},
                headers={
                    "X-AUSERNAME": (auth.username if auth else None) or "anonymous",
                    "X-RateLimit-Remaining": "50",
                },
            )
        finally:
            with self.lock:
                self.in_flight -= 1


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def url(recorder: Recorder) -> Iterator[str]:
    with serve(recorder) as base:
        yield base


class RecordingHttp(JiraHttp):
    """The HTTP layer, keeping the exchange of every result it hands back: what a probe puts in
    its evidence, and so what can reach an artefact."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.exchanges: list[Exchange] = []

    def get(self, *args: Any, **kwargs: Any) -> HttpResult:
        return self._kept(super().get(*args, **kwargs))

    def send(self, *args: Any, **kwargs: Any) -> HttpResult:
        return self._kept(super().send(*args, **kwargs))

    def _kept(self, result: HttpResult) -> HttpResult:
        self.exchanges.append(result.exchange)  # one append: atomic across the pool's threads
        return result


def make_http(
    url: str,
    password: str = PASSWORD,
    *,
    concurrency: int = 4,
    writes: bool = False,
    scheme: Literal["basic", "bearer"] = "basic",
    **kw: object,
) -> RecordingHttp:
    """A JiraHttp for the bot visor-bot (basic) or a bearer token, as the plugin builds it."""
    creds = Credentials(
        user="visor-bot" if scheme == "basic" else None,
        secret=Secret(password),
        scheme=scheme,
        secret_kind="password" if scheme == "basic" else "token",
        origin="test",
    )
    settings = Settings(url=url, credentials=creds, concurrency=concurrency, **kw)  # type: ignore[arg-type]
    redactor = Redactor()
    redactor.register(creds.secret)
    return RecordingHttp(settings, redactor, allow_writes=writes)


def test_each_distinct_get_is_sent_once(url: str, recorder: Recorder) -> None:
    http = make_http(url)
    first = http.get("/rest/api/2/myself")
    again = http.get("/rest/api/2/myself")
    other = http.get("/rest/api/2/myself", {"q": "1"})
    assert first is again and first.status == 200 and other.status == 200
    assert [path for _, path, _ in recorder.seen] == [
        "/rest/api/2/myself",
        "/rest/api/2/myself?q=1",
    ]
    assert http.counters.requests == 2


def test_a_projects_grants_are_kept_as_evidence_only_and_a_kept_answer_holds_no_request(
    url: str, recorder: Recorder
) -> None:
    """A project's grants are kept as the probe's evidence, not as the answer a second time;
    what is kept of an answer is its status, headers and body, not the request that carried
    the Authorization header."""
    target = target_for(url, env={"JIRA_USER": "visor-bot", "JIRA_PASSWORD": PASSWORD})
    project_permissions(target, "OPS")
    project_permissions(target, "OPS")  # the probe's own cache is JiraTarget.probe, not used here
    grants = [path for _, path, _ in recorder.seen if "/mypermissions?" in path]
    assert len(grants) == 2 and grants[0] == grants[1], recorder.seen
    kept = target.http.get("/rest/api/2/myself")
    assert kept.response is not None and kept.status == 200 and kept.json()[1] is None
    transport: dict[str, object] = vars(kept.response)
    assert transport["request"] is None and transport["raw"] is None
    target.close()


def test_after_one_rejected_login_no_credentialed_request_is_sent(
    url: str, recorder: Recorder
) -> None:
    http = make_http(url, password="wrong-password", concurrency=8)
    threads = [threading.Thread(target=http.get, args=(f"/rest/api/2/x{i}",)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    credentialed = [entry for entry in recorder.seen if entry[2] is not None]
    assert len(credentialed) == 1, "concurrent probes must not multiply failed logins"
    assert http.counters.failed_logins == 1 and http.login_state == "rejected"
    latched = http.get("/rest/api/2/myself")
    assert latched.failure is not None and latched.failure.kind == "latched"
    anonymous = http.get("/status", credentialed=False)
    assert anonymous.status == 200, "anonymous requests still go out"


def test_read_only_refuses_mutating_requests_before_they_leave(
    url: str, recorder: Recorder
) -> None:
    http = make_http(url)
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        result = http.send(method, "/rest/api/2/issue", json={"fields": {}})
        assert result.failure is not None and result.failure.kind == "read_only"
    assert recorder.seen == [] and http.counters.mutating_requests == 0


def test_write_mode_counts_mutating_requests(url: str) -> None:
    http = make_http(url, writes=True)
    assert http.send("POST", "/rest/api/2/issue", json={"fields": {}}).status == 200
    assert http.counters.mutating_requests == 1


def test_429_waits_for_retry_after_then_succeeds(url: str, recorder: Recorder) -> None:
    recorder.throttle_first, recorder.retry_after = 1, "0"
    http = make_http(url)
    started = time.monotonic()
    result = http.get("/rest/api/2/myself")
    assert result.status == 200
    assert time.monotonic() - started >= 1.0, "Retry-After: 0 is clamped to at least one second"
    assert http.counters.rate_limited == 1


def test_retry_after_is_capped_and_parsed() -> None:
    assert retry_after_seconds("0") == 1.0
    assert retry_after_seconds(None) == 1.0
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("99999") == 30.0
    assert retry_after_seconds("garbage") == 1.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 1.0


def test_concurrency_gate_bounds_requests_in_flight(url: str, recorder: Recorder) -> None:
    recorder.delay_s = 0.1
    http = make_http(url, concurrency=3)
    http.get("/warm-up")  # prove the login first, so requests may run concurrently
    threads = [threading.Thread(target=http.get, args=(f"/p{i}",)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 2 <= recorder.max_in_flight <= 3


def test_a_request_waiting_at_the_gate_when_the_run_stops_is_not_sent(
    url: str, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    http = make_http(url, concurrency=1)
    http.get("/warm-up")  # the login proven: requests no longer wait for it, only for a slot
    recorder.delay_s = 1.0  # the first request holds the only slot until the run has stopped
    recorder.seen.clear()
    at_gate = threading.Event()
    acquire = http._acquire

    def waiting() -> None:
        if threading.current_thread().name == "second":
            at_gate.set()
        acquire()

    monkeypatch.setattr(http, "_acquire", waiting)
    results: dict[str, HttpResult] = {}
    first = threading.Thread(target=lambda: results.update(first=http.get("/first")))
    second = threading.Thread(
        target=lambda: results.update(second=http.get("/second")), name="second"
    )
    first.start()
    while not recorder.seen:  # the first request is on the wire
        time.sleep(0.01)
    second.start()
    at_gate.wait()
    http.stop()
    first.join()
    second.join()
    late = results["second"].failure
    assert late is not None and late.kind == "interrupted" and not late.sent
    assert [path for _method, path, _password in recorder.seen] == ["/first"]
    assert http.counters.requests == 2  # the warm-up and the first


def test_exchanges_are_redacted_and_keep_diagnostic_headers(url: str) -> None:
    http = make_http(url, password="wrong-password")
    result = http.get("/rest/api/2/myself")
    exchange = result.exchange
    assert exchange.status == 401
    assert exchange.header("X-Seraph-LoginReason") == "AUTHENTICATED_FAILED"
    assert exchange.header("Set-Cookie") is None, "cookies are not recorded"
    assert "wrong-password" not in str(exchange.as_json()) + exchange.curl()
    assert "$JIRA_PASSWORD" in exchange.curl()


def test_a_hanging_server_costs_one_timeout(tmp_path: object) -> None:
    with black_hole() as port:
        http = make_http(f"http://127.0.0.1:{port}", timeout_s=0.5)
        started = time.monotonic()
        result = http.get("/status", credentialed=False)
        assert time.monotonic() - started < 3
    # "timeout" is split: the connection was accepted, so this is a read timeout.
    assert result.failure is not None and result.failure.kind == "read_timeout"


def test_huge_bodies_are_cut(url: str) -> None:
    http = make_http(url)
    result = http.get("/big", credentialed=False)
    assert result.response is not None and len(result.response.content) <= 16 * 1024 * 1024 + 65536
    assert result.exchange.body_truncated


def test_the_deadline_stops_further_requests(url: str) -> None:
    http = make_http(url, deadline_s=0.2)
    time.sleep(0.3)
    result = http.get("/status", credentialed=False)
    assert result.failure is not None and result.failure.kind == "deadline"


def test_proxy_credentials_are_redacted_from_the_description(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://corp:proxy-pass-123@proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    http = make_http("https://jira.example.com")
    assert http.proxy.proxy == "http://proxy.example:3128"
    assert "proxy-pass-123" not in http.proxy.describe()
    assert http.redactor.scrub("proxy-pass-123") != "proxy-pass-123"


def test_cleanup_is_sent_after_the_deadline_but_other_requests_are_not(
    url: str, recorder: Recorder
) -> None:
    http = make_http(url, writes=True, deadline_s=0.2)
    time.sleep(0.3)
    refused = http.send("DELETE", "/rest/api/2/issue/VIS-1")
    assert refused.failure is not None and refused.failure.kind == "deadline"
    cleaned = http.send("DELETE", "/rest/api/2/issue/VIS-1", cleanup=True)
    assert cleaned.failure is None and cleaned.status == 200
    assert [(method, path) for method, path, _ in recorder.seen] == [
        ("DELETE", "/rest/api/2/issue/VIS-1")
    ]


# Bodies a Jira, a proxy or a gateway may send, with the charset each declares. orjson decodes
# the UTF-8 ones; whatever it refuses falls back to requests' own decoding.
ODD_BODIES: list[tuple[bytes, str]] = [
    ('{"name": "\u00e9t\u00e9 \u65e5\u672c", "n": 1.5e3, "t": true}'.encode(), "application/json"),
    (b'{"n": NaN, "i": -Infinity}', "application/json"),
    (b'{"big": 123456789012345678901234567890, "edge": 18446744073709551616}', "application/json"),
    (b'{"low": -9223372036854775809, "id": "10001", "at": 1733569200000}', "application/json"),
    (b'{"huge": 1e400, "tiny": 5e-324, "zero": -0.0, "e": 1E5}', "application/json"),
    (b'\xef\xbb\xbf{"bom": true}', "application/json"),
    (b'\xef\xbb\xbf{"bom": true}', "text/plain"),
    ('{"utf16": "\u00e9"}'.encode("utf-16"), "application/json; charset=utf-16"),
    ('{"latin": "caf\u00e9"}'.encode("latin-1"), "application/json; charset=ISO-8859-1"),
    ('{"mojibake": "caf\u00e9"}'.encode(), "text/html; charset=ISO-8859-1"),
    (b'{"lone": "\\ud800"}', "application/json"),
    (b"[" * 3000 + b"]" * 3000, "application/json"),
    (b'{"a": 1} trailing', "application/json"),
    (b"<html>not json</html>", "text/html"),
    (b"", "application/json"),
    (b"[" + b",".join([b'{"k": "v"}'] * 120_000) + b"]", "application/json"),  # beyond orjson's
]


def test_every_body_decodes_to_what_requests_decodes() -> None:
    """The faster decoder changes no value: each body gives what ``Response.json()`` gives, or
    fails where it fails."""

    @Request.application
    def app(request: Request) -> Response:
        body, content_type = ODD_BODIES[int(request.args["i"])]
        return Response(body, content_type=content_type)

    with serve(app) as base:
        http = make_http(base)
        for i, (body, content_type) in enumerate(ODD_BODIES):
            value, why_not = http.get(f"/odd?i={i}").json()
            try:
                expected: Any = requests.get(f"{base}/odd?i={i}", timeout=10).json()
            except (ValueError, RecursionError):
                assert why_not is not None and value is None, (body[:60], content_type, value)
            else:
                assert why_not is None, (body[:60], content_type, why_not)
                assert repr(value) == repr(expected), (body[:60], content_type)
