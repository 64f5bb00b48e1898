"""Per-project permission rows: the whole run in-process (``tests.runs.run_checks``) against
emulated grants, judged by the JSON result a support engineer would attach to a ticket. That
pytest names each row's test by its project key is shown end to end, for every scenario, in
tests/e2e/test_scenarios.py."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from conformance.emulator import EmulatorServer
from tests.runs import JsonRun, run_checks

REPO = Path(__file__).resolve().parents[2]
CHECKS = (
    "permissions.visible",
    "permissions.granted",
    "permissions.create_fields",
    "permissions.edit_fields",
)
Emulator = Callable[..., EmulatorServer]
Rows = dict[tuple[str, str | None], tuple[str, set[str]]]


def permission_rows(run: JsonRun) -> Rows:
    """(check, project) -> (outcome, finding codes) for every permissions row of the run."""
    return {
        (row["id"], row["project"]): (row["outcome"], {f["code"] for f in row["findings"]})
        for row in run.rows()
        if row["id"].startswith("permissions.")
    }


def project_rows(**per_project: tuple[str, str, str, str]) -> Rows:
    """Expected rows: KEY=(visible, granted, create_fields, edit_fields) outcomes, no codes."""
    return {
        (check, key): (outcome, set())
        for key, outcomes in per_project.items()
        for check, outcome in zip(CHECKS, outcomes, strict=True)
    }


def finding_of(run: JsonRun, check: str, project: str | None) -> list[dict[str, Any]]:
    return list(run.row(check, project)["findings"])


def test_read_only_bot_can_read_everything_and_write_nothing(jira_emulator: Emulator) -> None:
    server = jira_emulator("read-only-bot")
    read = run_checks(server.url)
    assert permission_rows(read) == project_rows(
        MKT=("pass", "pass", "skipped", "skipped"),
        OPS=("pass", "pass", "skipped", "skipped"),
        VIS=("pass", "pass", "skipped", "skipped"),
    )
    notes = read.row("permissions.granted", "VIS")["notes"]
    assert any("Delete Issues is not granted: needed only for the opt-in" in n for n in notes)

    write = run_checks(server.url, profile="visor-two-way")
    expected = project_rows(
        MKT=("pass", "fail", "blocked", "blocked"),
        OPS=("pass", "fail", "blocked", "blocked"),
        VIS=("pass", "fail", "blocked", "blocked"),
    )
    for key in ("MKT", "OPS", "VIS"):
        expected["permissions.granted", key] = ("fail", {"PERM_MISSING"})
    assert permission_rows(write) == expected
    assert write.ret == 1
    (missing,) = finding_of(write, "permissions.granted", "OPS")
    assert missing["summary"] == (
        "The bot lacks Create Issues, Edit Issues, Add Comments and Transition Issues in "
        "project OPS, which Visor needs to write changes back to its issues (two-way sync)."
    )
    assert "Project settings > Permissions" in missing["remediation"]
    assert "Delete Issues" not in missing["summary"]  # only the round trip deletes
    assert write.row("permissions.create_fields", "OPS")["blocked_by"] == "permissions.granted[OPS]"
    assert write.result["http"]["mutating_requests"] == 0
    assert server.log.mutating() == []


def test_bot_without_project_access_gets_one_row_saying_it_sees_none(
    jira_emulator: Emulator,
) -> None:
    server = jira_emulator("no-project-access")
    run = run_checks(server.url)
    assert permission_rows(run) == {
        ("permissions.visible", None): ("fail", {"PERM_PROJECT_INVISIBLE"}),
        ("permissions.granted", None): ("blocked", set()),
        ("permissions.create_fields", None): ("blocked", set()),
        ("permissions.edit_fields", None): ("blocked", set()),
    }
    assert run.ret == 1
    (invisible,) = finding_of(run, "permissions.visible", None)
    assert invisible["summary"].startswith("The bot cannot see any project")
    assert "Browse Projects" in invisible["remediation"]

    named = run_checks(server.url, project=("VIS",))
    assert permission_rows(named)["permissions.visible", "VIS"] == (
        "fail",
        {"PERM_PROJECT_INVISIBLE"},
    )
    (invisible,) = finding_of(named, "permissions.visible", "VIS")
    assert "No project could be found with key 'VIS'" in invisible["summary"]
    assert "as if it did not exist" in invisible["remediation"]
    assert "merely lacks the Browse Projects permission" in invisible["remediation"]


def test_mixed_grants_name_the_missing_permission_and_the_required_field(
    jira_emulator: Emulator,
) -> None:
    server = jira_emulator("mixed-permissions")
    run = run_checks(server.url, profile="visor-two-way")
    expected = project_rows(
        MKT=("pass", "pass", "fail", "pass"),
        OPS=("pass", "fail", "blocked", "blocked"),
        VIS=("pass", "pass", "pass", "pass"),
    )
    expected["permissions.granted", "OPS"] = ("fail", {"PERM_MISSING"})
    expected["permissions.create_fields", "MKT"] = ("fail", {"PERM_REQUIRED_FIELD"})
    assert permission_rows(run) == expected
    assert run.ret == 1
    (missing,) = finding_of(run, "permissions.granted", "OPS")
    assert missing["summary"].startswith("The bot lacks Add Comments in project OPS")
    assert "permission scheme 'Operations permission scheme'" in missing["remediation"]
    (required,) = finding_of(run, "permissions.create_fields", "MKT")
    assert "Customer Impact (customfield_10100)" in required["summary"]
    assert "create screen of Task in MKT" in required["remediation"]
    assert server.log.mutating() == []

    # The repository's example gives each project its own mode: MKT is only read there.
    example = run_checks(server.url, profile=REPO / "profiles" / "example-two-way.yaml")
    expected = project_rows(
        MKT=("pass", "pass", "skipped", "skipped"),
        OPS=("pass", "fail", "blocked", "blocked"),
        VIS=("pass", "pass", "pass", "pass"),
    )
    expected["permissions.granted", "OPS"] = ("fail", {"PERM_MISSING"})
    assert permission_rows(example) == expected


def test_healthy_two_way_instance_is_write_ready_without_a_write(jira_emulator: Emulator) -> None:
    server = jira_emulator("dc-healthy")
    run = run_checks(server.url, profile="visor-two-way")
    assert permission_rows(run) == project_rows(
        MKT=("pass", "pass", "pass", "pass"),
        OPS=("pass", "pass", "pass", "pass"),
        VIS=("pass", "pass", "pass", "pass"),
    )
    assert run.result["run"]["profile"] == "visor-two-way"
    assert server.log.mutating() == []
    notes = run.row("permissions.create_fields", "VIS")["notes"]
    assert "create metadata read through the paged createmeta form" in notes
    asked = [
        e.query
        for e in server.log.entries
        if e.path.endswith("/mypermissions") and "projectKey=" in e.query
    ]
    assert sorted(q.rsplit("projectKey=", 1)[1] for q in asked) == ["MKT", "OPS", "VIS"]
