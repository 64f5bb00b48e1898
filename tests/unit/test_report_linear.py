"""Rendering is linear in the rows: the fix list is planned once, blocked rows counted once.

Before, each row's "fix #n" link recomputed the fix list and each item counted its blocked rows
over all records: 400 failing projects took 119 s, 2,000 wrote no report in 900 s. The test
counts work, never time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from conformance.check import CheckRecord
from conformance.report import html, json_result, summary, terminal
from tests.unit.report_fixtures import add_perm_missing, finished, make_target

PROJECTS = 2000
BLOCKED_EACH = 3


def test_2000_failing_projects_render_with_the_fix_list_planned_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = make_target()
    plans = 0
    walks = 0
    real_count, real_root = summary.Plan.count_blocked, CheckRecord.root_cause

    def counting_plan(self: summary.Plan, records: Sequence[CheckRecord]) -> summary.Plan:
        nonlocal plans
        plans += 1
        return real_count(self, records)

    def counting_root(self: CheckRecord) -> CheckRecord:
        nonlocal walks
        walks += 1
        return real_root(self)

    monkeypatch.setattr(summary.Plan, "count_blocked", counting_plan)
    monkeypatch.setattr(CheckRecord, "root_cause", counting_root)
    started = time.perf_counter()
    for i in range(PROJECTS):
        add_perm_missing(target, f"P{i:04d}", scheme=f"'Scheme {i}'", blocked=BLOCKED_EACH)
    done = finished(target)
    # The whole page, once, from the run's one result: every failing and blocked row listed.
    page = html.render_page(done)
    result = json_result.build(done)
    lines = terminal.closing_block(done, {}, 100)
    elapsed = time.perf_counter() - started
    rows = len(target.records)
    assert rows == PROJECTS * (BLOCKED_EACH + 1)
    # The plan is computed once per result, and the page, the JSON and the terminal all read
    # it; none per row.
    assert plans == 1
    # Each row walks its chain a bounded number of times (row cells, details, blocked counts).
    assert walks <= 8 * rows
    assert len(result["groups"]) == PROJECTS and page.count("vc-fix vc-fix-error") == PROJECTS
    assert page.count("<tbody class=vc-o-blocked>") == PROJECTS * BLOCKED_EACH
    assert any(line.startswith(f"{PROJECTS:>2}. [PERM_MISSING]") for line in lines)
    with capsys.disabled():
        print(f"\n{rows} rows, {PROJECTS} failing projects rendered in {elapsed:.1f} s")
