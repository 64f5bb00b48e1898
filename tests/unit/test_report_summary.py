"""Verdict, "fix these first" and the terminal block: the same numbering everywhere."""

from __future__ import annotations

import re
from pathlib import Path

from conformance.check import CheckRecord, Outcome
from conformance.report import summary, terminal
from conformance.target import JiraTarget
from tests.unit.report_fixtures import PASSWORD, add, finished, make_target


def three_broken_layers() -> tuple[JiraTarget, CheckRecord]:
    """A TLS failure blocking the API, a failing project check, a warning and a crash."""
    target = make_target()
    add(target, "reachability.url", Outcome.WARN, findings=("NET_PLAIN_HTTP",))
    tls = add(target, "reachability.tls", Outcome.FAIL, findings=("NET_TLS_UNTRUSTED",))
    jira = add(target, "reachability.jira", Outcome.BLOCKED, blocked_by=tls)
    add(target, "api.server_info", Outcome.BLOCKED, blocked_by=jira)
    add(target, "permissions.granted", Outcome.FAIL, project="OPS", findings=("PERM_MISSING",))
    add(target, "import.fields", Outcome.ERROR, notes=("the check could not complete: KeyError",))
    return target, tls


def test_root_causes_are_numbered_in_layer_order_and_count_what_they_block() -> None:
    target, tls = three_broken_layers()
    items = summary.plan(finished(target)).fixes
    # Run order (layer order): the numbers a row links to while the run goes on never change.
    assert [i.code for i in items] == ["NET_TLS_UNTRUSTED", "PERM_MISSING", None]
    assert [i.number for i in items] == [1, 2, 3]
    assert items[0].record is tls and items[0].blocks == 2
    assert items[1].record.label == "permissions.granted[OPS]" and items[1].blocks == 0
    assert "KeyError" in items[2].summary and "Visor support" in items[2].remediation
    assert finished(target).verdict.verdict.value == summary.NOT_READY


def test_a_blocked_row_traces_back_through_a_chain_to_its_fix() -> None:
    target, _tls = three_broken_layers()
    api = target.record("api.server_info")
    assert api is not None
    fix = summary.plan(finished(target)).fix_for(api)
    assert fix is not None and fix.number == 1 and fix.code == "NET_TLS_UNTRUSTED"


def test_warnings_only_is_ready_but_not_strictly_certified() -> None:
    target = make_target(strict=True)
    add(target, "reachability.url", Outcome.WARN, findings=("NET_PLAIN_HTTP",))
    add(target, "reachability.dns", Outcome.PASS)
    # A strict run does not accept the warning: the one verdict says so, everywhere.
    assert finished(target).verdict.verdict.value == summary.NOT_READY
    assert summary.plan(finished(target)).fixes == []
    assert [f.code for f in summary.plan(finished(target)).warnings] == ["NET_PLAIN_HTTP"]
    assert finished(target).strict_blockers == 1
    lines = terminal.verdict_lines(finished(target), {})
    assert any(line.startswith("NOT READY for Visor") for line in lines)
    assert (
        "Strict certification: NOT passed, 1 warning or blocked check counts as failing." in lines
    )


def test_an_empty_run_is_incomplete() -> None:
    assert finished(make_target()).verdict.verdict.value == summary.INCOMPLETE


def test_terminal_block_lists_fixes_with_remediation_and_existing_reports(tmp_path: Path) -> None:
    target, _tls = three_broken_layers()
    html = tmp_path / "r.html"
    html.write_text("x", encoding="utf-8")
    lines = terminal.verdict_lines(
        finished(target), {"html": html, "json": tmp_path / "missing.json"}
    )
    text = "\n".join(lines)
    assert "NOT READY for Visor: https://jira.example.com" in text
    assert " 1. [NET_TLS_UNTRUSTED]" in text
    assert " 2. [PERM_MISSING]" in text
    assert "    Fix: " in text
    assert "holds up 2 other checks" in text
    # The path follows its label, on the same line when it fits, else alone on the next.
    assert re.search(rf"HTML\s+{re.escape(str(html))}", text) and "missing.json" not in text
    width = terminal.terminal_width()
    assert all(len(line) <= width or line.strip() == str(html) for line in lines)
    assert PASSWORD not in text
