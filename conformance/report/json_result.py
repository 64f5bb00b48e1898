"""The JSON result (``conformance/schemas/result.schema.json``): the contract machines read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance import __version__
from conformance.report import summary
from conformance.secrets import Redactor

if TYPE_CHECKING:
    from conformance.check import CheckRecord
    from conformance.target import JiraTarget

SCHEMA_ID = "visor-jira-conformance/result/v1"


def build(target: JiraTarget) -> dict[str, Any]:
    identity = target.identity
    creds = target.settings.credentials
    http = target.http.counters
    return {
        "schema": SCHEMA_ID,
        "tool": {"name": "visor-jira-conformance", "version": __version__},
        "target": {
            "url": target.url,
            "baseUrl": identity.get("baseUrl"),
            "deploymentType": identity.get("deploymentType"),
            "version": identity.get("version"),
            "buildNumber": identity.get("buildNumber"),
        },
        "bot": {
            "name": identity.get("botName") or (creds.user if creds else None),
            "displayName": identity.get("botDisplayName"),
            "authScheme": creds.scheme if creds else None,
        },
        "verdict": summary.verdict(target),
        **_incomplete(target),
        "summary": summary.counts(target),
        "results": [_result(record) for record in target.records],
        "http": {
            "requests": http.requests,
            "failed_logins": http.failed_logins,
            "mutating_requests": http.mutating_requests,
            "rate_limited": http.rate_limited,
        },
        "run": {
            "started": target.started_at.isoformat(timespec="seconds"),
            "duration_s": round(target.elapsed_s(), 3),
            "profile": target.profile.name,
            "mode": "write" if target.settings.write_project else "read-only",
            "proxy": target.http.proxy.describe(),
            "strict": target.settings.strict,
            "settings_sources": dict(target.settings.sources),
        },
    }


def _incomplete(target: JiraTarget) -> dict[str, Any]:
    verdict = summary.run_verdict(target)
    data: dict[str, Any] = {"exit_code": int(verdict.exit_code)}
    if verdict.reasons:
        data["incomplete"] = {
            "reasons": [r.value for r in verdict.reasons],
            "signal": verdict.signal,
            "not_run": list(verdict.not_run[:200]),
            "not_run_count": len(verdict.not_run),
        }
        state = target.run_state
        if state is not None and state.deadline_finding is not None:
            data["incomplete"]["finding"] = state.deadline_finding.as_json()
    return data


def _result(record: CheckRecord) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": record.id,
        "title": record.requirement.title,
        "requirement": record.requirement.step.value,
        "project": record.project,
        "outcome": record.outcome.value,
        "duration_s": round(record.duration_s, 4),
        "findings": [f.as_json() for f in record.findings],
    }
    if record.blocked_by is not None:
        data["blocked_by"] = record.root_cause().label
    if record.notes:
        data["notes"] = list(record.notes)
    return data


def write(result: dict[str, Any], path: Path, redactor: Redactor) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(redactor.scrub_obj(result), indent=2, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
