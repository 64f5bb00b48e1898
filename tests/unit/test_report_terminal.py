"""The closing block both commands print: wrapped to the width, terminal-safe, our counts."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from conformance.check import Outcome
from conformance.engine.verdict import RunState
from conformance.report import terminal
from conformance.report.terminal_text import no_surrogates, terminal_safe
from conformance.target import JiraTarget
from tests.unit.report_fixtures import PASSWORD, add, add_perm_missing, finished, make_target

HOSTILE = "\x1b[2J\x1b]0;owned\x07bare\rCR\n[NET_OK] everything is fine \u202eevil\x9b31m \ud83d"


def broken_target() -> JiraTarget:
    target = make_target(url="https://jira.example.com/" + "very-long-context-path-" * 6)
    add(target, "reachability.url", Outcome.WARN, findings=("NET_PLAIN_HTTP",))
    tls = add(target, "reachability.tls", Outcome.FAIL, findings=("NET_TLS_UNTRUSTED",))
    add(target, "reachability.jira", Outcome.BLOCKED, blocked_by=tls)
    for key in ("OPS", "MKT", "VIS", "DEV"):
        add_perm_missing(target, key, blocked=1)
    return target


def assert_fits(lines: list[str], width: int) -> None:
    for line in lines:
        if len(line) > width:
            # Only a lone word too long for any line (a URL, a path) may stand out, whole.
            assert len(line.split()) <= 2 and len(line.split()[-1]) > width // 2, line


@pytest.mark.parametrize("width", [80, 120])
def test_the_block_wraps_to_the_width_and_keeps_long_urls_whole(width: int, tmp_path: Path) -> None:
    report = tmp_path / ("deep-folder-name-" * 8) / "report.html"
    report.parent.mkdir(parents=True)
    report.write_text("x", encoding="utf-8")
    lines = terminal.closing_block(finished(broken_target()), {"html": report}, width)
    assert_fits(lines, width)
    assert max(len(line) for line in lines if len(line.split()) > 2) <= width
    assert (
        str(report)
        in lines[lines.index("Reports (attach the HTML report to your Visor ticket):") + 2]
    )
    assert "https://jira.example.com/" + "very-long-context-path-" * 6 in "\n".join(lines)
    assert lines[1] == "=" * width


def test_width_comes_from_columns_else_80(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    assert terminal.terminal_width() == 120
    monkeypatch.delenv("COLUMNS")
    # Under pytest, stdout is not a terminal: the fallback.
    assert terminal.terminal_width() == 80


def test_block_says_verdict_our_counts_grouped_fixes_titles_and_warnings() -> None:
    lines = terminal.closing_block(finished(broken_target()), {}, 100)
    text = " ".join(" ".join(lines).split())  # the words, whatever the wrapping
    assert lines[2].startswith("NOT READY for Visor:")
    assert "checks: 1 warn, 5 fail, 5 blocked" in text
    assert " 1. [NET_TLS_UNTRUSTED]" in text and " 2. [PERM_MISSING]" in text
    assert " 3." not in text  # four projects, one change
    assert "OPS … DEV, 4 projects" in text
    assert "holds up 4 other checks" in text and "holds up 1 other check)" in text
    # Titles, not ids, in the customer-facing block.
    assert "The bot has the permissions Visor needs (OPS … DEV, 4 projects)" in text
    assert "permissions.granted[" not in text
    assert "Warnings (1):" in text and "worth changing" not in text
    assert PASSWORD not in text


def test_incomplete_says_why_and_which_required_checks_did_not_run() -> None:
    target = make_target()
    add(target, "reachability.dns", Outcome.PASS)
    state = RunState(
        interrupted_by="SIGTERM",
        required=["reachability.dns", *[f"permissions.granted[P{i}]" for i in range(9)]],
    )
    text = "\n".join(terminal.closing_block(finished(target, state), {}, 100))
    assert "INCOMPLETE for Visor" in text
    assert "Incomplete: the run was interrupted (SIGTERM)." in text
    assert "9 required checks did not run to completion: permissions.granted[P0]," in text
    assert "and 3 more." in text


def test_strict_grammar_counts_one_and_many() -> None:
    target = make_target(strict=True)
    add(target, "reachability.url", Outcome.WARN, findings=("NET_PLAIN_HTTP",))
    text = "\n".join(terminal.closing_block(finished(target), {}, 100))
    assert "Strict certification: NOT passed, 1 warning or blocked check counts as failing." in text


def test_jira_text_cannot_drive_the_terminal() -> None:
    target = make_target()
    record = add(
        target, "permissions.granted", Outcome.FAIL, project="OPS", findings=("PERM_MISSING",)
    )
    record.findings[0] = record.findings[0].__class__(
        code="PERM_MISSING",
        severity=record.findings[0].severity,
        summary=f"Jira said {HOSTILE}",
        remediation=f"Ask {HOSTILE}",
    )
    lines = terminal.closing_block(finished(target), {}, 80)
    text = "\n".join(lines)
    for line in lines:
        assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in line), repr(line)
        assert not any(c in line for c in "\u202e\u202a\u2066\u2028")
        line.encode("utf-8")  # no lone surrogate: printable in any UTF-8 terminal
    assert "\\x1b[2J" in text and "\\x0a[NET_OK]" in text and "\\u202e" in text
    assert not any(line.startswith("[NET_OK]") for line in lines)


def test_terminal_safe_and_no_surrogates() -> None:
    assert terminal_safe("a\x1b[31mb\tc\x07\u200f") == "a\\x1b[31mb\tc\\x07\\u200f"
    assert terminal_safe("ok: Jira 9.12.3 Ünïcode ✓") == "ok: Jira 9.12.3 Ünïcode ✓"
    assert no_surrogates("half \ud83d emoji 😀") == "half \ufffd emoji 😀"


def test_write_closing_prints_unless_the_command_owns_the_verdict() -> None:
    written: list[str] = []
    reporter = SimpleNamespace(write_line=lambda line, **_kw: written.append(line))
    stash: dict[object, object] = {}
    config = SimpleNamespace(
        stash=SimpleNamespace(get=lambda key, default=None: stash.get(key, default)),
        pluginmanager=SimpleNamespace(get_plugin=lambda name: reporter),
    )
    target = broken_target()
    terminal.write_closing(config, finished(target), {})  # type: ignore[arg-type]  # a stand-in
    assert any(line.startswith("NOT READY for Visor") for line in written)
    written.clear()
    stash[terminal.VERDICT_OWNED] = True
    terminal.write_closing(config, finished(target), {})  # type: ignore[arg-type]
    assert written == []
