"""Project probes: which projects the bot can see."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conformance.evidence import Evidence

if TYPE_CHECKING:
    from conformance.target import JiraTarget


def visible_projects(target: JiraTarget) -> Evidence:
    """``GET /rest/api/2/project``: a flat array on Data Center (and still on Cloud)."""
    result = target.http.get("/rest/api/2/project")
    facts: dict[str, Any] = {"status": result.status}
    if result.failure is not None:
        facts.update(failure=result.failure.kind, error=result.failure.detail)
        return Evidence("projects.visible", False, facts, [result.exchange], problem="transport")
    body, error = result.json()
    if result.status == 200 and isinstance(body, list):
        facts["keys"] = [
            p["key"] for p in body if isinstance(p, dict) and isinstance(p.get("key"), str)
        ]
        facts["names"] = {
            p["key"]: str(p.get("name", ""))
            for p in body
            if isinstance(p, dict) and isinstance(p.get("key"), str)
        }
        return Evidence("projects.visible", True, facts, [result.exchange])
    facts["error"] = error or f"unexpected answer {result.status}"
    return Evidence("projects.visible", False, facts, [result.exchange], problem="unexpected")
