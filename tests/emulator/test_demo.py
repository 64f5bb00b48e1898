"""``demo_setup``: each --jira-demo logs in and checks the way that shows its scenario's problem;
``--projects``/``--broken-projects`` keep and multiply the scenario's broken projects."""

from __future__ import annotations

import dataclasses

import pytest
import requests

from conformance.emulator import SCENARIOS, EmulatorServer
from conformance.emulator.demo import DemoSetup, demo_setup
from conformance.emulator.scenarios import project_layout
from conformance.profile import load_profile
from tests.emulator.conftest import BOT, Emulator


def test_every_scenario_has_a_demo_setup() -> None:
    for name in SCENARIOS:
        setup = demo_setup(name)
        assert type(setup) is DemoSetup
        assert setup.description
        assert setup.write_project is None  # demos are read-only
        assert "JIRA_TOKEN" in setup.env or "JIRA_PASSWORD" in setup.env
    with pytest.raises(dataclasses.FrozenInstanceError):
        demo_setup("dc-healthy").profile = "x"  # type: ignore[misc]
    with pytest.raises(ValueError, match="unknown scenario"):
        demo_setup("nope")


@pytest.mark.parametrize(
    ("scenario", "status"), [("basic-auth-disabled", 403), ("sso-redirect", 302)]
)
def test_password_demos_meet_the_refusal(
    jira_emulator: Emulator, scenario: str, status: int
) -> None:
    setup = demo_setup(scenario)
    assert "JIRA_TOKEN" not in setup.env
    server = jira_emulator(scenario)
    r = requests.get(
        f"{server.url}/rest/api/2/myself",
        auth=(setup.env["JIRA_USER"], setup.env["JIRA_PASSWORD"]),
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == status


@pytest.mark.parametrize("scenario", ["read-only-bot", "mixed-permissions"])
def test_permission_demos_use_a_profile_that_needs_write(scenario: str) -> None:
    setup = demo_setup(scenario)
    assert setup.profile == "visor-two-way"
    profile = load_profile(setup.profile)
    assert profile.name == "visor-two-way"
    assert profile.access_for("VIS") == "write" and "Task" in profile.issue_types_for("MKT")


def test_rate_limited_demo_empties_the_bucket(
    jira_emulator: Emulator, http: requests.Session
) -> None:
    setup = demo_setup("rate-limited")
    server = jira_emulator("rate-limited", projects=setup.projects)
    assert server.config.rate_limit == (10, 5.0)
    keys = [p["key"] for p in http.get(f"{server.url}/rest/api/2/project", auth=BOT).json()]
    assert setup.projects is not None and len(keys) == setup.projects >= 20
    codes = [http.get(f"{server.url}/rest/api/2/myself", auth=BOT).status_code for _ in range(20)]
    assert 429 in codes


def _broken(server: EmulatorServer) -> dict[str, str | None]:
    """Project key -> how the bot's access there is broken, read over the wire."""
    api = f"{server.url}/rest/api/2"
    out: dict[str, str | None] = {}
    for p in server.world.projects.values():
        perms = requests.get(
            f"{api}/mypermissions", params={"projectKey": p.key}, auth=BOT, timeout=10
        ).json()["permissions"]
        meta = requests.get(
            f"{api}/issue/createmeta/{p.key}/issuetypes/10002", auth=BOT, timeout=10
        ).json()["values"]
        required = {f["fieldId"] for f in meta if f["required"]}
        if not perms["BROWSE_PROJECTS"]["havePermission"]:
            out[p.key] = "no-access"
        elif not perms["CREATE_ISSUES"]["havePermission"]:
            out[p.key] = "read-only"
        elif not perms["ADD_COMMENTS"]["havePermission"]:
            out[p.key] = "no-comment"
        elif "customfield_10100" in required:
            out[p.key] = "required-field"
        else:
            out[p.key] = None
    return out


def test_projects_keep_the_scenarios_broken_projects(jira_emulator: Emulator) -> None:
    server = jira_emulator("mixed-permissions", projects=5)
    assert _broken(server) == {
        "P001": None,
        "P002": None,
        "P003": None,
        "OPS": "no-comment",
        "MKT": "required-field",
    }


def test_broken_projects_copies_the_breakage(jira_emulator: Emulator) -> None:
    server = jira_emulator("mixed-permissions", projects=6, broken_projects=4)
    assert _broken(server) == {
        "P001": "no-comment",
        "P002": "required-field",
        "P003": None,
        "P004": None,
        "OPS": "no-comment",
        "MKT": "required-field",
    }
    read_only = jira_emulator("read-only-bot", projects=4, broken_projects=1)
    assert list(_broken(read_only).values()) == ["read-only", None, None, None]
    assert set(_broken(jira_emulator("read-only-bot", projects=3)).values()) == {"read-only"}


def test_default_layouts_are_unchanged() -> None:
    assert [(s.key, s.breakage) for s in project_layout("mixed-permissions")] == [
        ("VIS", None),
        ("OPS", "no-comment"),
        ("MKT", "required-field"),
    ]
    assert {s.breakage for s in project_layout("dc-healthy", projects=7)} == {None}
    with pytest.raises(ValueError, match="no broken project"):
        project_layout("dc-healthy", broken=1)
    with pytest.raises(ValueError, match="more than the 3 projects"):
        project_layout("read-only-bot", broken=4)
