"""Root causes grouped by the change that fixes them: one shared scheme is one fix."""

from __future__ import annotations

from conformance.check import Outcome
from conformance.report import groups, html, json_result, summary, terminal
from conformance.target import JiraTarget
from tests.runs import validated
from tests.unit.report_fixtures import add, add_perm_missing, finished, make_target


def two_hundred_projects_one_scheme() -> JiraTarget:
    target = make_target()
    add(target, "reachability.dns", Outcome.PASS)
    for i in range(200):
        add_perm_missing(target, f"P{i + 1:03d}", blocked=2)
    return target


def test_200_projects_sharing_a_scheme_are_one_numbered_fix_listing_them() -> None:
    target = two_hundred_projects_one_scheme()
    fixes = summary.plan(finished(target)).fixes
    assert len(fixes) == 1
    fix = fixes[0]
    assert fix.number == 1 and fix.code == "PERM_MISSING"
    assert fix.projects == [f"P{i + 1:03d}" for i in range(200)]
    assert fix.blocks == 400
    # The summary is the first row's, as observed; the others are named, not rewritten into it.
    assert fix.summary.startswith("The bot lacks CREATE_ISSUES and EDIT_ISSUES in project P001,")
    assert fix.summary.endswith(" The same in P002 … P200, 199 projects.")
    assert "In P001 … P200, 200 projects: Project settings > Permissions" in fix.remediation
    assert "'Shared permission scheme'" in fix.remediation


def test_different_schemes_or_grants_are_different_fixes() -> None:
    target = make_target()
    add_perm_missing(target, "OPS", scheme="'Ops scheme'")
    add_perm_missing(target, "MKT", scheme="'Ops scheme'")
    add_perm_missing(target, "VIS", scheme="'Visor scheme'")
    add_perm_missing(target, "DEV", scheme="'Ops scheme'", missing=("ADD_COMMENTS",))
    fixes = summary.plan(finished(target)).fixes
    assert [f.projects for f in fixes] == [["OPS", "MKT"], ["VIS"], ["DEV"]]
    assert [f.number for f in fixes] == [1, 2, 3]
    assert "project OPS," in fixes[0].summary and fixes[0].summary.endswith("The same in MKT.")
    assert "project VIS," in fixes[1].summary and "The same" not in fixes[1].summary


def test_the_terminal_and_the_page_print_one_fix_for_200_projects() -> None:
    target = two_hundred_projects_one_scheme()
    lines = terminal.closing_block(finished(target), {}, 80)
    numbered = [line for line in lines if line[:3].strip().rstrip(".").isdigit()]
    assert len(numbered) == 1 and numbered[0].startswith(" 1. [PERM_MISSING]")
    assert len(lines) < 30
    page = html.render_summary(finished(target))
    assert page.count('class="vc-fix vc-fix-error"') == 1
    assert "1 change must be made" in page and "(200 failing checks)" in page
    assert "P001, P002" in page  # the full list of projects is one click away


def test_json_keeps_a_row_per_project_and_adds_the_groups() -> None:
    target = two_hundred_projects_one_scheme()
    result = json_result.build(finished(target))
    validated(result)
    assert sum(1 for r in result["results"] if r["outcome"] == "fail") == 200
    (group,) = result["groups"]
    assert group["number"] == 1 and group["code"] == "PERM_MISSING"
    assert group["projects"][0] == "P001" and len(group["projects"]) == 200
    assert group["checks"] == ["permissions.granted"] and group["blocks"] == 400


def test_project_keys_are_masked_as_whole_words_only() -> None:
    masked = groups.mask_project("In OPS: OPSX and MY_OPS stay, OPS goes", "OPS")
    assert masked == f"In {groups.PROJECT_MARK}: OPSX and MY_OPS stay, {groups.PROJECT_MARK} goes"
    assert groups.project_span(["A1", "B2", "C3"]) == "A1, B2 and C3"
    masked = groups.mask_project("grant it in OPS's scheme", "OPS")
    assert groups.fill_projects(masked, ["OPS", "MKT"]) == (
        "grant it in each of these projects' (OPS and MKT) scheme"
    )
    assert groups.project_span(["A1", "B2", "C3", "D4"]) == "A1 … D4, 4 projects"
