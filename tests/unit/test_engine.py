"""The engine without pytest: plan order, blocking, outcomes, and every verdict it can reach."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.check import (
    CheckRecord,
    Outcome,
    Requirement,
    Step,
    fail,
    not_applicable,
    requirement,
    warn,
)
from conformance.diagnosis import transport_finding
from conformance.engine.plan import CheckSpec, PlannedCheck, discover_checks, make_plan, order
from conformance.engine.run import Run
from conformance.engine.verdict import ExitCode, IncompleteReason, Verdict, decide
from conformance.evidence import Failure
from conformance.findings import finding
from conformance.profile import load_profile
from conformance.report import json_result, terminal
from conformance.secrets import Redactor, Secret
from conformance.settings import Credentials, Settings
from conformance.target import JiraTarget


def make_target(*, strict: bool = False, write_project: str | None = None) -> JiraTarget:
    creds = Credentials("visor-bot", Secret("pw-123"), "basic", "password", "JIRA_PASSWORD")
    settings = Settings(
        url="https://jira.invalid",
        credentials=creds,
        strict=strict,
        write_project=write_project,
    )
    return JiraTarget(settings, Redactor(), load_profile(None))


def spec(check_id: str, body: Callable[..., None], *, after: tuple[str, ...] = ()) -> CheckSpec:
    fn = requirement(check_id, check_id, Step.REACH, after=after)(body)
    req = Requirement(check_id, check_id, Step.REACH, after)
    return CheckSpec(req, fn, per_project="project" in body.__code__.co_varnames)


def passes(jira: JiraTarget) -> None:
    return None


def warns(jira: JiraTarget) -> None:
    warn(finding("NET_SLOW", elapsed_ms=2500, limit_ms=2000))


def fails(jira: JiraTarget) -> None:
    fail(finding("NET_DNS", host="jira.invalid", error="no such host"))


def breaks(jira: JiraTarget) -> None:
    raise TypeError("an answer of a shape nobody expected")


def meets_the_deadline(jira: JiraTarget) -> None:
    fail(transport_finding(jira, Failure("deadline", "not sent: deadline")))


def per_project(jira: JiraTarget, project: str | None) -> None:
    if project == "SKIP":
        not_applicable("the profile only reads SKIP")


def run_of(target: JiraTarget, *specs: CheckSpec, projects: tuple[str, ...] = ()) -> Run:
    return Run(target, make_plan(order(specs), projects, write_project=None))


def planned(run: Run, label: str) -> PlannedCheck:
    return next(p for p in run.plan if p.label == label)


def judge_all(run: Run) -> Run:
    for planned in run.plan:
        run.judge(planned)
    return run


# -- the plan -------------------------------------------------------------------------------------


def test_a_check_runs_after_what_it_needs_even_from_a_later_area() -> None:
    api = spec("api.search", passes, after=("auth.login",))
    auth = spec("auth.login", passes)
    net = spec("reachability.dns", passes)
    assert [s.id for s in order([api, auth, net])] == [
        "reachability.dns",
        "auth.login",
        "api.search",
    ]


def test_the_packaged_plan_honours_every_after() -> None:
    specs = discover_checks()
    seen: set[str] = set()
    for s in specs:
        assert set(s.requirement.after) <= seen | {s.id}, f"{s.id} runs before what it needs"
        seen.add(s.id)
    assert {s.requirement.area for s in specs} >= {"reachability", "api", "auth", "permissions"}


def test_per_project_checks_get_one_row_per_project_and_the_write_row_is_optional() -> None:
    specs = [spec("permissions.visible", per_project), spec("write.roundtrip", passes)]
    plan = make_plan(specs, ["OPS", "VIS"], write_project=None)
    assert [(p.label, p.required) for p in plan] == [
        ("permissions.visible[OPS]", True),
        ("permissions.visible[VIS]", True),
        ("write.roundtrip", False),
    ]
    with_write = make_plan(specs, ["OPS"], write_project="OPS")
    assert with_write[-1].label == "write.roundtrip[OPS]" and with_write[-1].required


def test_consecutive_per_project_checks_run_project_by_project() -> None:
    visible = spec("permissions.visible", per_project, after=("auth.login",))
    search = spec("import.search", per_project, after=("permissions.visible",))
    specs = [spec("auth.login", passes), visible, search, spec("import.rate", passes)]
    plan = make_plan(specs, ["OPS", "VIS"], write_project=None)
    assert [p.label for p in plan] == [
        "auth.login",
        "permissions.visible[OPS]",
        "import.search[OPS]",
        "permissions.visible[VIS]",
        "import.search[VIS]",
        "import.rate",
    ]


def test_every_packaged_row_comes_after_the_rows_it_needs() -> None:
    plan = make_plan(discover_checks(), ["OPS", "VIS"], write_project="VIS")
    position = {p.label: n for n, p in enumerate(plan)}
    for n, row in enumerate(plan):
        for dep in row.spec.requirement.after:
            needed = [f"{dep}[{row.project}]", dep] if row.project else [dep]
            earlier = [position[label] for label in needed if label in position]
            assert earlier and min(earlier) < n, f"{row.label} comes before {dep}"


# -- outcomes -------------------------------------------------------------------------------------


def test_outcomes_of_each_ending() -> None:
    run = judge_all(
        run_of(
            make_target(),
            spec("reachability.a", passes),
            spec("reachability.b", warns),
            spec("reachability.c", fails),
            spec("reachability.d", breaks),
            spec("permissions.p", per_project),
            projects=("OPS", "SKIP"),
        )
    )
    outcomes = {r.label: r.outcome for r in run.records}
    assert outcomes == {
        "reachability.a": Outcome.PASS,
        "reachability.b": Outcome.WARN,
        "reachability.c": Outcome.FAIL,
        "reachability.d": Outcome.ERROR,
        "permissions.p[OPS]": Outcome.PASS,
        "permissions.p[SKIP]": Outcome.SKIPPED,
    }
    error = run.record("reachability.d", None)
    assert error is not None
    assert "TypeError: an answer of a shape nobody expected at test_engine.py:" in error.notes[0]


def test_a_check_whose_prerequisite_failed_is_blocked_and_names_the_root_cause() -> None:
    run = judge_all(
        run_of(
            make_target(),
            spec("reachability.dns", fails),
            spec("reachability.tcp", passes, after=("reachability.dns",)),
            spec("auth.login", passes, after=("reachability.tcp",)),
        )
    )
    login = run.record("auth.login", None)
    assert login is not None and login.outcome is Outcome.BLOCKED
    assert login.root_cause().label == "reachability.dns"
    assert run.finish().verdict.verdict is Verdict.NOT_READY


def test_an_interrupted_check_leaves_an_incomplete_row_never_a_pass() -> None:
    def interrupted(jira: JiraTarget) -> None:
        raise KeyboardInterrupt

    run = run_of(make_target(), spec("reachability.a", interrupted), spec("reachability.b", passes))
    with pytest.raises(KeyboardInterrupt):
        run.judge(planned(run, "reachability.a"))
    run.interrupted("SIGINT")
    assert [r.outcome for r in run.records] == [Outcome.INCOMPLETE]
    verdict = run.finish().verdict
    assert verdict.verdict is Verdict.INCOMPLETE and verdict.exit_code is ExitCode.INCOMPLETE
    assert verdict.signal == "SIGINT" and set(verdict.not_run) == {
        "reachability.a",
        "reachability.b",
    }


# -- verdicts -------------------------------------------------------------------------------------


def test_a_complete_passing_run_is_ready() -> None:
    run = judge_all(run_of(make_target(), spec("reachability.a", passes), spec("api.b", warns)))
    assert (
        run.finish().verdict.verdict is Verdict.READY
        and run.finish().verdict.exit_code is ExitCode.READY
    )


def test_a_strict_run_with_a_warning_is_not_ready() -> None:
    run = judge_all(
        run_of(make_target(strict=True), spec("reachability.a", passes), spec("api.b", warns))
    )
    verdict = run.finish().verdict
    assert verdict.verdict is Verdict.NOT_READY and verdict.exit_code is ExitCode.NOT_READY
    assert verdict.strict_blockers == 1


def test_a_run_with_an_error_row_is_not_ready_with_its_own_exit_code() -> None:
    run = judge_all(run_of(make_target(), spec("reachability.a", breaks)))
    assert run.finish().verdict.verdict is Verdict.NOT_READY
    assert run.finish().verdict.exit_code is ExitCode.CHECK_ERROR


def test_a_selection_that_left_required_checks_out_is_incomplete_and_names_them() -> None:
    run = run_of(make_target(), spec("reachability.a", passes), spec("import.b", passes))
    run.judge(planned(run, "import.b"))  # as `-k import` would
    verdict = run.finish().verdict
    assert verdict.verdict is Verdict.INCOMPLETE
    assert verdict.reasons == (IncompleteReason.SELECTION,)
    assert verdict.not_run == ("reachability.a",)


def test_the_deadline_gives_incomplete_rows_and_one_run_deadline_finding() -> None:
    run = judge_all(
        run_of(
            make_target(),
            spec("reachability.a", passes),
            spec("permissions.p", lambda jira, project: meets_the_deadline(jira)),
            projects=("P1", "P2", "P3"),
        )
    )
    assert [r.outcome for r in run.records[1:]] == [Outcome.INCOMPLETE] * 3
    assert all(not r.findings for r in run.records), "never a per-check network finding"
    verdict = run.finish().verdict
    assert verdict.verdict is Verdict.INCOMPLETE and verdict.reasons == (IncompleteReason.DEADLINE,)
    found = run.finish().deadline_finding
    assert found is not None and found.code == "RUN_DEADLINE"
    assert "3 required check(s) did not run" in found.summary
    assert "--jira-deadline" in found.remediation


def test_the_deadline_passing_after_the_last_row_leaves_one_verdict_for_every_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The issue's repro: every row judged, then the deadline passes (a long cleanup, slow
    report writing). The exit code and every report read the one result, decided once."""
    target = make_target()
    run = judge_all(run_of(target, spec("reachability.a", passes)))
    monkeypatch.setattr(target.http, "remaining_s", lambda: -1.0)  # the deadline is now past
    result = run.finish()
    assert result.verdict.verdict is Verdict.READY and result.verdict.exit_code is ExitCode.READY
    data = json_result.build(result)
    assert (data["verdict"], data["exit_code"]) == ("ready", 0)
    assert "READY" in terminal.verdict_line(result, {}, width=200)
    assert result.deadline_finding is None


def was_stopped(jira: JiraTarget) -> None:
    fail(transport_finding(jira, Failure("interrupted", "not sent: the run was interrupted")))


def test_a_row_the_stopped_run_did_not_send_is_incomplete_without_a_deadline_finding() -> None:
    """Requests refused because the run was stopped (a signal) are not the deadline: no
    RUN_DEADLINE advising a longer one, and the run says it was interrupted."""
    run = run_of(
        make_target(),
        spec("reachability.a", passes),
        spec("permissions.p", lambda jira, project: was_stopped(jira)),
        projects=("P1", "P2"),
    )
    run.judge(planned(run, "reachability.a"))
    run.state.interrupted_by = "SIGTERM"
    judge_all(run)
    stopped = [r for r in run.records if r.id == "permissions.p"]
    assert [r.outcome for r in stopped] == [Outcome.INCOMPLETE] * 2
    assert all(r.notes == ["not run to completion: the run was stopped first"] for r in stopped)
    assert run.finish().deadline_finding is None
    verdict = run.finish().verdict
    assert verdict.reasons == (IncompleteReason.INTERRUPTED,)
    assert verdict.signal == "SIGTERM"


def test_a_failure_seen_before_an_interruption_still_says_not_ready() -> None:
    run = run_of(make_target(), spec("reachability.a", fails), spec("reachability.b", passes))
    run.judge(planned(run, "reachability.a"))
    run.interrupted("SIGTERM")
    verdict = run.finish().verdict
    assert verdict.verdict is Verdict.NOT_READY and verdict.reasons
    assert verdict.not_run == ("reachability.b",)


def test_no_rows_at_all_is_never_ready() -> None:
    assert decide([], [], strict=False).verdict is Verdict.INCOMPLETE


def test_planned_checks_label_like_their_rows() -> None:
    s = spec("permissions.visible", per_project)
    record = CheckRecord(s.requirement, "OPS", nodeid="")
    assert PlannedCheck(s, "OPS").label == record.label == "permissions.visible[OPS]"
