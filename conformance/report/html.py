"""The HTML report attached to support tickets: pytest-html, shaped into a readable verdict.

Everything that comes from Jira (or from the customer's settings) is escaped here, because
pytest-html inserts test ids, summary entries and table cells as raw HTML (pytest-html#1024).
"""

from __future__ import annotations

import html
import json
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance import __version__
from conformance.check import CheckRecord
from conformance.report import summary

if TYPE_CHECKING:
    from conformance.evidence import Exchange
    from conformance.target import JiraTarget

CSS_PATH = Path(__file__).with_name("report.css")
OUTCOME_LABELS = {
    "pass": "Pass",
    "warn": "Warning",
    "fail": "Fail",
    "blocked": "Blocked",
    "skipped": "Skipped",
    "error": "Error",
}


def esc(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


class HtmlReportPlugin:
    def __init__(self, target: JiraTarget, config: pytest.Config) -> None:
        self.target = target
        self.config = config

    # -- page ---------------------------------------------------------------------------------

    def pytest_html_report_title(self, report: Any) -> None:
        report.title = f"Visor Jira readiness: {self.target.url}"

    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str]
    ) -> None:
        prefix.extend([self._verdict_banner(), self._facts_table(), self._fix_first()])

    def _verdict_banner(self) -> str:
        verdict = summary.verdict(self.target)
        counts = summary.counts(self.target)
        ready = verdict == summary.READY
        headline = "Ready for Visor" if ready else "Not ready for Visor"
        detail = (
            "Every requirement of the Visor integration is met."
            if ready
            else "Some requirements are not met. Fix the items below in order, then run the check again."
        )
        chips = "".join(
            f'<span class="vc-chip vc-{esc(k)}">{esc(OUTCOME_LABELS[k])}: {v}</span>'
            for k, v in counts.items()
            if v
        )
        return (
            f'<section class="vc-verdict vc-verdict-{"ready" if ready else "not-ready"}" id="vc-verdict">'
            f'<div class="vc-verdict-word">{esc(headline)}</div>'
            f'<div class="vc-verdict-detail">{esc(detail)}</div>'
            f'<div class="vc-chips">{chips}</div></section>'
        )

    def _facts_table(self) -> str:
        t = self.target
        ident = t.identity
        creds = t.settings.credentials
        version = ident.get("version")
        build = ident.get("buildNumber")
        rows = [
            ("Instance URL", t.url),
            ("Base URL (Jira's setting)", ident.get("baseUrl") or "not learned"),
            ("Software version", f"{version} (build {build})" if version else "not learned"),
            ("Deployment type", ident.get("deploymentType") or "not learned"),
            (
                "Bot account",
                ident.get("botDisplayName") or (creds.user if creds else None) or "not learned",
            ),
            ("Authentication", f"{creds.scheme} ({creds.secret_kind})" if creds else "none"),
            ("Profile", f"{t.profile.name} ({t.profile.source})"),
            (
                "Mode",
                f"write round trip in {t.settings.write_project}"
                if t.settings.write_project
                else "read-only",
            ),
            ("Run started", t.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")),
            ("Duration", f"{t.elapsed_s():.1f} s, {t.http.counters.requests} requests"),
            (
                "Vantage point",
                f"visor-jira-conformance {__version__} on {platform.system()} {platform.release()}",
            ),
            ("Proxy", t.http.proxy.describe()),
        ]
        body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
        return f'<section class="vc-facts"><h2>What was checked</h2><table class="vc-facts-table">{body}</table></section>'

    def _fix_first(self) -> str:
        roots = summary.root_causes(self.target)
        warnings = [r for r in self.target.records if r.outcome.value == "warn"]
        if not roots and not warnings:
            return ""
        items = []
        for record in roots:
            blocked = summary.blocked_count(self.target, record)
            for f in record.findings or []:
                items.append(
                    f'<li class="vc-fix vc-fix-{esc(f.severity)}"><div class="vc-fix-head">'
                    f'<code class="vc-code">{esc(f.code)}</code> {esc(f.summary)}</div>'
                    f'<div class="vc-fix-remedy"><strong>Fix:</strong> {esc(f.remediation)}</div>'
                    f'<div class="vc-fix-meta">{esc(record.label)}'
                    + (
                        f" · blocks {blocked} other check{'s' if blocked != 1 else ''}"
                        if blocked
                        else ""
                    )
                    + "</div></li>"
                )
            if not record.findings:
                items.append(
                    f'<li class="vc-fix vc-fix-error"><div class="vc-fix-head">{esc(record.label)}: '
                    f'the check could not complete</div><div class="vc-fix-remedy">{esc("; ".join(record.notes))}</div></li>'
                )
        warn_items = "".join(
            f'<li class="vc-fix vc-fix-warning"><div class="vc-fix-head"><code class="vc-code">{esc(f.code)}</code> '
            f'{esc(f.summary)}</div><div class="vc-fix-remedy"><strong>Advice:</strong> {esc(f.remediation)}</div></li>'
            for r in warnings
            for f in r.findings
        )
        html_parts = ['<section class="vc-fix-first">']
        if items:
            html_parts.append(
                f'<h2>Fix these first</h2><ol class="vc-fix-list">{"".join(items)}</ol>'
            )
        if warn_items:
            html_parts.append(f'<h2>Warnings</h2><ul class="vc-fix-list">{warn_items}</ul>')
        html_parts.append("</section>")
        return "".join(html_parts)

    # -- table ----------------------------------------------------------------------------------

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells[1] = '<th class="sortable" data-column-type="testId">Check</th>'
        cells.insert(1, '<th class="sortable" data-column-type="outcome">Outcome</th>')
        cells.insert(3, '<th class="sortable" data-column-type="project">Project</th>')
        cells.insert(4, '<th class="sortable" data-column-type="step">Checklist step</th>')
        cells.insert(5, '<th data-column-type="finding">Finding</th>')

    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        record: CheckRecord | None = getattr(report, "conformance_record", None)
        if record is None:
            cells[1] = f'<td class="col-testId">{esc(report.nodeid)}</td>'
            for index, cls in ((1, "outcome"), (3, "project"), (4, "step"), (5, "finding")):
                cells.insert(index, f'<td class="col-{cls}"></td>')
            return
        outcome = record.outcome.value
        finding = "; ".join(f"{f.code}: {f.summary}" for f in record.findings)
        if record.blocked_by is not None:
            finding = f"Blocked by {record.root_cause().label}"
        elif not finding and record.notes:
            finding = record.notes[0]
        cells[1] = (
            f'<td class="col-testId"><div class="vc-title">{esc(record.requirement.title)}</div>'
            f'<div class="vc-id">{esc(record.id)}</div></td>'
        )
        cells.insert(
            1,
            f'<td class="col-outcome"><span class="vc-badge vc-{esc(outcome)}">{esc(OUTCOME_LABELS[outcome])}</span></td>',
        )
        cells.insert(3, f'<td class="col-project">{esc(record.project or "")}</td>')
        cells.insert(4, f'<td class="col-step">{esc(record.requirement.step.value)}</td>')
        cells.insert(5, f'<td class="col-finding">{esc(finding)}</td>')

    def pytest_html_results_table_html(self, report: pytest.TestReport, data: list[str]) -> None:
        record: CheckRecord | None = getattr(report, "conformance_record", None)
        if record is None:
            return
        del data[:]
        data.append(details_html(record))


def details_html(record: CheckRecord) -> str:
    """The row's expansion: findings, notes, evidence facts, HTTP exchanges and curl commands."""
    parts: list[str] = ['<div class="vc-details">']
    if record.blocked_by is not None:
        root = record.root_cause()
        parts.append(
            f'<p class="vc-blocked">Not run: blocked by <strong>{esc(root.label)}</strong>, which must pass first.</p>'
        )
    for f in record.findings:
        parts.append(
            f'<div class="vc-finding vc-finding-{esc(f.severity)}"><div><code class="vc-code">{esc(f.code)}</code> '
            f"{esc(f.summary)}</div><div><strong>Fix:</strong> {esc(f.remediation)}</div>"
            + "".join(f'<div><a href="{esc(link)}">{esc(link)}</a></div>' for link in f.links)
            + "</div>"
        )
    if record.notes:
        parts.append(
            '<ul class="vc-notes">' + "".join(f"<li>{esc(n)}</li>" for n in record.notes) + "</ul>"
        )
    for ev in record.evidence:
        if ev.facts:
            facts = json.dumps(ev.facts, indent=2, default=str, ensure_ascii=False)
            parts.append(
                f'<details class="vc-facts-block"><summary>Evidence: {esc(ev.probe)}</summary><pre>{esc(facts)}</pre></details>'
            )
    for exchange in record.exchanges():
        parts.append(exchange_html(exchange))
    parts.append("</div>")
    return "".join(parts)


def exchange_html(exchange: Exchange) -> str:
    status = exchange.status if exchange.status is not None else "no answer"
    headers = "".join(f"{esc(k)}: {esc(v)}\n" for k, v in exchange.headers.items())
    body = esc(exchange.body_excerpt) + ("\n… (truncated)" if exchange.body_truncated else "")
    error = f'<div class="vc-error">{esc(exchange.error)}</div>' if exchange.error else ""
    return (
        '<details class="vc-exchange"><summary>'
        f'<span class="vc-method">{esc(exchange.method)}</span> {esc(exchange.url)} → '
        f'<span class="vc-status">{esc(status)}</span> <span class="vc-ms">{exchange.elapsed_ms:.0f} ms</span></summary>'
        f'{error}<pre class="vc-headers">{headers}</pre>'
        + (f'<pre class="vc-body">{body}</pre>' if exchange.body_excerpt else "")
        + f'<div class="vc-curl-label">Reproduce:</div><pre class="vc-curl">{esc(exchange.curl())}</pre></details>'
    )
