"""The wizard and seeding automation against the emulator's ``first-run`` scenario.

Runs everywhere (no Docker): the code that sets up the real Jira in ``tox -e container`` is
the same code, over real HTTP, so a break in it shows up on every CI run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

import pytest
import requests

from conformance.emulator import EmulatorServer
from fixtures.jira_http import Credentials, SetupError
from fixtures.jira_seed import SeedResult, seed_jira
from fixtures.jira_setup import WizardSettings, run_setup_wizard

ADMIN = Credentials("admin", "admin")


class Timeouts(TypedDict):
    step_timeout_s: float
    database_timeout_s: float
    running_timeout_s: float


FAST: Timeouts = {"step_timeout_s": 10.0, "database_timeout_s": 10.0, "running_timeout_s": 3.0}
WIZARD_POSTS = [
    "/secure/SetupMode.jspa",
    "/secure/SetupDatabase.jspa",
    "/secure/SetupApplicationProperties.jspa",
    "/secure/SetupLicense.jspa",
    "/secure/SetupAdminAccount.jspa",
    "/secure/SetupMailNotifications.jspa",
]


@pytest.fixture
def first_run() -> Iterator[EmulatorServer]:
    with EmulatorServer("first-run") as server:
        yield server


@pytest.fixture
def seeded(first_run: EmulatorServer) -> SeedResult:
    run_setup_wizard(first_run.url, WizardSettings(licence="AAAB-TEST\nLICENCE", **FAST))
    return seed_jira(first_run.url, ADMIN)


def status(server: EmulatorServer) -> str:
    return str(requests.get(f"{server.url}/status", timeout=10).json()["state"])


def get(server: EmulatorServer, path: str, **kwargs: object) -> requests.Response:
    return requests.get(f"{server.url}{path}", timeout=10, **kwargs)  # type: ignore[arg-type]


def test_wizard_posts_in_order_and_ends_running(first_run: EmulatorServer) -> None:
    assert status(first_run) == "FIRST_RUN"

    report = run_setup_wizard(first_run.url, WizardSettings(licence="AAAB\nTEST\n", **FAST))

    assert report.final_state == "RUNNING"
    assert not report.already_set_up
    entries = list(first_run.log.entries)
    posts = [e for e in entries if e.method == "POST"]
    assert [e.path for e in posts] == WIZARD_POSTS
    after_last_post = entries[entries.index(posts[-1]) + 1 :]
    assert any(e.method == "GET" and e.path == "/status" for e in after_last_post), (
        "success must be judged by /status after the last post"
    )
    assert status(first_run) == "RUNNING"


def test_rejected_input_fails_although_every_post_answered_200_or_302(
    first_run: EmulatorServer,
) -> None:
    with pytest.raises(SetupError) as caught:
        run_setup_wizard(first_run.url, WizardSettings(licence="", **FAST))

    post_statuses = {e.status for e in first_run.log.entries if e.method == "POST"}
    assert post_statuses <= {200, 302}
    assert caught.value.step == "setup wizard"
    assert "FIRST_RUN" in str(caught.value)
    assert any(note.startswith("licence:") for note in caught.value.errors)
    assert status(first_run) == "FIRST_RUN"


def test_wizard_on_a_running_jira_posts_nothing(first_run: EmulatorServer) -> None:
    run_setup_wizard(first_run.url, WizardSettings(licence="AAAB", **FAST))
    posts_before = sum(e.method == "POST" for e in first_run.log.entries)

    again = run_setup_wizard(first_run.url, WizardSettings(licence="AAAB", **FAST))

    assert again.already_set_up
    assert sum(e.method == "POST" for e in first_run.log.entries) == posts_before


def test_bot_logs_in_with_its_password_and_its_token(
    first_run: EmulatorServer, seeded: SeedResult
) -> None:
    by_password = get(first_run, "/rest/api/2/myself", auth=seeded.bot.credentials.as_tuple())
    by_token = get(
        first_run, "/rest/api/2/myself", headers={"Authorization": f"Bearer {seeded.token}"}
    )

    assert by_password.status_code == 200
    assert by_password.json()["name"] == "visor-bot"
    assert by_token.status_code == 200
    assert by_token.json()["name"] == "visor-bot"


def test_one_project_is_read_only_for_the_bot(
    first_run: EmulatorServer, seeded: SeedResult
) -> None:
    def can(project: str, permission: str) -> bool:
        response = get(
            first_run,
            "/rest/api/2/mypermissions",
            params={"projectKey": project},
            auth=seeded.bot.credentials.as_tuple(),
        )
        assert response.status_code == 200, response.text
        return bool(response.json()["permissions"][permission]["havePermission"])

    (read_only,) = seeded.read_only_projects
    assert can(read_only, "BROWSE_PROJECTS")
    assert not can(read_only, "CREATE_ISSUES")
    assert not can(read_only, "EDIT_ISSUES")
    for writable in seeded.writable_projects:
        assert can(writable, "CREATE_ISSUES")
        assert can(writable, "DELETE_ISSUES")


def test_seeded_issues_exist_and_the_bot_sees_them(
    first_run: EmulatorServer, seeded: SeedResult
) -> None:
    assert set(seeded.issues) == {*seeded.writable_projects, *seeded.read_only_projects}
    for project, keys in seeded.issues.items():
        assert len(keys) == 3
        for key in keys:
            issue = get(
                first_run, f"/rest/api/2/issue/{key}", auth=seeded.bot.credentials.as_tuple()
            )
            assert issue.status_code == 200, (project, key, issue.status_code)
            assert issue.json()["fields"]["project"]["key"] == project


def test_seeding_twice_reuses_what_exists(first_run: EmulatorServer, seeded: SeedResult) -> None:
    again = seed_jira(first_run.url, ADMIN)

    assert again.writable_projects == seeded.writable_projects
    assert all(keys == [] for keys in again.issues.values()), "no second batch of issues"
    by_token = get(
        first_run, "/rest/api/2/myself", headers={"Authorization": f"Bearer {again.token}"}
    )
    assert by_token.status_code == 200


def test_a_failing_step_is_named_without_leaking_the_password(first_run: EmulatorServer) -> None:
    run_setup_wizard(first_run.url, WizardSettings(licence="AAAB", **FAST))
    wrong = Credentials("admin", "not-the-admin-password")

    with pytest.raises(SetupError) as caught:
        seed_jira(first_run.url, wrong)

    assert caught.value.step == "admin login form"
    assert caught.value.status == 401
    assert "not-the-admin-password" not in str(caught.value)
