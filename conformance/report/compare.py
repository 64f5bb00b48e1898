"""Since the last run: what the customer fixed, what broke, and what still fails.

Support's daily loop is "the customer changes something and runs again". ``--jira-compare
PREVIOUS.json`` hands the earlier JSON result to the reports; this module compares its failing
rows with this run's, by check, project and finding code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from conformance.check import CheckRecord, Outcome
from conformance.settings import SettingsError

FAILING = ("fail", "error")
# Outcomes that say nothing about whether an earlier failure is gone.
NOT_JUDGED = ("blocked", "incomplete")
CRASH = "ERROR"  # the code of a failing row that left no finding (the check crashed)

if TYPE_CHECKING:
    from conformance.engine.result import RunResult
    from conformance.profile import Profile
    from conformance.settings import Comparison as EarlierRun


@dataclass(frozen=True)
class Change:
    """One failing (check, project, code) that appeared, went away, or stayed."""

    id: str
    project: str | None
    code: str
    title: str

    @property
    def label(self) -> str:
        return f"{self.id}[{self.project}]" if self.project else self.id

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "project": self.project, "code": self.code, "title": self.title}


@dataclass(frozen=True)
class Comparison:
    previous_started: str | None
    previous_tool_version: str | None
    fixed: list[Change] = field(default_factory=list)
    new: list[Change] = field(default_factory=list)
    still_failing: list[Change] = field(default_factory=list)
    not_rechecked: list[Change] = field(default_factory=list)  # blocked or not run this time

    def as_json(self) -> dict[str, Any]:
        return {
            "previous": {
                "started": self.previous_started,
                "tool_version": self.previous_tool_version,
            },
            "fixed": [c.as_json() for c in self.fixed],
            "new": [c.as_json() for c in self.new],
            "still_failing": [c.as_json() for c in self.still_failing],
            "not_rechecked": [c.as_json() for c in self.not_rechecked],
        }

    def tally(self) -> str:
        parts = [
            f"{len(self.fixed)} fixed",
            f"{len(self.new)} new",
            f"{len(self.still_failing)} still failing",
        ]
        if self.not_rechecked:
            parts.append(f"{len(self.not_rechecked)} not checked again")
        return ", ".join(parts)


def check_profile(earlier: EarlierRun | None, profile: Profile) -> None:
    """Refuse to compare with a run of another profile (a usage error, before anything is
    sent): what a profile requires decides which rows fail, so a change of profile would read
    as fixes or new failures in Jira that nobody made."""
    if earlier is None:
        return
    run = earlier.previous.get("run")
    run = run if isinstance(run, dict) else {}
    name, digest = run.get("profile"), run.get("profile_sha256")
    other_name = isinstance(name, str) and name != profile.name
    other_text = isinstance(digest, str) and digest and profile.sha256 and digest != profile.sha256
    if not (other_name or other_text):
        return
    what = f"the profile {name}" if isinstance(name, str) else "another profile"
    if not other_name:
        what += " as it was then (its text has changed since)"
    raise SettingsError(
        f"--jira-compare {str(earlier.path)!r} is a run with {what}, and this run checks "
        f"against {profile.name} ({profile.source}): a different profile requires different "
        "things, so the comparison would call rows fixed or new that no change in Jira made. "
        "Run again with the earlier run's profile (--jira-profile), or leave out --jira-compare"
    )


def _previous_failures(result: Any) -> dict[tuple[Any, ...], Change]:
    """The earlier run's failing (id, project, code); anything malformed is left out."""
    failing: dict[tuple[Any, ...], Change] = {}
    rows = result.get("results") if isinstance(result, dict) else None
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or row.get("outcome") not in FAILING:
            continue
        if row.get("blocked_by"):
            continue
        check, project = str(row.get("id", "")), row.get("project")
        project = str(project) if project is not None else None
        codes = [f.get("code") for f in row.get("findings") or [] if isinstance(f, dict)]
        for code in [str(c) for c in codes if c] or [CRASH]:
            key = (check, project, code)
            failing[key] = Change(check, project, code, str(row.get("title", check)))
    return failing


def _current_failures(records: Iterable[CheckRecord]) -> dict[tuple[Any, ...], Change]:
    failing: dict[tuple[Any, ...], Change] = {}
    for record in records:
        if record.outcome.value not in FAILING or record.blocked_by is not None:
            continue
        for code in [f.code for f in record.findings] or [CRASH]:
            key = (record.id, record.project, code)
            failing[key] = Change(record.id, record.project, code, record.requirement.title)
    return failing


def compare(
    previous: Any,
    current: Sequence[CheckRecord],
    *,
    started: str | None = None,
    tool_version: str | None = None,
) -> Comparison:
    """Fixed: failed before, and the row ran and no longer fails that way. New: fails now, not
    before. Still failing: both. Not rechecked: failed before, blocked or absent now."""
    before = _previous_failures(previous)
    now = _current_failures(current)
    judged_now = {
        (r.id, r.project): r.outcome for r in current if r.outcome.value not in NOT_JUDGED
    }
    fixed: list[Change] = []
    not_rechecked: list[Change] = []
    for key, change in before.items():
        if key in now:
            continue
        outcome = judged_now.get((key[0], key[1]))
        (fixed if outcome is not None and outcome is not Outcome.SKIPPED else not_rechecked).append(
            change
        )
    run = previous.get("run") if isinstance(previous, dict) else None
    tool = previous.get("tool") if isinstance(previous, dict) else None
    return Comparison(
        previous_started=started
        or (str(run.get("started")) if isinstance(run, dict) and run.get("started") else None),
        previous_tool_version=tool_version
        or (str(tool.get("version")) if isinstance(tool, dict) and tool.get("version") else None),
        fixed=fixed,
        new=[c for k, c in now.items() if k not in before],
        still_failing=[c for k, c in now.items() if k in before],
        not_rechecked=not_rechecked,
    )


@lru_cache(maxsize=4)
def for_result(result: RunResult) -> Comparison | None:
    """The comparison the run asked for with ``--jira-compare`` (``settings.compare``), if any:
    computed once per result, read by every report."""
    wanted = result.settings.compare
    if wanted is None:
        return None
    return compare(
        wanted.previous,
        result.rows,
        started=wanted.started,
        tool_version=wanted.tool_version,
    )
