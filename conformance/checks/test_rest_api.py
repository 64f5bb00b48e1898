"""Does Jira's REST API v2 answer as Jira does, at the address the bot uses?

An HTML page where JSON was expected says *what* answered instead (Jira's login page, an
identity provider, a proxy's error page), because each has a different owner and fix.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from conformance.check import Step, fail, note, requirement, show, warn
from conformance.classify import PAGE_KINDS, Kind
from conformance.diagnosis import fail_on_transport
from conformance.evidence import Evidence
from conformance.findings import Finding, finding
from conformance.probes import account, api
from conformance.target import JiraTarget


@requirement(
    "api.json_answers",
    "REST API answers: JSON, or a login, single sign-on or proxy page",
    Step.API,
    # reachability.jira passes when /status is only slow but serverInfo answers as Jira (the
    # slow /status is reachability.status's own finding), so it blocks the API only for cause.
    after=["reachability.jira"],
)
def test_json_answers(jira: JiraTarget) -> None:
    info = jira.probe(api.server_info)
    show(info)
    fail_on_transport(jira, info)
    if not info.fact("anonymous"):
        refused = api.judged(jira, info.exchanges[0])
        note(f"anonymous serverInfo was refused ({refused.detail}); asked with the bot's login")
    me = jira.probe(account.myself)
    show(me)
    answered = [info.exchanges[-1], *(x for x in me.exchanges if x.status is not None)]
    for exchange in answered:
        verdict = api.judged(jira, exchange)
        if verdict.kind in PAGE_KINDS and verdict.finding is not None:
            fail(verdict.finding)
        note(f"{api.endpoint_of(jira, exchange.url)}: {exchange.status}, {verdict.detail}")


@requirement(
    "api.server_info",
    "Shape of the serverInfo answer",
    Step.API,
    after=["reachability.jira", "api.json_answers"],
)
def test_server_info(jira: JiraTarget) -> None:
    info = jira.probe(api.server_info)
    show(info)
    fail_on_transport(jira, info)
    wrong = api.schema_finding(api.SERVER_INFO, info)
    if wrong is not None:
        fail(wrong)
    if not info.ok:
        fail(
            api.finding_of(jira, info)
            or finding("API_V2_MISSING", url=jira.url, reason=f"serverInfo: {info.fact('kind')}")
        )
    body = info.fact("body")
    note(
        f"{body.get('serverTitle') or 'Jira'} {body.get('version')} "
        f"(deploymentType {body.get('deploymentType')}, build {body.get('buildNumber')})"
    )


@requirement(
    "api.base_url",
    "Jira's configured base URL against the URL the bot uses",
    Step.VERSION,
    after=["api.server_info"],
)
def test_base_url(jira: JiraTarget) -> None:
    info = jira.probe(api.server_info)
    show(info)
    base_url = str(info.fact("body", {}).get("baseUrl", ""))
    note(f"base URL: {base_url}")
    if same_address(base_url, jira.url):
        return
    warn(finding("API_BASEURL_MISMATCH", base_url=base_url, url=jira.url))


def same_address(left: str, right: str) -> bool:
    """Scheme, host, port and context path equal (a trailing slash or default port aside)."""

    def key(url: str) -> tuple[str, str, int | None, str]:
        parts = urlsplit(url.strip())
        try:
            port = parts.port
        except ValueError:
            port = -1
        default = {"http": 80, "https": 443}.get(parts.scheme.lower())
        return (
            parts.scheme.lower(),
            (parts.hostname or "").lower(),
            None if port == default else port,
            parts.path.rstrip("/"),
        )

    return key(left) == key(right)


@requirement(
    "api.search_endpoint",
    "The search endpoint this deployment needs",
    Step.API,
    after=["auth.authenticates"],
)
def test_search_endpoint(jira: JiraTarget) -> None:
    version, _ = api.learned_version(jira)
    classic = jira.probe(api.search, "/rest/api/2/search")
    show(classic)
    _fail_unanswered(jira, classic)
    if version is None or not version.cloud:
        if not classic.ok:
            fail(_search_finding(jira, classic))
        note(f"/rest/api/2/search answers (total {classic.fact('total')})")
        return
    if classic.fact("kind") == Kind.SEARCH_REMOVED:
        warn(finding("API_SEARCH_REMOVED"))
    elif classic.ok:
        note("/rest/api/2/search still answers here, but Cloud is removing it (CHANGE-2046)")
    enhanced = jira.probe(api.search, "/rest/api/3/search/jql")
    show(enhanced)
    _fail_unanswered(jira, enhanced)
    if not enhanced.ok:
        fail(_search_finding(jira, enhanced))
    note(f"/rest/api/3/search/jql answers ({enhanced.fact('issues')} issue(s) on the first page)")


def _fail_unanswered(jira: JiraTarget, evidence: Evidence) -> None:
    """No answer: the refused login the request waited on, else the layer that broke."""
    latched = api.latched_finding(jira, evidence)
    if latched is not None:
        fail(latched, evidence=[evidence])
    fail_on_transport(jira, evidence)


def _search_finding(jira: JiraTarget, evidence: Evidence) -> Finding:
    return (
        api.schema_finding(evidence.fact("path"), evidence)
        or api.finding_of(jira, evidence)
        or finding(
            "API_V2_MISSING", url=jira.url, reason=f"{evidence.fact('path')}: {evidence.problem}"
        )
    )
