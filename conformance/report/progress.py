"""What the run is doing while it works: a line per area as it completes, and a count of the
projects checked and issues imported during the long part.

One model (:class:`Progress`) is fed each judged row and says what that row completed; two
views print it. The customer command (:class:`CustomerProgress`) shows what ``flutter doctor``
and ``brew doctor`` show: ``✓``/``✗``/``!`` and counts per area, and on a terminal a live line
that counts projects and issues (plain lines at each tenth of the projects when stdout is not a
terminal). ``pytest --jira-url`` (:class:`PytestProgress`) keeps pytest's verbosity
conventions: ``-v`` is pytest's own line per row, the default groups rows by area (and the
projects in tenths), ``-q`` prints only the area lines, ``-qq`` nothing. Every line fits the
terminal's width.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

import pytest

from conformance.check import CheckRecord, Outcome
from conformance.report import groups
from conformance.report.summary import plural
from conformance.report.terminal import terminal_width, wrap
from conformance.report.terminal_text import terminal_safe

if TYPE_CHECKING:
    from conformance.engine.plan import PlannedCheck

# The areas in the words of someone who has never seen pytest (the customer command).
AREA_LABELS = {
    "reachability": "Network",
    "api": "REST API",
    "auth": "Bot account",
    "version": "Jira version",
    "permissions": "Project permissions",
    "import": "Test import",
    "write": "Write round trip",
}
IMPORT_PROBE = "search.import_sample"
LIVE_EVERY_S = 0.1  # a terminal's live line is redrawn at most this often
TENTHS = 10

Word = str | tuple[str, dict[str, bool]]


def status(record: CheckRecord, *, failed: bool) -> tuple[str, str, Word]:
    """pytest's (category, letter, word) for a row: our outcome words, so that pytest's summary
    line counts what the closing block counts ("35 passed, 1 warn, 5 blocked"). A row pytest
    reports as failed (a strict run's warning or blocked row too) is a failure."""
    outcome = record.outcome
    if failed or outcome is Outcome.FAIL:
        return "failed", "F", "FAILED"
    if outcome is Outcome.ERROR:
        return "failed", "E", ("ERROR", {"red": True})
    if outcome is Outcome.WARN:
        return "warn", "w", ("WARN", {"yellow": True})
    if outcome is Outcome.BLOCKED:
        return "blocked", "b", ("BLOCKED", {"yellow": True})
    if outcome is Outcome.INCOMPLETE:
        return "incomplete", "i", ("INCOMPLETE", {"yellow": True})
    if outcome is Outcome.SKIPPED:
        return "skipped", "s", "SKIPPED"
    return "passed", ".", "PASSED"


def verbosity(config: pytest.Config) -> int:
    return int(config.get_verbosity())


def grouped(config: pytest.Config) -> bool:
    """Rows grouped by area instead of a letter per row: pytest's default verbosity and -q."""
    return verbosity(config) in (0, -1)


def marks(encoding: str | None) -> dict[str, str]:
    """✓ ✗ ! where the output can carry them, plain words where it cannot (a cp1252 console)."""
    try:
        "\u2713\u2717".encode(encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return {"ok": "ok", "fail": "X", "warn": "!"}
    return {"ok": "\u2713", "fail": "\u2717", "warn": "!"}


@dataclass(frozen=True)
class Row:
    """A selected row, as progress sees it: its area, and its project if it is per project."""

    area: str
    project: str | None


def rows_of(planned: Sequence[PlannedCheck]) -> list[Row]:
    return [
        Row(p.spec.requirement.area, p.project if p.spec.per_project else None) for p in planned
    ]


@dataclass(frozen=True)
class AreaDone:
    """An area whose every selected row has been judged, with its outcomes."""

    area: str
    counts: dict[str, int]

    @property
    def state(self) -> str:
        """ "fail" (a failure or error), "warn" (a warning, a blocked or unfinished row) or "ok"."""
        if self.counts.get("fail") or self.counts.get("error"):
            return "fail"
        if self.counts.get("warn") or self.counts.get("blocked") or self.counts.get("incomplete"):
            return "warn"
        return "ok"

    def tally(self) -> str:
        return tally(self.counts)


def tally(counts: dict[str, int]) -> str:
    """``6 pass, 1 skipped``: the outcome words of the reports, in the reports' order."""
    ordered = [(o.value, counts.get(o.value, 0)) for o in Outcome]
    return ", ".join(f"{n:,} {word}" for word, n in ordered if n) or "nothing judged"


@dataclass
class Step:
    """What one judged row completed."""

    areas: list[AreaDone] = field(default_factory=list)
    project: str | None = None  # a project whose every row has now been judged


class Progress:
    """How far the run is: fed each judged row in turn."""

    def __init__(self, rows: Sequence[Row]) -> None:
        self.total = len(rows)
        self.done = 0
        self._left = Counter(row.area for row in rows)
        self._counts: dict[str, Counter[str]] = {area: Counter() for area in self._left}
        self.projects = list(dict.fromkeys(row.project for row in rows if row.project))
        self._project_left = Counter(row.project for row in rows if row.project)
        # Areas checked per project complete together with the last project: their lines wait
        # for it, so that the projects' lines are not cut in two.
        self._per_project = {row.area for row in rows if row.project}
        self._held: list[AreaDone] = []
        self.projects_done: list[str] = []
        self._project_counts: Counter[str] = Counter()
        self._imported: dict[str, int] = {}

    @property
    def issues(self) -> int:
        """Issues read by the test imports judged so far."""
        return sum(self._imported.values())

    def add(self, record: CheckRecord) -> Step:
        step = Step()
        area = record.requirement.area
        if self._left.get(area, 0) <= 0:
            return step  # not a row this progress was told about
        self.done += 1
        self._left[area] -= 1
        self._counts[area][record.outcome.value] += 1
        if self._left[area] == 0:
            done = AreaDone(area, dict(self._counts[area]))
            (self._held if area in self._per_project else step.areas).append(done)
        project = record.project
        if project is not None and self._project_left.get(project, 0) > 0:
            self._project_counts[record.outcome.value] += 1
            self._count_issues(record)
            self._project_left[project] -= 1
            if self._project_left[project] == 0:
                self.projects_done.append(project)
                step.project = project
        if self._held and len(self.projects_done) == len(self.projects):
            step.areas[:0], self._held = self._held, []
        return step

    def take_project_counts(self) -> dict[str, int]:
        """The outcomes of the project rows judged since the last call."""
        counts, self._project_counts = dict(self._project_counts), Counter()
        return counts

    def percent(self) -> int:
        return self.done * 100 // self.total if self.total else 100

    def at_tenth(self) -> bool:
        """Has a tenth of the projects (or the last of them) just been completed?"""
        done, total = len(self.projects_done), len(self.projects)
        every = max(1, -(-total // TENTHS))
        return done == total or done % every == 0

    def live(self) -> str:
        """``Projects: 37 of 53 checked, 12,345 issues imported``."""
        text = f"Projects: {len(self.projects_done):,} of {len(self.projects):,} checked"
        if self.issues:
            text += f", {self.issues:,} issues imported"
        return text

    def _count_issues(self, record: CheckRecord) -> None:
        for ev in record.evidence:
            if ev.probe == IMPORT_PROBE and record.project is not None:
                read = ev.facts.get("issues_read")
                if isinstance(read, int) and not isinstance(read, bool):
                    self._imported[record.project] = read


def fit(text: str, width: int, right: str = "") -> str:
    """One line no wider than ``width``: ``right`` (a percentage) at the right edge if it fits;
    a text too long is cut with an ellipsis (these lines only count, they explain nothing)."""
    room = width - len(right) - 1 if right else width
    if len(text) > room:
        text = text[: max(0, room - 1)] + "\u2026"
    return f"{text:<{room}} {right}" if right else text


class PytestProgress:
    """``pytest --jira-url``: a line per area (the -m marker's name) as it completes, and at
    the default verbosity a line per tenth of the projects, with the run's percentage."""

    def __init__(self, reporter: object, planned: Sequence[PlannedCheck]) -> None:
        self.reporter = reporter
        config: pytest.Config = reporter.config  # type: ignore[attr-defined]
        self.detailed = verbosity(config) == 0
        self.progress = Progress(rows_of(planned))
        self.marks = marks(getattr(getattr(reporter, "_tw", None), "encoding", None) or "utf-8")
        self._batch: list[str] = []
        self._started = False
        self.in_loop = False  # rows print nothing of their own while they are judged
        self.width = terminal_width()
        reporter.showfspath = False  # type: ignore[attr-defined]  # rows are grouped here

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self) -> Generator[None, object, object]:
        self.in_loop = True
        try:
            return (yield)
        finally:
            self.in_loop = False  # the short summary names each failed row with its word

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record: CheckRecord | None = getattr(report, "conformance_record", None)
        if record is None or report.when != "call":
            return
        step = self.progress.add(record)
        if step.project is None and not step.areas:
            return  # most rows: nothing to print
        width = self.width
        percent = f"[{self.progress.percent():3d}%]"
        if step.project is not None:
            self._batch.append(step.project)
            if self.detailed and self.progress.at_tenth():
                counts = self.progress.take_project_counts()
                span = groups.project_span(self._batch)
                total = len(self.progress.projects)
                text = (
                    f"{'projects':<13} {span} ({len(self.progress.projects_done)} of {total}): "
                    f"{tally(counts)}"
                )
                self._write(fit(terminal_safe(text), width, percent))
                self._batch = []
        for done in step.areas:
            text = f"{done.area:<13} {self.marks[done.state]} {done.tally()}"
            self._write(fit(text, width, percent))

    def _write(self, line: str) -> None:
        if not self._started:  # a blank line after "collected N items", as pytest leaves one
            self._started = True
            self.reporter.write_line("")  # type: ignore[attr-defined]
        self.reporter.write_line(line)  # type: ignore[attr-defined]


class CustomerProgress:
    """``visor-jira-check``: what it checks, then a line per area with ✓/✗/! and counts as it
    completes; on a terminal a live line counting projects and issues, in plain lines when
    stdout is not a terminal. The command calls it from its pytest hooks."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.marks = marks(getattr(stream, "encoding", None))
        self.progress: Progress | None = None
        self._live = ""
        self._drawn = 0.0

    def begin(self, what: str) -> None:
        """Before the first request: what is checked, and that Jira is being asked."""
        self._line(what)
        self._show_live("Asking Jira who it is and which projects the bot can see\u2026")

    def start(self, planned: Sequence[PlannedCheck]) -> None:
        """The rows selected, once collection is done."""
        self.progress = Progress(rows_of(planned))
        projects = len(self.progress.projects)
        what = plural(self.progress.total, "check")
        if projects:
            what += f" across {plural(projects, 'project')}"
        self._line(f"Running {what}")
        self._show_live("Checking\u2026")

    def judged(self, record: CheckRecord) -> None:
        progress = self.progress
        if progress is None:
            return
        step = progress.add(record)
        if step.project is not None and not self.tty and progress.at_tenth():
            self._line("  " + progress.live())
        for done in step.areas:
            label = AREA_LABELS.get(done.area, done.area)
            self._line(f"{self.marks[done.state]} {label:<20} {done.tally()}")
        if progress.done < progress.total:
            self._show_live(progress.live() if progress.projects_done else "Checking\u2026")

    def end(self) -> None:
        self._clear_live()

    # -- output ----------------------------------------------------------------------------------

    def _line(self, text: str) -> None:
        live = self._live
        self._clear_live()
        for line in wrap(terminal_safe(text), terminal_width(), "", "    "):
            self.stream.write(line + "\n")
        self.stream.flush()
        if live:
            self._live = live
            self._draw(live)

    def _show_live(self, text: str) -> None:
        if not self.tty:
            return
        self._live = text
        if time.monotonic() - self._drawn >= LIVE_EVERY_S:
            self._draw(text)

    def _draw(self, text: str) -> None:
        self._drawn = time.monotonic()
        self.stream.write("\r\x1b[K" + fit(terminal_safe(text), terminal_width() - 1))
        self.stream.flush()

    def _clear_live(self) -> None:
        if self.tty and self._live:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
        self._live = ""


__all__ = ["AREA_LABELS", "CustomerProgress", "Progress", "PytestProgress", "status"]
