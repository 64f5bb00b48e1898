"""The terminal's last words: verdict, numbered grouped fixes, warnings, counts and report paths.

Both commands end with the same block (:func:`closing_block`): ``pytest --jira-url`` prints it
after pytest's own summary, whose "passed/skipped" counts are pytest's, not ours (a warning is
"passed" to pytest, a blocked check "skipped"); the block's ``checks:`` line uses our outcome
words and agrees with the HTML and JSON. Every line is scrubbed of the secret and made
terminal-safe, because most of it is text from Jira; it wraps to the terminal's width.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.engine.verdict import Verdict
from conformance.report import compare, groups, summary, write_record
from conformance.report.terminal_text import terminal_safe

if TYPE_CHECKING:
    from conformance.engine.result import RunResult
    from conformance.report.summary import FixItem

# Set by a driver (the customer command) that prints the verdict block itself.
VERDICT_OWNED = pytest.StashKey[bool]()
DEFAULT_WIDTH = 80
MIN_WIDTH = 40
REPORT_KINDS = (
    ("html", "HTML "),
    ("json", "JSON "),
    ("xml", "JUnit"),
    ("json_copy", "--jira-json"),  # named only when it could not be written
)
NOT_RUN_SHOWN = 6


def terminal_width() -> int:
    """``COLUMNS``, else the terminal's width, else 80 (a pipe or a CI log)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isascii() and columns.isdigit() and int(columns) > 0:
        return max(MIN_WIDTH, int(columns))
    return max(MIN_WIDTH, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)


def wrap(text: str, width: int, first: str = "", rest: str | None = None) -> list[str]:
    """Words to lines no wider than ``width``; a word too long for any line (a URL, a path)
    stands on a line of its own, whole, rather than being cut."""
    return textwrap.wrap(
        text,
        width=width,
        initial_indent=first,
        subsequent_indent=" " * len(first) if rest is None else rest,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [first.rstrip()]


def counts_line(result: RunResult) -> str:
    """``checks: 33 pass, 1 warn, 8 blocked``: our outcome words, the report's numbers."""
    tally = ", ".join(f"{n} {outcome}" for outcome, n in result.counts.items() if n)
    return f"checks: {tally or 'none ran'}"


def _fix_lines(item: FixItem, width: int) -> list[str]:
    code = f"[{item.code}] " if item.code else ""
    lines = wrap(terminal_safe(code + item.summary), width, f"{item.number:>2}. ")
    lines += wrap(terminal_safe(item.remediation), width, "    Fix: ", "    ")
    held = f"; holds up {summary.plural(item.blocks, 'other check')}" if item.blocks else ""
    lines += wrap(terminal_safe(f"(found by: {item.where}{held})"), width, "    ")
    return lines


def _incomplete_lines(result: RunResult, width: int) -> list[str]:
    decided = result.verdict
    if not decided.reasons:
        return []
    lines = wrap(terminal_safe(f"Incomplete: {summary.reasons_text(decided)}."), width)
    if decided.not_run:
        shown = ", ".join(decided.not_run[:NOT_RUN_SHOWN])
        more = len(decided.not_run) - NOT_RUN_SHOWN
        rest = f" and {more} more" if more > 0 else ""
        text = f"{summary.not_run_text(result)}: {shown}{rest}."
        lines += wrap(terminal_safe(text), width)
    return lines


def _compare_lines(result: RunResult, width: int) -> list[str]:
    found = compare.for_result(result)
    if found is None:
        return []
    when = found.previous_started or "date unknown"
    tool = found.previous_tool_version or "unknown"
    lines = [
        "",
        *wrap(terminal_safe(f"Since the last run ({when}, tool {tool}): {found.tally()}"), width),
    ]
    for word, changes in (
        ("fixed", found.fixed),
        ("new", found.new),
        ("still failing", found.still_failing),
    ):
        by_code: dict[tuple[str, str], list[str]] = {}
        for change in changes:
            by_code.setdefault((change.code, change.title), []).append(change.project or "")
        for (code, title), projects in by_code.items():
            span = groups.project_span([p for p in projects if p])
            where = f" ({span})" if span else ""
            lines += wrap(terminal_safe(f"{word}: [{code}] {title}{where}"), width, "  - ")
    return lines


def _handoff_lines(result: RunResult, width: int) -> list[str]:
    """Sealed for whom, where, and what to do with the file; or why nothing was sealed."""
    sealed = result.handoff
    if sealed is None:
        return []
    lines = ["", *wrap(terminal_safe(sealed.headline()), width)]
    if sealed.path is not None:
        lines += wrap(terminal_safe(str(sealed.path)), width, "  ")
        lines += wrap(terminal_safe(sealed.advice()), width, "  ")
    return lines


def _write_lines(result: RunResult, width: int) -> list[str]:
    """What the write round trip created, changed and deleted, terraform style."""
    lines: list[str] = []
    for record in write_record.write_records(result):
        lines += ["", *wrap(terminal_safe(record.headline), width)]
        for text, link in write_record.lines(record):
            lines += wrap(terminal_safe(text), width, "  ", "      ")
            if link:
                lines += wrap(terminal_safe(link), width, "      ")
    return lines


def _report_lines(paths: dict[str, Path], missing: dict[str, str] | None, width: int) -> list[str]:
    """The reports this run wrote, each path on a line of its own; a report left out on purpose
    (``-p no:html``) says so, and the advice names the report that was written."""
    written = [(kind, label, paths[kind]) for kind, label in REPORT_KINDS if kind in paths]
    written = [(kind, label, path) for kind, label, path in written if path.exists()]
    absent = [
        (label, (missing or {})[kind]) for kind, label in REPORT_KINDS if kind in (missing or {})
    ]
    if not written and not absent:
        return []
    kinds = {kind for kind, _label, _path in written}
    attach = "the HTML report" if "html" in kinds else "the JSON result"
    lines = ["", f"Reports (attach {attach} to your Visor ticket):"]
    for _kind, label, path in written:
        text = f"{label}  {path}"
        if len(text) + 2 <= width:
            lines.append(f"  {text}")
        else:  # a path too long for the line stands on a line of its own, whole
            lines += [f"  {label.strip()}", f"    {terminal_safe(str(path))}"]
    for label, why in absent:
        lines += wrap(terminal_safe(f"{label}  {why}"), width, "  ")
    return lines


def closing_block(
    result: RunResult,
    paths: dict[str, Path],
    width: int,
    missing: dict[str, str] | None = None,
) -> list[str]:
    """The closing block both commands print: verdict, fixes, warnings, counts, what the write
    round trip did, reports. ``missing``: reports left out on purpose, and why."""
    width = max(MIN_WIDTH, width)
    decided = result.verdict
    found = summary.plan(result)
    rule = "=" * width
    lines = ["", rule, *wrap(terminal_safe(f"{decided.word} for Visor: {result.url}"), width)]
    lines += wrap(counts_line(result), width)
    if result.settings.strict:
        strict = result.strict_blockers
        lines.append(
            "Strict certification: passed, no warning, no blocked check."
            if not strict
            else f"Strict certification: NOT passed, "
            f"{summary.plural(strict, 'warning or blocked check')}"
            f" {'counts' if strict == 1 else 'count'} as failing."
        )
    if decided.verdict is Verdict.INCOMPLETE or decided.reasons:
        lines += _incomplete_lines(result, width)
    if found.fixes:
        lines += ["", "Fix these first (in this order; later checks wait for them):"]
        for item in found.fixes:
            lines += _fix_lines(item, width)
    if found.warnings:
        lines += ["", f"Warnings ({len(found.warnings)}):"]
        for item in found.warnings:
            text = f"[{item.code}] {item.summary} ({item.where})"
            lines += wrap(terminal_safe(text), width, "  - ")
    lines += _compare_lines(result, width)
    lines += _write_lines(result, width)
    lines += _report_lines(paths, missing, width)
    lines += _handoff_lines(result, width)
    lines.append(rule)
    return [terminal_safe(result.redactor.scrub(line)) for line in lines]


def verdict_lines(
    result: RunResult, paths: dict[str, Path], missing: dict[str, str] | None = None
) -> list[str]:
    """The closing block at the terminal's width (the customer command prints this)."""
    return closing_block(result, paths, terminal_width(), missing)


def _reporter(config: pytest.Config) -> Any:
    """pytest's terminal reporter, unless a driver (the customer command) prints the block."""
    if config.stash.get(VERDICT_OWNED, False):
        return None
    return config.pluginmanager.get_plugin("terminalreporter")


def _colour(result: RunResult) -> dict[str, bool]:
    return {
        Verdict.READY: {"green": True},
        Verdict.NOT_READY: {"red": True},
        Verdict.INCOMPLETE: {"yellow": True},
    }[result.verdict.verdict]


def write_closing(config: pytest.Config, result: RunResult, paths: dict[str, Path]) -> None:
    """Print the closing block through pytest's terminal reporter (after pytest's summary)."""
    from conformance.report.writers import not_written

    reporter = _reporter(config)
    if reporter is None:
        return
    headline = f"{result.verdict.word} for Visor"
    for line in closing_block(result, paths, terminal_width(), not_written(config)):
        if line.startswith(headline):
            reporter.write_line(line, bold=True, **_colour(result))
        else:
            reporter.write_line(line)


def write_held(config: pytest.Config, received: list[str]) -> None:
    """Say that a signal came while the run was finishing, and that it did not stop it."""
    reporter = _reporter(config)
    if reporter is not None:
        names = ", ".join(dict.fromkeys(received))
        reporter.write_line(
            f"{names} arrived while the run was finishing: held until the cleanup and every "
            "report were done (the verdict below stands)"
        )


def verdict_line(result: RunResult, paths: dict[str, Path], width: int | None = None) -> str:
    """The run's very last line: the verdict and the URL, or the verdict alone when the URL
    would not fit the terminal (the closing block just above names it, says why a run is
    incomplete and lists the reports)."""
    decided = result.verdict
    line = f"visor-jira-conformance: {decided.word} for Visor"
    with_url = f"{line}: {result.url}"
    if len(with_url) <= (width or terminal_width()):
        line = with_url
    return terminal_safe(result.redactor.scrub(line))


def write_last_line(config: pytest.Config, result: RunResult, paths: dict[str, Path]) -> None:
    """One line after everything else, so that the last thing on screen is the verdict."""
    reporter = _reporter(config)
    if reporter is not None:
        reporter.write_line(verdict_line(result, paths), bold=True, **_colour(result))
