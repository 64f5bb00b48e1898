"""Can this machine reach the Jira at all, and if not, at which layer does it break?

Layer by layer: the URL, DNS, TCP, the proxy, TLS, then whether what answers is a running Jira
at this base URL. Each failure names its layer, because each layer has a different fix.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from conformance.check import Step, fail, not_applicable, note, requirement, show, warn
from conformance.diagnosis import fail_on_transport
from conformance.evidence import Problem
from conformance.findings import advice_keys, finding
from conformance.http import TIMEOUT_KINDS
from conformance.probes import facts_of, network
from conformance.target import JiraTarget


@requirement("reachability.url", "Form of the Jira base URL", Step.REACH)
def test_url(jira: JiraTarget) -> None:
    note(f"base URL: {jira.url}")
    note(f"proxy: {jira.probe(network.proxy).fact('described')}")
    if urlsplit(jira.url).scheme == "http":
        warn(finding("NET_PLAIN_HTTP", url=jira.url))


@requirement(
    "reachability.dns", "DNS lookup of the Jira host name", Step.REACH, after=["reachability.url"]
)
def test_dns(jira: JiraTarget) -> None:
    evidence = jira.probe(network.dns)
    show(evidence)
    if not evidence.ok:
        fail(finding("NET_DNS", host=evidence.fact("host"), error=evidence.fact("error")))
    what = "proxy" if evidence.fact("via_proxy") else "Jira host"
    note(f"{what} {evidence.fact('host')} resolves to {', '.join(evidence.fact('addresses'))}")


@requirement("reachability.tcp", "TCP connection to Jira", Step.REACH, after=["reachability.dns"])
def test_tcp(jira: JiraTarget) -> None:
    evidence = jira.probe(network.tcp)
    show(evidence)
    params = {"host": evidence.fact("host"), "port": evidence.fact("port")}
    if evidence.problem == "timeout":
        fail(
            finding("NET_TIMEOUT", timeout_s=jira.settings.timeout_s, stage="TCP connect", **params)
        )
    if not evidence.ok:
        fail(finding("NET_REFUSED", **params), evidence=[evidence])
    note(
        f"connected to {evidence.fact('address')}:{evidence.fact('port')} in {evidence.fact('connect_ms'):.0f} ms"
    )


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
    facts = facts_of(evidence, network.TlsFacts)
    host = facts.get("host")
    if evidence.problem is Problem.PLAIN_HTTP:
        fail_on_transport(jira, evidence)  # NET_TLS_PLAIN_PORT: use http:// or the TLS port
    if evidence.problem == "proxy":
        fail(
            finding(
                "NET_PROXY",
                proxy=facts.get("proxy"),
                host=host,
                port=facts.get("port"),
                reason=f"CONNECT answered {facts.get('proxy_status')} {facts.get('proxy_reason')}",
            )
        )
    if evidence.problem == "expired":
        fail(
            finding(
                "NET_TLS_EXPIRED",
                host=host,
                reason=facts.get("verify_message"),
                not_after=facts.get("not_after"),
            )
        )
    if evidence.problem == "hostname":
        fail(
            finding(
                "NET_TLS_HOSTNAME",
                host=host,
                reason=facts.get("verify_message"),
                names=", ".join(facts.get("names") or []) or "none",
            )
        )
    if evidence.problem == "untrusted":
        issuer = facts.get("issuer", "unknown")
        if facts.get("self_signed"):
            issuer += ", self-signed"
        fail(
            finding(
                "NET_TLS_UNTRUSTED", host=host, reason=facts.get("verify_message"), issuer=issuer
            )
        )
    if not evidence.ok:
        fail(
            finding(
                "NET_TLS_UNTRUSTED",
                host=host,
                reason=facts.get("error"),
                issuer=facts.get("issuer", "unknown"),
            )
        )
    note(
        f"certificate for {facts.get('subject')} issued by {facts.get('issuer')}, valid until {facts.get('not_after')}"
    )


@requirement(
    "reachability.jira",
    "What answers at this base URL: a running Jira or something else",
    Step.REACH,
    after=["reachability.tls", "reachability.tcp"],
)
def test_running_jira(jira: JiraTarget) -> None:
    evidence = jira.probe(network.status)
    show(evidence)
    state = evidence.fact("state")
    if evidence.ok:
        note(f"/status reports {state}")
        return
    if evidence.fact("failure") in TIMEOUT_KINDS and _rest_api_answers(jira):
        note("/status did not answer in time, but serverInfo answers as Jira (reachability.status)")
        return
    fail_on_transport(jira, evidence)
    status = evidence.fact("status")
    if isinstance(status, int) and 300 <= status < 400:
        _fail_if_sso_gateway(jira)
    if status == 407:
        fail(
            finding(
                "NET_PROXY",
                proxy=jira.probe(network.proxy).fact("proxy"),
                host=jira.settings.host,
                port="",
                reason="407 Proxy Authentication Required",
            )
        )
    if state:
        advice = state if state in advice_keys("NET_NOT_RUNNING") else "UNKNOWN"
        fail(finding("NET_NOT_RUNNING", url=jira.url, state=state, advice=advice))
    # /status missing: an old Jira (before 7.1), a wrong context path, or not Jira at all.
    info = jira.probe(network.server_info_anonymous)
    show(info)
    if info.ok:
        note(f"/status is missing, but serverInfo answers (Jira {info.fact('version')})")
        return
    moved = jira.probe(network.context_path)
    show(moved)
    if moved.ok:
        fail(
            finding(
                "NET_CONTEXT_PATH",
                url=jira.url,
                suggested=moved.fact("suggested"),
                context_path=moved.fact("context_path"),
            )
        )
    reason = f"/status answered {evidence.fact('status')} ({evidence.fact('content_type') or 'no content type'}) without a Jira state"
    fail(finding("NET_NOT_JIRA", url=jira.url, reason=reason))


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
    if evidence.fact("failure") in TIMEOUT_KINDS:
        fail(
            finding(
                "NET_STATUS_SLOW",
                url=jira.url,
                timeout_s=jira.settings.timeout_s,
                error="timed out",
            )
        )
    if not evidence.ok:
        not_applicable("/status is missing on this Jira; reachability.jira judged its answer")
    note(f"/status answered in {evidence.fact('elapsed_ms'):.0f} ms")


def _fail_if_sso_gateway(jira: JiraTarget) -> None:
    """/status redirected: follow the chain without credentials; an IdP at its end is a gateway."""
    chain = jira.probe(network.redirects, "/status")
    show(chain)
    host = chain.fact("idp_host")
    if host is not None:
        fail(
            finding(
                "NET_SSO_GATEWAY",
                idp_host=host,
                path="/status",
                hops="; ".join(chain.fact("hops")),
            )
        )


@requirement(
    "reachability.latency", "Jira's response time", Step.REACH, after=["reachability.jira"]
)
def test_latency(jira: JiraTarget) -> None:
    evidence = jira.probe(network.round_trip)
    if not evidence.ok:
        not_applicable("no request has been answered yet")
    elapsed = evidence.fact("elapsed_ms")
    note(f"fastest round trip: {elapsed:.0f} ms")
    if elapsed > jira.settings.slow_ms:
        warn(finding("NET_SLOW", elapsed_ms=elapsed, limit_ms=jira.settings.slow_ms))
