"""Every transport failure, wherever it is met, reads as the finding of the layer that broke."""

from __future__ import annotations

import typing

import pytest

from conformance.check import RunDeadline
from conformance.diagnosis import probe_failure, transport_finding
from conformance.evidence import Evidence
from conformance.http import FailureKind, TransportFailure
from conformance.profile import load_profile
from conformance.secrets import Redactor, Secret
from conformance.settings import Credentials, Settings
from conformance.target import JiraTarget

EXPECTED = {
    "dns": "NET_DNS",
    "refused": "NET_REFUSED",
    "timeout": "NET_TIMEOUT",
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
    found = transport_finding(target, TransportFailure(kind, "detail of the failure"))  # type: ignore[arg-type]
    assert found.code == EXPECTED.get(kind, "NET_NOT_JIRA")
    assert "{" not in found.summary + found.remediation, "every placeholder is filled"


@pytest.mark.parametrize("kind", RUN_ENDED)
def test_the_deadline_is_never_a_network_finding(target: JiraTarget, kind: str) -> None:
    """A request the deadline stopped (or an interrupted run) makes the row incomplete, once."""
    with pytest.raises(RunDeadline):
        transport_finding(target, TransportFailure(kind, "not sent: the run's deadline passed"))  # type: ignore[arg-type]


def test_a_refused_login_is_never_reported_as_a_network_fault(target: JiraTarget) -> None:
    found = transport_finding(
        target, TransportFailure("latched", "not sent: Jira rejected the login")
    )
    assert found.code == "AUTH_BAD_CREDENTIALS" and "visor-bot" in found.summary


def test_tls_errors_are_cut_to_their_essence(target: JiraTarget) -> None:
    detail = (
        "SSLError: HTTPSConnectionPool(host='x', port=443): Max retries exceeded (Caused by "
        "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
        "failed: self-signed certificate (_ssl.c:1006)'))) <- MaxRetryError: ..."
    )
    found = transport_finding(target, TransportFailure("tls_untrusted", detail))
    assert (
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
        in found.summary
    )
    assert "MaxRetryError" not in found.summary


def test_probe_failure_reads_the_facts_probes_record() -> None:
    assert probe_failure(Evidence("p", True, {})) is None
    failure = probe_failure(Evidence("p", False, {"failure": "refused", "error": "nope"}))
    assert failure == TransportFailure("refused", "nope")
