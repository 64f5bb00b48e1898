"""The HTML report attached to support tickets: pytest-html, shaped into a readable verdict.

The page answers, top to bottom: is this Jira ready for Visor; what to change first, one item per
change (however many projects it fixes); a project by area matrix for multi-project runs; the
warnings; the facts step 2 of the guide asks for; then one row per check. Failing, blocked and
warning rows open to their evidence, the redacted HTTP exchanges and a ``curl`` command that
repeats them; passing rows stay compact (their evidence is left out, so a 200-project run stays
a small attachment).

Markup comes from Jinja2 templates (``templates/``) with autoescape; every value is scrubbed of
the secret and of lone surrogates before it is escaped (pytest-html inserts our cells, summary
and log with ``innerHTML``: pytest-html#1024). The fix list is planned incrementally, once per
row, so rendering is linear in the number of rows.
"""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import pytest
from markupsafe import Markup

from conformance import __version__
from conformance.check import CheckRecord, Outcome
from conformance.engine.verdict import Verdict
from conformance.report import compare, summary
from conformance.report.summary import Plan, plural
from conformance.report.terminal_text import no_surrogates
from conformance.settings import describe_settings

if TYPE_CHECKING:
    from conformance.engine.result import RunResult
    from conformance.evidence import AnyEvidence, Exchange
    from conformance.secrets import Redactor
    from conformance.target import JiraTarget

CSS_PATH = Path(__file__).with_name("report.css")
TEMPLATES = Path(__file__).with_name("templates")
OUTCOME_LABELS = {
    "pass": "Pass",
    "warn": "Warning",
    "fail": "Fail",
    "blocked": "Blocked",
    "skipped": "Skipped",
    "error": "Error",
    "incomplete": "Incomplete",
}
NOT_LEARNED = "not learned (the check that reads it did not pass)"
# Worst first: the matrix cell of a project and area shows its worst row. A row that did not apply
# (skipped) says less than one that passed: a cell is "Skipped" only when no row of it ran.
SEVERITY_ORDER = ("error", "fail", "incomplete", "blocked", "warn", "pass", "skipped")
NOT_RUN_SHOWN = 6


def anchor(record: CheckRecord) -> str:
    """The id of a row's check cell, which the matrix and the fix list link to."""
    return "r-" + re.sub(r"[^A-Za-z0-9._-]+", "-", record.label).rstrip("-")


def environment(redactor: Redactor) -> jinja2.Environment:
    """Templates with autoescape; every value is scrubbed before it is escaped (the secret is
    removed before escaping could disguise it) and freed of lone surrogates."""

    def finalize(value: Any) -> Any:
        if isinstance(value, Markup):
            return value
        return no_surrogates(redactor.scrub("" if value is None else str(value)))

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        finalize=finalize,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["anchor"] = anchor
    env.globals.update(
        labels=OUTCOME_LABELS,
        plural=plural,
        not_learned=NOT_LEARNED,
        evidence_label=evidence_label,
        facts=lambda ev: json.dumps(ev.facts, indent=2, default=str, ensure_ascii=False),
    )
    return env


def evidence_label(ev: AnyEvidence, record: CheckRecord) -> str:
    """What a piece of evidence says about the row: "as expected" only on a row that passed."""
    if not ev.ok:
        return ev.problem or "problem"
    return "as expected" if record.outcome in (Outcome.PASS, Outcome.WARN) else "read"


def log_safe(markup: str) -> str:
    """Markup for pytest-html's log cell, which paints every line starting with "E" red (it takes
    them for assertion lines): a leading E is written as a character reference instead."""
    return markup.replace("\nE", "\n&#69;")


class Renderer:
    """One run's templates and plan: the rows are rendered as they come (from the rows judged so
    far), the summary once, from the run's result."""

    def __init__(self, records: list[CheckRecord], redactor: Redactor) -> None:
        self.records = records  # the run's rows so far (rows are only ever appended)
        self.redactor = redactor
        self.env = environment(redactor)
        self.cells = self.env.get_template("cells.html.j2").module
        self.details_module = self.env.get_template("details.html.j2").module
        self.plan = Plan()
        self._cells: dict[tuple[str, object, int], str] = {}

    def _final(self, markup: object) -> str:
        return no_surrogates(self.redactor.scrub(str(markup)))

    def _root_and_fix(self, record: CheckRecord) -> tuple[CheckRecord | None, Any]:
        self.plan.update(self.records)
        root = record.root_cause() if record.blocked_by is not None else None
        return root, self.plan.fix_for(record)

    def row_cells(self, record: CheckRecord) -> list[str]:
        root, fix = self._root_and_fix(record)
        cells: Any = self.cells
        plain = root is None and not record.findings
        plain = plain and (not record.notes or record.outcome is Outcome.PASS)
        return [
            self._shared(
                "outcome",
                record.outcome,
                lambda: cells.outcome(record.outcome.value, OUTCOME_LABELS),
            ),
            self._final(cells.check(record)),
            self._shared("project", record.project, lambda: cells.project(record)),
            self._shared("step", record.requirement.step, lambda: cells.step(record)),
            self._shared("finding", None, lambda: cells.finding(record, None, None))
            if plain
            else self._final(cells.finding(record, root, fix if root else None)),
        ]

    def _shared(self, cell: str, key: object, render: Callable[[], object]) -> str:
        """A cell that many rows share (an outcome, a project, a step, an empty finding),
        rendered once per run: a large run has 1,600 rows and the templates cost most of a row's
        time. Keyed by the redactor's version, so that a secret learned later is still masked."""
        slot = (cell, key, self.redactor.version)
        done = self._cells.get(slot)
        if done is None:
            done = self._cells[slot] = self._final(render())
        return done

    def details(self, record: CheckRecord) -> str:
        """The row's expansion; empty for a passing row (its notes and evidence stay in the JSON
        result only), and for a skipped or blocked row whose cell already says it all."""
        root, fix = self._root_and_fix(record)
        if record.outcome is Outcome.SKIPPED and len(record.notes) <= 1 and not record.findings:
            return ""
        if root is not None and not (record.notes or record.evidence or record.findings):
            return ""  # a blocked row: its cell already names the root cause and the fix
        if record.outcome is Outcome.PASS:
            return ""
        markup = self.details_module.details(  # type: ignore[attr-defined]
            record, root, fix if root else None, record.exchanges()
        )
        return log_safe(self._final(markup))

    def summary(self, result: RunResult) -> str:
        found = summary.plan(result)
        instance = instance_facts(result)
        context = {
            "verdict": verdict_view(result, found),
            "url": result.url,
            "counts": [(k, v) for k, v in result.counts.items() if v],
            "fixes": found.fixes,
            "warnings": found.warnings,
            "since": compare.for_result(result),
            "handoff": result.handoff,
            "matrix": matrix_view(result.rows),
            "strict": result.settings.strict,
            "instance": instance,
            "run": run_facts(result),
            "ticket": "\n".join(f"{k}: {v}" for k, v in instance if k != "Authentication"),
        }
        return self._final(self.env.get_template("summary.html.j2").render(context))


class HtmlReportPlugin:
    """Hooks into pytest-html: title, the summary sections, the table's columns and row details.

    pytest-html writes the page itself, after the JSON result (written atomically), so a failure
    there loses no other report; every string we hand it is free of lone surrogates, which would
    make its UTF-8 write fail.
    """

    def __init__(self, target: JiraTarget, config: pytest.Config) -> None:
        self.url = target.url
        self.redactor = target.redactor
        self.config = config
        self.renderer = Renderer(target.records, target.redactor)

    # -- page ---------------------------------------------------------------------------------

    def pytest_html_report_title(self, report: Any) -> None:
        # The template escapes the title itself; only the secret needs removing here.
        title = f"Jira readiness for Visor: {self.url}"
        report.title = no_surrogates(self.redactor.scrub(title))

    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str]
    ) -> None:
        from conformance.report.writers import RESULT_KEY

        result = self.config.stash.get(RESULT_KEY, None)
        if result is not None:  # the run's result is decided before pytest-html writes the page
            prefix.append(self.renderer.summary(result))

    # -- table ----------------------------------------------------------------------------------

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        # pytest-html keys its outcome filter on the first column, which stays (hidden by the
        # stylesheet); columns marked sortable are copied into each row's data, so only the
        # short ones are.
        cells[1:] = [
            '<th class="sortable" data-column-type="outcome">Outcome</th>',
            '<th data-column-type="check">Check</th>',
            '<th class="sortable" data-column-type="project">Project</th>',
            '<th data-column-type="step">Step</th>',
            '<th data-column-type="finding">Finding</th>',
            '<th class="sortable" data-column-type="duration">Time</th>',
        ]

    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        if report.when in ("setup", "teardown") and report.passed and not report.sections:
            # pytest-html leaves a passed setup or teardown out of the page, but only after it
            # has formatted its row, its data and its log: two thirds of its work per item. An
            # empty row ends that at once. One with captured output still goes through, since
            # pytest-html adds a teardown's output to the row of its call.
            del cells[:]
            return
        duration = cells[2] if len(cells) > 2 else '<td class="col-duration"></td>'
        record: CheckRecord | None = getattr(report, "conformance_record", None)
        if record is None:
            nodeid = no_surrogates(self.redactor.scrub(report.nodeid))
            cells[1:] = [
                '<td class="col-outcome"></td>',
                f'<td class="col-testId">{Markup.escape(nodeid)}</td>',
                '<td class="col-project"></td>',
                '<td class="col-step"></td>',
                '<td class="col-finding"></td>',
                duration,
            ]
            return
        cells[0] = cells[0].replace('class="col-result"', "class=col-result")
        cells[1:] = [
            *self.renderer.row_cells(record),
            duration.replace('"col-duration"', "col-duration"),
        ]

    def pytest_html_results_table_html(self, report: pytest.TestReport, data: list[str]) -> None:
        record: CheckRecord | None = getattr(report, "conformance_record", None)
        if record is None:
            return
        del data[:]
        details = self.renderer.details(record)
        if details:
            data.append(details)


# -- views: plain data for the templates -------------------------------------------------------


@dataclass(frozen=True)
class VerdictView:
    state: str
    mark: str
    headline: str
    detail: str
    not_run: tuple[str, ...]
    not_run_head: str


def verdict_view(result: RunResult, found: Plan) -> VerdictView:
    decided = result.verdict
    counts = result.counts
    fixes = found.fixes
    if decided.verdict is Verdict.READY:
        headline, mark = "Ready for Visor", "\u2713"
        detail = "Every requirement of the Visor integration that was checked is met."
        if counts["warn"]:
            detail += (
                f" {plural(counts['warn'], 'warning')} below "
                f"{'is' if counts['warn'] == 1 else 'are'} worth a look."
            )
    elif decided.verdict is Verdict.NOT_READY:
        headline, mark = "Not ready for Visor", "\u2715"
        failing = sum(len(item.records) for item in fixes)
        detail = (
            f"{plural(len(fixes), 'change')} must be made for this Jira to meet the integration profile "
            f"({plural(failing, 'failing check')}). Make them in the order below, then run the "
            "check again."
        )
        if not fixes and result.settings.strict:
            detail = "Nothing failed, but this strict certification run counts warnings and "
            detail += "blocked checks as failing."
    else:
        headline, mark = "Incomplete: no verdict yet", "?"
        detail = "The run did not finish, so it says nothing final about this Jira. Run it again."
    if decided.reasons:
        from conformance.report.terminal import REASONS

        why = "; ".join(REASONS[r] for r in decided.reasons)
        detail += f" Incomplete: {why}" + (f" ({decided.signal})." if decided.signal else ".")
    if result.settings.strict:
        strict = result.strict_blockers
        detail += (
            " Strict certification run: passed with no warning."
            if decided.verdict is Verdict.READY
            else f" Strict certification run: {plural(strict, 'warning or blocked row')} "
            f"{'counts' if strict == 1 else 'count'} as failing."
            if strict
            else ""
        )
    not_run = decided.not_run
    head = f"{plural(len(not_run), 'required check')} did not run: " + ", ".join(
        not_run[:NOT_RUN_SHOWN]
    )
    if len(not_run) > NOT_RUN_SHOWN:
        head += f" and {len(not_run) - NOT_RUN_SHOWN} more"
    state = {
        Verdict.READY: "ready",
        Verdict.NOT_READY: "not-ready",
        Verdict.INCOMPLETE: "incomplete",
    }[decided.verdict]
    return VerdictView(state, mark, headline, detail, not_run, head)


@dataclass(frozen=True)
class MatrixCell:
    outcome: str
    anchor: str


@dataclass(frozen=True)
class MatrixView:
    areas: list[str]
    rows: list[tuple[str, list[MatrixCell | None]]]
    hint: str


def matrix_view(records: Sequence[CheckRecord]) -> MatrixView | None:
    """Project by area, each cell the worst row of that project's checks in that area; the
    projects with a problem first. Only for runs that checked more than one project."""
    areas: dict[str, None] = {}
    worst: dict[str, dict[str, CheckRecord]] = {}
    rank = {outcome: i for i, outcome in enumerate(SEVERITY_ORDER)}
    for record in records:
        if not record.project:
            continue
        area = record.id.split(".", 1)[0]
        areas.setdefault(area, None)
        cells = worst.setdefault(record.project, {})
        held = cells.get(area)
        if held is None or rank[record.outcome.value] < rank[held.outcome.value]:
            cells[area] = record
    if len(worst) < 2:
        return None
    fine = ("pass", "skipped")

    def troubled(project: str) -> bool:
        return any(r.outcome.value not in fine for r in worst[project].values())

    ordered = sorted(worst, key=lambda p: 0 if troubled(p) else 1)
    rows = [
        (
            project,
            [
                MatrixCell(cell.outcome.value, anchor(cell)) if cell is not None else None
                for cell in (worst[project].get(area) for area in areas)
            ],
        )
        for project in ordered
    ]
    bad = sum(1 for p in worst if troubled(p))
    hint = (
        f"{plural(len(worst), 'project')} checked; every one passes."
        if not bad
        else f"{plural(len(worst), 'project')} checked; {bad} with a problem, listed first."
    )
    return MatrixView(list(areas), rows, hint)


def instance_facts(result: RunResult) -> list[tuple[str, str]]:
    """What step 2 of the guide asks the customer to hand over, never the secret."""
    ident = result.identity
    creds = result.settings.credentials
    version = ident.version
    build = ident.build_number
    if version:
        software = f"Jira {version}" + (f" (build {build})" if build else "")
    else:
        software = NOT_LEARNED
    bot_name = ident.bot_name or (creds.user if creds else None)
    display = ident.bot_display_name
    if display and bot_name and display != bot_name:
        bot = f"{display} ({bot_name})"
    else:
        bot = display or bot_name or "no user given (bearer token)"
    if creds is None:
        auth = "none"
    else:
        user = "user and " if creds.user else ""
        auth = f"{creds.scheme}: {user}{creds.secret_kind} from {creds.origin}"
    return [
        ("Jira instance URL", result.url),
        ("Base URL (Jira's own setting)", ident.base_url or NOT_LEARNED),
        ("Software version", software),
        ("Deployment type", ident.deployment_type or NOT_LEARNED),
        ("Bot account", bot),
        ("Authentication", auth),
    ]


def run_facts(result: RunResult) -> list[tuple[str, str]]:
    """When, from where and how the run looked at Jira (the vantage point matters for firewalls)."""
    settings = result.settings
    mode = (
        f"write round trip in {settings.write_project}" if settings.write_project else "read-only"
    )
    return [
        ("Started", result.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")),
        (
            "Duration",
            f"{result.duration_s:.1f} s, {plural(result.http.requests, 'HTTP request')}",
        ),
        (
            "Vantage point",
            f"visor-jira-conformance {__version__}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}",
        ),
        ("Proxy", result.proxy),
        ("Profile", f"{result.profile.name} ({result.profile.source})"),
        ("Mode", mode + (", strict" if settings.strict else "")),
        ("Settings", "\n".join(describe_settings(settings))),
    ]


# -- entry points the unit tests use --------------------------------------------------------------


def render_summary(result: RunResult) -> str:
    """Verdict, fixes, matrix, warnings and facts: the top of the page."""
    return Renderer(list(result.rows), result.redactor).summary(result)


def finding_cell(result: RunResult, record: CheckRecord) -> str:
    return Renderer(list(result.rows), result.redactor).row_cells(record)[-1]


def details_html(result: RunResult, record: CheckRecord) -> str:
    return Renderer(list(result.rows), result.redactor).details(record)


def exchange_html(exchange: Exchange, redactor: Redactor | None = None) -> str:
    from conformance.secrets import Redactor as _Redactor

    env = environment(redactor or _Redactor())
    markup = env.get_template("details.html.j2").module.exchange(exchange)  # type: ignore[attr-defined]
    return str(markup)
