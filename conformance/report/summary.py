"""What every report says the same way: the verdict, the counts, and what to fix first.

The HTML page, the terminal and the customer command all read these, so that a customer who
reads "fix #2" in the terminal finds the same #2 on the page attached to the ticket.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from conformance.check import CheckRecord, Outcome
from conformance.engine.verdict import RunVerdict, decide
from conformance.findings import Finding, Severity

if TYPE_CHECKING:
    from conformance.target import JiraTarget

READY = "ready"
NOT_READY = "not-ready"

CRASH_REMEDIATION = (
    "The check stopped on something it did not expect, so this is not necessarily a problem in "
    "your Jira: attach this report to a Visor support ticket."
)


@dataclass(frozen=True)
class FixItem:
    """One entry of "Fix these first": a root cause, its remediation, and what it holds up."""

    number: int
    record: CheckRecord
    code: str | None  # None when the check crashed and left no finding
    severity: str
    summary: str
    remediation: str
    blocks: int

    @property
    def anchor(self) -> str:
        return f"vc-fix-{self.number}"


def run_verdict(target: JiraTarget) -> RunVerdict:
    """The run's one verdict (see conformance.engine.verdict), as every report states it."""
    state = target.run_state
    return decide(
        target.records,
        state.required if state is not None else [r.label for r in target.records],
        strict=target.settings.strict,
        interrupted_by=state.interrupted_by if state is not None else None,
        deadline_passed=state.deadline_passed if state is not None else False,
    )


def verdict(target: JiraTarget) -> str:
    return run_verdict(target).verdict.value


def counts(target: JiraTarget) -> dict[str, int]:
    counted = Counter(r.outcome.value for r in target.records)
    return {outcome.value: counted.get(outcome.value, 0) for outcome in Outcome}


def strict_blockers(target: JiraTarget) -> int:
    """Rows that a ``--jira-strict`` certification run does not accept: warnings and blocks."""
    return sum(1 for r in target.records if r.outcome in (Outcome.WARN, Outcome.BLOCKED))


def root_causes(target: JiraTarget) -> list[CheckRecord]:
    """The failing checks that are not themselves blocked, errors first, then in run order.

    Run order is layer order (network, API, account, version, projects, import, write), so the
    first item is the one whose fix unblocks the most.
    """
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


def fix_first(target: JiraTarget) -> list[FixItem]:
    """The numbered "Fix these first" list: one item per root-cause finding, in order."""
    items: list[FixItem] = []
    for record in root_causes(target):
        blocks = blocked_count(target, record)
        findings: list[Finding | None] = list(record.findings) or [None]
        for found in findings:
            if found is None:
                detail = "; ".join(record.notes) or "no detail was recorded"
                items.append(
                    FixItem(
                        number=len(items) + 1,
                        record=record,
                        code=None,
                        severity=Severity.ERROR.value,
                        summary=f"The check {record.label} could not complete ({detail}).",
                        remediation=CRASH_REMEDIATION,
                        blocks=blocks,
                    )
                )
                continue
            items.append(
                FixItem(
                    number=len(items) + 1,
                    record=record,
                    code=found.code,
                    severity=found.severity.value,
                    summary=found.summary,
                    remediation=found.remediation,
                    blocks=blocks,
                )
            )
    return items


def warnings(target: JiraTarget) -> list[tuple[CheckRecord, Finding]]:
    """Findings of checks that passed with a warning: advice, not a blocker (unless strict)."""
    return [
        (record, found)
        for record in target.records
        if record.outcome == Outcome.WARN
        for found in record.findings
    ]


def fix_for(target: JiraTarget, record: CheckRecord) -> FixItem | None:
    """The fix-first item a blocked (or failing) row traces back to."""
    root = record.root_cause()
    return next((item for item in fix_first(target) if item.record is root), None)
