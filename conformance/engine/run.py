"""Judging: one planned check at a time, against the evidence the scheduler fetched.

``Run`` is the state of one run — its plan, its rows, what happened to it (interrupted, past
its deadline). It is what the pytest plugin drives item by item, and what :func:`run_all` drives
without pytest; :meth:`Run.finish` runs the checks' finishers and returns the run's one
:class:`~conformance.engine.result.RunResult`.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from conformance.check import (
    BLOCKING_OUTCOMES,
    CheckFailed,
    CheckRecord,
    NotApplicable,
    Outcome,
    RunDeadline,
    _current,
)
from conformance.engine.plan import PlannedCheck, discover_checks, make_plan
from conformance.engine.result import RunResult, conclude
from conformance.engine.verdict import RunState
from conformance.signals import held_interrupts

if TYPE_CHECKING:
    from conformance.target import JiraTarget

DEADLINE_NOTE = "not run to completion: the run's deadline passed first"
STOPPED_NOTE = "not run to completion: the run was stopped first"


def passed_deadline(kind: str | None) -> bool:
    return kind == "deadline"


@dataclass
class Run:
    target: JiraTarget
    plan: list[PlannedCheck]
    state: RunState = field(default_factory=RunState)
    _by_label: dict[str, CheckRecord] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.state.required = [p.label for p in self.plan if p.required]

    @property
    def records(self) -> list[CheckRecord]:
        return self.target.records

    def record(self, check_id: str, project: str | None) -> CheckRecord | None:
        return self._by_label.get(f"{check_id}[{project}]" if project else check_id)

    # -- judging -----------------------------------------------------------------------------

    def judge(self, planned: PlannedCheck, nodeid: str = "") -> CheckRecord:
        """Run one check and record its row; a KeyboardInterrupt leaves the row incomplete."""
        req = planned.spec.requirement
        record = CheckRecord(
            requirement=req,
            project=planned.project,
            nodeid=nodeid or planned.label,
            outcome=Outcome.INCOMPLETE,
        )
        self.records.append(record)
        self._by_label[record.label] = record
        prior = self._blocking(planned)
        if prior is not None:
            record.blocked_by = prior
            if prior.root_cause().outcome is Outcome.INCOMPLETE:
                record.notes.append(f"not run: {prior.root_cause().label} did not complete")
            else:
                record.outcome = Outcome.BLOCKED
            return record
        if self.target.http.remaining_s() <= 0:
            self.state.deadline_passed = True
            record.notes.append(DEADLINE_NOTE)
            return record
        token = _current.set(record)
        started = time.monotonic()
        try:
            args = (self.target, planned.project) if planned.spec.per_project else (self.target,)
            planned.spec.function(*args)
            record.outcome = Outcome.WARN if record.findings else Outcome.PASS
        except CheckFailed as exc:
            record.findings.extend(f for f in exc.findings if f not in record.findings)
            record.outcome = Outcome.FAIL
            if _met_deadline(record):
                self._incomplete(record, deadline=True)
        except NotApplicable as exc:
            record.outcome = Outcome.SKIPPED
            record.notes.append(exc.reason)
        except RunDeadline as stopped:
            self._incomplete(record, deadline=passed_deadline(stopped.kind))
        except Exception as exc:  # the check itself broke: an error row, never a crash
            record.outcome = Outcome.ERROR
            record.notes.append(f"the check could not complete: {describe_exception(exc)}")
        finally:
            record.duration_s = time.monotonic() - started
            _current.reset(token)
        return record

    def _blocking(self, planned: PlannedCheck) -> CheckRecord | None:
        for dep in planned.spec.requirement.after:
            prior = self.record(dep, planned.project) or self.record(dep, None)
            if prior is not None and prior.outcome in BLOCKING_OUTCOMES:
                return prior
        return None

    def _incomplete(self, record: CheckRecord, *, deadline: bool) -> None:
        """A row cut short by the deadline, or by the run being stopped first."""
        if deadline:
            self.state.deadline_passed = True
        record.outcome = Outcome.INCOMPLETE
        record.findings.clear()
        record.notes.append(DEADLINE_NOTE if deadline else STOPPED_NOTE)

    # -- the end -------------------------------------------------------------------------------

    def interrupted(self, signal_name: str) -> None:
        if self.state.interrupted_by is None:
            self.state.interrupted_by = signal_name
        self.target.http.stop()

    def stopped(self, option: str) -> None:
        """pytest stopped the run at a failure (``-x``, ``--maxfail``, ``--sw``): the rows after
        it were not judged, and the verdict says why."""
        if self.state.stopped_by is None:
            self.state.stopped_by = option

    def finish(self) -> RunResult:
        """The run's end: each declared finisher runs once (the write round trip's safety net
        deletes what it left), then the result is decided, once. A Ctrl-C meanwhile is held:
        every row has been judged, and the cleanup is finished whole."""
        with held_interrupts():
            finishers = dict.fromkeys(
                p.spec.requirement.finisher for p in self.plan if p.spec.requirement.finisher
            )
            for finisher in finishers:
                if finisher is not None:
                    finisher(self.target, self.records)
            return conclude(self.target, self.state)


def _met_deadline(record: CheckRecord) -> bool:
    """Did the failure come from the deadline (an answer never sent or cut short by it)?"""
    return any(
        ev.failure is not None and passed_deadline(ev.failure.kind) for ev in record.evidence
    )


def describe_exception(exc: BaseException) -> str:
    """The exception and where it was raised, without frame locals (they can hold secrets)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if _is_check_code(f.filename)] or frames
    where = f" at {ours[-1].filename.rsplit('/', 1)[-1]}:{ours[-1].lineno}" if ours else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _is_check_code(filename: str) -> bool:
    """A frame of the checks, probes or their tests, not of the engine or a library."""
    path = filename.replace("\\", "/")
    return ("/conformance/" in path or "/tests/" in path) and "/conformance/engine/" not in path


def start(target: JiraTarget, projects: Sequence[str]) -> Run:
    """A run of every declared check over ``projects``."""
    return Run(
        target,
        make_plan(discover_checks(), projects, write_project=target.settings.write_project),
    )


def run_all(target: JiraTarget) -> RunResult:
    """The whole run without pytest: plan, fetch, judge every row, finish; its one result."""
    from conformance.engine import fetch

    run = start(target, fetch.discover_projects(target))
    try:
        fetch.prefetch(target, run.plan)
        for planned in run.plan:
            run.judge(planned)
    except KeyboardInterrupt:
        run.interrupted("SIGINT")
    except BaseException:
        run.finish()  # the safety net runs whatever stopped the run
        raise
    return run.finish()
