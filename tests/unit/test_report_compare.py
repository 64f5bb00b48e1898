"""Since the last run: fixed, new and still failing, by check, project and finding code."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from conformance.check import Outcome
from conformance.report import compare, html, json_result, terminal
from conformance.settings import Comparison
from conformance.target import JiraTarget
from tests.runs import validated
from tests.unit.report_fixtures import add, add_perm_missing, finished, make_target


def previous_result() -> dict[str, Any]:
    before = make_target()
    add(before, "reachability.dns", Outcome.PASS)
    add(before, "api.server_info", Outcome.FAIL, findings=("NET_REFUSED",))
    for key in ("OPS", "MKT"):
        add_perm_missing(before, key)
    add(before, "import.fields", Outcome.ERROR)
    return json_result.build(finished(before))


def current_target() -> JiraTarget:
    target = make_target()
    add(target, "reachability.dns", Outcome.FAIL, findings=("NET_REFUSED",))  # new
    add(target, "api.server_info", Outcome.PASS)  # fixed
    add_perm_missing(target, "OPS")  # still failing
    add(target, "permissions.granted", Outcome.PASS, project="MKT")  # fixed
    add(target, "import.fields", Outcome.BLOCKED)  # not checked again
    return target


def test_compare_sorts_failures_into_fixed_new_and_still_failing() -> None:
    found = compare.compare(previous_result(), current_target().records)
    assert {c.label for c in found.fixed} == {"api.server_info", "permissions.granted[MKT]"}
    assert [(c.label, c.code) for c in found.new] == [("reachability.dns", "NET_REFUSED")]
    assert [(c.label, c.code) for c in found.still_failing] == [
        ("permissions.granted[OPS]", "PERM_MISSING")
    ]
    assert [(c.label, c.code) for c in found.not_rechecked] == [("import.fields", "ERROR")]
    assert found.tally() == "2 fixed, 1 new, 1 still failing, 1 not checked again"


def test_a_malformed_previous_result_compares_as_empty_not_a_crash() -> None:
    for junk in ({}, {"results": 5}, {"results": [1, {"outcome": "fail", "findings": "x"}]}):
        found = compare.compare(junk, current_target().records)
        assert found.fixed == [] and len(found.new) == 2


def test_since_the_last_run_in_terminal_html_and_json() -> None:
    target = current_target()
    previous = Comparison(
        Path("previous.json"),
        previous_result(),
        "2026-11-30T09:00:00+00:00",
        "0.9.0",
        target.url,
    )
    target.settings = replace(target.settings, compare=previous)
    text = "\n".join(terminal.closing_block(finished(target), {}, 100))
    assert "Since the last run (2026-11-30T09:00:00+00:00, tool 0.9.0): 2 fixed, 1 new" in text
    assert "  - fixed: [PERM_MISSING] The bot has the permissions Visor needs (MKT)" in text
    assert "  - new: [NET_REFUSED] Title of reachability.dns" in text
    page = html.render_summary(finished(target))
    assert 'id="vc-since"' in page and "tool 0.9.0" in page
    result = json_result.build(finished(target))
    validated(result)
    since = result["since_last_run"]
    assert since["previous"] == {"started": "2026-11-30T09:00:00+00:00", "tool_version": "0.9.0"}
    assert [c["project"] for c in since["still_failing"]] == ["OPS"]
