"""The HTTP layer against servers that bend one thing: a password that stops working, answers
that trickle, 429s with odd headers, a reflected Authorization header, odd environments.

Assertions are server-side counts (logins, requests, bytes) and failure kinds, never wall-clock
times.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from conformance.diagnosis import transport_finding
from conformance.emulator.server import EmulatorServer
from conformance.http import MAX_BODY_BYTES, JiraHttp, classify_exception
from conformance.pacer import header_int, header_number, parse_retry_after
from conformance.profile import load_profile
from conformance.target import JiraTarget
from tests.hostile_servers import (
    RotatingPasswordJira,
    dripping_server,
    reflecting_jira,
    reflections,
)
from tests.integration.test_http import PASSWORD, Recorder, RecordingHttp, make_http
from tests.servers import (
    black_hole,
    json_response,
    proxy_requiring_auth,
    raw_server,
    read_head,
    serve,
    tiny_jira,
)


def run_concurrently(http: JiraHttp, paths: list[str]) -> None:
    threads = [threading.Thread(target=http.get, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def dump(http: RecordingHttp) -> str:
    """Everything the layer recorded that reaches an artefact."""
    parts: list[str] = []
    for exchange in http.exchanges:
        parts += [json.dumps(exchange.as_json()), exchange.curl(), exchange.error or ""]
        parts.append(repr(exchange))
    return "\n".join(parts)


# -- issue 14 item 6: a password that stops working mid-run ---------------------------------------


def test_a_password_rotated_mid_run_costs_no_failed_login_while_the_session_lives() -> None:
    jira = RotatingPasswordJira(PASSWORD, accept_requests=4, delay_s=0.2)
    with serve(jira) as url:
        http = make_http(url, concurrency=8)
        assert http.get("/rest/api/2/myself").status == 200
        run_concurrently(http, [f"/rest/api/2/project/P{i}" for i in range(16)])
    assert jira.max_in_flight >= 4, "requests were in flight together"
    assert jira.rejected_logins == 0 and jira.accepted_logins == 1
    assert jira.cookie_requests == 16 and http.counters.session_reused == 16
    assert http.counters.failed_logins == 0


def test_a_password_rotated_mid_run_costs_one_failed_login_when_sessions_end() -> None:
    jira = RotatingPasswordJira(PASSWORD, accept_requests=4, sessions_survive=False, delay_s=0.2)
    with serve(jira) as url:
        http = make_http(url, concurrency=8)
        assert http.get("/rest/api/2/myself").status == 200
        run_concurrently(http, [f"/rest/api/2/project/P{i}" for i in range(16)])
        later = http.get("/rest/api/2/project/LATE")
    assert jira.max_in_flight >= 4
    assert jira.rejected_logins == 1, "one failed login at the server, whatever was in flight"
    assert http.counters.failed_logins == 1 and http.login_state == "rejected"
    assert later.failure is not None and later.failure.kind == "latched"


def test_the_session_cookie_reaches_no_artefact() -> None:
    jira = RotatingPasswordJira(PASSWORD, accept_requests=10)
    with serve(jira) as url:
        http = make_http(url)
        http.get("/rest/api/2/myself")
        http.get("/rest/api/2/project")
    (session,) = jira.sessions
    assert session not in dump(http)
    assert all(x.header("Set-Cookie") is None for x in http.exchanges)
    assert http.session.cookies.get("JSESSIONID") is None, "the requests jar stays empty"


# -- issue 14 item 7: anonymous means no credentials at all ---------------------------------------


def test_anonymous_requests_never_carry_netrc_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = Recorder()
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login operator password operators-own-password\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".netrc").write_text(netrc.read_text())
    (tmp_path / ".netrc").chmod(0o600)
    with serve(recorder) as url:
        http = make_http(url)
        assert http.get("/status", credentialed=False).status == 200
        assert http.get("/rest/api/2/serverInfo", credentialed=False).status == 200
    assert [password for _, _, password in recorder.seen] == [None, None]


def test_proxies_from_the_environment_are_still_used(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with proxy_requiring_auth() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy)
        http = make_http("http://jira.example.invalid")
        result = http.get("/status", credentialed=False)
    assert result.status == 407, "the request went to the proxy named by HTTP_PROXY"
    assert http.proxy.proxy == proxy


# -- issue 15: the environment and the proxy -------------------------------------------------------


def test_a_missing_requests_ca_bundle_is_noted_not_raised(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import trustme

    from tests.servers import tls_context

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "no-such-bundle.pem"))
    with serve(tiny_jira(), ssl_context=tls_context(trustme.CA(), "127.0.0.1")) as url:
        http = make_http(url, timeout_s=2)
        result = http.get("/status", credentialed=False)
    assert any("REQUESTS_CA_BUNDLE" in note for note in http.notes)
    assert result.failure is not None and result.failure.kind == "tls_untrusted"


def test_https_to_a_plain_http_port_is_named() -> None:
    with serve(tiny_jira()) as url:
        http = make_http(url.replace("http://", "https://"), timeout_s=2)
        result = http.get("/status", credentialed=False)
    assert result.failure is not None and result.failure.kind == "tls_protocol"
    found = transport_finding(target_for(http), result.failure)
    assert found.code == "NET_TLS_PLAIN_PORT" and "--jira-ca-bundle" not in found.remediation


def test_a_proxy_that_never_answers_connect_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    with black_hole() as port:
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
        http = make_http("https://jira.example.invalid", timeout_s=0.5)
        result = http.get("/status", credentialed=False)
    assert result.failure is not None and result.failure.kind == "proxy_silent"
    found = transport_finding(target_for(http), result.failure)
    assert found.code == "NET_PROXY" and "did not answer the CONNECT" in found.summary


@pytest.mark.parametrize(
    "proxy", ["http://corp:hunter2-pw@[broken", "http://corp:hunter2-pw@pr oxy:80"]
)
def test_a_garbage_proxy_is_a_proxy_failure_without_its_password(
    proxy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", proxy)
    http = make_http("https://jira.example.invalid", timeout_s=0.5)
    result = http.get("/status", credentialed=False)
    assert result.failure is not None and result.failure.kind == "proxy"
    assert "hunter2-pw" not in http.proxy.describe() + dump(http)


# -- issue 12: timeouts ------------------------------------------------------------------------


def test_a_timeout_shortened_by_the_deadline_is_the_deadline() -> None:
    with black_hole() as port:
        http = make_http(f"http://127.0.0.1:{port}", timeout_s=30, deadline_s=0.8)
        result = http.get("/status", credentialed=False)
    assert result.failure is not None and result.failure.kind == "deadline"


def test_a_read_timeout_names_the_timeout_that_applied() -> None:
    with black_hole() as port:
        http = make_http(f"http://127.0.0.1:{port}", timeout_s=0.4)
        result = http.get("/status", credentialed=False)
    assert result.failure is not None and result.failure.kind == "read_timeout"
    found = transport_finding(target_for(http), result.failure)
    assert found.code == "NET_READ_TIMEOUT" and "0.4 s" in found.summary
    assert "firewall is most likely" not in found.remediation
    assert "HTTPConnectionPool" not in found.summary and "ReadTimeout" not in found.summary


# -- issue 14 item 11: answers that trickle in -----------------------------------------------------


@pytest.mark.parametrize("mode", ["body-length", "body-close", "headers"])
def test_a_dripping_server_is_cut_at_the_request_bound(mode: str) -> None:
    with dripping_server(mode, interval_s=0.1) as (url, log):
        http = make_http(url, timeout_s=0.4)
        result = http.get("/status", credentialed=False)
        assert log.done.wait(10), "the server noticed the client leave"
    assert result.failure is not None and result.failure.kind == "too_slow"
    assert log.client_gone and log.bytes_sent < log.planned, "the client gave up mid-answer"
    assert http.counters.too_slow == 1


def test_a_dripping_server_near_the_deadline_is_the_deadline() -> None:
    with dripping_server("body-close", interval_s=0.1) as (url, log):
        http = make_http(url, timeout_s=30, deadline_s=1.0)
        result = http.get("/status", credentialed=False)
        assert log.done.wait(10)
    assert result.failure is not None and result.failure.kind == "deadline"
    assert log.client_gone and log.bytes_sent < log.planned


# -- issue 14 items 9 and 10, issue 15: secrets ---------------------------------------------------


def _sent_header(http: JiraHttp) -> str:
    creds = http.settings.credentials
    assert creds is not None
    secret = creds.secret.reveal()
    if creds.scheme == "bearer":
        return f"Bearer {secret}"
    pair = f"{creds.user}:{secret}"
    try:
        raw = pair.encode("latin-1")
    except UnicodeEncodeError:
        raw = pair.encode("utf-8")
    return "Basic " + base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    ("secret", "scheme"),
    [
        ("ab", "basic"),
        ("p/ss", "basic"),
        ("a/b+c d&e=f", "basic"),
        ("x'y\"z\\w/q", "basic"),
        ("p€ss-wörd", "basic"),
        ("Tok/" + "A1b2C3d4" * 40, "bearer"),
    ],
)
def test_a_reflected_authorization_header_is_redacted_in_every_form(
    secret: str, scheme: Any
) -> None:
    with serve(reflecting_jira) as url:
        http = make_http(url, secret, scheme=scheme)
        first = http.get("/rest/api/2/myself")
        http.get("/rest/api/2/fail")
    assert first.status == 200
    text = dump(http)
    for name, form in reflections(_sent_header(http)).items():
        free_text = ("secret", "path_encoded", "fully_encoded", "repr", "json", "json_ascii")
        if not form or (name in (*free_text, "truncated") and len(secret) < 3):
            continue  # a two-character password cannot be masked in free text
        if name == "truncated":
            head, _, tail = form.partition("...")
            assert head[1:] not in text and tail[:-1] not in text
            continue
        assert form not in text, f"{name} form leaked"
    assert http.redactor.leaks(text) == []
    if len(secret) > 40:
        pieces = {secret[i : i + 20] for i in range(len(secret) - 20)}
        assert not any(piece in text for piece in pieces), "no long fragment survives"


def test_a_non_latin1_password_is_sent_as_utf8(jira_emulator: Any) -> None:
    server: EmulatorServer = jira_emulator(bot_password="p€ss-wörd")
    http = make_http(server.url, "p€ss-wörd")
    result = http.get("/rest/api/2/myself")
    assert result.failure is None and result.status == 200
    assert server.log.failed_logins() == 0


@pytest.mark.parametrize(
    ("secret", "scheme"),
    [
        ("token-with-newline\n", "bearer"),
        ("tok\r\nX-Injected: 1", "bearer"),
        ("€-token", "bearer"),
        ("pass\udcffword", "basic"),
    ],
)
def test_an_unsendable_secret_is_not_sent_and_not_shown(secret: str, scheme: Any) -> None:
    recorder = Recorder()
    with serve(recorder) as url:
        http = make_http(url, secret, scheme=scheme)
        result = http.get("/rest/api/2/myself")
    assert recorder.seen == [], "nothing left the process"
    assert result.failure is not None and result.failure.kind == "bad_secret"
    assert secret.strip() not in dump(http) + result.failure.detail
    found = transport_finding(target_for(http), result.failure)
    assert found.code == "AUTH_SECRET_UNSENDABLE"


# -- issue 12 and 15: rate limits --------------------------------------------------------------


def test_rate_limit_headers_are_parsed_strictly() -> None:
    assert header_int("²") is None and header_int("¹") is None
    assert header_int("9" * 5000) is None and header_int("12") == 12
    assert header_number("2.5") == 2.5 and header_number("٣") is None
    assert parse_retry_after("²") is None and parse_retry_after("9" * 5000) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("12") == 12.0 and parse_retry_after(" 3 ") == 3.0


@pytest.mark.parametrize("value", ["²", "9" * 5000])
def test_odd_rate_limit_header_values_do_not_raise(value: str) -> None:
    calls: list[int] = []

    @Request.application
    def app(request: Request) -> Response:
        calls.append(1)
        headers = {"Retry-After": value, "X-RateLimit-Remaining": value, "X-RateLimit-Limit": value}
        return json_response({}, 429 if len(calls) == 1 else 200, headers)

    with serve(app) as url:
        http = make_http(url)
        result = http.get("/rest/api/2/myself")
    assert result.failure is None and result.status == 200 and len(calls) == 2


@pytest.fixture
def always_429() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []
    bodies = {
        "json": ('{"message":"Rate limit exceeded"}', "application/json"),
        "html": ("<html><body>Too many requests</body></html>", "text/html"),
        "empty": ("", "text/plain"),
    }

    @Request.application
    def app(request: Request) -> Response:
        seen.append(request.path)
        body, mimetype = bodies[request.args.get("body", "json")]
        return Response(
            body,
            429,
            mimetype=mimetype,
            headers={
                "Retry-After": "999999",
                "X-RateLimit-Limit": "10",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-FillRate": "5",
                "X-RateLimit-Interval-Seconds": "1",
            },
        )

    with serve(app) as url:
        yield url, seen


@pytest.mark.parametrize("body", ["json", "html", "empty"])
def test_a_429_beyond_the_deadline_is_rate_limited_at_once(
    always_429: tuple[str, list[str]], body: str
) -> None:
    url, seen = always_429
    http = make_http(url)
    result = http.get("/rest/api/2/myself", {"body": body})
    again = http.get("/rest/api/2/project", {"body": body})
    assert result.failure is not None and result.failure.kind == "rate_limited"
    assert again.failure is not None and again.failure.kind == "rate_limited"
    assert len(seen) == 1, "Jira said not before 11 days: nothing more is sent"
    found = transport_finding(target_for(http), result.failure)
    assert found.code == "RATE_LIMITED" and "the allowance in requests: 10" in found.summary
    assert "5 per 1 s" in found.summary


def test_the_pacer_keeps_429s_under_two_percent(jira_emulator: Any) -> None:
    server: EmulatorServer = jira_emulator(rate_limit=(10, 5.0))
    http = make_http(server.url, "visor-bot-password", concurrency=8)
    assert http.get("/rest/api/2/myself").status == 200
    run_concurrently(http, [f"/rest/api/2/myself?n={i}" for i in range(40)])
    answered = [x for x in http.exchanges if x.status is not None]
    assert len(answered) >= 41
    assert http.counters.rate_limited <= 0.02 * len(answered)
    assert http.counters.paced > 0, "requests waited for the bucket instead of hitting 429"
    assert http.counters.bucket.limit == 10 and http.counters.bucket.fill_rate == 5


def test_classify_exception_never_calls_a_read_timeout_a_firewall() -> None:
    import requests

    failure = classify_exception(requests.exceptions.ReadTimeout("Read timed out."), timeout_s=3)
    assert failure.kind == "read_timeout" and "3 s" in failure.detail


def target_for(http: JiraHttp) -> JiraTarget:
    return JiraTarget(http.settings, http.redactor, load_profile(None), http=http)


TRACEBACK_TEST = """
import os
from conformance.http import JiraHttp
from conformance.secrets import Redactor, Secret
from conformance.settings import Credentials, Settings


def test_fails_with_locals_shown():
    creds = Credentials(os.environ["BOT_USER"] or None, Secret(os.environ["BOT_SECRET"]),
                        os.environ["BOT_SCHEME"], "password", "env")
    http = JiraHttp(Settings(url=os.environ["BOT_URL"], credentials=creds, timeout_s=1),
                    Redactor())
    result = http.get("/rest/api/2/myself")
    assert result.status == 200, result.exchange.error
"""


@pytest.mark.parametrize(
    ("user", "secret", "scheme"),
    [
        ("visor-bot", "p€ss'wo\"rd\\x", "basic"),
        ("", "tok\r\nX-Evil: 1", "bearer"),
        ("", "T" + "k9/" * 120, "bearer"),
    ],
)
def test_no_frame_with_the_secret_reaches_a_traceback_under_dash_l(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, user: str, secret: str, scheme: str
) -> None:
    pytester.makepyfile(test_leak=TRACEBACK_TEST)
    with black_hole() as port:
        monkeypatch.setenv("BOT_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("BOT_USER", user)
        monkeypatch.setenv("BOT_SECRET", secret)
        monkeypatch.setenv("BOT_SCHEME", scheme)
        run = pytester.runpytest_subprocess("-l", "--tb=long", "-p", "no:cacheprovider")
    output = run.stdout.str() + run.stderr.str()
    assert run.ret == 1 and "test_fails_with_locals_shown" in output
    assert "Secret('********')" in output, "the locals were printed"
    header = base64.b64encode(f"{user}:{secret}".encode()).decode()
    for form in (secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], header, secret[:40]):
        assert form not in output


def test_retry_after_as_an_http_date_is_honoured() -> None:
    import email.utils
    import time

    now = time.time()
    stated = parse_retry_after(email.utils.formatdate(now + 7, usegmt=True), now=now)
    assert stated is not None and 6 <= stated <= 7


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_pacer_never_sends_on_an_empty_bucket_and_spends_at_the_fill_rate() -> None:
    from conformance.pacer import Pacer

    clock = _Clock()
    pacer = Pacer(clock)
    assert pacer.wait_needed() == 0, "an unknown bucket does not hold requests back"
    bucket = {
        "X-RateLimit-Limit": "10",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-FillRate": "5",
        "X-RateLimit-Interval-Seconds": "1",
    }
    pacer.observe(bucket, 200)
    wait = pacer.wait_needed()
    assert wait > 0, "Remaining 0: nothing is sent"
    clock.now += wait
    assert pacer.wait_needed() == 0
    sent = 1
    for _ in range(50):  # ten seconds of steady demand
        wait = pacer.wait_needed()
        if wait:
            clock.now += wait
        else:
            sent += 1
    assert pacer.wait_needed() > 0
    assert sent <= 1 + 5 * (clock.now - 100.0) + 1, "no faster than 5 tokens per second"
    pacer.observe({**bucket, "X-RateLimit-Remaining": "5"}, 429)
    pacer.hold(3)
    assert pacer.wait_needed() >= 3, "a 429's Retry-After holds every request"


# -- issue 23: sessions that do not stick ------------------------------------------------------------


@pytest.mark.parametrize("password", ["changed", "unchanged"])
def test_sessions_that_do_not_stick_fall_back_to_one_login_at_a_time(password: str) -> None:
    """Two nodes without sticky sessions: half the cookie requests land where the session is
    unknown. Falling back to the password is a new login: one at a time, never more than one
    refused, even with 8 requests in flight when the password changed."""
    accept = 3 if password == "changed" else 10_000
    jira = RotatingPasswordJira(PASSWORD, accept_requests=accept, nodes=2, delay_s=0.05)
    with serve(jira) as url:
        http = make_http(url, concurrency=8)
        assert http.get("/rest/api/2/myself").status == 200
        run_concurrently(http, [f"/rest/api/2/project/P{i}" for i in range(40)])
        results = [http.get(f"/rest/api/2/project/P{i}") for i in range(40)]
    assert jira.max_in_flight >= 4, "requests were in flight together"
    assert jira.password_in_flight_max == 1, "a login is one request at a time"
    assert http.counters.sessions_lost >= 1
    if password == "changed":
        assert jira.rejected_logins == 1, "one failed login at the server"
        assert http.counters.failed_logins == 1 and http.login_state == "rejected"
    else:
        assert jira.rejected_logins == 0
        assert all(r.status == 200 for r in results)
    # A cookie answered as anonymous is a session not honoured: the request is sent again as a
    # login, and its answer (the bot's) is what the probe gets, never the anonymous one.
    assert all((r.header("X-AUSERNAME") or "") == "visor-bot" for r in results if r.status == 200)


# -- a redirect with a body larger than the suite reads ---------------------------------------------

REDIRECT_BODY_BYTES = 96 * 1024 * 1024  # six times the body limit


def redirect_with_a_huge_body(conn: socket.socket, stop: threading.Event) -> None:
    """A gateway's 302 to its identity provider, followed by far more page than anyone reads."""
    if read_head(conn) is None:
        return
    head = (
        "HTTP/1.1 302 Found\r\nLocation: https://idp.example/login\r\n"
        f"Content-Type: text/html\r\nContent-Length: {REDIRECT_BODY_BYTES}\r\n\r\n"
    )
    chunk = b"<p>" + b"x" * (1024 * 1024 - 3)
    try:
        conn.sendall(head.encode())
        for _ in range(REDIRECT_BODY_BYTES // len(chunk)):
            if stop.is_set():
                return
            conn.sendall(chunk)
    except OSError:
        pass  # the suite stopped reading: that is the point
    finally:
        conn.close()


def test_a_redirects_body_is_read_no_further_than_the_body_limit() -> None:
    """A redirect is not followed, and its body is read like any answer's: to the body limit.

    (requests' ``Session.send`` reads a redirect's whole body before handing it back, even when
    redirects are not followed; the suite sends through the session's adapter and reads the body
    itself.)"""
    with raw_server(redirect_with_a_huge_body) as port:
        http = make_http(f"http://127.0.0.1:{port}")
        tracemalloc.start()
        try:
            result = http.get("/rest/api/2/serverInfo", credentialed=False)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            http.close()
    assert result.status == 302
    assert result.exchange.body_truncated
    assert peak < 3 * MAX_BODY_BYTES, f"{peak / 2**20:.0f} MiB allocated for one answer"
