"""What a check says about evidence it did not get: the layer a transport failure names, and the
diagnosis a probe recorded for an answer that was not what it asked for.

Every check that makes a request can meet a dropped connection or a proxy refusal; they all use
this one translation so the same failure always reads the same way. Probes and the classifier
record diagnoses (``conformance/codes.py``); the check that judges the evidence turns them into
findings here (``check.fail``), so that each finding carries its row's evidence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from conformance import codes
from conformance.check import RunDeadline, fail
from conformance.evidence import AnyEvidence, Failure, Problem
from conformance.findings import Diagnosis, Finding, explain, via
from conformance.http import RateLimitCounts
from conformance.settings import Credentials

# Atlassian's cloud: a URL on these hosts is Jira Cloud, known before anything is sent.
CLOUD_HOSTS = (".atlassian.net", ".jira.com")

if TYPE_CHECKING:
    from conformance.target import JiraTarget


def fail_on_transport(target: JiraTarget, evidence: AnyEvidence) -> None:
    """Fail the running check with the layer that broke, if the probe got no answer at all."""
    failure = evidence.failure
    if failure is not None:
        fail(transport_diagnosis(target, failure, asked_of(target, evidence)), evidence=[evidence])


def asked_of(target: JiraTarget, evidence: AnyEvidence) -> str:
    """The endpoint the probe's last request asked (``/rest/api/2/myself``), for findings."""
    if not evidence.exchanges:
        return evidence.probe
    from conformance.probes import api

    return api.endpoint_of(target, evidence.exchanges[-1].url)


def recorded(target: JiraTarget, evidence: AnyEvidence) -> Diagnosis | None:
    """What a probe recorded its answer to be, when that was not what it asked for
    (``api.with_verdict``); for a request not sent because Jira refused the bot's login earlier,
    what that refusal was, so that every row names the one real cause.

    A 429 is one answer of the run's: RATE_LIMITED quotes the run's counts and the bucket Jira
    stated, never the one answer the probe happened to read.
    """
    diagnosis = evidence.facts.get("diagnosis")
    if isinstance(diagnosis, codes.RateLimited):
        return _rate_limited(target)
    if isinstance(diagnosis, Diagnosis):
        return diagnosis
    return refusal(evidence)


def refusal(evidence: AnyEvidence) -> Diagnosis | None:
    """For a request latched by an earlier refused login: that refusal, as it was read."""
    failure = evidence.failure
    refused = failure.refused if failure is not None and failure.kind == "latched" else None
    reading = refused.reading if refused is not None else None
    return reading.diagnosis if reading is not None else None


def cloud_by_address(url: str) -> bool:
    """The URL names Atlassian's cloud."""
    return (urlsplit(url).hostname or "").lower().endswith(CLOUD_HOSTS)


def cloud_login(
    url: str, credentials: Credentials | None, *, cloud: bool = False
) -> codes.AuthCloudUserNotEmail | None:
    """A Cloud bot logs in with its e-mail address: a basic login under a user name that is not
    one is refused. Jira Cloud is known from the URL before anything is sent (``cloud`` when
    serverInfo said so)."""
    if credentials is None or credentials.scheme != "basic" or not credentials.user:
        return None
    if "@" in credentials.user or not (cloud or cloud_by_address(url)):
        return None
    return codes.AuthCloudUserNotEmail(user=credentials.user, url=url, via=via(credentials.origin))


def _essence(detail: str) -> str:
    """The informative part of a requests/urllib3 error chain, e.g. '[SSL: ...] certificate verify failed: ...'."""
    match = re.search(r"\[SSL[^\]]*\][^()']*", detail) or re.search(
        r"\[Errno [^\]]+\][^()']*", detail
    )
    if match:
        return match.group(0).strip().rstrip(" (")
    return detail.split(" <- ")[0][:200]


def transport_finding(target: JiraTarget, failure: Failure) -> Finding:
    """The finding for a request that got no HTTP answer (``transport_diagnosis``, explained)."""
    return explain(transport_diagnosis(target, failure))


def transport_diagnosis(
    target: JiraTarget, failure: Failure, endpoint: str = "a request"
) -> Diagnosis:
    """The layer a request that got no HTTP answer broke at, as a diagnosis.

    Raises ``RunDeadline`` for a request the deadline (or an interruption) stopped: that is not
    a network fault, and the row becomes incomplete.
    """
    parts = urlsplit(target.url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    reason = _essence(failure.detail)
    kind = failure.kind
    proxy = target.http.proxy.proxy
    if kind in ("deadline", "interrupted"):
        # Not a network fault: the run ran out of time (or was stopped) before this answer.
        raise RunDeadline(failure.detail, kind)
    if kind == "latched":
        # The refusal itself says why (basic auth disabled, CAPTCHA, a wrong password...).
        refused = failure.refused
        reading = refused.reading if refused is not None else None
        if reading is not None and reading.diagnosis is not None:
            return reading.diagnosis
        creds = target.settings.credentials
        return codes.AuthBadCredentials(
            secret_kind=creds.secret_kind if creds else "secret",
            user=target.settings.user or "the bot",
            status="rejected earlier in this run",
            reason=failure.detail,
            advice="data_center",
        )
    if kind == "dns":
        return codes.NetDns(host=host, error=reason)
    if kind == "refused":
        return codes.NetRefused(host=host, port=port)
    if kind == "connect_timeout":
        return codes.NetTimeout(
            host=host, port=port, timeout_s=_waited(failure, target), stage=failure.detail
        )
    if kind == "read_timeout":
        return codes.NetReadTimeout(
            host=host, port=port, timeout_s=_waited(failure, target), reason=failure.detail
        )
    if kind == "too_slow":
        return codes.NetTooSlow(url=target.url, reason=failure.detail)
    if kind == "tls_protocol":
        if proxy:  # the proxy, not Jira's port, answered in plain HTTP inside its tunnel
            return codes.NetProxyPlainTunnel(
                proxy=proxy, host=host, port=port, answered=failure.detail
            )
        return codes.NetTlsPlainPort(host=host, port=port, reason=failure.detail)
    if kind in ("proxy_silent", "proxy"):
        return codes.NetProxy(proxy=proxy or "(proxy)", host=host, port=port, reason=reason)
    if kind == "rate_limited":
        return _rate_limited(target)
    if kind == "bad_secret":
        creds = target.settings.credentials
        return codes.AuthSecretUnsendable(
            secret_kind=creds.secret_kind if creds else "secret",
            reason="it contains a line break, a control character or a non-ASCII character",
        )
    if kind == "timeout":
        return codes.NetTimeout(
            host=host, port=port, timeout_s=target.settings.timeout_s, stage=reason
        )
    if kind == "tls_expired":
        return codes.NetTlsExpired(host=host, reason=reason, not_after="see the certificate")
    if kind == "tls_hostname":
        return codes.NetTlsHostname(host=host, reason=reason, names="see the certificate")
    if kind in ("tls_untrusted", "tls_other"):
        return _handshake(target, host, port, failure.detail) or codes.NetTlsUntrusted(
            host=host, reason=reason, issuer="unknown"
        )
    if kind == "reset" and _jira_answered(target):
        return codes.NetConnectionReset(
            host=host, port=port, endpoint=endpoint, error=reason, url=target.url
        )
    return codes.NetNotJira(
        url=target.url, reason=f"the connection broke before Jira answered ({failure.detail})"
    )


def _handshake(target: JiraTarget, host: str, port: int, detail: str) -> Diagnosis | None:
    """A TLS handshake the HTTP layer saw fail in a way that is not the certificate's trust."""
    from conformance.probes.network import handshake_problem

    problem = handshake_problem(detail)
    reason = _essence(detail)
    if problem is Problem.SNI:
        return codes.NetTlsSni(host=host, port=port, reason=reason)
    if problem is Problem.TLS_VERSION:
        offered = "a protocol older than TLS 1.2"
        return codes.NetTlsVersion(host=host, port=port, offered=offered, reason=reason)
    if problem is Problem.CHAIN:
        return codes.NetTlsChain(host=host, port=port, reason=reason)
    if problem is Problem.TLS_RESET:
        return codes.NetTlsReset(host=host, port=port, reason=reason)
    if problem is Problem.CLIENT_CERT:
        presented = target.settings.client_cert
        return codes.NetTlsClientCert(
            host=host,
            port=port,
            what=f"refused the one presented ({presented.name})"
            if presented
            else ("none was presented"),
            reason=reason,
            advice="refused" if presented else "missing",
        )
    return None


def _jira_answered(target: JiraTarget) -> bool:
    """Jira answered this run as Jira (a /status state, or serverInfo): a later reset is the
    network's, not a sign that the URL is wrong. Only evidence the run already has."""
    from conformance.probes import api, network

    status = target.cached(network.status)
    info = target.cached(api.server_info)
    return bool(status is not None and status.facts.get("state")) or bool(
        info is not None and info.ok
    )


def _waited(failure: Failure, target: JiraTarget) -> float:
    """The timeout that applied, as the HTTP layer wrote it ("... within 2.5 s ...")."""
    match = re.search(r"within ([0-9]+(?:\.[0-9]+)?) s", failure.detail)
    return float(match.group(1)) if match else target.settings.timeout_s


def _rate_limited(target: JiraTarget) -> codes.RateLimited:
    """RATE_LIMITED with the numbers the run saw (never an API or network finding): the request
    that could not be sent was refused with 429 at least once."""
    from conformance.probes import search

    seen = search.rate_limit(target).facts
    return rate_limit_diagnosis(seen, seen["stated"], at_least=1)


def rate_limit_diagnosis(
    seen: RateLimitCounts, stated: Mapping[str, str], *, at_least: int = 0
) -> codes.RateLimited:
    """RATE_LIMITED from the HTTP layer's counts (``Counters.rate_limit_json``): how many
    answers were 429 and how many requests waited, and the bucket as Jira's answers stated it
    (the paced requests' bucket, else the last ``X-RateLimit-*`` headers an answer carried)."""
    bucket = seen["bucket"]
    stated = {k.lower(): v for k, v in stated.items()}
    limit = bucket.get("limit")
    fill = "not stated"
    if bucket.get("fill_rate") is not None:
        fill = f"{bucket['fill_rate']:g} per {bucket.get('interval_s') or 1:g} s"
    elif stated.get("x-ratelimit-fillrate"):
        interval = stated.get("x-ratelimit-interval-seconds") or "1"
        fill = f"{stated['x-ratelimit-fillrate']} per {interval} s"
    return codes.RateLimited(
        count=max(seen["answered_429"], at_least),
        paced=seen["paced_requests"],
        limit=limit if limit is not None else stated.get("x-ratelimit-limit", "not stated"),
        fill_rate=fill,
    )
