"""Turn a transport failure seen anywhere into the reachability finding that names its layer.

Every check that makes a request can meet a dropped connection or a proxy refusal; they all use
this one translation so the same failure always reads the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from conformance.findings import Finding, finding
from conformance.http import TransportFailure

if TYPE_CHECKING:
    from conformance.target import JiraTarget


def transport_finding(target: JiraTarget, failure: TransportFailure) -> Finding:
    parts = urlsplit(target.url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    common = {"host": host, "port": port, "url": target.url, "error": failure.detail}
    kind = failure.kind
    if kind == "dns":
        return finding("NET_DNS", **common)
    if kind == "refused":
        return finding("NET_REFUSED", **common)
    if kind in ("timeout", "deadline"):
        return finding(
            "NET_TIMEOUT", timeout_s=target.settings.timeout_s, stage=failure.detail, **common
        )
    if kind == "tls_expired":
        return finding(
            "NET_TLS_EXPIRED", reason=failure.detail, not_after="see the certificate", **common
        )
    if kind == "tls_hostname":
        return finding(
            "NET_TLS_HOSTNAME", reason=failure.detail, names="see the certificate", **common
        )
    if kind in ("tls_untrusted", "tls_other"):
        return finding("NET_TLS_UNTRUSTED", reason=failure.detail, issuer="unknown", **common)
    if kind == "proxy":
        return finding(
            "NET_PROXY", proxy=target.http.proxy.proxy or "(proxy)", reason=failure.detail, **common
        )
    return finding(
        "NET_NOT_JIRA",
        reason=f"the connection broke before Jira answered ({failure.detail})",
        **common,
    )
