"""Opt-in: can the bot write the way two-way sync does, and does it leave nothing behind?

Only with ``--jira-write-project KEY``: create an issue labelled ``visor-conformance``, read it
back, edit the profile's write fields, read back, comment, transition, and delete it. Without the
option this check is skipped ("not requested") and the run sends no mutating request at all.

The row is judged from the round trip's facts by ``judge`` (one function for a finished, an
interrupted and a deadline-stopped round trip), and corrected at the session's end by
``finish_write_round_trip`` once the safety net has tried again: the row says what is true when
the run ends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from conformance import codes
from conformance.check import (
    CheckRecord,
    Outcome,
    RunDeadline,
    Step,
    current,
    fail,
    not_applicable,
    requirement,
    show,
)
from conformance.evidence import Evidence
from conformance.findings import Finding, Severity, explain
from conformance.http import TIMEOUT_KINDS
from conformance.probes import permissions, write
from conformance.probes.write import PERMISSION, Leftover, RoundtripFacts, WriteRoundTrip
from conformance.target import JiraTarget

CHECK_ID = "write.roundtrip"


def finish_write_round_trip(target: JiraTarget, records: Iterable[CheckRecord]) -> list[Leftover]:
    """The check's finisher, run once at the run's end whatever happened: the safety net deletes
    what the round trips left, then the write.roundtrip rows say what is true now."""
    leftovers = write.cleanup_leftovers(target)
    for record in records:
        if record.id == CHECK_ID:
            after_cleanup(record, leftovers, granted=delete_granted(target, record.project))
    return leftovers


def delete_granted(target: JiraTarget, project: str | None) -> bool | None:
    """Whether the project's permission survey showed the bot holding Delete Issues (None: not
    surveyed), so that a refused delete is explained by what Jira answered, not by a grant the
    report lists as held."""
    grants = target.cached(permissions.project_permissions, project) if project else None
    granted = grants.facts.get("granted") if grants is not None and grants.ok else None
    return granted.get("DELETE_ISSUES") if granted is not None else None


@requirement(
    CHECK_ID,
    "Write round trip: create, edit, comment, transition and delete an issue, leaving none behind",
    Step.IMPORT,
    # A permission or field check that predicts the round trip's failure blocks it: one cause,
    # one row (the round trip's row belongs to the write project).
    after=["permissions.granted", "permissions.create_fields", "permissions.edit_fields"],
    finisher=finish_write_round_trip,
)
def test_write_roundtrip(jira: JiraTarget) -> None:
    project = jira.settings.write_project
    if project is None:
        not_applicable("not requested (add --jira-write-project KEY to run it)")
    machine = WriteRoundTrip(jira, project)
    granted = delete_granted(jira, project)
    try:
        evidence = machine.run()
    except KeyboardInterrupt:
        # pytest makes no report for an interrupted test: write the row here, then stop.
        _apply(current(), machine.evidence(), granted)
        raise
    judged = _apply(current(), evidence, granted)
    if judged.outcome is Outcome.FAIL:
        fail(*judged.findings)
    if judged.outcome is Outcome.INCOMPLETE:
        raise RunDeadline("the write round trip stopped at the run's deadline (its issue deleted)")


@dataclass
class Judgement:
    outcome: Outcome
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def judge(facts: Mapping[str, Any], granted: bool | None = None) -> Judgement:
    """The row for one round trip's facts: interrupted or stopped by the deadline is
    incomplete (a transient condition is no configuration fault); else pass or fail.
    ``granted``: whether the survey showed the bot holding Delete Issues."""
    notes = _notes(facts)
    incomplete = facts.get("incomplete")
    if incomplete:
        cleanup = _cleanup_findings(facts, granted)
        return Judgement(Outcome.FAIL if cleanup else Outcome.INCOMPLETE, cleanup, notes)
    found = _findings(facts, granted)
    return Judgement(Outcome.FAIL if found else Outcome.PASS, found, notes)


def _apply(
    record: CheckRecord, evidence: Evidence[RoundtripFacts], granted: bool | None
) -> Judgement:
    """Write the judgement on the row. An interrupted test gets no report from pytest, and a
    preset INCOMPLETE must survive the plugin (finish_write_round_trip restores it anyway)."""
    judged = judge(evidence.facts, granted)
    show(evidence)
    record.notes.extend(judged.notes)
    record.outcome = judged.outcome
    record.findings.extend(f for f in judged.findings if f not in record.findings)
    return judged


def _notes(facts: Mapping[str, Any]) -> list[str]:
    notes = [
        f"project {facts['project']}, issue type {facts['issue_type']} ({facts['deployment']})"
    ]
    for step in facts["steps"]:
        detail = f" ({step['detail']})" if step["detail"] else ""
        notes.append(f"{step['step']}: {step['outcome']}{detail}")
    for key in facts.get("foreign") or []:
        notes.append(
            f"Jira's answer to the create named {key}, which is not this run's issue: "
            "no request was sent to it"
        )
    cleanup = facts.get("cleanup") or {}
    done = ", ".join(cleanup.get("deleted") or []) or "nothing to delete"
    if facts.get("incomplete") == "interrupted":
        how = facts.get("signal") or "a signal"
        notes.append(f"interrupted ({how}): the run stopped after its cleanup ({done})")
    elif facts.get("incomplete") == "deadline":
        step = (facts.get("failure") or {}).get("step")
        notes.append(
            f"the run's deadline passed during step {step}: the round trip did not complete and "
            f"is not judged; cleanup ran all the same ({done})"
        )
    return notes


def _findings(facts: Mapping[str, Any], granted: bool | None) -> list[Finding]:
    project = facts["project"]
    found: list[Finding] = []
    failure = facts.get("failure")
    if isinstance(failure, dict):
        step = str(failure["step"])
        advice, permission, own = _fix(step, failure, facts)
        # The same facts, and the issue type (create) or the test issue's key (later steps).
        failed = codes.WriteCreateFailed if step == "create" else codes.WriteEditFailed
        named = facts["issue_type"] if step == "create" else facts["key"]
        found.append(
            explain(
                failed(
                    failure["status"],
                    str(failure["message"]),
                    step,
                    str(project),
                    permission,
                    own,
                    advice,
                    str(named),
                )
            )
        )
    for mismatch in facts.get("mismatches") or []:
        found.append(
            explain(
                codes.WriteReadbackMismatch(
                    key=str(facts["key"]),
                    step=str(mismatch["step"]),
                    difference=str(mismatch["difference"]),
                    project=str(project),
                )
            )
        )
    return found + _cleanup_findings(facts, granted)


def _cleanup_findings(facts: Mapping[str, Any], granted: bool | None) -> list[Finding]:
    cleanup = facts.get("cleanup") or {}
    if not isinstance(cleanup, dict) or cleanup.get("ok", True):
        return []
    project = str(facts["project"])
    if cleanup.get("maybe"):
        return [
            explain(
                codes.WriteMaybeLeft(
                    project=project,
                    create_answer=cleanup["create_answer"],
                    run_label=cleanup["run_label"],
                    waited_s=cleanup["waited_s"],
                    jql=cleanup["jql"],
                ),
                evidence={"jql": cleanup["jql"]},
            )
        ]
    hidden = cleanup.get("cause") == "issue_security" or "issue security" in str(
        cleanup.get("reason")
    )
    links = cleanup.get("links") or {}
    kinds = cleanup.get("kinds") or {}
    return [
        cleanup_finding(
            key,
            project,
            str(links.get(key) or cleanup.get("link") or ""),
            str(cleanup.get("reason")),
            kind=kinds.get(key) or ("hidden" if hidden else "refused"),
            granted=granted,
        )
        for key in cleanup.get("left") or [cleanup["key"]]
    ]


CLEANUP_CODES = frozenset({codes.WriteCleanupFailed.code, codes.WriteCleanupUnproven.code})


def cleanup_finding(
    key: str, project: str, link: str, reason: str, *, kind: str, granted: bool | None
) -> Finding:
    """The finding that names one issue the round trip could not prove deleted, with its key,
    by why it is still named (probes/write.LeftKind): gone from the bot's view or not proven
    gone (WRITE_CLEANUP_UNPROVEN); hidden by issue security, a delete answered in Jira's place,
    or a refusal, with the grant only when the survey showed the bot without Delete Issues
    (never when the report lists it as held)."""
    facts = {"key": key, "reason": reason, "link": link or key, "project": project}
    diagnosis: codes.WriteCleanupFailed | codes.WriteCleanupUnproven
    if kind in ("vanished", "unproven"):
        unproven: Literal["vanished", "unanswered"] = (
            "vanished" if kind == "vanished" else "unanswered"
        )
        diagnosis = codes.WriteCleanupUnproven(**facts, advice=unproven)
    else:
        advice: Literal["permission", "held", "unknown", "hidden", "blocked"]
        if kind in ("hidden", "blocked"):
            advice = "hidden" if kind == "hidden" else "blocked"
        else:
            advice = "unknown" if granted is None else "held" if granted else "permission"
        diagnosis = codes.WriteCleanupFailed(**facts, advice=advice)
    return explain(diagnosis, evidence={"key": key})


def _fix(
    step: str, failure: Mapping[str, Any], facts: Mapping[str, Any]
) -> tuple[codes.WriteAdvice, str, str]:
    """The catalogue's advice that fits the failed step, the permission it needs, and the run's
    own issue found by its label (what the advice texts name)."""
    status = failure.get("http_status")
    kind = failure.get("kind")
    deleted = ", ".join((facts.get("cleanup") or {}).get("deleted") or [])
    key: codes.WriteAdvice
    if kind == "foreign":
        key = "foreign"
    elif kind in TIMEOUT_KINDS:
        key = "timeout_found" if deleted else "timeout"
    elif kind:
        key = "broken"
    elif status in (401, 403) or (
        status == 400 and "permission" in str(failure["message"]).lower()
    ):
        key = "permission"
    elif status == 400:
        key = "refused"
    elif status == 404:
        key = "hidden" if step == "read" else "gone"
    else:
        key = "jira_failed"
    return key, PERMISSION.get(step, "the needed permission"), deleted or "none was found"


# -- the session's end ---------------------------------------------------------------------------


def after_cleanup(
    record: CheckRecord, leftovers: list[Leftover], granted: bool | None = None
) -> None:
    """Tell the write.roundtrip row what the session-end safety net did: an issue it deleted
    is no longer reported as left in Jira; one it could not delete fails the row, by key."""
    for left in leftovers:
        if left.project != record.project:
            continue
        named = [f for f in record.findings if _names(f, left.key)]
        if left.deleted:
            record.findings = [f for f in record.findings if f not in named]
            record.notes.append(
                f"cleanup: {left.key} was deleted later, by the session-end safety net: "
                "nothing is left in Jira"
            )
        else:
            if not named:
                kind = left.kind or ("hidden" if "issue security" in left.reason else "refused")
                record.findings.append(
                    cleanup_finding(
                        left.key, left.project, left.link, left.reason, kind=kind, granted=granted
                    )
                )
            record.notes.append(
                f"cleanup: the session-end safety net could not delete {left.key} either "
                f"({left.reason})"
            )
    record.outcome = _final_outcome(record)


def _names(found: Finding, key: str) -> bool:
    return found.code in CLEANUP_CODES and (found.evidence or {}).get("key") == key


def _final_outcome(record: CheckRecord) -> Outcome:
    """The row's outcome from what holds at the end: an issue left behind fails it; else an
    interrupted or deadline-stopped round trip is incomplete; else its own findings decide."""
    if any(f.code in CLEANUP_CODES | {codes.WriteMaybeLeft.code} for f in record.findings):
        return Outcome.FAIL
    facts = next((e.facts for e in record.evidence if e.probe == CHECK_ID), None)
    judged = (Outcome.PASS, Outcome.WARN, Outcome.FAIL, Outcome.INCOMPLETE)
    if facts is None or record.outcome not in judged:
        return record.outcome  # blocked, skipped, errored, or it never started
    if facts.get("incomplete"):
        return Outcome.INCOMPLETE
    if any(f.severity is Severity.ERROR for f in record.findings):
        return Outcome.FAIL
    return Outcome.WARN if record.findings else Outcome.PASS
