"""Can this machine reach the Jira at all, and if not, at which layer does it break?

Layer by layer: the URL, DNS, TCP, the proxy, TLS, then whether what answers is a running Jira
at this base URL. Each failure names its layer, because each layer has a different fix.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from conformance import codes
from conformance.check import Step, fail, not_applicable, note, requirement, show, warn
from conformance.diagnosis import fail_on_transport
from conformance.evidence import Evidence, Problem
from conformance.findings import Diagnosis
from conformance.http import TIMEOUT_KINDS
from conformance.probes import network
from conformance.probes.network import TlsFacts
from conformance.target import JiraTarget


@requirement("reachability.url", "Form of the Jira base URL", Step.REACH)
def test_url(jira: JiraTarget) -> None:
    note(f"base URL: {jira.url}")
    note(f"proxy: {jira.probe(network.proxy).facts['described']}")
    if urlsplit(jira.url).scheme == "http":
        warn(codes.NetPlainHttp(url=jira.url))


@requirement(
    "reachability.dns", "DNS lookup of the Jira host name", Step.REACH, after=["reachability.url"]
)
def test_dns(jira: JiraTarget) -> None:
    evidence = jira.probe(network.dns)
    show(evidence)
    facts = evidence.facts
    if not evidence.ok:
        fail(codes.NetDns(host=facts.get("host", ""), error=facts.get("error", "no answer")))
    what = "proxy" if facts.get("via_proxy") else "Jira host"
    note(f"{what} {facts.get('host')} resolves to {', '.join(facts.get('addresses', []))}")


@requirement("reachability.tcp", "TCP connection to Jira", Step.REACH, after=["reachability.dns"])
def test_tcp(jira: JiraTarget) -> None:
    evidence = jira.probe(network.tcp)
    show(evidence)
    facts = evidence.facts
    host, port = facts.get("host", ""), facts.get("port", 0)
    if evidence.problem == "timeout":
        fail(
            codes.NetTimeout(
                host=host, port=port, timeout_s=jira.settings.timeout_s, stage="TCP connect"
            )
        )
    if not evidence.ok:
        fail(codes.NetRefused(host=host, port=port), evidence=[evidence])
    note(f"connected to {facts.get('address')}:{port} in {facts.get('connect_ms', 0):.0f} ms")


@requirement(
    "reachability.tls",
    "Jira's TLS certificate: validity and trust",
    Step.REACH,
    after=["reachability.tcp"],
)
def test_tls(jira: JiraTarget) -> None:
    if urlsplit(jira.url).scheme != "https":
        not_applicable("the URL uses plain http: no TLS to verify")
    evidence = jira.probe(network.tls)
    show(evidence)
    facts = evidence.facts
    if evidence.problem is Problem.PLAIN_HTTP:
        fail_on_transport(jira, evidence)  # NET_TLS_PLAIN_PORT: use http:// or the TLS port
    if not evidence.ok:
        fail(tls_diagnosis(evidence))
    note(
        f"{facts.get('tls_version')}: certificate for {facts.get('subject')} issued by "
        f"{facts.get('issuer')}, valid until {facts.get('not_after')}"
    )
    if facts.get("certificate_requested"):
        presented = facts.get("client_cert")
        note(
            "the server asks for a client certificate (mutual TLS)"
            + (f"; presented {presented}" if presented else "; none was presented, none required")
        )


def tls_diagnosis(evidence: Evidence[TlsFacts]) -> Diagnosis:
    """What a failed handshake (``network.tls``) says is wrong, each way with its own fix."""
    facts = evidence.facts
    host, port = facts.get("host", ""), facts.get("port", 443)
    reason = facts.get("verify_message") or facts.get("error") or "no detail"
    problem = evidence.problem
    if problem is Problem.PROXY:
        return codes.NetProxy(
            proxy=facts.get("proxy") or "(proxy)",
            host=host,
            port=port,
            reason=f"CONNECT answered {facts.get('proxy_status')} {facts.get('proxy_reason')}",
        )
    if problem is Problem.PLAIN_TUNNEL:
        return codes.NetProxyPlainTunnel(
            proxy=facts.get("proxy") or "(proxy)",
            host=host,
            port=port,
            answered=facts.get("tunnel_answer") or reason,
        )
    if problem is Problem.INTERMEDIATE_EXPIRED:
        expired = next(c for c in facts.get("chain", []) if c["expired"])
        return codes.NetTlsIntermediateExpired(
            host=host,
            port=port,
            subject=expired["subject"],
            not_after=expired["not_after"],
            leaf_not_after=facts.get("not_after", "unknown"),
            issuer=facts.get("issuer", "unknown"),
            reason=reason,
        )
    if problem is Problem.EXPIRED:
        return codes.NetTlsExpired(
            host=host, reason=reason, not_after=facts.get("not_after", "unknown")
        )
    if problem is Problem.HOSTNAME:
        names = ", ".join(facts.get("names") or []) or "none"
        return codes.NetTlsHostname(host=host, reason=reason, names=names)
    if problem is Problem.CHAIN:
        return codes.NetTlsChain(host=host, port=port, reason=reason)
    if problem is Problem.TLS_VERSION:
        offered = facts.get("offered", "a protocol older than TLS 1.2")
        return codes.NetTlsVersion(host=host, port=port, offered=offered, reason=reason)
    if problem is Problem.SNI:
        return codes.NetTlsSni(host=host, port=port, reason=reason)
    if problem is Problem.CLIENT_CERT:
        presented = facts.get("client_cert")
        return codes.NetTlsClientCert(
            host=host,
            port=port,
            what=f"refused the one presented ({presented})" if presented else "none was presented",
            reason=reason,
            advice="refused" if presented else "missing",
        )
    if problem is Problem.TLS_RESET:
        return codes.NetTlsReset(host=host, port=port, reason=reason)
    issuer = facts.get("issuer", "unknown")
    if facts.get("self_signed"):
        issuer += ", self-signed"
    return codes.NetTlsUntrusted(host=host, reason=reason, issuer=issuer)


@requirement(
    "reachability.jira",
    "What answers at this base URL: a running Jira or something else",
    Step.REACH,
    after=["reachability.tls", "reachability.tcp"],
)
def test_running_jira(jira: JiraTarget) -> None:
    evidence = jira.probe(network.status)
    show(evidence)
    facts = evidence.facts
    state = facts.get("state")
    if evidence.ok:
        note(f"/status reports {state}")
        return
    if facts.get("failure") in TIMEOUT_KINDS and _rest_api_answers(jira):
        note("/status did not answer in time, but serverInfo answers as Jira (reachability.status)")
        return
    fail_on_transport(jira, evidence)
    status = facts.get("status")
    if isinstance(status, int) and 300 <= status < 400:
        _fail_if_sso_gateway(jira)
    parts = urlsplit(jira.url)
    if status == 407:
        fail(
            codes.NetProxy(
                proxy=jira.probe(network.proxy).facts["proxy"] or "(proxy)",
                host=jira.settings.host,
                port=parts.port or (443 if parts.scheme == "https" else 80),
                reason="407 Proxy Authentication Required",
            )
        )
    if state:
        fail(codes.NetNotRunning(url=jira.url, state=state, advice=codes.state_advice(state)))
    proxy = facts.get("diagnosis")
    if isinstance(proxy, codes.NetProxyAnswered):
        fail(proxy)  # a proxy answered /status itself: Jira never saw it
    # /status missing: an old Jira (before 7.1), a wrong context path, or not Jira at all.
    info = jira.probe(network.server_info_anonymous)
    show(info)
    if info.ok:
        note(f"/status is missing, but serverInfo answers (Jira {info.facts.get('version')})")
        return
    moved = jira.probe(network.context_path)
    show(moved)
    suggested, context = moved.facts.get("suggested"), moved.facts.get("context_path")
    if moved.ok and suggested and context:
        fail(codes.NetContextPath(url=jira.url, suggested=suggested, context_path=context))
    kind = facts.get("content_type") or "no content type"
    reason = f"/status answered {status} ({kind}) without a Jira state"
    fail(codes.NetNotJira(url=jira.url, reason=reason))


def _rest_api_answers(jira: JiraTarget) -> bool:
    """serverInfo answers as Jira without credentials: Jira runs, whatever /status does."""
    info = jira.probe(network.server_info_anonymous)
    show(info)
    return info.ok


@requirement(
    "reachability.status",
    "Jira's /status health endpoint",
    Step.REACH,
    # Its own row: a slow /status alone fails here and blocks nothing else, because
    # reachability.jira passes when the REST API answers.
    after=["reachability.jira"],
)
def test_status_endpoint(jira: JiraTarget) -> None:
    evidence = jira.probe(network.status)
    show(evidence)
    if evidence.facts.get("failure") in TIMEOUT_KINDS:
        fail(
            codes.NetStatusSlow(url=jira.url, timeout_s=jira.settings.timeout_s, error="timed out")
        )
    if not evidence.ok:
        not_applicable("/status is missing on this Jira; reachability.jira judged its answer")
    note(f"/status answered in {evidence.facts.get('elapsed_ms', 0):.0f} ms")


def _fail_if_sso_gateway(jira: JiraTarget) -> None:
    """/status redirected: follow the chain without credentials; an IdP at its end is a gateway."""
    chain = jira.probe(network.redirects, "/status")
    show(chain)
    host = chain.facts.get("idp_host")
    if host is not None:
        fail(
            codes.NetSsoGateway(
                idp_host=host, path="/status", hops="; ".join(chain.facts.get("hops", []))
            )
        )


@requirement(
    "reachability.latency", "Jira's response time", Step.REACH, after=["reachability.jira"]
)
def test_latency(jira: JiraTarget) -> None:
    evidence = jira.probe(network.round_trip)
    elapsed = evidence.facts.get("elapsed_ms")
    if not evidence.ok or elapsed is None:
        not_applicable("no request has been answered yet")
    note(f"fastest round trip: {elapsed:.0f} ms")
    if elapsed > jira.settings.slow_ms:
        warn(codes.NetSlow(elapsed_ms=elapsed, limit_ms=jira.settings.slow_ms))
