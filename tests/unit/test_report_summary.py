"""Verdict, "fix these first" and the terminal block: the same numbering everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.check import Outcome
from conformance.report import summary, terminal
from tests.unit.report_fixtures import PASSWORD, add, make_target


def three_broken_layers():
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
    items = summary.fix_first(target)
    assert [i.code for i in items] == ["NET_TLS_UNTRUSTED", "PERM_MISSING", None]
    assert [i.number for i in items] == [1, 2, 3]
    assert items[0].record is tls and items[0].blocks == 2
    assert items[1].record.label == "permissions.granted[OPS]" and items[1].blocks == 0
    assert "KeyError" in items[2].summary and "Visor support" in items[2].remediation
    assert summary.verdict(target) == summary.NOT_READY


def test_a_blocked_row_traces_back_through_a_chain_to_its_fix() -> None:
    target, _tls = three_broken_layers()
    api = target.record("api.server_info")
    assert api is not None
    fix = summary.fix_for(target, api)
    assert fix is not None and fix.number == 1 and fix.code == "NET_TLS_UNTRUSTED"


@pytest.mark.parametrize(("strict", "verdict"), [(False, "ready"), (True, "not-ready")])
def test_warnings_only_is_ready_unless_the_run_is_strict(strict: bool, verdict: str) -> None:
    """A strict run with a warning is NOT READY in every report, not READY with a footnote."""
    target = make_target(strict=strict)
    add(target, "reachability.url", Outcome.WARN, findings=("NET_PLAIN_HTTP",))
    add(target, "reachability.dns", Outcome.PASS)
    assert summary.verdict(target) == verdict
    assert summary.fix_first(target) == []
    assert [f.code for _r, f in summary.warnings(target)] == ["NET_PLAIN_HTTP"]
    assert summary.strict_blockers(target) == 1
    lines = terminal.verdict_lines(target, {})
    word = "READY" if verdict == "ready" else "NOT READY"
    assert any(line.startswith(f"{word} for Visor") for line in lines)


def test_an_empty_run_is_never_ready() -> None:
    assert summary.verdict(make_target()) == "incomplete"


def test_terminal_block_lists_fixes_with_remediation_and_existing_reports(tmp_path: Path) -> None:
    target, _tls = three_broken_layers()
    html = tmp_path / "r.html"
    html.write_text("x", encoding="utf-8")
    lines = terminal.verdict_lines(target, {"html": html, "json": tmp_path / "missing.json"})
    text = "\n".join(lines)
    assert "NOT READY for Visor: https://jira.example.com" in text
    assert " 1. [NET_TLS_UNTRUSTED]" in text
    assert " 2. [PERM_MISSING]" in text
    assert "    Fix: " in text
    assert "holds up 2 other check(s)" in text
    assert f"HTML   {html}" in text and "missing.json" not in text
    assert all(len(line) <= terminal.WIDTH for line in lines)
    assert PASSWORD not in text
