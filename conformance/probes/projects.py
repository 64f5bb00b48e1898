"""Project probes: which projects the bot can see."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

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


def visible_projects(target: JiraTarget) -> Evidence:
    """Every project the bot may browse: ``GET /project`` (a flat array on Data Center), else
    the paged ``/project/search`` that Cloud requires since April 2019.

    A refusal carries its classified finding (``api.finding_of``): a 401 after an accepted login
    is the login lost mid-run, Jira's error JSON is quoted; an answer of the wrong JSON types
    names the field (problem "schema").
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


def _searched_projects(target: JiraTarget, exchanges: list[Exchange]) -> Evidence:
    facts: VisibleFacts = {"endpoint": PROJECT_SEARCH}
    values: list[Any] = []
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
        if body.get("isLast") is not False or not chunk:
            break
    listed: VisibleFacts = {**facts, **_listing(values)}
    return Evidence("projects.visible", True, listed, exchanges)
