"""What every report says the same way: the verdict, the counts, and what to fix first.

The HTML page, the terminal and the customer command all read these, so that a customer who
reads "fix #2" in the terminal finds the same #2 on the page attached to the ticket. The fix list
is computed once per report (:func:`plan`), in one pass over the rows: rendering stays linear in
the number of rows however many projects fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from conformance.check import CheckRecord, Outcome
from conformance.engine.result import RunResult
from conformance.engine.verdict import IncompleteReason, RunVerdict, Verdict
from conformance.findings import Finding, Severity
from conformance.report import groups

READY = Verdict.READY.value
NOT_READY = Verdict.NOT_READY.value
INCOMPLETE = Verdict.INCOMPLETE.value
ROOT_OUTCOMES = (Outcome.FAIL, Outcome.ERROR)

CRASH_REMEDIATION = (
    "The check stopped on something it did not expect, so this is not necessarily a problem in "
    "your Jira: attach this report to a Visor support ticket."
)


@dataclass
class FixItem:
    """One numbered entry: a change to make, the rows it fixes, and what waits for it.

    ``summary`` and ``remediation`` are kept with the project key masked, and filled with the
    group's projects when read, so one item can stand for 200 projects that share a scheme.
    """

    number: int
    records: list[CheckRecord]
    code: str | None  # None when the check crashed and left no finding
    severity: str
    masked_summary: str
    masked_remediation: str
    first_summary: str = ""
    blocks: int = 0

    @property
    def record(self) -> CheckRecord:
        return self.records[0]

    @property
    def projects(self) -> list[str]:
        return groups.projects_of(self.records)

    @property
    def checks(self) -> list[str]:
        return groups.checks_of(self.records)

    @property
    def summary(self) -> str:
        """The first row's words as observed (a summary may quote Jira, so it is never rewritten
        with other projects' keys), then the other projects where the same was found."""
        projects = self.projects
        if len(projects) <= 1:
            return self.first_summary
        return f"{self.first_summary} The same in {groups.project_span(projects[1:])}."

    @property
    def remediation(self) -> str:
        return groups.fill_projects(self.masked_remediation, self.projects)

    @property
    def where(self) -> str:
        """Which check, in which projects: for people (titles, not ids)."""
        titles = list(dict.fromkeys(r.requirement.title for r in self.records))
        span = groups.project_span(self.projects)
        return "; ".join(titles) + (f" ({span})" if span else "")

    @property
    def anchor(self) -> str:
        return f"vc-fix-{self.number}"


@dataclass
class Plan:
    """The numbered fixes and the warnings of one run, and which fix each row waits for."""

    fixes: list[FixItem] = field(default_factory=list)
    warnings: list[FixItem] = field(default_factory=list)
    by_root: dict[int, FixItem] = field(default_factory=dict)
    _keys: dict[tuple[str, ...], FixItem] = field(default_factory=dict)
    _warning_keys: dict[tuple[str, ...], FixItem] = field(default_factory=dict)
    _seen: int = 0

    def update(self, records: Sequence[CheckRecord]) -> Plan:
        """Take in the rows added since the last call (rows are only ever appended)."""
        for record in records[self._seen :]:
            if record.blocked_by is None and record.outcome in ROOT_OUTCOMES:
                self._add_root(record)
            elif record.outcome is Outcome.WARN:
                for found in record.findings:
                    self._group_finding(self.warnings, self._warning_keys, record, found)
        self._seen = len(records)
        return self

    def count_blocked(self, records: Sequence[CheckRecord]) -> Plan:
        """How many blocked rows wait for each fix: one pass, each row walks its own chain."""
        for item in self.fixes:
            item.blocks = 0
        for record in records:
            found = self.by_root.get(id(record.root_cause())) if record.blocked_by else None
            if found is not None:
                found.blocks += 1
        return self

    def fix_for(self, record: CheckRecord) -> FixItem | None:
        """The fix a failing or blocked row traces back to."""
        return self.by_root.get(id(record.root_cause()))

    def _add_root(self, record: CheckRecord) -> None:
        if not record.findings:
            detail = "; ".join(record.notes) or "no detail was recorded"
            summary = f"The check {record.requirement.title!r} could not complete ({detail})."
            item = self._group(
                self.fixes,
                self._keys,
                groups.crash_key(record, detail),
                record,
                None,
                Severity.ERROR.value,
                summary,
                CRASH_REMEDIATION,
            )
            self.by_root.setdefault(id(record), item)
            return
        # Fixes are changes: a warning on a failing row (API_SEARCH_REMOVED, "nothing to change
        # in Jira") goes with the warnings, unless the row has nothing else to show.
        errors = [f for f in record.findings if f.severity is Severity.ERROR]
        for found in record.findings:
            if errors and found.severity is not Severity.ERROR:
                self._group_finding(self.warnings, self._warning_keys, record, found)
                continue
            item = self._group_finding(self.fixes, self._keys, record, found)
            self.by_root.setdefault(id(record), item)

    def _group_finding(
        self,
        items: list[FixItem],
        keys: dict[tuple[str, ...], FixItem],
        record: CheckRecord,
        found: Finding,
    ) -> FixItem:
        """A finding into the group of the change that fixes it (a new one if none matches)."""
        return self._group(
            items,
            keys,
            groups.finding_key(record, found),
            record,
            found.code,
            str(found.severity),
            found.summary,
            found.remediation,
        )

    @staticmethod
    def _group(
        items: list[FixItem],
        keys: dict[tuple[str, ...], FixItem],
        key: tuple[str, ...],
        record: CheckRecord,
        code: str | None,
        severity: str,
        summary: str,
        remediation: str,
    ) -> FixItem:
        item = keys.get(key)
        if item is None:
            item = FixItem(
                number=len(items) + 1,
                records=[],
                code=code,
                severity=severity,
                masked_summary=groups.mask_project(summary, record.project),
                masked_remediation=groups.mask_project(remediation, record.project),
                first_summary=summary,
            )
            keys[key] = item
            items.append(item)
        if record not in item.records:
            item.records.append(record)
        return item


@lru_cache(maxsize=4)
def plan(result: RunResult) -> Plan:
    """The fix list and warnings of a run: computed once per result, read by every report.

    The numbering follows the run's order (layer order: network, API, account, version,
    projects, import, write), so number 1 unblocks most, and the terminal's "fix #2" is the
    page's #2.
    """
    return Plan().update(result.rows).count_blocked(result.rows)


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 warning``, ``2 warnings``: one helper, so no report says "1 warning below are"."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


REASONS = {
    IncompleteReason.INTERRUPTED: "the run was interrupted",
    IncompleteReason.DEADLINE: "the run's deadline passed",
    IncompleteReason.SELECTION: "the selection (-k, -m, node ids, --deselect, --lf) left "
    "required checks out",
}


def reasons_text(decided: RunVerdict) -> str:
    """Why a run is incomplete, in one phrase every report uses: "the run was interrupted
    (SIGINT)", "the run stopped at the first failure (-x)"."""
    parts: list[str] = []
    for reason in decided.reasons:
        if reason is IncompleteReason.STOPPED:
            parts.append(stopped_words(decided.stopped_by or "-x"))
        elif reason is IncompleteReason.INTERRUPTED and decided.signal:
            parts.append(f"{REASONS[reason]} ({decided.signal})")
        else:
            parts.append(REASONS[reason])
    return "; ".join(parts)


def stopped_words(option: str) -> str:
    """``-x``: "the run stopped at the first failure (-x)"."""
    if option.startswith("--maxfail="):
        count = option.split("=", 1)[1]
        return f"the run stopped after {count} failures ({option})"
    return f"the run stopped at the first failure ({option})"


def not_run_text(result: RunResult) -> str:
    """ "89 required checks did not run to completion (1 cut short, 88 not started)": the number
    the verdict counts, reconciled with the "incomplete" rows the counts show."""
    decided = result.verdict
    missing = len(decided.not_run)
    cut = result.counts.get(Outcome.INCOMPLETE.value, 0)
    text = f"{plural(missing, 'required check')} did not run to completion"
    if cut and cut < missing:
        text += f" ({cut} cut short, {missing - cut} not started)"
    return text
