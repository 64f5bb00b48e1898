"""What every report says the same way: verdict, counts, root causes."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from conformance.check import CheckRecord, Outcome
from conformance.findings import Severity

if TYPE_CHECKING:
    from conformance.target import JiraTarget

READY = "ready"
NOT_READY = "not-ready"


def verdict(target: JiraTarget) -> str:
    outcomes = {r.outcome for r in target.records}
    if not target.records or outcomes & {Outcome.FAIL, Outcome.ERROR}:
        return NOT_READY
    return READY


def counts(target: JiraTarget) -> dict[str, int]:
    counted = Counter(r.outcome.value for r in target.records)
    return {outcome.value: counted.get(outcome.value, 0) for outcome in Outcome}


def root_causes(target: JiraTarget) -> list[CheckRecord]:
    """The failing checks that are not themselves blocked, in the order they ran (layer order)."""
    roots = [
        r
        for r in target.records
        if r.outcome in (Outcome.FAIL, Outcome.ERROR) and r.blocked_by is None
    ]
    return sorted(
        roots, key=lambda r: 0 if any(f.severity == Severity.ERROR for f in r.findings) else 1
    )


def blocked_count(target: JiraTarget, root: CheckRecord) -> int:
    return sum(1 for r in target.records if r.blocked_by is not None and r.root_cause() is root)
