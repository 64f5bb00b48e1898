"""The JSON result (``conformance/schemas/result.schema.json``): the contract machines read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance import __version__
from conformance.report import compare, summary
from conformance.report.files import atomic_write_text
from conformance.report.terminal_text import no_surrogates

if TYPE_CHECKING:
    from conformance.check import CheckRecord
    from conformance.engine.result import RunResult
    from conformance.report.summary import FixItem

SCHEMA_ID = "visor-jira-conformance/result/v1"


def build(result: RunResult) -> dict[str, Any]:
    """The JSON result: what the run's one result says, as the schema lays it out, scrubbed of
    the run's secrets (once: the file and the hand-over both read it)."""
    identity = result.identity
    settings = result.settings
    creds = settings.credentials
    http = result.http
    decided = result.verdict
    data: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "tool": {"name": "visor-jira-conformance", "version": __version__},
        "target": {
            "url": result.url,
            "baseUrl": identity.base_url,
            "deploymentType": identity.deployment_type,
            "version": identity.version,
            "buildNumber": identity.build_number,
        },
        "bot": {
            "name": identity.bot_name or (creds.user if creds else None),
            "displayName": identity.bot_display_name,
            "authScheme": creds.scheme if creds else None,
        },
        "verdict": decided.verdict.value,
        "exit_code": int(decided.exit_code),
        "summary": result.counts,
        "results": [_result(record) for record in result.rows],
        "groups": [_group(item) for item in summary.plan(result).fixes],
        "http": {
            "requests": http.requests,
            "failed_logins": http.failed_logins,
            "mutating_requests": http.mutating_requests,
            "rate_limited": http.rate_limited,
            "rate_limit": http.rate_limit,
            "cut_too_slow": http.cut_too_slow,
            "session_reused": http.session_reused,
        },
        "run": {
            "started": result.started_at.isoformat(timespec="seconds"),
            "duration_s": round(result.duration_s, 3),
            "profile": result.profile.name,
            "profile_sha256": result.profile.sha256 or None,
            "mode": "write" if settings.write_project else "read-only",
            "proxy": result.proxy,
            "strict": settings.strict,
            "settings_sources": dict(settings.sources),
            "notes": list(result.notes),
        },
    }
    if decided.reasons:
        data["incomplete"] = _incomplete(result)
    since = compare.for_result(result)
    if since is not None:
        data["since_last_run"] = since.as_json()
    scrubbed: dict[str, Any] = result.redactor.scrub_obj(data)  # type: ignore[assignment]
    return scrubbed


def _incomplete(result: RunResult) -> dict[str, Any]:
    decided = result.verdict
    data: dict[str, Any] = {
        "reasons": [reason.value for reason in decided.reasons],
        "signal": decided.signal,
        "not_run": list(decided.not_run),
        "not_run_count": len(decided.not_run),
    }
    if decided.stopped_by:
        data["stopped_by"] = decided.stopped_by
    if result.deadline_finding is not None:
        data["finding"] = result.deadline_finding.as_json()
    return data


def _group(item: FixItem) -> dict[str, Any]:
    """One numbered fix: the change, and every check and project it fixes."""
    return {
        "number": item.number,
        "code": item.code,
        "severity": item.severity,
        "summary": item.summary,
        "remediation": item.remediation,
        "projects": item.projects,
        "checks": item.checks,
        "blocks": item.blocks,
    }


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


def write(result: dict[str, Any], path: Path) -> None:
    """What ``build`` made (scrubbed there), lone surrogates replaced (Jira text cut
    mid-emoji), written atomically."""
    text = json.dumps(result, indent=2, ensure_ascii=False)
    atomic_write_text(path, no_surrogates(text) + "\n")
