"""The terminal's last words: the verdict, what to fix first, and where the reports are.

``pytest --jira-url`` ends with one verdict line; the customer command prints the longer
``verdict_lines`` block instead (same numbering as the HTML page's "Fix these first").
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from conformance.report import summary

if TYPE_CHECKING:
    from conformance.target import JiraTarget

# Set by a driver (the customer command) that prints the verdict block itself.
VERDICT_OWNED = pytest.StashKey[bool]()
WIDTH = 100
REPORT_KINDS = (("html", "HTML "), ("json", "JSON "), ("xml", "JUnit"))


def verdict_word(target: JiraTarget) -> str:
    return summary.run_verdict(target).word


def verdict_line(target: JiraTarget, paths: dict[str, Path]) -> str:
    shown = [str(p) for _kind, p in sorted(paths.items()) if p.exists()]
    return (
        f"visor-jira-conformance: {verdict_word(target)} for Visor: {target.url}"
        f"{incomplete_text(target)} | reports: {', '.join(shown) or 'none'}"
    )


def incomplete_text(target: JiraTarget) -> str:
    """Why a run has no verdict, e.g. ' (interrupted by SIGINT: 310 required checks did not run)'."""
    verdict = summary.run_verdict(target)
    if not verdict.reasons:
        return ""
    why = {
        "interrupted": f"interrupted by {verdict.signal or 'a signal'}",
        "deadline": f"the deadline of {target.settings.deadline_s:g} s passed",
        "selection": "the selection left checks out",
    }
    reasons = ", ".join(why[r.value] for r in verdict.reasons)
    count = len(verdict.not_run)
    return f" ({reasons}: {count} required check{'s' if count != 1 else ''} did not run)"


def verdict_lines(target: JiraTarget, paths: dict[str, Path]) -> list[str]:
    """The customer command's closing block: verdict, numbered fixes, warnings, report paths."""
    counts = summary.counts(target)
    tally = ", ".join(f"{n} {outcome}" for outcome, n in counts.items() if n)
    lines = [
        "",
        "=" * WIDTH,
        f"{verdict_word(target)} for Visor: {target.url}{incomplete_text(target)}  ({tally})",
    ]
    if target.settings.strict:
        strict = summary.strict_blockers(target)
        lines.append(
            "Strict run: no warning and no blocked check."
            if not strict
            else f"Strict run: {strict} warning{'s' if strict != 1 else ''} or blocked "
            f"check{'s' if strict != 1 else ''} make{'s' if strict == 1 else ''} it not ready."
        )
    fixes = summary.fix_first(target)
    if fixes:
        lines += ["", "Fix these first (in this order; later checks wait for them):"]
        for item in fixes:
            code = f"[{item.code}] " if item.code else ""
            lines += _wrapped(f"{item.number:>2}. ", code + item.summary)
            lines += _wrapped("    Fix: ", item.remediation)
            held = f"; holds up {item.blocks} other check(s)" if item.blocks else ""
            lines.append(f"    (found by {item.record.label}{held})")
    warnings = summary.warnings(target)
    if warnings:
        lines += ["", f"Warnings ({len(warnings)}; Visor works, but these are worth changing):"]
        for record, found in warnings:
            lines += _wrapped("  - ", f"[{found.code}] {found.summary} ({record.label})")
    existing = [(label, paths[kind]) for kind, label in REPORT_KINDS if kind in paths]
    existing = [(label, path) for label, path in existing if path.exists()]
    if existing:
        lines += ["", "Reports (attach the HTML report to your Visor ticket):"]
        lines += [f"  {label}  {path}" for label, path in existing]
    lines.append("=" * WIDTH)
    return [target.redactor.scrub(line) for line in lines]


def _wrapped(first: str, text: str) -> list[str]:
    return textwrap.wrap(
        text,
        width=WIDTH,
        initial_indent=first,
        subsequent_indent=" " * len(first),
        break_long_words=False,
        break_on_hyphens=False,
    ) or [first]


def write_last_line(config: pytest.Config, target: JiraTarget, paths: dict[str, Path]) -> None:
    if config.stash.get(VERDICT_OWNED, False):
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    line = target.redactor.scrub(verdict_line(target, paths))
    if reporter is not None:
        ready = summary.verdict(target) == summary.READY
        reporter.write_line(line, green=ready, red=not ready, bold=True)
