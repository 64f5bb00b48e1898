"""How a requirement check is declared and how it gives its judgement.

A check is a pytest test in ``conformance/checks/``. It is declared with ``@requirement`` (a
stable id, a title, the checklist step it belongs to, and the checks it needs first), reads
evidence from the ``jira`` fixture, and ends in one of:

* returning normally: pass (or warn, if ``warn()`` was called);
* ``fail(finding, ...)``: the requirement is not met;
* ``not_applicable(reason)``: skipped, e.g. the TLS check on a plain-http URL.

If a check listed in ``after`` did not pass, the plugin reports this one as *blocked by* it
without running it, so that a customer sees the root cause once, not twenty times.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NoReturn, TypeVar

import pytest

from conformance.evidence import Evidence, Exchange
from conformance.findings import Finding


class Step(StrEnum):
    """The customer guide's checklist items, which every report row is filed under."""

    REACH = "Overview: Visor can reach your Jira (network and firewall)"
    API = "Step 1: Ensure Bot User has API access"
    BOT = "Step 1: Create Bot User for Visor"
    PROJECTS = "Step 1: Ensure Bot User has access to projects you plan to work with in Visor"
    VERSION = "Step 2: Provide the Jira Instance URL and Software Version"
    IMPORT = "Step 3: Run a test import to ensure the integration was successful"


class Outcome(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    BLOCKED = "blocked"
    SKIPPED = "skipped"
    ERROR = "error"
    # Did not run to completion: the run was interrupted or hit its deadline first.
    INCOMPLETE = "incomplete"


BLOCKING_OUTCOMES = frozenset({Outcome.FAIL, Outcome.BLOCKED, Outcome.ERROR, Outcome.INCOMPLETE})


@dataclass(frozen=True)
class Requirement:
    id: str
    title: str
    step: Step
    after: tuple[str, ...] = ()


@dataclass
class CheckRecord:
    """One row of the result: a check, for one project or for the whole instance."""

    requirement: Requirement
    project: str | None
    nodeid: str
    outcome: Outcome = Outcome.PASS
    findings: list[Finding] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    blocked_by: CheckRecord | None = None
    duration_s: float = 0.0

    @property
    def id(self) -> str:
        return self.requirement.id

    @property
    def label(self) -> str:
        return f"{self.id}[{self.project}]" if self.project else self.id

    def root_cause(self) -> CheckRecord:
        record = self
        while record.blocked_by is not None:
            record = record.blocked_by
        return record

    def exchanges(self) -> list[Exchange]:
        seen: set[int] = set()
        ordered: list[Exchange] = []
        for ev in self.evidence:
            for exchange in ev.exchanges:
                if id(exchange) not in seen:
                    seen.add(id(exchange))
                    ordered.append(exchange)
        return ordered


class CheckFailed(AssertionError):
    """Raised by ``fail``: the requirement is not met, and the findings say why."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        super().__init__("\n".join(f.one_line() for f in self.findings))


_current: contextvars.ContextVar[CheckRecord | None] = contextvars.ContextVar(
    "current_check", default=None
)

F = TypeVar("F", bound=Callable[..., Any])


def requirement(id: str, title: str, step: Step, *, after: Sequence[str] = ()) -> Callable[[F], F]:
    """Declare a test function as the check of one requirement."""
    req = Requirement(id=id, title=title, step=step, after=tuple(after))

    def mark(fn: F) -> F:
        return pytest.mark.conformance(req)(fn)  # type: ignore[no-any-return]

    return mark


def current() -> CheckRecord:
    record = _current.get()
    if record is None:
        raise RuntimeError("no conformance check is running")
    return record


def show(*evidence: Evidence | None) -> None:
    """Attach evidence (facts and HTTP exchanges) to the running check's report row."""
    record = current()
    for ev in evidence:
        if ev is not None and ev not in record.evidence:
            record.evidence.append(ev)


def note(text: str) -> None:
    """A line of plain information for the report row (e.g. 'search endpoint: /search/jql')."""
    current().notes.append(text)


def warn(*findings: Finding, evidence: Sequence[Evidence | None] = ()) -> None:
    """Record a warning; the check goes on and passes with outcome ``warn``."""
    record = current()
    show(*evidence)
    record.findings.extend(findings)


def fail(*findings: Finding, evidence: Sequence[Evidence | None] = ()) -> NoReturn:
    show(*evidence)
    raise CheckFailed(findings)


def not_applicable(reason: str) -> NoReturn:
    pytest.skip(reason)
