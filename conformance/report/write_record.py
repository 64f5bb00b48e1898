"""What the write round trip did in the customer's Jira, the way ``terraform apply`` says it.

A Jira administrator who signs off ``--jira-write-project`` wants each issue the run created,
what it changed on it and that it was deleted, with its key and link; and, when a delete failed,
what Jira answered. The terminal's closing block and the HTML page both show this record, built
here from the round trip's facts (``probes.write.RoundtripFacts``) as the run's end left them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from conformance.probes import facts_of
from conformance.probes.write import LABEL, RoundtripFacts

if TYPE_CHECKING:
    from conformance.check import CheckRecord
    from conformance.engine.result import RunResult

CHECK_ID = "write.roundtrip"
PROBE = "write.roundtrip"


@dataclass(frozen=True)
class Change:
    """One line of the record: ``+ created OPS-41``, ``~ changed``, ``- deleted`` or
    ``! not deleted`` (with what Jira answered)."""

    sign: str
    action: str
    key: str
    detail: str = ""
    link: str | None = None

    @property
    def state(self) -> str:
        return {"+": "created", "~": "changed", "-": "deleted"}.get(self.sign, "left")


@dataclass(frozen=True)
class WriteRecord:
    """The changes one round trip made in ``project``, and what is left in Jira."""

    project: str
    changes: list[Change] = field(default_factory=list)
    left: list[str] = field(default_factory=list)  # keys of issues still in Jira
    note: str = ""  # what happened when nothing was created

    @property
    def headline(self) -> str:
        if self.left:
            return (
                f"The write round trip in {self.project} left "
                f"{', '.join(self.left)} in Jira: delete "
                f"{'it' if len(self.left) == 1 else 'them'} by hand."
            )
        if not self.changes:
            return f"The write round trip in {self.project} changed nothing in Jira."
        return f"The write round trip in {self.project}: everything it created was deleted."


def write_records(result: RunResult) -> list[WriteRecord]:
    """One record per write round trip the run made (none without --jira-write-project)."""
    return [made for row in result.rows if (made := record_of(row)) is not None]


def record_of(row: CheckRecord) -> WriteRecord | None:
    if row.id != CHECK_ID:
        return None
    evidence = next((ev for ev in row.evidence if ev.probe == PROBE), None)
    if evidence is None:
        return None
    return from_facts(facts_of(evidence, RoundtripFacts), _later_deleted(row.notes))


def from_facts(facts: RoundtripFacts, deleted_later: Sequence[str] = ()) -> WriteRecord:
    """The record of one round trip; ``deleted_later``: keys the session-end safety net
    deleted after the round trip could not."""
    steps = facts["steps"]
    cleanup = facts["cleanup"]
    links = dict(cleanup.get("links") or {})
    key = facts["key"]
    link = facts["link"]
    changes: list[Change] = []
    created = next((s for s in steps if s["step"] == "create" and s["outcome"] == "ok"), None)
    if created is not None and key:
        what = f"{facts['issue_type']} labelled {LABEL}"
        changes.append(Change("+", "created", key, what, link))
    adopted = [k for k in cleanup.get("deleted") or [] if k != key]
    adopted += [k for k in cleanup.get("left") or [] if k != key and k not in adopted]
    for other in adopted:  # found by the run's label after an answer was lost
        changes.append(Change("+", "created", other, "found by the run's label", links.get(other)))
    edits = [_edit_words(s["step"], s["detail"]) for s in steps if s["outcome"] == "ok"]
    edits = [words for words in edits if words]
    if edits and key:
        changes.append(Change("~", "changed", key, "; ".join(edits)))
    left: list[str] = []
    for step in steps:
        if step["step"] != "delete":
            continue
        gone_key, _, reason = step["detail"].partition(": ")
        gone_key = gone_key or (key or "")
        if step["outcome"] == "ok" or gone_key in deleted_later:
            later = " (by the run's safety net)" if gone_key in deleted_later else ""
            changes.append(Change("-", "deleted", gone_key, later.strip(" ()")))
        else:
            changes.append(
                Change(
                    "!",
                    "not deleted",
                    gone_key,
                    f"Jira answered {reason}" if reason and reason[:1].isdigit() else reason,
                    links.get(gone_key) or cleanup.get("link"),
                )
            )
            left.append(gone_key)
    note = ""
    if created is None and not adopted:
        failure = facts["failure"]
        note = (
            f"Nothing was created: the create was refused ({failure['status']}: "
            f"{failure['message']})."
            if failure is not None and failure["step"] == "create"
            else "Nothing was created."
        )
    return WriteRecord(facts["project"], changes, left, note)


def _edit_words(step: str, detail: str) -> str:
    """A step that changed the issue, in the words of a change log."""
    if step == "edit":
        return f"edited {detail}" if detail else "edited"
    if step == "comment":
        return "added a comment"
    if step == "transition":
        target = re.sub(r"\s*\(id [^)]*\)$", "", detail)
        return f"moved to {target}" if target else "transitioned"
    return ""


def _later_deleted(notes: Sequence[str]) -> list[str]:
    """Keys the session-end safety net deleted (``test_write_roundtrip.after_cleanup`` notes)."""
    found = (re.match(r"cleanup: (\S+) was deleted later", note) for note in notes)
    return [m.group(1) for m in found if m]


def lines(record: WriteRecord) -> list[tuple[str, str]]:
    """The record as (text, continuation) pairs for a terminal: the text, and an indented
    line under it (a link), or ""."""
    width = max((len(c.action) for c in record.changes), default=0)
    out: list[tuple[str, str]] = []
    for change in record.changes:
        detail = f": {change.detail}" if change.detail else ""
        out.append(
            (f"{change.sign} {change.action:<{width}} {change.key}{detail}", change.link or "")
        )
    if record.note:
        out.append((record.note, ""))
    return out
