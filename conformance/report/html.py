"""The HTML report attached to support tickets: pytest-html, shaped into a readable verdict.

The page answers, top to bottom: is this Jira ready for Visor; the facts step 2 of the guide asks
for; what to fix first, in order; then one row per check that opens to its evidence, the redacted
HTTP exchanges and a ``curl`` command that repeats them.

Everything that comes from Jira (or from the customer's settings) is scrubbed of secrets and
escaped here, because pytest-html inserts test ids, summary entries, table cells and
Environment values as raw HTML (pytest-html#1024).
"""

from __future__ import annotations

import html
import json
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from conformance import __version__
from conformance.check import CheckRecord, Outcome
from conformance.report import summary
from conformance.settings import describe_settings

if TYPE_CHECKING:
    from conformance.evidence import Evidence, Exchange
    from conformance.findings import Finding
    from conformance.target import JiraTarget

CSS_PATH = Path(__file__).with_name("report.css")
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
# pytest-html outcomes whose rows start folded: the failing ones open by themselves.
COLLAPSED_BY_DEFAULT = ["passed", "skipped"]


def esc(value: object) -> str:
    """Text as HTML: every <, >, & and quote escaped."""
    return html.escape("" if value is None else str(value), quote=True)


def log_safe(markup: str) -> str:
    """Markup for pytest-html's log cell, which paints every line starting with "E" red (it takes
    them for assertion lines): a leading E is written as a character reference instead."""
    return markup.replace("\nE", "\n&#69;")


class HtmlReportPlugin:
    """Hooks into pytest-html: title, the summary sections, the table's columns and row details."""

    def __init__(self, target: JiraTarget, config: pytest.Config) -> None:
        self.target = target
        self.config = config

    def text(self, value: object) -> str:
        """Scrub, then escape: the secret is removed before escaping could disguise it."""
        return esc(self.target.redactor.scrub("" if value is None else str(value)))

    # -- page ---------------------------------------------------------------------------------

    def pytest_html_report_title(self, report: Any) -> None:
        # The template escapes the title itself; only the secret needs removing here.
        report.title = f"Jira readiness for Visor: {self.target.redactor.scrub(self.target.url)}"

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if self.config.getini("render_collapsed") == "passed":
            for plugin in self.config.pluginmanager.get_plugins():
                report = getattr(plugin, "_report", None)
                if report is not None and hasattr(report, "set_data"):
                    report.set_data("renderCollapsed", COLLAPSED_BY_DEFAULT)

    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str]
    ) -> None:
        page = render_summary(self.target)
        prefix.append(self.target.redactor.scrub(page))

    # -- table ----------------------------------------------------------------------------------

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        # pytest-html keys its filters on the first column's text, so that column stays (hidden
        # by the stylesheet) and ours follow it.
        cells[1:] = [
            '<th class="sortable" data-column-type="outcome">Outcome</th>',
            '<th class="sortable" data-column-type="testId">Check</th>',
            '<th class="sortable" data-column-type="project">Project</th>',
            '<th class="sortable" data-column-type="step">Checklist step</th>',
            '<th data-column-type="finding">Finding</th>',
            '<th class="sortable" data-column-type="duration">Time</th>',
        ]

    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        duration = cells[2] if len(cells) > 2 else '<td class="col-duration"></td>'
        record: CheckRecord | None = getattr(report, "conformance_record", None)
        if record is None:
            cells[1:] = [
                '<td class="col-outcome"></td>',
                f'<td class="col-testId">{self.text(report.nodeid)}</td>',
                '<td class="col-project"></td>',
                '<td class="col-step"></td>',
                '<td class="col-finding"></td>',
                duration,
            ]
            return
        cells[1:] = [
            f'<td class="col-outcome">{outcome_badge(record.outcome)}</td>',
            f'<td class="col-testId"><div class="vc-title">{self.text(record.requirement.title)}</div>'
            f'<div class="vc-id">{self.text(record.id)}</div></td>',
            f'<td class="col-project">{self.text(record.project or "")}</td>',
            f'<td class="col-step">{self.text(record.requirement.step.value)}</td>',
            f'<td class="col-finding">{self.target.redactor.scrub(finding_cell(self.target, record))}</td>',
            duration,
        ]

    def pytest_html_results_table_html(self, report: pytest.TestReport, data: list[str]) -> None:
        record: CheckRecord | None = getattr(report, "conformance_record", None)
        if record is None:
            return
        del data[:]
        data.append(log_safe(self.target.redactor.scrub(details_html(self.target, record))))


# -- the summary sections ---------------------------------------------------------------------


def render_summary(target: JiraTarget) -> str:
    """Verdict, facts, what to fix first and the warnings: the top of the page."""
    return "".join(
        [verdict_html(target), facts_html(target), fix_first_html(target), warnings_html(target)]
    )


def verdict_html(target: JiraTarget) -> str:
    ready = summary.verdict(target) == summary.READY
    counts = summary.counts(target)
    fixes = summary.fix_first(target)
    if ready:
        headline = "Ready for Visor"
        detail = "Every requirement of the Visor integration that was checked is met."
        if counts["warn"]:
            detail += f" {counts['warn']} warning{_s(counts['warn'])} below are worth a look."
    else:
        headline = "Not ready for Visor"
        detail = (
            f"{len(fixes)} problem{_s(len(fixes))} must be fixed before Visor can use this Jira. "
            "Fix them in the order below, then run the check again."
        )
    if target.settings.strict:
        strict = summary.strict_blockers(target)
        detail += (
            " Strict certification run: passed with no warning."
            if ready and not strict
            else f" Strict certification run: {strict} warning or blocked row{_s(strict)} also count."
        )
    chips = "".join(
        f'<span class="vc-chip vc-{esc(k)}"><b>{v}</b> {esc(OUTCOME_LABELS[k].lower())}</span>'
        for k, v in counts.items()
        if v
    )
    state = "ready" if ready else "not-ready"
    mark = "&#10003;" if ready else "&#10005;"
    return (
        f'<section class="vc-verdict vc-verdict-{state}" id="vc-verdict" data-verdict="{state}">'
        f'<div class="vc-verdict-mark" aria-hidden="true">{mark}</div>'
        f'<div class="vc-verdict-text"><div class="vc-verdict-word">{esc(headline)}</div>'
        f'<div class="vc-verdict-url">{esc(target.url)}</div>'
        f'<div class="vc-verdict-detail">{esc(detail)}</div>'
        f'<div class="vc-chips">{chips}</div></div></section>'
    )


def instance_facts(target: JiraTarget) -> list[tuple[str, str]]:
    """What step 2 of the guide asks the customer to hand over, never the secret."""
    ident = target.identity
    creds = target.settings.credentials
    version = ident.get("version")
    build = ident.get("buildNumber")
    if version:
        software = f"Jira {version}" + (f" (build {build})" if build else "")
    else:
        software = NOT_LEARNED
    bot_name = ident.get("botName") or (creds.user if creds else None)
    display = ident.get("botDisplayName")
    if display and bot_name and display != bot_name:
        bot = f"{display} ({bot_name})"
    else:
        bot = display or bot_name or "no user given (bearer token)"
    if creds is None:
        auth = "none"
    else:
        auth = f"{creds.scheme}: {'user and ' if creds.user else ''}{creds.secret_kind} from {creds.origin}"
    return [
        ("Jira instance URL", target.url),
        ("Base URL (Jira's own setting)", ident.get("baseUrl") or NOT_LEARNED),
        ("Software version", software),
        ("Deployment type", ident.get("deploymentType") or NOT_LEARNED),
        ("Bot account", bot),
        ("Authentication", auth),
    ]


def run_facts(target: JiraTarget) -> list[tuple[str, str]]:
    """When, from where and how the run looked at Jira (the vantage point matters for firewalls)."""
    settings = target.settings
    http = target.http.counters
    mode = (
        f"write round trip in {settings.write_project}" if settings.write_project else "read-only"
    )
    return [
        ("Started", target.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")),
        (
            "Duration",
            f"{target.elapsed_s():.1f} s, {http.requests} HTTP request{_s(http.requests)}",
        ),
        (
            "Vantage point",
            f"visor-jira-conformance {__version__}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}",
        ),
        ("Proxy", target.http.proxy.describe()),
        ("Profile", f"{target.profile.name} ({target.profile.source})"),
        ("Mode", mode + (", strict" if settings.strict else "")),
        ("Settings", "\n".join(describe_settings(settings))),
    ]


def facts_html(target: JiraTarget) -> str:
    def table(rows: list[tuple[str, str]]) -> str:
        body = "".join(
            f'<tr><th>{esc(k)}</th><td class="{"vc-unknown" if v == NOT_LEARNED else ""}">{esc(v)}</td></tr>'
            for k, v in rows
        )
        return f'<table class="vc-facts-table">{body}</table>'

    instance = instance_facts(target)
    ticket = "\n".join(f"{k}: {v}" for k, v in instance if k != "Authentication")
    return (
        '<section class="vc-facts" id="vc-facts">'
        '<div class="vc-card"><h2>Your Jira</h2>'
        '<p class="vc-hint">What step 2 of the Visor guide asks you to send us. '
        "It never contains the bot's password or token.</p>"
        f"{table(instance)}"
        '<details class="vc-copy"><summary>Copy for your Visor ticket</summary>'
        f"<pre>{esc(ticket)}</pre></details></div>"
        f'<div class="vc-card"><h2>This run</h2>{table(run_facts(target))}</div>'
        "</section>"
    )


def fix_first_html(target: JiraTarget) -> str:
    items = summary.fix_first(target)
    if not items:
        return ""
    entries = []
    for item in items:
        code = f'<code class="vc-code">{esc(item.code)}</code> ' if item.code else ""
        where = item.record.label
        blocks = (
            f" &middot; holds up {item.blocks} other check{_s(item.blocks)}" if item.blocks else ""
        )
        entries.append(
            f'<li class="vc-fix vc-fix-{esc(item.severity)}" id="{esc(item.anchor)}">'
            f'<div class="vc-fix-number">{item.number}</div><div class="vc-fix-body">'
            f'<div class="vc-fix-head">{code}{esc(item.summary)}</div>'
            f'<div class="vc-fix-remedy"><span class="vc-label">What to change</span>{esc(item.remediation)}</div>'
            f'<div class="vc-fix-meta">Found by <a href="#{esc(quote(item.record.nodeid, safe=""))}">'
            f"{esc(where)}</a>{blocks}</div></div></li>"
        )
    lead = (
        "Each item is a root cause. Later checks that depend on it were not run (blocked) and "
        "will run once it is fixed, so start with number 1."
    )
    return (
        '<section class="vc-fix-first" id="vc-fix-first"><h2>Fix these first</h2>'
        f'<p class="vc-hint">{esc(lead)}</p><ol class="vc-fix-list">{"".join(entries)}</ol></section>'
    )


def warnings_html(target: JiraTarget) -> str:
    found = summary.warnings(target)
    if not found:
        return ""
    entries = "".join(
        f'<li class="vc-fix vc-fix-warning"><div class="vc-fix-number">!</div><div class="vc-fix-body">'
        f'<div class="vc-fix-head"><code class="vc-code">{esc(f.code)}</code> {esc(f.summary)}</div>'
        f'<div class="vc-fix-remedy"><span class="vc-label">Advice</span>{esc(f.remediation)}</div>'
        f'<div class="vc-fix-meta">Found by {esc(record.label)}</div></div></li>'
        for record, f in found
    )
    return (
        '<section class="vc-warnings" id="vc-warnings"><h2>Warnings</h2>'
        '<p class="vc-hint">Visor works, but these are worth changing; a --jira-strict run '
        f'counts them as failures.</p><ul class="vc-fix-list">{entries}</ul></section>'
    )


# -- the table ---------------------------------------------------------------------------------


def outcome_badge(outcome: Outcome) -> str:
    value = outcome.value
    return f'<span class="vc-badge vc-{esc(value)}">{esc(OUTCOME_LABELS[value])}</span>'


def finding_cell(target: JiraTarget, record: CheckRecord) -> str:
    """The row's one-line explanation: the finding, the root cause it waits for, or a note."""
    if record.blocked_by is not None:
        root = record.root_cause()
        codes = ", ".join(f.code for f in root.findings)
        fix = summary.fix_for(target, record)
        pointer = f' &rarr; <a href="#{esc(fix.anchor)}">fix #{fix.number}</a>' if fix else ""
        return (
            f'<span class="vc-blocked-by">Blocked by <b>{esc(root.label)}</b>'
            f"{' (' + esc(codes) + ')' if codes else ''}{pointer}</span>"
        )
    if record.findings:
        return "<br>".join(
            f'<code class="vc-code">{esc(f.code)}</code> {esc(f.summary)}' for f in record.findings
        )
    if record.notes:
        return f'<span class="vc-note">{esc(record.notes[0])}</span>'
    return ""


def details_html(target: JiraTarget, record: CheckRecord) -> str:
    """The row's expansion: why, what to change, what was seen, and how to see it yourself."""
    parts: list[str] = ['<div class="vc-details">']
    if record.blocked_by is not None:
        root = record.root_cause()
        fix = summary.fix_for(target, record)
        see = f' See <a href="#{esc(fix.anchor)}">fix #{fix.number}</a>.' if fix else ""
        parts.append(
            f'<p class="vc-blocked-note">Not run: it needs <b>{esc(root.label)}</b> to pass first, '
            f"and that check {esc(root.outcome.value)}ed.{see}</p>"
        )
    parts.extend(finding_html(f) for f in record.findings)
    if record.notes and record.blocked_by is None:
        parts.append(
            '<ul class="vc-notes">' + "".join(f"<li>{esc(n)}</li>" for n in record.notes) + "</ul>"
        )
    parts.extend(evidence_html(ev) for ev in record.evidence if ev.facts)
    exchanges = record.exchanges()
    if exchanges:
        parts.append(
            f'<div class="vc-section-label">HTTP exchange{_s(len(exchanges))} '
            "(secrets and cookies removed)</div>"
        )
        parts.extend(exchange_html(exchange) for exchange in exchanges)
    parts.append("</div>")
    return "".join(parts)


def finding_html(f: Finding) -> str:
    links = "".join(
        f'<a class="vc-link" href="{esc(link)}" rel="noreferrer">{esc(link)}</a>'
        for link in f.links
    )
    return (
        f'<div class="vc-finding vc-finding-{esc(f.severity)}">'
        f'<div class="vc-finding-head"><code class="vc-code">{esc(f.code)}</code> {esc(f.summary)}</div>'
        f'<div class="vc-fix-remedy"><span class="vc-label">What to change</span>{esc(f.remediation)}</div>'
        f"{links}</div>"
    )


def evidence_html(ev: Evidence) -> str:
    facts = json.dumps(ev.facts, indent=2, default=str, ensure_ascii=False)
    state = "ok" if ev.ok else "problem"
    return (
        f'<details class="vc-evidence"><summary>Evidence <b>{esc(ev.probe)}</b> '
        f'<span class="vc-evidence-{state}">{esc("as expected" if ev.ok else ev.problem or "problem")}'
        f"</span></summary><pre>{esc(facts)}</pre></details>"
    )


def exchange_html(exchange: Exchange) -> str:
    if exchange.status is not None:
        status = f"{exchange.status} {exchange.reason}".strip()
        band = f"vc-http-{exchange.status // 100}xx"
    else:
        status, band = "no answer", "vc-http-none"
    who = (
        f"as {exchange.user or 'token'} ({exchange.auth_scheme})"
        if exchange.auth_scheme
        else "anonymous"
    )
    via = f", via proxy {exchange.proxy}" if exchange.proxy else ""
    headers = "".join(f"{k}: {v}\n" for k, v in exchange.headers.items())
    body = exchange.body_excerpt + ("\n… (truncated)" if exchange.body_truncated else "")
    parts = [
        '<details class="vc-exchange"><summary>'
        f'<span class="vc-method">{esc(exchange.method)}</span> '
        f'<span class="vc-url">{esc(exchange.url)}</span> '
        f'<span class="vc-status {band}">{esc(status)}</span> '
        f'<span class="vc-ms">{exchange.elapsed_ms:.0f} ms</span></summary>',
        f'<div class="vc-exchange-meta">Sent {esc(who)}{esc(via)}'
        + (f", attempt {exchange.attempt}" if exchange.attempt > 1 else "")
        + "</div>",
    ]
    if exchange.error:
        parts.append(f'<div class="vc-error-text">{esc(exchange.error)}</div>')
    if headers:
        parts.append(
            f'<div class="vc-section-label">Response headers</div><pre>{esc(headers)}</pre>'
        )
    if exchange.body_excerpt:
        parts.append(f'<div class="vc-section-label">Response body</div><pre>{esc(body)}</pre>')
    placeholder = {"basic": "JIRA_PASSWORD", "bearer": "JIRA_TOKEN"}.get(exchange.auth_scheme or "")
    hint = f" (set {placeholder} in your shell first)" if placeholder else ""
    parts.append(
        f'<div class="vc-section-label">Reproduce with curl{esc(hint)}</div>'
        f'<pre class="vc-curl">{esc(exchange.curl())}</pre></details>'
    )
    return "".join(parts)


def _s(count: int) -> str:
    return "" if count == 1 else "s"
