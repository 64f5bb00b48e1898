"""The JSON result (``conformance/schemas/result.schema.json``): the contract machines read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance import __version__
from conformance.findings import Finding
from conformance.report import compare, summary
from conformance.report.files import atomic_write_text
from conformance.report.terminal_text import no_surrogates
from conformance.secrets import Redactor

if TYPE_CHECKING:
    from conformance.check import CheckRecord
    from conformance.report.summary import FixItem
    from conformance.target import JiraTarget

SCHEMA_ID = "visor-jira-conformance/result/v1"


def build(target: JiraTarget) -> dict[str, Any]:
    decided = summary.run_verdict(target)
    identity = target.identity
    creds = target.settings.credentials
    http = target.http.counters
    result: dict[str, Any] = {
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
        "verdict": decided.verdict.value,
        "exit_code": int(decided.exit_code),
        "summary": summary.counts(target),
        "results": [_result(record) for record in target.records],
        "groups": [_group(item) for item in summary.plan(target).fixes],
        "http": {
            "requests": http.requests,
            "failed_logins": http.failed_logins,
            "mutating_requests": http.mutating_requests,
            "rate_limited": http.rate_limited,
            "rate_limit": http.rate_limit_json(),
            "cut_too_slow": http.too_slow,
            "session_reused": http.session_reused,
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
    if decided.reasons:
        result["incomplete"] = _incomplete(target)
    since = compare.for_target(target)
    if since is not None:
        result["since_last_run"] = since.as_json()
    return result


def _incomplete(target: JiraTarget) -> dict[str, Any]:
    decided = summary.run_verdict(target)
    data: dict[str, Any] = {
        "reasons": [reason.value for reason in decided.reasons],
        "signal": decided.signal,
        "not_run": list(decided.not_run),
        "not_run_count": len(decided.not_run),
    }
    state = target.run_state
    found = state.deadline_finding if state is not None else None
    if isinstance(found, Finding):
        data["finding"] = found.as_json()
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


def write(result: dict[str, Any], path: Path, redactor: Redactor) -> None:
    """Scrubbed, lone surrogates replaced (Jira text cut mid-emoji), written atomically."""
    text = json.dumps(redactor.scrub_obj(result), indent=2, ensure_ascii=False)
    atomic_write_text(path, no_surrogates(text) + "\n")
