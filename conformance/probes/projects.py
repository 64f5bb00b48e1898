"""Project probes: which projects the bot can see."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from conformance import http
from conformance.evidence import Evidence, Exchange, Problem, record_failure
from conformance.http import HttpResult
from conformance.probes import api

if TYPE_CHECKING:
    from conformance.target import JiraTarget

SEARCH_PAGE_SIZE = 50
MAX_SEARCH_PAGES = 200  # 10,000 projects
PROJECT = "/rest/api/2/project"
PROJECT_SEARCH = "/rest/api/2/project/search"


class Listing(TypedDict):
    keys: list[str]
    names: dict[str, str]  # key -> name


class VisibleFacts(api.AnswerFacts, total=False):
    endpoint: str
    keys: list[str]
    names: dict[str, str]
    # A limit of the suite's own stopped the listing (not Jira): what, and where.
    suite_limit: str
    cut_endpoint: str


def visible_projects(target: JiraTarget) -> Evidence[VisibleFacts]:
    """Every project the bot may browse: ``GET /project`` (a flat array on Data Center), else
    the paged ``/project/search`` that Cloud requires since April 2019.

    A refusal carries its diagnosis (``api.with_verdict``): a 401 after an accepted login is the
    login lost mid-run, Jira's error JSON is quoted; an answer of the wrong JSON types names the
    field (problem "schema").
    """
    result = target.http.get(PROJECT)
    facts: VisibleFacts = {"status": result.status, "endpoint": PROJECT}
    if result.failure is not None:
        record_failure(facts, result.failure)
        return Evidence(
            "projects.visible",
            False,
            facts,
            [result.exchange],
            failure=result.failure,
            problem=Problem.TRANSPORT,
        )
    if result.status in (404, 410):
        return _searched_projects(target, [result.exchange])
    if _cut_by_the_suite(result):
        # Larger than the suite reads in one answer: page where Jira can (DC 8+ and Cloud).
        paged = _searched_projects(target, [result.exchange], cut=True)
        if paged.ok or paged.problem is Problem.SUITE_LIMIT:
            return paged
        facts["suite_limit"] = (
            f"the list of projects is larger than the {_mib(http.MAX_BODY_BYTES)} the suite "
            f"reads of one answer, and {PROJECT_SEARCH} (which pages) answered "
            f"{paged.facts.get('status')}"
        )
        facts["cut_endpoint"] = PROJECT
        return Evidence(
            "projects.visible", False, facts, paged.exchanges, problem=Problem.SUITE_LIMIT
        )
    body = _judged_body(target, result, PROJECT, facts)
    if body is None:
        return Evidence(
            "projects.visible", False, facts, [result.exchange], problem=Problem.UNEXPECTED
        )
    if not isinstance(body, list):
        facts["schema"] = ("(the answer)", f"is a JSON {api.json_type(body)}, not an array")
        return Evidence("projects.visible", False, facts, [result.exchange], problem=Problem.SCHEMA)
    wrong = _listing_problem(body, "")
    if wrong is not None:
        facts["schema"] = wrong
        return Evidence("projects.visible", False, facts, [result.exchange], problem=Problem.SCHEMA)
    listed: VisibleFacts = {**facts, **_listing(body)}
    return Evidence("projects.visible", True, listed, [result.exchange])


def _judged_body(target: JiraTarget, result: HttpResult, endpoint: str, facts: VisibleFacts) -> Any:
    """The parsed JSON of an accepted answer, or None (with its finding recorded in facts)."""
    verdict = api.judged_result(target, result, endpoint)
    api.with_verdict(facts, verdict)
    if verdict.passed:
        return verdict.value
    facts["error"] = f"answered {result.status}: {verdict.detail}"
    return None


def _listing_problem(projects: list[Any], prefix: str) -> tuple[str, str] | None:
    for index, project in enumerate(projects):
        if not isinstance(project, dict):
            return f"{prefix}[{index}]", f"is a JSON {api.json_type(project)}, not an object"
        key = project.get("key")
        if not isinstance(key, str) or not key:
            return f"{prefix}[{index}].key", f"is {api.json_type(key)}, not a project key"
    return None


def _listing(projects: list[dict[str, Any]]) -> Listing:
    return {
        "keys": [p["key"] for p in projects],
        "names": {p["key"]: str(p.get("name", "")) for p in projects},
    }


def _cut_by_the_suite(result: HttpResult) -> bool:
    """The answer was cut at the suite's own body limit (``http.MAX_BODY_BYTES``)."""
    if result.failure is not None:
        return result.failure.kind == "too_large"
    return result.response is not None and len(result.response.content) >= http.MAX_BODY_BYTES


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"


def suite_limits() -> str:
    """The suite's own limits on a project list, in words."""
    return (
        f"{_mib(http.MAX_BODY_BYTES)} of one answer, and {MAX_SEARCH_PAGES * SEARCH_PAGE_SIZE:,} "
        "projects of a paged list"
    )


def _searched_projects(
    target: JiraTarget, exchanges: list[Exchange], *, cut: bool = False
) -> Evidence[VisibleFacts]:
    """Every visible project through the paged ``/project/search`` (``cut``: the flat list was
    too large for the suite, so a 404 here is reported as that, not as Jira's answer)."""
    facts: VisibleFacts = {"endpoint": PROJECT_SEARCH}
    values: list[Any] = []
    last = True
    for page in range(MAX_SEARCH_PAGES):
        params = {"startAt": page * SEARCH_PAGE_SIZE, "maxResults": SEARCH_PAGE_SIZE}
        result = target.http.get(PROJECT_SEARCH, params)
        exchanges.append(result.exchange)
        facts["status"] = result.status
        if result.failure is not None:
            record_failure(facts, result.failure)
            return Evidence(
                "projects.visible",
                False,
                facts,
                exchanges,
                failure=result.failure,
                problem=Problem.TRANSPORT,
            )
        if cut and result.status in (404, 405):
            return Evidence("projects.visible", False, facts, exchanges, problem=Problem.UNEXPECTED)
        body = _judged_body(target, result, PROJECT_SEARCH, facts)
        if body is None:
            return Evidence("projects.visible", False, facts, exchanges, problem=Problem.UNEXPECTED)
        chunk = body.get("values") if isinstance(body, dict) else None
        if not isinstance(chunk, list):
            facts["schema"] = ("values", f"is a JSON {api.json_type(chunk)}, not an array")
            return Evidence("projects.visible", False, facts, exchanges, problem=Problem.SCHEMA)
        wrong = _listing_problem(chunk, "values")
        if wrong is not None:
            facts["schema"] = wrong
            return Evidence("projects.visible", False, facts, exchanges, problem=Problem.SCHEMA)
        values += chunk
        last = body.get("isLast") is not False or not chunk
        if last:
            break
    if not last:  # the suite's page limit, not the end of Jira's list
        facts["suite_limit"] = (
            f"more than {MAX_SEARCH_PAGES * SEARCH_PAGE_SIZE:,} projects are visible to the bot, "
            f"and the suite lists at most {MAX_SEARCH_PAGES} pages of {SEARCH_PAGE_SIZE}"
        )
        facts["cut_endpoint"] = PROJECT_SEARCH
        return Evidence("projects.visible", False, facts, exchanges, problem=Problem.SUITE_LIMIT)
    listed: VisibleFacts = {**facts, **_listing(values)}
    return Evidence("projects.visible", True, listed, exchanges)
