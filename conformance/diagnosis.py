"""Turn a transport failure seen anywhere into the reachability finding that names its layer.

Every check that makes a request can meet a dropped connection or a proxy refusal; they all use
this one translation so the same failure always reads the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from conformance.check import RunDeadline, fail
from conformance.evidence import Evidence, Failure
from conformance.findings import Finding, finding

if TYPE_CHECKING:
    from conformance.target import JiraTarget


def fail_on_transport(target: JiraTarget, evidence: Evidence) -> None:
    """Fail the running check with the layer that broke, if the probe got no answer at all."""
    failure = evidence.failure
    if failure is not None:
        fail(transport_finding(target, failure), evidence=[evidence])


def _essence(detail: str) -> str:
    """The informative part of a requests/urllib3 error chain, e.g. '[SSL: ...] certificate verify failed: ...'."""
    match = re.search(r"\[SSL[^\]]*\][^()']*", detail) or re.search(
        r"\[Errno [^\]]+\][^()']*", detail
    )
    if match:
        return match.group(0).strip().rstrip(" (")
    return detail.split(" <- ")[0][:200]


def transport_finding(target: JiraTarget, failure: Failure) -> Finding:
    parts = urlsplit(target.url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    reason = _essence(failure.detail)
    common: dict[str, Any] = {"host": host, "port": port, "url": target.url, "error": reason}
    kind = failure.kind
    if kind in ("deadline", "interrupted"):
        # Not a network fault: the run ran out of time (or was stopped) before this answer.
        raise RunDeadline(failure.detail, kind)
    if kind == "latched":
        # The refusal itself says why (basic auth disabled, CAPTCHA, a wrong password...).
        from conformance.probes import api

        rejected = failure.refused
        found = api.judged(target, rejected).finding if rejected is not None else None
        if found is not None:
            return found
        creds = target.settings.credentials
        return finding(
            "AUTH_BAD_CREDENTIALS",
            secret_kind=creds.secret_kind if creds else "secret",
            user=target.settings.user or "the bot",
            status="rejected earlier in this run",
            reason=failure.detail,
        )
    if kind == "dns":
        return finding("NET_DNS", **common)
    if kind == "refused":
        return finding("NET_REFUSED", **common)
    if kind == "connect_timeout":
        return finding(
            "NET_TIMEOUT", timeout_s=_waited(failure, target), stage=failure.detail, **common
        )
    if kind == "read_timeout":
        return finding(
            "NET_READ_TIMEOUT", timeout_s=_waited(failure, target), reason=failure.detail, **common
        )
    if kind == "too_slow":
        return finding("NET_TOO_SLOW", reason=failure.detail, **common)
    if kind == "tls_protocol":
        return finding("NET_TLS_PLAIN_PORT", reason=failure.detail, **common)
    if kind == "proxy_silent":
        return finding(
            "NET_PROXY", proxy=target.http.proxy.proxy or "(proxy)", reason=failure.detail, **common
        )
    if kind == "rate_limited":
        return _rate_limited(target)
    if kind == "bad_secret":
        creds = target.settings.credentials
        return finding(
            "AUTH_SECRET_UNSENDABLE",
            secret_kind=creds.secret_kind if creds else "secret",
            reason="it contains a line break, a control character or a non-ASCII character",
        )
    if kind == "timeout":
        return finding("NET_TIMEOUT", timeout_s=target.settings.timeout_s, stage=reason, **common)
    if kind == "tls_expired":
        return finding("NET_TLS_EXPIRED", reason=reason, not_after="see the certificate", **common)
    if kind == "tls_hostname":
        return finding("NET_TLS_HOSTNAME", reason=reason, names="see the certificate", **common)
    if kind in ("tls_untrusted", "tls_other"):
        return finding("NET_TLS_UNTRUSTED", reason=reason, issuer="unknown", **common)
    if kind == "proxy":
        return finding(
            "NET_PROXY", proxy=target.http.proxy.proxy or "(proxy)", reason=reason, **common
        )
    return finding(
        "NET_NOT_JIRA",
        reason=f"the connection broke before Jira answered ({failure.detail})",
        **common,
    )


def _waited(failure: Failure, target: JiraTarget) -> float:
    """The timeout that applied, as the HTTP layer wrote it ("... within 2.5 s ...")."""
    match = re.search(r"within ([0-9]+(?:\.[0-9]+)?) s", failure.detail)
    return float(match.group(1)) if match else target.settings.timeout_s


def _rate_limited(target: JiraTarget) -> Finding:
    """RATE_LIMITED with the numbers the run saw (never an API or network finding)."""
    seen = target.http.counters.rate_limit_json()
    return rate_limit_finding({**seen, "answered_429": max(seen["answered_429"], 1)})


def rate_limit_finding(seen: Mapping[str, Any]) -> Finding:
    """RATE_LIMITED from the HTTP layer's counts (``Counters.rate_limit_json``)."""
    bucket = seen.get("bucket") or {}
    fill = "not stated"
    if bucket.get("fill_rate") is not None:
        fill = f"{bucket['fill_rate']:g} per {bucket.get('interval_s') or 1:g} s"
    limit = bucket.get("limit")
    return finding(
        "RATE_LIMITED",
        count=seen["answered_429"],
        paced=seen["paced_requests"],
        limit=limit if limit is not None else "not stated",
        fill_rate=fill,
    )
