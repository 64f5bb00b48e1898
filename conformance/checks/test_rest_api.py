"""Does Jira's REST API v2 answer as Jira does, at the address the bot uses?

An HTML page where JSON was expected says *what* answered instead (Jira's login page, an
identity provider, a proxy's error page), because each has a different owner and fix.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from conformance import codes
from conformance.check import Step, fail, note, requirement, show, warn
from conformance.classify import PAGE_KINDS, Kind
from conformance.diagnosis import fail_on_transport, recorded, refusal
from conformance.evidence import Evidence
from conformance.findings import Diagnosis
from conformance.probes import account, api, projects
from conformance.probes.api import SearchFacts
from conformance.probes.search import jql_string
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
    first = info.exchanges[0].reading
    if not info.facts.get("anonymous") and first is not None:
        note(f"anonymous serverInfo was refused ({first.detail}); asked with the bot's login")
    me = jira.probe(account.myself)
    show(me)
    answered = [info.exchanges[-1], *(x for x in me.exchanges if x.status is not None)]
    for exchange in answered:
        # Each answer as the probe that received it read it, whole: never the redacted copy.
        reading = exchange.reading
        if reading is None:
            continue
        if reading.kind in PAGE_KINDS and reading.diagnosis is not None:
            fail(reading.diagnosis)
        note(f"{api.endpoint_of(jira, exchange.url)}: {exchange.status}, {reading.detail}")


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
    wrong = api.schema_diagnosis(api.SERVER_INFO, info)
    if wrong is not None:
        fail(wrong)
    body = info.facts.get("body")
    if not info.ok or body is None:
        fail(
            recorded(jira, info)
            or codes.ApiV2Missing(
                url=jira.url, reason=f"serverInfo: {info.facts.get('kind', info.problem)}"
            )
        )
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
    base_url = str(info.facts.get("body", {}).get("baseUrl", ""))
    note(f"base URL: {base_url}")
    if same_address(base_url, jira.url):
        return
    warn(codes.ApiBaseurlMismatch(base_url=base_url, url=jira.url))


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
            fail(_search_diagnosis(jira, classic))
        note(f"/rest/api/2/search answers (total {classic.facts.get('total')})")
        return
    if classic.facts.get("kind") == Kind.SEARCH_REMOVED:
        warn(codes.ApiSearchRemoved())
    elif classic.ok:
        note("/rest/api/2/search still answers here, but Cloud is removing it (CHANGE-2046)")
    enhanced = jira.probe(api.search, "/rest/api/3/search/jql", bounded_jql(jira))
    show(enhanced)
    _fail_unanswered(jira, enhanced)
    if not enhanced.ok:
        fail(_search_diagnosis(jira, enhanced))
    note(f"JQL: {enhanced.facts.get('jql')}")
    note(
        f"/rest/api/3/search/jql answers ({enhanced.facts.get('issues')} issue(s) on the first page)"
    )


def bounded_jql(jira: JiraTarget) -> str:
    """The suite's own query for Cloud's /search/jql, bounded as Cloud requires: by a project
    the run checks (the first one known without asking Jira again), else by time."""
    listed = jira.cached(projects.visible_projects)
    keys = [
        *jira.settings.projects,
        *(spec.key for spec in jira.profile.projects or ()),
        *(listed.facts.get("keys", []) if listed is not None else []),
    ]
    if keys:
        return f"project = {jql_string(keys[0])} ORDER BY created DESC"
    return api.RECENT_JQL


def _fail_unanswered(jira: JiraTarget, evidence: Evidence[SearchFacts]) -> None:
    """No answer: the refused login the request waited on, else the layer that broke."""
    refused = refusal(evidence)
    if refused is not None:
        fail(refused, evidence=[evidence])
    fail_on_transport(jira, evidence)


def _search_diagnosis(jira: JiraTarget, evidence: Evidence[SearchFacts]) -> Diagnosis:
    path = evidence.facts.get("path", "the search")
    return (
        api.schema_diagnosis(path, evidence)
        or recorded(jira, evidence)
        or codes.ApiV2Missing(url=jira.url, reason=f"{path}: {evidence.problem}")
    )
