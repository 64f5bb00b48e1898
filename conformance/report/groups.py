"""Root causes grouped by the change that fixes them.

Two hundred projects that share one permission scheme lacking the same grants are one fix, not
two hundred: a group is the same finding code, the same evidence (the missing grants, field or
setting; a finding may name its own ``group`` key in its evidence) and the same remediation once
the project key is masked (so the same scheme or screen, when the text names it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence

from conformance.check import CheckRecord
from conformance.findings import Finding

PROJECT_MARK = "\x00project\x00"
# Evidence keys that name the project itself rather than what is wrong in it.
_PROJECT_KEYS = frozenset({"project", "project_key", "projectKey", "key"})


def mask_project(text: str, project: str | None) -> str:
    """``text`` with every whole-word mention of the project key replaced by a mark."""
    if not project:
        return text
    return re.sub(rf"(?<![A-Za-z0-9_]){re.escape(project)}(?![A-Za-z0-9_])", PROJECT_MARK, text)


def fill_projects(text: str, projects: Sequence[str]) -> str:
    """A masked text with the mark replaced by the compact list of the group's projects."""
    span = project_span(projects)
    if len(projects) > 1:
        text = text.replace(PROJECT_MARK + "'s", f"each of these projects' ({span})")
    return text.replace(PROJECT_MARK, span)


def project_span(projects: Sequence[str]) -> str:
    """``OPS``; ``OPS, MKT and VIS``; ``P001 … P200, 200 projects`` (in the order given)."""
    keys = list(dict.fromkeys(projects))
    if len(keys) <= 1:
        return keys[0] if keys else ""
    if len(keys) <= 3:
        return ", ".join(keys[:-1]) + " and " + keys[-1]
    return f"{keys[0]} … {keys[-1]}, {len(keys)} projects"


def _evidence_key(found: Finding) -> str:
    evidence = found.evidence or {}
    if "group" in evidence:
        return json.dumps(evidence["group"], sort_keys=True, default=str)
    kept = {k: v for k, v in evidence.items() if k not in _PROJECT_KEYS}
    return json.dumps(kept, sort_keys=True, default=str)


def finding_key(record: CheckRecord, found: Finding) -> tuple[str, ...]:
    """What makes two root-cause findings the same change."""
    return (
        found.code,
        str(found.severity),
        _evidence_key(found),
        mask_project(found.summary, record.project),
        mask_project(found.remediation, record.project),
    )


def crash_key(record: CheckRecord, detail: str) -> tuple[str, ...]:
    """A check that crashed the same way in several projects is one report to support."""
    return ("", record.id, mask_project(detail, record.project))


def projects_of(records: Iterable[CheckRecord]) -> list[str]:
    return list(dict.fromkeys(r.project for r in records if r.project))


def checks_of(records: Iterable[CheckRecord]) -> list[str]:
    return list(dict.fromkeys(r.id for r in records))
