"""The verdict: ready only when every required check ran to completion and passed.

A run that was interrupted, hit its deadline, stopped at a failure (``-x``, ``--maxfail``,
``--sw``), or whose selection (``-k``, ``-m``, node ids, ``--deselect``, ``--lf``) left required
checks out is ``incomplete``, never ``ready``: a READY that is not true costs more than no answer. The exit code, the terminal's last line, the HTML banner,
JUnit and the JSON result all read this one decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

from conformance.check import CheckRecord, Outcome


class Verdict(StrEnum):
    READY = "ready"
    NOT_READY = "not-ready"
    INCOMPLETE = "incomplete"


class ExitCode(IntEnum):
    READY = 0
    NOT_READY = 1
    INCOMPLETE = 2
    CHECK_ERROR = 3
    USAGE = 4


class IncompleteReason(StrEnum):
    INTERRUPTED = "interrupted"
    DEADLINE = "deadline"
    SELECTION = "selection"
    STOPPED = "stopped"  # pytest stopped the run at a failure: -x, --maxfail, --sw


@dataclass(frozen=True)
class RunVerdict:
    verdict: Verdict
    exit_code: ExitCode
    reasons: tuple[IncompleteReason, ...] = ()
    not_run: tuple[str, ...] = ()  # labels of required checks that did not run to completion
    signal: str | None = None
    strict_blockers: int = 0
    stopped_by: str | None = None  # the option that stopped the run at a failure: "-x", ...

    @property
    def word(self) -> str:
        return {
            Verdict.READY: "READY",
            Verdict.NOT_READY: "NOT READY",
            Verdict.INCOMPLETE: "INCOMPLETE",
        }[self.verdict]


@dataclass
class RunState:
    """What happened to the run as a whole, beside its rows."""

    interrupted_by: str | None = None  # "SIGINT", "SIGTERM", "SIGHUP"
    deadline_passed: bool = False
    required: list[str] = field(default_factory=list)  # labels of the planned checks
    # The option that made pytest stop at a failure ("-x", "--maxfail=3", "--sw"), once it did.
    stopped_by: str | None = None


# Rows a strict (certification) run does not accept: a warning and a blocked check.
STRICT_BLOCKERS = frozenset({Outcome.WARN, Outcome.BLOCKED})


def row_fails(outcome: Outcome, *, strict: bool) -> bool:
    """A row that fails in a run's terms: fail and error, and in a strict run warn and blocked
    too. pytest's outcome of the row and its JUnit test case say the same."""
    return outcome in (Outcome.FAIL, Outcome.ERROR) or (strict and outcome in STRICT_BLOCKERS)


def decide(
    records: Sequence[CheckRecord],
    required: Iterable[str],
    *,
    strict: bool,
    interrupted_by: str | None = None,
    deadline_passed: bool = False,
    stopped_by: str | None = None,
) -> RunVerdict:
    """One verdict from the rows, the plan and what happened to the run."""
    done = {r.label for r in records if r.outcome is not Outcome.INCOMPLETE}
    not_run = tuple(label for label in required if label not in done)
    reasons: list[IncompleteReason] = []
    if interrupted_by is not None:
        reasons.append(IncompleteReason.INTERRUPTED)
    cut_short = deadline_passed or any(r.outcome is Outcome.INCOMPLETE for r in records)
    if cut_short and interrupted_by is None:
        reasons.append(IncompleteReason.DEADLINE)
    if not_run and stopped_by is not None and not reasons:
        reasons.append(IncompleteReason.STOPPED)
    if not_run and not reasons:
        reasons.append(IncompleteReason.SELECTION)
    outcomes = {r.outcome for r in records}
    blockers = sum(1 for r in records if r.outcome in STRICT_BLOCKERS)
    failed = Outcome.FAIL in outcomes or (strict and blockers > 0)
    if reasons:
        # A failure already seen stays a failure (in a strict run, a warning or a blocked row
        # too): what did not run cannot make it ready.
        verdict = Verdict.NOT_READY if failed else Verdict.INCOMPLETE
        code = ExitCode.NOT_READY if verdict is Verdict.NOT_READY else ExitCode.INCOMPLETE
        stopped = stopped_by if IncompleteReason.STOPPED in reasons else None
        return RunVerdict(verdict, code, tuple(reasons), not_run, interrupted_by, blockers, stopped)
    if not records:
        return RunVerdict(Verdict.INCOMPLETE, ExitCode.INCOMPLETE, (IncompleteReason.SELECTION,))
    if failed:
        return RunVerdict(Verdict.NOT_READY, ExitCode.NOT_READY, strict_blockers=blockers)
    if Outcome.ERROR in outcomes:
        return RunVerdict(Verdict.NOT_READY, ExitCode.CHECK_ERROR, strict_blockers=blockers)
    return RunVerdict(Verdict.READY, ExitCode.READY, strict_blockers=blockers)
