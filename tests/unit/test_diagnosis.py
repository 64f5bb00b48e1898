"""Every transport failure, wherever it is met, reads as the finding of the layer that broke."""

from __future__ import annotations

import typing

import pytest

from conformance.check import RunDeadline
from conformance.diagnosis import transport_finding
from conformance.evidence import Evidence
from conformance.http import Failure, FailureKind
from conformance.profile import load_profile
from conformance.secrets import Redactor, Secret
from conformance.settings import Credentials, Settings
from conformance.target import JiraTarget

EXPECTED = {
    "dns": "NET_DNS",
    "refused": "NET_REFUSED",
    "timeout": "NET_TIMEOUT",
    "connect_timeout": "NET_TIMEOUT",
    "read_timeout": "NET_READ_TIMEOUT",
    "too_slow": "NET_TOO_SLOW",
    "tls_protocol": "NET_TLS_PLAIN_PORT",
    "proxy_silent": "NET_PROXY",
    "rate_limited": "RATE_LIMITED",
    "bad_secret": "AUTH_SECRET_UNSENDABLE",
    "tls_untrusted": "NET_TLS_UNTRUSTED",
    "tls_other": "NET_TLS_UNTRUSTED",
    "tls_hostname": "NET_TLS_HOSTNAME",
    "tls_expired": "NET_TLS_EXPIRED",
    "proxy": "NET_PROXY",
    "latched": "AUTH_BAD_CREDENTIALS",
}


@pytest.fixture(scope="module")
def target() -> JiraTarget:
    creds = Credentials("visor-bot", Secret("pw-123"), "basic", "password", "JIRA_PASSWORD")
    return JiraTarget(
        Settings(url="https://jira.example.com", credentials=creds), Redactor(), load_profile(None)
    )


RUN_ENDED = ("deadline", "interrupted")


@pytest.mark.parametrize("kind", [k for k in typing.get_args(FailureKind) if k not in RUN_ENDED])
def test_each_failure_kind_gives_a_filled_finding(target: JiraTarget, kind: str) -> None:
    found = transport_finding(target, Failure(kind, "detail of the failure"))  # type: ignore[arg-type]
    assert found.code == EXPECTED.get(kind, "NET_NOT_JIRA")
    assert "{" not in found.summary + found.remediation, "every placeholder is filled"


@pytest.mark.parametrize("kind", RUN_ENDED)
def test_the_deadline_is_never_a_network_finding(target: JiraTarget, kind: str) -> None:
    """A request the deadline stopped (or an interrupted run) makes the row incomplete, once."""
    with pytest.raises(RunDeadline):
        transport_finding(target, Failure(kind, "not sent: the run's deadline passed"))  # type: ignore[arg-type]


def test_a_refused_login_is_never_reported_as_a_network_fault(target: JiraTarget) -> None:
    found = transport_finding(target, Failure("latched", "not sent: Jira rejected the login"))
    assert found.code == "AUTH_BAD_CREDENTIALS" and "visor-bot" in found.summary


def test_tls_errors_are_cut_to_their_essence(target: JiraTarget) -> None:
    detail = (
        "SSLError: HTTPSConnectionPool(host='x', port=443): Max retries exceeded (Caused by "
        "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
        "failed: self-signed certificate (_ssl.c:1006)'))) <- MaxRetryError: ..."
    )
    found = transport_finding(target, Failure("tls_untrusted", detail))
    assert (
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
        in found.summary
    )
    assert "MaxRetryError" not in found.summary


def test_evidence_lifts_the_failure_probes_record() -> None:
    assert Evidence("p", True, {}).failure is None
    failure = Evidence("p", False, {"failure": "refused", "error": "nope"}).failure
    assert failure == Failure("refused", "nope")


def test_firewall_advice_belongs_to_connect_timeouts_only(target: JiraTarget) -> None:
    connect = transport_finding(
        target,
        Failure(
            "connect_timeout", "the TCP connection to the server was not accepted within 2.5 s"
        ),
    )
    read = transport_finding(
        target,
        Failure(
            "read_timeout",
            "nothing came back within 2.5 s of sending the request",
        ),
    )
    assert "firewall" in connect.remediation.lower() and "2.5 s" in connect.summary
    assert read.code == "NET_READ_TIMEOUT"
    assert "not a firewall" in read.remediation and "2.5 s" in read.remediation
    assert "accepted the connection" in read.summary
    assert "ReadTimeout" not in read.summary and "HTTPConnectionPool" not in read.summary


def test_a_429_after_the_retries_is_rate_limited_with_the_bucket_numbers(
    target: JiraTarget,
) -> None:
    bucket = target.http.counters.bucket
    bucket.limit, bucket.fill_rate, bucket.interval_s = 10, 5.0, 1.0
    target.http.counters.rate_limited = 3
    found = transport_finding(target, Failure("rate_limited", "Jira answered 429"))
    assert found.code == "RATE_LIMITED" and found.severity == "warning"
    assert "3 request(s)" in found.summary and "the allowance in requests: 10" in found.summary
    assert "5 per 1 s" in found.summary
    assert "Visor backs off" not in found.remediation


def test_https_to_a_plain_http_port_says_so(target: JiraTarget) -> None:
    found = transport_finding(
        target,
        Failure(
            "tls_protocol",
            "the port answered the TLS handshake with something that is not TLS (plain HTTP, "
            "most likely): [SSL: WRONG_VERSION_NUMBER] wrong version number",
        ),
    )
    assert found.code == "NET_TLS_PLAIN_PORT"
    assert "--jira-ca-bundle" not in found.remediation and "http://" in found.remediation
