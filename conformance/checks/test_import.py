"""Step 3 of the guide: a test import, done the way Visor's import does it, before Visor does.

Per project: search with the profile's JQL and page as the deployment requires, check the pages
add up, check each issue has Jira's shape and the fields Visor reads, and project how long a
full import would take. All of it judges one probe (``search.import_sample``), run once per
project and shared by the four checks.
"""

from __future__ import annotations

from conformance import codes
from conformance.check import Step, fail, not_applicable, note, requirement, show, warn
from conformance.diagnosis import (
    asked_of,
    rate_limit_diagnosis,
    recorded,
    transport_diagnosis,
)
from conformance.evidence import Evidence, Problem
from conformance.findings import Diagnosis
from conformance.probes import search
from conformance.probes.search import ImportSampleFacts
from conformance.target import JiraTarget


def _sample(jira: JiraTarget, project: str | None) -> Evidence[ImportSampleFacts]:
    if project is None:
        not_applicable("no project is known to import from")
    return jira.probe(search.import_sample, project)


@requirement(
    "import.search",
    "Search of the project with the profile's JQL",
    Step.IMPORT,
    after=["permissions.visible"],
    probes=[search.import_sample],
)
def test_search(jira: JiraTarget, project: str | None) -> None:
    evidence = _sample(jira, project)
    show(evidence)
    facts = evidence.facts
    if facts.get("switched_after_410"):
        note("/rest/api/2/search answered 410 Gone (Cloud, CHANGE-2046): paged /search/jql instead")
    if not evidence.ok:
        fail(_search_failure(jira, evidence))
    note(f"JQL: {facts['jql']}")
    note(
        f"read {facts['issues_read']} issue(s) of {_total_text(facts)} through {facts['endpoint']} "
        f"in {facts['pages']} page(s) ({facts['deployment']} paging)"
    )


def _search_failure(jira: JiraTarget, evidence: Evidence[ImportSampleFacts]) -> Diagnosis:
    facts = evidence.facts
    failure = evidence.failure
    if failure is not None:
        return transport_diagnosis(jira, failure, asked_of(jira, evidence))
    if evidence.problem is Problem.SCHEMA:
        field, problem = facts["schema"]
        return codes.ApiSchema(
            endpoint=facts.get("endpoint", search.DC_SEARCH),
            field=f"{field} (at {facts.get('failed_at')})",
            problem=problem,
        )
    answered_by = recorded(jira, evidence)
    if isinstance(answered_by, codes.NetProxyAnswered | codes.AuthLoginLost):
        return answered_by  # not Jira refusing the profile's JQL: who answered says what to fix
    status = facts.get("status")
    return codes.ImpSearchFailed(
        project=facts.get("project", ""),
        where=facts.get("failed_at", "the first page"),
        status=status if status is not None else "no status",
        message=facts.get("message", "no message"),
        jql=facts.get("jql", ""),
        advice=_SEARCH_ADVICE.get(status, "jira_failed"),
    )


# IMP_SEARCH_FAILED's advice by the search's HTTP status; any other status is Jira failing.
_SEARCH_ADVICE: dict[int | None, codes.SearchAdvice] = {
    400: "bad_jql",
    401: "no_browse",
    403: "no_browse",
    404: "search_hidden",
    429: "rate_limited",
}


def _total_text(facts: ImportSampleFacts) -> str:
    total = facts.get("total")
    if total is None:
        return "an unknown number"
    return f"more than {total}" if facts.get("total_complete") is False else str(total)


@requirement(
    "import.pagination",
    "Paging through the project: every issue exactly once",
    Step.IMPORT,
    after=["import.search"],
    probes=[search.import_sample],
)
def test_pagination(jira: JiraTarget, project: str | None) -> None:
    evidence = _sample(jira, project)
    show(evidence)
    facts = evidence.facts
    asked, served = facts["page_size"], facts.get("server_page_size")
    if served is not None and served < asked:
        note(f"Jira clamps maxResults to {served} (asked {asked}): paging follows Jira's value")
    for line in facts.get("paging_notes") or []:
        note(line)
    problems = facts.get("pagination_problems") or []
    if problems:
        fail(*(codes.ImpPagination(project=project or "", problem=p) for p in problems))
    scope = "the whole project" if facts.get("exhausted") else f"a sample of {facts['distinct']}"
    note(f"{facts['pages']} page(s), {facts['distinct']} distinct issue(s), {scope}, no repeats")


@requirement(
    "import.fields",
    "Shape and read fields of the imported issues",
    Step.IMPORT,
    after=["import.search"],
    probes=[search.import_sample],
)
def test_fields(jira: JiraTarget, project: str | None) -> None:
    evidence = _sample(jira, project)
    show(evidence)
    facts = evidence.facts
    inspected = facts["inspected"]
    key = project or ""
    findings: list[Diagnosis] = [
        codes.ImpFieldMissing(
            project=key,
            field=name,
            missing="all",
            inspected=inspected,
            example="no issue was read",
        )
        for name in facts.get("unknown_fields") or []
    ]
    for field_id, count in sorted(facts["missing_fields"].items()):
        findings.append(
            codes.ImpFieldMissing(
                project=key,
                field=field_id,
                missing=count,
                inspected=inspected,
                example=facts["missing_example"].get(field_id, "none"),
            )
        )
    if facts["schema_errors"]:
        findings.append(
            codes.ApiSchema(
                endpoint=facts["endpoint"],
                field=f"{facts['schema_errors']} value(s) in {project}'s issues, e.g.",
                problem="; ".join(facts["schema_examples"]),
            )
        )
    if findings:
        fail(*findings)
    if inspected == 0:
        note(f"{project} has no issue matching the JQL: no field to check")
        return
    wanted = ", ".join(facts["fields"]) + (" and the changelog" if facts["changelog"] else "")
    note(f"all {inspected} issue(s) match the issue schema and carry {wanted}")


@requirement(
    "import.throughput",
    "Time of a full import of the project against the profile's limit",
    Step.IMPORT,
    after=["import.search"],
    probes=[search.import_sample],
)
def test_throughput(jira: JiraTarget, project: str | None) -> None:
    evidence = _sample(jira, project)
    show(evidence)
    facts = evidence.facts
    rate, total = facts.get("rate"), facts.get("total")
    if not rate:
        not_applicable(f"{project} has no issue matching the JQL: nothing to measure")
    note(f"read {facts['issues_read']} issue(s) in {facts['elapsed_s']:.2f} s: {rate:.1f} issues/s")
    if total is None:
        note("the project's size is unknown, so a full import cannot be projected")
        return
    projected_s = total / rate
    limit_min = jira.profile.import_settings.max_full_import_minutes
    spoken = "less than a second" if projected_s < 1 else f"about {duration(projected_s)}"
    note(f"projected full import of {_total_text(facts)} issue(s): {spoken}")
    if projected_s > limit_min * 60:
        warn(
            codes.ImpSlow(
                project=project or "",
                projected=duration(projected_s),
                rate=rate,
                total=_total_text(facts),
                limit=duration(limit_min * 60),
            )
        )


def duration(seconds: float) -> str:
    """A span as people say it: '40 s', '12 min', '3 h 20 min'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 90:
        return f"{minutes:.0f} min"
    hours, rest = divmod(round(minutes), 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


@requirement(
    "import.rate_limit",
    "Jira's rate limit during the import",
    Step.IMPORT,
    after=["auth.authenticates"],
)
def test_rate_limit(jira: JiraTarget) -> None:
    """One row for the whole run (the bucket is the bot's, not a project's), judged last."""
    seen = jira.probe(search.rate_limit)
    show(seen)
    facts = seen.facts
    if not facts["limited"]:
        limit = facts["bucket"].get("limit")
        bucket = f"a bucket of {limit} requests" if limit is not None else "no X-RateLimit headers"
        note(f"no request waited for Jira's rate limit ({bucket})")
        return
    warn(rate_limit_diagnosis(facts, facts["stated"]))
