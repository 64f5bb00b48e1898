"""How a requirement check is declared and how it gives its judgement.

A check is a function in ``conformance/checks/`` (named ``test_*`` so that pytest collects it as
an item). It is declared with ``@requirement`` (a stable id, a title, the checklist step it
belongs to, and the checks it needs first), judges the evidence the engine fetched, and ends in
one of:

* returning normally: pass (or warn, if ``warn()`` was called);
* ``fail(diagnosis, ...)``: the requirement is not met. A diagnosis is a typed record of
  ``conformance/codes.py`` (what was observed, as the catalogue needs it); the check turns it
  into the finding the row carries, with the row's evidence;
* ``not_applicable(reason)``: skipped, e.g. the TLS check on a plain-http URL.

If a check listed in ``after`` did not pass, the engine reports this one as *blocked by* it
without running it, so that a customer sees the root cause once, not twenty times.

Nothing here imports pytest: the engine (``conformance.engine``) runs checks without it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from conformance.evidence import AnyEvidence, Exchange
from conformance.findings import Diagnosis, Finding, explain

if TYPE_CHECKING:
    from conformance.target import JiraTarget

# A probe the scheduler fetches for a check ahead of judging: called as ``probe(target)`` for an
# instance-wide check, ``probe(target, project)`` for a per-project one.
DeclaredProbe = Callable[..., AnyEvidence]
# What a check needs done once at the run's end, whatever happened (the write round trip's
# safety net): given the target and every row of the run.
Finisher = Callable[["JiraTarget", Sequence["CheckRecord"]], object]


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


AREAS = ("reachability", "api", "auth", "version", "permissions", "import", "write")


@dataclass(frozen=True)
class Requirement:
    """What a check is for, and what it needs: the checks before it (``after``), the probes the
    scheduler fetches for it ahead of judging (``probes``), and what must run once at the run's
    end (``finisher``). The engine reads these; it imports no check."""

    id: str
    title: str
    step: Step
    after: tuple[str, ...] = ()
    probes: tuple[DeclaredProbe, ...] = ()
    finisher: Finisher | None = None

    @property
    def area(self) -> str:
        """The checklist area, the id's first part; also the check's pytest marker."""
        return self.id.split(".", 1)[0]


@dataclass
class CheckRecord:
    """One row of the result: a check, for one project or for the whole instance."""

    requirement: Requirement
    project: str | None
    nodeid: str
    outcome: Outcome = Outcome.PASS
    findings: list[Finding] = field(default_factory=list)
    evidence: list[AnyEvidence] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    blocked_by: CheckRecord | None = None
    duration_s: float = 0.0

    @property
    def id(self) -> str:
        return self.requirement.id

    @property
    def label(self) -> str:
        return row_label(self.id, self.project)

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


def row_label(check_id: str, project: str | None) -> str:
    """How a row is named everywhere: ``permissions.granted[OPS]``, or the id alone."""
    return f"{check_id}[{project}]" if project else check_id


class CheckFailed(AssertionError):
    """Raised by ``fail``: the requirement is not met, and the findings say why."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        super().__init__("\n".join(f.one_line() for f in self.findings))


_current: contextvars.ContextVar[CheckRecord | None] = contextvars.ContextVar(
    "current_check", default=None
)


class NotApplicable(Exception):
    """Raised by ``not_applicable``: the requirement does not apply here (the row is skipped)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RunDeadline(Exception):
    """A check met the run's deadline (a request not sent, or cut short, because of it).

    Raised instead of a network finding: the deadline is one fact about the run, reported once
    as RUN_DEADLINE, not a firewall in front of each project. The row is ``incomplete``.
    ``kind`` is the HTTP layer's: ``deadline``, or ``interrupted`` (the run was stopped first).
    """

    def __init__(self, detail: str, kind: str = "deadline") -> None:
        super().__init__(detail)
        self.kind = kind


F = TypeVar("F", bound=Callable[..., Any])
REQUIREMENT_ATTRIBUTE = "__conformance_requirement__"


def requirement(
    id: str,
    title: str,
    step: Step,
    *,
    after: Sequence[str] = (),
    probes: Sequence[DeclaredProbe] = (),
    finisher: Finisher | None = None,
) -> Callable[[F], F]:
    """Declare a function as the check of one requirement (the engine finds it by this mark).

    ``probes`` are fetched ahead, concurrently, while earlier rows are judged; a probe a check
    calls without declaring it is fetched when the check asks (right, but one at a time).
    """
    req = Requirement(
        id=id,
        title=title,
        step=step,
        after=tuple(after),
        probes=tuple(probes),
        finisher=finisher,
    )
    if req.area not in AREAS:
        raise ValueError(f"check id {id!r} does not start with an area of {AREAS}")

    def mark(fn: F) -> F:
        setattr(fn, REQUIREMENT_ATTRIBUTE, req)
        return fn

    return mark


def requirement_of(fn: object) -> Requirement | None:
    req = getattr(fn, REQUIREMENT_ATTRIBUTE, None)
    return req if isinstance(req, Requirement) else None


def current() -> CheckRecord:
    record = _current.get()
    if record is None:
        raise RuntimeError("no conformance check is running")
    return record


def show(*evidence: AnyEvidence | None) -> None:
    """Attach evidence (facts and HTTP exchanges) to the running check's report row."""
    record = current()
    for ev in evidence:
        if ev is not None and ev not in record.evidence:
            record.evidence.append(ev)


def note(text: str) -> None:
    """A line of plain information for the report row (e.g. 'search endpoint: /search/jql')."""
    current().notes.append(text)


def found(item: Finding | Diagnosis) -> Finding:
    """The finding of a diagnosis (a finding given as one passes through)."""
    return item if isinstance(item, Finding) else explain(item)


def warn(*findings: Finding | Diagnosis, evidence: Sequence[AnyEvidence | None] = ()) -> None:
    """Record a warning; the check goes on and passes with outcome ``warn``."""
    record = current()
    show(*evidence)
    record.findings.extend(found(f) for f in findings)


def fail(*findings: Finding | Diagnosis, evidence: Sequence[AnyEvidence | None] = ()) -> NoReturn:
    """The requirement is not met: the row fails with these findings, showing ``evidence``."""
    show(*evidence)
    raise CheckFailed([found(f) for f in findings])


def not_applicable(reason: str) -> NoReturn:
    raise NotApplicable(reason)
