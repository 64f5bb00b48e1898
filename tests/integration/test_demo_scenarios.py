"""``pytest --jira-demo SCENARIO`` shows the scenario's problem without any set-up: the demos that
used to come out READY (token login, a bucket never emptied, a read-only profile) now do not.

Also: a profile that reads every field a real issue carries finds them all on the emulator.

Each run is the whole run in-process (``tests.runs.run_checks``) with the settings
``--jira-demo SCENARIO`` resolves (the demo's credentials and profile), against an emulator of the
demo's size; that the plugin takes them from ``conformance.emulator.demo.demo_setup`` is shown
end to end for every scenario in tests/e2e/test_every_scenario.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.emulator import EmulatorServer
from conformance.emulator.demo import demo_setup
from tests.runs import EngineRun, run_checks

Emulator = Callable[..., EmulatorServer]


def demo(jira_emulator: Emulator, scenario: str) -> EngineRun:
    """The run ``pytest --jira-demo SCENARIO`` makes, against an emulator of the demo's size."""
    server = jira_emulator(scenario, projects=demo_setup(scenario).projects)
    return run_checks(server.url, demo=scenario)


@pytest.mark.parametrize(
    ("scenario", "code", "verdict"),
    [
        ("basic-auth-disabled", "AUTH_BASIC_DISABLED", "not-ready"),
        ("sso-redirect", "AUTH_SSO_REDIRECT", "not-ready"),
        ("read-only-bot", "PERM_MISSING", "not-ready"),
        ("mixed-permissions", "PERM_REQUIRED_FIELD", "not-ready"),
        ("rate-limited", "RATE_LIMITED", None),
    ],
)
def test_the_demo_shows_its_problem(
    jira_emulator: Emulator, scenario: str, code: str, verdict: str | None
) -> None:
    run = demo(jira_emulator, scenario)
    assert code in run.codes(), run.outcomes()
    if verdict is not None:
        assert run.result["verdict"] == verdict
    assert run.result["http"]["failed_logins"] <= 1
    assert run.result["http"]["mutating_requests"] == 0


def test_mixed_permissions_demo_names_both_broken_projects(jira_emulator: Emulator) -> None:
    run = demo(jira_emulator, "mixed-permissions")
    assert "PERM_MISSING" in run.codes(project="OPS"), run.outcomes()
    assert "PERM_REQUIRED_FIELD" in run.codes(project="MKT"), run.outcomes()
    assert not run.codes(project="VIS") & {"PERM_MISSING", "PERM_REQUIRED_FIELD"}


REAL_FIELDS = (
    "resolution, resolutiondate, components, fixVersions, versions, duedate, environment, "
    "issuelinks, subtasks, parent, timetracking, votes, watches, worklog, attachment, "
    "Sprint, Epic Link, Story Points"
)


def test_a_profile_reading_every_real_field_finds_them(
    jira_emulator: Emulator, tmp_path: Path
) -> None:
    profile = tmp_path / "all-fields.yaml"
    profile.write_text(
        "name: all-fields\nprojects: all-visible\nfields:\n"
        f"  read: [summary, status, {REAL_FIELDS}]\n"
        "import:\n  changelog: true\n  sample_size: 200\n",
        encoding="utf-8",
    )
    server = jira_emulator("dc-healthy")
    run = run_checks(server.url, profile=profile)
    assert {"pass"} == {run.outcome("import.fields", key) for key in ("VIS", "OPS", "MKT")}, (
        run.outcomes()
    )
    assert "IMP_FIELD_MISSING" not in run.codes()
