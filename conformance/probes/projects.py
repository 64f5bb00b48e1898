"""Project probes: which projects the bot can see."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conformance.evidence import Evidence, Exchange

if TYPE_CHECKING:
    from conformance.target import JiraTarget

SEARCH_PAGE_SIZE = 50
MAX_SEARCH_PAGES = 200  # 10,000 projects


def visible_projects(target: JiraTarget) -> Evidence:
    """Every project the bot may browse: ``GET /project`` (a flat array on Data Center), else
    the paged ``/project/search`` that Cloud requires since April 2019."""
    result = target.http.get("/rest/api/2/project")
    facts: dict[str, Any] = {"status": result.status, "endpoint": "/rest/api/2/project"}
    if result.failure is not None:
        facts.update(failure=result.failure.kind, error=result.failure.detail)
        return Evidence("projects.visible", False, facts, [result.exchange], problem="transport")
    body, error = result.json()
    if result.status == 200 and isinstance(body, list):
        return Evidence("projects.visible", True, {**facts, **_listing(body)}, [result.exchange])
    if result.status in (404, 410):
        return _searched_projects(target, [result.exchange])
    facts["error"] = error or f"unexpected answer {result.status}"
    return Evidence("projects.visible", False, facts, [result.exchange], problem="unexpected")


def _listing(projects: list[Any]) -> dict[str, Any]:
    named = [p for p in projects if isinstance(p, dict) and isinstance(p.get("key"), str)]
    return {
        "keys": [p["key"] for p in named],
        "names": {p["key"]: str(p.get("name", "")) for p in named},
    }


def _searched_projects(target: JiraTarget, exchanges: list[Exchange]) -> Evidence:
    path = "/rest/api/2/project/search"
    facts: dict[str, Any] = {"endpoint": path}
    values: list[Any] = []
    for page in range(MAX_SEARCH_PAGES):
        params = {"startAt": page * SEARCH_PAGE_SIZE, "maxResults": SEARCH_PAGE_SIZE}
        result = target.http.get(path, params)
        exchanges.append(result.exchange)
        body, error = result.json()
        facts["status"] = result.status
        if result.failure is not None:
            facts.update(failure=result.failure.kind, error=result.failure.detail)
            return Evidence("projects.visible", False, facts, exchanges, problem="transport")
        if result.status != 200 or not isinstance(body, dict):
            facts["error"] = error or f"unexpected answer {result.status}"
            return Evidence("projects.visible", False, facts, exchanges, problem="unexpected")
        chunk = body.get("values") if isinstance(body.get("values"), list) else []
        values += chunk
        if body.get("isLast") is not False or not chunk:
            break
    return Evidence("projects.visible", True, {**facts, **_listing(values)}, exchanges)
