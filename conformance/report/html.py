"""The HTML report attached to support tickets: one self-contained page, written from the run's
one result when the run ends.

The page answers, top to bottom: is this Jira ready for Visor; what to change first, one item per
change (however many projects it fixes); what the write round trip did in Jira; a project by area
matrix for multi-project runs; the warnings; the facts step 2 of the guide asks for (and a block
to paste into the ticket); then the checks, with a filter whose counts are the banner's. Failing,
blocked and warning rows open to their evidence, the redacted HTTP exchanges and a ``curl``
command that repeats them; in a run of several projects the rows that passed (or did not apply)
per project are summarised in the matrix rather than listed, so the page stays an attachment
(under 1 MB at 203 projects, under 10 MB at 10,000: ``benchmarks/bench_report_size.py``); the
JSON result keeps every row.

Nothing is rendered while rows are judged: the page costs no work per row during the run, and
only the rows it shows at its end. Markup comes from Jinja2 templates (``templates/``) with
autoescape; every value is scrubbed of the secret and of lone surrogates before it is escaped.
The stylesheet is inlined and there is no script: the page renders offline, inside a ticket.
"""

from __future__ import annotations

import json
import platform
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from conformance import __version__
from conformance.check import CheckRecord, Outcome
from conformance.engine.verdict import Verdict
from conformance.report import compare, summary, write_record
from conformance.report.files import atomic_write_text
from conformance.report.summary import Plan, plural
from conformance.report.terminal_text import no_surrogates
from conformance.settings import describe_settings

if TYPE_CHECKING:
    from conformance.engine.result import RunResult
    from conformance.evidence import AnyEvidence, Exchange
    from conformance.secrets import Redactor

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


class CompiledTemplates(jinja2.BytecodeCache):
    """The templates' compiled code, shared by every :func:`environment` of this process.

    Each render has its own environment (its finalize scrubs with that run's redactor), and
    jinja compiles a template once per environment: about 75 ms of CPU for the four templates
    each time a page, a summary or a cell was rendered. The environments differ in nothing the
    compiled code depends on; jinja keys each entry by template and source checksum."""

    def __init__(self) -> None:
        self.codes: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self.codes.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.codes[bucket.key] = bucket.bytecode_to_string()


COMPILED = CompiledTemplates()


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
        bytecode_cache=COMPILED,
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


class Renderer:
    """One run's templates and fix plan, read from its one result: the summary at the top of the
    page, then the rows the page shows."""

    def __init__(self, result: RunResult) -> None:
        self.result = result
        self.redactor = result.redactor
        self.env = environment(self.redactor)
        self.cells = self.env.get_template("cells.html.j2").module
        self.details_module = self.env.get_template("details.html.j2").module
        self.plan = summary.plan(result)
        self.matrix = matrix_view(result.rows)
        self._cells: dict[tuple[str, object, int], str] = {}

    def _final(self, markup: object) -> str:
        return no_surrogates(self.redactor.scrub(str(markup)))

    def _root_and_fix(self, record: CheckRecord) -> tuple[CheckRecord | None, Any]:
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
            f"<td class=col-duration>{record.duration_s * 1000:.0f} ms</td>",
        ]

    def _shared(self, cell: str, key: object, render: Callable[[], object]) -> str:
        """A cell that many rows share (an outcome, a project, a step, an empty finding),
        rendered once per page. Keyed by the redactor's version, so that a secret learned
        later is still masked."""
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
            record,
            root,
            fix if root else None,
            record.exchanges(),
            rerun_command(self.result, record),
        )
        return self._final(markup)

    def row(self, record: CheckRecord) -> str:
        """One row of the table (and its expansion, open when the row failed)."""
        outcome = record.outcome.value
        cells = "".join(self.row_cells(record))
        more = self.details(record)
        if more:
            opened = " open" if record.outcome in (Outcome.FAIL, Outcome.ERROR) else ""
            more = (
                f"<tr class=vc-more><td colspan=6><details{opened}><summary>"
                f"{DETAILS_LABEL[outcome]}</summary>{more}</details></td></tr>"
            )
        return f"<tbody class=vc-o-{outcome}><tr>{cells}</tr>{more}</tbody>\n"

    def summary(self) -> str:
        result = self.result
        found = self.plan
        instance = instance_facts(result)
        context = {
            "verdict": verdict_view(result, found),
            "url": result.url,
            "counts": [(k, v) for k, v in result.counts.items() if v],
            "fixes": found.fixes,
            "warnings": found.warnings,
            "since": compare.for_result(result),
            "handoff": result.handoff,
            "writes": write_record.write_records(result),
            "matrix": self.matrix,
            "strict": result.settings.strict,
            "instance": instance,
            "run": run_facts(result),
            "ticket": ticket_text(result, found, instance),
        }
        return self._final(self.env.get_template("summary.html.j2").render(context))

    def page(self, extra_css: str = "") -> str:
        """The whole page: self-contained (the stylesheet inlined, no script, nothing fetched)."""
        result = self.result
        shown, summarised = shown_rows(result.rows, summarise=self.matrix is not None)
        rows = "".join(self.row(record) for record in shown)
        on_page: dict[str, int] = {}
        for record in shown:
            on_page[record.outcome.value] = on_page.get(record.outcome.value, 0) + 1
        filters = [
            RowFilter(outcome, on_page.get(outcome, 0), summarised.get(outcome, 0))
            for outcome, count in result.counts.items()
            if count
        ]
        title = f"Jira readiness for Visor: {result.url}"
        generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        context = {
            "title": title,
            "generated": generated,
            "version": __version__,
            "css": Markup(CSS_PATH.read_text(encoding="utf-8") + extra_css),
            "summary": Markup(self.summary()),
            "rows": Markup(self._final(rows)),
            "filters": filters,
            "row_count": len(result.rows),
            "duration": f"{result.duration_s:.1f} s",
            "summarised": sum(summarised.values()),
        }
        return self._final(self.env.get_template("page.html.j2").render(context))


DETAILS_LABEL = {
    "fail": "What was found, what to change, and the HTTP exchanges",
    "error": "What went wrong, and the HTTP exchanges",
    "warn": "The warning, the evidence and the HTTP exchanges",
    "blocked": "Why it did not run",
    "skipped": "Why it does not apply",
    "incomplete": "Why it did not complete",
    "pass": "Evidence",
}


@dataclass(frozen=True)
class RowFilter:
    """A checkbox of the table's filter: the outcome's rows on the page, and those of its rows
    the matrix stands for (the two add up to the banner's count)."""

    outcome: str
    shown: int
    summarised: int


def shown_rows(
    rows: Sequence[CheckRecord], *, summarise: bool
) -> tuple[list[CheckRecord], dict[str, int]]:
    """The rows the page lists, and per outcome how many it leaves to the matrix: in a run of
    several projects (``summarise``), a project's row that passed or did not apply is a cell of
    the matrix; every other row (the instance's, and each failing, erroring, blocked, warning or
    unfinished row) is listed whole."""
    if not summarise:
        return list(rows), {}
    shown: list[CheckRecord] = []
    summarised: dict[str, int] = {}
    for record in rows:
        if record.project and record.outcome in SUMMARISED:
            summarised[record.outcome.value] = summarised.get(record.outcome.value, 0) + 1
        else:
            shown.append(record)
    return shown, summarised


SUMMARISED = (Outcome.PASS, Outcome.SKIPPED)


def rerun_command(result: RunResult, record: CheckRecord) -> str:
    """The command that checks this row again (its node id selects it from any directory)."""
    module, sep, rest = record.nodeid.partition("::")
    if not sep:
        return ""  # a row judged without pytest has no node id
    nodeid = f"{Path(module).name}::{rest}"
    return f"pytest --jira-url {result.url} '{nodeid}'"


def ticket_text(
    result: RunResult, found: Plan, instance: Sequence[tuple[str, str]], shown: int = 3
) -> str:
    """What to paste into the Visor ticket: the verdict and the run's date first, then the first
    fixes, then the facts step 2 of the guide asks for (never the credentials)."""
    decided = result.verdict
    when = result.started_at.strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"Visor readiness check: {decided.word} ({when}, exit code {int(decided.exit_code)})"]
    counts = ", ".join(f"{n} {outcome}" for outcome, n in result.counts.items() if n)
    lines.append(f"Checks: {counts or 'none ran'}")
    if decided.reasons:
        lines.append(f"Incomplete: {summary.reasons_text(decided)}")
    if found.fixes:
        lines.append("First fixes:")
        for item in found.fixes[:shown]:
            code = f"[{item.code}] " if item.code else ""
            lines.append(f"{item.number}. {code}{item.summary}")
        if len(found.fixes) > shown:
            lines.append(f"... and {len(found.fixes) - shown} more in the attached report")
    lines += [f"{k}: {v}" for k, v in instance if k != "Authentication"]
    return "\n".join(lines)


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
        detail = "This run did not check everything, so it says nothing final about this Jira."
    if decided.reasons:
        detail += f" Incomplete: {summary.reasons_text(decided)}."
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
    head = f"{summary.not_run_text(result)}: " + ", ".join(not_run[:NOT_RUN_SHOWN])
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
    anchor: str  # the row's id on the page; "" for a row the cell stands for (passed, skipped)


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
                MatrixCell(cell.outcome.value, "" if cell.outcome in SUMMARISED else anchor(cell))
                if cell is not None
                else None
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


def write_report(result: RunResult, path: Path, extra_css: Sequence[Path] = ()) -> None:
    """Write the page atomically (a reader sees the old file or the whole new one)."""
    css = "".join("\n" + sheet.read_text(encoding="utf-8") for sheet in extra_css)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, Renderer(result).page(css))


def render_page(result: RunResult) -> str:
    return Renderer(result).page()


def render_summary(result: RunResult) -> str:
    """Verdict, fixes, matrix, warnings and facts: the top of the page."""
    return Renderer(result).summary()


def finding_cell(result: RunResult, record: CheckRecord) -> str:
    return Renderer(result).row_cells(record)[-2]


def details_html(result: RunResult, record: CheckRecord) -> str:
    return Renderer(result).details(record)


def exchange_html(exchange: Exchange, redactor: Redactor | None = None) -> str:
    from conformance.secrets import Redactor as _Redactor

    env = environment(redactor or _Redactor())
    markup = env.get_template("details.html.j2").module.exchange(exchange)  # type: ignore[attr-defined]
    return str(markup)
